/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs_priv.h - what famfs_mode.c and famfs_dev.c share: the per-connection
 * device table and the few kernel-version differences they care about.
 */
#ifndef _FS_FUSE_FAMFS_PRIV_H
#define _FS_FUSE_FAMFS_PRIV_H

#include <linux/version.h>

/* Bad ranges recorded per device before the whole device counts as bad. */
#define FAMFS_MAX_BAD_RANGES	16

enum famfs_dev_kind {
	FAMFS_DEV_NONE = 0,	/* not registered: fmaps naming it fail */
	FAMFS_DEV_PMEM,		/* an fsdax pmem block device: DAX */
	FAMFS_DEV_SERVER,	/* the server serves its files (READ/WRITE) */
	FAMFS_DEV_DEVDAX,	/* a devdax device owned by famfs_dax: DAX */
};

/* A byte range [start, end) of a device, in dax_device offsets. */
struct famfs_range {
	u64 start;
	u64 end;
};

/* One entry of the per-connection device table (famfs_dev.c). */
struct famfs_daxdev {
	int kind;			/* enum famfs_dev_kind, published last */
	u32 index;
	struct famfs_conn *fcf;		/* its table (removal walks its mapped inodes) */
	bool writable;			/* open for writing, and (pmem) not read-only */
	struct file *file;		/* our reference to the server's fd */
	struct block_device *bdev;	/* FAMFS_DEV_PMEM */
	/*
	 * FAMFS_DEV_PMEM: our exclusive claim of bdev (famfs_dev.c): the
	 * block device file (6.9+) or block_device (6.1) that releases it,
	 * and our entry on the list of devices famfs.ko has claimed.
	 */
	void *claim;
	struct list_head claim_node;
	struct dax_device *dax_dev;
	u64 part_off;			/* byte offset of bdev on dax_dev */
	u64 size;			/* bytes addressable through this device */

	/* memory failure: what is bad, in dax_device offsets */
	spinlock_t bad_lock;
	unsigned int nbad;		/* READ_ONCE() without the lock: any? */
	bool all_bad;			/* gone, or too many ranges to keep */
	struct famfs_range bad[FAMFS_MAX_BAD_RANGES];
};

struct famfs_conn {
	struct mutex lock;		/* registration */
	bool enabled;			/* INIT negotiated FAMFS_DAX_FMAP */
	/*
	 * Every inode that was switched to DAX and whose eviction has not
	 * yet removed its DAX entries (struct famfs_imap.conn_node): what a
	 * device removal must detach, including inodes being evicted and
	 * inodes of super blocks being torn down.
	 */
	spinlock_t inodes_lock;
	struct list_head inodes;
	struct famfs_daxdev dev[FAMFS_MAX_DAXDEVS];
};

/* famfs_dev.c */
struct famfs_conn *famfs_conn_alloc(struct fuse_conn *fc);
void famfs_conn_destroy(struct famfs_conn *fcf);
struct famfs_daxdev *famfs_dev_lookup(struct famfs_conn *fcf, u32 index);
int famfs_dev_check_io(struct famfs_daxdev *dev, u64 addr, u64 *len);
void famfs_dev_mark_bad(struct famfs_daxdev *dev, u64 off, u64 len);

/* famfs_devdax.c: /dev/daxX.Y through famfs_dax.ko */
int famfs_devdax_attach(struct famfs_daxdev *dev, struct file *f);
void famfs_devdax_detach(struct famfs_daxdev *dev);

/* famfs_mode.c */
void famfs_conn_detach_dev(struct famfs_conn *fcf, u32 index);

#endif /* _FS_FUSE_FAMFS_PRIV_H */
