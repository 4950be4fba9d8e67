// SPDX-License-Identifier: Apache-2.0
/*
 * Attributes: what stat shows of a node, and the rules of Linux for the
 * owner and mode of a new node and for set-ID bits that the server applies
 * itself (a FUSE file system owns its inodes' attributes):
 *
 * - Inode numbers. stat shows, for anything in the log, a number derived
 *   from its log slot (so every host and every mount shows the same one),
 *   for the root and .meta their own small numbers, and for a pending file
 *   a number past every log slot's (it is not in the log yet). The kernel
 *   takes the new number at the commit's attribute refresh. The FUSE nodeid
 *   is another thing: the namespace's index of the node, per mount.
 * - New nodes (inode_init_owner): in a set-group-ID directory a new file or
 *   directory takes the directory's group, and a new directory is
 *   set-group-ID too; a new file keeps S_ISGID (with S_IXGRP) only if its
 *   creator is in that group or has CAP_FSETID (mode_strip_sgid).
 * - Writes (file_remove_privs): a write by a task without CAP_FSETID drops
 *   S_ISUID, and S_ISGID when S_IXGRP is set or the writer is not in the
 *   file's group, logged like a chmod so every host sees it. The kernel says which writes
 * (FUSE_WRITE_KILL_SUIDGID); for writes through its page cache it sends the chmod itself (the
 *   server declines FUSE_CAP_HANDLE_KILLPRIV, ops.c).
 * - Times are clamped to what the log holds (fused_time_clamp()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fused.h"

#define CAP_FSETID_BIT 4 /* linux/capability.h: CAP_FSETID */

uint64_t fused_st_ino(const struct famfs_node *n)
{
	/* After the root and the three .meta nodes, in log order. */
	uint64_t first = fused.log_ino + 1;

	if (n->log_index >= 0)
		return first + (uint64_t)n->log_index;
	if (fused_is_pending(n))
		return first + fused.im->fs->geom.nslots + n->ino;
	return n->ino;
}

void fused_fill_attr(const struct famfs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = fused_st_ino(n);
	st->st_mode = n->mode;
	if (n->file && (n->file->flags & FAMFS_FILE_FLAG_ALL_RO))
		st->st_mode &= ~(mode_t)0222;
	st->st_nlink = S_ISDIR(n->mode) ? 2 + n->nsubdirs : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = (off_t)n->size;
	/* Preferred I/O size: a 2 MiB region, whatever the allocation unit. */
	st->st_blksize = (blksize_t)FAMFS_REGION;
	if (n->file)
		st->st_blocks = (blkcnt_t)(famfs_map_capacity(n->file) / 512);
	if (fused_is_pending(n)) {
		uint64_t size, bytes;

		fused_pending_stat(n, &size, &bytes);
		st->st_size = (off_t)size;
		st->st_blocks = (blkcnt_t)(bytes / 512);
	}
	/* Times come from the log, so every mount and host shows the same ones. */
	st->st_mtim.tv_sec = n->mtime_sec;
	st->st_mtim.tv_nsec = n->mtime_nsec;
	st->st_atim = st->st_ctim = st->st_mtim;
}

/* Does task @pid have capability @cap in its effective set (/proc/PID/status)? */
static bool task_capable(pid_t pid, int cap)
{
	char path[64], line[256];
	bool yes = false;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			yes = (strtoull(line + 7, NULL, 16) >> cap) & 1;
			break;
		}
	}
	fclose(f);
	return yes;
}

/* Is the caller of @req in group @gid (primary or supplementary)? */
static bool in_group(fuse_req_t req, uint32_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t list[256];
	int k;

	if (ctx->gid == gid)
		return true;
	k = fuse_req_getgroups(req, 256, list);
	for (int i = 0; i < k && i < 256; i++)
		if (list[i] == gid)
			return true;
	return false;
}

/* Is the caller of @req in group @gid, or has it CAP_FSETID? */
static bool in_group_or_capable(fuse_req_t req, uint32_t gid)
{
	return in_group(req, gid) || task_capable(fuse_req_ctx(req)->pid, CAP_FSETID_BIT);
}

void fused_new_owner(fuse_req_t req, const struct famfs_node *dir, bool isdir, uint32_t *mode,
		     uint32_t *uid, uint32_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*uid = ctx->uid;
	*gid = ctx->gid;
	*mode &= 07777;
	if (!(dir->mode & S_ISGID))
		return;
	*gid = dir->gid;
	if (isdir)
		*mode |= S_ISGID;
	else if ((*mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		 !in_group_or_capable(req, dir->gid))
		*mode &= ~(uint32_t)S_ISGID;
}

int fused_set_attrs(struct famfs_node *n, uint32_t mode, uint32_t uid, uint32_t gid, uint32_t sec,
		    uint32_t nsec, bool times)
{
	bool changed = mode != (n->mode & 07777) || uid != n->uid || gid != n->gid ||
		       (times && (sec != n->mtime_sec || nsec != n->mtime_nsec));

	if (!changed)
		return 0;
	if (fused_is_pending(n)) {
		/* Kept in memory, logged with the file at commit. */
		n->mode = (n->mode & S_IFMT) | mode;
		n->uid = uid;
		n->gid = gid;
		if (times) {
			n->mtime_sec = sec;
			n->mtime_nsec = nsec;
			fused_pending_times_set(n);
		}
		return 0;
	}
	if (n->log_index < 0)
		return -EPERM; /* the root: no log entry names it */
	if (!fused_log_room())
		return -ENOSPC;
	return famfs_image_update_attrs(fused.im, n, mode, uid, gid, times ? sec : n->mtime_sec,
					times ? nsec : n->mtime_nsec);
}

int fused_kill_suid(fuse_req_t req, fuse_ino_t ino)
{
	struct famfs_node *n;
	uint32_t mode;
	int rc = 0;

	pthread_rwlock_wrlock(&fused.lock);
	n = famfs_ns_node(fused.im->ns, ino);
	if (!n) {
		rc = -ESTALE;
	} else {
		/* S_ISGID without S_IXGRP marks mandatory locking: kept for the
		 * file's group only (the writer lacks CAP_FSETID). */
		mode = n->mode & 07777 & ~(uint32_t)S_ISUID;
		if ((mode & S_ISGID) && ((mode & S_IXGRP) || !in_group(req, n->gid)))
			mode &= ~(uint32_t)S_ISGID;
		rc = fused_set_attrs(n, mode, n->uid, n->gid, 0, 0, false);
	}
	pthread_rwlock_unlock(&fused.lock);
	if (!rc)
		fused_notify_inode(ino, false); /* the kernel's cached mode */
	return rc;
}
