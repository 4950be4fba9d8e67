// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <daxctl/libdaxctl.h>

#include "daxbind.h"
#include "dev.h"
#include "flush.h"

#define DIO_ALIGN 4096ULL /* O_DIRECT granularity we use on block devices */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

const char *famfs_dev_kind_name(enum famfs_dev_kind kind)
{
	switch (kind) {
	case FAMFS_DEV_FILE:
		return "file";
	case FAMFS_DEV_DAX:
		return "devdax";
	case FAMFS_DEV_PMEM:
		return "pmem";
	}
	return "?";
}

/*
 * The window of a device that cannot be mapped from user space is a private
 * buffer kept in step with the media by reads (invalidate) and writes
 * (flush): a pmem block device (its mmap goes through the page cache) and a
 * devdax device bound to famfs_dax (no mmap; its read() drops stale cache
 * lines and its write() bypasses the cache, docs/kernel.md).
 */
static bool buffered(const struct famfs_dev *dev)
{
	return dev->kind == FAMFS_DEV_PMEM || dev->famfs_dax;
}

bool famfs_dev_mappable(const struct famfs_dev *dev)
{
	return !buffered(dev);
}

/* Granularity of direct transfers: O_DIRECT blocks on pmem, bytes on famfs_dax. */
static uint64_t io_align(const struct famfs_dev *dev)
{
	return dev->kind == FAMFS_DEV_PMEM ? DIO_ALIGN : 1;
}

/* Size and alignment of a devdax device, from libdaxctl. */
static int daxctl_geometry(dev_t rdev, uint64_t *size, uint64_t *align)
{
	struct daxctl_region *region;
	struct daxctl_ctx *ctx;
	struct daxctl_dev *dd;
	int rc = -EINVAL;

	if (daxctl_new(&ctx) < 0)
		return -ENOMEM;
	daxctl_region_foreach(ctx, region)
	{
		daxctl_dev_foreach(region, dd)
		{
			if (daxctl_dev_get_major(dd) == (int)major(rdev) &&
			    daxctl_dev_get_minor(dd) == (int)minor(rdev)) {
				*size = daxctl_dev_get_size(dd);
				*align = daxctl_dev_get_align(dd);
				if (*align == 0)
					*align = 0x200000;
				rc = 0;
				goto out;
			}
		}
	}
out:
	daxctl_unref(ctx);
	return rc;
}

/* Does the block device @rdev support DAX? sysfs queue/dax ("1"), on the
 * disk of a partition. */
static bool block_dax(dev_t rdev)
{
	static const char *const rel[] = {"queue/dax", "../queue/dax"};
	char path[96], v[4] = "";

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(rdev), minor(rdev),
			 rel[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, v, sizeof(v) - 1);
		close(fd);
		return n > 0 && v[0] == '1';
	}
	return false;
}

/* Does a famfs opener of this host hold @path's in-use lock (famfs_dev_hold)? */
static bool held_by_famfs(const char *path)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

int famfs_dev_open(const char *path, unsigned int flags, struct famfs_dev **out)
{
	bool wr = flags & FAMFS_DEV_WRITE;
	struct famfs_dev *dev;
	struct stat st;
	int rc, oflags;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = -1;
	dev->writable = wr;
	if (!realpath(path, dev->path))
		snprintf(dev->path, sizeof(dev->path), "%s", path);

	if (stat(dev->path, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	oflags = (wr ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	if (S_ISREG(st.st_mode)) {
		dev->kind = FAMFS_DEV_FILE;
		dev->size = st.st_size;
		dev->align = sysconf(_SC_PAGESIZE);
	} else if (S_ISCHR(st.st_mode)) {
		char drv[64];

		dev->kind = FAMFS_DEV_DAX;
		rc = daxctl_geometry(st.st_rdev, &dev->size, &dev->align);
		if (rc)
			goto fail;
		dev->famfs_dax = famfs_daxdev_driver(st.st_rdev, drv, sizeof(drv)) == 0 &&
				 !strcmp(drv, FAMFS_DAX_DRIVER);
	} else if (S_ISBLK(st.st_mode)) {
		dev->kind = FAMFS_DEV_PMEM;
		dev->align = DIO_ALIGN;
		dev->dax = block_dax(st.st_rdev);
		oflags |= O_DIRECT | ((flags & FAMFS_DEV_EXCL) ? O_EXCL : 0);
	} else {
		rc = -ENODEV;
		goto fail;
	}
	dev->fd = open(dev->path, oflags);
	if (dev->fd < 0) {
		rc = -errno;
		if (rc == -EBUSY && (oflags & O_EXCL) && !held_by_famfs(dev->path))
			rc = -ETXTBSY;
		goto fail;
	}
	if (dev->kind == FAMFS_DEV_PMEM && ioctl(dev->fd, BLKGETSIZE64, &dev->size) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = dev;
	return 0;
fail:
	famfs_dev_close(dev);
	return rc;
}

int famfs_dev_open_served(const char *path, unsigned int flags, struct famfs_dev **out)
{
	int rc = famfs_dev_open(path, flags | FAMFS_DEV_EXCL, out);

	if (rc == -EBUSY) /* another famfs server of this host claimed it */
		rc = famfs_dev_open(path, flags & ~FAMFS_DEV_EXCL, out);
	return rc;
}

int famfs_dev_create_file(const char *path, uint64_t size)
{
	struct stat st;
	int fd, rc = 0;

	/* 0600: whoever can read the image can read every file in it. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = S_ISREG(st.st_mode) ? -errno : -ENOTSUP;
	else if ((uint64_t)st.st_size != size && ftruncate(fd, (off_t)size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* A whole transfer with pread/pwrite (on pmem: O_DIRECT, all aligned). */
static int dio(struct famfs_dev *dev, void *buf, size_t len, uint64_t off, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(dev->fd, buf, len, (off_t)off)
				  : pread(dev->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static const struct famfs_cache_model *cache_model;

void famfs_dev_set_cache_model(const struct famfs_cache_model *model)
{
	cache_model = model;
}

/* Is @dev's window the cache model's? */
static bool modeled(const struct famfs_dev *dev)
{
	return dev->model_host != NULL;
}

/* Give up the current window (a mapping, a buffer or the model's memory). */
static void unmap_window(struct famfs_dev *dev)
{
	if (!dev->map)
		return;
	if (modeled(dev))
		cache_model->unmap(cache_model->arg, dev, dev->map, dev->map_len);
	else if (buffered(dev))
		free(dev->map);
	else
		munmap(dev->map, dev->map_len);
	dev->map = NULL;
}

void *famfs_dev_map(struct famfs_dev *dev, uint64_t len)
{
	uint64_t mlen = round_up(len, dev->align);
	void *p;
	int rc;

	if (mlen > round_up(dev->size, dev->align) || len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (cache_model && dev->kind == FAMFS_DEV_FILE) {
		unmap_window(dev);
		dev->model_host = NULL;
		p = cache_model->map(cache_model->arg, dev, mlen);
		if (!p)
			return NULL;
		if (!dev->model_host) { /* the model must name the host: it routes flushes */
			cache_model->unmap(cache_model->arg, dev, p, mlen);
			errno = EINVAL;
			return NULL;
		}
		dev->map = p;
		dev->map_len = mlen;
		return p;
	}
	if (buffered(dev)) {
		p = aligned_alloc(DIO_ALIGN, mlen);
		if (!p)
			return NULL;
		rc = dio(dev, p, mlen, 0, false);
		if (rc) {
			free(p);
			errno = -rc;
			return NULL;
		}
	} else {
		int prot = PROT_READ | (dev->writable ? PROT_WRITE : 0);

		p = mmap(NULL, mlen, prot, MAP_SHARED, dev->fd, 0);
		if (p == MAP_FAILED)
			return NULL;
	}
	unmap_window(dev);
	dev->map = p;
	dev->map_len = mlen;
	return p;
}

/* Window range [addr, addr+len) as device offsets; -EINVAL if outside. */
static int window_range(struct famfs_dev *dev, const void *addr, size_t len, uint64_t *off)
{
	const uint8_t *a = addr;

	if (!dev->map || a < dev->map || len > dev->map_len ||
	    (uint64_t)(a - dev->map) > dev->map_len - len)
		return -EINVAL;
	*off = (uint64_t)(a - dev->map);
	return 0;
}

/* Buffered window: write (flush) or re-read (invalidate) a range of it. */
static int buffer_sync_range(struct famfs_dev *dev, uint64_t off, size_t len, bool write)
{
	uint64_t start = off / io_align(dev) * io_align(dev);
	uint64_t end = round_up(off + len, io_align(dev));

	if (end > dev->map_len)
		end = dev->map_len;
	return dio(dev, dev->map + start, end - start, start, write);
}

static famfs_access_guard_fn access_guard;

void famfs_dev_set_guard(famfs_access_guard_fn guard)
{
	__atomic_store_n(&access_guard, guard, __ATOMIC_RELEASE);
}

int famfs_dev_access(enum famfs_access op, void *dst, const void *src, size_t len)
{
	famfs_access_guard_fn guard = __atomic_load_n(&access_guard, __ATOMIC_ACQUIRE);

	if (guard)
		return guard(op, dst, src, len);
	switch (op) {
	case FAMFS_ACCESS_COPY:
		memcpy(dst, src, len);
		break;
	case FAMFS_ACCESS_FLUSH:
		famfs_cache_flush(dst, len);
		break;
	case FAMFS_ACCESS_INVALIDATE:
		famfs_cache_invalidate(dst, len);
		break;
	}
	return 0;
}

static void trace(struct famfs_dev *dev, enum famfs_dev_op op, uint64_t off, size_t len)
{
	if (dev->trace)
		dev->trace(dev->trace_arg, op, off, len);
}

int famfs_dev_flush(struct famfs_dev *dev, const void *addr, size_t len)
{
	uint64_t off;
	int rc = window_range(dev, addr, len, &off);

	if (rc)
		return rc;
	if (modeled(dev))
		rc = cache_model->flush(cache_model->arg, dev, off, len);
	else if (buffered(dev))
		rc = buffer_sync_range(dev, off, len, true);
	else
		rc = famfs_dev_access(FAMFS_ACCESS_FLUSH, (void *)addr, NULL, len);
	if (!rc)
		trace(dev, FAMFS_DEV_FLUSH, off, len);
	return rc;
}

int famfs_dev_invalidate(struct famfs_dev *dev, const void *addr, size_t len)
{
	uint64_t off;
	int rc = window_range(dev, addr, len, &off);

	if (rc)
		return rc;
	if (modeled(dev))
		rc = cache_model->invalidate(cache_model->arg, dev, off, len);
	else if (buffered(dev))
		rc = buffer_sync_range(dev, off, len, false);
	else
		rc = famfs_dev_access(FAMFS_ACCESS_INVALIDATE, (void *)addr, NULL, len);
	if (!rc)
		trace(dev, FAMFS_DEV_INVALIDATE, off, len);
	return rc;
}

int famfs_dev_store(struct famfs_dev *dev, void *dst, const void *src, size_t len)
{
	uint64_t off;
	int rc = window_range(dev, dst, len, &off);

	if (rc)
		return rc;
	rc = famfs_dev_access(FAMFS_ACCESS_COPY, dst, src, len);
	if (!rc)
		trace(dev, FAMFS_DEV_STORE, off, len);
	return rc;
}

int famfs_dev_load(struct famfs_dev *dev, void *dst, const void *src, size_t len)
{
	uint64_t off;
	int rc = window_range(dev, src, len, &off);

	if (rc)
		return rc;
	rc = famfs_dev_access(FAMFS_ACCESS_COPY, dst, src, len);
	if (!rc)
		trace(dev, FAMFS_DEV_LOAD, off, len);
	return rc;
}

int famfs_dev_release(struct famfs_dev *dev, const void *addr, size_t len)
{
	uint64_t off, unit, start, end;

	if (window_range(dev, addr, len, &off))
		return -EINVAL;
	if (modeled(dev) || buffered(dev))
		return 0; /* private memory: dropping it would lose the bytes */
	unit = dev->align > 4096 && dev->kind == FAMFS_DEV_DAX ? dev->align : 4096;
	start = round_up(off, unit);
	end = (off + len) / unit * unit;
	if (end > start)
		(void)madvise(dev->map + start, end - start, MADV_DONTNEED);
	return 0;
}

int famfs_dev_sync(struct famfs_dev *dev)
{
	if (dev->kind == FAMFS_DEV_FILE && dev->map && !modeled(dev) && dev->writable &&
	    msync(dev->map, dev->map_len, MS_SYNC) < 0)
		return -errno;
	if (dev->writable && dev->kind != FAMFS_DEV_DAX && fsync(dev->fd) < 0)
		return -errno;
	return 0;
}

/*
 * A write that is not whole aligned blocks is a read-modify-write of the
 * blocks it touches; two at once on one block would lose one's bytes. Every
 * pmem write holds the locks of the blocks it covers (striped by block
 * number, taken in ascending order), so such writes to one block run one at
 * a time; writes to different blocks still run in parallel.
 */
#define BLOCK_LOCKS 64
static pthread_mutex_t block_lock[BLOCK_LOCKS] = {[0 ... BLOCK_LOCKS - 1] =
						      PTHREAD_MUTEX_INITIALIZER};

/* Lock (or unlock) the stripes of blocks [start, end) (bytes, block-aligned). */
static void lock_blocks(uint64_t start, uint64_t end, bool lock)
{
	uint64_t first = start / DIO_ALIGN, n = (end - start) / DIO_ALIGN;
	bool held[BLOCK_LOCKS] = {false};

	for (uint64_t b = 0; b < n && b < BLOCK_LOCKS; b++)
		held[(first + b) % BLOCK_LOCKS] = true;
	for (int i = 0; i < BLOCK_LOCKS; i++)
		if (held[i]) {
			if (lock)
				pthread_mutex_lock(&block_lock[i]);
			else
				pthread_mutex_unlock(&block_lock[i]);
		}
}

static int bounce(struct famfs_dev *dev, void *buf, size_t len, uint64_t off, bool write)
{
	uint64_t start = off / DIO_ALIGN * DIO_ALIGN;
	uint64_t end = round_up(off + len, DIO_ALIGN);
	uint8_t *tmp = aligned_alloc(DIO_ALIGN, end - start);
	int rc = 0;

	if (!tmp)
		return -ENOMEM;
	/* A write that covers whole blocks needs no read-modify-write. */
	if (!write || start != off || end != off + len)
		rc = dio(dev, tmp, end - start, start, false);
	if (!rc && write) {
		memcpy(tmp + (off - start), buf, len);
		rc = dio(dev, tmp, end - start, start, true);
	} else if (!rc) {
		memcpy(buf, tmp + (off - start), len);
	}
	free(tmp);
	return rc;
}

static int rw(struct famfs_dev *dev, void *buf, size_t len, uint64_t off, bool write)
{
	if (off > dev->size || len > dev->size - off)
		return -EINVAL;
	if (write && !dev->writable)
		return -EROFS;
	switch (dev->kind) {
	case FAMFS_DEV_PMEM: {
		uint64_t start = off / DIO_ALIGN * DIO_ALIGN, end = round_up(off + len, DIO_ALIGN);
		int rc;

		if (write)
			lock_blocks(start, end, true);
		if (off % DIO_ALIGN == 0 && len % DIO_ALIGN == 0 && (uintptr_t)buf % DIO_ALIGN == 0)
			rc = dio(dev, buf, len, off, write);
		else
			rc = bounce(dev, buf, len, off, write);
		if (write)
			lock_blocks(start, end, false);
		return rc;
	}
	case FAMFS_DEV_FILE:
		return dio(dev, buf, len, off, write);
	case FAMFS_DEV_DAX:
		if (dev->famfs_dax) /* byte-exact read()/write() of the driver */
			return dio(dev, buf, len, off, write);
		if (!dev->map || off + len > dev->map_len)
			return -EINVAL;
		if (write)
			memcpy(dev->map + off, buf, len);
		else
			memcpy(buf, dev->map + off, len);
		return 0;
	}
	return -EINVAL;
}

int famfs_dev_pread(struct famfs_dev *dev, void *buf, size_t len, uint64_t off)
{
	return rw(dev, buf, len, off, false);
}

int famfs_dev_pwrite(struct famfs_dev *dev, const void *buf, size_t len, uint64_t off)
{
	return rw(dev, (void *)buf, len, off, true);
}

int famfs_dev_lock(struct famfs_dev *dev, bool wait)
{
	while (flock(dev->fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void famfs_dev_unlock(struct famfs_dev *dev)
{
	flock(dev->fd, LOCK_UN);
}

/* The in-use lock: an OFD lock on byte 0, read (hold) or write (claim). */
static int inuse_lock(struct famfs_dev *dev, short type, bool wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	while (fcntl(dev->fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	}
	return 0;
}

int famfs_dev_hold(struct famfs_dev *dev)
{
	return inuse_lock(dev, F_RDLCK, true);
}

int famfs_dev_claim(struct famfs_dev *dev)
{
	return inuse_lock(dev, F_WRLCK, false);
}

void famfs_dev_close(struct famfs_dev *dev)
{
	if (!dev)
		return;
	unmap_window(dev);
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
}
