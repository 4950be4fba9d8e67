// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define WORD_BITS 64

int famfs_alloc_test(const struct famfs_alloc *a, uint64_t u)
{
	return (a->bits[u / WORD_BITS] >> (u % WORD_BITS)) & 1;
}

static bool set_unit(struct famfs_alloc *a, uint64_t u)
{
	uint64_t m = 1ULL << (u % WORD_BITS);
	bool was = a->bits[u / WORD_BITS] & m;

	a->bits[u / WORD_BITS] |= m;
	if (!was)
		a->used++;
	return was;
}

static void clear_unit(struct famfs_alloc *a, uint64_t u)
{
	uint64_t m = 1ULL << (u % WORD_BITS);

	if (a->bits[u / WORD_BITS] & m) {
		a->bits[u / WORD_BITS] &= ~m;
		a->used--;
		if (u < a->hint)
			a->hint = u;
	}
}

/* Set units [u, u+n); returns how many were set already. */
static uint64_t mark(struct famfs_alloc *a, uint64_t u, uint64_t n)
{
	uint64_t dup = 0;

	for (uint64_t i = u; i < u + n && i < a->nunits; i++)
		dup += set_unit(a, i);
	while (a->hint < a->nunits && famfs_alloc_test(a, a->hint))
		a->hint++;
	return dup;
}

int famfs_alloc_init(struct famfs_alloc *a, uint64_t devsize, uint64_t meta_end, uint64_t unit)
{
	memset(a, 0, sizeof(*a));
	if (unit == 0 || meta_end > devsize)
		return -EINVAL;
	a->unit = unit;
	a->nunits = devsize / unit;
	a->bits = calloc((a->nunits + WORD_BITS - 1) / WORD_BITS + 1, sizeof(uint64_t));
	if (!a->bits)
		return -ENOMEM;
	mark(a, 0, (meta_end + unit - 1) / unit);
	return 0;
}

void famfs_alloc_destroy(struct famfs_alloc *a)
{
	free(a->bits);
	a->bits = NULL;
}

static void each_extent(const struct famfs_file_body *f,
			void (*fn)(struct famfs_alloc *, const struct famfs_simple_extent *,
				   void *),
			struct famfs_alloc *a, void *arg)
{
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t i = 0; i < f->nextents && i < FAMFS_MAX_SIMPLE_EXTENTS; i++)
			fn(a, &f->se[i], arg);
	} else if (f->ext_type == FAMFS_EXT_INTERLEAVE && f->nextents == 1) {
		for (uint64_t s = 0; s < f->ie[0].nstrips && s < FAMFS_MAX_STRIPS; s++)
			fn(a, &f->ie[0].strips[s], arg);
	}
}

static void mark_one(struct famfs_alloc *a, const struct famfs_simple_extent *x, void *arg)
{
	*(uint64_t *)arg += mark(a, x->offset / a->unit, x->len / a->unit);
}

static void unmark_one(struct famfs_alloc *a, const struct famfs_simple_extent *x, void *arg)
{
	(void)arg;
	for (uint64_t u = x->offset / a->unit; u < (x->offset + x->len) / a->unit; u++)
		if (u < a->nunits)
			clear_unit(a, u);
}

uint64_t famfs_alloc_mark_file(struct famfs_alloc *a, const struct famfs_file_body *f)
{
	uint64_t dup = 0;

	each_extent(f, mark_one, a, &dup);
	return dup;
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
	*n = f->nextents <= FAMFS_MAX_SIMPLE_EXTENTS ? f->nextents : 0;
	return f->se;
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
		for (uint64_t u = u0; u < u1 && u < a->nunits; u++) {
			if (famfs_alloc_test(a, u)) {
				*bad = i;
				*self = false;
				return -EEXIST;
			}
		}
	}
	for (uint32_t i = 0; i < n; i++)
		mark(a, x[i].offset / a->unit, x[i].len / a->unit);
	return 0;
}

void famfs_alloc_unmark_file(struct famfs_alloc *a, const struct famfs_file_body *f)
{
	each_extent(f, unmark_one, a, NULL);
}

/*
 * First free run in [from, to): returns its start and length (capped at
 * @want) or false if there is none.
 */
static bool next_run(const struct famfs_alloc *a, uint64_t from, uint64_t to, uint64_t want,
		     uint64_t *start, uint64_t *len)
{
	uint64_t u = from, n;

	while (u < to) {
		if (a->bits[u / WORD_BITS] == ~0ULL && u % WORD_BITS == 0) {
			u += WORD_BITS;
			continue;
		}
		if (famfs_alloc_test(a, u)) {
			u++;
			continue;
		}
		for (n = 0; u + n < to && n < want && !famfs_alloc_test(a, u + n); n++)
			;
		*start = u;
		*len = n;
		return true;
	}
	return false;
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

static int alloc_striped(struct famfs_alloc *a, uint64_t size, const struct famfs_stripe *st,
			 struct famfs_file_body *f)
{
	struct famfs_interleave_extent *ie = &f->ie[0];
	uint64_t per_stripe = st->chunk_size * st->nstrips;
	uint64_t strip_units = (size + per_stripe - 1) / per_stripe * (st->chunk_size / a->unit);
	uint64_t bucket_units = a->nunits / st->nbuckets;
	uint32_t found = 0;

	for (uint32_t i = 0; i < st->nbuckets && found < st->nstrips; i++) {
		uint32_t b = (a->rotor + i) % st->nbuckets;
		uint64_t s;

		if (first_fit(a, b * bucket_units, (b + 1) * bucket_units, strip_units, &s))
			ie->strips[found++] =
			    (struct famfs_simple_extent){0, s * a->unit, strip_units * a->unit};
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
	return alloc_simple(a, units, f);
}

uint64_t famfs_alloc_free_bytes(const struct famfs_alloc *a)
{
	return (a->nunits - a->used) * a->unit;
}

uint64_t famfs_alloc_extend(struct famfs_alloc *a, uint64_t off, uint64_t units)
{
	uint64_t u = off / a->unit, n = 0;

	if (off % a->unit)
		return 0;
	while (n < units && u + n < a->nunits && !famfs_alloc_test(a, u + n))
		n++;
	mark(a, u, n);
	return n;
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
	struct famfs_simple_extent x = {0, off, len};

	unmark_one(a, &x, NULL);
}
