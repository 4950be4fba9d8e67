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

#include "filemap.h"
#include "flush.h"
#include "fused.h"

#define MAX_IOV 32

/* Build the fmap of @n from its log extents, or of a meta file from the geometry. */
static struct fmap *build_fmap(struct famfs_node *n, const struct fused_node *fn)
{
	struct fmap_diag diag = {0};
	struct fmap *m;

	if (fn->file_type_set)
		m = famfs_meta_fmap(fused.im->fs->sb, fn->file_type);
	else
		m = n->file ? famfs_file_fmap(n->file) : NULL;
	if (!m)
		return NULL;
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

/* Where the bytes of one read or write are on the device. */
struct io_plan {
	uint64_t len; /* bytes to move: 0 at or past EOF (reads) */
	int n;	      /* pieces */
	bool meta;    /* a .meta file */
	uint64_t devoff[MAX_IOV];
	struct iovec iov[MAX_IOV]; /* iov_len of each piece; iov_base set by the caller */
};

/*
 * Plan the I/O of up to @size bytes at file offset @off of @ino: find the
 * node, clip to its fixed size and split by its fmap. Returns 0 or the errno
 * to reply with: ESTALE, EISDIR, EIO (no usable map); for writes also EPERM
 * (meta files) and EFBIG (at or past EOF, or not sized yet: such a pending
 * file is marked to be discarded at its last close).
 */
static int plan_io(fuse_ino_t ino, bool write, size_t size, off_t off, struct io_plan *p)
{
	uint64_t fsize = 0, o = (uint64_t)off;
	struct fmap *m = NULL;
	struct famfs_node *n;
	bool pend = false;
	int err = 0;

	p->len = 0;
	p->n = 0;
	pthread_rwlock_rdlock(&fused.lock);
	n = famfs_ns_node(fused.im->ns, ino);
	if (!n) {
		err = ESTALE;
	} else if (!S_ISREG(n->mode)) {
		err = EISDIR;
	} else {
		fsize = n->size;
		p->meta = fused_is_meta(n);
		pend = fused_is_pending(n);
		m = fused_node_fmap(n);
		if (pend && write)
			fused_node_state(n)->doomed = true; /* written before being sized */
		else if (!pend && !m)
			err = EIO;
	}
	pthread_rwlock_unlock(&fused.lock);
	if (!err && write && p->meta)
		err = EPERM;
	else if (!err && write && (pend || o >= fsize))
		err = EFBIG; /* past the fixed size */
	if (err || pend || o >= fsize)
		return err;
	/* A write that straddles the end is cut short there, like any write at a size limit. */
	p->len = size < fsize - o ? size : fsize - o;
	for (uint64_t done = 0; done < p->len;) {
		struct fmap_loc loc;

		if (p->n == MAX_IOV || fmap_resolve(m, o + done, &loc))
			return EIO;
		if (loc.len > p->len - done)
			loc.len = p->len - done;
		p->devoff[p->n] = loc.offset;
		p->iov[p->n].iov_len = loc.len;
		p->n++;
		done += loc.len;
	}
	return 0;
}

void fused_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	struct io_plan p;
	int err;

	(void)fi;
	err = plan_io(ino, false, size, off, &p);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (fused.im->fs->data) {
		for (int i = 0; i < p.n; i++) {
			p.iov[i].iov_base = fused.im->fs->data + p.devoff[i];
			/* Metadata changes under a client: read what the master wrote. */
			if (p.meta)
				famfs_dev_invalidate(dev, p.iov[i].iov_base, p.iov[i].iov_len);
		}
		fuse_reply_iov(req, p.iov, p.n);
		return;
	}
	/* pmem: no mapping; O_DIRECT through one buffer. */
	char *buf = malloc(p.len ? p.len : 1), *b = buf;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = 0; i < p.n && !err; i++) {
		err = -famfs_dev_pread(dev, b, p.iov[i].iov_len, p.devoff[i]);
		b += p.iov[i].iov_len;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, p.len);
	free(buf);
}

void fused_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	struct io_plan p = {.n = 0};
	int err;

	(void)fi;
	err = fused.writable ? plan_io(ino, true, size, off, &p) : EROFS;
	for (int i = 0; i < p.n && !err; i++) {
		/* Image files: pwrite into the page cache the mapping shares. Storing
		 * through the mapping would fault in and allocate each new block of
		 * a sparse image (ms per block on ext4); pwrite does not. */
		if (fused.im->fs->data && dev->kind != FAMFS_DEV_FILE) {
			uint8_t *dst = fused.im->fs->data + p.devoff[i];

			memcpy(dst, buf, p.iov[i].iov_len);
			if (dev->kind == FAMFS_DEV_DAX)
				famfs_cache_flush(dst, p.iov[i].iov_len);
		} else {
			err = -famfs_dev_pwrite(dev, buf, p.iov[i].iov_len, p.devoff[i]);
		}
		buf += p.iov[i].iov_len;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, p.len);
}
