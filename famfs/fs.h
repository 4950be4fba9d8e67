/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An opened famfs: the device, its verified superblock and log header, and
 * this host's role. The log itself (append, replay) is in log.h.
 */
#ifndef FAMFS_FS_H
#define FAMFS_FS_H

#include <stdbool.h>

#include "dev.h"
#include "entry.h"
#include "format.h"
#include "problem.h"

struct famfs_fs {
	struct famfs_dev *dev;
	/*
	 * The superblock: a private copy, read once and checked, from which the
	 * geometry comes. Nothing keeps pointing into the superblock on the
	 * device, which another host could rewrite after the check.
	 */
	const struct famfs_superblock *sb; /* = &sb_copy */
	struct famfs_superblock sb_copy;
	/* The log, in the device window: shared. Read it only through log.h, which
	 * invalidates, copies each entry out (famfs_dev_load) and checks the copy. */
	struct famfs_log_header *hdr;
	struct famfs_log_entry *ent; /* geom.nslots slots */
	struct famfs_geom geom;	     /* from the checked copy of the superblock */
	uint8_t identity[16];	     /* this host */
	bool master;		     /* identity equals the superblock's system uuid */
	bool writable;		     /* may append: master, opened with FAMFS_FS_WRITE, locked */
	/* The header's counters were found torn at open (famfs_log_torn_check):
	 * the slot of the intact entry that decided it, or -1; and whether this
	 * writable open repaired them (famfs_log_repair_counters). */
	int64_t torn_slot;
	bool torn_repaired;
	uint8_t
	    *data; /* with FAMFS_FS_MAP_ALL: device byte 0, else NULL (pmem: use famfs_dev_pread) */
};

/* famfs_fs_open() flags */
#define FAMFS_FS_WRITE	 0x1 /* append: requires the master; takes the writer lock */
#define FAMFS_FS_NOWAIT	 0x2 /* with FAMFS_FS_WRITE: -EBUSY instead of waiting for the lock */
#define FAMFS_FS_MAP_ALL 0x4 /* map the whole device (file, devdax), not only the metadata */
/* famfs_image_open(): serve the devices the log adds too (devset.h); else device 0 only */
#define FAMFS_FS_DEVICES 0x8
/* famfs_image_open(): metadata only (devadd, tools): files on any device replay, none is served */
#define FAMFS_FS_NODATA 0x10
/* a block device: claim it against other owners (a server; devset.h: the added devices too) */
#define FAMFS_FS_EXCL 0x20

/**
 * famfs_fs_open() - open the famfs on the device or image at @path.
 *
 * Copies the superblock out of the device and verifies that private copy,
 * then the log header (every problem goes to @c, which may be NULL); the
 * geometry and the metadata window come from the checked copy. Counters
 * torn by a crash during an append (famfs_log_torn_check) are accepted, and
 * a writable open repairs them (fs->torn_slot, fs->torn_repaired). Returns
 * 0 or a negative errno:
 *  -EMEDIUMTYPE  no famfs superblock (magic) on the device
 *  -EUCLEAN      superblock or log header corrupt (see @c)
 *  -EXDEV        a secondary device of a file system, not its primary
 *                (SB_SECONDARY in @c names the file system and its primary)
 *  -EPERM        FAMFS_FS_WRITE but this host is not the master
 *  -EBUSY        FAMFS_FS_NOWAIT and another process holds the writer lock
 *  -ETXTBSY      FAMFS_FS_EXCL and another owner holds the block device (a
 *                mounted file system, device-mapper, md, swap); a block
 *                device that another famfs server of this host claimed is
 *                opened without the claim (theirs keeps the others out)
 *  other         from the device (-ENOENT, -EACCES, ...)
 */
int famfs_fs_open(const char *path, unsigned int flags, struct famfs_fs **out,
		  struct famfs_checker *c);

/**
 * famfs_fs_servable() - can this version serve (mount, create files in) the
 * file system? The one check for what the format allows but we cannot
 * serve: today every valid superblock is served (2 MiB and 4 KiB allocation
 * units; famfs_sb_check() refuses any other unit). Kept as the one place
 * for such a rule. Returns 0, or -EOPNOTSUPP with the problem reported to @c.
 */
int famfs_fs_servable(const struct famfs_fs *fs, struct famfs_checker *c);

/** famfs_fs_close() - release lock, window and device (NULL is fine). */
void famfs_fs_close(struct famfs_fs *fs);

/**
 * famfs_fs_probe() - does @path hold a famfs superblock with a valid crc?
 * Returns 1 yes, 0 no, negative errno if it cannot be read. On yes,
 * @sb (may be NULL) receives a copy.
 */
int famfs_fs_probe(const char *path, struct famfs_superblock *sb);

/**
 * famfs_mkfs_unit() - write a new superblock with allocation unit
 * @alloc_unit (FAMFS_ALLOC_UNIT or FAMFS_ALLOC_UNIT_4K) and an empty log of
 * @log_len bytes on the open writable device @dev, naming @system_uuid the
 * master. Flushes log header first, then the superblock that makes it
 * valid, and syncs. Returns 0 or -errno (-EINVAL: geometry does not fit, or
 * another unit).
 */
int famfs_mkfs_unit(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit,
		    const uint8_t system_uuid[16]);

/**
 * famfs_mkfs_begin() - the first half of famfs_mkfs_unit(): check the
 * geometry (-EINVAL), map [0, 2 MiB + @log_len), zero the old superblock and
 * flush it (a crash from here on leaves no file system), clear the log and
 * write an empty log header, flushed. The window stays mapped for
 * famfs_mkfs_finish(). Returns 0 or -errno.
 */
int famfs_mkfs_begin(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit);

/**
 * famfs_mkfs_finish() - the last step of every mkfs: store the superblock
 * @sb (already formatted, crc computed) at offset 0 of the window
 * famfs_mkfs_begin() mapped, flush it and sync the device: the file system
 * exists from here on. Returns 0 or -errno.
 */
int famfs_mkfs_finish(struct famfs_dev *dev, const struct famfs_superblock *sb);

/**
 * famfs_mkfs_flags() - famfs_mkfs_unit() that also sets the superblock's
 * sb_flags to @sb_flags (0, or FAMFS_SB_COMPAT). -EINVAL for other bits.
 */
int famfs_mkfs_flags(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit,
		     uint32_t sb_flags, const uint8_t system_uuid[16]);

/** famfs_fs_compat() - does @fs promise entries the existing tools' shadow YAML carries? */
static inline bool famfs_fs_compat(const struct famfs_fs *fs)
{
	return fs->sb->sb_flags & FAMFS_SB_COMPAT;
}

/** famfs_mkfs() - famfs_mkfs_unit() with 2 MiB allocation units. */
int famfs_mkfs(struct famfs_dev *dev, uint64_t log_len, const uint8_t system_uuid[16]);

#endif
