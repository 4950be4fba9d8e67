/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation bitmap (docs/format.md, "Allocation"): one bit per allocation
 * unit (2 MiB) of the device, built from the log. Units of the superblock and
 * log are set from the start; each FILE extent or strip sets its units; a unit
 * set twice is a collision. Nothing is ever freed on the media: unmark exists
 * only to undo an allocation whose log append failed.
 */
#ifndef FAMFS_ALLOC_H
#define FAMFS_ALLOC_H

#include <stdbool.h>

#include "format.h"

struct famfs_alloc {
	uint64_t unit;	 /* allocation unit, bytes */
	uint64_t nunits; /* units on the device (partial last unit ignored) */
	uint64_t used;	 /* units set */
	uint64_t hint;	 /* every unit below it is set */
	uint32_t rotor;	 /* first bucket tried by the next striped allocation */
	uint64_t *bits;
};

/* Interleaved ("striped") allocation parameters. */
struct famfs_stripe {
	uint32_t nbuckets;   /* equal parts of the device, <= 64 */
	uint32_t nstrips;    /* strips per file, <= nbuckets and <= 16 */
	uint64_t chunk_size; /* bytes: a power of two, a multiple of the unit */
};

/**
 * famfs_alloc_init() - empty bitmap for a device of @devsize bytes with
 * @unit-byte units; units covering [0, @meta_end) are set. Returns 0,
 * -EINVAL (unit 0 or meta_end past the device) or -ENOMEM.
 */
int famfs_alloc_init(struct famfs_alloc *a, uint64_t devsize, uint64_t meta_end, uint64_t unit);
void famfs_alloc_destroy(struct famfs_alloc *a);

/**
 * famfs_alloc_mark_file() - set the units of every extent or strip of a FILE
 * body that passed famfs_entry_check(). Returns how many of them were set
 * already (collisions; 0 when the file overlaps nothing).
 */
uint64_t famfs_alloc_mark_file(struct famfs_alloc *a, const struct famfs_file_body *f);

/**
 * famfs_alloc_claim_file() - the overlap rule, shared by replay and fsck:
 * take the units of every extent or strip of a FILE body that passed
 * famfs_entry_check(), all or nothing. If one of them is already set, or two
 * of the file's own extents overlap, nothing is set and -EEXIST is returned
 * with the index of the first offending extent in *@bad and, in *@self,
 * whether it overlaps an earlier extent of the same file. Returns 0 when the
 * units were free and are now set. Cost: one bit test per unit.
 */
int famfs_alloc_claim_file(struct famfs_alloc *a, const struct famfs_file_body *f, uint32_t *bad,
			   bool *self);

/** famfs_alloc_unmark_file() - clear what famfs_alloc_file() set for @f (append failed). */
void famfs_alloc_unmark_file(struct famfs_alloc *a, const struct famfs_file_body *f);

/**
 * famfs_alloc_file() - find space for a file of @size bytes and describe it
 * in @f (ext_type, nextents, extents); the units are marked.
 *
 * Without @stripe (or when @size is under one chunk): first fit, one
 * contiguous extent of @size rounded up to the unit (a 0-byte file still
 * gets one unit, so every file has a valid fmap); if no run is long enough,
 * up to 16 first-fit extents. With @stripe: one interleaved extent of
 * nstrips strips, each ceil(size / (nstrips * chunk)) chunks long, first fit
 * inside distinct buckets. Returns 0, -ENOSPC (device full or too
 * fragmented) or -EINVAL (bad stripe parameters).
 */
int famfs_alloc_file(struct famfs_alloc *a, uint64_t size, const struct famfs_stripe *stripe,
		     struct famfs_file_body *f);

/**
 * famfs_alloc_extend() - mark up to @units free units starting at device
 * offset @off (unit-aligned), stopping at the first unit already set: how a
 * growing file extends its last extent in place. Returns the units marked.
 */
uint64_t famfs_alloc_extend(struct famfs_alloc *a, uint64_t off, uint64_t units);

/**
 * famfs_alloc_run() - mark the first run of exactly @units free units and
 * return its device offset in *@off. Returns 0 or -ENOSPC.
 */
int famfs_alloc_run(struct famfs_alloc *a, uint64_t units, uint64_t *off);

/** famfs_alloc_unmark_range() - clear the units of [@off, @off+@len) (never-logged space). */
void famfs_alloc_unmark_range(struct famfs_alloc *a, uint64_t off, uint64_t len);

/** famfs_alloc_free_bytes() - bytes in units not set. */
uint64_t famfs_alloc_free_bytes(const struct famfs_alloc *a);

/** famfs_alloc_test() - is unit @u set? */
int famfs_alloc_test(const struct famfs_alloc *a, uint64_t u);

#endif
