/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A file system over several devices, on this host (docs/format.md, "Several
 * devices"): open the primary, learn the others from the log (devtab.h),
 * find each one's local device by its uuid (resolve.h), check its
 * superblock, and keep it open. Also the two writers of devices: mkfs over
 * several devices and devadd.
 *
 * An image opened with FAMFS_FS_DEVICES attaches each device as replay
 * reaches its ADD_DAXDEV entry; one that cannot be attached (not found on
 * this host, not the device the log names, smaller than the log says) stops
 * the replay at that entry, as any entry that cannot be applied does. An
 * image opened without it serves device 0 only: its replay stops at the
 * first file with an extent on another device (DEV_UNSERVED), so such an
 * opener never hands out a file whose bytes it cannot reach.
 */
#ifndef FAMFS_DEVSET_H
#define FAMFS_DEVSET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev.h"
#include "format.h"
#include "problem.h"
#include "resolve.h"

struct famfs_image;

/*
 * The devices an image has open ([0] is the primary, im->fs->dev, not
 * owned): device 0 alone, or with FAMFS_FS_DEVICES each one the log adds.
 */
struct famfs_devset {
	uint32_t mask;		  /* bit N: device N is open here */
	unsigned int flags;	  /* the image's FAMFS_FS_* open flags */
	const char *const *hints; /* extra paths resolution reads (may be NULL) */
	uint32_t nhints;
	struct famfs_dev *dev[FAMFS_MAX_DAXDEVS];
	uint8_t *data[FAMFS_MAX_DAXDEVS]; /* byte 0 of a whole-device window (FAMFS_FS_MAP_ALL
					   * on file or devdax), else NULL */
	/*
	 * Called (when set) with the local path of a device famfs_image_attach()
	 * found, before it is opened: a server moves a devdax device to the
	 * driver it serves it with. Its return value is ignored: the device is
	 * opened as it then is.
	 */
	int (*prepare)(const char *path, void *arg);
	void *prepare_arg;
	uint8_t fs_uuid[FAMFS_UUID_LEN]; /* the file system's */
};

/* What famfs_devtab_real_size() resolves in: a file system and extra paths to read. */
struct famfs_size_arg {
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	const char *const *hints;
	uint32_t nhints;
};

/**
 * famfs_devtab_real_size() - a famfs_devtab_size_fn: the size of the local
 * device carrying the uuid of ADD_DAXDEV body @d in file system
 * @arg (struct famfs_size_arg), found as famfs_resolve() finds it (the
 * cache, re-read; or a scan). Returns 0 (*@size: the device's size in
 * bytes), or -ENOENT / -ENOTUNIQ / -errno when it is not found (the
 * caller then keeps the size the entry claims).
 */
int famfs_devtab_real_size(void *arg, const struct famfs_daxdev_body *d, uint64_t *size);

/** famfs_devset_new() - the set of @im (opened with @flags): the primary alone. NULL: ENOMEM. */
struct famfs_devset *famfs_devset_new(struct famfs_image *im, unsigned int flags);

/** famfs_devset_free() - close every device but the primary and free @set (NULL is fine). */
void famfs_devset_free(struct famfs_devset *set);

/**
 * famfs_image_devmask() - the devices @im may allocate on: those open here
 * (device 0 alone for an image opened without FAMFS_FS_DEVICES).
 */
uint32_t famfs_image_devmask(const struct famfs_image *im);

/** famfs_image_dev() - device @index of @im if open here, else NULL. */
struct famfs_dev *famfs_image_dev(const struct famfs_image *im, uint32_t index);

/**
 * famfs_image_attach() - find device @index (already in the image's device
 * table) on this host and open it: resolve its uuid (famfs_resolve(), with
 * the set's hints), open it as the primary is (read-write when the image
 * is writable), hold it (famfs_dev_hold), verify its superblock (a valid
 * secondary of this file system naming our primary, at least the size its
 * ADD_DAXDEV entry gives) and map it (whole with FAMFS_FS_MAP_ALL where
 * mappable, else its superblock area). Problems go to @c at the slot of the
 * device's entry: DEV_MISSING, DEV_DUPLICATE, DEV_FOREIGN, DEV_SIZE.
 * Returns 0, -ENOENT, -ENOTUNIQ, -EUCLEAN (foreign or too small) or -errno.
 */
int famfs_image_attach(struct famfs_image *im, uint32_t index, struct famfs_checker *c);

/* What this host has of one device of a file system (famfs_device_check). */
struct famfs_devcheck {
	char path[PATH_MAX];   /* the local device found, "" if none */
	char other[PATH_MAX];  /* DEV_DUPLICATE: the second device carrying the uuid */
	enum famfs_pcode code; /* its problem, or FAMFS_P_COUNT when it is fine */
};

/**
 * famfs_device_check() - find device @index of file system @fs_uuid, whose
 * uuid and size the log gives (@uuid, @size; @log_index its ADD_DAXDEV
 * slot), on this host and check it: resolution as famfs_image_attach(),
 * then its superblock: a secondary of @fs_uuid naming @primary_uuid as its
 * primary, at least @size bytes. Reports DEV_MISSING, DEV_DUPLICATE,
 * DEV_FOREIGN or DEV_SIZE (naming index and uuid) to @c and fills @out.
 * Returns 0 (found and fine) or the errno of famfs_image_attach().
 */
int famfs_device_check(const uint8_t fs_uuid[FAMFS_UUID_LEN],
		       const uint8_t primary_uuid[FAMFS_UUID_LEN], uint32_t index,
		       const uint8_t uuid[FAMFS_UUID_LEN], uint64_t size, int64_t log_index,
		       const char *const *hints, uint32_t nhints, struct famfs_devcheck *out,
		       struct famfs_checker *c);

/**
 * famfs_find_primary() - the local primary device of the file system whose
 * secondary superblock is @sb: famfs_resolve() of (@sb->fs_uuid,
 * @sb->primary_uuid), reading @hints too; the found device must hold a
 * primary superblock. Returns 0 (path in @path, @size bytes), -ENOENT,
 * -ENOTUNIQ (both paths in @found when not NULL) or -EUCLEAN (what carries
 * the uuid is not a primary).
 */
int famfs_find_primary(const struct famfs_superblock *sb, const char *const *hints, uint32_t nhints,
		       char *path, size_t size, struct famfs_found *found);

/**
 * famfs_write_secondary() - store the secondary superblock @sb at offset 0
 * of the writable device @dev (its first 4 KiB: @sb, then zeros), flush and
 * sync it. Returns 0 or -errno.
 */
int famfs_write_secondary(struct famfs_dev *dev, const struct famfs_superblock *sb);

/**
 * famfs_mkfs_devices() - a new file system over @n devices (@devs[0] the
 * primary; all open writable and claimed by the caller), @log_len-byte log,
 * @alloc_unit units, master @system_uuid. In this order, so that a crash
 * leaves either no file system or the whole one:
 *   1. the primary's old superblock zeroed and flushed, its log cleared
 *      (famfs_mkfs_begin);
 *   2. each secondary's superblock written and synced;
 *   3. the ADD_DAXDEV entries 1..n-1 stored in slots 0..n-2 and the log
 *      header publishing them, flushed;
 *   4. the primary superblock, FAMFS_SB_PRIMARY set, flushed and synced
 *      (famfs_mkfs_finish): only now does the file system exist.
 * Every device's cache row is replaced by what it holds now. Returns 0,
 * -EINVAL (geometry, n outside 2..FAMFS_MAX_DAXDEVS, a device outside the
 * ADD_DAXDEV size bounds) or -errno from a device.
 */
int famfs_mkfs_devices(struct famfs_dev **devs, uint32_t n, uint64_t log_len, uint64_t alloc_unit,
		       const uint8_t system_uuid[FAMFS_UUID_LEN]);

/* famfs_image_devadd() flags */
#define FAMFS_DEVADD_FORCE 0x1	      /* overwrite a famfs the device holds */
#define FAMFS_DEVADD_SMALL 0x2	      /* accept a device below the mkfs minimum (tests) */
#define FAMFS_DEVADD_NONE  UINT32_MAX /* *index of famfs_image_devadd(): nothing added */

/**
 * famfs_image_devadd() - add the device at @path to the file system of
 * @im, which must be opened writable (the master, its writer lock held)
 * and replayed to the end. In this order (docs/format.md, "Adding a
 * device"):
 *   1. the device is opened read-write and claimed (no famfs opener of this
 *      host may hold it: -EBUSY), and its secondary superblock (a fresh
 *      device uuid) written and synced;
 *   2. its ADD_DAXDEV entry appended (entry, then the log header);
 *   3. FAMFS_SB_PRIMARY set in the primary's superblock (informational).
 * A crash after 1 leaves a secondary of this file system that its log does
 * not name (DEV_UNLISTED); devadd of it again reuses it without @FORCE.
 * The new device joins the image's table at once (and, opened with
 * FAMFS_FS_DEVICES, its set); both devices' cache rows are recorded.
 * *@index (may be NULL) gets its index once its entry is appended, and is
 * FAMFS_DEVADD_NONE while it is not added. An error from step 3 (-errno
 * of the primary's store, flush or sync: -EIO) is returned with the device
 * added (*@index set): the on-media state is consistent whether the bit
 * reached the media or not (it is informational; the log alone lists the
 * devices), and the next devadd sets it.
 * Returns 0 or:
 *  -EROFS       @im not writable
 *  -EUCLEAN     @im's replay stopped at a bad entry (run fsck)
 *  -EEXIST      @path is the primary or already a device of this file system
 *  -ENOTEMPTY   @path holds a famfs and @flags lacks FAMFS_DEVADD_FORCE
 *  -EMEDIUMTYPE an image file with memory devices, or the reverse
 *  -ERANGE      smaller than the minimum (4 GiB with 2 MiB units, 1 GiB with
 *               4 KiB; FAMFS_DAXDEV_SIZE_MIN with FAMFS_DEVADD_SMALL) or
 *               above FAMFS_DAXDEV_SIZE_MAX
 *  -EBUSY       a famfs opener on this host holds @path
 *  -ETXTBSY     another owner holds the block device @path (a mounted file
 *               system, device-mapper, md, swap: it is opened O_EXCL)
 *  -ENOTBLK     @path is a block device without DAX
 *  -EOVERFLOW   the file system has FAMFS_MAX_DAXDEVS devices already
 *  -ENOSPC      the log is full
 *  other        from the device (-ENOENT, -EACCES, -ENODEV, -EIO)
 */
int famfs_image_devadd(struct famfs_image *im, const char *path, unsigned int flags,
		       uint32_t *index);

#endif
