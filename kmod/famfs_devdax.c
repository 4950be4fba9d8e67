// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_devdax.c - character devdax devices (/dev/daxX.Y) in the device
 * table of a famfs connection, through famfs_dax.ko (kmod/dax/).
 *
 * A devdax device's own dax_device has no operations on 6.1 and 6.12, so
 * the kernel can map one only while our famfs_dax driver owns it: that
 * driver gives it a dax_device with operations and fs-dax pages, and hands
 * it to us for the fd the server registered (famfs_dax_get(): the file must
 * have been opened while famfs_dax was bound).  Anything else (device_dax
 * bound, famfs_dax not loaded) is refused with EOPNOTSUPP, and the server
 * then serves that device's files itself.
 *
 * famfs_dax tells us about failures (holder callback):
 *  - memory failure on a range: famfs_dev_mark_bad() records it (I/O that
 *    touches it fails with EIO); -EOPNOTSUPP lets memory_failure() unmap
 *    the page and signal the processes that map it;
 *  - the device is being unbound (len FAMFS_DAX_GONE), possibly while
 *    mounted: the whole device is marked bad first (every later fault,
 *    read and write fails), then every inode of the connection whose map
 *    uses it loses its mappings and DAX entries (famfs_conn_detach_dev:
 *    faults blocked, busy pages waited for; inodes being evicted, also
 *    those of a super block being unmounted, are waited for) before we
 *    return, because the driver frees the pages right after.  The file
 *    system keeps working for every other device, and umount works.
 *
 * famfs_dax gives a device to one holder at a time (fs/dax keeps one owner
 * per page): a second mount of it on this host gets EBUSY, and we answer
 * EOPNOTSUPP, so the server serves that mount's data.
 */
#include "fuse_i.h"
#include "famfs_priv.h"
#include "famfs_dax.h"

#include <linux/dax.h>
#include <linux/fs.h>

static int famfs_devdax_notify(void *holder, u64 off, u64 len, int mf_flags)
{
	struct famfs_daxdev *dev = holder;

	famfs_dev_mark_bad(dev, off, len);
	if (len != FAMFS_DAX_GONE)
		return -EOPNOTSUPP; /* memory_failure(): unmap + SIGBUS the mappers */
	famfs_conn_detach_dev(dev->fcf, dev->index);
	pr_info("device %u: unbound from famfs_dax: its files are unmapped and fail with EIO\n",
		dev->index);
	return 0;
}

static const struct famfs_dax_holder_ops famfs_devdax_holder_ops = {
	.notify_failure = famfs_devdax_notify,
};

/**
 * famfs_devdax_attach() - take the character device @f as device @dev
 * (famfs_dev_attach(), fcf->lock held).  Returns FAMFS_DEV_DEVDAX, or
 * -EOPNOTSUPP when famfs_dax does not own it (the server serves it).
 */
int famfs_devdax_attach(struct famfs_daxdev *dev, struct file *f)
{
	struct dax_device *dax_dev;
	u64 size = 0;

	dax_dev = famfs_dax_get(f, dev, &famfs_devdax_holder_ops, &size);
	if (IS_ERR(dax_dev)) {
		long err = PTR_ERR(dax_dev);

		pr_info("device %u: %pD: %s\n", dev->index, f,
			err == -ENXIO ? "not bound to famfs_dax (or opened before it was)" :
			err == -ENODEV ? "not a dax device" :
			err == -EBUSY ? "mapped by another famfs mount on this host: its files are served by the server" :
			"famfs_dax refused it");
		return err == -ENOMEM ? -ENOMEM : -EOPNOTSUPP;
	}
	dev->dax_dev = dax_dev;
	dev->bdev = NULL;
	dev->part_off = 0;
	dev->size = size;
	pr_info("device %u: %pD (famfs_dax), %llu MiB%s\n", dev->index, f, size >> 20,
		dev->writable ? "" : ", read-only");
	return FAMFS_DEV_DEVDAX;
}

/* famfs_dev_detach(): no callback of ours runs once this returns. */
void famfs_devdax_detach(struct famfs_daxdev *dev)
{
	famfs_dax_put(dev->dax_dev, dev);
	dev->dax_dev = NULL;
}
