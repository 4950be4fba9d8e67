// SPDX-License-Identifier: GPL-2.0
/*
 * famfs.c - famfs mode of fuse.ko: files on shared DAX memory, mapped by the
 * kernel itself from a map (fmap) that the FUSE server hands out once per
 * file.  docs/kernel.md describes the design; fs/fuse calls the functions
 * below from a handful of hooks (kmod/fuse-famfs.patch, famfs.h).
 *
 * Protocol
 *   INIT        FUSE_DAX_FMAP (flags2 bit 11) is offered to /dev/fuse servers
 *               mounted for root by a task with CAP_SYS_RAWIO; the connection
 *               is in famfs mode if the reply sets it too (fc->famfs).
 *   GET_FMAP    after a successful OPEN of a regular file whose inode has no
 *               map yet.  Input: the reply buffer size.  The reply is the
 *               fmap, or exactly 4 bytes holding the size it needs: then the
 *               buffer is reallocated and the request retried once.  ENODATA
 *               means "no map yet" (a file created but not yet sized).
 *   GET_DAXDEV  once per device index that a map uses (index in nodeid); the
 *               reply names the device node, which is opened and kept until
 *               the connection goes away.
 *
 * Switching to DAX
 *   A file of a famfs connection is served either through its fmap (DAX,
 *   S_DAX set, fi->famfs_imap non-NULL) or through the normal FUSE data path
 *   (page cache, READ/WRITE upcalls).  The choice is made once per inode:
 *   the first open that gets a usable map switches the inode to DAX, unless
 *   the inode was already read, written or mmapped through FUSE (then it has
 *   page cache or page-cache mappings we must not mix with DAX entries, and
 *   FAMFS_I_FUSE_PATH keeps it on the FUSE path until it is evicted).  The
 *   switch runs under the inode lock and the exclusive invalidate lock; the
 *   dispatch predicate decides undecided inodes under the shared invalidate
 *   lock, so no read, write or mmap can straddle it.
 *
 * Locking
 *   fcf->lock            device table setup (GET_DAXDEV, opening a device)
 *   inode->i_rwsem       exclusive: GET_FMAP and the switch (one GET_FMAP
 *                        per inode), DAX writes; shared: DAX reads
 *   mapping->invalidate_lock
 *                        shared: DAX faults, dispatch of undecided inodes;
 *                        exclusive: the switch, and eviction (which waits for
 *                        pinned DAX pages before the map can go away)
 *   Order: i_rwsem -> invalidate_lock, i_rwsem -> fcf->lock,
 *          mmap_lock -> invalidate_lock.
 *   A map never changes once published; it is freed with the inode.
 */
#define pr_fmt(fmt) "fuse: famfs: " fmt

#include "fuse_i.h"
#include "fmap.h"

#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/iomap.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/wait_bit.h>

/* Device indices a connection can use (GET_DAXDEV index is a u16 on the wire). */
#define FAMFS_MAX_DAXDEVS	32

/* fi->famfs_state bits */
#define FAMFS_I_FUSE_PATH	0	/* committed to the FUSE data path */

static bool famfs_enable = true;
module_param(famfs_enable, bool, 0644);
MODULE_PARM_DESC(famfs_enable,
		 "Offer FUSE_DAX_FMAP (famfs mode) to privileged FUSE servers (default Y)");

static unsigned int famfs_fmap_bufsize = PAGE_SIZE;
module_param(famfs_fmap_bufsize, uint, 0644);
MODULE_PARM_DESC(famfs_fmap_bufsize,
		 "First GET_FMAP reply buffer in bytes, 4..1048576 (default PAGE_SIZE); a small value forces the size-negotiated retry");

enum famfs_dev_kind {
	FAMFS_DEV_NONE = 0,	/* not looked up yet */
	FAMFS_DEV_PMEM,		/* fsdax block device (/dev/pmemX) */
	/*
	 * A device this kernel cannot map, e.g. a character /dev/daxX.Y on
	 * 6.1 (its dax_device has no operations).  Files using it stay on the
	 * FUSE data path.  A devdax driver with a dax_device of its own would
	 * become FAMFS_DEV_DEVDAX here: iomap only needs dax_dev + offset.
	 */
	FAMFS_DEV_NODAX,
};

struct famfs_conn;

/* One entry of the per-connection device table. */
struct famfs_daxdev {
	int kind;			/* enum famfs_dev_kind, published last */
	bool bad;			/* memory failure or device removed: EIO */
	bool holder;			/* we hold the dax_device (failure notices) */
	u32 index;
	fmode_t mode;
	struct block_device *bdev;	/* FAMFS_DEV_PMEM */
	struct dax_device *dax_dev;
	u64 part_off;			/* byte offset of bdev on dax_dev */
	u64 size;			/* bytes addressable through this device */
};

struct famfs_conn {
	struct mutex lock;		/* device setup: GET_DAXDEV + open */
	struct famfs_daxdev dev[FAMFS_MAX_DAXDEVS];
};

/* Per-inode state of a file served through its map. */
struct famfs_imap {
	struct fmap *fmap;
	loff_t size;			/* min(fmap file_size, i_size at the switch) */
	struct famfs_daxdev *wb_dev;	/* whose cache policy DAX writeback follows */
};

/* ------------------------------------------------------------------ INIT */

bool fuse_famfs_offer(struct fuse_conn *fc)
{
	/*
	 * Only /dev/fuse servers (not virtiofs), in the initial user
	 * namespace, mounted for root (fusermount3 is setuid root: a mount it
	 * makes for another user must not get raw access to memory devices),
	 * by a task that may do raw I/O.
	 */
	return READ_ONCE(famfs_enable) && fc->iq.ops == &fuse_dev_fiq_ops &&
	       fc->user_ns == &init_user_ns &&
	       uid_eq(fc->user_id, GLOBAL_ROOT_UID) && capable(CAP_SYS_RAWIO);
}

/*
 * The INIT reply: famfs mode if we offered FUSE_DAX_FMAP (@offered_flags2,
 * what we sent in fuse_init_in.flags2) and the server's @flags accept it.
 */
int fuse_famfs_init_reply(struct fuse_conn *fc, u32 offered_flags2, u64 flags)
{
	struct famfs_conn *fcf;
	int i;

	if (!(flags & FUSE_DAX_FMAP) ||
	    !(offered_flags2 & (u32)(FUSE_DAX_FMAP >> 32)))
		return 0;
	fcf = kzalloc(sizeof(*fcf), GFP_KERNEL);
	if (!fcf)
		return -ENOMEM;
	mutex_init(&fcf->lock);
	for (i = 0; i < FAMFS_MAX_DAXDEVS; i++)
		fcf->dev[i].index = i;
	WRITE_ONCE(fc->famfs, fcf);
	return 0;
}

void fuse_famfs_statfs(struct fuse_conn *fc, struct kstatfs *buf)
{
	if (fuse_famfs_conn(fc))
		buf->f_type = FAMFS_STATFS_MAGIC;
}

/* ---------------------------------------------------------- device table */

static int famfs_notify_failure(struct dax_device *dax_dev, u64 offset,
				u64 len, int mf_flags)
{
	struct famfs_daxdev *dev = dax_holder(dax_dev);

	if (!dev)
		return -EOPNOTSUPP;
	if (!READ_ONCE(dev->bad)) {
		if (len == U64_MAX)
			pr_err("device %u removed: I/O to its files fails with EIO\n",
			       dev->index);
		else
			pr_err("device %u: memory failure at 0x%llx (+0x%llx): I/O to its files fails with EIO\n",
			       dev->index, offset, len);
	}
	WRITE_ONCE(dev->bad, true);
	/*
	 * Let memory_failure() fall back to its generic handler, which
	 * unmaps the page and signals the processes that map it.
	 */
	return -EOPNOTSUPP;
}

static const struct dax_holder_operations famfs_holder_ops = {
	.notify_failure = famfs_notify_failure,
};

/* Ask the server which device index @index is. @name gets a NUL-terminated path. */
static int famfs_get_daxdev(struct fuse_mount *fm, u32 index, char *name)
{
	struct fuse_daxdev_out *out;
	FUSE_ARGS(args);
	int err;

	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	args.opcode = FUSE_GET_DAXDEV;
	args.nodeid = index;
	args.out_numargs = 1;
	args.out_args[0].size = sizeof(*out);
	args.out_args[0].value = out;
	err = fuse_simple_request(fm, &args);
	if (!err && (out->index != index || out->name[0] != '/' ||
		     !memchr(out->name, 0, sizeof(out->name)))) {
		pr_warn("GET_DAXDEV %u: bad reply\n", index);
		err = -EIO;
	}
	if (!err)
		strscpy(name, out->name, FUSE_DAXDEV_NAME_MAX);
	kfree(out);
	return err;
}

/* Open the device named @name for @dev (fcf->lock held). */
static int famfs_dev_open(struct fuse_mount *fm, struct famfs_daxdev *dev,
			  const char *name)
{
	fmode_t mode = FMODE_READ | (sb_rdonly(fm->sb) ? 0 : FMODE_WRITE);
	struct block_device *bdev;
	struct dax_device *dax_dev;
	bool holder = true;
	u64 part_off = 0;

	bdev = blkdev_get_by_path(name, mode, NULL);
	if (IS_ERR(bdev)) {
		if (PTR_ERR(bdev) != -ENOTBLK) {
			pr_warn("device %u: cannot open %s: %ld\n", dev->index,
				name, PTR_ERR(bdev));
			return PTR_ERR(bdev);
		}
		pr_info("device %u: %s is not a block device: its files use the FUSE data path\n",
			dev->index, name);
		/* pairs with smp_load_acquire() in famfs_dev_get() */
		smp_store_release(&dev->kind, FAMFS_DEV_NODAX);
		return 0;
	}
	dax_dev = fs_dax_get_by_bdev(bdev, &part_off, dev, &famfs_holder_ops);
	if (!dax_dev) {
		/* Another holder (e.g. a second famfs mount): no failure notices. */
		holder = false;
		dax_dev = fs_dax_get_by_bdev(bdev, &part_off, NULL, NULL);
	}
	if (!dax_dev) {
		pr_info("device %u: %s does not support DAX: its files use the FUSE data path\n",
			dev->index, name);
		blkdev_put(bdev, mode);
		/* pairs with smp_load_acquire() in famfs_dev_get() */
		smp_store_release(&dev->kind, FAMFS_DEV_NODAX);
		return 0;
	}
	dev->mode = mode;
	dev->bdev = bdev;
	dev->dax_dev = dax_dev;
	dev->holder = holder;
	dev->part_off = part_off;
	dev->size = bdev_nr_bytes(bdev);
	pr_info("device %u: %s, %llu MiB%s\n", dev->index, name,
		dev->size >> 20, holder ? "" : " (shared holder: no failure notices)");
	/* publish the fields above; pairs with famfs_dev_get() */
	smp_store_release(&dev->kind, FAMFS_DEV_PMEM);
	return 0;
}

static void famfs_dev_close(struct famfs_daxdev *dev)
{
	if (dev->kind != FAMFS_DEV_PMEM)
		return;
	fs_put_dax(dev->dax_dev, dev->holder ? dev : NULL);
	blkdev_put(dev->bdev, dev->mode);
	dev->kind = FAMFS_DEV_NONE;
}

/* The table entry of device @index, looked up with GET_DAXDEV on first use. */
static struct famfs_daxdev *famfs_dev_get(struct fuse_mount *fm, u32 index)
{
	struct famfs_conn *fcf = fm->fc->famfs;
	struct famfs_daxdev *dev;
	char *name;
	int err = 0;

	if (index >= FAMFS_MAX_DAXDEVS) {
		pr_warn("device index %u out of range (max %u)\n", index,
			FAMFS_MAX_DAXDEVS - 1);
		return ERR_PTR(-EINVAL);
	}
	dev = &fcf->dev[index];
	/* set up once, then read without the lock: see famfs_dev_open() */
	if (smp_load_acquire(&dev->kind) != FAMFS_DEV_NONE)
		return dev;

	name = kmalloc(FUSE_DAXDEV_NAME_MAX, GFP_KERNEL);
	if (!name)
		return ERR_PTR(-ENOMEM);
	if (mutex_lock_killable(&fcf->lock)) {
		kfree(name);
		return ERR_PTR(-EINTR);
	}
	if (dev->kind == FAMFS_DEV_NONE) {
		err = famfs_get_daxdev(fm, index, name);
		if (!err)
			err = famfs_dev_open(fm, dev, name);
	}
	mutex_unlock(&fcf->lock);
	kfree(name);
	return err ? ERR_PTR(err) : dev;
}

void fuse_famfs_conn_free(struct fuse_conn *fc)
{
	struct famfs_conn *fcf = fc->famfs;
	int i;

	if (!fcf)
		return;
	for (i = 0; i < FAMFS_MAX_DAXDEVS; i++)
		famfs_dev_close(&fcf->dev[i]);
	mutex_destroy(&fcf->lock);
	kfree(fcf);
	fc->famfs = NULL;
}

/* -------------------------------------------------------------- GET_FMAP */

/* Fetch and decode the fmap of @nodeid: 0, -ENODATA (no map yet) or -errno. */
static int famfs_get_fmap(struct fuse_mount *fm, u64 nodeid, struct fmap **out)
{
	size_t bufsize = clamp_t(size_t, READ_ONCE(famfs_fmap_bufsize),
				 FMAP_SIZE_REPLY, FMAP_MSG_MAX);
	struct fuse_get_fmap_in inarg;
	const char *why = NULL;
	bool retried = false;
	void *buf = NULL;
	u32 needed;
	ssize_t ret;

	for (;;) {
		FUSE_ARGS(args);

		buf = kvzalloc(bufsize, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		inarg.size = bufsize;
		inarg.padding = 0;
		args.opcode = FUSE_GET_FMAP;
		args.nodeid = nodeid;
		args.in_numargs = 1;
		args.in_args[0].size = sizeof(inarg);
		args.in_args[0].value = &inarg;
		args.out_argvar = true;
		args.out_numargs = 1;
		args.out_args[0].size = bufsize;
		args.out_args[0].value = buf;
		ret = fuse_simple_request(fm, &args);
		if (ret != FMAP_SIZE_REPLY)
			break;
		/* "Buffer too small": retry once with the size it needs. */
		if (retried || fmap_parse_size_reply(buf, ret, &needed) ||
		    needed <= bufsize) {
			pr_warn_ratelimited("inode %llu: bad GET_FMAP size reply%s\n",
					    nodeid, retried ? " (second one)" : "");
			ret = -EIO;
			goto out;
		}
		kvfree(buf);
		bufsize = needed;
		retried = true;
	}
	if (ret < 0)
		goto out;
	ret = fmap_decode(buf, ret, out, &why);
	if (ret == -EINVAL) {
		pr_warn_ratelimited("inode %llu: invalid fmap: %s\n", nodeid,
				    why ? why : "?");
		ret = -EIO;
	}
out:
	kvfree(buf);
	return ret;
}

/*
 * Check @fmap against the device table (opening devices on first use):
 * every extent on a known device and inside it.  *@nodax is set if a
 * device cannot be mapped by this kernel.
 */
static int famfs_map_check(struct fuse_mount *fm, u64 nodeid, struct fmap *fmap,
			   bool *nodax, struct famfs_daxdev **wb_dev)
{
	u32 i, n = fmap->ext_type == FMAP_EXT_SIMPLE ? fmap->nextents :
						       fmap->nstrips_total;

	*nodax = false;
	*wb_dev = NULL;
	if (fmap->file_size > MAX_LFS_FILESIZE) {
		pr_warn_ratelimited("inode %llu: fmap file size %llu too large\n",
				    nodeid, (unsigned long long)fmap->file_size);
		return -EFBIG;
	}
	for (i = 0; i < n; i++) {
		const struct fmap_extent *e = &fmap->ext[i];
		struct famfs_daxdev *dev = famfs_dev_get(fm, e->devindex);

		if (IS_ERR(dev))
			return PTR_ERR(dev);
		if (dev->kind == FAMFS_DEV_NODAX) {
			*nodax = true;
			continue;
		}
		if (e->offset >= dev->size || e->len > dev->size - e->offset) {
			pr_warn_ratelimited("inode %llu: extent 0x%llx+0x%llx beyond device %u (0x%llx bytes)\n",
					    nodeid, (unsigned long long)e->offset,
					    (unsigned long long)e->len, dev->index,
					    dev->size);
			return -EIO;
		}
		if (!*wb_dev || (!dax_write_cache_enabled((*wb_dev)->dax_dev) &&
				 dax_write_cache_enabled(dev->dax_dev)))
			*wb_dev = dev;
	}
	return 0;
}

/* ------------------------------------------------------- switch to DAX */

static const struct address_space_operations famfs_dax_aops;

/*
 * Make @inode a DAX file served through @im.  Caller holds the inode lock.
 * Returns false if the inode is committed to the FUSE path.
 */
static bool famfs_switch_to_dax(struct inode *inode, struct famfs_imap *im)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	struct address_space *mapping = inode->i_mapping;
	bool ok = false;

	filemap_invalidate_lock(mapping);
	if (!test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state)) {
		/* Only readahead (fadvise) can have cached pages: drop them. */
		truncate_inode_pages(mapping, 0);
		mapping->a_ops = &famfs_dax_aops;
		inode_set_flags(inode, S_DAX, S_DAX);
		/*
		 * DAX works in pages (dax_writeback_mapping_range insists);
		 * fuse_change_attributes_common() keeps it so once the map is
		 * published, and runs under fi->lock.
		 */
		spin_lock(&fi->lock);
		inode->i_blkbits = PAGE_SHIFT;
		/* S_DAX and a_ops before the map: pairs with famfs_imap() */
		smp_store_release(&fi->famfs_imap, im);
		spin_unlock(&fi->lock);
		ok = true;
	}
	filemap_invalidate_unlock(mapping);
	return ok;
}

/* Fetch, check and install @inode's map (inode lock held). */
static int famfs_inode_setup(struct inode *inode)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	struct fuse_mount *fm = get_fuse_mount(inode);
	struct famfs_daxdev *wb_dev;
	struct famfs_imap *im;
	struct fmap *fmap;
	bool nodax;
	int err;

	if (fuse_famfs_mapped(inode) || test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state))
		return 0;
	err = famfs_get_fmap(fm, fi->nodeid, &fmap);
	if (err == -ENODATA)
		return 0;	/* not sized yet: FUSE path; ask again next open */
	if (err)
		return err;
	err = famfs_map_check(fm, fi->nodeid, fmap, &nodax, &wb_dev);
	if (err)
		goto out_free;
	if (nodax) {
		set_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state);
		goto out_free;
	}
	err = -ENOMEM;
	im = kzalloc(sizeof(*im), GFP_KERNEL);
	if (!im)
		goto out_free;
	im->fmap = fmap;
	im->wb_dev = wb_dev;
	im->size = min_t(loff_t, fmap->file_size, i_size_read(inode));
	if (im->size != fmap->file_size)
		pr_warn_ratelimited("inode %llu: size %lld, fmap says %llu: using %lld\n",
				    fi->nodeid, i_size_read(inode),
				    (unsigned long long)fmap->file_size, im->size);
	if (famfs_switch_to_dax(inode, im))
		return 0;
	kfree(im);
	err = 0;
out_free:
	fmap_free(fmap);
	return err;
}

int fuse_famfs_open(struct inode *inode, struct file *file)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	int err;

	if (!fuse_famfs_conn(get_fuse_conn(inode)) || fuse_famfs_mapped(inode) ||
	    test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state))
		return 0;
	inode_lock(inode);
	err = famfs_inode_setup(inode);
	inode_unlock(inode);
	if (err) {
		/* The server opened it: tell it we did not. */
		fuse_sync_release(fi, file->private_data, file->f_flags);
		if (err == -EINVAL)
			err = -EIO;
	}
	return err;
}

bool __fuse_famfs_use_dax(struct inode *inode)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	bool dax;

	if (fuse_famfs_mapped(inode))
		return true;
	if (test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state))
		return false;
	/* Undecided: decide now, excluding a concurrent switch. */
	filemap_invalidate_lock_shared(inode->i_mapping);
	dax = fuse_famfs_mapped(inode);
	if (!dax)
		set_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	return dax;
}

/* --------------------------------------------------------- inode life */

void fuse_famfs_inode_init(struct fuse_inode *fi)
{
	fi->famfs_imap = NULL;
	fi->famfs_state = 0;
}

static void famfs_wait_dax_page(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
	schedule();
	filemap_invalidate_lock(inode->i_mapping);
}

/*
 * Unmap the whole file and wait until no DAX page of it is pinned (by
 * get_user_pages(), e.g. O_DIRECT I/O from a mapping of it).  Caller holds
 * the invalidate lock exclusively, so no new mapping can be set up.
 */
static void famfs_break_layouts(struct inode *inode)
{
	struct page *page;

	while ((page = dax_layout_busy_page_range(inode->i_mapping, 0, LLONG_MAX)))
		___wait_var_event(&page->_refcount,
				  atomic_read(&page->_refcount) == 1,
				  TASK_UNINTERRUPTIBLE, 0, 0,
				  famfs_wait_dax_page(inode));
}

void fuse_famfs_evict_inode(struct inode *inode)
{
	if (!fuse_famfs_mapped(inode))
		return;
	filemap_invalidate_lock(inode->i_mapping);
	famfs_break_layouts(inode);
	filemap_invalidate_unlock(inode->i_mapping);
}

void fuse_famfs_free_inode(struct fuse_inode *fi)
{
	struct famfs_imap *im = fi->famfs_imap;

	if (im) {
		fmap_free(im->fmap);
		kfree(im);
		fi->famfs_imap = NULL;
	}
}

/* ------------------------------------------------------------ iomap */

static struct famfs_imap *famfs_imap(struct inode *inode)
{
	/* pairs with the release in famfs_switch_to_dax() */
	return smp_load_acquire(&get_fuse_inode(inode)->famfs_imap);
}

static int famfs_iomap_begin(struct inode *inode, loff_t pos, loff_t length,
			     unsigned int flags, struct iomap *iomap,
			     struct iomap *srcmap)
{
	struct famfs_conn *fcf = get_fuse_conn(inode)->famfs;
	struct famfs_imap *im = famfs_imap(inode);
	struct famfs_daxdev *dev;
	struct fmap_loc loc;
	loff_t size;

	if (WARN_ON_ONCE(!im))
		return -EIO;
	if ((flags & IOMAP_WRITE) && IS_RDONLY(inode))
		return -EROFS;
	size = min(im->size, i_size_read(inode));
	iomap->offset = pos;
	iomap->flags = 0;
	if (pos >= size) {
		/* Nothing of the file lives here; famfs files never grow. */
		if (flags & IOMAP_WRITE)
			return -EFBIG;
		iomap->type = IOMAP_HOLE;
		iomap->addr = IOMAP_NULL_ADDR;
		iomap->length = length;
		return 0;
	}
	if (fmap_resolve(im->fmap, pos, &loc))
		return -EIO;
	dev = &fcf->dev[loc.devindex];	/* checked at open */
	if (READ_ONCE(dev->bad))
		return -EIO;
	iomap->type = IOMAP_MAPPED;
	iomap->addr = dev->part_off + loc.offset;
	/* To the end of the extent or chunk, and of the file's last page. */
	iomap->length = min_t(u64, loc.len, round_up(size, PAGE_SIZE) - pos);
	iomap->bdev = dev->bdev;
	iomap->dax_dev = dev->dax_dev;
	return 0;
}

static const struct iomap_ops famfs_iomap_ops = {
	.iomap_begin = famfs_iomap_begin,
};

/* --------------------------------------------------------- read/write */

ssize_t fuse_famfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!inode_trylock_shared(inode))
			return -EAGAIN;
	} else {
		inode_lock_shared(inode);
	}
	ret = dax_iomap_rw(iocb, to, &famfs_iomap_ops);
	inode_unlock_shared(inode);
	file_accessed(iocb->ki_filp);
	return ret;
}

/*
 * Writes never extend a famfs file: one that starts at or past EOF fails
 * with EFBIG, one that straddles EOF is cut short there (the server's rules).
 */
ssize_t fuse_famfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	loff_t size;
	ssize_t ret;

	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!inode_trylock(inode))
			return -EAGAIN;
	} else {
		inode_lock(inode);
	}
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	size = min(famfs_imap(inode)->size, i_size_read(inode));
	if (iocb->ki_pos >= size) {
		ret = -EFBIG;
		goto out;
	}
	iov_iter_truncate(from, size - iocb->ki_pos);
	/*
	 * famfs keeps no security.* xattrs, so only set-id bits can need
	 * removing; file_remove_privs() would otherwise ask the server for
	 * security.capability (a GETXATTR upcall) on every write.
	 */
	if (inode->i_mode & (S_ISUID | S_ISGID)) {
		ret = file_remove_privs(iocb->ki_filp);
		if (ret)
			goto out;
	}
	ret = dax_iomap_rw(iocb, from, &famfs_iomap_ops);
out:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/* --------------------------------------------------------------- mmap */

static vm_fault_t famfs_fault(struct vm_fault *vmf, enum page_entry_size pe_size,
			      bool write)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	vm_fault_t ret;
	pfn_t pfn;

	if (write)
		sb_start_pagefault(inode->i_sb);
	/* Serialize with anything that unmaps the file (eviction). */
	filemap_invalidate_lock_shared(inode->i_mapping);
	ret = dax_iomap_fault(vmf, pe_size, &pfn, NULL, &famfs_iomap_ops);
	if (ret & VM_FAULT_NEEDDSYNC)
		ret = dax_finish_sync_fault(vmf, pe_size, pfn);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	if (write)
		sb_end_pagefault(inode->i_sb);
	return ret;
}

/* A write to a shared mapping; private (COW) writes never touch the device. */
static bool famfs_write_fault(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && (vmf->vma->vm_flags & VM_SHARED);
}

static vm_fault_t famfs_pte_fault(struct vm_fault *vmf)
{
	return famfs_fault(vmf, PE_SIZE_PTE, famfs_write_fault(vmf));
}

static vm_fault_t famfs_huge_fault(struct vm_fault *vmf, enum page_entry_size pe_size)
{
	return famfs_fault(vmf, pe_size, famfs_write_fault(vmf));
}

/* First write to a page that a read fault mapped read-only. */
static vm_fault_t famfs_mkwrite(struct vm_fault *vmf)
{
	return famfs_fault(vmf, PE_SIZE_PTE, true);
}

static const struct vm_operations_struct famfs_vm_ops = {
	.fault		= famfs_pte_fault,
	.huge_fault	= famfs_huge_fault,
	.page_mkwrite	= famfs_mkwrite,
	.pfn_mkwrite	= famfs_mkwrite,
};

int fuse_famfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);

	if (IS_RDONLY(inode) && (vma->vm_flags & VM_SHARED) &&
	    (vma->vm_flags & VM_MAYWRITE))
		return -EACCES;
	file_accessed(file);
	vma->vm_ops = &famfs_vm_ops;
	vma->vm_flags |= VM_MIXEDMAP | VM_HUGEPAGE;
	return 0;
}

/* Flush what write faults dirtied (fsync, msync, close). */
static int famfs_dax_writepages(struct address_space *mapping,
				struct writeback_control *wbc)
{
	struct famfs_imap *im = famfs_imap(mapping->host);

	if (!im || !im->wb_dev)
		return 0;
	return dax_writeback_mapping_range(mapping, im->wb_dev->dax_dev, wbc);
}

static const struct address_space_operations famfs_dax_aops = {
	.writepages	= famfs_dax_writepages,
	.direct_IO	= noop_direct_IO,
	.dirty_folio	= noop_dirty_folio,
};
