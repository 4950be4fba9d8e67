/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An opened famfs with its replayed namespace and allocation bitmap: what a
 * server (or any tool that creates files) works on. Clients call
 * famfs_image_catch_up() to follow the master; the master creates
 * directories and files, each one log append. Not thread-safe: the owner
 * serializes calls.
 */
#ifndef FAMFS_IMAGE_H
#define FAMFS_IMAGE_H

#include "alloc.h"
#include "apply.h"
#include "fs.h"
#include "log.h"
#include "ns.h"

struct famfs_image {
	struct famfs_fs *fs;
	struct famfs_devset *set; /* the devices open here (devset.h): device 0, or all */
	struct famfs_ns *ns;
	struct famfs_alloc alloc;
	struct famfs_applier ap; /* the replay rules (apply.h) over ns, alloc and ap.devs */
	struct famfs_replay replay;
	uint64_t skipped; /* log entries that created nothing (path exists, no parent) */
	/* The time entries created by famfs_image_mkdir()/mkfile()/log_file() record
	 * (seconds since 1970, nanoseconds); the owner sets it before each call.
	 * FILE entries of a compat image (famfs_fs_compat) record none. */
	uint32_t now_sec, now_nsec;
};

/* Called for each node a replay creates. */
typedef void (*famfs_node_fn)(struct famfs_node *node, void *arg);

/**
 * famfs_image_open() - famfs_fs_open() (same @flags, errors and @c) and
 * famfs_fs_servable() (-EOPNOTSUPP: not a file system this version serves),
 * then an empty namespace and bitmap; call famfs_image_catch_up() to replay.
 * With FAMFS_FS_DEVICES the devices the log adds are found and opened as
 * replay reaches them (devset.h); without it only device 0 is served and
 * replay stops at the first file on another device (DEV_UNSERVED), unless
 * FAMFS_FS_NODATA says the opener serves no data at all.
 */
int famfs_image_open(const char *path, unsigned int flags, struct famfs_image **out,
		     struct famfs_checker *c);
void famfs_image_close(struct famfs_image *im);

/**
 * famfs_image_catch_up() - replay log entries not seen yet under the rules
 * of famfs_apply_entry(): claim their extents, add their nodes (calling @fn
 * for each new one, may be NULL). Returns the number of entries replayed (0:
 * nothing new) or -errno; an entry that cannot be applied (corrupt, extents
 * overlapping another file's, ...) stops the replay (im->replay.bad_index /
 * .bad) without error, and a later call retries it.
 */
long famfs_image_catch_up(struct famfs_image *im, famfs_node_fn fn, void *arg);

/**
 * famfs_image_mkdir() - create directory @name in @dir and log it.
 * Returns 0 (node in *@out), -EEXIST, -ENOTDIR, -ENAMETOOLONG or -EINVAL
 * (path rules), -EROFS (not the master), -ENOSPC (log full), -EIO.
 */
int famfs_image_mkdir(struct famfs_image *im, struct famfs_node *dir, const char *name,
		      uint32_t mode, uint32_t uid, uint32_t gid, struct famfs_node **out);

/**
 * famfs_image_mkfile() - create file @name of @size bytes in @dir: allocate
 * (striped when @stripe is given and the file spans a chunk), log, add.
 * Returns 0 (node in *@out) or the errors of famfs_image_mkdir(); -ENOSPC
 * also when the device is full: famfs_log_free() tells which.
 */
int famfs_image_mkfile(struct famfs_image *im, struct famfs_node *dir, const char *name,
		       uint64_t size, uint32_t mode, uint32_t uid, uint32_t gid,
		       const struct famfs_stripe *stripe, struct famfs_node **out);

/**
 * famfs_image_log_file() - give an existing, not yet logged file node (a
 * server's pending file) its size and space and log it. Errors as
 * famfs_image_mkfile(); -EEXIST if @node is already logged.
 */
int famfs_image_log_file(struct famfs_image *im, struct famfs_node *node, uint64_t size,
			 const struct famfs_stripe *stripe);

/**
 * famfs_image_commit_file() - log the not yet logged file @node (a server's
 * pending file) with the extents and size in @f, allocated by the caller
 * (their units already marked), and modification time @mtime_sec/@mtime_nsec
 * (none in a compat image, famfs_fs_compat(): the node's time becomes 0).
 * Returns 0, -EEXIST (already logged), -EROFS, -ENOSPC (log full), -EINVAL
 * (the entry fails its checks) or -EIO.
 */
int famfs_image_commit_file(struct famfs_image *im, struct famfs_node *node,
			    const struct famfs_file_body *f, uint32_t mtime_sec,
			    uint32_t mtime_nsec);

/**
 * famfs_image_update_attrs() - log an attribute update of the logged file or
 * directory @node (docs/format.md, "Attribute updates") and apply it: mode
 * (permission bits), owner and modification time. In a compat image
 * (famfs_fs_compat) a file gets none: the same mode and owner with another
 * time is accepted and changes nothing (files have no time there), another
 * mode or owner is -EPERM. Returns 0, -EINVAL (not logged, or the root),
 * -EPERM, -EROFS, -ENOSPC (log full) or -EIO.
 */
int famfs_image_update_attrs(struct famfs_image *im, struct famfs_node *node, uint32_t mode,
			     uint32_t uid, uint32_t gid, uint32_t mtime_sec, uint32_t mtime_nsec);

/**
 * famfs_image_append() - append the entry @e (seqnum and crc filled in) to
 * the log and move the replay cursor past it: for entries the caller
 * applies itself (famfs_image_devadd). Errors of famfs_log_append().
 */
int famfs_image_append(struct famfs_image *im, struct famfs_log_entry *e);

/**
 * famfs_image_child_path() - log path of @name inside @dir into @buf
 * (FAMFS_PATH_MAX + 1 bytes). Returns 0, -EINVAL (name "", ".", ".." or with
 * '/') or -ENAMETOOLONG (over 79 bytes).
 */
int famfs_image_child_path(const struct famfs_node *dir, const char *name, char *buf);

/**
 * famfs_image_name_ok() - may a new file or directory of @im be called
 * @name? Returns 0, or -EILSEQ when @im is a compat image
 * (famfs_fs_compat()) and @name is not well-formed UTF-8: the existing
 * tools' shadow YAML cannot carry it, and every file under such a
 * directory would fail their logplay. Checked when the name is created,
 * before anything is written to it.
 */
int famfs_image_name_ok(const struct famfs_image *im, const char *name);

#endif
