// SPDX-License-Identifier: Apache-2.0
/*
 * The channel layer: famfs_fused's extension of stock libfuse 3.14 through
 * fuse_session_custom_io(), so that libfuse needs no fork.
 *
 * Every request read from the kernel passes through channel_read():
 *  - it is counted by opcode (the user.famfs.stats xattr shows the counts;
 *    the kernel tests use them to prove data I/O makes no READ/WRITE
 *    upcalls);
 *  - INIT: we note whether the kernel offers FUSE_DAX_FMAP (flags2 bit 11,
 *    with FUSE_INIT_EXT); libfuse then builds its reply, and channel_writev()
 *    adds the flag to that reply when we accept it;
 *  - GET_FMAP (54) and GET_DAXDEV (55), which libfuse does not know, are
 *    answered here and never reach libfuse;
 *  - WRITE: its FUSE_WRITE_KILL_SUIDGID flag, which libfuse 3.14 does not
 *    pass on, is noted for the thread that serves it (data.c).
 * docs/protocol.md describes the protocol; kernel-protocol.md the facts.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devset.h"
#include "famfs_kabi.h"
#include "filemap.h"
#include "fused.h"
#include "opnames.h"

#define FUSE_DIO_MMAP_FLAG2  (1U << 4) /* FUSE_DIRECT_IO_ALLOW_MMAP = 1ULL << 36 (Linux 6.6) */
#define GET_FMAP_NOINPUT_BUF 4096      /* a GET_FMAP without input: PAGE_SIZE */

_Static_assert(sizeof(struct famfs_daxdev_out) == 280, "GET_DAXDEV reply is 280 bytes");

static int reply(int fd, uint64_t unique, int error, const void *payload, size_t len)
{
	struct fuse_out_header out = {
	    .len = (uint32_t)(sizeof(out) + (error ? 0 : len)),
	    .error = -error,
	    .unique = unique,
	};
	struct iovec iov[2] = {{&out, sizeof(out)}, {(void *)payload, len}};
	ssize_t n = writev(fd, iov, error || !len ? 1 : 2);

	return n == (ssize_t)out.len ? 0 : -errno;
}

/* The fmap to send for @n in the configured mode; *@owned if the caller must free it. */
static struct fmap *wire_fmap(struct famfs_node *n, bool *owned)
{
	struct fmap *m = fused_node_fmap(n), *u;

	*owned = false;
	if (!m || m->ext_type != FMAP_EXT_INTERLEAVE || fused.fmap_mode != FUSED_FMAP_UNROLLED)
		return m;
	if (fmap_unroll(m, &u))
		return m; /* too many chunks to unroll: the striped form is exact too */
	*owned = true;
	return u;
}

static void get_fmap(int fd, const struct fuse_in_header *h, const void *arg)
{
	uint64_t align = famfs_kernel_fmap_align(arg, h->len - sizeof(*h));
	uint32_t bufsize = GET_FMAP_NOINPUT_BUF;
	size_t arglen = h->len - sizeof(*h);
	struct famfs_node *n;
	struct fmap *m = NULL;
	bool owned = false;
	void *msg = NULL;
	int err = 0;
	long len = 0;

	if (!fused.fmap_enabled) {
		reply(fd, h->unique, ENOSYS, NULL, 0); /* not negotiated: as libfuse would */
		return;
	}
	if (arglen >= sizeof(struct famfs_get_fmap_in))
		bufsize = ((const struct famfs_get_fmap_in *)arg)->size;
	else if (arglen != 0)
		err = EINVAL; /* a truncated input */
	pthread_rwlock_rdlock(&fused.lock);
	n = famfs_ns_node(fused.im->ns, h->nodeid);
	if (err)
		;
	else if (!n)
		err = ENOENT;
	else if (S_ISDIR(n->mode))
		err = EISDIR;
	else if (!(m = wire_fmap(n, &owned)))
		err = ENODATA; /* a file not sized yet has no map */
	else if (!famfs_kernel_can_map(m, align)) {
		/* A 4 KiB-unit file this kernel cannot map: our data path serves it. */
		err = ENODATA;
		atomic_fetch_add(&fused.fmap_align_refused, 1);
	}
	if (!err) {
		size_t need = fmap_encoded_size(m);

		msg = malloc(need > FMAP_SIZE_REPLY ? need : FMAP_SIZE_REPLY);
		if (!msg)
			err = ENOMEM;
		else if (need > bufsize)
			len = fmap_reply_too_small((uint32_t)need, msg, FMAP_SIZE_REPLY);
		else
			len = fmap_encode(m, msg, need);
		if (!err && len < 0)
			err = (int)-len;
	}
	pthread_rwlock_unlock(&fused.lock);
	if (owned)
		fmap_free(m);
	reply(fd, h->unique, err, msg, err ? 0 : (size_t)len);
	free(msg);
}

static void get_daxdev(int fd, const struct fuse_in_header *h)
{
	struct famfs_daxdev_out out;
	const struct famfs_dev *dev;
	int err = 0;

	if (!fused.fmap_enabled) {
		reply(fd, h->unique, ENOSYS, NULL, 0);
		return;
	}
	/* The index is in nodeid (docs/protocol.md): any device open here. */
	memset(&out, 0, sizeof(out));
	pthread_rwlock_rdlock(&fused.lock);
	dev = h->nodeid < FAMFS_MAX_DAXDEVS ? famfs_image_dev(fused.im, (uint32_t)h->nodeid) : NULL;
	if (!dev)
		err = ENODEV;
	else if (strlen(dev->path) >= sizeof(out.name))
		err = ENAMETOOLONG;
	else {
		out.index = (uint16_t)h->nodeid;
		memcpy(out.name, dev->path, strlen(dev->path));
	}
	pthread_rwlock_unlock(&fused.lock);
	reply(fd, h->unique, err, &out, err ? 0 : sizeof(out));
}

static void count(uint32_t opcode)
{
	if (opcode < FUSED_NOPS)
		atomic_fetch_add_explicit(&fused.ops[opcode], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&fused.ops_other, 1, memory_order_relaxed);
}

static ssize_t channel_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		const struct fuse_in_header *h = buf;

		if (n == 0) {
			/* The peer closed a socket channel (/dev/fd/N): that is an
			 * unmount, which /dev/fuse reports as ENODEV. */
			errno = ENODEV;
			return -1;
		}
		if (n < (ssize_t)sizeof(*h))
			return n; /* errors and runts: libfuse reports them */
		count(h->opcode);
		if (h->len != (uint32_t)n) {
			/* libfuse 3.14 does not check this and would parse the
			 * request as if it were whole: refuse it here. */
			reply(fd, h->unique, EINVAL, NULL, 0);
			continue;
		}
		switch (h->opcode) {
		case FUSE_WRITE:
			/* Served by this thread next (fused_write reads it). */
			fused_write_kills_suid =
			    (size_t)n >= sizeof(*h) + sizeof(struct fuse_write_in) &&
			    (((const struct fuse_write_in *)(h + 1))->write_flags &
			     FUSE_WRITE_KILL_SUIDGID);
			return n;
		case FUSED_OP_GET_FMAP:
			get_fmap(fd, h, h + 1);
			continue;
		case FUSED_OP_GET_DAXDEV:
			get_daxdev(fd, h);
			continue;
		case FUSE_INIT:
			/* Only the first 7.x INIT negotiates: libfuse refuses any later
			 * one, which must not change what was agreed. Kernels before
			 * 7.36 send 16 bytes (no flags2): the rest reads as zero. */
			if (!fused.init_seen && (size_t)n >= sizeof(*h) + 2 * sizeof(uint32_t)) {
				struct fuse_init_in in = {0};
				size_t inlen = (size_t)n - sizeof(*h);
				bool ext;

				memcpy(&in, h + 1, inlen < sizeof(in) ? inlen : sizeof(in));
				if (in.major != FUSE_KERNEL_VERSION)
					return n; /* libfuse answers and waits for a 7.x INIT */
				fused.init_seen = true;
				ext = in.flags & FUSE_INIT_EXT;
				fused.fmap_offered = ext && (in.flags2 & FAMFS_DAX_FMAP_FLAGS2);
				fused.fmap_enabled = fused.fmap_offered && fused.fmap_allowed;
				/* famfs.ko: devices by fd, before it can ask for a map */
				if (fused.fmap_enabled && !fused_register_devices(fd))
					fused.fmap_enabled = false;
				fused.dio_mmap_offered = ext && (in.flags2 & FUSE_DIO_MMAP_FLAG2);
				/* With a famfs kernel the server's data path is not used. */
				fused.direct_io = !fused.fmap_enabled &&
						  (fused.cache_mode == FUSED_CACHE_DIRECT ||
						   (fused.cache_mode == FUSED_CACHE_AUTO &&
						    fused.dio_mmap_offered));
				fused.init_unique = h->unique;
			}
			return n;
		default:
			return n;
		}
	}
}

static ssize_t channel_writev(int fd, struct iovec *iov, int count_, void *userdata)
{
	const struct fuse_out_header *oh = iov[0].iov_base;
	uint32_t flags2 = (fused.fmap_enabled ? FAMFS_DAX_FMAP_FLAGS2 : 0) |
			  (fused.direct_io && fused.dio_mmap_offered ? FUSE_DIO_MMAP_FLAG2 : 0);

	(void)userdata;
	/* libfuse's INIT reply: header in iov[0], fuse_init_out in iov[1]; add
	 * the flags2 bits libfuse 3.14 does not know about. */
	if (flags2 && fused.init_unique && count_ >= 2 &&
	    iov[0].iov_len == sizeof(struct fuse_out_header) && oh->unique == fused.init_unique &&
	    oh->error == 0 &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t)) {
		struct fuse_init_out *out = iov[1].iov_base;

		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= flags2;
		fused.init_unique = 0;
	}
	return writev(fd, iov, count_);
}

int fused_channel_attach(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
	    .read = channel_read,
	    .writev = channel_writev,
	};
	int fd = fuse_session_fd(se);

	if (fd < 0)
		return -EBADF;
	return fuse_session_custom_io(se, &io, fd) ? -EIO : 0;
}

size_t fused_stats_text(char *buf, size_t size)
{
	size_t o = 0;

	o += (size_t)snprintf(
	    buf + o, size - o, "fmap %s\ndata %s\n",
	    fused.fmap_enabled	 ? "enabled"
	    : fused.fmap_offered ? "offered-declined"
				 : "not-offered",
	    /* famfs.ko maps what it accepted at registration;
	     * other famfs kernels can DAX a pmem device only.
	     * Otherwise READ/WRITE keep coming here. */
	    fused.fmap_enabled && (fused.famfs_channel ? fused.kernel_dax
						       : fused.im->fs->dev->kind == FAMFS_DEV_PMEM)
		? "kernel-dax"
	    : fused.fmap_enabled ? "kernel-maps-server-data"
	    : fused.direct_io	 ? "server-direct-io"
				 : "server-page-cache");
	for (unsigned int i = 0; i < FUSED_NOPS && o < size; i++) {
		unsigned long v = atomic_load_explicit(&fused.ops[i], memory_order_relaxed);

		if (fused_opnames[i])
			o += (size_t)snprintf(buf + o, size - o, "%s %lu\n", fused_opnames[i], v);
		else if (v)
			o += (size_t)snprintf(buf + o, size - o, "OP%u %lu\n", i, v);
	}
	if (o < size)
		o += (size_t)snprintf(buf + o, size - o, "OTHER %lu\n",
				      atomic_load_explicit(&fused.ops_other, memory_order_relaxed));
	return o < size ? o : size;
}
