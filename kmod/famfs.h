/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs.h - the famfs mode of fuse.ko, as seen from fs/fuse.
 *
 * Included at the end of fuse_i.h (kmod/fuse-famfs.patch); everything here
 * is implemented in famfs.c.  A connection is in famfs mode when INIT
 * negotiated FUSE_DAX_FMAP (fc->famfs != NULL).  A regular file of such a
 * connection is served in one of two ways, decided once per inode:
 *
 *  - DAX: its fmap was fetched with FUSE_GET_FMAP at open and cached in
 *    fi->famfs_map; read, write and mmap faults resolve file offsets to the
 *    DAX device through it, with no upcalls;
 *  - FUSE: it had no map yet (a file created and not yet sized, or a device
 *    the kernel cannot map) when it was first read, written or mmapped; it
 *    keeps using the normal FUSE data path for the life of the inode.
 */
#ifndef _FS_FUSE_FAMFS_H
#define _FS_FUSE_FAMFS_H

/* statfs(2) f_type of a famfs connection (stock FUSE reports FUSE_SUPER_MAGIC) */
#define FAMFS_STATFS_MAGIC	0x87b282fd

struct kstatfs;

#if IS_ENABLED(CONFIG_FUSE_FAMFS_DAX)

/* Connection: INIT negotiation and teardown */
bool fuse_famfs_offer(struct fuse_conn *fc);
int fuse_famfs_init_reply(struct fuse_conn *fc, u32 offered_flags2, u64 flags);
void fuse_famfs_conn_free(struct fuse_conn *fc);

/* Inode life cycle */
void fuse_famfs_inode_init(struct fuse_inode *fi);
void fuse_famfs_evict_inode(struct inode *inode);
void fuse_famfs_free_inode(struct fuse_inode *fi);

/* Open: fetch and cache the fmap (GET_FMAP, GET_DAXDEV) */
int fuse_famfs_open(struct inode *inode, struct file *file);

/* Data path of files that have their map */
bool __fuse_famfs_use_dax(struct inode *inode);
ssize_t fuse_famfs_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t fuse_famfs_write_iter(struct kiocb *iocb, struct iov_iter *from);
int fuse_famfs_mmap(struct file *file, struct vm_area_struct *vma);

/* statfs: FAMFS_STATFS_MAGIC on famfs connections */
void fuse_famfs_statfs(struct fuse_conn *fc, struct kstatfs *buf);

/* Is @fc a famfs connection? */
static inline bool fuse_famfs_conn(struct fuse_conn *fc)
{
	return READ_ONCE(fc->famfs) != NULL;
}

/* Does @inode have its fmap (and so S_DAX)?  No side effects. */
static inline bool fuse_famfs_mapped(struct inode *inode)
{
	/* pairs with the release in famfs_switch_to_dax() */
	return smp_load_acquire(&get_fuse_inode(inode)->famfs_imap) != NULL;
}

/*
 * Dispatch predicate of read_iter, write_iter and mmap: true if @inode is
 * served through its fmap.  On a famfs connection, a file without a map is
 * committed to the FUSE path from here on (see famfs.c, "Switching to DAX").
 */
static inline bool fuse_famfs_use_dax(struct inode *inode)
{
	if (!fuse_famfs_conn(get_fuse_conn(inode)))
		return false;
	return __fuse_famfs_use_dax(inode);
}

#else /* !CONFIG_FUSE_FAMFS_DAX */

static inline bool fuse_famfs_offer(struct fuse_conn *fc)
{
	return false;
}

static inline int fuse_famfs_init_reply(struct fuse_conn *fc, u32 offered_flags2, u64 flags)
{
	return 0;
}

static inline void fuse_famfs_conn_free(struct fuse_conn *fc) {}
static inline void fuse_famfs_inode_init(struct fuse_inode *fi) {}
static inline void fuse_famfs_evict_inode(struct inode *inode) {}
static inline void fuse_famfs_free_inode(struct fuse_inode *fi) {}

static inline int fuse_famfs_open(struct inode *inode, struct file *file)
{
	return 0;
}

static inline bool fuse_famfs_conn(struct fuse_conn *fc)
{
	return false;
}

static inline bool fuse_famfs_mapped(struct inode *inode)
{
	return false;
}

static inline bool fuse_famfs_use_dax(struct inode *inode)
{
	return false;
}

static inline ssize_t fuse_famfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return -EIO;
}

static inline ssize_t fuse_famfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return -EIO;
}

static inline int fuse_famfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	return -ENODEV;
}

static inline void fuse_famfs_statfs(struct fuse_conn *fc, struct kstatfs *buf) {}

#endif /* CONFIG_FUSE_FAMFS_DAX */

#endif /* _FS_FUSE_FAMFS_H */
