/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs.h - what fs/fuse calls in famfs.ko (kmod/patches/<series>/
 * 02-hooks.patch includes it at the end of fuse_i.h).
 *
 * Every mount of famfs.ko is a famfs mount (type "famfs", /dev/famfs). Its
 * connection is in famfs mode when INIT negotiated FAMFS_DAX_FMAP
 * (fuse_famfs_conn()). A regular file of such a connection is served in one
 * of two ways, decided once per inode:
 *
 *  - DAX: its fmap was fetched with GET_FMAP at open and cached in
 *    fi->famfs_imap; read, write and mmap faults resolve file offsets to
 *    the registered device through it, with no upcalls;
 *  - FUSE: it had no map yet (a file created and not yet sized, or a device
 *    the server serves itself) when it was first read, written or mmapped;
 *    it keeps the normal FUSE data path for the life of the inode.
 *
 * famfs_mode.c: negotiation, maps, the data path and the rules a server
 * cannot bend; famfs_dev.c: the device table (registration by fd, memory
 * failure ranges); famfs_stubs.c: what control.c (fusectl) would provide.
 */
#ifndef _FS_FUSE_FAMFS_H
#define _FS_FUSE_FAMFS_H

#include "famfs_kabi.h"

struct kstatfs;
struct famfs_conn;
struct famfs_daxdev;

/* Connection: INIT negotiation and teardown (famfs_mode.c) */
bool fuse_famfs_offer(struct fuse_mount *fm);
int fuse_famfs_init_reply(struct fuse_conn *fc, u32 offered_flags2, u64 flags);
void fuse_famfs_conn_free(struct fuse_conn *fc);

/* The channel's ioctls: device registration (famfs_dev.c) */
long fuse_famfs_dev_ioctl(struct fuse_dev *fud, unsigned int cmd, unsigned long arg);

/* Inode life cycle */
void fuse_famfs_inode_init(struct fuse_inode *fi);
int fuse_famfs_drop_inode(struct inode *inode);
void fuse_famfs_evict_inode(struct inode *inode);
void fuse_famfs_free_inode(struct fuse_inode *fi);

/* Release of an open file: write back what a shared mapping dirtied */
void fuse_famfs_release(struct inode *inode, struct file *file);

/* Attributes from the server (fi->lock held): the rules of mapped files */
void fuse_famfs_attr(struct inode *inode, struct fuse_attr *attr);
/* fuse_change_attributes(): page-cache work only on unmapped files, atomically */
bool fuse_famfs_pagecache_begin(struct inode *inode);
void fuse_famfs_pagecache_end(struct inode *inode);

/* fadvise(WILLNEED) commits an undecided inode to FUSE before readahead */
int fuse_famfs_fadvise(struct file *file, loff_t offset, loff_t len, int advice);

/* Open: refuse O_TRUNC of a mapped file; fetch and cache the fmap */
int fuse_famfs_may_open(struct inode *inode, struct file *file);
int fuse_famfs_open(struct inode *inode, struct file *file);

/* fallocate (inode lock held): what would change a mapped file's size or drop its blocks */
int fuse_famfs_fallocate(struct inode *inode, int mode, loff_t offset, loff_t length);

/* Data path of files that have their map */
bool __fuse_famfs_use_dax(struct inode *inode);
ssize_t fuse_famfs_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t fuse_famfs_write_iter(struct kiocb *iocb, struct iov_iter *from);
int fuse_famfs_mmap(struct file *file, struct vm_area_struct *vma);

/* Is @fc a famfs connection (INIT negotiated FAMFS_DAX_FMAP)? */
bool fuse_famfs_conn(struct fuse_conn *fc);

/* Does @inode have its fmap (and so S_DAX)?  No side effects. */
static inline bool fuse_famfs_mapped(struct inode *inode)
{
	/* pairs with the release in famfs_switch_to_dax() */
	return smp_load_acquire(&get_fuse_inode(inode)->famfs_imap) != NULL;
}

/*
 * Dispatch predicate of read_iter, write_iter and mmap: true if @inode is
 * served through its fmap.  On a famfs connection, a file without a map is
 * committed to the FUSE path from here on (famfs_mode.c, "Switching to DAX").
 * Also what every other page-cache user of fs/fuse asks first (6.12
 * splice_read, fallocate, notify_store, reverse invalidation,
 * copy_file_range): true means "a DAX file, not page cache".
 */
static inline bool fuse_famfs_use_dax(struct inode *inode)
{
	if (!fuse_famfs_conn(get_fuse_conn(inode)))
		return false;
	return __fuse_famfs_use_dax(inode);
}

#endif /* _FS_FUSE_FAMFS_H */
