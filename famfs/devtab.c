// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "devtab.h"

static bool uuid_zero(const uint8_t u[FAMFS_UUID_LEN])
{
	static const uint8_t zero[FAMFS_UUID_LEN];

	return !memcmp(u, zero, FAMFS_UUID_LEN);
}

unsigned int famfs_daxdev_entry_check(const struct famfs_daxdev_body *d, int64_t index,
				      struct famfs_checker *c)
{
	unsigned int n = 0;

	if (d->index == 0) {
		famfs_report(c, FAMFS_P_ENT_DAXDEV, index, "index 0 (the primary's; added from 1)");
		n++;
	}
	if (uuid_zero(d->uuid)) {
		famfs_report(c, FAMFS_P_ENT_DAXDEV, index, "index %u: uuid all zero", d->index);
		n++;
	}
	if (d->size < FAMFS_DAXDEV_SIZE_MIN || d->size > FAMFS_DAXDEV_SIZE_MAX) {
		famfs_report(c, FAMFS_P_ENT_DAXDEV, index,
			     "index %u: size %" PRIu64 ", allowed %llu to %llu", d->index, d->size,
			     FAMFS_DAXDEV_SIZE_MIN, FAMFS_DAXDEV_SIZE_MAX);
		n++;
	}
	return n;
}

void famfs_devtab_seed(struct famfs_devtab *t, const struct famfs_geom *g,
		       struct famfs_alloc *alloc0)
{
	famfs_devtab_size_fn fn = t->real_size;
	void *arg = t->real_size_arg;

	memset(t, 0, sizeof(*t));
	t->real_size = fn;
	t->real_size_arg = arg;
	t->ndevs = 1;
	memcpy(t->dev[0].uuid, g->dev_uuid, FAMFS_UUID_LEN);
	t->dev[0].size = g->devsize;
	t->dev[0].meta_end = g->meta_end;
	t->dev[0].log_index = -1;
	t->dev[0].alloc = alloc0;
}

int famfs_devtab_add(struct famfs_devtab *t, const struct famfs_daxdev_body *d, uint64_t index,
		     uint64_t unit, struct famfs_checker *c)
{
	int64_t ix = (int64_t)index;
	struct famfs_devtab_dev *n;
	char u[UUID_STR_LEN];
	uint64_t bitmap = d->size, real;
	int rc;

	uuid_unparse(d->uuid, u);
	if (t->ndevs >= FAMFS_MAX_DAXDEVS) {
		famfs_report(c, FAMFS_P_ENT_DAXDEV_FULL, ix,
			     "index %u, uuid %s: the table holds %d devices (indices 0 to %d)",
			     d->index, u, FAMFS_MAX_DAXDEVS, FAMFS_MAX_DAXDEVS - 1);
		return -EINVAL;
	}
	if (d->index != t->ndevs) {
		famfs_report(c, FAMFS_P_ENT_DAXDEV_ORDER, ix,
			     "index %u, expected %u (dense, in log order, from 1)", d->index,
			     t->ndevs);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < t->ndevs; i++) {
		if (memcmp(t->dev[i].uuid, d->uuid, FAMFS_UUID_LEN))
			continue;
		if (i == 0)
			famfs_report(c, FAMFS_P_ENT_DAXDEV_DUP, ix,
				     "index %u, uuid %s: the primary's device uuid", d->index, u);
		else
			famfs_report(c, FAMFS_P_ENT_DAXDEV_DUP, ix,
				     "index %u, uuid %s: already device %u (entry %" PRId64 ")",
				     d->index, u, i, t->dev[i].log_index);
		return -EINVAL;
	}
	n = &t->dev[t->ndevs];
	n->alloc = calloc(1, sizeof(*n->alloc));
	if (!n->alloc)
		return -ENOMEM;
	/* A crafted entry may claim up to 1 PiB: the bitmap covers no more than
	 * the device this host has (an extent past its end is not claimable;
	 * the device is DEV_SIZE anyway). */
	if (t->real_size && t->real_size(t->real_size_arg, d, &real) == 0 && real < bitmap)
		bitmap = real > FAMFS_SECONDARY_META_END ? real : FAMFS_SECONDARY_META_END + unit;
	rc = famfs_alloc_init(n->alloc, bitmap, FAMFS_SECONDARY_META_END, unit);
	if (rc) {
		free(n->alloc);
		n->alloc = NULL;
		return rc == -EINVAL ? -ENOMEM : rc; /* sizes were checked: only memory is left */
	}
	memcpy(n->uuid, d->uuid, FAMFS_UUID_LEN);
	n->size = d->size;
	n->meta_end = FAMFS_SECONDARY_META_END;
	n->log_index = ix;
	t->ndevs++;
	return 0;
}

void famfs_devtab_drop_last(struct famfs_devtab *t)
{
	struct famfs_devtab_dev *d;

	if (t->ndevs <= 1)
		return;
	d = &t->dev[--t->ndevs];
	if (d->alloc) {
		famfs_alloc_destroy(d->alloc);
		free(d->alloc);
	}
	memset(d, 0, sizeof(*d));
}

void famfs_devtab_release(struct famfs_devtab *t)
{
	for (uint32_t i = 1; i < t->ndevs && i < FAMFS_MAX_DAXDEVS; i++) {
		if (!t->dev[i].alloc)
			continue;
		famfs_alloc_destroy(t->dev[i].alloc);
		free(t->dev[i].alloc);
	}
	memset(t, 0, sizeof(*t));
}

/* The extents (simple) or strips (interleaved) of a FILE body, and how many. */
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

uint32_t famfs_file_devices(const struct famfs_file_body *f)
{
	const struct famfs_simple_extent *x;
	uint32_t n, mask = 0;

	x = file_extents(f, &n);
	for (uint32_t i = 0; i < n; i++)
		if (x[i].devindex < 32)
			mask |= 1U << x[i].devindex;
	return mask;
}

/*
 * The extents of @f on device @d as a simple body of their own (at most 16:
 * a file has no more extents or strips), and where each came from in @f.
 */
static void device_part(const struct famfs_file_body *f, uint32_t d, struct famfs_file_body *part,
			uint32_t map[FAMFS_MAX_SIMPLE_EXTENTS])
{
	const struct famfs_simple_extent *x;
	uint32_t n, k = 0;

	memset(part, 0, sizeof(*part));
	part->ext_type = FAMFS_EXT_SIMPLE;
	x = file_extents(f, &n);
	for (uint32_t i = 0; i < n && k < FAMFS_MAX_SIMPLE_EXTENTS; i++) {
		if (x[i].devindex != d)
			continue;
		part->se[k] = x[i];
		map[k++] = i;
	}
	part->nextents = k;
}

int famfs_devtab_claim_file(struct famfs_devtab *t, const struct famfs_file_body *f, uint32_t *bad,
			    bool *self)
{
	uint32_t mask = famfs_file_devices(f), done = 0, map[FAMFS_MAX_SIMPLE_EXTENTS];
	struct famfs_file_body part;
	int rc;

	if (mask <= 1)
		return famfs_alloc_claim_file(t->dev[0].alloc, f, bad, self);
	for (uint32_t d = 0; d < t->ndevs; d++) {
		uint32_t b;

		if (!(mask & (1U << d)))
			continue;
		device_part(f, d, &part, map);
		rc = famfs_alloc_claim_file(t->dev[d].alloc, &part, &b, self);
		if (rc) {
			*bad = map[b];
			for (uint32_t u = 0; u < d; u++) {
				if (!(done & (1U << u)))
					continue;
				device_part(f, u, &part, map);
				famfs_alloc_unmark_file(t->dev[u].alloc, &part);
			}
			return rc;
		}
		done |= 1U << d;
	}
	return 0;
}

void famfs_devtab_unmark_file(struct famfs_devtab *t, const struct famfs_file_body *f)
{
	uint32_t mask = famfs_file_devices(f), map[FAMFS_MAX_SIMPLE_EXTENTS];
	struct famfs_file_body part;

	if (mask <= 1) {
		famfs_alloc_unmark_file(t->dev[0].alloc, f);
		return;
	}
	for (uint32_t d = 0; d < t->ndevs; d++) {
		if (!(mask & (1U << d)))
			continue;
		device_part(f, d, &part, map);
		famfs_alloc_unmark_file(t->dev[d].alloc, &part);
	}
}

/* The devices of @mask, most free bytes first (ties: lower index first). */
static uint32_t by_free_space(const struct famfs_devtab *t, uint32_t mask,
			      uint32_t order[FAMFS_MAX_DAXDEVS])
{
	uint64_t freeb[FAMFS_MAX_DAXDEVS];
	uint32_t n = 0;

	for (uint32_t d = 0; d < t->ndevs; d++) {
		uint32_t i;

		if (!(mask & (1U << d)))
			continue;
		freeb[d] = famfs_alloc_free_bytes(t->dev[d].alloc);
		for (i = n; i > 0 && freeb[order[i - 1]] < freeb[d]; i--)
			order[i] = order[i - 1];
		order[i] = d;
		n++;
	}
	return n;
}

static void set_devindex(struct famfs_file_body *f, uint32_t d)
{
	uint32_t n;
	struct famfs_simple_extent *x = (struct famfs_simple_extent *)file_extents(f, &n);

	for (uint32_t i = 0; i < n; i++)
		x[i].devindex = d;
}

/* One strip per device: the devices with the most free space that can hold one. */
static int alloc_across(struct famfs_devtab *t, const uint32_t *order, uint32_t ndev, uint64_t size,
			const struct famfs_stripe *st, struct famfs_file_body *f)
{
	const struct famfs_stripe one = {.nbuckets = 1, .nstrips = 1, .chunk_size = st->chunk_size};
	uint64_t per_stripe = st->chunk_size * st->nstrips;
	uint64_t strip_bytes = (size + per_stripe - 1) / per_stripe * st->chunk_size;
	struct famfs_interleave_extent *ie = &f->ie[0];
	uint32_t found = 0;
	int rc = -ENOSPC;

	for (uint32_t i = 0; i < ndev && found < st->nstrips; i++) {
		struct famfs_file_body tmp;

		memset(&tmp, 0, sizeof(tmp));
		rc = famfs_alloc_file(t->dev[order[i]].alloc, strip_bytes, &one, &tmp);
		if (rc == -ENOSPC)
			continue;
		if (rc)
			break;
		ie->strips[found] = tmp.ie[0].strips[0];
		ie->strips[found].devindex = order[i];
		found++;
	}
	if (found < st->nstrips) {
		for (uint32_t s = 0; s < found; s++)
			famfs_alloc_unmark_range(t->dev[ie->strips[s].devindex].alloc,
						 ie->strips[s].offset, ie->strips[s].len);
		memset(ie, 0, sizeof(*ie));
		return rc && rc != -ENOSPC ? rc : -ENOSPC;
	}
	f->ext_type = FAMFS_EXT_INTERLEAVE;
	f->nextents = 1;
	ie->nstrips = st->nstrips;
	ie->chunk_size = st->chunk_size;
	return 0;
}

int famfs_devtab_alloc_file(struct famfs_devtab *t, uint32_t mask, uint64_t size,
			    const struct famfs_stripe *stripe, struct famfs_file_body *f)
{
	uint32_t order[FAMFS_MAX_DAXDEVS], ndev;
	int rc = -ENOSPC;

	if (t->ndevs < FAMFS_MAX_DAXDEVS)
		mask &= (1U << t->ndevs) - 1;
	if (mask == 1)
		return famfs_alloc_file(t->dev[0].alloc, size, stripe, f);
	ndev = by_free_space(t, mask, order);
	if (ndev == 0)
		return -ENOSPC;
	if (stripe) {
		const struct famfs_stripe *st = stripe;
		uint64_t unit = t->dev[order[0]].alloc->unit;

		if (st->nstrips == 0 || st->nstrips > FAMFS_MAX_STRIPS || st->nstrips > ndev ||
		    st->chunk_size < unit || st->chunk_size % unit ||
		    (st->chunk_size & (st->chunk_size - 1)))
			return -EINVAL;
		if (size >= st->chunk_size)
			return alloc_across(t, order, ndev, size, st, f);
	}
	for (uint32_t i = 0; i < ndev; i++) {
		rc = famfs_alloc_file(t->dev[order[i]].alloc, size, NULL, f);
		if (rc == 0) {
			set_devindex(f, order[i]);
			return 0;
		}
		if (rc != -ENOSPC)
			return rc;
	}
	return rc;
}

uint64_t famfs_devtab_used_bytes(const struct famfs_devtab *t, uint32_t i)
{
	const struct famfs_alloc *a = t->dev[i].alloc;

	return a ? a->used * a->unit : 0;
}

uint64_t famfs_devtab_capacity(const struct famfs_devtab *t)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < t->ndevs; i++)
		if (t->dev[i].alloc)
			sum += t->dev[i].alloc->nunits * t->dev[i].alloc->unit;
	return sum;
}
