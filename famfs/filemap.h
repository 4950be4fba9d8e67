/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From log entries to fmaps (fmap/): the maps the server hands the kernel
 * with GET_FMAP and uses for its own data path (docs/protocol.md).
 */
#ifndef FAMFS_FILEMAP_H
#define FAMFS_FILEMAP_H

#include "fmap.h"
#include "format.h"
#include "map.h"

/**
 * famfs_file_body_fmap() - the fmap describing a FILE entry @f of a file system
 * with @alloc_unit-byte units exactly: its simple extents, or its one
 * interleaved extent covering famfs_file_body_capacity(f) bytes; file type
 * regular, file size f->size, align the unit (2 MiB, or 4 KiB: then a
 * kernel that needs 2 MiB-aligned maps cannot take it unless
 * fmap_aligned(m, FMAP_ALIGN)). Not finalized: the caller runs
 * fmap_finalize() (which rejects what no kernel could use). Returns NULL on
 * a bad extent count or unit, or no memory.
 */
struct fmap *famfs_file_body_fmap(const struct famfs_file_body *f, uint64_t alloc_unit);

/**
 * famfs_map_fmap() - the same from the compact map a namespace node keeps
 * of a FILE entry (map.h); the file size is left 0 for the caller (the map
 * does not hold it). NULL on a bad unit or no memory.
 */
struct fmap *famfs_map_fmap(const struct famfs_map *m, uint64_t alloc_unit);

/**
 * famfs_kernel_fmap_align() - the extent alignment (bytes) the kernel that
 * sent the GET_FMAP input @arg of @arglen bytes can map (docs/protocol.md,
 * famfs_kabi.h struct famfs_get_fmap_in): 1 << align_shift for 12..21;
 * 2 MiB for no input (v10 kernels), a short input, align_shift 0 (every
 * kernel before it: the byte was zero padding) or out of range.
 */
uint64_t famfs_kernel_fmap_align(const void *arg, size_t arglen);

/**
 * famfs_kernel_can_map() - may @m be sent to a kernel that maps extents
 * aligned to @kernel_align bytes? True when every offset, len and chunk of
 * @m is a multiple of it. When false the server answers GET_FMAP with
 * ENODATA and serves the file itself (a 4 KiB-unit file for a kernel that
 * needs 2 MiB), never a map the kernel would reject.
 */
bool famfs_kernel_can_map(const struct fmap *m, uint64_t kernel_align);

/**
 * famfs_meta_fmap() - the fmap of a metadata file: FMAP_FILE_SUPERBLOCK
 * (device bytes [0, 2 MiB)) or FMAP_FILE_LOG ([log_offset, +log_len)) of
 * @sb. Not finalized. NULL on a bad @file_type or no memory.
 */
struct fmap *famfs_meta_fmap(const struct famfs_superblock *sb, uint8_t file_type);

#endif
