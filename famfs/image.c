// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devset.h"
#include "image.h"
#include "path.h"

int famfs_image_open(const char *path, unsigned int flags, struct famfs_image **out,
		     struct famfs_checker *c)
{
	struct famfs_image *im = calloc(1, sizeof(*im));
	int rc;

	if (!im)
		return -ENOMEM;
	rc = famfs_fs_open(path, flags, &im->fs, c);
	if (!rc)
		rc = famfs_fs_servable(im->fs, c);
	if (rc) {
		famfs_fs_close(im->fs);
		free(im);
		return rc;
	}
	im->ns = famfs_ns_new();
	rc = im->ns ? famfs_alloc_init(&im->alloc, im->fs->geom.devsize, im->fs->geom.meta_end,
				       im->fs->geom.alloc_unit)
		    : -ENOMEM;
	if (rc) {
		famfs_image_close(im);
		return rc;
	}
	im->ap = (struct famfs_applier){
	    .g = &im->fs->geom, .ns = im->ns, .alloc = &im->alloc, .log = im->fs->ent};
	famfs_devtab_seed(&im->ap.devs, &im->fs->geom, &im->alloc);
	im->fs->geom.devs = &im->ap.devs; /* extents on the devices the log adds */
	im->set = famfs_devset_new(im, flags);
	if (!im->set) {
		famfs_image_close(im);
		return -ENOMEM;
	}
	im->replay.bad_index = -1;
	*out = im;
	return 0;
}

void famfs_image_close(struct famfs_image *im)
{
	if (!im)
		return;
	famfs_devset_free(im->set);
	famfs_applier_release(&im->ap);
	famfs_alloc_destroy(&im->alloc);
	famfs_ns_free(im->ns);
	famfs_fs_close(im->fs);
	free(im);
}

struct catch_up {
	struct famfs_image *im;
	famfs_node_fn fn;
	void *arg;
};

/*
 * Devices: a file on a device this image does not serve stops the replay;
 * a device the log adds is opened here (FAMFS_FS_DEVICES), or the replay
 * stops at its entry, which then changes nothing.
 */
static int apply(const struct famfs_log_entry *e, uint64_t index, void *arg,
		 struct famfs_checker *c)
{
	struct catch_up *cu = arg;
	struct famfs_image *im = cu->im;
	uint32_t type = famfs_entry_type(&im->fs->geom, e), away;
	struct famfs_node *n;
	int v;

	if (type == FAMFS_LOG_FILE && !(im->set->flags & FAMFS_FS_NODATA) &&
	    (away = famfs_file_devices(&e->file) & ~famfs_image_devmask(im))) {
		famfs_report(c, FAMFS_P_DEV_UNSERVED, (int64_t)index,
			     "\"%s\" has data on device %d, which this opener does not serve",
			     e->file.relpath, __builtin_ctz(away));
		return FAMFS_REPLAY_STOP;
	}
	v = famfs_apply_checked(&im->ap, e, index, c, &n); /* replay checked it */
	if (v == FAMFS_IGNORED && type == FAMFS_LOG_ADD_DAXDEV &&
	    (im->set->flags & FAMFS_FS_DEVICES) && famfs_image_attach(im, e->daxdev.index, c)) {
		famfs_devtab_drop_last(&im->ap.devs);
		return FAMFS_REPLAY_STOP;
	}
	switch (v) {
	case FAMFS_APPLIED:
		if (n && cu->fn)
			cu->fn(n, cu->arg);
		return 0;
	case FAMFS_IGNORED:
		return 0;
	case FAMFS_SKIPPED:
		cu->im->skipped++;
		return 0;
	case FAMFS_BAD:
		return FAMFS_REPLAY_STOP;
	default:
		return v; /* -ENOMEM */
	}
}

long famfs_image_catch_up(struct famfs_image *im, famfs_node_fn fn, void *arg)
{
	struct catch_up cu = {im, fn, arg};

	return famfs_log_replay(im->fs, &im->replay, apply, &cu);
}

int famfs_image_child_path(const struct famfs_node *dir, const char *name, char *buf)
{
	size_t dlen, nlen = strlen(name);
	int rc;

	if (!nlen || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	rc = famfs_ns_path(dir, buf, FAMFS_PATH_MAX + 1);
	if (rc)
		return rc;
	dlen = strlen(buf);
	if (dlen + (dlen ? 1 : 0) + nlen > FAMFS_PATH_MAX)
		return -ENAMETOOLONG;
	if (dlen)
		buf[dlen++] = '/';
	memcpy(buf + dlen, name, nlen + 1);
	return 0;
}

int famfs_image_name_ok(const struct famfs_image *im, const char *name)
{
	if (famfs_fs_compat(im->fs) && !famfs_utf8_valid(name, strlen(name)))
		return -EILSEQ;
	return 0;
}

/* Checks common to creating anything in @dir. */
static int may_create(struct famfs_image *im, struct famfs_node *dir, const char *name,
		      char *relpath)
{
	int rc;

	if (!im->fs->writable)
		return -EROFS;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (famfs_ns_lookup(im->ns, dir, name))
		return -EEXIST;
	rc = famfs_image_name_ok(im, name);
	if (rc)
		return rc;
	return famfs_image_child_path(dir, name, relpath);
}

/* The replay cursor follows our own appends: we are the only writer. */
static int append(struct famfs_image *im, struct famfs_log_entry *e)
{
	uint64_t index;
	int rc = famfs_log_append(im->fs, e, &index);

	if (!rc && im->replay.next == index)
		im->replay.next = index + 1;
	return rc;
}

int famfs_image_append(struct famfs_image *im, struct famfs_log_entry *e)
{
	return append(im, e);
}

int famfs_image_mkdir(struct famfs_image *im, struct famfs_node *dir, const char *name,
		      uint32_t mode, uint32_t uid, uint32_t gid, struct famfs_node **out)
{
	char relpath[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry e;
	struct famfs_node *n;
	int rc = may_create(im, dir, name, relpath);

	if (rc)
		return rc;
	rc = famfs_entry_init_mkdir(&e, relpath, mode, uid, gid);
	if (rc)
		return rc;
	e.mkdir.mtime_sec = im->now_sec;
	e.mkdir.mtime_nsec = im->now_nsec;
	/* The node first: nothing may fail once the entry is in the log. */
	rc = famfs_ns_add(im->ns, dir, name, S_IFDIR | (mode & 07777), uid, gid, &n);
	if (rc)
		return rc;
	rc = append(im, &e);
	if (rc) {
		famfs_ns_remove(im->ns, n); /* never logged: leaves no trace */
		return rc;
	}
	n->log_index = (int32_t)im->replay.next - 1;
	n->mtime_sec = e.mkdir.mtime_sec;
	n->mtime_nsec = e.mkdir.mtime_nsec;
	if (out)
		*out = n;
	return 0;
}

/* Allocate, log and attach extents to @node (already in the namespace). */
static int log_file(struct famfs_image *im, struct famfs_node *node, const char *relpath,
		    uint64_t size, const struct famfs_stripe *stripe)
{
	struct famfs_log_entry e;
	int rc;

	rc = famfs_entry_init_file(&e, relpath, size, node->mode, node->uid, node->gid);
	if (rc)
		return rc;
	if (!famfs_fs_compat(im->fs)) { /* a compat image records no file times */
		e.file.mtime_sec = im->now_sec;
		e.file.mtime_nsec = im->now_nsec;
	}
	node->mtime_sec = e.file.mtime_sec;
	node->mtime_nsec = e.file.mtime_nsec;
	if (famfs_log_free(im->fs) == 0)
		return -ENOSPC;		   /* log full: do not touch the bitmap */
	rc = famfs_ns_reserve_map(im->ns); /* before the append: nothing may fail after it */
	if (rc)
		return rc;
	rc = famfs_devtab_alloc_file(&im->ap.devs, famfs_image_devmask(im), size, stripe, &e.file);
	if (!rc) {
		rc = append(im, &e);
		if (rc)
			famfs_devtab_unmark_file(&im->ap.devs, &e.file);
	}
	if (rc)
		return rc;
	famfs_ns_attach_file(im->ns, node, &e.file, (int64_t)im->replay.next - 1);
	return 0;
}

int famfs_image_mkfile(struct famfs_image *im, struct famfs_node *dir, const char *name,
		       uint64_t size, uint32_t mode, uint32_t uid, uint32_t gid,
		       const struct famfs_stripe *stripe, struct famfs_node **out)
{
	char relpath[FAMFS_PATH_MAX + 1];
	struct famfs_node *n;
	int rc = may_create(im, dir, name, relpath);

	if (rc)
		return rc;
	rc = famfs_ns_add(im->ns, dir, name, S_IFREG | (mode & 07777), uid, gid, &n);
	if (rc)
		return rc;
	rc = log_file(im, n, relpath, size, stripe);
	if (rc) {
		famfs_ns_remove(im->ns, n); /* never logged: leaves no trace */
		return rc;
	}
	if (out)
		*out = n;
	return 0;
}

/*
 * The log path of @node for its file entry, into @relpath (@size bytes): 0,
 * -EROFS (the image is read-only), -EEXIST (@node already has a map or is
 * not a regular file) or -ENAMETOOLONG.
 */
static int unlogged_file_path(const struct famfs_image *im, const struct famfs_node *node,
			      char *relpath, size_t size)
{
	if (!im->fs->writable)
		return -EROFS;
	if (node->file || !S_ISREG(node->mode))
		return -EEXIST;
	return famfs_ns_path(node, relpath, size);
}

int famfs_image_log_file(struct famfs_image *im, struct famfs_node *node, uint64_t size,
			 const struct famfs_stripe *stripe)
{
	char relpath[FAMFS_PATH_MAX + 1];
	int rc;

	rc = unlogged_file_path(im, node, relpath, sizeof(relpath));
	if (rc)
		return rc;
	return log_file(im, node, relpath, size, stripe);
}

int famfs_image_commit_file(struct famfs_image *im, struct famfs_node *node,
			    const struct famfs_file_body *f, uint32_t mtime_sec,
			    uint32_t mtime_nsec)
{
	char relpath[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry e;
	int rc;

	rc = unlogged_file_path(im, node, relpath, sizeof(relpath));
	if (rc)
		return rc;
	rc = famfs_entry_init_file(&e, relpath, f->size, node->mode, node->uid, node->gid);
	if (rc)
		return rc;
	e.file.ext_type = f->ext_type;
	e.file.nextents = f->nextents;
	memcpy(e.file.se, f->se, sizeof(e.file) - offsetof(struct famfs_file_body, se));
	if (famfs_fs_compat(im->fs))
		mtime_sec = mtime_nsec = 0; /* a compat image records no file times */
	e.file.mtime_sec = mtime_sec;
	e.file.mtime_nsec = mtime_nsec;
	/* Room for the map before the append: once the entry is in the log nothing
	 * may fail, or a retry would log the file twice (ENT_OVERLAP at replay). */
	if (!famfs_map_size(&e.file))
		return -EINVAL;
	rc = famfs_ns_reserve_map(im->ns);
	if (!rc)
		rc = append(im, &e);
	if (rc)
		return rc;
	node->mtime_sec = mtime_sec;
	node->mtime_nsec = mtime_nsec;
	famfs_ns_attach_file(im->ns, node, &e.file, (int64_t)im->replay.next - 1);
	return 0;
}

int famfs_image_update_attrs(struct famfs_image *im, struct famfs_node *node, uint32_t mode,
			     uint32_t uid, uint32_t gid, uint32_t mtime_sec, uint32_t mtime_nsec)
{
	char relpath[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry e;
	int rc;

	if (!im->fs->writable)
		return -EROFS;
	if (node->log_index < 0 || node->parent == node)
		return -EINVAL; /* not logged, or the root (which no entry names) */
	if (famfs_fs_compat(im->fs) && !S_ISDIR(node->mode)) {
		/* No FILE attribute updates in a compat image: a new time is not
		 * kept (files have none there), a new mode or owner is refused. */
		if (mode == (node->mode & 07777) && uid == node->uid && gid == node->gid)
			return 0;
		return -EPERM;
	}
	rc = famfs_ns_path(node, relpath, sizeof(relpath));
	if (rc)
		return rc;
	if (S_ISDIR(node->mode)) {
		rc = famfs_entry_init_mkdir(&e, relpath, mode, uid, gid);
		e.mkdir.mtime_sec = mtime_sec;
		e.mkdir.mtime_nsec = mtime_nsec;
	} else {
		rc = famfs_entry_init_file(&e, relpath, 0, mode, uid, gid);
		e.file.mtime_sec = mtime_sec;
		e.file.mtime_nsec = mtime_nsec;
	}
	if (rc)
		return rc;
	rc = append(im, &e);
	if (rc)
		return rc;
	node->mode = (node->mode & S_IFMT) | (mode & 07777);
	node->uid = uid;
	node->gid = gid;
	node->mtime_sec = mtime_sec;
	node->mtime_nsec = mtime_nsec;
	return 0;
}
