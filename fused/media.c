// SPDX-License-Identifier: Apache-2.0
/*
 * Device bytes: the lowest layer of famfs_fused's data path. Everything the
 * server stores on, loads from, moves within or clears on the device goes
 * through here, so the rules of each device kind live in one place:
 *
 *   devdax       stores through the server's mapping, each one written back
 *                from the CPU cache (clwb/clflushopt, DC CVAC) and fenced;
 *   image file   pwrite into the page cache that every mapping of the image
 *                shares (storing through the mapping would fault in and
 *                allocate each block of a sparse image); -o dataio=map
 *                stores through the mapping as on devdax;
 *   pmem (block) O_DIRECT through a bounce buffer (famfs_dev_pread/pwrite).
 *
 * A SIGBUS under the server's own loads and stores (a poisoned line on
 * devdax, an image file cut short under the mapping) becomes EIO for the
 * request: each thread arms its own jump buffer around the access. The
 * library's metadata accesses (log, header, superblock) use the same guard
 * (famfs_dev_set_guard).
 *
 * A file system of several devices (docs/format.md, "Several devices")
 * has each device open here with its own kind: every function takes the
 * device index an extent names (famfs_image_dev(), and the whole-device
 * window im->set->data[] where the device is mapped), so devdax, pmem and
 * image files each keep their own rules in one file system. Devices are
 * added while mounted (devadd, a client following the log), never removed:
 * an index once open stays valid for the life of the server.
 *
 * This file calls nothing else of the server: data.c (READ/WRITE) and
 * pending.c (a pending file's space) are built on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devset.h"
#include "flush.h"
#include "fused.h"

static __thread sigjmp_buf *volatile fault_env;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (fault_env)
		siglongjmp(*fault_env, 1);
	signal(sig, SIG_DFL); /* not ours: die as before */
	raise(sig);
}

enum access { ACC_STORE, ACC_COPY, ACC_FLUSH, ACC_INVALIDATE, ACC_ZERO };

/* One guarded access to the mapping: 0, or -EIO if it raised SIGBUS. */
static int guarded(enum access what, uint8_t *dst, const void *src, size_t len)
{
	sigjmp_buf env;

	/* No signal mask saved (it would cost a system call per access): the
	 * handler runs with SIGBUS unblocked (SA_NODEFER, empty sa_mask). A
	 * runtime that wraps signal handlers may still block it on the way
	 * (ThreadSanitizer's does), and a fault while SIGBUS is blocked kills
	 * the process: after a fault it is unblocked, which costs only then. */
	if (sigsetjmp(env, 0)) {
		sigset_t bus;

		fault_env = NULL;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		atomic_fetch_add(&fused.io_faults, 1);
		return -EIO;
	}
	fault_env = &env;
	__asm__ volatile("" ::: "memory"); /* armed before the access, not after */
	switch (what) {
	case ACC_STORE:
		memcpy(dst, src, len);
		famfs_cache_flush(dst, len);
		break;
	case ACC_COPY:
		memcpy(dst, src, len);
		break;
	case ACC_FLUSH:
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
	__asm__ volatile("" ::: "memory"); /* disarmed after it */
	fault_env = NULL;
	return 0;
}

/* The library's window accesses (famfs/dev.c), guarded the same way. */
static int guard_library(enum famfs_access op, void *dst, const void *src, size_t len)
{
	switch (op) {
	case FAMFS_ACCESS_COPY:
		return guarded(ACC_COPY, dst, src, len);
	case FAMFS_ACCESS_FLUSH:
		return guarded(ACC_FLUSH, dst, NULL, len);
	case FAMFS_ACCESS_INVALIDATE:
		return guarded(ACC_INVALIDATE, dst, NULL, len);
	}
	return -EINVAL;
}

int fused_media_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL))
		return -errno;
	famfs_dev_set_guard(guard_library);
	return 0;
}

/* Device @dev of the image (open here), or NULL. */
static struct famfs_dev *device(uint32_t dev)
{
	return dev < FAMFS_MAX_DAXDEVS ? famfs_image_dev(fused.im, dev) : NULL;
}

/* The server's whole-device mapping of device @dev, or NULL (pmem, or not open). */
static uint8_t *window(uint32_t dev)
{
	return dev < FAMFS_MAX_DAXDEVS ? fused.im->set->data[dev] : NULL;
}

/* Does this server store through its mapping of @dev (devdax; image files with -o dataio=map)? */
static bool store_mapped(const struct famfs_dev *d, uint32_t dev)
{
	return window(dev) && (d->kind == FAMFS_DEV_DAX || fused.dataio_map);
}

uint8_t *fused_media_map(uint32_t dev, uint64_t devoff)
{
	uint8_t *map = window(dev);

	return map ? map + devoff : NULL;
}

int fused_media_store(uint32_t dev, uint64_t devoff, const void *src, uint64_t len)
{
	struct famfs_dev *d = device(dev);

	if (!d)
		return -EIO;
	if (store_mapped(d, dev))
		return guarded(ACC_STORE, window(dev) + devoff, src, len);
	return famfs_dev_pwrite(d, src, len, devoff);
}

int fused_media_load(void *dst, uint32_t dev, uint64_t devoff, uint64_t len)
{
	struct famfs_dev *d = device(dev);
	uint8_t *map = window(dev);

	if (!d)
		return -EIO;
	if (map)
		return guarded(ACC_COPY, dst, map + devoff, len);
	return famfs_dev_pread(d, dst, len, devoff);
}

int fused_media_invalidate(uint32_t dev, uint64_t devoff, uint64_t len)
{
	uint8_t *map = window(dev);

	return map ? guarded(ACC_INVALIDATE, map + devoff, NULL, len) : 0;
}

int fused_media_move(uint32_t ddev, uint64_t dst, uint32_t sdev, uint64_t src, uint64_t len)
{
	struct famfs_dev *d = device(ddev);
	uint8_t *smap = window(sdev), *dmap = window(ddev);
	char *buf;
	int rc;

	if (!d || !device(sdev))
		return -EIO;
	if (smap && dmap && store_mapped(d, ddev))
		return guarded(ACC_STORE, dmap + dst, smap + src, len);
	if (smap && d->kind == FAMFS_DEV_FILE) /* pwrite into the page cache, as writes do */
		return famfs_dev_pwrite(d, smap + src, len, dst);
	buf = malloc(len ? len : 1); /* pmem, or two kinds: through a buffer */
	if (!buf)
		return -ENOMEM;
	rc = fused_media_load(buf, sdev, src, len);
	if (!rc)
		rc = fused_media_store(ddev, dst, buf, len);
	free(buf);
	return rc;
}

int fused_media_zero(uint32_t dev, uint64_t devoff, uint64_t len)
{
	struct famfs_dev *d = device(dev);
	static const uint8_t zeros[65536];
	int rc = 0;

	if (!d)
		return -EIO;
	if (d->kind == FAMFS_DEV_FILE &&
	    fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)devoff,
		      (off_t)len) == 0)
		return 0;
	if (store_mapped(d, dev))
		return guarded(ACC_ZERO, window(dev) + devoff, NULL, len);
	for (uint64_t o = 0; o < len && !rc; o += sizeof(zeros))
		rc = famfs_dev_pwrite(d, zeros, len - o < sizeof(zeros) ? len - o : sizeof(zeros),
				      devoff + o);
	return rc;
}

/* The barrier of one device (fused_media_barrier). */
static int barrier_one(struct famfs_dev *dev)
{
	switch (dev->kind) {
	case FAMFS_DEV_DAX:
		/* Each store was written back from the CPU cache when it was made;
		 * the fence (sfence / DSB) orders all of them before what follows. */
		famfs_cache_flush(NULL, 0);
		return 0;
	case FAMFS_DEV_FILE:
		/* pwrite and dataio=map stores are in the page cache that every
		 * mapping of the image shares: another mount sees them already. */
		return 0;
	case FAMFS_DEV_PMEM:
		/* The pmem driver copies O_DIRECT writes with non-temporal stores
		 * and fences them only for a flush: ask for one (REQ_PREFLUSH), so
		 * they are on the media before the log entry that names them. */
		return fdatasync(dev->fd) ? -errno : 0;
	}
	return 0;
}

/* The sync of one device (fused_media_sync). */
static int sync_one(struct famfs_dev *dev)
{
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

/* @fn on every device of @mask open here; the first error, every device tried. */
static int each_device(uint32_t mask, int (*fn)(struct famfs_dev *))
{
	int rc = 0;

	for (uint32_t i = 0; i < FAMFS_MAX_DAXDEVS; i++) {
		struct famfs_dev *d = (mask >> i) & 1 ? device(i) : NULL;
		int r = d ? fn(d) : 0;

		if (r && !rc)
			rc = r;
	}
	return rc;
}

int fused_media_barrier(uint32_t mask)
{
	return each_device(mask, barrier_one);
}

int fused_media_sync(void)
{
	return each_device(UINT32_MAX, sync_one);
}
