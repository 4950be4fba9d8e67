// SPDX-License-Identifier: Apache-2.0
/*
 * The server's data path, for kernels that do not resolve famfs files
 * themselves: READ and WRITE served from the server's mapping of the device.
 *
 * A read replies with iovecs pointing straight into the mapping, so the only
 * copy is the kernel's from the mapping into the reader's pages. A write is
 * one memcpy from libfuse's request buffer into the mapping (flushed from the
 * CPU cache on a devdax device, so other hosts see it), or on an image file
 * one pwrite into the page cache that the mapping shares. On a pmem block
 * device there is no user-space mapping: data moves with O_DIRECT through a
 * bounce buffer (famfs_dev_pread/pwrite).
 *
 * Offsets are resolved through the file's fmap (fmap/), the same map the
 * kernel gets with GET_FMAP.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "flush.h"
#include "fused.h"

#define MAX_IOV 32

/* Build the fmap of @n from its log extents, or of a meta file from the geometry. */
static struct fmap *build_fmap(struct famfs_node *n, const struct fused_node *fn)
{
	const struct famfs_file_body *f = n->file;
	struct fmap_diag diag = {0};
	struct fmap *m;

	if (fn->file_type_set) {
		const struct famfs_superblock *sb = fused.im->fs->sb;

		m = fmap_alloc(FMAP_EXT_SIMPLE, 1, 0);
		if (!m)
			return NULL;
		m->file_type = fn->file_type;
		m->ext[0].offset = fn->file_type == FMAP_FILE_SUPERBLOCK ? 0 : sb->log_offset;
		m->ext[0].len =
		    fn->file_type == FMAP_FILE_SUPERBLOCK ? FAMFS_SUPERBLOCK_SIZE : sb->log_len;
	} else if (!f) {
		return NULL;
	} else if (f->ext_type == FAMFS_EXT_SIMPLE) {
		m = fmap_alloc(FMAP_EXT_SIMPLE, f->nextents, 0);
		if (!m)
			return NULL;
		for (uint32_t i = 0; i < f->nextents; i++)
			m->ext[i] = (struct fmap_extent){f->se[i].offset, f->se[i].len,
							 (uint32_t)f->se[i].devindex};
	} else {
		const struct famfs_interleave_extent *ie = &f->ie[0];

		m = fmap_alloc(FMAP_EXT_INTERLEAVE, 1, (uint32_t)ie->nstrips);
		if (!m)
			return NULL;
		m->iext[0].chunk_size = ie->chunk_size;
		m->iext[0].nbytes = famfs_file_capacity(f);
		m->iext[0].nstrips = (uint32_t)ie->nstrips;
		for (uint32_t s = 0; s < ie->nstrips; s++)
			m->ext[s] = (struct fmap_extent){ie->strips[s].offset, ie->strips[s].len,
							 (uint32_t)ie->strips[s].devindex};
	}
	m->file_size = n->size;
	if (fmap_finalize_diag(m, &diag)) {
		fuse_log(FUSE_LOG_ERR, "famfs_fused: inode %" PRIu64 ": no fmap (%s)\n", n->ino,
			 diag.why ? diag.why : "invalid");
		fmap_free(m);
		return NULL;
	}
	return m;
}

struct fmap *fused_node_fmap(struct famfs_node *n)
{
	struct fused_node *fn = n->priv;
	struct fmap *m, *expected = NULL;

	if (!fn)
		return NULL;
	m = __atomic_load_n(&fn->fmap, __ATOMIC_ACQUIRE);
	if (m)
		return m;
	m = build_fmap(n, fn);
	if (!m)
		return NULL;
	/* Two readers may build it at once under the shared lock: one wins. */
	if (!__atomic_compare_exchange_n(&fn->fmap, &expected, m, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		fmap_free(m);
		m = expected;
	}
	return m;
}

/* Look up @ino for I/O; on success the size and map are returned (map NULL when size 0). */
static int io_target(fuse_ino_t ino, bool write, uint64_t *size, struct fmap **map, bool *meta,
		     bool *pend)
{
	struct famfs_node *n;
	int err = 0;

	pthread_rwlock_rdlock(&fused.lock);
	n = famfs_ns_node(fused.im->ns, ino);
	if (!n) {
		err = ESTALE;
	} else if (!S_ISREG(n->mode)) {
		err = EISDIR;
	} else {
		*size = n->size;
		*meta = ino == fused.sb_ino || ino == fused.log_ino;
		*pend = !n->file && !*meta;
		*map = fused_node_fmap(n);
		if (*pend && write)
			fused_node_state(n)->doomed = true; /* written before being sized */
		else if (!*map)
			err = EIO;
	}
	pthread_rwlock_unlock(&fused.lock);
	return err;
}

/* Split [off, off+len) of a file into device pieces. Returns the count or -errno. */
static int pieces(const struct fmap *m, uint64_t off, uint64_t len, struct iovec *iov,
		  uint64_t *devoff, int max)
{
	int n = 0;

	while (len) {
		struct fmap_loc loc;

		if (n == max || fmap_resolve(m, off, &loc))
			return -EIO;
		if (loc.len > len)
			loc.len = len;
		devoff[n] = loc.offset;
		iov[n].iov_len = loc.len;
		n++;
		off += loc.len;
		len -= loc.len;
	}
	return n;
}

void fused_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	uint64_t fsize, devoff[MAX_IOV], len;
	struct iovec iov[MAX_IOV];
	bool meta, pend;
	struct fmap *m;
	int err, n;

	(void)fi;
	err = io_target(ino, false, &fsize, &m, &meta, &pend);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if ((uint64_t)off >= fsize || pend) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	len = size < fsize - (uint64_t)off ? size : fsize - (uint64_t)off;
	n = pieces(m, (uint64_t)off, len, iov, devoff, MAX_IOV);
	if (n < 0) {
		fuse_reply_err(req, -n);
		return;
	}
	if (fused.im->fs->data) {
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = fused.im->fs->data + devoff[i];
			/* Metadata changes under a client: read what the master wrote. */
			if (meta)
				famfs_dev_invalidate(dev, iov[i].iov_base, iov[i].iov_len);
		}
		fuse_reply_iov(req, iov, n);
		return;
	}
	/* pmem: no mapping; O_DIRECT through one buffer. */
	char *buf = malloc(len), *p = buf;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = 0; i < n && !err; i++) {
		err = -famfs_dev_pread(dev, p, iov[i].iov_len, devoff[i]);
		p += iov[i].iov_len;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

void fused_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	uint64_t fsize, devoff[MAX_IOV], len;
	struct iovec iov[MAX_IOV];
	bool meta, pend;
	struct fmap *m;
	int err, n;

	(void)fi;
	if (!fused.writable) {
		fuse_reply_err(req, EROFS);
		return;
	}
	err = io_target(ino, true, &fsize, &m, &meta, &pend);
	if (!err && meta)
		err = EPERM;
	else if (!err && (pend || (uint64_t)off >= fsize))
		err = EFBIG; /* past the fixed size (or not sized yet) */
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	/* A write that straddles the end is cut short there, like any write at a size limit. */
	len = size < fsize - (uint64_t)off ? size : fsize - (uint64_t)off;
	n = pieces(m, (uint64_t)off, len, iov, devoff, MAX_IOV);
	if (n < 0) {
		fuse_reply_err(req, -n);
		return;
	}
	for (int i = 0; i < n && !err; i++) {
		/* Image files: pwrite into the page cache the mapping shares. Storing
		 * through the mapping would fault in and allocate each new block of
		 * a sparse image (ms per block on ext4); pwrite does not. */
		if (fused.im->fs->data && dev->kind != FAMFS_DEV_FILE) {
			uint8_t *dst = fused.im->fs->data + devoff[i];

			memcpy(dst, buf, iov[i].iov_len);
			if (dev->kind == FAMFS_DEV_DAX)
				famfs_cache_flush(dst, iov[i].iov_len);
		} else {
			err = -famfs_dev_pwrite(dev, buf, iov[i].iov_len, devoff[i]);
		}
		buf += iov[i].iov_len;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, len);
}
