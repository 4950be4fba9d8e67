// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_dax.c - a driver on the DAX bus that makes a /dev/daxX.Y usable by
 * fs-dax, for Debian's 6.1 and 6.12 kernels (mainline 7.1's fsdev mode,
 * rebuilt from exported API; docs/kernel.md, "The famfs_dax driver").
 *
 * Binding
 *   Never automatic: 6.1 has match_always = 0 (device_dax is the one
 *   match-always driver), 6.12 has a driver type that is neither KMEM (0)
 *   nor DEVICE (1), so dax_match_type() never picks it.  A device is moved
 *   here with   echo daxX.Y > /sys/bus/dax/drivers/<current>/unbind
 *               echo daxX.Y > /sys/bus/dax/drivers/famfs_dax/new_id
 *   and back with unbind + remove_id here, then bind/new_id on device_dax.
 *
 * Pages
 *   The device's ranges are mapped with devm_memremap_pages() as
 *   MEMORY_DEVICE_FS_DAX, vmemmap_shift 0 (fs/dax.c on 6.1/6.12 works on
 *   single pages; device_dax leaves 9 in a static pmem pgmap), so every pfn
 *   has a struct page with the 1-based fs-dax refcount.  direct_access
 *   returns PFN_DEV|PFN_MAP pfns, without which fs/dax.c refuses PMD faults.
 *   The memmap is initialised once per bind by memremap_pages(); nothing
 *   here walks the pages (binding costs what the core costs).
 *
 * dax_device
 *   The bus's dax_device has no operations (and they cannot be set), so we
 *   allocate our own with alloc_dax(): direct_access, zero_page_range and
 *   recovery_write over the device's linear map.  Writes through it bypass
 *   the CPU cache (set_dax_nocache) and fsync/msync write back what write
 *   faults dirtied (dax_write_cache): the memory may be shared with other
 *   hosts.
 *
 * Character device
 *   /dev/daxX.Y opens while bound here (a cdev of ours on the bus device's
 *   dev_t).  It offers pread/pwrite/lseek/fsync, no mmap: read() first
 *   invalidates the CPU cache lines it copies (another host may have
 *   written), write() copies with non-temporal stores and a store fence.
 *   That is the file system server's metadata path, and an open file is how
 *   a file system takes the device: famfs_dax_get() (famfs_dax.h).
 *
 * Failure and lifetime
 *   memory_failure() on one of our pages reaches famfs_dax_memory_failure(),
 *   which converts the pfn to a device byte range and tells every holder.
 *   Unbinding (allowed while mounted) first stops new takers, tells every
 *   holder that the device is gone (they unmap their files and fail with
 *   EIO from then on), kills the dax_device (in-flight DAX access drains,
 *   new access fails), removes the character device, and only then does the
 *   core unmap the pages.  The struct famfs_dax_dev and its dax_device live
 *   until the last holder and open file are gone.
 *
 * Locking
 *   famfs_dax_lock   the list of bound devices (open() by dev_t, put by
 *                    dax_device)
 *   fdev->lock       fdev->alive and the holder list; held across every
 *                    holder callback, so callbacks of one device never
 *                    overlap and never run after famfs_dax_put() returns
 *   Order: famfs_dax_lock -> fdev->lock.  DAX access itself takes no lock
 *   of ours: it is fenced by the dax_device's liveness (dax_read_lock()).
 */
#define pr_fmt(fmt) "famfs_dax: " fmt

#include <linux/cdev.h>
#include <linux/dax.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/libnvdimm.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/version.h>
#include <linux/wait_bit.h>

/* drivers/dax private headers, copied from the matching linux-source */
#include "dax-private.h"
#include "bus.h"

#include "famfs_dax.h"

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
/* Neither DAXDRV_KMEM_TYPE (0) nor DAXDRV_DEVICE_TYPE (1): mainline's FSDEV. */
#define FAMFS_DAX_DRIVER_TYPE	((enum dax_driver_type)2)
#define FAMFS_DAX_MF_GONE	MF_MEM_PRE_REMOVE
#else
#define FAMFS_DAX_MF_GONE	0
#endif

/* Largest copy done under one dax_read_lock() by read()/write(). */
#define FAMFS_DAX_IO_CHUNK	(1UL << 20)

struct famfs_dax_holder {
	struct list_head list;
	void *holder;
	const struct famfs_dax_holder_ops *ops;
};

struct famfs_dax_range {
	u64 off;		/* byte offset of the range on the device */
	struct range range;	/* physical addresses */
};

/* One bound device. */
struct famfs_dax_dev {
	struct kref kref;		/* probe, open files, holders */
	struct list_head list;		/* famfs_dax_devs, until freed */
	bool bound;			/* open() finds it (famfs_dax_lock) */
	struct mutex lock;		/* alive, holders, callbacks */
	bool alive;			/* famfs_dax_get() takes it */
	struct list_head holders;
	struct device *dev;		/* the dev_dax's device (name, logs) */
	dev_t devt;			/* /dev/daxX.Y */
	struct dax_device *dax_dev;	/* ours, with operations */
	struct cdev *cdev;
	struct dev_pagemap *pgmap;
	bool static_pgmap;		/* the bus's (pmem) pgmap, restored on unbind */
	u64 size;			/* bytes */
	int nr_range;
	struct famfs_dax_range ranges[];
};

static DEFINE_MUTEX(famfs_dax_lock);
static LIST_HEAD(famfs_dax_devs);

/* The last reference: called with famfs_dax_lock held, drops it. */
static void famfs_dax_free(struct kref *kref)
{
	struct famfs_dax_dev *fdev = container_of(kref, struct famfs_dax_dev, kref);

	list_del(&fdev->list);
	mutex_unlock(&famfs_dax_lock);
	if (fdev->dax_dev) {
		kill_dax(fdev->dax_dev);	/* no-op if unbind did it */
		put_dax(fdev->dax_dev);
	}
	put_device(fdev->dev);
	kfree(fdev);
}

static void famfs_dax_dev_put(struct famfs_dax_dev *fdev)
{
	kref_put_mutex(&fdev->kref, famfs_dax_free, &famfs_dax_lock);
}

/*
 * Device byte offset -> physical address and the bytes that follow it
 * contiguously (to the end of its range).  -1 past the end.
 */
static phys_addr_t famfs_dax_phys(struct famfs_dax_dev *fdev, u64 off, u64 *avail)
{
	int i;

	for (i = 0; i < fdev->nr_range; i++) {
		struct famfs_dax_range *r = &fdev->ranges[i];
		u64 len = range_len(&r->range);

		if (off >= r->off && off - r->off < len) {
			*avail = len - (off - r->off);
			return r->range.start + (off - r->off);
		}
	}
	return -1;
}

/* ---------------------------------------------------------- dax_operations */

static long famfs_dax_direct_access(struct dax_device *dax_dev, pgoff_t pgoff,
				    long nr_pages, enum dax_access_mode mode,
				    void **kaddr, pfn_t *pfn)
{
	struct famfs_dax_dev *fdev = dax_get_private(dax_dev);
	phys_addr_t phys;
	u64 avail;

	if (!fdev)
		return -ENXIO;
	phys = famfs_dax_phys(fdev, PFN_PHYS(pgoff), &avail);
	if (phys == -1)
		return -ERANGE;
	if (kaddr)
		*kaddr = __va(phys);
	if (pfn)
		*pfn = phys_to_pfn_t(phys, PFN_DEV | PFN_MAP);
	return PHYS_PFN(avail);
}

static int famfs_dax_zero_page_range(struct dax_device *dax_dev, pgoff_t pgoff,
				     size_t nr_pages)
{
	struct famfs_dax_dev *fdev = dax_get_private(dax_dev);
	void *zero = page_address(ZERO_PAGE(0));
	size_t i;

	if (!fdev)
		return -ENXIO;
	for (i = 0; i < nr_pages; i++) {
		phys_addr_t phys;
		u64 avail;

		phys = famfs_dax_phys(fdev, PFN_PHYS(pgoff + i), &avail);
		if (phys == -1)
			return -ERANGE;
		memcpy_flushcache(__va(phys), zero, PAGE_SIZE);
	}
	return 0;
}

/* There is no poison to clear on device memory; write with flushes. */
static size_t famfs_dax_recovery_write(struct dax_device *dax_dev, pgoff_t pgoff,
				       void *addr, size_t bytes, struct iov_iter *iter)
{
	return _copy_from_iter_flushcache(addr, bytes, iter);
}

static const struct dax_operations famfs_dax_ops = {
	.direct_access = famfs_dax_direct_access,
	.zero_page_range = famfs_dax_zero_page_range,
	.recovery_write = famfs_dax_recovery_write,
};

/* ------------------------------------------------------- memory failure */

/*
 * Tell every holder; fdev->lock held.  -EOPNOTSUPP (memory_failure() then
 * runs its generic handler) if there is no holder or any holder asks for it,
 * else the first error, else 0.
 */
static int famfs_dax_notify(struct famfs_dax_dev *fdev, u64 off, u64 len, int mf_flags)
{
	bool generic = list_empty(&fdev->holders);
	struct famfs_dax_holder *h;
	int rc = 0, r;

	lockdep_assert_held(&fdev->lock);
	list_for_each_entry(h, &fdev->holders, list) {
		r = h->ops->notify_failure(h->holder, off, len, mf_flags);
		if (r == -EOPNOTSUPP)
			generic = true;
		else if (r && !rc)
			rc = r;
	}
	return generic ? -EOPNOTSUPP : rc;
}

static int famfs_dax_memory_failure(struct dev_pagemap *pgmap, unsigned long pfn,
				    unsigned long nr_pages, int mf_flags)
{
	struct famfs_dax_dev *fdev = pgmap->owner;
	phys_addr_t phys = PFN_PHYS(pfn);
	int i, rc = -ENXIO;

	for (i = 0; i < fdev->nr_range; i++) {
		struct famfs_dax_range *r = &fdev->ranges[i];

		if (phys < r->range.start || phys > r->range.end)
			continue;
		mutex_lock(&fdev->lock);
		dev_warn(fdev->dev, "memory failure at device offset %#llx, %lu page(s)\n",
			 r->off + (phys - r->range.start), nr_pages);
		rc = famfs_dax_notify(fdev, r->off + (phys - r->range.start),
				      PFN_PHYS(nr_pages), mf_flags);
		mutex_unlock(&fdev->lock);
		break;
	}
	return rc;
}

static const struct dev_pagemap_ops famfs_dax_pagemap_ops = {
	.memory_failure = famfs_dax_memory_failure,
};

/* ------------------------------------------------------ character device */

static int famfs_dax_open(struct inode *inode, struct file *file)
{
	struct famfs_dax_dev *fdev;
	int rc = -ENXIO;

	mutex_lock(&famfs_dax_lock);
	list_for_each_entry(fdev, &famfs_dax_devs, list) {
		if (fdev->bound && fdev->devt == inode->i_rdev) {
			kref_get(&fdev->kref);
			file->private_data = fdev;
			rc = 0;
			break;
		}
	}
	mutex_unlock(&famfs_dax_lock);
	if (rc)
		return rc;
	/*
	 * device_dax's open points the node's inode at the bus dax inode's
	 * mapping, with address_space_operations of device_dax's module, and
	 * sets S_DAX; do_dentry_open() reads f_mapping->a_ops after we
	 * return, and device_dax may have been unloaded since.  The node gets
	 * its own mapping back: nothing of device_dax is used through it.
	 */
	inode->i_mapping = &inode->i_data;
	inode->i_flags &= ~S_DAX;
	file->f_mapping = inode->i_mapping;
	return 0;
}

static int famfs_dax_release(struct inode *inode, struct file *file)
{
	famfs_dax_dev_put(file->private_data);
	return 0;
}

static loff_t famfs_dax_llseek(struct file *file, loff_t off, int whence)
{
	struct famfs_dax_dev *fdev = file->private_data;

	return fixed_size_llseek(file, off, whence, fdev->size);
}

/* read() and write(): chunks of device memory, each under dax_read_lock(). */
static ssize_t famfs_dax_rw(struct kiocb *iocb, struct iov_iter *iter, bool write)
{
	struct famfs_dax_dev *fdev = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;

	if (pos < 0)
		return -EINVAL;
	if (pos >= fdev->size || !iov_iter_count(iter))
		return 0;
	iov_iter_truncate(iter, fdev->size - pos);
	while (iov_iter_count(iter)) {
		size_t len, n;
		phys_addr_t phys;
		u64 avail;
		void *kaddr;
		int id;

		phys = famfs_dax_phys(fdev, pos, &avail);
		if (phys == -1)
			break;
		len = min_t(u64, min_t(u64, avail, iov_iter_count(iter)), FAMFS_DAX_IO_CHUNK);
		kaddr = __va(phys);
		id = dax_read_lock();
		if (!dax_alive(fdev->dax_dev)) {
			dax_read_unlock(id);
			return done ? done : -ENXIO;
		}
		if (write) {
			n = _copy_from_iter_flushcache(kaddr, len, iter);
		} else {
			/* Another host may have written: drop our cached lines. */
			arch_invalidate_pmem(kaddr, len);
			n = _copy_mc_to_iter(kaddr, len, iter);
		}
		dax_read_unlock(id);
		done += n;
		pos += n;
		if (n < len) {
			if (!done)
				return write ? -EFAULT : -EIO;
			break;
		}
		cond_resched();
	}
	if (write)
		wmb(); /* order the non-temporal stores before what follows */
	iocb->ki_pos = pos;
	return done;
}

static ssize_t famfs_dax_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return famfs_dax_rw(iocb, to, false);
}

static ssize_t famfs_dax_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return famfs_dax_rw(iocb, from, true);
}

/* Writes are already out of the CPU cache when write() returns. */
static int famfs_dax_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	return 0;
}

static const struct file_operations famfs_dax_fops = {
	.owner = THIS_MODULE,
	.open = famfs_dax_open,
	.release = famfs_dax_release,
	.llseek = famfs_dax_llseek,
	.read_iter = famfs_dax_read_iter,
	.write_iter = famfs_dax_write_iter,
	.fsync = famfs_dax_fsync,
};

/* ------------------------------------------------------- holder interface */

static struct dax_device_driver famfs_dax_driver;

struct dax_device *famfs_dax_get(struct file *devfile, void *holder,
				 const struct famfs_dax_holder_ops *ops, u64 *size)
{
	struct inode *inode = file_inode(devfile);
	struct famfs_dax_holder *nh;
	struct famfs_dax_dev *fdev;
	struct device *dev;

	if (!holder || !ops || !ops->notify_failure)
		return ERR_PTR(-EINVAL);
	if (devfile->f_op != &famfs_dax_fops) {
		if (!S_ISCHR(inode->i_mode))
			return ERR_PTR(-ENODEV);
		/* A dax character device that is not ours (right now)? */
		dev = bus_find_device_by_devt(famfs_dax_driver.drv.bus, inode->i_rdev);
		if (!dev)
			return ERR_PTR(-ENODEV);
		put_device(dev);
		return ERR_PTR(-ENXIO);
	}
	fdev = devfile->private_data;
	nh = kzalloc(sizeof(*nh), GFP_KERNEL);
	if (!nh)
		return ERR_PTR(-ENOMEM);
	mutex_lock(&fdev->lock);
	if (!fdev->alive) {
		mutex_unlock(&fdev->lock);
		kfree(nh);
		return ERR_PTR(-ENXIO);
	}
	/*
	 * One holder: fs/dax keeps one owner per page (page->mapping), so two
	 * file systems (two famfs mounts) mapping the same memory on one host
	 * would fight over it and memory_failure() would signal the wrong one.
	 */
	if (!list_empty(&fdev->holders)) {
		mutex_unlock(&fdev->lock);
		kfree(nh);
		return ERR_PTR(-EBUSY);
	}
	nh->holder = holder;
	nh->ops = ops;
	list_add_tail(&nh->list, &fdev->holders);
	kref_get(&fdev->kref);
	mutex_unlock(&fdev->lock);
	*size = fdev->size;
	return fdev->dax_dev;
}
EXPORT_SYMBOL_GPL(famfs_dax_get);

void famfs_dax_put(struct dax_device *dax_dev, void *holder)
{
	struct famfs_dax_holder *h, *found = NULL;
	struct famfs_dax_dev *fdev = NULL, *f;

	if (IS_ERR_OR_NULL(dax_dev))
		return;
	/* Live or unbound, a held device is on the list until it is freed. */
	mutex_lock(&famfs_dax_lock);
	list_for_each_entry(f, &famfs_dax_devs, list) {
		if (f->dax_dev == dax_dev) {
			fdev = f;
			break;
		}
	}
	mutex_unlock(&famfs_dax_lock);
	if (WARN_ON_ONCE(!fdev))
		return;
	mutex_lock(&fdev->lock);
	list_for_each_entry(h, &fdev->holders, list) {
		if (h->holder == holder) {
			found = h;
			list_del(&h->list);
			break;
		}
	}
	mutex_unlock(&fdev->lock);
	if (WARN_ON_ONCE(!found))
		return;
	kfree(found);
	famfs_dax_dev_put(fdev);
}
EXPORT_SYMBOL_GPL(famfs_dax_put);

/* ------------------------------------------------------------ bind/unbind */

/* devm action, runs last: the probe's reference (after the pages are gone). */
static void famfs_dax_probe_put(void *data)
{
	famfs_dax_dev_put(data);
}

/* devm action for a static (pmem) pgmap, after memunmap_pages(). */
static void famfs_dax_pgmap_reset(void *data)
{
	struct dev_pagemap *pgmap = data;

	pgmap->ops = NULL;
	pgmap->owner = NULL;
}

static int famfs_dax_probe(struct dev_dax *dev_dax)
{
	struct device *dev = &dev_dax->dev;
	struct famfs_dax_dev *fdev;
	struct dev_pagemap *pgmap;
	struct dax_device *dax_dev;
	ktime_t t0;
	void *addr;
	int i, rc;

	if (dev_dax->nr_range < 1)
		return -ENXIO;
	fdev = kzalloc(struct_size(fdev, ranges, dev_dax->nr_range), GFP_KERNEL);
	if (!fdev)
		return -ENOMEM;
	kref_init(&fdev->kref);
	mutex_init(&fdev->lock);
	INIT_LIST_HEAD(&fdev->holders);
	fdev->dev = get_device(dev);
	fdev->devt = dev->devt;
	fdev->nr_range = dev_dax->nr_range;
	for (i = 0; i < dev_dax->nr_range; i++) {
		fdev->ranges[i].off = PFN_PHYS(dev_dax->ranges[i].pgoff);
		fdev->ranges[i].range = dev_dax->ranges[i].range;
		fdev->size += range_len(&dev_dax->ranges[i].range);
	}
	mutex_lock(&famfs_dax_lock);
	list_add_tail(&fdev->list, &famfs_dax_devs);
	mutex_unlock(&famfs_dax_lock);
	rc = devm_add_action_or_reset(dev, famfs_dax_probe_put, fdev);
	if (rc)
		return rc;

	if (static_dev_dax(dev_dax)) {
		/* pmem: the bus keeps the pgmap (its range, its altmap) */
		if (dev_dax->nr_range > 1) {
			dev_warn(dev, "static pgmap / multi-range device conflict\n");
			return -EINVAL;
		}
		pgmap = dev_dax->pgmap;
		fdev->static_pgmap = true;
		rc = devm_add_action_or_reset(dev, famfs_dax_pgmap_reset, pgmap);
		if (rc)
			return rc;
	} else {
		if (dev_dax->pgmap) {
			dev_warn(dev, "dynamic-dax with pre-populated page map\n");
			return -EINVAL;
		}
		pgmap = devm_kzalloc(dev, struct_size(pgmap, ranges, dev_dax->nr_range - 1),
				     GFP_KERNEL);
		if (!pgmap)
			return -ENOMEM;
		pgmap->nr_range = dev_dax->nr_range;
		for (i = 0; i < dev_dax->nr_range; i++)
			pgmap->ranges[i] = dev_dax->ranges[i].range;
	}
	fdev->pgmap = pgmap;

	for (i = 0; i < dev_dax->nr_range; i++) {
		struct range *range = &dev_dax->ranges[i].range;

		if (!devm_request_mem_region(dev, range->start, range_len(range),
					     dev_name(dev))) {
			dev_warn(dev, "mapping%d: %#llx-%#llx could not reserve range\n",
				 i, range->start, range->end);
			return -EBUSY;
		}
	}

	/* fs-dax pages: single pages, 1-based refcounts, our failure handler */
	pgmap->type = MEMORY_DEVICE_FS_DAX;
	pgmap->vmemmap_shift = 0;
	pgmap->ops = &famfs_dax_pagemap_ops;
	pgmap->owner = fdev;
	t0 = ktime_get();
	addr = devm_memremap_pages(dev, pgmap);
	if (IS_ERR(addr))
		return PTR_ERR(addr);

	dax_dev = alloc_dax(fdev, &famfs_dax_ops);
	if (IS_ERR_OR_NULL(dax_dev))
		return dax_dev ? PTR_ERR(dax_dev) : -ENOMEM;
	fdev->dax_dev = dax_dev;
	set_dax_nocache(dax_dev);
	dax_write_cache(dax_dev, true);

	fdev->cdev = cdev_alloc();
	if (!fdev->cdev)
		return -ENOMEM;
	fdev->cdev->ops = &famfs_dax_fops;
	fdev->cdev->owner = THIS_MODULE;
	cdev_set_parent(fdev->cdev, &dev->kobj);
	rc = cdev_add(fdev->cdev, dev->devt, 1);
	if (rc) {
		kobject_put(&fdev->cdev->kobj);
		fdev->cdev = NULL;
		return rc;
	}

	dev_set_drvdata(dev, fdev);
	mutex_lock(&famfs_dax_lock);
	fdev->bound = true;
	mutex_unlock(&famfs_dax_lock);
	mutex_lock(&fdev->lock);
	fdev->alive = true;
	mutex_unlock(&fdev->lock);
	dev_info(dev, "famfs_dax: %llu MiB in %d range(s), fs-dax pages mapped in %lld ms\n",
		 fdev->size >> 20, fdev->nr_range, ktime_ms_delta(ktime_get(), t0));
	return 0;
}

/* Report every this many seconds that unbinding still waits for a page. */
#define FAMFS_DAX_BUSY_REPORT_SECS	30

/*
 * After the holders were told and the dax_device is dead, nothing can map
 * or pin a page of ours anew; wait until every page is idle (refcount 1,
 * fs-dax pages are 1-based) before the core frees the memmap: a holder that
 * lost track of a page (a bug, or a holder that is not famfs.ko) must not
 * turn into a use after free. One pass over the memmap, like the bind.
 * A page still owned by a file (page->mapping) is reported.
 */
static void famfs_dax_wait_idle(struct famfs_dax_dev *fdev)
{
	unsigned long busy = 0, owned = 0, t0 = jiffies;
	int i;

	for (i = 0; i < fdev->nr_range; i++) {
		unsigned long pfn = PHYS_PFN(fdev->ranges[i].range.start);
		unsigned long end = PHYS_PFN(fdev->ranges[i].range.end + 1);

		for (; pfn < end; pfn++) {
			struct page *page = pfn_to_page(pfn);

			if (READ_ONCE(page->mapping))
				owned++;
			if (page_ref_count(page) > 1)
				busy++;
			while (page_ref_count(page) > 1) {
				long left = ___wait_var_event(&page->_refcount,
					___wait_cond_timeout(page_ref_count(page) == 1),
					TASK_IDLE, 0, FAMFS_DAX_BUSY_REPORT_SECS * HZ,
					__ret = schedule_timeout(__ret));

				if (!left)
					dev_warn(fdev->dev, "unbind waits %u s for a page still held (pfn %#lx)\n",
						 jiffies_to_msecs(jiffies - t0) / 1000, pfn);
			}
			if (!(pfn & 4095))
				cond_resched();
		}
	}
	if (busy || owned)
		dev_info(fdev->dev, "famfs_dax: unbind waited for %lu held page(s), %lu still owned by a file\n",
			 busy, owned);
}

static void famfs_dax_remove(struct dev_dax *dev_dax)
{
	struct famfs_dax_dev *fdev = dev_get_drvdata(&dev_dax->dev);
	struct famfs_dax_holder *h;
	int n = 0;

	mutex_lock(&famfs_dax_lock);
	fdev->bound = false;		/* no new open() */
	mutex_unlock(&famfs_dax_lock);

	mutex_lock(&fdev->lock);
	fdev->alive = false;		/* no new holder */
	list_for_each_entry(h, &fdev->holders, list) {
		/* they unmap their files and fail from now on */
		h->ops->notify_failure(h->holder, 0, FAMFS_DAX_GONE, FAMFS_DAX_MF_GONE);
		n++;
	}
	mutex_unlock(&fdev->lock);

	/* in-flight DAX access drains, new access fails (-ENXIO) */
	kill_dax(fdev->dax_dev);
	famfs_dax_wait_idle(fdev);
	cdev_del(fdev->cdev);
	fdev->cdev = NULL;
	dev_info(&dev_dax->dev, "famfs_dax: unbound (%d holder(s) told)\n", n);
	/* devm: memunmap_pages(), regions, static pgmap reset, probe reference */
}

static struct dax_device_driver famfs_dax_driver = {
	.probe = famfs_dax_probe,
	.remove = famfs_dax_remove,
#ifdef FAMFS_DAX_DRIVER_TYPE
	.type = FAMFS_DAX_DRIVER_TYPE,
#else
	.match_always = 0,
#endif
};

static int __init famfs_dax_init(void)
{
	return dax_driver_register(&famfs_dax_driver);
}

static void __exit famfs_dax_exit(void)
{
	dax_driver_unregister(&famfs_dax_driver);
}

module_init(famfs_dax_init);
module_exit(famfs_dax_exit);
MODULE_DESCRIPTION("famfs: fs-dax on device-dax instances (explicit binding only)");
MODULE_LICENSE("GPL");
