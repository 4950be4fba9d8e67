/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From log entries to fmaps (fmap/): the maps the server hands the kernel
 * with GET_FMAP and uses for its own data path (docs/protocol.md).
 */
#ifndef FAMFS_FILEMAP_H
#define FAMFS_FILEMAP_H

#include "fmap.h"
#include "format.h"

/**
 * famfs_file_fmap() - the fmap describing a FILE entry @f exactly: its
 * simple extents, or its one interleaved extent covering
 * famfs_file_capacity(f) bytes; file type regular, file size f->size. Not
 * finalized: the caller runs fmap_finalize() (which rejects what the kernel
 * could not use). Returns NULL on a bad extent count or no memory.
 */
struct fmap *famfs_file_fmap(const struct famfs_file_body *f);

/**
 * famfs_meta_fmap() - the fmap of a metadata file: FMAP_FILE_SUPERBLOCK
 * (device bytes [0, 2 MiB)) or FMAP_FILE_LOG ([log_offset, +log_len)) of
 * @sb. Not finalized. NULL on a bad @file_type or no memory.
 */
struct fmap *famfs_meta_fmap(const struct famfs_superblock *sb, uint8_t file_type);

#endif
