/* SPDX-License-Identifier: Apache-2.0 */
/* Superblock and log header: build and verify (docs/format.md). */
#ifndef FAMFS_SUPER_H
#define FAMFS_SUPER_H

#include <stdbool.h>

#include "format.h"
#include "problem.h"

/**
 * famfs_sb_format() - fill @sb for a new file system: version 48 / OMF 2.2,
 * log at 2 MiB of @log_len bytes, allocation unit @alloc_unit (2 MiB or
 * 4 KiB), capacity @devsize bytes, master @system_uuid, fresh fs and device
 * uuids, @devname recorded (truncated to 63 bytes: informational only), crc
 * computed.
 */
void famfs_sb_format(struct famfs_superblock *sb, uint64_t devsize, uint64_t log_len,
		     uint64_t alloc_unit, const uint8_t system_uuid[16], const char *devname);

/**
 * famfs_default_log_len() - the log length mkfs uses when none is given for
 * a device of @devsize bytes with @alloc_unit units (docs/format.md, "Log
 * capacity"): 8 MiB with 2 MiB units (the existing tools' default); with
 * 4 KiB units one entry per 128 KiB of device (so a device full of files
 * averaging 128 KiB fills log and data together), rounded up to a power of
 * two, at least 8 MiB, at most 1 GiB, and halved until log and one region
 * of data fit the device.
 */
uint64_t famfs_default_log_len(uint64_t devsize, uint64_t alloc_unit);

/**
 * famfs_sb_check() - verify a superblock read from a device of @devsize
 * bytes (0: unknown, skip that comparison). Reports every problem found to
 * @c: magic, version (47 or 48), OMF version, crc, allocation unit (2 MiB or
 * 4 KiB), log offset, log length (power of two, >= 8 MiB), capacity (covers
 * the log, fits the device). Returns the number of problems.
 */
unsigned int famfs_sb_check(const struct famfs_superblock *sb, uint64_t devsize,
			    struct famfs_checker *c);

/**
 * famfs_sb_check_primary() - famfs_sb_check(), and the flags of a primary:
 * no bit but FAMFS_SB_PRIMARY and FAMFS_SB_COMPAT (SB_FLAGS otherwise). What opening a file
 * system checks. Returns the number of problems reported to @c.
 */
unsigned int famfs_sb_check_primary(const struct famfs_superblock *sb, uint64_t devsize,
				    struct famfs_checker *c);

/**
 * famfs_sb_format_secondary() - fill @sb for a secondary device of the file
 * system whose primary superblock is @primary (docs/format.md, "Secondary
 * superblock"): @primary's fs uuid, version and OMF; a fresh device uuid;
 * the primary's device uuid where a primary has its system uuid; log offset,
 * log length and allocation unit 0 (so readers that know no secondary
 * refuse it); sb_flags FAMFS_SB_SECONDARY; capacity @devsize; @devname
 * recorded (informational); crc computed over bytes [0, 96) as for a
 * primary.
 */
void famfs_sb_format_secondary(struct famfs_superblock *sb, const struct famfs_superblock *primary,
			       uint64_t devsize, const char *devname);

/** famfs_sb_is_secondary() - does @sb carry the secondary flag (bit 1)? */
bool famfs_sb_is_secondary(const struct famfs_superblock *sb);

/**
 * famfs_sb_check_secondary() - verify a secondary superblock read from a
 * device of @devsize bytes (0: unknown): magic, version and OMF, crc, flags
 * exactly FAMFS_SB_SECONDARY (SB_FLAGS), log offset and length 0
 * (SB_LOG_OFFSET, SB_LOG_LEN), allocation unit 0 (SB_ALLOC_UNIT), non-zero
 * device and primary uuids (SB_SECONDARY), capacity at least
 * FAMFS_DAXDEV_SIZE_MIN and within the device (SB_DEVSIZE). Returns the
 * number of problems reported to @c.
 */
unsigned int famfs_sb_check_secondary(const struct famfs_superblock *sb, uint64_t devsize,
				      struct famfs_checker *c);

/** famfs_sb_is_master() - does @sb name @system_uuid as its master? */
bool famfs_sb_is_master(const struct famfs_superblock *sb, const uint8_t system_uuid[16]);

/** famfs_log_header_init() - an empty log of @log_len bytes (no entries). */
void famfs_log_header_init(struct famfs_log_header *h, uint64_t log_len);

/**
 * famfs_log_header_check() - verify the log header against @sb: magic,
 * length, last_index, crc, next_index within the log, and next_seqnum no
 * more than one off next_index (LOG_NEXT_SEQNUM otherwise). One off is what
 * a power loss during an append can leave (docs/format.md, "Appending"):
 * whether it is harmless depends on the entry at famfs_log_torn_slot(),
 * which the caller checks with famfs_log_torn_check(). Returns the number
 * of problems reported to @c.
 */
unsigned int famfs_log_header_check(const struct famfs_log_header *h,
				    const struct famfs_superblock *sb, struct famfs_checker *c);

/**
 * famfs_log_torn_slot() - the slot whose entry decides whether the counters
 * of @h are a torn publication: min(next_seqnum, next_index) when they
 * differ by exactly one and that slot is one of the log's @nslots, else -1
 * (equal counters, or a difference famfs_log_header_check() reports).
 */
int64_t famfs_log_torn_slot(const struct famfs_log_header *h, uint64_t nslots);

/**
 * famfs_log_torn_check() - judge counters that famfs_log_torn_slot() found
 * one apart, given @e, a copy of the entry at that @slot (NULL: not
 * readable). The append stores and flushes the entry before it stores the
 * two counters with one 16-byte store, of which persistent memory keeps
 * only 8-byte pieces on power loss; so a torn pair always has an intact
 * entry (crc, seqnum) there. Then next_index is what the log publishes (for
 * the existing tools too: their replay reads only next_index), and LOG_TORN
 * is reported; without one LOG_NEXT_SEQNUM is. Returns 0 (LOG_TORN: the log
 * is readable, its counters need the repair famfs_log_repair_counters()
 * does) or -EUCLEAN (LOG_NEXT_SEQNUM).
 */
int famfs_log_torn_check(const struct famfs_log_header *h, int64_t slot,
			 const struct famfs_log_entry *e, struct famfs_checker *c);

#endif
