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
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <signal.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

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
		m = n->file ? famfs_file_fmap(n->file, fused.im->fs->geom.alloc_unit) : NULL;
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
	uint64_t len;		    /* bytes to move: 0 at or past EOF (reads) */
	int n;			    /* pieces */
	bool meta;		    /* a .meta file */
	struct fused_pending *pend; /* a pending file: writes mark it failed on error */
	bool counted;		    /* counted in pend->inflight: call fused_pending_io_done() */
	uint64_t devoff[MAX_IOV];
	struct iovec iov[MAX_IOV]; /* iov_len of each piece; iov_base set by the caller */
};

/* Split [o, o+len) of a logged file by its fmap. */
static int plan_fmap(const struct fmap *m, uint64_t o, struct io_plan *p)
{
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

/* Pending file, pend->mu held: plan [o, o+len); writes grow the size. */
static int plan_pending(struct fused_pending *pd, bool write, size_t size, uint64_t o,
			struct io_plan *p)
{
	uint64_t devoff[MAX_IOV], plen[MAX_IOV];
	int k;

	if (write) {
		p->len = size;
	} else {
		if (o >= pd->size)
			return 0;
		p->len = size < pd->size - o ? size : pd->size - o;
	}
	k = fused_pending_resolve(pd, o, p->len, devoff, plen, MAX_IOV);
	if (k < 0)
		return EIO;
	for (int i = 0; i < k; i++) {
		p->devoff[i] = devoff[i];
		p->iov[i].iov_len = plen[i];
	}
	p->n = k;
	if (write) {
		if (o + p->len > pd->size)
			pd->size = o + p->len;
		if (o + p->len > pd->written)
			pd->written = o + p->len;
	}
	return 0;
}

/*
 * Plan the I/O of up to @size bytes at file offset @off of @ino: find the
 * node, clip to its size and split by its map. A write to a pending file
 * first allocates what it needs (exclusive lock). Returns 0 or the errno to
 * reply with: ESTALE, EISDIR, EIO (no usable map); for writes also EPERM
 * (meta files), EFBIG (past the fixed size of a logged file) and ENOSPC.
 */
static int plan_io(fuse_ino_t ino, bool write, size_t size, off_t off, struct io_plan *p)
{
	uint64_t fsize = 0, o = (uint64_t)off;
	struct fused_node *fn = NULL;
	struct fmap *m = NULL;
	struct famfs_node *n;
	bool excl = false;
	int err = 0;

	p->len = 0;
	p->n = 0;
	p->pend = NULL;
	p->counted = false;
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
	} else if (fn->pend) {
		struct fused_pending *pd = fn->pend;

		p->pend = pd;
		pthread_mutex_lock(&pd->mu);
		if (write && fused_pending_needs_grow(pd, o + size)) {
			pthread_mutex_unlock(&pd->mu);
			if (!excl) {
				pthread_rwlock_unlock(&fused.lock);
				excl = true;
				goto again;
			}
			err = -fused_pending_grow(n, o + size);
			pthread_mutex_lock(&pd->mu);
			if (err)
				pd->failed = true; /* the data is incomplete: discard at close */
		}
		if (!err)
			err = plan_pending(pd, write, size, o, p);
		if (!err) {
			/* Until the data has moved, nobody may move the file (promotion). */
			pd->inflight++;
			p->counted = true;
		}
		pthread_mutex_unlock(&pd->mu);
		pthread_rwlock_unlock(&fused.lock);
		return err;
	} else {
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

/*
 * SIGBUS on the server's own loads and stores of the mapping (a poisoned
 * line on devdax, or an image file cut short under us) becomes EIO for the
 * request: each thread arms its own jump buffer around the access.
 */
static __thread sigjmp_buf *fault_env;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (fault_env)
		siglongjmp(*fault_env, 1);
	signal(sig, SIG_DFL); /* not ours: die as before */
	raise(sig);
}

int fused_data_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) ? -errno : 0;
}

enum access { ACC_STORE, ACC_INVALIDATE, ACC_ZERO };

/* One guarded access to the mapping: 0, or -EIO if it raised SIGBUS. */
static int guarded(enum access what, uint8_t *dst, const void *src, size_t len)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 1)) {
		fault_env = NULL;
		atomic_fetch_add(&fused.io_faults, 1);
		return -EIO;
	}
	fault_env = &env;
	switch (what) {
	case ACC_STORE:
		memcpy(dst, src, len);
		famfs_cache_flush(dst, len);
		break;
	case ACC_ZERO:
		memset(dst, 0, len);
		famfs_cache_flush(dst, len);
		break;
	case ACC_INVALIDATE:
		famfs_cache_invalidate(dst, len);
		break;
	}
	fault_env = NULL;
	return 0;
}

/* Does this server store through its mapping (devdax; image files with -o dataio=map)? */
static bool store_mapped(const struct famfs_dev *dev)
{
	return fused.im->fs->data && (dev->kind == FAMFS_DEV_DAX || fused.dataio_map);
}

/* Move the bytes of a planned read into the reply. */
static void read_planned(fuse_req_t req, struct io_plan *p)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	int err = 0;

	if (fused.im->fs->data) {
		for (int i = 0; i < p->n && !err; i++) {
			p->iov[i].iov_base = fused.im->fs->data + p->devoff[i];
			/* What another host wrote: metadata always, file data on clients
			 * (this CPU may hold lines of it from before the master wrote). */
			if (p->meta || !fused.writable) {
				err = -guarded(ACC_INVALIDATE, p->iov[i].iov_base, NULL,
					       p->iov[i].iov_len);
				if (!p->meta)
					atomic_fetch_add(&fused.read_invalidated,
							 p->iov[i].iov_len);
			}
		}
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_iov(req, p->iov, p->n);
		return;
	}
	/* pmem: no mapping; O_DIRECT through one buffer (always read from the media). */
	char *buf = malloc(p->len ? p->len : 1), *b = buf;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = 0; i < p->n && !err; i++) {
		err = -famfs_dev_pread(dev, b, p->iov[i].iov_len, p->devoff[i]);
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
	err = plan_io(ino, false, size, off, &p);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	read_planned(req, &p);
	if (p.counted)
		fused_pending_io_done(p.pend);
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
		if (store_mapped(dev))
			err = -guarded(ACC_STORE, fused.im->fs->data + p.devoff[i], buf,
				       p.iov[i].iov_len);
		else
			err = -famfs_dev_pwrite(dev, buf, p.iov[i].iov_len, p.devoff[i]);
		buf += p.iov[i].iov_len;
	}
	if (err && p.pend) {
		pthread_mutex_lock(&p.pend->mu);
		p.pend->failed = true;
		pthread_mutex_unlock(&p.pend->mu);
	}
	if (p.counted)
		fused_pending_io_done(p.pend);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, p.len);
}

int fused_move(uint64_t dst, uint64_t src, uint64_t len)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	uint8_t *map = fused.im->fs->data;
	char *buf;
	int rc;

	if (map && store_mapped(dev))
		return guarded(ACC_STORE, map + dst, map + src, len);
	if (map) /* image file: pwrite into the page cache, as writes do */
		return famfs_dev_pwrite(dev, map + src, len, dst);
	buf = malloc(len ? len : 1); /* pmem: through a buffer, O_DIRECT */
	if (!buf)
		return -ENOMEM;
	rc = famfs_dev_pread(dev, buf, len, src);
	if (!rc)
		rc = famfs_dev_pwrite(dev, buf, len, dst);
	free(buf);
	return rc;
}

int fused_zero(uint64_t devoff, uint64_t len)
{
	struct famfs_dev *dev = fused.im->fs->dev;
	static const uint8_t zeros[65536];
	int rc = 0;

	if (dev->kind == FAMFS_DEV_FILE &&
	    fallocate(dev->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)devoff,
		      (off_t)len) == 0)
		return 0;
	if (store_mapped(dev))
		return guarded(ACC_ZERO, fused.im->fs->data + devoff, NULL, len);
	for (uint64_t o = 0; o < len && !rc; o += sizeof(zeros))
		rc = famfs_dev_pwrite(dev, zeros, len - o < sizeof(zeros) ? len - o : sizeof(zeros),
				      devoff + o);
	return rc;
}

int fused_sync_data(void)
{
	struct famfs_dev *dev = fused.im->fs->dev;

	switch (dev->kind) {
	case FAMFS_DEV_DAX:
		/* Every store was written back (clwb/clflushopt) when it was made;
		 * the fence (sfence / DSB) orders them before our reply. */
		famfs_cache_flush(NULL, 0);
		return 0;
	case FAMFS_DEV_FILE:
		/* The image's page cache (pwrite) and the mapping (log, dataio=map). */
		return famfs_dev_sync(dev);
	case FAMFS_DEV_PMEM:
		/* O_DIRECT writes reached the driver; flush the device's cache. */
		return fdatasync(dev->fd) ? -errno : 0;
	}
	return 0;
}
