// SPDX-License-Identifier: Apache-2.0
/* Allocation bitmap: first fit, fragmentation, striping, full device, collisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "entry.h"

#define MiB  (1ULL << 20)
#define META (10 * MiB) /* superblock + 8 MiB log */

static void test_first_fit_contiguous(void **state)
{
	struct famfs_alloc a;
	struct famfs_file_body f = {0}, g = {0}, h = {0};

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, 2 * MiB), 0);
	assert_int_equal(a.nunits, 32);
	assert_int_equal(a.used, 5); /* superblock + log */
	assert_int_equal(famfs_alloc_file(&a, 1, NULL, &f), 0);
	assert_int_equal(f.ext_type, FAMFS_EXT_SIMPLE);
	assert_int_equal(f.nextents, 1);
	assert_int_equal(f.se[0].offset, META);
	assert_int_equal(f.se[0].len, 2 * MiB);
	assert_int_equal(famfs_alloc_file(&a, 2 * MiB + 1, NULL, &g), 0);
	assert_int_equal(g.se[0].offset, META + 2 * MiB);
	assert_int_equal(g.se[0].len, 4 * MiB);
	/* A zero-byte file still gets one unit: every file has a valid map. */
	assert_int_equal(famfs_alloc_file(&a, 0, NULL, &h), 0);
	assert_int_equal(h.se[0].len, 2 * MiB);
	assert_int_equal(a.used, 5 + 1 + 2 + 1);
	/* Undo of a failed append frees the units for the next file (first fit). */
	famfs_alloc_unmark_file(&a, &g);
	memset(&h, 0, sizeof(h));
	assert_int_equal(famfs_alloc_file(&a, 2 * MiB, NULL, &h), 0);
	assert_int_equal(h.se[0].offset, META + 2 * MiB);
	famfs_alloc_destroy(&a);
}

static void test_full_device_and_fragmentation(void **state)
{
	struct famfs_alloc a;
	struct famfs_file_body f[32];

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, 2 * MiB), 0);
	for (int i = 0; i < 27; i++)
		assert_int_equal(famfs_alloc_file(&a, 2 * MiB, NULL, &f[i]), 0);
	assert_int_equal(famfs_alloc_free_bytes(&a), 0);
	assert_int_equal(famfs_alloc_file(&a, 1, NULL, &f[27]), -ENOSPC);
	/* Free every other unit: 4 units free, none adjacent. */
	for (int i = 0; i < 8; i += 2)
		famfs_alloc_unmark_file(&a, &f[i]);
	memset(&f[28], 0, sizeof(f[28]));
	assert_int_equal(famfs_alloc_file(&a, 8 * MiB, NULL, &f[28]), 0);
	assert_int_equal(f[28].nextents, 4); /* no run long enough: four first-fit pieces */
	assert_int_equal(f[28].se[0].offset, META);
	assert_int_equal(f[28].se[3].offset, META + 12 * MiB);
	assert_int_equal(famfs_file_body_capacity(&f[28]), 8 * MiB);
	assert_int_equal(famfs_alloc_file(&a, 1, NULL, &f[29]), -ENOSPC);
	famfs_alloc_destroy(&a);
}

static void test_striped(void **state)
{
	struct famfs_alloc a;
	struct famfs_stripe st = {.nbuckets = 8, .nstrips = 4, .chunk_size = 2 * MiB};
	struct famfs_file_body f = {0}, g = {0};
	uint64_t bucket = (1024 * MiB / 2 / MiB / 8) * 2 * MiB;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 1024 * MiB, META, 2 * MiB), 0);
	assert_int_equal(famfs_alloc_file(&a, 20 * MiB, &st, &f), 0);
	assert_int_equal(f.ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(f.nextents, 1);
	assert_int_equal(f.ie[0].nstrips, 4);
	assert_int_equal(f.ie[0].chunk_size, 2 * MiB);
	/* 20 MiB over 4 strips of 2 MiB chunks: ceil(20/8) = 3 chunks per strip. */
	for (int s = 0; s < 4; s++) {
		assert_int_equal(f.ie[0].strips[s].len, 6 * MiB);
		/* each strip in its own bucket */
		assert_int_equal(f.ie[0].strips[s].offset / bucket, (uint64_t)s);
	}
	assert_int_equal(f.ie[0].strips[0].offset, META); /* first fit in bucket 0 */
	assert_true(famfs_file_body_capacity(&f) >= 20 * MiB);
	/* The next striped file starts one bucket further (spreads the load). */
	assert_int_equal(famfs_alloc_file(&a, 20 * MiB, &st, &g), 0);
	assert_int_equal(g.ie[0].strips[0].offset / bucket, 1);
	/* Smaller than a chunk: contiguous. */
	memset(&g, 0, sizeof(g));
	st.chunk_size = 8 * MiB;
	assert_int_equal(famfs_alloc_file(&a, 3 * MiB, &st, &g), 0);
	assert_int_equal(g.ext_type, FAMFS_EXT_SIMPLE);
	/* Bad parameters. */
	st.chunk_size = 3 * MiB;
	assert_int_equal(famfs_alloc_file(&a, 30 * MiB, &st, &g), -EINVAL);
	st.chunk_size = 2 * MiB;
	st.nstrips = 9;
	assert_int_equal(famfs_alloc_file(&a, 30 * MiB, &st, &g), -EINVAL);
	st.nstrips = 8;
	st.nbuckets = 65;
	assert_int_equal(famfs_alloc_file(&a, 30 * MiB, &st, &g), -EINVAL);
	/* More strips than buckets with room: ENOSPC. */
	st.nbuckets = 8;
	st.nstrips = 8;
	assert_int_equal(famfs_alloc_file(&a, 8 * 128 * MiB, &st, &g), -ENOSPC);
	famfs_alloc_destroy(&a);
}

static void test_collisions(void **state)
{
	struct famfs_alloc a;
	struct famfs_file_body f = {0};

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, 2 * MiB), 0);
	f.ext_type = FAMFS_EXT_SIMPLE;
	f.nextents = 2;
	f.se[0] = (struct famfs_simple_extent){0, 20 * MiB, 4 * MiB};
	f.se[1] = (struct famfs_simple_extent){0, 30 * MiB, 2 * MiB};
	assert_int_equal(famfs_alloc_mark_file(&a, &f), 0);
	assert_int_equal(famfs_alloc_mark_file(&a, &f), 3); /* every unit again */
	f.nextents = 1;
	f.se[0] = (struct famfs_simple_extent){0, 22 * MiB, 4 * MiB}; /* half overlaps */
	assert_int_equal(famfs_alloc_mark_file(&a, &f), 1);
	f.se[0] = (struct famfs_simple_extent){0, 8 * MiB, 2 * MiB}; /* the log */
	assert_int_equal(famfs_alloc_mark_file(&a, &f), 1);
	/* Allocation never hands out marked units. */
	struct famfs_file_body g = {0};
	assert_int_equal(famfs_alloc_file(&a, 10 * MiB, NULL, &g), 0);
	assert_int_equal(g.se[0].offset, 10 * MiB);
	assert_int_equal(g.se[0].len, 10 * MiB);
	famfs_alloc_destroy(&a);
}

/* ---- 4 KiB allocation units (issue 13) ---- */

#define KiB 1024ULL
#define U4K 4096ULL
#define RGN (2 * MiB)

static uint64_t up4k(uint64_t size)
{
	return size ? (size + U4K - 1) / U4K * U4K : U4K;
}

/*
 * The placement rule, checked on a body independently of the allocator:
 * a file under 2 MiB holds exactly its size rounded up to 4 KiB; a file of
 * 2 MiB or more starts every extent 2 MiB-aligned, every extent but the
 * last is a multiple of 2 MiB, and the last ends at the 4 KiB-rounded size.
 */
static void assert_placed(const struct famfs_file_body *f, uint64_t size)
{
	uint64_t total = 0;

	assert_int_equal(f->ext_type, FAMFS_EXT_SIMPLE);
	assert_true(f->nextents >= 1 && f->nextents <= FAMFS_MAX_SIMPLE_EXTENTS);
	for (uint32_t i = 0; i < f->nextents; i++) {
		assert_int_equal(f->se[i].offset % U4K, 0);
		assert_int_equal(f->se[i].len % U4K, 0);
		assert_true(f->se[i].len > 0);
		if (size >= RGN) {
			assert_int_equal(f->se[i].offset % RGN, 0);
			if (i + 1 < f->nextents)
				assert_int_equal(f->se[i].len % RGN, 0);
		}
		total += f->se[i].len;
	}
	assert_int_equal(total, up4k(size));
	if (size >= RGN)
		assert_true(famfs_file_pmd_mappable(f));
}

/* Every unit set in @a is set by exactly one of @f[0..n) or the metadata. */
static void assert_bitmap_is(const struct famfs_alloc *a, const struct famfs_file_body *f, int n,
			     uint64_t meta)
{
	uint8_t *own = calloc(a->nunits, 1);

	assert_non_null(own);
	for (uint64_t u = 0; u < meta / a->unit; u++)
		own[u]++;
	for (int k = 0; k < n; k++)
		for (uint32_t i = 0; i < f[k].nextents; i++)
			for (uint64_t u = f[k].se[i].offset / a->unit;
			     u < (f[k].se[i].offset + f[k].se[i].len) / a->unit; u++)
				own[u]++;
	for (uint64_t u = 0; u < a->nunits; u++) {
		if (own[u] > 1)
			fail_msg("unit %llu owned %u times", (unsigned long long)u, own[u]);
		if ((own[u] == 1) != (famfs_alloc_test(a, u) == 1))
			fail_msg("unit %llu: owned %u, bitmap %d", (unsigned long long)u, own[u],
				 famfs_alloc_test(a, u));
	}
	free(own);
}

static void test_4k_small_packed(void **state)
{
	static const uint64_t sizes[] = {1, 5000, 0, 100 * KiB, 4096, 1 * MiB, 12345, 300 * KiB};
	struct famfs_file_body f[8];
	struct famfs_alloc a;
	uint64_t at = META;

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, U4K), 0);
	assert_true(famfs_alloc_packs(&a));
	assert_int_equal(a.nunits, 64 * MiB / U4K);
	assert_int_equal(a.nregions, 32);
	/* One after another, 4 KiB-granular, from the first data region on. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(famfs_alloc_file(&a, sizes[i], NULL, &f[i]), 0);
		assert_placed(&f[i], sizes[i]);
		assert_int_equal(f[i].nextents, 1);
		if (at / RGN != (at + up4k(sizes[i]) - 1) / RGN)
			at = (at + RGN - 1) / RGN * RGN; /* would straddle: a new region */
		assert_int_equal(f[i].se[0].offset, at);
		at += up4k(sizes[i]);
	}
	/* 1.45 MiB of small files in one region: packed, no 2 MiB each. */
	assert_int_equal(a.used * U4K, META + at - META);
	assert_bitmap_is(&a, f, 8, META);
	famfs_alloc_destroy(&a);
}

static void test_4k_large_aligned(void **state)
{
	static const uint64_t sizes[] = {2 * MiB, 2 * MiB + 1, 5 * MiB + 123, 64 * MiB};
	struct famfs_file_body f[6];
	struct famfs_alloc a;

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(famfs_alloc_init(&a, 256 * MiB, META, U4K), 0);
	/* A small file first, so the next free byte is not 2 MiB-aligned. */
	assert_int_equal(famfs_alloc_file(&a, 10 * KiB, NULL, &f[0]), 0);
	assert_int_equal(f[0].se[0].offset, META);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(famfs_alloc_file(&a, sizes[i], NULL, &f[1 + i]), 0);
		assert_placed(&f[1 + i], sizes[i]);
		assert_int_equal(f[1 + i].nextents, 1); /* a free run was there: one extent */
	}
	/* Large files skip the region the small file opened. */
	assert_int_equal(f[1].se[0].offset, META + RGN);
	assert_int_equal(f[2].se[0].offset, META + 2 * RGN);
	/* 2 MiB + 1 takes one page of a second region ... */
	assert_int_equal(f[2].se[0].len, RGN + U4K);
	/* ... so the next large file starts in the region after that one. */
	assert_int_equal(f[3].se[0].offset, META + 4 * RGN);
	/* The rest of a tail region takes small files: after the first region fills,
	 * a 1 MiB file goes first fit into a partly used region (the small one's). */
	assert_int_equal(famfs_alloc_file(&a, 1 * MiB, NULL, &f[5]), 0);
	assert_int_equal(f[5].se[0].offset, META + 12 * KiB);
	assert_bitmap_is(&a, f, 6, META);
	famfs_alloc_destroy(&a);
}

/* Deterministic sizes: mostly small, some large. */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_4k_mixed_sequence(void **state)
{
	enum { N = 600 };
	struct famfs_file_body *f = calloc(N, sizeof(*f));
	uint64_t sizes[N], small_bytes = 0, touched = 0, nlarge = 0;
	struct famfs_alloc a;
	int n;

	(void)state;
	assert_non_null(f);
	assert_int_equal(famfs_alloc_init(&a, 1024 * MiB, META, U4K), 0);
	for (n = 0; n < N; n++) {
		uint64_t r = rnd() % 100;

		sizes[n] = r < 80   ? rnd() % (64 * KiB)
			   : r < 95 ? rnd() % (2 * MiB)
				    : 2 * MiB + rnd() % (8 * MiB);
		assert_int_equal(famfs_alloc_file(&a, sizes[n], NULL, &f[n]), 0);
		assert_placed(&f[n], sizes[n]);
		if (sizes[n] < RGN)
			small_bytes += up4k(sizes[n]);
		else
			nlarge++;
	}
	assert_bitmap_is(&a, f, N, META);
	/* Nothing wasted: used space is the sizes rounded up to 4 KiB. */
	{
		uint64_t want = META;

		for (int i = 0; i < N; i++)
			want += up4k(sizes[i]);
		assert_int_equal(a.used * U4K, want);
	}
	/* Packed: the regions small files touch are about what their bytes fill,
	 * plus the tail regions of large files they share. */
	for (uint64_t r = META / RGN; r < a.nregions; r++) {
		for (int i = 0; i < N; i++) {
			if (sizes[i] >= RGN)
				continue;
			if (f[i].se[0].offset / RGN == r ||
			    (f[i].se[0].offset + f[i].se[0].len - 1) / RGN == r) {
				touched++;
				break;
			}
		}
	}
	assert_true(touched <= small_bytes / RGN + nlarge + 2);
	free(f);
	famfs_alloc_destroy(&a);
}

static int region_bit(const uint64_t *bm, uint64_t r)
{
	return (int)((bm[r / 64] >> (r % 64)) & 1);
}

/*
 * The region counts and bitmaps (in use, partly used, room for a growing
 * file) agree with the unit bitmap, recomputed here from scratch.
 */
static void assert_regions_consistent(const struct famfs_alloc *a)
{
	uint64_t nreg = (a->nunits + a->region_units - 1) / a->region_units;

	for (uint64_t r = 0; r < nreg; r++) {
		uint64_t u0 = r * a->region_units, len = a->nunits - u0, used = 0, hwm = 0;

		if (len > a->region_units)
			len = a->region_units;
		for (uint64_t i = 0; i < len; i++)
			if (famfs_alloc_test(a, u0 + i)) {
				used++;
				hwm = i + 1;
			}
		if (a->region_used[r] != used || region_bit(a->region_inuse, r) != (used > 0) ||
		    region_bit(a->region_part, r) != (used > 0 && used < len) ||
		    region_bit(a->region_room, r) !=
			(used > 0 && (len - hwm) * a->unit >= 64 * KiB))
			fail_msg("region %llu: used %llu (count %u), hwm %llu of %llu: in use %d, "
				 "part %d, room %d",
				 (unsigned long long)r, (unsigned long long)used, a->region_used[r],
				 (unsigned long long)hwm, (unsigned long long)len,
				 region_bit(a->region_inuse, r), region_bit(a->region_part, r),
				 region_bit(a->region_room, r));
	}
}

/*
 * Random creates, growths, discards and small allocations on a 4 KiB-unit
 * device whose size is not a whole number of regions: the region bitmaps
 * stay exact, and a growing file starts where the rule says, checked
 * against a scan of the unit bitmap (the first region in use with >= 64 KiB
 * free after its last set unit, else the first wholly free region).
 */
static void test_4k_region_maps(void **state)
{
	enum { N = 400 };
	struct famfs_file_body *f = calloc(N, sizeof(*f));
	bool live[N] = {0};
	struct famfs_alloc a;

	(void)state;
	assert_non_null(f);
	assert_int_equal(famfs_alloc_init(&a, 256 * MiB + 36 * KiB, META, U4K), 0);
	assert_regions_consistent(&a);
	for (int step = 0; step < 3000; step++) {
		int k = (int)(rnd() % N);
		uint64_t op = rnd() % 100, off, want = UINT64_MAX;

		if (op < 40 && !live[k]) {
			uint64_t size = rnd() % 100 < 85 ? rnd() % (256 * KiB) : rnd() % (6 * MiB);

			live[k] = famfs_alloc_file(&a, size, NULL, &f[k]) == 0;
		} else if (op < 65 && live[k]) {
			famfs_alloc_unmark_file(&a, &f[k]);
			live[k] = false;
		} else if (op < 90) {
			/* The reference: the rule, by brute force. */
			uint64_t nreg = (a.nunits + a.region_units - 1) / a.region_units;

			for (uint64_t r = 0; r < nreg && want == UINT64_MAX; r++) {
				uint64_t u0 = r * a.region_units, len = a.nunits - u0, hwm = 0;

				if (len > a.region_units)
					len = a.region_units;
				for (uint64_t i = 0; i < len; i++)
					if (famfs_alloc_test(&a, u0 + i))
						hwm = i + 1;
				if (hwm && (len - hwm) * U4K >= 64 * KiB)
					want = (u0 + hwm) * U4K;
			}
			for (uint64_t r = 0; r < a.nregions && want == UINT64_MAX; r++)
				if (!a.region_used[r])
					want = r * RGN;
			if (famfs_alloc_start(&a, &off) == 0) {
				if (want != UINT64_MAX)
					assert_int_equal(off, want);
				famfs_alloc_extend(&a, off + U4K, rnd() % 40);
			}
		} else {
			if (famfs_alloc_small(&a, 1 + rnd() % 64, &off) == 0 && rnd() % 2)
				famfs_alloc_unmark_range(&a, off, U4K);
		}
		assert_regions_consistent(&a);
	}
	free(f);
	famfs_alloc_destroy(&a);
}

static void test_4k_full_device(void **state)
{
	struct famfs_file_body f = {0}, g = {0};
	struct famfs_alloc a;
	int n = 0;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 32 * MiB, META, U4K), 0);
	/* 22 MiB of data space: eleven regions. A file of 2 MiB + 8 KiB takes a
	 * whole region and 8 KiB of the next, so the next large file starts one
	 * region further: five of them take ten regions ... */
	for (int i = 0; i < 5; i++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(famfs_alloc_file(&a, 2 * MiB + 8 * KiB, NULL, &f), 0);
		assert_placed(&f, 2 * MiB + 8 * KiB);
		assert_int_equal(f.se[0].offset, META + 2 * i * RGN);
	}
	/* ... one more fits the last region exactly ... */
	memset(&f, 0, sizeof(f));
	assert_int_equal(famfs_alloc_file(&a, 2 * MiB, NULL, &f), 0);
	assert_int_equal(f.se[0].offset, META + 10 * RGN);
	/* ... then no region is wholly free: no file of 2 MiB or more fits,
	 * though five regions are almost free ... */
	memset(&f, 0, sizeof(f));
	assert_int_equal(famfs_alloc_file(&a, 2 * MiB, NULL, &f), -ENOSPC);
	assert_int_equal(famfs_alloc_free_bytes(&a), 5 * (2 * MiB - 8 * KiB));
	/* ... and small files fill them to the last unit. */
	while (famfs_alloc_file(&a, 100 * KiB, NULL, &g) == 0) {
		assert_placed(&g, 100 * KiB);
		memset(&g, 0, sizeof(g));
		n++;
	}
	while (famfs_alloc_file(&a, 1, NULL, &g) == 0) {
		memset(&g, 0, sizeof(g));
		n++;
	}
	assert_true(n > 50);
	assert_int_equal(famfs_alloc_free_bytes(&a), 0);
	assert_int_equal(famfs_alloc_file(&a, 0, NULL, &g), -ENOSPC);
	famfs_alloc_destroy(&a);
}

static void test_4k_fragmentation(void **state)
{
	struct famfs_file_body f = {0}, g = {0};
	struct famfs_alloc a;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 128 * MiB, META, U4K), 0);
	/* One page used at the start of every other region from 16 MiB on:
	 * free runs of one whole region between them. */
	for (uint64_t off = 16 * MiB; off < 128 * MiB; off += 2 * RGN) {
		struct famfs_file_body x = {.ext_type = FAMFS_EXT_SIMPLE, .nextents = 1};

		x.se[0] = (struct famfs_simple_extent){0, off, U4K};
		assert_int_equal(famfs_alloc_mark_file(&a, &x), 0);
	}
	/* 10 MiB and a bit: no run of 6 free regions after 16 MiB, so the file
	 * is 3 whole regions below 16 MiB, then one region per extent. */
	assert_int_equal(famfs_alloc_file(&a, 10 * MiB + 5, NULL, &f), 0);
	assert_placed(&f, 10 * MiB + 5);
	assert_true(f.nextents > 1);
	assert_int_equal(f.se[0].offset, META);
	assert_int_equal(f.se[0].len, 3 * RGN);
	/* More regions than 16 extents can reach: ENOSPC, nothing marked. */
	{
		uint64_t used = a.used;

		assert_int_equal(famfs_alloc_file(&a, 40 * MiB, NULL, &g), -ENOSPC);
		assert_int_equal(a.used, used);
	}
	/* A small file goes into a partly used region, not a free one. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(famfs_alloc_file(&a, 64 * KiB, NULL, &g), 0);
	assert_placed(&g, 64 * KiB);
	assert_int_not_equal(g.se[0].offset % RGN, 0);
	famfs_alloc_destroy(&a);
}

static void test_4k_striped(void **state)
{
	struct famfs_stripe st = {.nbuckets = 4, .nstrips = 4, .chunk_size = 2 * MiB};
	struct famfs_file_body s = {0}, f = {0};
	struct famfs_alloc a;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 256 * MiB, META, U4K), 0);
	assert_int_equal(famfs_alloc_file(&a, 4 * KiB, NULL, &s), 0); /* unaligns the cursor */
	assert_int_equal(famfs_alloc_file(&a, 20 * MiB, &st, &f), 0);
	assert_int_equal(f.ext_type, FAMFS_EXT_INTERLEAVE);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.ie[0].strips[i].offset % RGN, 0);
		assert_int_equal(f.ie[0].strips[i].len, 6 * MiB); /* whole chunks */
	}
	assert_true(famfs_file_pmd_mappable(&f));
	/* A chunk smaller than a region (4 KiB units allow it): whole chunks still,
	 * each strip starting 2 MiB-aligned. */
	memset(&f, 0, sizeof(f));
	st.chunk_size = 64 * KiB;
	assert_int_equal(famfs_alloc_file(&a, 1 * MiB, &st, &f), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.ie[0].strips[i].offset % RGN, 0);
		assert_int_equal(f.ie[0].strips[i].len, 256 * KiB);
	}
	assert_false(famfs_file_pmd_mappable(&f));
	famfs_alloc_destroy(&a);
}

static void test_4k_growing_files(void **state)
{
	struct famfs_file_body s = {0};
	struct famfs_alloc a;
	uint64_t off, off2;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, U4K), 0);
	/* A growing file starts in a free region when none is partly used ... */
	assert_int_equal(famfs_alloc_start(&a, &off), 0);
	assert_int_equal(off, META);
	assert_int_equal(famfs_alloc_extend(&a, off + U4K, 9), 9);
	/* ... the next one right after it (the free tail of that region) ... */
	assert_int_equal(famfs_alloc_start(&a, &off2), 0);
	assert_int_equal(off2, META + 10 * U4K);
	/* ... not where less than 64 KiB would follow. */
	assert_int_equal(famfs_alloc_extend(&a, off2 + U4K, 512 - 10 - 1 - 10), 491);
	assert_int_equal(famfs_alloc_start(&a, &off), 0);
	assert_int_equal(off, META + RGN);
	/* Whole regions: found, extended in place, refused when in use. */
	assert_int_equal(famfs_alloc_regions(&a, 3, &off), 0);
	assert_int_equal(off, META + 2 * RGN);
	assert_int_equal(famfs_alloc_extend_regions(&a, off + 3 * RGN, 2), 2);
	assert_int_equal(famfs_alloc_extend_regions(&a, off + RGN, 1), 0);
	assert_int_equal(famfs_alloc_extend_regions(&a, off + U4K, 1), 0); /* not aligned */
	/* The small packer: first fit inside a partly used region. */
	assert_int_equal(famfs_alloc_small(&a, 5, &off), 0);
	assert_int_equal(off, META + 502 * U4K);
	famfs_alloc_unmark_range(&a, META, 10 * U4K);
	assert_int_equal(famfs_alloc_small(&a, 3, &off), 0);
	assert_int_equal(off, META);
	memset(&s, 0, sizeof(s));
	famfs_alloc_destroy(&a);

	/* Regions left with less than 64 KiB at their end are passed over (and
	 * skipped by later scans), until space at the end of one is freed. */
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, U4K), 0);
	for (int r = 0; r < 4; r++) {
		assert_int_equal(famfs_alloc_start(&a, &off), 0);
		assert_int_equal(off, META + r * RGN);
		assert_int_equal(famfs_alloc_extend(&a, off + U4K, 500), 500); /* 11 pages left */
	}
	for (int r = 5; r < 5 + 4; r++) /* none of the four has room left at its end */
		assert_false((a.region_room[r / 64] >> (r % 64)) & 1);
	famfs_alloc_unmark_range(&a, META + RGN + 496 * U4K, 5 * U4K); /* 64 KiB at its end */
	assert_int_equal(famfs_alloc_start(&a, &off), 0);
	assert_int_equal(off, META + RGN + 496 * U4K);
	famfs_alloc_destroy(&a);
}

static void test_2m_unchanged_helpers(void **state)
{
	struct famfs_alloc a;
	uint64_t off;

	(void)state;
	/* With 2 MiB units the growing-file helpers are plain first fit. */
	assert_int_equal(famfs_alloc_init(&a, 64 * MiB, META, 2 * MiB), 0);
	assert_false(famfs_alloc_packs(&a));
	assert_int_equal(famfs_alloc_start(&a, &off), 0);
	assert_int_equal(off, META);
	assert_int_equal(famfs_alloc_small(&a, 1, &off), 0);
	assert_int_equal(off, META + 2 * MiB);
	assert_int_equal(famfs_alloc_regions(&a, 2, &off), 0);
	assert_int_equal(off, META + 4 * MiB);
	assert_int_equal(famfs_alloc_extend_regions(&a, off + 4 * MiB, 3), 3);
	assert_int_equal(a.used, 5 + 1 + 1 + 2 + 3);
	famfs_alloc_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_fit_contiguous),
	    cmocka_unit_test(test_full_device_and_fragmentation),
	    cmocka_unit_test(test_striped),
	    cmocka_unit_test(test_collisions),
	    cmocka_unit_test(test_4k_small_packed),
	    cmocka_unit_test(test_4k_large_aligned),
	    cmocka_unit_test(test_4k_mixed_sequence),
	    cmocka_unit_test(test_4k_region_maps),
	    cmocka_unit_test(test_4k_full_device),
	    cmocka_unit_test(test_4k_fragmentation),
	    cmocka_unit_test(test_4k_striped),
	    cmocka_unit_test(test_4k_growing_files),
	    cmocka_unit_test(test_2m_unchanged_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
