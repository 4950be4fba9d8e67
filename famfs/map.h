/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A logged file's extents in compact form: what the namespace keeps of each
 * FILE entry (docs/design.md, "Namespace memory"), instead of the entry's
 * 520-byte body. One simple extent costs 24 bytes: an 8-byte header and two
 * words, the offset with the extent's device index in its low 12 bits (the
 * offset of a checked extent is a multiple of the allocation unit, at least
 * 4 KiB) and the length. Extents that do not pack so (an unaligned offset or
 * a device index of 4096 or more) are kept whole, three words each: every
 * extent's device index is kept either way.
 */
#ifndef FAMFS_MAP_H
#define FAMFS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct famfs_map {
	uint32_t flags;	  /* the FILE entry's flags (FAMFS_FILE_FLAG_*) */
	uint8_t ext_type; /* enum famfs_fmap_ext_type */
	uint8_t n;	  /* simple extents, or strips of the interleaved extent: 1..16 */
	uint8_t wide; /* x[] holds offset, len, devindex per extent; else offset|devindex, len */
	uint8_t chunk_shift; /* interleaved: chunk_size is 1 << chunk_shift */
	uint64_t x[];
};

/* Largest map: 16 wide extents. */
#define FAMFS_MAP_MAX (sizeof(struct famfs_map) + FAMFS_MAX_SIMPLE_EXTENTS * 3 * sizeof(uint64_t))

/**
 * famfs_map_size() - bytes famfs_map_encode() needs for the FILE body @f
 * (a multiple of 8, at most FAMFS_MAP_MAX), or 0 if @f has no extents to
 * keep (nextents 0 or over 16, nstrips 0 or over 16, an unknown ext_type,
 * or an interleaved chunk that is not a power of two).
 */
size_t famfs_map_size(const struct famfs_file_body *f);

/**
 * famfs_map_encode() - write the compact form of @f into @m, which holds
 * famfs_map_size(@f) bytes (8-byte aligned). @f must have a non-zero
 * famfs_map_size().
 */
void famfs_map_encode(const struct famfs_file_body *f, struct famfs_map *m);

/** famfs_map_extent() - extent (or strip) @i < m->n of @m, whole. */
struct famfs_simple_extent famfs_map_extent(const struct famfs_map *m, unsigned int i);

/** famfs_map_chunk() - the interleave chunk size in bytes (0 for simple maps). */
static inline uint64_t famfs_map_chunk(const struct famfs_map *m)
{
	return m->ext_type == FAMFS_EXT_INTERLEAVE ? 1ULL << m->chunk_shift : 0;
}

/**
 * famfs_map_body() - the extent part of a FILE body from @m: ext_type,
 * nextents, flags and the extents (or the interleaved extent); the other
 * fields of @f (size, owner, path, times) are left as they are. The reverse
 * of famfs_map_encode(): encoding the result gives @m again.
 */
void famfs_map_body(const struct famfs_map *m, struct famfs_file_body *f);

/**
 * famfs_map_capacity() - bytes addressable through @m, as
 * famfs_file_body_capacity() counts them for the body it came from.
 */
uint64_t famfs_map_capacity(const struct famfs_map *m);

#endif
