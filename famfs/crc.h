/* SPDX-License-Identifier: Apache-2.0 */
/* The three famfs CRCs (docs/format.md, "CRCs"): zlib crc32 stored in a u64. */
#ifndef FAMFS_CRC_H
#define FAMFS_CRC_H

#include "format.h"

/** famfs_sb_crc() - crc32 of superblock bytes [0, 96): magic through system uuid. */
uint64_t famfs_sb_crc(const struct famfs_superblock *sb);

/** famfs_log_header_crc() - crc32 of log header bytes [0, 24): magic, log_len, last_index. */
uint64_t famfs_log_header_crc(const struct famfs_log_header *h);

/**
 * famfs_log_entry_crc() - crc32 over the raw first 536 bytes of a log entry.
 * Padding and unused union bytes are covered, so writers must zero them.
 */
uint64_t famfs_log_entry_crc(const struct famfs_log_entry *e);

#endif
