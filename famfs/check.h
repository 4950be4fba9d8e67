/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The whole-file-system check behind `famfs fsck`: superblock, log header,
 * every entry alone (famfs_entry_check) and the entries together (parents,
 * duplicate paths, overlapping extents, ADD_DAXDEV indices). Works on any
 * copy of the metadata: a device window or the .meta files of a mount.
 */
#ifndef FAMFS_CHECK_H
#define FAMFS_CHECK_H

#include "entry.h"
#include "format.h"
#include "devtab.h"
#include "problem.h"

struct famfs_fsck_stats {
	uint64_t capacity;    /* bytes (superblock daxdev.size) */
	uint64_t meta_bytes;  /* superblock + log */
	uint64_t alloc_bytes; /* bytes in allocation units used by files */
	uint64_t file_bytes;  /* sum of file sizes */
	uint64_t files;
	uint64_t dirs; /* root excluded */
	uint64_t slots_used;
	uint64_t slots_total;
	uint64_t ignored;	   /* well-formed entries that create nothing (apply.h) */
	uint64_t alloc_unit;	   /* bytes */
	uint64_t large_files;	   /* files of 2 MiB or more */
	uint64_t large_pmd;	   /* of those, laid out for PMD faults (famfs_file_pmd_mappable) */
	bool compat;		   /* sb_flags FAMFS_SB_COMPAT: checked (ENT_COMPAT) */
	int64_t first_bad;	   /* slot where replay (a mount) stops, or -1 */
	struct famfs_problem stop; /* why, when first_bad >= 0 */
	/* Per device, as the log describes them (devtab.h); the fields above are the sums. */
	uint32_t ndevs; /* the primary and the devices ADD_DAXDEV entries added */
	struct famfs_fsck_dev {
		uint8_t uuid[FAMFS_UUID_LEN];
		uint64_t capacity;    /* bytes */
		uint64_t meta_bytes;  /* its superblock area (the primary's: and the log) */
		uint64_t alloc_bytes; /* in allocation units used by files */
		uint64_t files;	      /* files with an extent or strip on it */
		int64_t log_index;    /* slot of its ADD_DAXDEV entry; -1 for the primary */
	} dev[FAMFS_MAX_DAXDEVS];
};

/* Called for each slot in use, good or bad, after it has been checked. */
typedef void (*famfs_fsck_entry_fn)(const struct famfs_geom *g, const struct famfs_log_entry *e,
				    uint64_t index, void *arg);

/**
 * famfs_fsck() - check a file system's metadata.
 * @sb:      the superblock (at least 200 bytes)
 * @log:     the log as stored: header then entries
 * @log_avail: bytes available at @log (may be less than log_len: entries
 *           beyond it are reported missing)
 * @devsize: the real device size in bytes (through a mount: the capacity
 *           the server reports, rounded up to a unit). Everything sized from
 *           the media is bounded by it: a larger daxdev.size is reported
 *           (SB_DEVSIZE) and checked as if it were @devsize.
 * @c:       receives every problem
 * @each, @arg: optional per-entry callback (fsck -v)
 * @st:      filled with capacity, usage and log occupancy (the whole file
 *           system and each device), and where a replay would stop
 *
 * Every entry goes through famfs_apply_entry(), the rules replay uses, and
 * the check goes on past a bad one. In a compat image (FAMFS_SB_COMPAT) a
 * FILE entry with a time, or a FILE attribute update, is ENT_COMPAT. Memory: one bit per allocation
 * unit of the bounded capacity, plus the namespace.
 *
 * Returns 0 when the check ran to the end (problems are in @c->count),
 * -EINVAL if @devsize is 0, -EMEDIUMTYPE if there is no famfs superblock,
 * -EUCLEAN if superblock or log header are too damaged to read the log,
 * -ENOMEM.
 */
int famfs_fsck(const struct famfs_superblock *sb, const void *log, uint64_t log_avail,
	       uint64_t devsize, struct famfs_checker *c, famfs_fsck_entry_fn each, void *arg,
	       struct famfs_fsck_stats *st);

/*
 * Reads log entries [@first, @first + @n) into @buf (a private copy, after
 * whatever invalidation the medium needs). Returns 0 or -errno.
 */
typedef int (*famfs_fsck_read_fn)(void *arg, uint64_t first, uint64_t n,
				  struct famfs_log_entry *buf);

/**
 * famfs_fsck_read() - famfs_fsck() reading the log through @read: @h is a
 * copy of the log header (NULL: unreadable, -EUCLEAN), @readable the number
 * of entries @read can deliver. Entries are read and checked a window at a
 * time (16,384 entries, 8.5 MiB), never the log whole, and only the slots in
 * use: memory is the window, the namespace (names and nodes, no extents)
 * and the bitmap. Earlier entries are read again only to name the entry an
 * overlap collides with. @real_size (may be NULL): the size of the device
 * this host has for a secondary (famfs_devtab_real_size, devset.h), which
 * bounds its bitmap; NULL trusts the size its ADD_DAXDEV entry claims.
 * Returns as famfs_fsck(), or the error of @read.
 */
int famfs_fsck_read(const struct famfs_superblock *sb, const struct famfs_log_header *h,
		    uint64_t readable, famfs_fsck_read_fn read, void *read_arg, uint64_t devsize,
		    famfs_devtab_size_fn real_size, struct famfs_checker *c,
		    famfs_fsck_entry_fn each, void *arg, struct famfs_fsck_stats *st);

/**
 * famfs_entry_describe() - one line for a log entry: type, path (escaped:
 * famfs_esc), size, mode, owner, extents ("file a/b 1234 bytes 0644 0:0
 * [0x...+0x...]"; an extent on device N > 0 as "devN:0x...+0x...").
 */
void famfs_entry_describe(const struct famfs_geom *g, const struct famfs_log_entry *e, char *buf,
			  size_t size);

#endif
