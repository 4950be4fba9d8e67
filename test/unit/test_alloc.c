// SPDX-License-Identifier: Apache-2.0
/* Allocation bitmap: first fit, fragmentation, striping, full device, collisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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
	assert_int_equal(famfs_file_capacity(&f[28]), 8 * MiB);
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
	assert_true(famfs_file_capacity(&f) >= 20 * MiB);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_fit_contiguous),
	    cmocka_unit_test(test_full_device_and_fragmentation),
	    cmocka_unit_test(test_striped),
	    cmocka_unit_test(test_collisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
