/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device table of a file system, as its log describes it: device 0 is
 * the primary (superblock and log), device N the one its ADD_DAXDEV entry
 * with index N added (docs/format.md, "Several devices"). The same on every
 * host: which local device carries a uuid is resolve.h's question, which
 * devices an opener has open is devset.h's.
 *
 * The ADD_DAXDEV rules live here and only here (replay and fsck both reach
 * them through famfs_apply_entry()): indices dense from 1 in log order,
 * each entry's uuid new to the file system (the primary's included), at
 * most FAMFS_MAX_DAXDEVS devices; each violation its own problem code.
 *
 * Each device has its own allocation bitmap (alloc.h), so extents are
 * claimed, checked for overlap and allocated per device; the placement
 * policy for several devices is famfs_devtab_alloc_file()'s.
 */
#ifndef FAMFS_DEVTAB_H
#define FAMFS_DEVTAB_H

#include <stdbool.h>

#include "alloc.h"
#include "entry.h"
#include "format.h"
#include "problem.h"

struct famfs_devtab_dev {
	uint8_t uuid[FAMFS_UUID_LEN]; /* device uuid (the primary's: its superblock's) */
	uint64_t size;		      /* capacity, bytes: superblock (0) or ADD_DAXDEV entry */
	uint64_t meta_end;	      /* first data byte: 2 MiB + log_len (0), 2 MiB (others) */
	int64_t log_index;	      /* slot of its ADD_DAXDEV entry; -1 for the primary */
	struct famfs_alloc *alloc;    /* its bitmap; [0] is the owner's, the others ours */
};

/*
 * The real size of the device an ADD_DAXDEV body names, on this host:
 * 0 (*@size set) or -errno when it cannot be found. devset.h has the
 * resolving one (famfs_devtab_real_size()).
 */
typedef int (*famfs_devtab_size_fn)(void *arg, const struct famfs_daxdev_body *d, uint64_t *size);

struct famfs_devtab {
	uint32_t ndevs; /* 0 until seeded; then 1 + the ADD_DAXDEV entries applied */
	struct famfs_devtab_dev dev[FAMFS_MAX_DAXDEVS];
	/* When set, a secondary's bitmap covers at most the size it gives:
	 * never more memory than the real device needs, whatever its entry
	 * claims (kept by famfs_devtab_seed()). */
	famfs_devtab_size_fn real_size;
	void *real_size_arg;
};

/**
 * famfs_daxdev_entry_check() - the checks of one ADD_DAXDEV body alone:
 * index not 0 (the primary's), uuid not all zero, size within
 * [FAMFS_DAXDEV_SIZE_MIN, FAMFS_DAXDEV_SIZE_MAX] (ENT_DAXDEV for each, at
 * slot @index). Returns the number of problems reported to @c.
 */
unsigned int famfs_daxdev_entry_check(const struct famfs_daxdev_body *d, int64_t index,
				      struct famfs_checker *c);

/**
 * famfs_devtab_seed() - start @t with the primary alone: uuid, capacity and
 * data start from @g, bitmap @alloc0 (owned by the caller, who keeps it
 * alive as long as @t). Later ADD_DAXDEV entries add the others.
 */
void famfs_devtab_seed(struct famfs_devtab *t, const struct famfs_geom *g,
		       struct famfs_alloc *alloc0);

/**
 * famfs_devtab_add() - apply a checked ADD_DAXDEV body from slot @index: the
 * table must have room (ENT_DAXDEV_FULL), its index must be the next one
 * (ENT_DAXDEV_ORDER) and its uuid new (ENT_DAXDEV_DUP: another device of the
 * file system, named with its index). The new device gets an empty bitmap
 * of @unit-byte units over its size, its first 2 MiB (its superblock) set.
 * Returns 0, -EINVAL after reporting the problem to @c (nothing changed), or
 * -ENOMEM (nothing changed).
 */
int famfs_devtab_add(struct famfs_devtab *t, const struct famfs_daxdev_body *d, uint64_t index,
		     uint64_t unit, struct famfs_checker *c);

/**
 * famfs_devtab_drop_last() - undo the last famfs_devtab_add() (an append of
 * its entry failed, or its device could not be opened): the table is as
 * before it. Never drops the primary.
 */
void famfs_devtab_drop_last(struct famfs_devtab *t);

/** famfs_devtab_release() - free the bitmaps of devices 1 and up; @t is empty after. */
void famfs_devtab_release(struct famfs_devtab *t);

/** famfs_file_devices() - bit N set for each device N an extent or strip of @f names (N < 32). */
uint32_t famfs_file_devices(const struct famfs_file_body *f);

/**
 * famfs_devtab_claim_file() - famfs_alloc_claim_file() over the devices:
 * each extent or strip of a checked FILE body (devindex below t->ndevs)
 * takes its units in its own device's bitmap, all or nothing across the
 * devices. On -EEXIST, *@bad is the first offending extent (index in @f)
 * and *@self says whether it overlaps an earlier extent of the same file on
 * the same device. A file wholly on device 0 is exactly
 * famfs_alloc_claim_file() on device 0's bitmap.
 */
int famfs_devtab_claim_file(struct famfs_devtab *t, const struct famfs_file_body *f, uint32_t *bad,
			    bool *self);

/** famfs_devtab_unmark_file() - clear what an allocation or claim of @f set, device by device. */
void famfs_devtab_unmark_file(struct famfs_devtab *t, const struct famfs_file_body *f);

/**
 * famfs_devtab_alloc_file() - find space for a file of @size bytes on the
 * devices of @mask (bit N: device N may take data; the others are not
 * open here or read-only) and describe it in @f with each extent's
 * devindex; the units are marked. The policy (docs/format.md, "Several
 * devices"):
 *  - @mask names device 0 alone: exactly famfs_alloc_file() on device 0;
 *  - a plain file (or one smaller than a chunk) lies on one device: the one
 *    with the most free bytes (ties: the lower index), then the others in
 *    that order when it gets -ENOSPC;
 *  - a striped file (@stripe, @size at least one chunk) puts each of its
 *    nstrips strips on a distinct device, the devices with the most free
 *    bytes first (one whose strip does not fit is passed over); nbuckets
 *    is not used. nstrips above the number of devices in @mask: -EINVAL.
 * Returns 0, -ENOSPC (nothing marked) or -EINVAL (bad stripe parameters).
 */
int famfs_devtab_alloc_file(struct famfs_devtab *t, uint32_t mask, uint64_t size,
			    const struct famfs_stripe *stripe, struct famfs_file_body *f);

/** famfs_devtab_used_bytes() - bytes in units set on device @i (its superblock/log included). */
uint64_t famfs_devtab_used_bytes(const struct famfs_devtab *t, uint32_t i);

/** famfs_devtab_capacity() - bytes of every device's allocation units together. */
uint64_t famfs_devtab_capacity(const struct famfs_devtab *t);

#endif
