// SPDX-License-Identifier: Apache-2.0
/*
 * Namespace operations of famfs_fused: one function per FUSE request.
 *
 * Rules (docs/design.md, "Fixed sizes" and "Pending files and commit"):
 * - Every mutation on a client (or a read-only mount) fails with EROFS.
 * - famfs never deletes, renames or links: EPERM.
 * - A logged file's size never changes: size-changing setattr, truncate,
 *   O_TRUNC and fallocate past EOF fail with EPERM; writes past EOF with
 *   EFBIG (data.c). Its mode, owner and time may change: each change is one
 *   attribute-update log entry (docs/format.md).
 * - create makes a *pending* file, whose whole life is pending.c's: a log
 *   slot and its first unit reserved, space allocated as writes arrive,
 *   mode/owner/times kept in memory, logged ("committed") at the release
 *   of its last writable description or at fsync. mknod creates and
 *   commits an empty file at once. This file only dispatches to it.
 * - Owners, modes, times and inode numbers follow attr.c.
 * - A FILE entry flagged ALL_HOSTS_RO is read-only on every host: write
 *   opens fail with EPERM, so no writable descriptor (FUSE or DAX) exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "devset.h"
#include "fused.h"
#include "size.h"

#define XATTR_STATS   "user.famfs.stats"
#define XATTR_SERVER  "user.famfs.server"
#define XATTR_LOGPLAY "user.famfs.logplay"
#define XATTR_ROLE    "user.famfs.role"
#define XATTR_PID     "user.famfs.pid"
#define XATTR_MAP     "user.famfs.map"
#define XATTR_STRIPE  "user.famfs.stripe"
#define XATTR_DEVICES "user.famfs.devices"
#define XATTR_DEVADD  "user.famfs.devadd"

struct fused_node *fused_node_attach(struct famfs_node *n)
{
	if (!n->priv)
		n->priv = calloc(1, sizeof(struct fused_node));
	return n->priv;
}

static struct famfs_node *node(fuse_ino_t ino)
{
	return famfs_ns_node(fused.im->ns, ino);
}

bool fused_is_meta(const struct famfs_node *n)
{
	return n->ino == fused.meta_ino || n->ino == fused.sb_ino || n->ino == fused.log_ino;
}

/* Is @n a logged file that the log marks read-only on every host? */
static bool all_hosts_ro(const struct famfs_node *n)
{
	return n->file && (n->file->flags & FAMFS_FILE_FLAG_ALL_RO);
}

static void fill_entry(const struct famfs_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->generation = 1;
	e->attr_timeout = fused.timeout;
	e->entry_timeout = fused.timeout;
	fused_fill_attr(n, &e->attr);
}

static void rdlock(void)
{
	pthread_rwlock_rdlock(&fused.lock);
}

static void wrlock(void)
{
	pthread_rwlock_wrlock(&fused.lock);
}

static void unlock(void)
{
	pthread_rwlock_unlock(&fused.lock);
}

static void fused_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Sizes are fixed and the server is the only writer: no writeback cache. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Set-ID bits on write (attr.c): the kernel drops them through its page
	 * cache itself (a SETATTR) and flags direct writes for us
	 * (FUSE_WRITE_KILL_SUIDGID); HANDLE_KILLPRIV would leave page-cache
	 * writes, truncate and chown to a server not told who wrote. */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->max_readahead = conn->max_write;
}

static void fused_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct famfs_node *dir, *n;

	rdlock();
	dir = node(parent);
	n = dir && S_ISDIR(dir->mode) ? famfs_ns_lookup(fused.im->ns, dir, name) : NULL;
	if (n)
		fill_entry(n, &e);
	unlock();
	if (!dir) {
		fuse_reply_err(req, ESTALE);
	} else if (!n && fused.writable && S_ISDIR(dir->mode)) {
		/* The master: a name appears only by a create through this
		 * kernel, which replaces the negative dentry, so the kernel may
		 * keep the miss (cp looks a name up twice before creating it).
		 * A discarded pending file's name is invalidated (pending.c). */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fused.timeout;
		fuse_reply_entry(req, &e);
	} else if (!n) {
		/* A client: an error, not a negative entry, so the kernel keeps
		 * no miss and a name the master creates needs no notice (follow.c). */
		fuse_reply_err(req, ENOENT);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static void fused_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct famfs_node *n;
	struct stat st;

	(void)fi;
	rdlock();
	n = node(ino);
	if (n)
		fused_fill_attr(n, &st);
	unlock();
	if (!n)
		fuse_reply_err(req, ESTALE);
	else
		fuse_reply_attr(req, &st, fused.timeout);
}

static void report_nospace(uint64_t size)
{
	fuse_log(FUSE_LOG_ERR, "famfs_fused: cannot allocate %" PRIu64 " bytes: %s full\n", size,
		 fused_log_room() ? "device" : "log");
}

static void fused_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	uint32_t mode, uid, gid, sec, nsec;
	struct fused_node *fn;
	struct famfs_node *n;
	struct stat st;
	bool times;
	int err = 0;

	(void)fi;
	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	wrlock();
	n = node(ino);
	fn = n ? fused_node_state(n) : NULL;
	if (!n || !fn) {
		err = n ? ENOMEM : ESTALE;
		goto out;
	}
	mode = to_set & FUSE_SET_ATTR_MODE ? (uint32_t)attr->st_mode & 07777 : n->mode & 07777;
	uid = to_set & FUSE_SET_ATTR_UID ? (uint32_t)attr->st_uid : n->uid;
	gid = to_set & FUSE_SET_ATTR_GID ? (uint32_t)attr->st_gid : n->gid;
	/*
	 * chown of anything but a directory drops set-user-ID, and set-group-ID
	 * with group execute (chown_common(): ATTR_KILL_SUID | ATTR_KILL_SGID),
	 * whoever does it. The kernel sends that mode itself only when it sees
	 * those bits, and famfs.ko never shows them: the server applies the rule.
	 */
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !(to_set & FUSE_SET_ATTR_MODE) &&
	    !S_ISDIR(n->mode)) {
		mode &= ~(uint32_t)S_ISUID;
		if (mode & S_IXGRP)
			mode &= ~(uint32_t)S_ISGID;
	}
	sec = n->mtime_sec;
	nsec = n->mtime_nsec;
	times = to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		fused_now(&sec, &nsec);
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		/* Outside the log's range (before 1970, after 2106): clamped. */
		fused_time_clamp(attr->st_mtim.tv_sec, attr->st_mtim.tv_nsec, &sec, &nsec);
	}
	if (fused_is_meta(n) &&
	    (to_set & ~(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_CTIME |
			FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))) {
		err = EPERM;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		uint64_t size = (uint64_t)attr->st_size;

		if (S_ISDIR(n->mode))
			err = EISDIR;
		else if (fn->pend)
			err = -fused_pending_truncate(n, size); /* no commit: dd seek= */
		else if (size != n->size)
			err = EPERM; /* famfs file sizes are fixed */
		if (err == ENOSPC)
			report_nospace(size);
		if (err)
			goto out;
	}
	/* atime and ctime are not stored: accepted */
	if (!fused_is_meta(n))
		err = -fused_set_attrs(n, mode, uid, gid, sec, nsec, times);
out:
	if (!err)
		fused_fill_attr(n, &st);
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fused.timeout);
}

static void fused_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct famfs_node *dir;
	char *buf;
	size_t used = 0;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rdlock();
	dir = node(ino);
	if (!dir || !S_ISDIR(dir->mode)) {
		unlock();
		free(buf);
		fuse_reply_err(req, dir ? ENOTDIR : ESTALE);
		return;
	}
	/*
	 * Offsets stay valid when a pending child goes away: after "." 1, after
	 * ".." 2, after a child its inode number + 2. Children are kept in
	 * creation order, so their inode numbers ascend: resume by bisection.
	 */
	uint32_t lo = 0, hi = dir->nkids;

	if (off >= 2) {
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (dir->kids[mid]->ino + 2 <= (uint64_t)off)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	for (uint64_t pos = off < 2 ? (uint64_t)off : 2 + lo; pos < 2ULL + dir->nkids; pos++) {
		const struct famfs_node *n = pos == 0	? dir
					     : pos == 1 ? dir->parent
							: dir->kids[pos - 2];
		const char *name = pos == 0 ? "." : pos == 1 ? ".." : n->name;
		off_t next = pos < 2 ? (off_t)pos + 1 : (off_t)(n->ino + 2);
		size_t want;

		if (plus) {
			struct fuse_entry_param e;

			fill_entry(n, &e);
			if (pos < 2) /* no lookup reference for . and .. */
				e = (struct fuse_entry_param){.attr = e.attr};
			want = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
		} else {
			struct stat st = {.st_ino = fused_st_ino(n), .st_mode = n->mode};

			want = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
		}
		if (want > size - used)
			break;
		used += want;
	}
	unlock();
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fused_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	(void)fi;
	fused_readdir_common(req, ino, size, off, false);
}

static void fused_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	(void)fi;
	fused_readdir_common(req, ino, size, off, true);
}

static void fused_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	bool trunc = fi->flags & O_TRUNC;
	struct fused_node *fn = NULL;
	struct famfs_node *n;
	int err = 0;

	/* O_TRUNC may size a pending file: the kernel negotiated atomic O_TRUNC
	 * (libfuse's default), so the open itself must truncate. */
	if (trunc)
		wrlock();
	else
		rdlock();
	n = node(ino);
	if (n)
		fn = fused_node_state(n);
	if (!n)
		err = ESTALE;
	else if (!fn)
		err = ENOMEM;
	else if (S_ISDIR(n->mode))
		err = EISDIR;
	else if (acc != O_RDONLY && !fused.writable)
		err = EROFS;
	else if (acc != O_RDONLY && (fused_is_meta(n) || all_hosts_ro(n)))
		err = EPERM; /* read-only on every host: no writable descriptor, FUSE or DAX */
	else if (trunc && !fn->pend && n->size > 0)
		err = EPERM; /* would change the size */
	else if (trunc && fn->pend)
		err = -fused_pending_truncate(n, 0);
	if (!err)
		err = -fused_pending_open(n, acc, &fi->fh);
	if (!err) {
		/* Meta files are always read fresh (a client's log changes under it);
		 * data files per -o cache (docs/design.md, "Data path"). */
		fi->direct_io = fused_is_meta(n) || fused.direct_io;
		fi->keep_cache = 0;
		/* Only a pending file's writable descriptions need FLUSH: it tells
		 * a killed writer (discard) from a close, and reports lost data. */
		fi->noflush = !fi->fh;
	}
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_open(req, fi);
}

/*
 * Create a pending file; the caller has checked this is the master. @fh:
 * the creating description's handle, or NULL (mknod). Exclusive lock held.
 * Returns 0 or a positive errno.
 */
static int new_pending(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       uint64_t *fh, struct famfs_node **out)
{
	char path[FAMFS_PATH_MAX + 1];
	struct famfs_node *dir, *n;
	uint32_t perm = mode & 07777, uid, gid;
	int rc;

	dir = node(parent);
	if (!dir)
		return ESTALE;
	if (!S_ISDIR(dir->mode))
		return ENOTDIR;
	if (dir->ino == fused.meta_ino)
		return EPERM;
	rc = famfs_image_child_path(dir, name, path);
	if (!rc)
		rc = famfs_image_name_ok(fused.im, name);
	if (rc)
		return -rc;
	fused_new_owner(req, dir, false, &perm, &uid, &gid);
	rc = famfs_ns_add(fused.im->ns, dir, name, S_IFREG | perm, uid, gid, &n);
	if (rc)
		return -rc;
	rc = fused_node_attach(n) ? fused_pending_new(n, fh) : -ENOMEM;
	if (rc) {
		free(n->priv);
		n->priv = NULL;
		famfs_ns_remove(fused.im->ns, n);
		if (rc == -ENOSPC)
			report_nospace(0);
		return -rc;
	}
	fused_now(&n->mtime_sec, &n->mtime_nsec);
	*out = n;
	return 0;
}

static void fused_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct famfs_node *n;
	int err;

	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	wrlock();
	err = new_pending(req, parent, name, mode, &fi->fh, &n);
	if (!err) {
		fill_entry(n, &e);
		fi->direct_io = fused.direct_io;
		fi->keep_cache = 0;
		fi->noflush = 0; /* the creator's description decides the file's fate */
	}
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_create(req, &e, fi);
}

/* mknod: a file nobody has open, so it is created and committed (empty) at once. */
static void fused_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	struct fuse_entry_param e;
	struct famfs_node *n;
	int err;

	(void)rdev;
	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!S_ISREG(mode)) {
		fuse_reply_err(req, EPERM); /* famfs holds regular files and directories only */
		return;
	}
	wrlock();
	err = new_pending(req, parent, name, mode, NULL, &n);
	if (!err)
		err = -fused_pending_commit_now(n); /* on failure discarded: slot and unit back */
	if (!err)
		fill_entry(n, &e);
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void fused_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;
	struct famfs_node *dir, *n;
	uint32_t perm = mode & 07777, uid, gid;
	int rc;

	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	wrlock();
	dir = node(parent);
	if (!dir)
		rc = -ESTALE;
	else if (dir->ino == fused.meta_ino)
		rc = -EPERM;
	else if (!fused_log_room())
		rc = -ENOSPC; /* the free slots are promised to pending files */
	else {
		fused_new_owner(req, dir, true, &perm, &uid, &gid);
		fused_now(&fused.im->now_sec, &fused.im->now_nsec);
		rc = famfs_image_mkdir(fused.im, dir, name, perm, uid, gid, &n);
	}
	if (!rc && !fused_node_attach(n))
		rc = -ENOMEM; /* logged: it is there after a remount */
	if (!rc)
		fill_entry(n, &e);
	unlock();
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

/* famfs never removes or renames anything. */
static void fused_never(fuse_req_t req)
{
	fuse_reply_err(req, fused.writable ? EPERM : EROFS);
}

static void fused_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fused_never(req);
}

static void fused_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
			 const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fused_never(req);
}

static void fused_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fused_never(req);
}

static void fused_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fused_never(req);
}

/* A pending file's last writable description decides its fate (pending.c). */
static void fused_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct famfs_node *n;

	wrlock();
	n = node(ino);
	if (n && fused_node_state(n))
		fused_pending_release(n, fi->fh);
	unlock();
	fuse_reply_err(req, 0);
}

static void fused_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			    struct fuse_file_info *fi)
{
	uint64_t end = (uint64_t)off + (uint64_t)len;
	struct famfs_node *n;
	int err = 0;

	(void)fi;
	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (mode & ~FALLOC_FL_KEEP_SIZE) {
		fuse_reply_err(req, EOPNOTSUPP); /* no holes, no collapsing: space is never freed */
		return;
	}
	wrlock();
	n = node(ino);
	if (!n)
		err = ESTALE;
	else if (S_ISDIR(n->mode) || fused_is_meta(n))
		err = EPERM;
	else if (fused_is_pending(n)) {
		err = -fused_pending_fallocate(n, end, mode & FALLOC_FL_KEEP_SIZE);
		if (err == ENOSPC)
			report_nospace(end);
	} else if (end <= n->size)
		err = 0; /* already allocated: famfs files are fully allocated at creation */
	else
		err = EPERM; /* would grow a file whose size is fixed */
	unlock();
	fuse_reply_err(req, err);
}

static void fused_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct famfs_fs *fs = fused.im->fs;
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	rdlock();
	sv.f_bsize = fs->geom.alloc_unit;
	sv.f_frsize = fs->geom.alloc_unit;
	/* The whole file system: every device's units (user.famfs.devices: each one). */
	for (uint32_t i = 0; i < fused.im->ap.devs.ndevs && i < FAMFS_MAX_DAXDEVS; i++) {
		const struct famfs_alloc *a = fused.im->ap.devs.dev[i].alloc;

		if (!a)
			continue;
		sv.f_blocks += a->nunits;
		if ((famfs_image_devmask(fused.im) >> i) & 1)
			sv.f_bfree += a->nunits - a->used;
	}
	sv.f_bavail = fused.writable ? sv.f_bfree : 0;
	sv.f_files = fs->geom.nslots; /* one log entry per file or directory */
	sv.f_ffree = famfs_log_free(fs) - fused.log_reserved;
	sv.f_favail = fused.writable ? sv.f_ffree : 0;
	sv.f_namemax = FAMFS_PATH_MAX; /* whole relative path, so also each name */
	sv.f_fsid = FAMFS_STATFS_MAGIC;
	unlock();
	fuse_reply_statfs(req, &sv);
}

/* The file's map as text: "file_type size ext_type" then one extent per line. */
static size_t map_text(struct famfs_node *n, char *buf, size_t size)
{
	struct fmap *m = fused_node_fmap(n);
	size_t o = 0;

	if (!m)
		return 0;
	o += (size_t)snprintf(buf + o, size - o, "size %" PRIu64 "\n", m->file_size);
	if (m->ext_type == FMAP_EXT_INTERLEAVE) {
		for (uint32_t i = 0; i < m->nextents && o < size; i++) {
			const struct fmap_iext *ie = &m->iext[i];

			o += (size_t)snprintf(buf + o, size - o,
					      "interleave nstrips %u chunk 0x%" PRIx64
					      " nbytes %" PRIu64 "\n",
					      ie->nstrips, ie->chunk_size, ie->nbytes);
			for (uint32_t s = 0; s < ie->nstrips && o < size; s++) {
				const struct fmap_extent *x = &m->ext[ie->first_strip + s];

				o += (size_t)snprintf(buf + o, size - o,
						      "strip %u dev %u offset 0x%" PRIx64
						      " len 0x%" PRIx64 "\n",
						      s, x->devindex, x->offset, x->len);
			}
		}
	} else {
		for (uint32_t i = 0; i < m->nextents && o < size; i++)
			o += (size_t)snprintf(
			    buf + o, size - o,
			    "extent %u dev %u offset 0x%" PRIx64 " len 0x%" PRIx64 "\n", i,
			    m->ext[i].devindex, m->ext[i].offset, m->ext[i].len);
	}
	return o < size ? o : size;
}

static void fused_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *buf = NULL;
	size_t len = 0, cap = 65536;
	struct famfs_node *n;
	int err = 0;

	/* The kernel asks for security.capability before every chown and write
	 * (file_remove_privs): answered without allocating. */
	if (strncmp(name, "user.famfs.", 11)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	buf = malloc(cap);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_STATS)) {
		len = fused_stats_text(buf, cap);
	} else if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_SERVER)) {
		rdlock(); /* log_reserved and the replay counters change under the lock */
		len = (size_t)snprintf(
		    buf, cap,
		    "read_invalidated_bytes %lu\nio_faults %lu\nlog_polls %lu\n"
		    "log_retries %lu\npending_files %" PRIu64 "\n"
		    "commit_invalidations %lu\nfmap_align_refused %lu\n",
		    atomic_load(&fused.read_invalidated), atomic_load(&fused.io_faults),
		    atomic_load(&fused.polls), fused.im->replay.retries, fused.log_reserved,
		    atomic_load(&fused.commit_invals), atomic_load(&fused.fmap_align_refused));
		unlock();
	} else if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_PID)) {
		len = (size_t)snprintf(buf, cap, "%ld", (long)getpid());
	} else if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_ROLE)) {
		len = (size_t)snprintf(buf, cap, "%s", fused.writable ? "master" : "client");
	} else if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_LOGPLAY)) {
		long got = fused_catch_up();

		rdlock();
		if (got < 0)
			err = (int)-got;
		else if (fused.im->replay.bad_index >= 0)
			len = (size_t)snprintf(
			    buf, cap, "%ld new entries; stopped at bad entry %" PRId64 "\n", got,
			    fused.im->replay.bad_index);
		else
			len = (size_t)snprintf(buf, cap,
					       "%ld new entries; %" PRIu64 " entries replayed\n",
					       got, fused.im->replay.next);
		unlock();
	} else if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_DEVICES)) {
		rdlock();
		len = fused_devices_text(buf, cap);
		unlock();
	} else if (!strcmp(name, XATTR_MAP)) {
		rdlock();
		n = node(ino);
		if (!n)
			err = ESTALE;
		else if (S_ISDIR(n->mode))
			err = ENODATA;
		else if (!(len = map_text(n, buf, cap)))
			err = ENODATA; /* pending: no map yet */
		unlock();
	} else {
		err = ENODATA;
	}
	if (!err && size == 0)
		fuse_reply_xattr(req, len);
	else if (!err && size < len)
		fuse_reply_err(req, ERANGE);
	else if (!err)
		fuse_reply_buf(req, buf, len);
	else
		fuse_reply_err(req, err);
	free(buf);
}

static void fused_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char root[] = XATTR_STATS "\0" XATTR_SERVER "\0" XATTR_ROLE "\0" XATTR_PID
					       "\0" XATTR_LOGPLAY "\0" XATTR_DEVICES "\0";
	static const char file[] = XATTR_MAP "\0";
	const char *list = ino == FAMFS_ROOT_INO ? root : file;
	size_t len = ino == FAMFS_ROOT_INO ? sizeof(root) - 1 : sizeof(file) - 1;
	struct famfs_node *n;

	rdlock();
	n = node(ino);
	if (n && S_ISDIR(n->mode) && ino != FAMFS_ROOT_INO)
		len = 0;
	unlock();
	if (!n)
		fuse_reply_err(req, ESTALE);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, len);
}

/* "NSTRIPS,CHUNK,NBUCKETS", e.g. "4,2M,8". */
static int parse_stripe(const char *value, size_t size, struct famfs_stripe *st)
{
	char text[64], *save = NULL, *f[3];
	uint64_t v[3];

	if (size >= sizeof(text))
		return -EINVAL;
	memcpy(text, value, size);
	text[size] = '\0';
	f[0] = strtok_r(text, ",", &save);
	f[1] = strtok_r(NULL, ",", &save);
	f[2] = strtok_r(NULL, ",", &save);
	for (int i = 0; i < 3; i++)
		if (!f[i] || famfs_parse_size(f[i], &v[i]))
			return -EINVAL;
	if (strtok_r(NULL, ",", &save) || v[0] == 0 || v[0] > FAMFS_MAX_STRIPS || v[2] == 0 ||
	    v[2] > FAMFS_MAX_BUCKETS || v[0] > v[2] || v[1] == 0 || (v[1] & (v[1] - 1)) ||
	    v[1] % fused.im->fs->geom.alloc_unit || v[1] > (1ULL << 31))
		return -EINVAL;
	*st = (struct famfs_stripe){
	    .nstrips = (uint32_t)v[0], .chunk_size = v[1], .nbuckets = (uint32_t)v[2]};
	return 0;
}

/*
 * user.famfs.devadd on the root of the master's mount: "FLAGS PATH" (the
 * famfs_image_devadd() flags in decimal, an absolute path). famfs devadd
 * MOUNTPOINT DEVICE sets it; the reply is the devadd's errno.
 */
static int devadd_xattr(const char *value, size_t size)
{
	char text[PATH_MAX + 16], path[PATH_MAX], *end;
	unsigned long flags;
	uint32_t index;
	int rc;

	if (size == 0 || size >= sizeof(text))
		return EINVAL;
	memcpy(text, value, size);
	text[size] = '\0';
	flags = strtoul(text, &end, 10);
	if (end == text || *end != ' ' ||
	    (flags & ~(unsigned long)(FAMFS_DEVADD_FORCE | FAMFS_DEVADD_SMALL)))
		return EINVAL;
	if (!fused.writable)
		return EROFS;
	rc = fused_devices_path(end + 1, path); /* no lock: it may look things up */
	if (rc)
		return -rc;
	wrlock();
	rc = fused_devices_add(path, (unsigned int)flags, &index);
	unlock();
	/* Added but the primary's informational flag not set: say added (the text tells). */
	return index != FAMFS_DEVADD_NONE ? 0 : -rc;
}

/* user.famfs.stripe on a file not yet sized: allocate it interleaved. */
static void fused_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			   size_t size, int flags)
{
	struct famfs_stripe st;
	struct famfs_node *n;
	int err = 0;

	(void)flags;
	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (ino == FAMFS_ROOT_INO && !strcmp(name, XATTR_DEVADD)) {
		fuse_reply_err(req, devadd_xattr(value, size));
		return;
	}
	if (strcmp(name, XATTR_STRIPE)) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	wrlock();
	n = node(ino);
	if (!n)
		err = ESTALE;
	else if (!fused_is_pending(n))
		err = EPERM; /* a logged file's layout is fixed */
	else if (parse_stripe(value, size, &st) || fused_devices_check_stripe(&st))
		err = EINVAL; /* also: more strips than devices */
	else
		err = -fused_pending_set_stripe(n, &st);
	unlock();
	fuse_reply_err(req, err);
}

static void fused_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, fused.writable ? ENOTSUP : EROFS);
}

/* close(2) of a pending file's writable descriptor (the others have noflush). */
static void fused_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct famfs_node *n;
	int err = 0;

	rdlock();
	n = node(ino);
	if (n && fused_is_pending(n))
		err = -fused_pending_flush(n, fi->fh, ctx->pid);
	unlock();
	fuse_reply_err(req, err);
}

/*
 * fsync/fdatasync: the device's data durable (design.md, "Durability"); a
 * pending file's writable description commits it now, at its current size,
 * which is then fixed (pending.c).
 */
static void fused_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct famfs_node *n;
	int err;

	(void)datasync;
	err = fused.writable ? -fused_media_sync() : 0;
	if (!err && fused.writable) {
		wrlock();
		n = node(ino);
		if (n && fused_is_pending(n))
			err = -fused_pending_fsync(n, fi->fh);
		unlock();
	}
	fuse_reply_err(req, err);
}

static void fused_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, fused.writable ? -fused_media_sync() : 0);
}

const struct fuse_lowlevel_ops fused_ops = {
    .init = fused_init,
    .lookup = fused_lookup,
    .getattr = fused_getattr,
    .setattr = fused_setattr,
    .readdir = fused_readdir,
    .readdirplus = fused_readdirplus,
    .open = fused_open,
    .create = fused_create,
    .mknod = fused_mknod,
    .mkdir = fused_mkdir,
    .unlink = fused_unlink,
    .rmdir = fused_unlink,
    .rename = fused_rename,
    .link = fused_link,
    .symlink = fused_symlink,
    .release = fused_release,
    .read = fused_read,
    .write = fused_write,
    .fallocate = fused_fallocate,
    .statfs = fused_statfs,
    .getxattr = fused_getxattr,
    .listxattr = fused_listxattr,
    .setxattr = fused_setxattr,
    .removexattr = fused_removexattr,
    .flush = fused_flush,
    .fsync = fused_fsync,
    .fsyncdir = fused_fsyncdir,
};
