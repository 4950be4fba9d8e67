// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "crc.h"
#include "fs.h"
#include "identity.h"
#include "log.h"
#include "path.h"
#include "super.h"

/* A secondary superblock where a file system is opened: -EXDEV, saying whose it is. */
static int secondary(const struct famfs_superblock *sb, uint64_t devsize, struct famfs_checker *c)
{
	char fs[UUID_STR_LEN], dev[UUID_STR_LEN], primary[UUID_STR_LEN];

	if (famfs_sb_check_secondary(sb, devsize, c))
		return -EUCLEAN;
	uuid_unparse(sb->fs_uuid, fs);
	uuid_unparse(sb->device_uuid, dev);
	uuid_unparse(sb->primary_uuid, primary);
	famfs_report(c, FAMFS_P_SB_SECONDARY, -1,
		     "device %s of file system %s; its primary is device %s", dev, fs, primary);
	return -EXDEV;
}

int famfs_fs_open(const char *path, unsigned int flags, struct famfs_fs **out,
		  struct famfs_checker *c)
{
	bool write = flags & FAMFS_FS_WRITE, map_all;
	struct famfs_log_header hdr;
	struct famfs_fs *fs;
	uint8_t *win;
	int rc;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->torn_slot = -1;
	if (flags & FAMFS_FS_EXCL)
		rc = famfs_dev_open_served(path, write ? FAMFS_DEV_WRITE : 0, &fs->dev);
	else
		rc = famfs_dev_open(path, write ? FAMFS_DEV_WRITE : 0, &fs->dev);
	if (rc)
		goto fail;
	/* In use by us until closed: mkfs refuses meanwhile (and we wait for one). */
	rc = famfs_dev_hold(fs->dev);
	if (rc)
		goto fail;
	if (fs->dev->size < FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_MIN) {
		famfs_report(c, FAMFS_P_SB_SHORT, -1, "%s is %llu bytes", famfs_esc(path),
			     (unsigned long long)fs->dev->size);
		rc = -EMEDIUMTYPE;
		goto fail;
	}
	/* Copy the superblock out once, verify the copy, and size everything from it. */
	win = famfs_dev_map(fs->dev, FAMFS_LOG_OFFSET);
	if (!win) {
		rc = -errno;
		goto fail;
	}
	rc = famfs_dev_invalidate(fs->dev, win, sizeof(fs->sb_copy));
	if (!rc)
		rc = famfs_dev_load(fs->dev, &fs->sb_copy, win, sizeof(fs->sb_copy));
	if (rc)
		goto fail;
	fs->sb = &fs->sb_copy;
	if (fs->sb->magic != FAMFS_SUPER_MAGIC) {
		famfs_sb_check(fs->sb, fs->dev->size, c);
		rc = -EMEDIUMTYPE;
		goto fail;
	}
	if (famfs_sb_is_secondary(fs->sb)) {
		rc = secondary(fs->sb, fs->dev->size, c);
		goto fail;
	}
	if (famfs_sb_check_primary(fs->sb, fs->dev->size, c)) {
		rc = -EUCLEAN;
		goto fail;
	}
	famfs_geom_from_sb(&fs->geom, fs->sb);
	map_all = (flags & FAMFS_FS_MAP_ALL) && famfs_dev_mappable(fs->dev);
	win = famfs_dev_map(fs->dev, map_all ? fs->dev->size : fs->geom.meta_end);
	if (!win) {
		rc = -errno;
		goto fail;
	}
	fs->data = map_all ? win : NULL;
	fs->hdr = (struct famfs_log_header *)(win + FAMFS_LOG_OFFSET);
	fs->ent = (struct famfs_log_entry *)(fs->hdr + 1);
	rc = famfs_dev_invalidate(fs->dev, fs->hdr, sizeof(hdr));
	if (!rc)
		rc = famfs_dev_load(fs->dev, &hdr, fs->hdr, sizeof(hdr));
	if (rc)
		goto fail;
	if (famfs_log_header_check(&hdr, fs->sb, c)) {
		rc = -EUCLEAN;
		goto fail;
	}
	fs->torn_slot = famfs_log_torn_slot(&hdr, fs->geom.nslots);
	if (fs->torn_slot >= 0) {
		struct famfs_checker torn = {0};
		struct famfs_log_entry e;

		rc = famfs_dev_invalidate(fs->dev, &fs->ent[fs->torn_slot], sizeof(e));
		if (!rc)
			rc = famfs_dev_load(fs->dev, &e, &fs->ent[fs->torn_slot], sizeof(e));
		if (rc)
			goto fail;
		if (famfs_log_torn_check(&hdr, fs->torn_slot, &e, &torn)) {
			famfs_report_problem(c, &torn.first);
			rc = -EUCLEAN;
			goto fail;
		}
	}
	rc = famfs_identity(fs->identity);
	if (rc)
		goto fail;
	fs->master = famfs_sb_is_master(fs->sb, fs->identity);
	if (write) {
		if (!fs->master) {
			rc = -EPERM;
			goto fail;
		}
		rc = famfs_dev_lock(fs->dev, !(flags & FAMFS_FS_NOWAIT));
		if (rc) {
			rc = rc == -EWOULDBLOCK ? -EBUSY : rc;
			goto fail;
		}
		fs->writable = true;
		rc = famfs_log_repair_counters(fs);
		if (rc < 0) {
			if (rc == -EUCLEAN)
				famfs_report(c, FAMFS_P_LOG_NEXT_SEQNUM, -1,
					     "counters changed under the writer lock");
			goto fail;
		}
		fs->torn_repaired = rc == 1;
	}
	*out = fs;
	return 0;
fail:
	famfs_fs_close(fs);
	return rc;
}

int famfs_fs_servable(const struct famfs_fs *fs, struct famfs_checker *c)
{
	/* Issue 13: 4 KiB units are served too (placement: famfs/alloc.h). */
	if (fs->geom.alloc_unit == FAMFS_ALLOC_UNIT || fs->geom.alloc_unit == FAMFS_ALLOC_UNIT_4K)
		return 0;
	famfs_report(c, FAMFS_P_SB_ALLOC_UNIT, -1, "alloc_unit %#llx: not served",
		     (unsigned long long)fs->geom.alloc_unit);
	return -EOPNOTSUPP;
}

void famfs_fs_close(struct famfs_fs *fs)
{
	if (!fs)
		return;
	famfs_dev_close(fs->dev); /* closing the fd drops the flock */
	free(fs);
}

int famfs_fs_probe(const char *path, struct famfs_superblock *out)
{
	struct famfs_superblock sb;
	struct famfs_dev *dev;
	int rc;

	rc = famfs_dev_open(path, 0, &dev);
	if (rc)
		return rc;
	if (dev->size < sizeof(sb)) {
		famfs_dev_close(dev);
		return 0;
	}
	rc = famfs_dev_pread(dev, &sb, sizeof(sb), 0);
	if (rc == -EINVAL && dev->kind == FAMFS_DEV_DAX) { /* devdax reads need the window */
		void *w = famfs_dev_map(dev, FAMFS_SUPERBLOCK_SIZE);

		rc = w ? 0 : -errno;
		if (w) {
			famfs_dev_invalidate(dev, w, sizeof(sb));
			memcpy(&sb, w, sizeof(sb));
		}
	}
	famfs_dev_close(dev);
	if (rc)
		return rc;
	if (sb.magic != FAMFS_SUPER_MAGIC || sb.crc != famfs_sb_crc(&sb))
		return 0;
	if (out)
		*out = sb;
	return 1;
}

int famfs_mkfs(struct famfs_dev *dev, uint64_t log_len, const uint8_t system_uuid[16])
{
	return famfs_mkfs_unit(dev, log_len, FAMFS_ALLOC_UNIT, system_uuid);
}

int famfs_mkfs_begin(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit)
{
	struct famfs_superblock *sb;
	struct famfs_log_header *hdr;
	uint8_t *win;
	int rc;

	if (log_len < FAMFS_LOG_LEN_MIN || (log_len & (log_len - 1)) ||
	    FAMFS_LOG_OFFSET + log_len + FAMFS_ALLOC_UNIT > dev->size ||
	    (alloc_unit != FAMFS_ALLOC_UNIT && alloc_unit != FAMFS_ALLOC_UNIT_4K))
		return -EINVAL;
	win = famfs_dev_map(dev, FAMFS_LOG_OFFSET + log_len);
	if (!win)
		return -errno;
	sb = (struct famfs_superblock *)win;
	hdr = (struct famfs_log_header *)(win + FAMFS_LOG_OFFSET);

	/* Invalidate any old superblock first, so a crash leaves no half-made fs. */
	memset(sb, 0, sizeof(*sb));
	rc = famfs_dev_flush(dev, sb, sizeof(*sb));
	if (rc)
		return rc;
	/* Clear the whole log so stale entries of an earlier fs never resurface. */
	memset(hdr, 0, log_len);
	famfs_log_header_init(hdr, log_len);
	return famfs_dev_flush(dev, hdr, log_len);
}

int famfs_mkfs_finish(struct famfs_dev *dev, const struct famfs_superblock *sb)
{
	int rc;

	memcpy(dev->map, sb, sizeof(*sb));
	rc = famfs_dev_flush(dev, dev->map, sizeof(*sb));
	if (rc)
		return rc;
	return famfs_dev_sync(dev);
}

int famfs_mkfs_unit(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit,
		    const uint8_t system_uuid[16])
{
	return famfs_mkfs_flags(dev, log_len, alloc_unit, 0, system_uuid);
}

int famfs_mkfs_flags(struct famfs_dev *dev, uint64_t log_len, uint64_t alloc_unit,
		     uint32_t sb_flags, const uint8_t system_uuid[16])
{
	struct famfs_superblock sb;
	int rc;

	if (sb_flags & ~FAMFS_SB_COMPAT)
		return -EINVAL;
	rc = famfs_mkfs_begin(dev, log_len, alloc_unit);
	if (rc)
		return rc;
	famfs_sb_format(&sb, dev->size, log_len, alloc_unit, system_uuid, dev->path);
	sb.sb_flags = sb_flags; /* outside the crc */
	return famfs_mkfs_finish(dev, &sb);
}
