/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation bitmap and placement (docs/format.md, "Allocation"): one bit per
 * allocation unit (2 MiB or 4 KiB) of the device, built from the log. Units
 * of the superblock and log are set from the start; each FILE extent or strip
 * sets its units; a unit set twice is a collision. Nothing is ever freed on
 * the media: unmark exists only to undo an allocation whose log append failed
 * and for a server's pending files, which were never logged.
 *
 * With 4 KiB units the device is also seen as 2 MiB *regions* (PMD_SIZE on
 * x86-64), with a count of used units per region, and files are placed by
 * size (docs/design.md, "Allocation units"):
 *   - under 2 MiB: 4 KiB-granular runs packed into partly used regions
 *     (first fit inside one region), else the start of a free region;
 *   - 2 MiB or more: extents of wholly free regions, 2 MiB-aligned, each a
 *     multiple of 2 MiB except the last, which ends at the size rounded up
 *     to 4 KiB (its region's rest is packed by small files later). So every
 *     2 MiB of the file but the tail can be mapped with one PMD fault;
 *   - striped: strips of whole chunks, each starting 2 MiB-aligned.
 * With 2 MiB units a region is a unit and every function behaves as the
 * plain first-fit allocator of the existing tools.
 */
#ifndef FAMFS_ALLOC_H
#define FAMFS_ALLOC_H

#include <stdbool.h>

#include "format.h"

#define FAMFS_REGION 0x200000ULL /* 2 MiB: what one PMD fault maps */

struct famfs_alloc {
	uint64_t unit;	 /* allocation unit, bytes */
	uint64_t nunits; /* units on the device (partial last unit ignored) */
	uint64_t used;	 /* units set */
	uint64_t hint;	 /* every unit below it is set */
	uint32_t rotor;	 /* first bucket tried by the next striped allocation */
	uint64_t *bits;
	/* Regions (2 MiB): region_units units each; with 2 MiB units 1. */
	uint32_t region_units;
	uint64_t nregions;     /* whole regions on the device (what large files use) */
	uint16_t *region_used; /* units set per region (NULL with 2 MiB units) */
	uint64_t free_hint;    /* every whole region below it has a unit set */
	/*
	 * Region bitmaps, one bit per region (the partial last one included),
	 * kept by every mark and clear so that placement skips 64 regions per
	 * word instead of visiting each (NULL with 2 MiB units):
	 */
	uint64_t *region_inuse; /* at least one unit set */
	uint64_t *region_part;	/* partly used: some units set, some free */
	uint64_t *region_room;	/* in use, and >= 64 KiB free after its last set unit */
};

/* Interleaved ("striped") allocation parameters. */
struct famfs_stripe {
	uint32_t nbuckets;   /* equal parts of the device, <= 64 */
	uint32_t nstrips;    /* strips per file, <= nbuckets and <= 16 */
	uint64_t chunk_size; /* bytes: a power of two, a multiple of the unit */
};

/**
 * famfs_alloc_init() - empty bitmap for a device of @devsize bytes with
 * @unit-byte units (2 MiB or 4 KiB; any power of two dividing 2 MiB works);
 * units covering [0, @meta_end) are set. Returns 0, -EINVAL (unit 0, not a
 * power of two, or meta_end past the device) or -ENOMEM.
 */
int famfs_alloc_init(struct famfs_alloc *a, uint64_t devsize, uint64_t meta_end, uint64_t unit);
void famfs_alloc_destroy(struct famfs_alloc *a);

/** famfs_alloc_packs() - are small files packed (units smaller than a 2 MiB region)? */
static inline bool famfs_alloc_packs(const struct famfs_alloc *a)
{
	return a->region_units > 1;
}

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
 * units were free and are now set. Cost: one word test per 64 units.
 */
int famfs_alloc_claim_file(struct famfs_alloc *a, const struct famfs_file_body *f, uint32_t *bad,
			   bool *self);

/** famfs_alloc_unmark_file() - clear what famfs_alloc_file() set for @f (append failed). */
void famfs_alloc_unmark_file(struct famfs_alloc *a, const struct famfs_file_body *f);

/**
 * famfs_alloc_file() - find space for a file of @size bytes and describe it
 * in @f (ext_type, nextents, extents); the units are marked.
 *
 * 2 MiB units, without @stripe (or when @size is under one chunk): first
 * fit, one contiguous extent of @size rounded up to the unit (a 0-byte file
 * still gets one unit, so every file has a valid fmap); if no run is long
 * enough, up to 16 first-fit extents.
 * 4 KiB units: placed by size as described at the top of this header; a
 * file of 2 MiB or more that finds no wholly free regions gets -ENOSPC even
 * when partly used regions still have room (they take smaller files).
 * With @stripe: one interleaved extent of nstrips strips, each
 * ceil(size / (nstrips * chunk)) chunks long, first fit inside distinct
 * buckets, each strip 2 MiB-aligned. Returns 0, -ENOSPC (device full or too
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

/*
 * Growing files whose size is not known yet (a server's pending files,
 * docs/design.md "Pending files and commit"). With 2 MiB units these are
 * famfs_alloc_run()/famfs_alloc_extend().
 */

/**
 * famfs_alloc_start() - the first unit of a file that grows as it is
 * written: with 4 KiB units, where a small file can grow in place: the free
 * tail (at least 64 KiB) of a partly used region, else the start of a free
 * region, else any free unit. Returns 0 (device offset in *@off) or -ENOSPC.
 */
int famfs_alloc_start(struct famfs_alloc *a, uint64_t *off);

/**
 * famfs_alloc_small() - @units (fewer than one region's) for a file under
 * 2 MiB: first fit inside one partly used region, else the start of a free
 * region, else any run. Returns 0 (device offset in *@off) or -ENOSPC.
 */
int famfs_alloc_small(struct famfs_alloc *a, uint64_t units, uint64_t *off);

/**
 * famfs_alloc_regions() - the first run of @n wholly free 2 MiB regions:
 * marks them whole and returns the 2 MiB-aligned device offset in *@off.
 * Returns 0 or -ENOSPC.
 */
int famfs_alloc_regions(struct famfs_alloc *a, uint64_t n, uint64_t *off);

/**
 * famfs_alloc_extend_regions() - extend an extent ending at @off (2 MiB-
 * aligned) in place by up to @n wholly free regions, stopping at the first
 * region that is not wholly free. Returns the regions marked.
 */
uint64_t famfs_alloc_extend_regions(struct famfs_alloc *a, uint64_t off, uint64_t n);

/** famfs_alloc_unmark_range() - clear the units of [@off, @off+@len) (never-logged space). */
void famfs_alloc_unmark_range(struct famfs_alloc *a, uint64_t off, uint64_t len);

/** famfs_alloc_free_bytes() - bytes in units not set. */
uint64_t famfs_alloc_free_bytes(const struct famfs_alloc *a);

/** famfs_alloc_test() - is unit @u set? */
int famfs_alloc_test(const struct famfs_alloc *a, uint64_t u);

/**
 * famfs_file_pmd_mappable() - does the FILE body @f follow the large-file
 * rule: every extent (or strip) starts 2 MiB-aligned and every one but the
 * last is a multiple of 2 MiB long (striped: whole 2 MiB-multiple chunks)?
 * Then the kernel can map all of the file but its tail with PMD faults.
 */
bool famfs_file_pmd_mappable(const struct famfs_file_body *f);

#endif
