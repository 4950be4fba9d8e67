// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "crc.h"
#include "devset.h"
#include "image.h"
#include "log.h"
#include "path.h"
#include "resolve.h"
#include "super.h"

int famfs_devtab_real_size(void *arg, const struct famfs_daxdev_body *d, uint64_t *size)
{
	const struct famfs_size_arg *a = arg;
	struct famfs_member m;
	struct famfs_found f;
	int rc = famfs_resolve(a->fs_uuid, d->uuid, a->hints, a->nhints, &f);

	if (rc)
		return rc;
	rc = famfs_member_read(f.path[0], &m);
	if (rc != 1)
		return rc < 0 ? rc : -ENOENT;
	*size = m.size;
	return 0;
}

/* The device table's real_size hook of an image opened with FAMFS_FS_DEVICES (@arg: its set). */
static int set_real_size(void *arg, const struct famfs_daxdev_body *d, uint64_t *size)
{
	const struct famfs_devset *set = arg;
	struct famfs_size_arg a = {.hints = set->hints, .nhints = set->nhints};

	memcpy(a.fs_uuid, set->fs_uuid, FAMFS_UUID_LEN);
	return famfs_devtab_real_size(&a, d, size);
}

struct famfs_devset *famfs_devset_new(struct famfs_image *im, unsigned int flags)
{
	struct famfs_devset *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	set->mask = 1;
	set->flags = flags;
	set->dev[0] = im->fs->dev;
	set->data[0] = im->fs->data;
	memcpy(set->fs_uuid, im->fs->sb_copy.fs_uuid, FAMFS_UUID_LEN);
	if (flags & FAMFS_FS_DEVICES) {
		/* A device opened for data: its bitmap no larger than it is. */
		im->ap.devs.real_size = set_real_size;
		im->ap.devs.real_size_arg = set;
	}
	return set;
}

void famfs_devset_free(struct famfs_devset *set)
{
	if (!set)
		return;
	for (uint32_t i = 1; i < FAMFS_MAX_DAXDEVS; i++)
		famfs_dev_close(set->dev[i]);
	free(set);
}

uint32_t famfs_image_devmask(const struct famfs_image *im)
{
	return im->set->mask;
}

struct famfs_dev *famfs_image_dev(const struct famfs_image *im, uint32_t index)
{
	if (index == 0)
		return im->fs->dev;
	if (index >= FAMFS_MAX_DAXDEVS)
		return NULL;
	return im->set->dev[index];
}

/* "device 2 (uuid ..., 8.00 GiB)" into @buf. */
static const char *devname(char *buf, size_t size, uint32_t index, const uint8_t uuid[16],
			   uint64_t bytes)
{
	char u[UUID_STR_LEN];

	uuid_unparse(uuid, u);
	snprintf(buf, size, "device %u (uuid %s, %" PRIu64 " bytes)", index, u, bytes);
	return buf;
}

/* Is the superblock @sb what device @index of the file system should carry? */
static bool is_our_secondary(const struct famfs_superblock *sb, const uint8_t fs_uuid[16],
			     const uint8_t primary_uuid[16], const uint8_t uuid[16])
{
	return famfs_sb_is_secondary(sb) && !memcmp(sb->fs_uuid, fs_uuid, FAMFS_UUID_LEN) &&
	       !memcmp(sb->primary_uuid, primary_uuid, FAMFS_UUID_LEN) &&
	       !memcmp(sb->device_uuid, uuid, FAMFS_UUID_LEN);
}

int famfs_device_check(const uint8_t fs_uuid[FAMFS_UUID_LEN],
		       const uint8_t primary_uuid[FAMFS_UUID_LEN], uint32_t index,
		       const uint8_t uuid[FAMFS_UUID_LEN], uint64_t size, int64_t log_index,
		       const char *const *hints, uint32_t nhints, struct famfs_devcheck *out,
		       struct famfs_checker *c)
{
	struct famfs_member m;
	struct famfs_found f;
	char name[128];
	int rc;

	memset(out, 0, sizeof(*out));
	out->code = FAMFS_P_COUNT;
	devname(name, sizeof(name), index, uuid, size);
	rc = famfs_resolve(fs_uuid, uuid, hints, nhints, &f);
	if (rc == -ENOENT) {
		out->code = FAMFS_P_DEV_MISSING;
		famfs_report(c, out->code, log_index, "%s: no device of this host carries it",
			     name);
		return rc;
	}
	if (rc == -ENOTUNIQ) {
		out->code = FAMFS_P_DEV_DUPLICATE;
		snprintf(out->path, sizeof(out->path), "%s", f.path[0]);
		snprintf(out->other, sizeof(out->other), "%s", f.path[1]);
		famfs_report(c, out->code, log_index, "%s: both %s and %s carry it", name,
			     famfs_esc(f.path[0]), famfs_esc(f.path[1]));
		return rc;
	}
	snprintf(out->path, sizeof(out->path), "%s", f.path[0]);
	rc = famfs_member_read(f.path[0], &m);
	if (rc != 1) {
		out->code = FAMFS_P_DEV_MISSING;
		famfs_report(c, out->code, log_index, "%s: %s: %s", name, famfs_esc(f.path[0]),
			     rc < 0 ? strerror(-rc) : "its superblock changed while read");
		return rc < 0 ? rc : -ENOENT;
	}
	if (!is_our_secondary(&m.sb, fs_uuid, primary_uuid, uuid)) {
		char p[UUID_STR_LEN];

		uuid_unparse(m.sb.primary_uuid, p);
		out->code = FAMFS_P_DEV_FOREIGN;
		famfs_report(c, out->code, log_index, "%s: %s carries its uuid but %s", name,
			     famfs_esc(f.path[0]),
			     m.secondary ? "names another primary device" : "is a primary");
		return -EUCLEAN;
	}
	if (m.size < size) {
		out->code = FAMFS_P_DEV_SIZE;
		famfs_report(c, out->code, log_index, "%s: %s is %" PRIu64 " bytes", name,
			     famfs_esc(f.path[0]), m.size);
		return -EUCLEAN;
	}
	return 0;
}

int famfs_image_attach(struct famfs_image *im, uint32_t index, struct famfs_checker *c)
{
	const struct famfs_devtab_dev *d = &im->ap.devs.dev[index];
	const struct famfs_superblock *sb = im->fs->sb;
	struct famfs_devset *set = im->set;
	struct famfs_superblock copy;
	struct famfs_devcheck chk;
	struct famfs_dev *dev = NULL;
	bool map_all;
	uint8_t *win;
	char name[128];
	int rc;

	if (index == 0 || index >= im->ap.devs.ndevs)
		return -EINVAL;
	rc = famfs_device_check(sb->fs_uuid, sb->device_uuid, index, d->uuid, d->size, d->log_index,
				set->hints, set->nhints, &chk, c);
	if (rc)
		return rc;
	if (set->prepare)
		set->prepare(chk.path, set->prepare_arg);
	if (set->flags & FAMFS_FS_EXCL) /* a server: claimed as the primary is */
		rc = famfs_dev_open_served(chk.path, im->fs->writable ? FAMFS_DEV_WRITE : 0, &dev);
	else
		rc = famfs_dev_open(chk.path, im->fs->writable ? FAMFS_DEV_WRITE : 0, &dev);
	if (!rc)
		rc = famfs_dev_hold(dev);
	if (rc)
		goto fail;
	/* Check again what we now hold open: the device might have changed since. */
	map_all = (set->flags & FAMFS_FS_MAP_ALL) && famfs_dev_mappable(dev);
	win = famfs_dev_map(dev, map_all ? dev->size : FAMFS_SUPERBLOCK_SIZE);
	if (!win) {
		rc = -errno;
		goto fail;
	}
	rc = famfs_dev_invalidate(dev, win, sizeof(copy));
	if (!rc)
		rc = famfs_dev_load(dev, &copy, win, sizeof(copy));
	if (rc)
		goto fail;
	if (famfs_sb_check_secondary(&copy, dev->size, NULL) ||
	    !is_our_secondary(&copy, sb->fs_uuid, sb->device_uuid, d->uuid) ||
	    dev->size < d->size) {
		famfs_report(c, FAMFS_P_DEV_FOREIGN, d->log_index, "%s: %s changed while opened",
			     devname(name, sizeof(name), index, d->uuid, d->size),
			     famfs_esc(chk.path));
		rc = -EUCLEAN;
		goto fail;
	}
	set->dev[index] = dev;
	set->data[index] = map_all ? win : NULL;
	set->mask |= 1U << index;
	return 0;
fail:
	if (rc != -EUCLEAN)
		famfs_report(c, FAMFS_P_DEV_MISSING, d->log_index, "%s: %s: %s",
			     devname(name, sizeof(name), index, d->uuid, d->size),
			     famfs_esc(chk.path), strerror(-rc));
	famfs_dev_close(dev);
	return rc;
}

int famfs_find_primary(const struct famfs_superblock *sb, const char *const *hints, uint32_t nhints,
		       char *path, size_t size, struct famfs_found *found)
{
	struct famfs_member m;
	struct famfs_found f;
	int rc = famfs_resolve(sb->fs_uuid, sb->primary_uuid, hints, nhints, &f);

	if (found)
		*found = f;
	if (rc)
		return rc;
	if (famfs_member_read(f.path[0], &m) != 1 || m.secondary)
		return -EUCLEAN;
	snprintf(path, size, "%s", f.path[0]);
	return 0;
}

int famfs_write_secondary(struct famfs_dev *dev, const struct famfs_superblock *sb)
{
	uint8_t *win = famfs_dev_map(dev, FAMFS_SUPERBLOCK_SIZE);
	int rc;

	if (!win)
		return -errno;
	memset(win, 0, 4096);
	memcpy(win, sb, sizeof(*sb));
	rc = famfs_dev_flush(dev, win, 4096);
	if (!rc)
		rc = famfs_dev_sync(dev);
	return rc;
}

/* Record what @path holds now in this host's cache (failure to write it is not an error). */
static void remember(const char *path)
{
	struct famfs_member m;

	if (famfs_member_read(path, &m) == 1)
		famfs_cache_record(&m);
}

static bool uuid_taken(const uint8_t u[16], const uint8_t (*uuids)[FAMFS_UUID_LEN], uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!memcmp(u, uuids[i], FAMFS_UUID_LEN))
			return true;
	return false;
}

/* A secondary superblock for @dev whose device uuid none of @uuids[0..n) has. */
static void format_secondary(struct famfs_superblock *ssb, const struct famfs_superblock *primary,
			     const struct famfs_dev *dev, const uint8_t (*uuids)[FAMFS_UUID_LEN],
			     uint32_t n)
{
	do
		famfs_sb_format_secondary(ssb, primary, dev->size, dev->path);
	while (uuid_taken(ssb->device_uuid, uuids, n));
}

int famfs_mkfs_devices(struct famfs_dev **devs, uint32_t n, uint64_t log_len, uint64_t alloc_unit,
		       const uint8_t system_uuid[FAMFS_UUID_LEN])
{
	uint8_t uuids[FAMFS_MAX_DAXDEVS][FAMFS_UUID_LEN];
	struct famfs_superblock sb, ssb;
	struct famfs_log_header *hdr;
	struct famfs_log_entry *ent;
	struct famfs_geom g;
	int rc;

	if (n < 2 || n > FAMFS_MAX_DAXDEVS)
		return -EINVAL;
	for (uint32_t i = 1; i < n; i++)
		if (devs[i]->size < FAMFS_DAXDEV_SIZE_MIN || devs[i]->size > FAMFS_DAXDEV_SIZE_MAX)
			return -EINVAL;
	/* 1. No file system on the primary from here on; an empty log. */
	rc = famfs_mkfs_begin(devs[0], log_len, alloc_unit);
	if (rc)
		return rc;
	famfs_sb_format(&sb, devs[0]->size, log_len, alloc_unit, system_uuid, devs[0]->path);
	sb.sb_flags = FAMFS_SB_PRIMARY;
	famfs_geom_from_sb(&g, &sb);
	memcpy(uuids[0], sb.device_uuid, FAMFS_UUID_LEN);
	/* 2. The secondaries' superblocks. */
	for (uint32_t i = 1; i < n; i++) {
		format_secondary(&ssb, &sb, devs[i], uuids, i);
		memcpy(uuids[i], ssb.device_uuid, FAMFS_UUID_LEN);
		rc = famfs_write_secondary(devs[i], &ssb);
		if (rc)
			return rc;
	}
	/* 3. Their ADD_DAXDEV entries, then the header that publishes them. */
	hdr = (struct famfs_log_header *)(devs[0]->map + FAMFS_LOG_OFFSET);
	ent = (struct famfs_log_entry *)(hdr + 1);
	for (uint32_t i = 1; i < n; i++) {
		struct famfs_log_entry *e = &ent[i - 1];

		memset(e, 0, sizeof(*e));
		e->seqnum = i - 1;
		e->type = FAMFS_LOG_ADD_DAXDEV;
		e->daxdev.size = devs[i]->size;
		memcpy(e->daxdev.uuid, uuids[i], FAMFS_UUID_LEN);
		e->daxdev.index = i;
		e->crc = famfs_log_entry_crc(e);
		if (famfs_entry_check(&g, e, i - 1, NULL))
			return -EINVAL;
	}
	rc = famfs_dev_flush(devs[0], ent, (n - 1) * sizeof(*ent));
	if (rc)
		return rc;
	hdr->next_seqnum = hdr->next_index = n - 1;
	rc = famfs_dev_flush(devs[0], hdr, sizeof(*hdr));
	if (rc)
		return rc;
	/* 4. The superblock that makes it a file system. */
	rc = famfs_mkfs_finish(devs[0], &sb);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		remember(devs[i]->path);
	return 0;
}

/* Is @dev the same device node or file as @other? */
static bool same_device(const struct famfs_dev *dev, const struct famfs_dev *other)
{
	struct stat a, b;

	if (fstat(dev->fd, &a) < 0 || fstat(other->fd, &b) < 0)
		return false;
	if (S_ISREG(a.st_mode))
		return S_ISREG(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT) && a.st_rdev == b.st_rdev;
}

/*
 * What the device at @dev holds, for devadd: 0 nothing (or a secondary of
 * this file system its log never named: an interrupted devadd), -EEXIST a
 * device of this file system, -ENOTEMPTY another famfs.
 */
static int devadd_probe(struct famfs_image *im, struct famfs_dev *dev)
{
	const struct famfs_superblock *sb = im->fs->sb;
	struct famfs_member m;
	int rc;

	rc = famfs_fs_probe(dev->path, NULL);
	if (rc <= 0)
		return rc;
	if (famfs_member_read(dev->path, &m) == 1 && m.secondary &&
	    !memcmp(m.fs_uuid, sb->fs_uuid, FAMFS_UUID_LEN) &&
	    !memcmp(m.primary_uuid, sb->device_uuid, FAMFS_UUID_LEN)) {
		for (uint32_t i = 0; i < im->ap.devs.ndevs; i++)
			if (!memcmp(im->ap.devs.dev[i].uuid, m.dev_uuid, FAMFS_UUID_LEN))
				return -EEXIST;
		return 0;
	}
	return -ENOTEMPTY;
}

/* Set FAMFS_SB_PRIMARY in the primary's superblock (outside its crc). */
static int mark_primary(struct famfs_image *im)
{
	struct famfs_fs *fs = im->fs;
	uint8_t *win = (uint8_t *)fs->hdr - FAMFS_LOG_OFFSET;
	struct famfs_superblock *sb = (struct famfs_superblock *)win;
	uint32_t flags = fs->sb_copy.sb_flags | FAMFS_SB_PRIMARY;
	int rc;

	if (fs->sb_copy.sb_flags & FAMFS_SB_PRIMARY)
		return 0;
	rc = famfs_dev_store(fs->dev, &sb->sb_flags, &flags, sizeof(flags));
	if (!rc)
		rc = famfs_dev_flush(fs->dev, &sb->sb_flags, sizeof(flags));
	if (!rc)
		rc = famfs_dev_sync(fs->dev);
	if (!rc)
		fs->sb_copy.sb_flags = flags;
	return rc;
}

int famfs_image_devadd(struct famfs_image *im, const char *path, unsigned int flags,
		       uint32_t *index)
{
	struct famfs_devtab *t = &im->ap.devs;
	uint8_t uuids[FAMFS_MAX_DAXDEVS][FAMFS_UUID_LEN];
	struct famfs_superblock ssb;
	struct famfs_log_entry e;
	struct famfs_dev *dev = NULL;
	uint64_t min;
	uint32_t idx = t->ndevs;
	int rc;

	if (index)
		*index = FAMFS_DEVADD_NONE;
	if (!im->fs->writable)
		return -EROFS;
	if (im->replay.bad_index >= 0)
		return -EUCLEAN;
	if (idx >= FAMFS_MAX_DAXDEVS)
		return -EOVERFLOW;
	if (famfs_log_free(im->fs) == 0)
		return -ENOSPC;
	/* never a device in use (O_EXCL), never a block device without DAX */
	rc = famfs_dev_open(path, FAMFS_DEV_WRITE | FAMFS_DEV_EXCL, &dev);
	if (rc)
		return rc;
	if (dev->kind == FAMFS_DEV_PMEM && !dev->dax) {
		rc = -ENOTBLK;
		goto out;
	}
	for (uint32_t i = 0; i < idx; i++) {
		struct famfs_dev *o = famfs_image_dev(im, i);

		if (o && same_device(dev, o)) {
			rc = -EEXIST;
			goto out;
		}
	}
	if ((dev->kind == FAMFS_DEV_FILE) != (im->fs->dev->kind == FAMFS_DEV_FILE)) {
		rc = -EMEDIUMTYPE;
		goto out;
	}
	min = flags & FAMFS_DEVADD_SMALL		       ? FAMFS_DAXDEV_SIZE_MIN
	      : im->fs->geom.alloc_unit == FAMFS_ALLOC_UNIT_4K ? FAMFS_MIN_DEVSIZE_4K
							       : FAMFS_MIN_DEVSIZE;
	if (dev->size < min || dev->size > FAMFS_DAXDEV_SIZE_MAX) {
		rc = -ERANGE;
		goto out;
	}
	rc = devadd_probe(im, dev);
	if (rc == -ENOTEMPTY && (flags & FAMFS_DEVADD_FORCE))
		rc = 0;
	if (rc)
		goto out;
	rc = famfs_dev_claim(dev);
	if (rc)
		goto out;
	/* 1. Its superblock. */
	for (uint32_t i = 0; i < idx; i++)
		memcpy(uuids[i], t->dev[i].uuid, FAMFS_UUID_LEN);
	format_secondary(&ssb, im->fs->sb, dev, uuids, idx);
	rc = famfs_write_secondary(dev, &ssb);
	if (rc)
		goto out;
	/* 2. Its entry: the table first (it may need memory), nothing fails after the append. */
	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_ADD_DAXDEV;
	e.daxdev.size = dev->size;
	memcpy(e.daxdev.uuid, ssb.device_uuid, FAMFS_UUID_LEN);
	e.daxdev.index = idx;
	rc = famfs_devtab_add(t, &e.daxdev, famfs_log_used(im->fs), im->fs->geom.alloc_unit, NULL);
	if (rc)
		goto out;
	rc = famfs_image_append(im, &e);
	if (rc) {
		famfs_devtab_drop_last(t);
		goto out;
	}
	t->dev[idx].log_index = (int64_t)e.seqnum;
	if (im->set->flags & FAMFS_FS_DEVICES) {
		/* Served from now on: the claim becomes the hold every opener has. */
		bool map_all = (im->set->flags & FAMFS_FS_MAP_ALL) && famfs_dev_mappable(dev);
		uint8_t *win = map_all ? famfs_dev_map(dev, dev->size) : NULL;

		famfs_dev_hold(dev);
		im->set->dev[idx] = dev;
		im->set->data[idx] = win;
		im->set->mask |= 1U << idx;
		dev = NULL;
	}
	/* Added: its entry is durable. What follows cannot undo that. */
	if (index)
		*index = idx;
	/* 3. Informational: the primary of several devices. */
	rc = mark_primary(im);
	remember(im->fs->dev->path);
	remember(path);
out:
	famfs_dev_close(dev);
	return rc;
}
