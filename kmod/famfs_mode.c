// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_mode.c - the famfs mode of famfs.ko: files on shared DAX memory,
 * mapped by the kernel itself from a map (fmap) that the FUSE server hands
 * out once per file, and the rules that keep such a file's map valid
 * whatever the server says. docs/kernel.md describes the design; fs/fuse
 * calls the functions below from a handful of hooks (famfs.h,
 * kmod/patches/<series>/02-hooks.patch).
 *
 * Protocol (famfs_kabi.h, docs/protocol.md)
 *   INIT        FAMFS_DAX_FMAP (flags2 bit 11) is offered when root, with
 *               CAP_SYS_RAWIO in the initial user namespace, mounts; the
 *               connection is in famfs mode if the reply sets it too.
 *   devices     registered by fd with FAMFS_DEV_IOC_DAXDEV_REGISTER on the
 *               channel (famfs_dev.c); GET_DAXDEV is never sent.
 *   GET_FMAP    after a successful OPEN of a regular file whose inode has no
 *               map yet.  Input: the reply buffer size.  The reply is the
 *               fmap, or exactly 4 bytes holding the size it needs: then the
 *               buffer is reallocated and the request retried once.  ENODATA
 *               means "no map yet" (a file created but not yet sized).
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
 * Rules (a mapped file never changes size and never loses its map while
 * anything can still reach it through the map)
 *   - setattr size, O_TRUNC, fallocate beyond EOF: EPERM; punch hole and
 *     zero range: EOPNOTSUPP; all before any upcall or page cache work;
 *   - an attribute reply with another size for a mapped file is not applied
 *     (its size stays, nothing is truncated); set-id bits are never taken
 *     from any reply (a DAX write by a task without CAP_FSETID strips the
 *     server's), and the superblock is nodev;
 *   - the map is dropped only at eviction, under the exclusive invalidate
 *     lock, after every DAX page of the file has been released; reclaim
 *     never evicts an inode whose DAX page another task holds (drop_inode);
 *   - the release of a writable file writes back what its shared mappings
 *     dirtied before RELEASE reaches the server;
 *   - memory failure fails I/O that touches the failed range (famfs_dev.c).
 *
 * Locking
 *   fcf->lock            device registration (famfs_dev.c)
 *   inode->i_rwsem       exclusive: GET_FMAP and the switch (one GET_FMAP
 *                        per inode), DAX writes; shared: DAX reads
 *   mapping->invalidate_lock
 *                        shared: DAX faults, dispatch of undecided inodes;
 *                        exclusive: the switch, and eviction (which waits for
 *                        pinned DAX pages before the map can go away)
 *   fi->lock             publishing the map against attribute updates
 *   Order: i_rwsem -> invalidate_lock, mmap_lock -> invalidate_lock.
 *   A map never changes once published; it is freed with the inode.
 */
#include "fuse_i.h"
#include "famfs_priv.h"
#include "fmap.h"

#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/fadvise.h>
#include <linux/falloc.h>
#include <linux/iomap.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>
#include <linux/uio.h>
#include <linux/wait_bit.h>
#include <linux/xarray.h>

/* fi->famfs_state bits */
#define FAMFS_I_FUSE_PATH	0	/* committed to the FUSE data path */
#define FAMFS_I_SETUID		1	/* the server's mode has S_ISUID (never shown) */
#define FAMFS_I_SETGID		2	/* the server's mode has S_ISGID (never shown) */

/*
 * MODULE_ALIAS_FS("famfs"): mount(2) and fsopen(2) of type "famfs" (mount
 * -t famfs, mount.famfs) make the kernel load famfs.ko. famfs_kbuild.h
 * empties MODULE_ALIAS(), and so MODULE_ALIAS_FS(), for fs/fuse's own
 * aliases (fs-fuse, fs-fuseblk, char-major-10-229, devname:fuse), which
 * stay the kernel FUSE's: this one is spelled out.
 */
MODULE_INFO(alias, "fs-famfs");

static bool famfs_enable = true;
module_param(famfs_enable, bool, 0644);
MODULE_PARM_DESC(famfs_enable,
		 "Offer FAMFS_DAX_FMAP (famfs mode) to privileged servers (default Y)");

/*
 * Issue 13: extents only PAGE_SIZE-aligned (4 KiB allocation units) are
 * mapped with PTE faults, 2 MiB-aligned ones with PMD faults: GET_FMAP says
 * so (align_shift) and the decoder takes PAGE_SIZE alignment. N: ask for and
 * accept 2 MiB-aligned maps only, as the posted famfs kernels do (the
 * server then serves such files itself).
 */
static bool famfs_pte_extents = true;
module_param(famfs_pte_extents, bool, 0644);
MODULE_PARM_DESC(famfs_pte_extents,
		 "Map extents aligned to PAGE_SIZE (PTE faults where not 2 MiB-aligned); N: 2 MiB only (default Y)");

static unsigned int famfs_fmap_bufsize = PAGE_SIZE;
module_param(famfs_fmap_bufsize, uint, 0644);
MODULE_PARM_DESC(famfs_fmap_bufsize,
		 "First GET_FMAP reply buffer in bytes, 4..1048576 (default PAGE_SIZE); a small value forces the size-negotiated retry");

static unsigned int famfs_pin_report_secs = 30;
module_param(famfs_pin_report_secs, uint, 0644);
MODULE_PARM_DESC(famfs_pin_report_secs,
		 "Log every N seconds that eviction or a device removal still waits for a DAX page held by another task (default 30)");

/* Per-inode state of a file served through its map. */
struct famfs_imap {
	struct fmap *fmap;
	loff_t size;			/* min(fmap file_size, i_size at the switch) */
	struct famfs_daxdev *wb_dev;	/* whose cache policy DAX writeback follows */
	struct inode *inode;
	struct list_head conn_node;	/* fcf->inodes until eviction dropped the entries */
	/*
	 * Device removals working on this inode right now (fcf->inodes_lock):
	 * a count, because removals of two devices that a striped file uses
	 * walk it at the same time, and its eviction must wait for both.
	 */
	unsigned int detaching;
};

/* ------------------------------------------------------------------ INIT */

/**
 * fuse_famfs_offer() - called once per mount, when INIT is sent: make the
 * superblock nodev and decide whether to offer FAMFS_DAX_FMAP. Offered only
 * to a /dev/famfs server in the initial user namespace, mounted for root by
 * a task that may do raw I/O (the mount(2) caller; CAP_SYS_ADMIN there is
 * implied: famfs is not FS_USERNS_MOUNT). Allocates the device table, so
 * the server can register devices from then on.
 */
bool fuse_famfs_offer(struct fuse_mount *fm)
{
	struct fuse_conn *fc = fm->fc;
	struct famfs_conn *fcf;

	fm->sb->s_iflags |= SB_I_NODEV;
	if (!READ_ONCE(famfs_enable) || fc->iq.ops != &fuse_dev_fiq_ops ||
	    fc->user_ns != &init_user_ns ||
	    !uid_eq(fc->user_id, GLOBAL_ROOT_UID) || !capable(CAP_SYS_RAWIO))
		return false;
	if (READ_ONCE(fc->famfs))
		return true;
	fcf = famfs_conn_alloc(fc);
	if (!fcf)
		return false;
	WRITE_ONCE(fc->famfs, fcf);
	return true;
}

/*
 * The INIT reply: famfs mode if we offered FAMFS_DAX_FMAP (@offered_flags2,
 * what we sent in fuse_init_in.flags2) and the server's @flags accept it.
 */
int fuse_famfs_init_reply(struct fuse_conn *fc, u32 offered_flags2, u64 flags)
{
	struct famfs_conn *fcf = READ_ONCE(fc->famfs);

	if (!fcf || !(flags & FAMFS_DAX_FMAP) ||
	    !(offered_flags2 & FAMFS_DAX_FMAP_FLAGS2))
		return 0;
	/*
	 * O_TRUNC then reaches the server as a SETATTR from fuse_do_setattr()
	 * under the inode lock, where the size rule holds against a switch;
	 * atomic O_TRUNC would set i_size to 0 and truncate the page cache
	 * of whatever inode an OPEN or CREATE reply names, with no lock.
	 */
	fc->atomic_o_trunc = 0;
	/* pairs with the acquire in fuse_famfs_conn() */
	smp_store_release(&fcf->enabled, true);
	return 0;
}

bool fuse_famfs_conn(struct fuse_conn *fc)
{
	struct famfs_conn *fcf = READ_ONCE(fc->famfs);

	return fcf && smp_load_acquire(&fcf->enabled);
}

void fuse_famfs_conn_free(struct fuse_conn *fc)
{
	struct famfs_conn *fcf = fc->famfs;

	if (!fcf)
		return;
	fc->famfs = NULL;
	famfs_conn_destroy(fcf);
}

/* -------------------------------------------------------------- GET_FMAP */

/* Fetch and decode the fmap of @nodeid: 0, -ENODATA (no map yet) or -errno. */
static int famfs_get_fmap(struct fuse_mount *fm, u64 nodeid, struct fmap **out)
{
	size_t bufsize = clamp_t(size_t, READ_ONCE(famfs_fmap_bufsize),
				 FMAP_SIZE_REPLY, FMAP_MSG_MAX);
	struct famfs_get_fmap_in inarg = {};
	bool pte = READ_ONCE(famfs_pte_extents);
	struct fmap_diag diag = {};
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
		/* 0: 2 MiB, what a kernel that says nothing gets */
		inarg.align_shift = pte ? PAGE_SHIFT : 0;
		args.opcode = FAMFS_OP_GET_FMAP;
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
	/* The alignment asked for is the one accepted, never looser. */
	ret = fmap_decode_align(buf, ret, pte ? PAGE_SIZE : FMAP_ALIGN, out,
				&diag);
	if (ret == -EINVAL) {
		pr_warn_ratelimited("inode %llu: invalid fmap: %s\n", nodeid,
				    diag.why ? diag.why : "?");
		ret = -EIO;
	}
out:
	kvfree(buf);
	return ret;
}

/*
 * Check @fmap against the device table: every extent on a registered
 * device and inside it.  *@server is set if a device's files are served by
 * the server (they then stay on the FUSE path).
 */
static int famfs_map_check(struct fuse_mount *fm, u64 nodeid, struct fmap *fmap,
			   bool *server, struct famfs_daxdev **wb_dev)
{
	struct famfs_conn *fcf = fm->fc->famfs;
	u32 i, n = fmap->ext_type == FMAP_EXT_SIMPLE ? fmap->nextents :
						       fmap->nstrips_total;

	*server = false;
	*wb_dev = NULL;
	if (fmap->file_size > MAX_LFS_FILESIZE) {
		pr_warn_ratelimited("inode %llu: fmap file size %llu too large\n",
				    nodeid, (unsigned long long)fmap->file_size);
		return -EFBIG;
	}
	for (i = 0; i < n; i++) {
		const struct fmap_extent *e = &fmap->ext[i];
		struct famfs_daxdev *dev = famfs_dev_lookup(fcf, e->devindex);

		if (!dev) {
			pr_warn_ratelimited("inode %llu: fmap names device %u, which is not registered\n",
					    nodeid, e->devindex);
			return -EIO;
		}
		if (dev->kind == FAMFS_DEV_SERVER) {
			*server = true;
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
static struct famfs_imap *famfs_imap_of(struct inode *inode);

/*
 * Make @inode a DAX file served through @im.  Caller holds the inode lock.
 * Returns false if the inode is committed to the FUSE path.
 */
static bool famfs_switch_to_dax(struct inode *inode, struct famfs_imap *im)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	struct famfs_conn *fcf = get_fuse_conn(inode)->famfs;
	struct address_space *mapping = inode->i_mapping;
	bool ok = false;

	filemap_invalidate_lock(mapping);
	if (!test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state)) {
		/*
		 * On the connection's list before any DAX entry can exist: a
		 * device removal that misses it ran before this lock section,
		 * and its all_bad is seen by every fault after (same lock).
		 */
		im->inode = inode;
		spin_lock(&fcf->inodes_lock);
		list_add_tail(&im->conn_node, &fcf->inodes);
		spin_unlock(&fcf->inodes_lock);
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
		/* S_DAX and a_ops before the map: pairs with famfs_imap_of() */
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
	bool server;
	int err;

	if (fuse_famfs_mapped(inode) || test_bit(FAMFS_I_FUSE_PATH, &fi->famfs_state))
		return 0;
	err = famfs_get_fmap(fm, fi->nodeid, &fmap);
	if (err == -ENODATA)
		return 0;	/* not sized yet: FUSE path; ask again next open */
	if (err)
		return err;
	err = famfs_map_check(fm, fi->nodeid, fmap, &server, &wb_dev);
	if (err)
		goto out_free;
	if (server) {
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
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
		/* fuse_finish_open() opened the io mode (iomode.c) */
		fuse_file_io_release(file->private_data, inode);
#endif
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

/**
 * fuse_famfs_fadvise() - fadvise(2), readahead(2) and madvise(WILLNEED) of
 * a fuse file: WILLNEED reads ahead into the page cache, so an undecided
 * inode is committed to the FUSE path first (a switch to DAX could
 * otherwise happen while readahead waits for the invalidate lock, and its
 * pages would land in a DAX mapping). A mapped inode is S_DAX:
 * generic_fadvise() does nothing for it.
 */
int fuse_famfs_fadvise(struct file *file, loff_t offset, loff_t len, int advice)
{
	if (advice == POSIX_FADV_WILLNEED)
		fuse_famfs_use_dax(file_inode(file));
	return generic_fadvise(file, offset, len, advice);
}

/**
 * fuse_famfs_pagecache_begin() - may fuse_change_attributes() truncate or
 * invalidate @inode's page cache? False for a mapped file. On a famfs
 * connection the answer holds until fuse_famfs_pagecache_end(): the
 * invalidate lock is held shared, which the switch to DAX takes exclusively.
 */
bool fuse_famfs_pagecache_begin(struct inode *inode)
{
	if (!fuse_famfs_conn(get_fuse_conn(inode)))
		return true;
	filemap_invalidate_lock_shared(inode->i_mapping);
	if (!fuse_famfs_mapped(inode))
		return true;
	filemap_invalidate_unlock_shared(inode->i_mapping);
	return false;
}

void fuse_famfs_pagecache_end(struct inode *inode)
{
	/* INIT is done before any regular file exists: the same answer */
	if (fuse_famfs_conn(get_fuse_conn(inode)))
		filemap_invalidate_unlock_shared(inode->i_mapping);
}

/* ---------------------------------------------- rules servers cannot bend */

/**
 * fuse_famfs_attr() - adjust attributes from the server before fs/fuse
 * applies them (fuse_change_attributes_common(), fi->lock held): a mapped
 * file keeps its size (so fs/fuse neither changes i_size nor truncates
 * the page cache behind the fault lock) and page-size blocks (DAX writeback
 * insists); set-id bits are never honoured on a famfs mount: they are
 * remembered (a write must strip them, famfs_kill_setid()) and cleared.
 */
void fuse_famfs_attr(struct inode *inode, struct fuse_attr *attr)
{
	struct fuse_inode *fi = get_fuse_inode(inode);

	if (attr->mode & S_ISUID)
		set_bit(FAMFS_I_SETUID, &fi->famfs_state);
	else
		clear_bit(FAMFS_I_SETUID, &fi->famfs_state);
	if (attr->mode & S_ISGID)
		set_bit(FAMFS_I_SETGID, &fi->famfs_state);
	else
		clear_bit(FAMFS_I_SETGID, &fi->famfs_state);
	attr->mode &= ~(S_ISUID | S_ISGID);
	if (!fuse_famfs_mapped(inode))
		return;
	if (attr->size != inode->i_size) {
		pr_warn_ratelimited("inode %llu: server says size %llu, the map %lld: keeping the map's\n",
				    get_fuse_inode(inode)->nodeid,
				    (unsigned long long)attr->size, inode->i_size);
		attr->size = inode->i_size;
	}
	attr->blksize = PAGE_SIZE;
}

/* Before OPEN: O_TRUNC of a mapped file would change its size. */
int fuse_famfs_may_open(struct inode *inode, struct file *file)
{
	if ((file->f_flags & O_TRUNC) && fuse_famfs_mapped(inode) &&
	    i_size_read(inode) != 0)
		return -EPERM;
	return 0;
}

/*
 * fallocate of a mapped file, before the upcall and under the inode lock
 * (which the switch to DAX takes: the answer holds until the reply is
 * applied): nothing may change its size (EPERM past EOF) or drop its
 * blocks (punch hole, zero range: EOPNOTSUPP). Returns 0 to let the
 * server see the rest.
 */
int fuse_famfs_fallocate(struct inode *inode, int mode, loff_t offset, loff_t length)
{
	lockdep_assert_held(&inode->i_rwsem);
	/*
	 * Punch hole and zero range truncate page cache (no invalidate
	 * lock): decided here, so an undecided inode is committed to FUSE
	 * and never switched under it. Plain allocation touches no page
	 * cache: a pending file sized by fallocate still gets its map later.
	 */
	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return fuse_famfs_use_dax(inode) ? -EOPNOTSUPP : 0;
	if (!fuse_famfs_mapped(inode))
		return 0;
	if (offset + length > i_size_read(inode))
		return -EPERM;
	return 0;
}

/* --------------------------------------------------------- inode life */

void fuse_famfs_inode_init(struct fuse_inode *fi)
{
	fi->famfs_imap = NULL;
	fi->famfs_state = 0;
}

static long famfs_wait_dax_page(struct inode *inode, long timeout)
{
	filemap_invalidate_unlock(inode->i_mapping);
	timeout = schedule_timeout(timeout);
	filemap_invalidate_lock(inode->i_mapping);
	return timeout;
}

/*
 * fs/dax.c's mapping entries, the same on 6.1 and 6.12: an xarray value
 * holding pfn << 4 | flags (dax_to_pfn() is static there).
 */
#define FAMFS_DAX_SHIFT		4
#define FAMFS_DAX_PMD		(1UL << 1)
#define FAMFS_DAX_ZERO_PAGE	(1UL << 2)
#define FAMFS_DAX_EMPTY		(1UL << 3)

/*
 * A DAX page of @mapping that something still holds (an fs-dax page is
 * idle at refcount 1), or NULL.  Unlike dax_layout_busy_page_range(), this
 * also looks when the file is no longer mapped: at eviction, a page pinned
 * by get_user_pages() (O_DIRECT I/O into a mapping of the file, since
 * unmapped) is only found this way.
 */
static struct page *famfs_pinned_page(struct address_space *mapping)
{
	XA_STATE(xas, &mapping->i_pages, 0);
	struct page *busy = NULL;
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, ULONG_MAX) {
		unsigned long v, pfn, i, n;

		if (xas_retry(&xas, entry) || !xa_is_value(entry))
			continue;
		v = xa_to_value(entry);
		if (v & (FAMFS_DAX_ZERO_PAGE | FAMFS_DAX_EMPTY))
			continue;
		pfn = v >> FAMFS_DAX_SHIFT;
		n = (v & FAMFS_DAX_PMD) ? PMD_SIZE >> PAGE_SHIFT : 1;
		for (i = 0; i < n; i++) {
			struct page *page = pfn_to_page(pfn + i);

			if (page_ref_count(page) > 1) {
				busy = page;
				goto out;
			}
		}
	}
out:
	rcu_read_unlock();
	return busy;
}

/*
 * Unmap the whole file and wait until no DAX page of it is held (mapped,
 * or pinned by get_user_pages()).  Caller holds the invalidate lock
 * exclusively, so no new mapping can be set up: the map may then go.
 *
 * The wait has no bound: a page that a pipe holds (vmsplice) stays held
 * until the pipe is drained or closed, and dropping its DAX entry before
 * would leave the page owned by a mapping that is about to be freed (fs/dax
 * WARNs, and memory_failure() would follow page->mapping into freed
 * memory).  It sleeps as TASK_IDLE (no load, no hung-task report) and says
 * every famfs_pin_report_secs which file waits (docs/kernel.md, "Known
 * limits").
 */
static void famfs_break_layouts(struct inode *inode, const char *why)
{
	unsigned long t0 = jiffies, waited;
	struct page *page;

	for (;;) {
		long timeout = max_t(long, READ_ONCE(famfs_pin_report_secs), 1) * HZ;

		page = dax_layout_busy_page_range(inode->i_mapping, 0, LLONG_MAX);
		if (!page)
			page = famfs_pinned_page(inode->i_mapping);
		if (!page)
			break;
		timeout = ___wait_var_event(&page->_refcount,
					    ___wait_cond_timeout(atomic_read(&page->_refcount) == 1),
					    TASK_IDLE, 0, timeout,
					    __ret = famfs_wait_dax_page(inode, __ret));
		if (timeout)
			continue;
		waited = jiffies_to_msecs(jiffies - t0) / 1000;
		pr_warn("inode %llu: %s waits for a DAX page that another task holds (pinned: vmsplice, I/O) for %lu s; it goes on when that task releases it\n",
			get_fuse_inode(inode)->nodeid, why, waited);
	}
}

/*
 * Eviction: block faults, write back what write faults dirtied (other
 * hosts read the memory), wait for every DAX page, and remove the DAX
 * entries here (the later truncate_inode_pages_final() in fuse_evict_inode()
 * finds nothing); only then leave the connection's list, so that a device
 * removal that runs meanwhile waits for this inode instead of missing it.
 * The map is freed with the inode.
 */
void fuse_famfs_evict_inode(struct inode *inode)
{
	struct famfs_imap *im = famfs_imap_of(inode);
	struct address_space *mapping = inode->i_mapping;
	struct famfs_conn *fcf;

	if (!im)
		return;
	fcf = get_fuse_conn(inode)->famfs;
	filemap_invalidate_lock(mapping);
	if (im->wb_dev && mapping_tagged(mapping, PAGECACHE_TAG_DIRTY)) {
		struct writeback_control wbc = {
			.sync_mode = WB_SYNC_ALL,
			.nr_to_write = LONG_MAX,
			.range_end = LLONG_MAX,
		};

		dax_writeback_mapping_range(mapping, im->wb_dev->dax_dev, &wbc);
	}
	famfs_break_layouts(inode, "eviction");
	truncate_inode_pages_final(mapping);
	filemap_invalidate_unlock(mapping);

	spin_lock(&fcf->inodes_lock);
	while (im->detaching) {
		spin_unlock(&fcf->inodes_lock);
		wait_var_event(&im->detaching, !READ_ONCE(im->detaching));
		spin_lock(&fcf->inodes_lock);
	}
	list_del_init(&im->conn_node);
	spin_unlock(&fcf->inodes_lock);
}

/**
 * fuse_famfs_drop_inode() - the super block's drop_inode (iput_final(),
 * inode->i_lock held): the last reference to @inode went. fs/fuse evicts
 * every inode right then (generic_delete_inode), and so do we, except a
 * mapped inode one of whose DAX pages another task still holds (pinned by
 * get_user_pages(): vmsplice into a pipe, O_DIRECT I/O): its eviction would
 * wait for that page without a bound, in whatever task dropped the
 * reference - the dentry or inode shrinker, kswapd, a memcg reclaimer, on
 * 6.1 with shrinker_rwsem held, which every mount and umount of the host
 * needs. Such an inode stays cached (the inode shrinker never evicts an
 * inode that has DAX entries); it goes at a later last reference once the
 * page is free, at umount, or its DAX entries go when its device is
 * removed: the unbounded wait happens only where root started it. Nobody
 * can pin a page anew once the last reference is gone (no mapping is
 * left), so the answer cannot go stale.
 */
int fuse_famfs_drop_inode(struct inode *inode)
{
	if (fuse_famfs_mapped(inode) && !inode_unhashed(inode) &&
	    famfs_pinned_page(inode->i_mapping))
		return 0;
	return generic_delete_inode(inode);
}

/**
 * fuse_famfs_release() - the release of @file (its last reference: close(2),
 * or the munmap of a mapping that outlived the descriptor), before fs/fuse
 * sends RELEASE: if it was open for writing, write back what write faults
 * dirtied in @inode's DAX mapping (what fsync does: the cache lines go to
 * the memory). A server commits a file when its last writable handle is
 * released, and other hosts read it from then on, past this CPU's caches.
 * Nothing to do for a file without a map (the server moved its data) or
 * without dirty entries (write() stores bypass the cache).
 */
void fuse_famfs_release(struct inode *inode, struct file *file)
{
	int err;

	if (!(file->f_mode & FMODE_WRITE) || !fuse_famfs_mapped(inode) ||
	    !mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY))
		return;
	err = filemap_write_and_wait(inode->i_mapping);
	if (err)
		pr_warn_ratelimited("inode %llu: writeback at release: %d\n",
				    get_fuse_inode(inode)->nodeid, err);
}

/* Does @im's map use device @index? */
static bool famfs_imap_uses(const struct famfs_imap *im, u32 index)
{
	const struct fmap *fmap = im->fmap;
	u32 i, n;

	n = fmap->ext_type == FMAP_EXT_SIMPLE ? fmap->nextents : fmap->nstrips_total;
	for (i = 0; i < n; i++)
		if (fmap->ext[i].devindex == index)
			return true;
	return false;
}

/**
 * famfs_conn_detach_dev() - device @index of @fcf goes away (its pages are
 * freed when we return; it is already marked bad, so no new DAX entry of it
 * can appear): every file whose map uses it is unmapped, its held DAX pages
 * are waited for and its DAX entries removed. The maps stay: later I/O and
 * faults fail on the bad device.
 *
 * Walks fcf->inodes, which holds every switched inode until its eviction
 * removed its entries: inodes being evicted and inodes of a super block
 * being unmounted are there too. No inode reference is taken (igrab() fails
 * on those, and a reference would keep an unmounting super block busy):
 * im->detaching, counted because the removals of two devices walk at the
 * same time, keeps the inode's eviction from finishing (and the inode and
 * its map from being freed) until every walker is done with it. Sleeps;
 * process context.
 */
void famfs_conn_detach_dev(struct famfs_conn *fcf, u32 index)
{
	struct famfs_imap *im;

	spin_lock(&fcf->inodes_lock);
	im = list_first_entry_or_null(&fcf->inodes, struct famfs_imap, conn_node);
	while (im) {
		struct inode *inode = im->inode;
		struct famfs_imap *next;

		im->detaching++;
		spin_unlock(&fcf->inodes_lock);
		if (famfs_imap_uses(im, index)) {
			filemap_invalidate_lock(inode->i_mapping);
			famfs_break_layouts(inode, "device removal");
			truncate_inode_pages(inode->i_mapping, 0);
			filemap_invalidate_unlock(inode->i_mapping);
		}
		cond_resched();
		spin_lock(&fcf->inodes_lock);
		/* still listed: its eviction waits for im->detaching */
		next = list_is_last(&im->conn_node, &fcf->inodes) ? NULL :
			list_next_entry(im, conn_node);
		if (!--im->detaching) {
			/* the store before the waiter's check; wait_var_event() pairs */
			smp_mb();
			wake_up_var(&im->detaching);
		}
		im = next;
	}
	spin_unlock(&fcf->inodes_lock);
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

static struct famfs_imap *famfs_imap_of(struct inode *inode)
{
	/* pairs with the release in famfs_switch_to_dax() */
	return smp_load_acquire(&get_fuse_inode(inode)->famfs_imap);
}

static int famfs_iomap_begin(struct inode *inode, loff_t pos, loff_t length,
			     unsigned int flags, struct iomap *iomap,
			     struct iomap *srcmap)
{
	struct famfs_conn *fcf = get_fuse_conn(inode)->famfs;
	struct famfs_imap *im = famfs_imap_of(inode);
	struct famfs_daxdev *dev;
	struct fmap_loc loc;
	u64 addr, len;
	loff_t size;
	int err;

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
	dev = &fcf->dev[loc.devindex];	/* registered: checked at open */
	/* a block device may be made read-only later (BLKROSET) */
	if ((flags & IOMAP_WRITE) &&
	    (!dev->writable || (dev->bdev && bdev_read_only(dev->bdev))))
		return -EROFS;
	addr = dev->part_off + loc.offset;
	/* To the end of the extent or chunk, and of the file's last page, */
	len = min_t(u64, loc.len, round_up(size, PAGE_SIZE) - pos);
	/* and not into memory that failed. */
	err = famfs_dev_check_io(dev, addr, &len);
	if (err)
		return err;
	iomap->type = IOMAP_MAPPED;
	iomap->addr = addr;
	iomap->length = len;
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
 * A write by a task without CAP_FSETID strips set-id bits, as Linux does
 * for every file system (should_remove_suid(), 6.2+: setattr_should_drop_
 * suidgid()): set-user-ID always, set-group-ID if group-executable (6.2+:
 * also if the writer is not in the file's group). famfs.ko never shows
 * them (fuse_famfs_attr()), so file_remove_privs() cannot see them: the
 * server's bits are remembered per inode, and the kill is a SETATTR of the
 * mode (ATTR_FORCE, as file_remove_privs() does: the writer need not own
 * the file), which the server logs for every host. famfs keeps no
 * security.* xattrs, so nothing else needs removing. Inode lock held.
 */
static int famfs_kill_setid(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct fuse_inode *fi = get_fuse_inode(inode);
	umode_t have = 0, kill = 0;
	struct iattr attr = {};

	if (test_bit(FAMFS_I_SETUID, &fi->famfs_state))
		have |= S_ISUID;
	if (test_bit(FAMFS_I_SETGID, &fi->famfs_state))
		have |= S_ISGID;
	if (!have)
		return 0;
	kill = have & S_ISUID;
	if ((have & S_ISGID) && (inode->i_mode & S_IXGRP))
		kill |= S_ISGID;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	if ((have & S_ISGID) && !in_group_p(inode->i_gid))
		kill |= S_ISGID;
#endif
	if (!kill || capable(CAP_FSETID))
		return 0;
	attr.ia_valid = ATTR_MODE | ATTR_FORCE;
	attr.ia_mode = (inode->i_mode & ~(S_ISUID | S_ISGID)) | (have & ~kill);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return notify_change(file_mnt_idmap(file), file_dentry(file), &attr, NULL);
#else
	return notify_change(file_mnt_user_ns(file), file_dentry(file), &attr, NULL);
#endif
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
	size = min(famfs_imap_of(inode)->size, i_size_read(inode));
	if (iocb->ki_pos >= size) {
		ret = -EFBIG;
		goto out;
	}
	iov_iter_truncate(from, size - iocb->ki_pos);
	ret = famfs_kill_setid(iocb->ki_filp);
	if (ret)
		goto out;
	ret = dax_iomap_rw(iocb, from, &famfs_iomap_ops);
out:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/* --------------------------------------------------------------- mmap */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
typedef unsigned int famfs_fault_size_t;	/* a page order */
#define FAMFS_FAULT_PTE 0
#define famfs_vm_flags_set(vma, flags) vm_flags_set(vma, flags)
#define famfs_vm_flags_clear(vma, flags) vm_flags_clear(vma, flags)
#else
typedef enum page_entry_size famfs_fault_size_t;
#define FAMFS_FAULT_PTE PE_SIZE_PTE
#define famfs_vm_flags_set(vma, flags) ((vma)->vm_flags |= (flags))
#define famfs_vm_flags_clear(vma, flags) ((vma)->vm_flags &= ~(flags))
#endif

static vm_fault_t famfs_fault(struct vm_fault *vmf, famfs_fault_size_t pe_size,
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
	return famfs_fault(vmf, FAMFS_FAULT_PTE, famfs_write_fault(vmf));
}

static vm_fault_t famfs_huge_fault(struct vm_fault *vmf, famfs_fault_size_t pe_size)
{
	return famfs_fault(vmf, pe_size, famfs_write_fault(vmf));
}

/* First write to a page that a read fault mapped read-only. */
static vm_fault_t famfs_mkwrite(struct vm_fault *vmf)
{
	return famfs_fault(vmf, FAMFS_FAULT_PTE, true);
}

static const struct vm_operations_struct famfs_vm_ops = {
	.fault		= famfs_pte_fault,
	.huge_fault	= famfs_huge_fault,
	.page_mkwrite	= famfs_mkwrite,
	.pfn_mkwrite	= famfs_mkwrite,
};

/*
 * Does any extent of @im lie on a device that takes no writes (registered
 * read-only, or a block device made read-only, BLKROSET)? Write faults
 * there fail; the mapping is refused up front instead.
 */
static bool famfs_imap_on_rodev(struct inode *inode, struct famfs_imap *im)
{
	struct famfs_conn *fcf = get_fuse_conn(inode)->famfs;
	const struct fmap *fmap = im->fmap;
	u32 i, n = fmap->ext_type == FMAP_EXT_SIMPLE ? fmap->nextents :
						       fmap->nstrips_total;

	for (i = 0; i < n; i++) {
		struct famfs_daxdev *dev = famfs_dev_lookup(fcf, fmap->ext[i].devindex);

		if (dev && (!dev->writable ||
			    (dev->bdev && bdev_read_only(dev->bdev))))
			return true;
	}
	return false;
}

int fuse_famfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);
	struct famfs_imap *im = famfs_imap_of(inode);

	if (IS_RDONLY(inode) && (vma->vm_flags & VM_SHARED) &&
	    (vma->vm_flags & VM_MAYWRITE))
		return -EACCES;
	/*
	 * A shared mapping of a file on a read-only device: writable is
	 * refused as write() is (EROFS); read-only may never become writable
	 * (mprotect: EACCES), so no store can reach a write fault.
	 */
	if ((vma->vm_flags & VM_SHARED) && im && famfs_imap_on_rodev(inode, im)) {
		if (vma->vm_flags & VM_WRITE)
			return -EROFS;
		famfs_vm_flags_clear(vma, VM_MAYWRITE);
	}
	file_accessed(file);
	vma->vm_ops = &famfs_vm_ops;
	famfs_vm_flags_set(vma, VM_MIXEDMAP | VM_HUGEPAGE);
	return 0;
}

/* Flush what write faults dirtied (fsync, msync, close). */
static int famfs_dax_writepages(struct address_space *mapping,
				struct writeback_control *wbc)
{
	struct famfs_imap *im = famfs_imap_of(mapping->host);

	if (!im || !im->wb_dev)
		return 0;
	return dax_writeback_mapping_range(mapping, im->wb_dev->dax_dev, wbc);
}

/*
 * Nothing is read into the page cache of a DAX file; readahead that raced
 * the switch (fuse_famfs_fadvise() closes that) must not call NULL.
 */
static int famfs_dax_read_folio(struct file *file, struct folio *folio)
{
	folio_unlock(folio);
	return -EIO;
}

static const struct address_space_operations famfs_dax_aops = {
	.read_folio	= famfs_dax_read_folio,
	.writepages	= famfs_dax_writepages,
	.direct_IO	= noop_direct_IO,
	.dirty_folio	= noop_dirty_folio,
};
