/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs_dax.h - what famfs_dax.ko exports to the famfs file system module.
 *
 * famfs_dax is a driver on the DAX bus (drivers/dax) for Debian's 6.1 and
 * 6.12 kernels, modelled on mainline's fsdev mode: bound to a /dev/daxX.Y
 * (explicitly: unbind from device_dax, then new_id), it maps the device's
 * memory as MEMORY_DEVICE_FS_DAX pages and creates a dax_device with
 * operations, which fs/dax.c (iomap) can use.  docs/kernel.md describes it.
 *
 * A file system takes a device through an open file of its character device
 * (never through a path), and may register a holder for failure notices.
 */
#ifndef _FAMFS_DAX_H
#define _FAMFS_DAX_H

#include <linux/types.h>

struct dax_device;
struct file;

/* notify_failure(holder, off, FAMFS_DAX_GONE, flags): the device goes away */
#define FAMFS_DAX_GONE	U64_MAX

/**
 * struct famfs_dax_holder_ops - callbacks into a holder of a famfs_dax device
 * @notify_failure: memory failure in the byte range [@off, @off + @len) of
 *	the device (offsets as seen through the dax_device: pgoff * PAGE_SIZE),
 *	@mf_flags from memory_failure(); or, with @len == FAMFS_DAX_GONE, the
 *	device is being unbound (@off 0, @mf_flags MF_MEM_PRE_REMOVE on 6.12,
 *	0 on 6.1).  For GONE the holder must, before it returns, fail every
 *	later access with EIO, unmap every mapping of its files on the device
 *	and wait until no DAX page of it is busy, and remove its DAX entries:
 *	the pages disappear right after.  Return 0, or -EOPNOTSUPP to have
 *	memory_failure() unmap and signal the processes that map the page
 *	itself (the generic handler); the return value of GONE is ignored.
 *	Called in process context, may sleep, serialised per device with
 *	famfs_dax_put() (so it must not call famfs_dax_put() itself).
 */
struct famfs_dax_holder_ops {
	int (*notify_failure)(void *holder, u64 off, u64 len, int mf_flags);
};

/**
 * famfs_dax_get() - take the famfs_dax device behind an open file
 * @devfile: an open /dev/daxX.Y, opened while the device was bound to
 *	famfs_dax (an fd that the caller got from user space)
 * @holder: the caller's cookie for @ops, non-NULL
 * @ops: failure callbacks, non-NULL
 * @size: out: bytes addressable through the dax_device (pgoff 0 .. size-1)
 *
 * One holder at a time: fs/dax keeps one owner per page, so a second file
 * system (a second famfs mount on this host) gets -EBUSY and must not map
 * the device (famfs.ko lets the server serve that mount's data).  The
 * dax_device stays allocated until famfs_dax_put(); after an unbind it is
 * dead (dax_direct_access() fails with -ENXIO).
 *
 * Return: the dax_device, with a reference held for the caller, or
 * ERR_PTR(-ENODEV) if @devfile is not a DAX character device,
 * ERR_PTR(-ENXIO) if it is one but not bound to famfs_dax (or was opened
 * before it was, or has been unbound since), ERR_PTR(-EBUSY) if a holder
 * (@holder or another) already holds it, ERR_PTR(-EINVAL) for a NULL
 * @holder or @ops.
 */
struct dax_device *famfs_dax_get(struct file *devfile, void *holder,
				 const struct famfs_dax_holder_ops *ops,
				 u64 *size);

/**
 * famfs_dax_put() - drop what famfs_dax_get() took
 * @dax_dev: its return value
 * @holder: the same holder
 *
 * No callback of @holder runs once this returns.  Must not be called from
 * a notify_failure callback.
 */
void famfs_dax_put(struct dax_device *dax_dev, void *holder);

#endif /* _FAMFS_DAX_H */
