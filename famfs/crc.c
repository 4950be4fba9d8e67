// SPDX-License-Identifier: Apache-2.0
#include <zlib.h>

#include "crc.h"

/*
 * The existing tools chain crc32 over each superblock field with its own
 * size. The fields are contiguous and unpadded, so that is the same as one
 * crc32 over the bytes they occupy.
 */
static_assert(offsetof(struct famfs_superblock, crc) == FAMFS_SB_CRC_LEN, "sb crc span");
static_assert(offsetof(struct famfs_log_header, crc) == FAMFS_LOGHDR_CRC_LEN, "log hdr crc span");

static uint64_t crc_bytes(const void *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	return crc32(crc, (const Bytef *)p, (uInt)len);
}

uint64_t famfs_sb_crc(const struct famfs_superblock *sb)
{
	return crc_bytes(sb, FAMFS_SB_CRC_LEN);
}

uint64_t famfs_log_header_crc(const struct famfs_log_header *h)
{
	return crc_bytes(h, FAMFS_LOGHDR_CRC_LEN);
}

uint64_t famfs_log_entry_crc(const struct famfs_log_entry *e)
{
	return crc_bytes(e, FAMFS_ENTRY_CRC_LEN);
}
