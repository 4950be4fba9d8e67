/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which local device carries a famfs device uuid (docs/format.md, "Several
 * devices"; docs/user-guide.md, "Several devices"). A device is named by its
 * uuid on the media, never by a path: the same memory is /dev/dax0.0 on one
 * host and /dev/dax1.0 on another. Each host answers by reading superblocks
 * of its own candidates:
 *
 *  - devdax (/dev/dax*) and pmem (/dev/pmem*) devices, found by a scan that
 *    skips every device a famfs opener of this host holds (famfs_dev_hold(),
 *    or mkfs's claim: it is in use, and whoever uses it found it already);
 *  - image files: those this host's cache names (mkfs, devadd and `famfs
 *    daxdev refresh FILE` record them; a held one is skipped by the scan as
 *    a device is), and paths the caller gives (always read).
 *
 * The answers are kept in a host-local cache file, outside any mount:
 * /var/lib/famfs/devices, or the file $FAMFS_DEVICE_CACHE names: a line
 * per device, "FS_UUID DEV_UUID primary|secondary SIZE SEEN PATH", PATH
 * with every blank, control character, DEL and backslash as \ooo (any
 * file name is one field; rows of version 1 files, PATH verbatim to the
 * end of the line, are still read). A cached
 * answer is trusted only after its superblock has been read again and still
 * carries the uuids (reading takes no lock and changes nothing, so a cached
 * device held by a mount is re-read too); a row whose device now holds
 * something else is dropped, one that cannot be read now (an image file
 * moved away) is kept but not trusted, and the candidates are scanned. An
 * explicit refresh drops the rows of paths that no longer exist, and mkfs
 * the rows of the device it formats. Two local devices carrying one uuid
 * are refused (-ENOTUNIQ), both named. The cache is throwaway state:
 * deleting it costs a scan (and forgets image files).
 */
#ifndef FAMFS_RESOLVE_H
#define FAMFS_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dev.h"
#include "format.h"

#define FAMFS_DEVICE_CACHE_PATH "/var/lib/famfs/devices"
#define FAMFS_DEVICE_CACHE_ENV	"FAMFS_DEVICE_CACHE"

/* A local device that holds a valid famfs superblock, primary or secondary. */
struct famfs_member {
	char path[PATH_MAX]; /* canonical (realpath) */
	enum famfs_dev_kind kind;
	bool secondary;
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	uint8_t dev_uuid[FAMFS_UUID_LEN];
	uint8_t primary_uuid[FAMFS_UUID_LEN]; /* its primary's device uuid (a primary: its own) */
	uint64_t size;			      /* of the device, bytes */
	dev_t st_dev;			      /* identity of the device node or image file */
	ino_t st_ino;
	dev_t st_rdev;
	struct famfs_superblock sb;
};

/* A row of the cache file. */
struct famfs_cache_row {
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	uint8_t dev_uuid[FAMFS_UUID_LEN];
	bool secondary;
	uint64_t size; /* bytes */
	int64_t seen;  /* when its superblock was last read: seconds since 1970 */
	char path[PATH_MAX];
};

/** famfs_device_cache_path() - the cache file in use ($FAMFS_DEVICE_CACHE or the default). */
const char *famfs_device_cache_path(void);

/**
 * famfs_member_read() - read the superblock of @path (read-only, no lock)
 * into @m. Returns 1 if it is a valid primary (famfs_sb_check_primary()) or
 * secondary (famfs_sb_check_secondary()) superblock, 0 if it holds none (no
 * famfs, or a damaged one), or -errno if @path cannot be opened or read.
 */
int famfs_member_read(const char *path, struct famfs_member *m);

/**
 * famfs_path_held() - does a famfs opener on this host hold @path (a shared
 * famfs_dev_hold() or mkfs's exclusive claim, as an OFD lock on byte 0)?
 * Locks of this process's other descriptors count too. False if @path
 * cannot be opened.
 */
bool famfs_path_held(const char *path);

/* What famfs_resolve() found: up to two paths (two: -ENOTUNIQ). */
struct famfs_found {
	uint32_t n;
	char path[2][PATH_MAX];
};

/**
 * famfs_resolve() - the local device that carries device uuid @dev_uuid of
 * file system @fs_uuid: first the cache's answers and the @nhints paths in
 * @hints (each re-read), then, if none holds it, a scan of the candidates
 * (which updates the cache). Returns 0 (the path in @out->path[0]), -ENOENT
 * (no device of this host carries it), or -ENOTUNIQ (two devices carry it:
 * both in @out). The cache is updated as a side effect when it can be
 * written; failing to write it is not an error.
 */
int famfs_resolve(const uint8_t fs_uuid[FAMFS_UUID_LEN], const uint8_t dev_uuid[FAMFS_UUID_LEN],
		  const char *const *hints, uint32_t nhints, struct famfs_found *out);

typedef void (*famfs_member_fn)(const struct famfs_member *m, void *arg);

/**
 * famfs_refresh() - scan every candidate (the @nhints paths in @hints, and
 * of the cache's rows and the /dev/dax* and /dev/pmem* devices those that
 * no famfs opener of this host holds), call @fn
 * (may be NULL) for each member found, and rewrite the cache with what was
 * found: rows of paths that hold no famfs any more, or no longer exist, are
 * dropped; rows of held devices (not read) and of paths that cannot be read
 * now are kept. Returns the number of members
 * found, or -errno if the cache could not be written.
 */
int famfs_refresh(const char *const *hints, uint32_t nhints, famfs_member_fn fn, void *arg);

/** famfs_cache_record() - add (or replace) the row of @m's path. 0 or -errno. */
int famfs_cache_record(const struct famfs_member *m);

/** famfs_cache_forget() - drop the rows of @path (canonicalized if it exists). 0 or -errno. */
int famfs_cache_forget(const char *path);

typedef void (*famfs_cache_fn)(const struct famfs_cache_row *r, void *arg);

/**
 * famfs_cache_list() - call @fn for every row of the cache, as stored.
 * Returns the number of rows (0 when there is no cache file) or -errno.
 */
int famfs_cache_list(famfs_cache_fn fn, void *arg);

#endif
