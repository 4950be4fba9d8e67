// SPDX-License-Identifier: Apache-2.0
/*
 * The server's data path, for kernels that do not resolve famfs files
 * themselves: READ and WRITE. This file finds where the bytes are — a
 * logged file through its fmap (fmap/), the same map the kernel gets with
 * GET_FMAP; a pending file through pending.c — and moves them with
 * media.c; it decides nothing about a file's life.
 *
 * A read replies with iovecs pointing straight into the mapping, so the only
 * copy is the kernel's from the mapping into the reader's pages. A write is
 * one store from libfuse's request buffer to the device (media.c: memcpy
 * into the mapping and a flush on devdax, pwrite into the page cache on an
 * image file, O_DIRECT on pmem). On a pmem block device reads go through a
 * bounce buffer too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "filemap.h"
#include "fused.h"

/* Pieces a plan holds without allocating; more are allocated (striped files with small chunks). */
#define INLINE_PIECES 32
/* Most iovecs in one reply (the kernel's UIO_MAXIOV is 1024); beyond, the reply is copied. */
#define MAX_REPLY_IOV 512
#define ZERO_PIECE    FUSED_ZERO_PIECE
#define ZERO_CHUNK    65536 /* the zero source of ZERO_PIECEs */

__thread bool fused_write_kills_suid;

static uint8_t zero_bytes[ZERO_CHUNK]; /* never written: the source of ZERO_PIECEs */

/* Build the fmap of @n from its log extents, or of a meta file from the geometry. */
static struct fmap *build_fmap(struct famfs_node *n, const struct fused_node *fn)
{
	struct fmap_diag diag = {0};
	struct fmap *m;

	if (fn->file_type_set)
		m = famfs_meta_fmap(fused.im->fs->sb, fn->file_type);
	else
		m = n->file ? famfs_map_fmap(n->file, fused.im->fs->geom.alloc_unit) : NULL;
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
	int n, cap;   /* pieces, room for pieces */
	bool meta;    /* a .meta file */
	struct fused_pending_io
	    pio;	   /* a pending file's I/O: fused_pending_io_end() after the move */
	uint64_t *devoff;  /* device offset of each piece, or ZERO_PIECE */
	uint32_t *dev;	   /* the device of each piece (an extent's devindex) */
	struct iovec *iov; /* iov_len of each piece; iov_base set by the caller */
	uint64_t devoff_in[INLINE_PIECES];
	uint32_t dev_in[INLINE_PIECES];
	struct iovec iov_in[INLINE_PIECES];
};

static void plan_init(struct io_plan *p)
{
	p->len = 0;
	p->n = 0;
	p->cap = INLINE_PIECES;
	p->meta = false;
	p->pio.p = NULL;
	p->devoff = p->devoff_in;
	p->dev = p->dev_in;
	p->iov = p->iov_in;
}

static void plan_free(struct io_plan *p)
{
	if (p->devoff != p->devoff_in) {
		free(p->devoff);
		free(p->dev);
		free(p->iov);
	}
}

/* Append a piece; 0 or ENOMEM. */
static int plan_add(struct io_plan *p, uint32_t dev, uint64_t devoff, uint64_t len)
{
	if (p->n == p->cap) {
		int cap = p->cap * 2;
		uint64_t *d = malloc((size_t)cap * sizeof(*d));
		uint32_t *x = malloc((size_t)cap * sizeof(*x));
		struct iovec *v = malloc((size_t)cap * sizeof(*v));

		if (!d || !x || !v) {
			free(d);
			free(x);
			free(v);
			return ENOMEM;
		}
		memcpy(d, p->devoff, (size_t)p->n * sizeof(*d));
		memcpy(x, p->dev, (size_t)p->n * sizeof(*x));
		memcpy(v, p->iov, (size_t)p->n * sizeof(*v));
		plan_free(p);
		p->devoff = d;
		p->dev = x;
		p->iov = v;
		p->cap = cap;
	}
	p->devoff[p->n] = devoff;
	p->dev[p->n] = dev;
	p->iov[p->n].iov_len = len;
	p->n++;
	return 0;
}

static int plan_zeros(struct io_plan *p, uint64_t len)
{
	for (uint64_t l; len; len -= l) {
		int err;

		l = len < ZERO_CHUNK ? len : ZERO_CHUNK;
		err = plan_add(p, 0, ZERO_PIECE, l);
		if (err)
			return err;
	}
	return 0;
}

/* Split [o, o+len) of a logged file by its fmap. */
static int plan_fmap(const struct fmap *m, uint64_t o, struct io_plan *p)
{
	for (uint64_t done = 0; done < p->len;) {
		struct fmap_loc loc;
		int err;

		if (fmap_resolve(m, o + done, &loc))
			return EIO;
		if (loc.len > p->len - done)
			loc.len = p->len - done;
		err = plan_add(p, loc.devindex, loc.offset, loc.len);
		if (err)
			return err;
		done += loc.len;
	}
	return 0;
}

/* A device piece of a pending file's plan (fused_piece_fn): zeros go in 64 KiB iovecs. */
static int plan_piece(void *arg, uint32_t dev, uint64_t devoff, uint64_t len)
{
	struct io_plan *p = arg;

	return -(devoff == ZERO_PIECE ? plan_zeros(p, len) : plan_add(p, dev, devoff, len));
}

/* Might a write by a task without CAP_FSETID have to drop set-ID bits of @n (file_remove_privs)? */
static bool kills_suid(const struct famfs_node *n)
{
	return S_ISREG(n->mode) && (n->mode & (S_ISUID | S_ISGID));
}

/*
 * Plan the I/O of up to @size bytes at file offset @off of @ino: find the
 * node, clip to its size and split by its map. A write to a pending file
 * may allocate (pending.c, exclusive lock); a write by a task without
 * CAP_FSETID first drops the file's set-ID bits. Returns 0 or the errno to
 * reply with: ESTALE, EISDIR, EIO (no usable map, or a pending file's data
 * lost); for writes also EPERM (meta files), EFBIG (past the fixed size of
 * a logged file), ENOSPC.
 */
static int plan_io(fuse_req_t req, fuse_ino_t ino, bool write, size_t size, off_t off,
		   struct io_plan *p)
{
	uint64_t fsize = 0, o = (uint64_t)off;
	bool excl = false, kill = write && fused_write_kills_suid;
	struct fused_node *fn = NULL;
	struct fmap *m = NULL;
	struct famfs_node *n;
	int err = 0;

	plan_init(p);
	if (write && (o > UINT64_MAX / 2 || size > UINT64_MAX / 2))
		return EFBIG;
again:
	if (excl)
		pthread_rwlock_wrlock(&fused.lock);
	else
		pthread_rwlock_rdlock(&fused.lock);
	n = famfs_ns_node(fused.im->ns, ino);
	fn = n ? fused_node_state(n) : NULL;
	if (!n) {
		err = ESTALE;
	} else if (!S_ISREG(n->mode)) {
		err = EISDIR;
	} else if (!fn) {
		err = ENOMEM;
	} else if (kill && kills_suid(n) && !fused_is_meta(n)) {
		pthread_rwlock_unlock(&fused.lock);
		err = -fused_kill_suid(req, ino);
		if (err)
			return err;
		kill = false; /* once: what is left stays (S_ISGID for its group) */
		goto again;
	} else if (fn->pend) {
		int64_t got = fused_pending_plan(n, write, o, size, excl, &p->pio, plan_piece, p);

		pthread_rwlock_unlock(&fused.lock);
		if (got == -EAGAIN && !excl) {
			excl = true; /* it must allocate */
			goto again;
		}
		if (got < 0)
			return (int)-got;
		p->len = (uint64_t)got;
		return 0;
	} else {
		if (fn->was_pending) /* committed by fsync/fallocate, still open */
			atomic_store(&fn->served_io, true);
		fsize = n->size;
		p->meta = fused_is_meta(n);
		m = fused_node_fmap(n);
		if (!m)
			err = EIO;
	}
	pthread_rwlock_unlock(&fused.lock);
	if (!err && write && p->meta)
		err = EPERM;
	else if (!err && write && o >= fsize)
		err = EFBIG; /* past the fixed size */
	if (err || o >= fsize)
		return err;
	/* A write that straddles the end is cut short there, like any write at a size limit. */
	p->len = size < fsize - o ? size : fsize - o;
	return plan_fmap(m, o, p);
}

/* Is every device piece of @p in a mapping of the server (no pmem device among them)? */
static bool all_mapped(const struct io_plan *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->devoff[i] != ZERO_PIECE && !fused_media_map(p->dev[i], 0))
			return false;
	return true;
}

/* Move the bytes of a planned read into the reply. */
static void read_planned(fuse_req_t req, struct io_plan *p)
{
	int err = 0;

	if (all_mapped(p)) {
		for (int i = 0; i < p->n && !err; i++) {
			if (p->devoff[i] == ZERO_PIECE) {
				p->iov[i].iov_base = zero_bytes;
				continue;
			}
			p->iov[i].iov_base = fused_media_map(p->dev[i], p->devoff[i]);
			/* What another host wrote: metadata always, file data on clients
			 * (this CPU may hold lines of it from before the master wrote). */
			if (p->meta || !fused.writable) {
				err = -fused_media_invalidate(p->dev[i], p->devoff[i],
							      p->iov[i].iov_len);
				if (!p->meta)
					atomic_fetch_add(&fused.read_invalidated,
							 p->iov[i].iov_len);
			}
		}
		if (err)
			fuse_reply_err(req, err);
		else if (p->n <= MAX_REPLY_IOV)
			fuse_reply_iov(req, p->iov, p->n);
		else
			goto copy; /* too many pieces for one writev: copy them out */
		return;
	}
copy:;
	/* pmem (a piece on a device without a mapping): O_DIRECT through one
	 * buffer (always read from the media). */
	char *buf = malloc(p->len ? p->len : 1), *b = buf;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = 0; i < p->n && !err; i++) {
		if (p->devoff[i] == ZERO_PIECE)
			memset(b, 0, p->iov[i].iov_len);
		else
			err = -fused_media_load(b, p->dev[i], p->devoff[i], p->iov[i].iov_len);
		b += p->iov[i].iov_len;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, p->len);
	free(buf);
}

void fused_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct io_plan p;
	int err;

	(void)fi;
	err = plan_io(req, ino, false, size, off, &p);
	if (err)
		fuse_reply_err(req, err);
	else
		read_planned(req, &p);
	fused_pending_io_end(&p.pio, 0);
	plan_free(&p);
}

void fused_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct io_plan p;
	int err;

	(void)fi;
	plan_init(&p);
	err = fused.writable ? plan_io(req, ino, true, size, off, &p) : EROFS;
	for (int i = 0; i < p.n && !err; i++) {
		err = -fused_media_store(p.dev[i], p.devoff[i], buf, p.iov[i].iov_len);
		buf += p.iov[i].iov_len;
	}
	/* A pending file's write that failed to move lost its data (pending.c). */
	fused_pending_io_end(&p.pio, -err);
	plan_free(&p);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, p.len);
}
