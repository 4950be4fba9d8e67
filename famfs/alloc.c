// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define WORD_BITS 64
/* A growing small file starts where at least this much can follow in place. */
#define START_ROOM (64 * 1024ULL)

int famfs_alloc_test(const struct famfs_alloc *a, uint64_t u)
{
	return (a->bits[u / WORD_BITS] >> (u % WORD_BITS)) & 1;
}

/* Bits [b, b+n) of one word, n in 1..64. */
static uint64_t word_mask(uint64_t b, uint64_t n)
{
	return (n == WORD_BITS ? ~0ULL : ((1ULL << n) - 1)) << b;
}

/* Region accounting for the units of one word: with 4 KiB units a region
 * (512 units) is a whole number of words, so a word lies in one region. */
static void count_region(struct famfs_alloc *a, uint64_t u, int64_t delta)
{
	if (a->region_used)
		a->region_used[u / a->region_units] =
		    (uint16_t)(a->region_used[u / a->region_units] + delta);
}

/* First bit in [from, to) of bitmap @bm that is @set, or @to. */
static uint64_t bm_find(const uint64_t *bm, uint64_t from, uint64_t to, bool set)
{
	uint64_t u = from;

	while (u < to) {
		uint64_t w = bm[u / WORD_BITS], b = u % WORD_BITS;

		if (!set)
			w = ~w;
		w &= ~0ULL << b;
		if (w) {
			uint64_t hit = u - b + (uint64_t)__builtin_ctzll(w);

			return hit < to ? hit : to;
		}
		u += WORD_BITS - b;
	}
	return to;
}

static void bm_put(uint64_t *bm, uint64_t i, bool set)
{
	if (set)
		bm[i / WORD_BITS] |= 1ULL << (i % WORD_BITS);
	else
		bm[i / WORD_BITS] &= ~(1ULL << (i % WORD_BITS));
}

/* First unit in [from, to) whose bit is @set, or @to. */
static uint64_t find_bit(const struct famfs_alloc *a, uint64_t from, uint64_t to, bool set)
{
	return bm_find(a->bits, from, to, set);
}

static bool region_free(const struct famfs_alloc *a, uint64_t r)
{
	if (!a->region_used)
		return !famfs_alloc_test(a, r);
	return a->region_used[r] == 0;
}

/* First wholly free region in [from, to), or @to. */
static uint64_t next_free_region(const struct famfs_alloc *a, uint64_t from, uint64_t to)
{
	return bm_find(a->region_used ? a->region_inuse : a->bits, from, to, false);
}

static void advance_hints(struct famfs_alloc *a)
{
	a->hint = find_bit(a, a->hint, a->nunits, false);
	a->free_hint = next_free_region(a, a->free_hint, a->nregions);
}

static uint64_t region_hwm(const struct famfs_alloc *a, uint64_t r);
static uint64_t region_len(const struct famfs_alloc *a, uint64_t r);

/* Region bitmaps of regions [@r0, @r1] after a mark or clear in them. */
static void update_regions(struct famfs_alloc *a, uint64_t r0, uint64_t r1)
{
	if (!a->region_used)
		return;
	for (uint64_t r = r0; r <= r1; r++) {
		uint64_t used = a->region_used[r], len = region_len(a, r);

		bm_put(a->region_inuse, r, used > 0);
		bm_put(a->region_part, r, used > 0 && used < len);
		bm_put(a->region_room, r,
		       used > 0 && used < len && len - region_hwm(a, r) >= START_ROOM / a->unit);
	}
}

/* Set units [u, u+n); returns how many were set already. */
static uint64_t mark(struct famfs_alloc *a, uint64_t u, uint64_t n)
{
	uint64_t dup = 0, end = u + n < a->nunits ? u + n : a->nunits, first = u;

	if (n > a->nunits)
		end = a->nunits;
	while (u < end) {
		uint64_t b = u % WORD_BITS, cnt = WORD_BITS - b < end - u ? WORD_BITS - b : end - u;
		uint64_t m = word_mask(b, cnt), was = a->bits[u / WORD_BITS] & m;
		uint64_t newly = (uint64_t)__builtin_popcountll(m & ~was);

		dup += (uint64_t)__builtin_popcountll(was);
		a->bits[u / WORD_BITS] |= m;
		a->used += newly;
		count_region(a, u, (int64_t)newly);
		u += cnt;
	}
	if (first < end)
		update_regions(a, first / a->region_units, (end - 1) / a->region_units);
	advance_hints(a);
	return dup;
}

/* Clear units [u, u+n). */
static void clear(struct famfs_alloc *a, uint64_t u, uint64_t n)
{
	uint64_t end = u + n < a->nunits && n <= a->nunits ? u + n : a->nunits, first = u;

	while (u < end) {
		uint64_t b = u % WORD_BITS, cnt = WORD_BITS - b < end - u ? WORD_BITS - b : end - u;
		uint64_t m = word_mask(b, cnt), was = a->bits[u / WORD_BITS] & m;
		uint64_t gone = (uint64_t)__builtin_popcountll(was);

		a->bits[u / WORD_BITS] &= ~m;
		a->used -= gone;
		count_region(a, u, -(int64_t)gone);
		u += cnt;
	}
	if (first < end) {
		update_regions(a, first / a->region_units, (end - 1) / a->region_units);
		if (first < a->hint)
			a->hint = first;
		if (first / a->region_units < a->free_hint)
			a->free_hint = first / a->region_units;
		advance_hints(a);
	}
}

int famfs_alloc_init(struct famfs_alloc *a, uint64_t devsize, uint64_t meta_end, uint64_t unit)
{
	memset(a, 0, sizeof(*a));
	if (unit == 0 || (unit & (unit - 1)) || unit > FAMFS_REGION || meta_end > devsize)
		return -EINVAL;
	a->unit = unit;
	a->nunits = devsize / unit;
	a->region_units = (uint32_t)(FAMFS_REGION / unit);
	a->nregions = a->nunits / a->region_units;
	a->bits = calloc((a->nunits + WORD_BITS - 1) / WORD_BITS + 1, sizeof(uint64_t));
	if (!a->bits)
		return -ENOMEM;
	if (a->region_units > 1) {
		/* Counts for every region, the partial last one too (small files use it). */
		size_t words = (a->nregions + 2) / WORD_BITS + 1;

		a->region_used = calloc(a->nregions + 2, sizeof(uint16_t));
		a->region_inuse = calloc(words, sizeof(uint64_t));
		a->region_part = calloc(words, sizeof(uint64_t));
		a->region_room = calloc(words, sizeof(uint64_t));
		if (!a->region_used || !a->region_inuse || !a->region_part || !a->region_room) {
			famfs_alloc_destroy(a);
			return -ENOMEM;
		}
	}
	mark(a, 0, (meta_end + unit - 1) / unit);
	return 0;
}

void famfs_alloc_destroy(struct famfs_alloc *a)
{
	free(a->bits);
	free(a->region_used);
	free(a->region_inuse);
	free(a->region_part);
	free(a->region_room);
	a->bits = NULL;
	a->region_used = NULL;
	a->region_inuse = a->region_part = a->region_room = NULL;
}

/* The extents (simple) or strips (interleaved) of a checked FILE body, and how many. */
static const struct famfs_simple_extent *file_extents(const struct famfs_file_body *f, uint32_t *n)
{
	if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
		*n = f->nextents == 1 && f->ie[0].nstrips <= FAMFS_MAX_STRIPS
			 ? (uint32_t)f->ie[0].nstrips
			 : 0;
		return f->ie[0].strips;
	}
	*n = f->ext_type == FAMFS_EXT_SIMPLE && f->nextents <= FAMFS_MAX_SIMPLE_EXTENTS
		 ? f->nextents
		 : 0;
	return f->se;
}

uint64_t famfs_alloc_mark_file(struct famfs_alloc *a, const struct famfs_file_body *f)
{
	uint64_t dup = 0;
	uint32_t n;
	const struct famfs_simple_extent *x = file_extents(f, &n);

	for (uint32_t i = 0; i < n; i++)
		dup += mark(a, x[i].offset / a->unit, x[i].len / a->unit);
	return dup;
}

int famfs_alloc_claim_file(struct famfs_alloc *a, const struct famfs_file_body *f, uint32_t *bad,
			   bool *self)
{
	uint32_t n;
	const struct famfs_simple_extent *x = file_extents(f, &n);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t u0 = x[i].offset / a->unit, u1 = (x[i].offset + x[i].len) / a->unit;

		for (uint32_t j = 0; j < i; j++) {
			if (x[i].offset < x[j].offset + x[j].len &&
			    x[j].offset < x[i].offset + x[i].len) {
				*bad = i;
				*self = true;
				return -EEXIST;
			}
		}
		if (u1 > a->nunits)
			u1 = a->nunits;
		if (u0 < u1 && find_bit(a, u0, u1, true) < u1) {
			*bad = i;
			*self = false;
			return -EEXIST;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		mark(a, x[i].offset / a->unit, x[i].len / a->unit);
	return 0;
}

void famfs_alloc_unmark_file(struct famfs_alloc *a, const struct famfs_file_body *f)
{
	uint32_t n;
	const struct famfs_simple_extent *x = file_extents(f, &n);

	for (uint32_t i = 0; i < n; i++)
		clear(a, x[i].offset / a->unit, x[i].len / a->unit);
}

/*
 * First free run in [from, to): returns its start and length (capped at
 * @want) or false if there is none.
 */
static bool next_run(const struct famfs_alloc *a, uint64_t from, uint64_t to, uint64_t want,
		     uint64_t *start, uint64_t *len)
{
	uint64_t s = find_bit(a, from, to, false), e;

	if (s >= to)
		return false;
	e = find_bit(a, s, want < to - s ? s + want : to, true);
	*start = s;
	*len = e - s;
	return true;
}

/* First run of exactly @n free units in [from, to). */
static bool first_fit(const struct famfs_alloc *a, uint64_t from, uint64_t to, uint64_t n,
		      uint64_t *start)
{
	uint64_t s, len;

	while (next_run(a, from, to, n, &s, &len)) {
		if (len == n) {
			*start = s;
			return true;
		}
		from = s + len;
	}
	return false;
}

/* 2 MiB units: first fit, one extent, else up to 16 first-fit pieces. */
static int alloc_simple(struct famfs_alloc *a, uint64_t units, struct famfs_file_body *f)
{
	uint64_t s, len, from = a->hint, got = 0;
	uint32_t n = 0;

	f->ext_type = FAMFS_EXT_SIMPLE;
	if (first_fit(a, a->hint, a->nunits, units, &s)) {
		f->se[0] = (struct famfs_simple_extent){0, s * a->unit, units * a->unit};
		f->nextents = 1;
		mark(a, s, units);
		return 0;
	}
	/* Fragmented: up to 16 extents, first fit in device order. */
	while (got < units && n < FAMFS_MAX_SIMPLE_EXTENTS &&
	       next_run(a, from, a->nunits, units - got, &s, &len)) {
		f->se[n++] = (struct famfs_simple_extent){0, s * a->unit, len * a->unit};
		got += len;
		from = s + len;
	}
	if (got < units) {
		memset(f->se, 0, sizeof(f->se));
		return -ENOSPC;
	}
	f->nextents = n;
	for (uint32_t i = 0; i < n; i++)
		mark(a, f->se[i].offset / a->unit, f->se[i].len / a->unit);
	return 0;
}

/* ---- regions (4 KiB units) ---- */

/* Are the first @units units of region @r free? */
static bool prefix_free(const struct famfs_alloc *a, uint64_t r, uint64_t units)
{
	uint64_t u = r * a->region_units;

	return find_bit(a, u, u + units, true) == u + units;
}

/*
 * First region s in [from, to) such that regions s .. s+nfull-1 are wholly
 * free and, when @tail units follow, region s+nfull (< to) has its first
 * @tail units free (with nfull 0: a wholly free region). Returns s, or
 * UINT64_MAX.
 */
static uint64_t find_regions(const struct famfs_alloc *a, uint64_t from, uint64_t to,
			     uint64_t nfull, uint64_t tail)
{
	uint64_t r = from < a->free_hint ? a->free_hint : from;

	if (nfull == 0) {
		nfull = 1;
		tail = 0;
	}
	while ((r = next_free_region(a, r, to)) < to) {
		uint64_t s = r, n = 0;

		while (r < to && n < nfull && region_free(a, r)) {
			n++;
			r++;
		}
		if (n < nfull) {
			r++; /* region r is in use (or r is past the end) */
			continue;
		}
		if (!tail || (r < to && prefix_free(a, r, tail)))
			return s;
		r++; /* region r lacks the free prefix, so it is not wholly free either */
	}
	return UINT64_MAX;
}

/*
 * A file of @size >= 2 MiB in a 4 KiB-unit fs: extents of wholly free
 * regions, each a multiple of 2 MiB but the last, which ends at the size
 * rounded up to the unit; one extent if a run is long enough, else up to 16.
 */
static int alloc_large(struct famfs_alloc *a, uint64_t size, struct famfs_file_body *f)
{
	uint64_t ru = a->region_units, units = (size + a->unit - 1) / a->unit;
	uint64_t nfull = units / ru, tail = units % ru, s, r, left = nfull;
	uint32_t n = 0;

	f->ext_type = FAMFS_EXT_SIMPLE;
	s = find_regions(a, 0, a->nregions, nfull, tail);
	if (s != UINT64_MAX) {
		f->se[0] = (struct famfs_simple_extent){0, s * FAMFS_REGION, units * a->unit};
		f->nextents = 1;
		mark(a, s * ru, units);
		return 0;
	}
	/* Fragmented: runs of wholly free regions in device order. */
	r = a->free_hint;
	while (left && n < FAMFS_MAX_SIMPLE_EXTENTS && r < a->nregions) {
		uint64_t k = 0;

		if (!region_free(a, r)) {
			r++;
			continue;
		}
		s = r;
		while (r < a->nregions && k < left && region_free(a, r)) {
			k++;
			r++;
		}
		f->se[n++] = (struct famfs_simple_extent){0, s * FAMFS_REGION, k * FAMFS_REGION};
		left -= k;
	}
	if (left) {
		memset(f->se, 0, sizeof(f->se));
		return -ENOSPC;
	}
	if (tail) {
		struct famfs_simple_extent *last = &f->se[n - 1];
		uint64_t after = (last->offset + last->len) / FAMFS_REGION;

		if (after < a->nregions && prefix_free(a, after, tail)) {
			last->len += tail * a->unit; /* the tail follows in place */
		} else {
			/* The tail in a region of its own (2 MiB-aligned, so the file
			 * offset and device offset stay congruent modulo 2 MiB). */
			uint64_t t = find_regions(a, 0, a->nregions, 0, tail);

			/* Not one of the regions just chosen (they are not marked yet). */
			for (uint32_t i = 0; t != UINT64_MAX && i < n; i++) {
				uint64_t r0 = f->se[i].offset / FAMFS_REGION;

				if (t >= r0 && t < r0 + f->se[i].len / FAMFS_REGION)
					t = find_regions(a, r0 + f->se[i].len / FAMFS_REGION,
							 a->nregions, 0, tail);
			}
			if (t == UINT64_MAX || n == FAMFS_MAX_SIMPLE_EXTENTS) {
				memset(f->se, 0, sizeof(f->se));
				return -ENOSPC;
			}
			f->se[n++] =
			    (struct famfs_simple_extent){0, t * FAMFS_REGION, tail * a->unit};
		}
	}
	f->nextents = n;
	for (uint32_t i = 0; i < n; i++)
		mark(a, f->se[i].offset / a->unit, f->se[i].len / a->unit);
	return 0;
}

/* Last set unit of region @r plus one (0: none set). */
static uint64_t region_hwm(const struct famfs_alloc *a, uint64_t r)
{
	uint64_t u0 = r * a->region_units, u = u0 + a->region_units;

	while (u > u0) {
		uint64_t w = a->bits[(u - 1) / WORD_BITS];

		if (w)
			return u - u0 - (uint64_t)__builtin_clzll(w);
		u -= WORD_BITS;
	}
	return 0;
}

/* Units of region @r that exist (the partial last region has fewer). */
static uint64_t region_len(const struct famfs_alloc *a, uint64_t r)
{
	uint64_t u0 = r * a->region_units;

	return a->nunits - u0 < a->region_units ? a->nunits - u0 : a->region_units;
}

/* Regions that hold at least one unit, the partial last one included. */
static uint64_t all_regions(const struct famfs_alloc *a)
{
	return (a->nunits + a->region_units - 1) / a->region_units;
}

/* The small-file packer: first fit of @n units inside one partly used region. */
static bool pack_fit(const struct famfs_alloc *a, uint64_t n, uint64_t *start)
{
	uint64_t end = all_regions(a);

	for (uint64_t r = bm_find(a->region_part, a->hint / a->region_units, end, true); r < end;
	     r = bm_find(a->region_part, r + 1, end, true)) {
		uint64_t used = a->region_used[r], len = region_len(a, r), u0 = r * a->region_units;

		if (len - used < n)
			continue;
		if (first_fit(a, u0, u0 + len, n, start))
			return true;
	}
	return false;
}

int famfs_alloc_small(struct famfs_alloc *a, uint64_t units, uint64_t *off)
{
	uint64_t s;

	if (units == 0)
		return -ENOSPC;
	if (!famfs_alloc_packs(a) || units >= a->region_units)
		return famfs_alloc_run(a, units, off);
	if (!pack_fit(a, units, &s)) {
		uint64_t r = find_regions(a, 0, all_regions(a), 1, 0);

		if (r != UINT64_MAX && region_len(a, r) >= units)
			s = r * a->region_units;
		else if (!first_fit(a, a->hint, a->nunits, units, &s))
			return -ENOSPC;
	}
	mark(a, s, units);
	*off = s * a->unit;
	return 0;
}

/* A file under 2 MiB in a 4 KiB-unit fs: one packed run, else up to 16 pieces. */
static int alloc_small_file(struct famfs_alloc *a, uint64_t units, struct famfs_file_body *f)
{
	uint64_t off;

	if (famfs_alloc_small(a, units, &off) == 0) {
		f->ext_type = FAMFS_EXT_SIMPLE;
		f->nextents = 1;
		f->se[0] = (struct famfs_simple_extent){0, off, units * a->unit};
		return 0;
	}
	return alloc_simple(a, units, f); /* scattered free units: up to 16 pieces */
}

int famfs_alloc_start(struct famfs_alloc *a, uint64_t *off)
{
	uint64_t r;

	if (!famfs_alloc_packs(a))
		return famfs_alloc_run(a, 1, off);
	/* The free tail of the first partly used region with room, where the
	 * file can grow in place (region_room, kept by mark and clear). */
	r = bm_find(a->region_room, 0, all_regions(a), true);
	if (r < all_regions(a)) {
		uint64_t s = r * a->region_units + region_hwm(a, r);

		mark(a, s, 1);
		*off = s * a->unit;
		return 0;
	}
	/* Else a free region, else any free unit. */
	r = find_regions(a, 0, all_regions(a), 1, 0);
	if (r != UINT64_MAX) {
		mark(a, r * a->region_units, 1);
		*off = r * FAMFS_REGION;
		return 0;
	}
	return famfs_alloc_small(a, 1, off);
}

int famfs_alloc_regions(struct famfs_alloc *a, uint64_t n, uint64_t *off)
{
	uint64_t s;

	if (n == 0)
		return -ENOSPC;
	s = find_regions(a, 0, a->nregions, n, 0);
	if (s == UINT64_MAX)
		return -ENOSPC;
	mark(a, s * a->region_units, n * a->region_units);
	*off = s * FAMFS_REGION;
	return 0;
}

uint64_t famfs_alloc_extend_regions(struct famfs_alloc *a, uint64_t off, uint64_t n)
{
	uint64_t r = off / FAMFS_REGION, k = 0;

	if (off % FAMFS_REGION)
		return 0;
	while (k < n && r + k < a->nregions && region_free(a, r + k))
		k++;
	mark(a, r * a->region_units, k * a->region_units);
	return k;
}

static int alloc_striped(struct famfs_alloc *a, uint64_t size, const struct famfs_stripe *st,
			 struct famfs_file_body *f)
{
	struct famfs_interleave_extent *ie = &f->ie[0];
	uint64_t per_stripe = st->chunk_size * st->nstrips;
	uint64_t strip_bytes = (size + per_stripe - 1) / per_stripe * st->chunk_size;
	uint64_t strip_units = strip_bytes / a->unit;
	/* Each strip starts 2 MiB-aligned: whole regions, the last one maybe in part. */
	uint64_t nfull = strip_units / a->region_units, tail = strip_units % a->region_units;
	uint64_t bucket_regions = a->nregions / st->nbuckets;
	uint32_t found = 0;

	for (uint32_t i = 0; i < st->nbuckets && found < st->nstrips; i++) {
		uint32_t b = (a->rotor + i) % st->nbuckets;
		uint64_t s =
		    find_regions(a, b * bucket_regions, (b + 1) * bucket_regions, nfull, tail);

		if (s != UINT64_MAX)
			ie->strips[found++] =
			    (struct famfs_simple_extent){0, s * FAMFS_REGION, strip_bytes};
	}
	if (found < st->nstrips) {
		memset(ie, 0, sizeof(*ie));
		return -ENOSPC;
	}
	a->rotor = (a->rotor + 1) % st->nbuckets;
	f->ext_type = FAMFS_EXT_INTERLEAVE;
	f->nextents = 1;
	ie->nstrips = st->nstrips;
	ie->chunk_size = st->chunk_size;
	for (uint32_t i = 0; i < found; i++)
		mark(a, ie->strips[i].offset / a->unit, strip_units);
	return 0;
}

int famfs_alloc_file(struct famfs_alloc *a, uint64_t size, const struct famfs_stripe *stripe,
		     struct famfs_file_body *f)
{
	uint64_t units = size ? (size + a->unit - 1) / a->unit : 1;

	if (size > a->nunits * a->unit)
		return -ENOSPC;
	if (stripe) {
		const struct famfs_stripe *st = stripe;

		if (st->nbuckets == 0 || st->nbuckets > FAMFS_MAX_BUCKETS || st->nstrips == 0 ||
		    st->nstrips > FAMFS_MAX_STRIPS || st->nstrips > st->nbuckets ||
		    st->chunk_size < a->unit || st->chunk_size % a->unit ||
		    (st->chunk_size & (st->chunk_size - 1)))
			return -EINVAL;
		if (size >= st->chunk_size)
			return alloc_striped(a, size, st, f);
	}
	if (!famfs_alloc_packs(a))
		return alloc_simple(a, units, f);
	if (size >= FAMFS_REGION)
		return alloc_large(a, size, f);
	return alloc_small_file(a, units, f);
}

uint64_t famfs_alloc_free_bytes(const struct famfs_alloc *a)
{
	return (a->nunits - a->used) * a->unit;
}

uint64_t famfs_alloc_extend(struct famfs_alloc *a, uint64_t off, uint64_t units)
{
	uint64_t u = off / a->unit, end;

	if (off % a->unit || u >= a->nunits)
		return 0;
	end = units < a->nunits - u ? u + units : a->nunits;
	end = find_bit(a, u, end, true);
	mark(a, u, end - u);
	return end - u;
}

int famfs_alloc_run(struct famfs_alloc *a, uint64_t units, uint64_t *off)
{
	uint64_t s;

	if (units == 0 || !first_fit(a, a->hint, a->nunits, units, &s))
		return -ENOSPC;
	mark(a, s, units);
	*off = s * a->unit;
	return 0;
}

void famfs_alloc_unmark_range(struct famfs_alloc *a, uint64_t off, uint64_t len)
{
	clear(a, off / a->unit, len / a->unit);
}

bool famfs_file_pmd_mappable(const struct famfs_file_body *f)
{
	uint32_t n;
	const struct famfs_simple_extent *x = file_extents(f, &n);

	if (n == 0)
		return false;
	if (f->ext_type == FAMFS_EXT_INTERLEAVE && f->ie[0].chunk_size % FAMFS_REGION)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (x[i].offset % FAMFS_REGION)
			return false;
		if (f->ext_type == FAMFS_EXT_SIMPLE && i + 1 < n && x[i].len % FAMFS_REGION)
			return false;
	}
	return true;
}
