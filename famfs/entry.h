/* SPDX-License-Identifier: Apache-2.0 */
/* Log entries: build them and check them one at a time (docs/format.md). */
#ifndef FAMFS_ENTRY_H
#define FAMFS_ENTRY_H

#include <stdbool.h>

#include "format.h"
#include "map.h"
#include "problem.h"

struct famfs_devtab;

/* What an entry is checked against; derived from a verified superblock. */
struct famfs_geom {
	uint64_t devsize;    /* capacity in bytes (superblock daxdev.size) */
	uint64_t meta_end;   /* 2 MiB + log_len: first byte usable for data */
	uint64_t alloc_unit; /* bytes */
	uint64_t version;    /* 47 or 48: decides what type code 3 means */
	uint64_t nslots;     /* log capacity in entries */
	/*
	 * The devices the log has added so far (devtab.h), which extents with a
	 * devindex other than 0 are checked against; NULL: only device 0 exists.
	 * Whoever replays links it to its applier's table.
	 */
	const struct famfs_devtab *devs;
	uint8_t dev_uuid[FAMFS_UUID_LEN]; /* the primary's device uuid */
};

/**
 * famfs_geom_from_sb() - geometry of a superblock that passed famfs_sb_check()
 * (devs NULL).
 */
void famfs_geom_from_sb(struct famfs_geom *g, const struct famfs_superblock *sb);

/**
 * famfs_entry_type() - the entry's type as enum famfs_entry_type, mapping
 * the version-47 code 3 (INVALID then) to FAMFS_LOG_INVALID.
 */
uint32_t famfs_entry_type(const struct famfs_geom *g, const struct famfs_log_entry *e);

/**
 * famfs_entry_intact() - was slot @index written whole? Checks crc and that
 * seqnum equals @index. These are the failures a reader retries once after
 * invalidating its cache (another host may be mid-write). Returns the number
 * of problems reported to @c (NULL: just count).
 */
unsigned int famfs_entry_intact(const struct famfs_log_entry *e, uint64_t index,
				struct famfs_checker *c);

/**
 * famfs_entry_check() - everything that can be checked on one entry alone:
 * integrity, type (0-4; DELETE and INVALID have no body to check), path
 * rules, extent count and type, devindex (0, or a device of @g->devs),
 * alignment to the allocation unit, extents inside their device and clear of
 * its superblock and log, interleave parameters, size covered by the
 * extents, ADD_DAXDEV index not 0, uuid not zero, size within
 * [FAMFS_DAXDEV_SIZE_MIN, FAMFS_DAXDEV_SIZE_MAX]. What needs the entries
 * before it (overlap, existing paths, ADD_DAXDEV order and uniqueness) is
 * famfs_apply_entry()'s. Returns the number of problems reported to @c.
 */
unsigned int famfs_entry_check(const struct famfs_geom *g, const struct famfs_log_entry *e,
			       uint64_t index, struct famfs_checker *c);

/** famfs_entry_relpath() - the path a FILE or MKDIR entry creates, or NULL. */
const char *famfs_entry_relpath(const struct famfs_geom *g, const struct famfs_log_entry *e);

/**
 * famfs_file_body_capacity() - bytes addressable through a FILE entry's
 * extents: sum of simple extent lengths, or nstrips * shortest strip
 * rounded down to whole chunks for an interleaved extent. Saturates instead
 * of overflowing.
 */
uint64_t famfs_file_body_capacity(const struct famfs_file_body *f);

/**
 * famfs_entry_init_mkdir() / famfs_entry_init_file() - zero @e and fill a
 * MKDIR or FILE entry (extents left for the caller / allocator). @relpath
 * must already be in log form; refused with -EINVAL or -ENAMETOOLONG, never
 * truncated. @mode: permission bits only (others are dropped).
 */
int famfs_entry_init_mkdir(struct famfs_log_entry *e, const char *relpath, uint32_t mode,
			   uint32_t uid, uint32_t gid);
int famfs_entry_init_file(struct famfs_log_entry *e, const char *relpath, uint64_t size,
			  uint32_t mode, uint32_t uid, uint32_t gid);

#endif
