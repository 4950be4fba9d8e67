// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_dev.c - the device table of a famfs connection: devices handed to
 * the kernel by file descriptor, and what memory failure made bad.
 *
 * Registration (FAMFS_DEV_IOC_DAXDEV_REGISTER on the /dev/famfs channel fd,
 * famfs_kabi.h): the server opens each device it serves and gives the fd
 * for a device index, before or after INIT. The kernel never looks a device
 * up by path, so nothing another task does to its mount namespace (a bind
 * mount over /dev/pmem0 in a user namespace) can redirect a famfs mount.
 * famfs_dev_attach() decides what a file is: an fsdax pmem block device is
 * served by DAX (we keep our own reference to the file and hold the
 * dax_device); anything else is refused with EOPNOTSUPP, and the server may
 * then register the index as FAMFS_DAXDEV_SERVER_DATA (its own data path).
 *
 * Memory failure: whatever reports it (the dax_device holder callback of a
 * pmem device; for a character devdax device, famfs_dax.ko's callback)
 * ends in famfs_dev_mark_bad(), which records the failed byte range of the
 * device. I/O that touches a bad range fails with EIO; the rest of the
 * device, and every other file, keeps working. A device that goes away
 * (len U64_MAX) is bad as a whole.
 *
 * A device that goes away (len U64_MAX: a pmem namespace removed, kill_dax;
 * famfs_dax unbound) is also detached from every file that maps it
 * (famfs_conn_detach_dev()) before the callback returns: the pages go next.
 *
 * One DAX user per device and host: fs/dax keeps one owner per page
 * (page->mapping). A pmem block device is claimed exclusively (the block
 * layer's holder, as a mounted file system, device-mapper, md and swap
 * claim theirs) for as long as famfs.ko maps it: while ext4 or xfs has it
 * mounted, or device-mapper has a table on it, registration fails with
 * EBUSY; while famfs.ko maps it, they cannot take it. A second famfs mount
 * of the device on this host is refused with EOPNOTSUPP, and its server
 * serves that mount's data itself. A read-only block device (BLKROSET,
 * blockdev --setro) is read-only to famfs.ko whatever fd it came from.
 *
 * Locking: fcf->lock serialises registration; an entry is published once
 * (smp_store_release of its kind) and read without the lock afterwards.
 * dev->bad_lock (a spinlock) guards the bad ranges. famfs_holder_srcu
 * keeps a pmem holder callback's device entry alive until it returns.
 * famfs_claims_lock: the list of claimed block devices, and claiming.
 */
#include "fuse_i.h"
#include "famfs_priv.h"

#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/file.h>
#include <linux/uaccess.h>

struct famfs_conn *famfs_conn_alloc(struct fuse_conn *fc)
{
	struct famfs_conn *fcf = kzalloc(sizeof(*fcf), GFP_KERNEL);
	int i;

	if (!fcf)
		return NULL;
	mutex_init(&fcf->lock);
	spin_lock_init(&fcf->inodes_lock);
	INIT_LIST_HEAD(&fcf->inodes);
	for (i = 0; i < FAMFS_MAX_DAXDEVS; i++) {
		fcf->dev[i].index = i;
		fcf->dev[i].fcf = fcf;
		spin_lock_init(&fcf->dev[i].bad_lock);
	}
	return fcf;
}

/* ------------------------------------------------------ memory failure */

/**
 * famfs_dev_mark_bad() - record that bytes [@off, @off + @len) of @dev's
 * dax_device failed (@len U64_MAX: the device is gone). The one sink of
 * every failure source; never sleeps.
 */
void famfs_dev_mark_bad(struct famfs_daxdev *dev, u64 off, u64 len)
{
	u64 end = (len == U64_MAX || off + len < off) ? U64_MAX : off + len;
	unsigned int i;

	spin_lock(&dev->bad_lock);
	if (len == U64_MAX) {
		dev->all_bad = true;
		goto out;
	}
	/* merge with ranges it touches */
	for (i = 0; i < dev->nbad; i++) {
		struct famfs_range *r = &dev->bad[i];

		if (off <= r->end && end >= r->start) {
			r->start = min(r->start, off);
			r->end = max(r->end, end);
			goto out;
		}
	}
	if (dev->nbad == FAMFS_MAX_BAD_RANGES) {
		dev->all_bad = true;
		goto out;
	}
	dev->bad[dev->nbad].start = off;
	dev->bad[dev->nbad].end = end;
	WRITE_ONCE(dev->nbad, dev->nbad + 1);
out:
	spin_unlock(&dev->bad_lock);
	if (dev->all_bad)
		pr_err("device %u %s: I/O to its files fails with EIO\n", dev->index,
		       len == U64_MAX ? "removed" : "has too many failed ranges");
	else
		pr_err("device %u: memory failure at 0x%llx (+0x%llx): I/O touching it fails with EIO\n",
		       dev->index, off, len);
}

/**
 * famfs_dev_check_io() - may I/O touch @dev at dax offset @addr for *@len
 * bytes? Returns -EIO if @addr is inside a bad range, else 0 with *@len cut
 * short before the first bad range after @addr (so I/O up to it succeeds).
 */
int famfs_dev_check_io(struct famfs_daxdev *dev, u64 addr, u64 *len)
{
	unsigned int i;
	int ret = 0;

	if (likely(!READ_ONCE(dev->nbad) && !READ_ONCE(dev->all_bad)))
		return 0;
	spin_lock(&dev->bad_lock);
	if (dev->all_bad) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < dev->nbad; i++) {
		const struct famfs_range *r = &dev->bad[i];

		if (addr >= r->start && addr < r->end) {
			ret = -EIO;
			goto out;
		}
		if (r->start > addr && r->start - addr < *len)
			*len = r->start - addr;
	}
out:
	spin_unlock(&dev->bad_lock);
	return ret;
}

/*
 * A pmem holder callback can run while the connection is torn down: the
 * dax core reads holder_data under its own SRCU (dax_srcu, not exported),
 * so famfs_dev_detach() clears our holder and then waits for callbacks
 * that read it before, here, before the table is freed.
 */
DEFINE_STATIC_SRCU(famfs_holder_srcu);

/*
 * The dax_device holder callback of a pmem device (fs_dax_get_by_bdev):
 * a failed range, or (len U64_MAX) the namespace going away (kill_dax(),
 * MF_MEM_PRE_REMOVE on 6.12, 0 on 6.1), after which its pages are freed.
 */
static int famfs_pmem_notify_failure(struct dax_device *dax_dev, u64 offset,
				     u64 len, int mf_flags)
{
	struct famfs_daxdev *dev;
	int idx;

	idx = srcu_read_lock(&famfs_holder_srcu);
	dev = dax_holder(dax_dev);
	if (dev) {
		famfs_dev_mark_bad(dev, offset, len);
		if (len == U64_MAX) {
			/* unmap, wait for held pages, drop the DAX entries */
			famfs_conn_detach_dev(dev->fcf, dev->index);
			pr_info("device %u: removed: its files are unmapped and fail with EIO\n",
				dev->index);
		}
	}
	srcu_read_unlock(&famfs_holder_srcu, idx);
	/*
	 * Let memory_failure() fall back to its generic handler, which
	 * unmaps the page and signals the processes that map it.
	 */
	return -EOPNOTSUPP;
}

static const struct dax_holder_operations famfs_pmem_holder_ops = {
	.notify_failure = famfs_pmem_notify_failure,
};

/* ------------------------------------------------------------ claims */

/* Block devices famfs.ko has claimed (famfs_daxdev.claim_node). */
static DEFINE_MUTEX(famfs_claims_lock);
static LIST_HEAD(famfs_claims);

/*
 * Claim @bdev exclusively for @dev, with the server's file @f as the
 * holder: a server that opened the device O_EXCL (famfs_fused does) holds
 * it with that same file, and the block layer lets a holder claim again.
 * Returns 0; -EOPNOTSUPP if another famfs mount of this host has claimed
 * it (that mount maps it, this one's server serves its data); -EBUSY if
 * any other owner has (a mounted file system, device-mapper, md, swap,
 * another process's O_EXCL open); or another -errno.
 */
static int famfs_dev_claim(struct famfs_daxdev *dev, struct block_device *bdev,
			   struct file *f)
{
	struct famfs_daxdev *other;
	void *claim;
	int err = 0;

	mutex_lock(&famfs_claims_lock);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	claim = bdev_file_open_by_dev(bdev->bd_dev, BLK_OPEN_READ, f, NULL);
#else
	claim = blkdev_get_by_dev(bdev->bd_dev, FMODE_READ | FMODE_EXCL, f);
#endif
	if (IS_ERR(claim)) {
		err = PTR_ERR(claim);
		list_for_each_entry(other, &famfs_claims, claim_node)
			if (err == -EBUSY && other->bdev->bd_dev == bdev->bd_dev)
				err = -EOPNOTSUPP;
	} else {
		dev->claim = claim;
		list_add(&dev->claim_node, &famfs_claims);
	}
	mutex_unlock(&famfs_claims_lock);
	return err;
}

static void famfs_dev_unclaim(struct famfs_daxdev *dev)
{
	if (!dev->claim)
		return;
	mutex_lock(&famfs_claims_lock);
	list_del(&dev->claim_node);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	bdev_fput(dev->claim);
#else
	blkdev_put(dev->claim, FMODE_READ | FMODE_EXCL);
#endif
	mutex_unlock(&famfs_claims_lock);
	dev->claim = NULL;
}

/* ------------------------------------------------------------ attach */

/*
 * @f is a block device: serve it by DAX if it is an fsdax pmem device that
 * no one else holds: claimed exclusively first (famfs_dev_claim()), then
 * its dax_device's holder slot. fs_dax_get_by_bdev() takes its reference
 * before it tries the holder slot and leaks it when the slot is taken, so
 * ask without a holder first (a reference, always), and only for the slot
 * when it is free; a holder that wins the slot in between still costs that
 * leaked reference (fs/dax's, not fixable from here). A block device that
 * is read-only (bdev_read_only()) is served read-only, whatever @f's mode.
 */
static int famfs_dev_attach_pmem(struct famfs_daxdev *dev, struct file *f)
{
	struct block_device *bdev = I_BDEV(f->f_mapping->host);
	struct dax_device *dax_dev, *held = NULL;
	u64 part_off = 0;
	int err;

	dax_dev = fs_dax_get_by_bdev(bdev, &part_off, NULL, NULL);
	if (!dax_dev) {
		pr_info("device %u: block device %pg does not support DAX\n",
			dev->index, bdev);
		return -EOPNOTSUPP;
	}
	dev->bdev = bdev;
	err = famfs_dev_claim(dev, bdev, f);
	if (err) {
		fs_put_dax(dax_dev, NULL);
		dev->bdev = NULL;
		if (err == -EOPNOTSUPP)
			pr_info("device %u: %pg is mapped by another famfs mount on this host: its files are served by the server\n",
				dev->index, bdev);
		else
			pr_info("device %u: %pg is in use by another file system or driver (%d): refused\n",
				dev->index, bdev, err);
		return err;
	}
	if (!dax_holder(dax_dev))
		held = fs_dax_get_by_bdev(bdev, &part_off, dev, &famfs_pmem_holder_ops);
	fs_put_dax(dax_dev, NULL);	/* the holder-less reference */
	if (!held) {
		famfs_dev_unclaim(dev);
		dev->bdev = NULL;
		pr_info("device %u: %pg is mapped by another DAX user on this host: its files are served by the server\n",
			dev->index, bdev);
		return -EOPNOTSUPP;
	}
	if (bdev_read_only(bdev))
		dev->writable = false;
	dev->dax_dev = held;
	dev->part_off = part_off;
	dev->size = bdev_nr_bytes(bdev);
	pr_info("device %u: %pg, %llu MiB%s\n", dev->index, bdev,
		dev->size >> 20, dev->writable ? "" : ", read-only");
	return FAMFS_DEV_PMEM;
}

/*
 * @f is a character device. A devdax device (/dev/daxX.Y) has a dax_device
 * without operations on 6.1 and 6.12: only a dax driver that gives it some
 * can make it mappable: famfs_dax.ko (kmod/dax/, famfs_devdax.c).
 */
static int famfs_dev_attach_devdax(struct famfs_daxdev *dev, struct file *f)
{
	return famfs_devdax_attach(dev, f);
}

/*
 * Take @f as device @dev: returns the kind it is served as, or -errno. The
 * one place that knows which files the kernel can serve.
 */
static int famfs_dev_attach(struct famfs_daxdev *dev, struct file *f)
{
	umode_t mode = file_inode(f)->i_mode;

	if (!(f->f_mode & FMODE_READ))
		return -EACCES;
	dev->writable = f->f_mode & FMODE_WRITE;
	if (S_ISBLK(mode))
		return famfs_dev_attach_pmem(dev, f);
	if (S_ISCHR(mode))
		return famfs_dev_attach_devdax(dev, f);
	pr_info("device %u: %pD is not a device\n", dev->index, f);
	return -EOPNOTSUPP;
}

static void famfs_dev_detach(struct famfs_daxdev *dev)
{
	if (dev->kind == FAMFS_DEV_PMEM) {
		fs_put_dax(dev->dax_dev, dev);
		/* a callback that read the holder before is done */
		synchronize_srcu(&famfs_holder_srcu);
		famfs_dev_unclaim(dev);
	}
	if (dev->kind == FAMFS_DEV_DEVDAX)
		famfs_devdax_detach(dev);
	if (dev->file)
		fput(dev->file);
	dev->file = NULL;
	dev->kind = FAMFS_DEV_NONE;
}

void famfs_conn_destroy(struct famfs_conn *fcf)
{
	int i;

	for (i = 0; i < FAMFS_MAX_DAXDEVS; i++)
		famfs_dev_detach(&fcf->dev[i]);
	/* every super block is gone, so every inode was evicted */
	WARN_ON_ONCE(!list_empty(&fcf->inodes));
	mutex_destroy(&fcf->lock);
	kfree(fcf);
}

/**
 * famfs_dev_lookup() - the registered device @index of @fcf, or NULL if it
 * is out of range or not registered. Lock-free.
 */
struct famfs_daxdev *famfs_dev_lookup(struct famfs_conn *fcf, u32 index)
{
	struct famfs_daxdev *dev;

	if (index >= FAMFS_MAX_DAXDEVS)
		return NULL;
	dev = &fcf->dev[index];
	/* pairs with smp_store_release() in famfs_dev_register() */
	return smp_load_acquire(&dev->kind) == FAMFS_DEV_NONE ? NULL : dev;
}

/* FAMFS_DEV_IOC_DAXDEV_REGISTER */
static int famfs_dev_register(struct fuse_conn *fc, const struct famfs_daxdev_reg *reg)
{
	struct famfs_conn *fcf = READ_ONCE(fc->famfs);
	struct famfs_daxdev *dev;
	struct file *f = NULL;
	int kind;

	if (!fcf || !capable(CAP_SYS_RAWIO))
		return -EPERM;
	if (reg->index >= FAMFS_MAX_DAXDEVS || reg->reserved ||
	    (reg->flags & ~FAMFS_DAXDEV_SERVER_DATA) ||
	    ((reg->flags & FAMFS_DAXDEV_SERVER_DATA) && reg->fd != -1))
		return -EINVAL;
	if (!(reg->flags & FAMFS_DAXDEV_SERVER_DATA)) {
		f = fget(reg->fd);
		if (!f)
			return -EBADF;
	}
	dev = &fcf->dev[reg->index];
	mutex_lock(&fcf->lock);
	if (dev->kind != FAMFS_DEV_NONE) {
		kind = -EBUSY;
	} else if (!f) {
		kind = FAMFS_DEV_SERVER;
		pr_info("device %u: served by the server\n", dev->index);
	} else {
		kind = famfs_dev_attach(dev, f);
		if (kind > 0)
			dev->file = get_file(f);
	}
	if (kind > 0)
		/* publish the fields above; pairs with famfs_dev_lookup() */
		smp_store_release(&dev->kind, kind);
	mutex_unlock(&fcf->lock);
	if (f)
		fput(f);
	return kind > 0 ? 0 : kind;
}

/**
 * fuse_famfs_dev_ioctl() - the famfs ioctls of a /dev/famfs channel fd
 * (@fud NULL: not mounted yet). -ENOTTY for anything else, as before.
 */
long fuse_famfs_dev_ioctl(struct fuse_dev *fud, unsigned int cmd, unsigned long arg)
{
	struct famfs_daxdev_reg reg;

	switch (cmd) {
	case FAMFS_DEV_IOC_DAXDEV_REGISTER:
		if (!fud)
			return -EINVAL;
		if (copy_from_user(&reg, (void __user *)arg, sizeof(reg)))
			return -EFAULT;
		return famfs_dev_register(fud->fc, &reg);
	default:
		return -ENOTTY;
	}
}
