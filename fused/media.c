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
 * This file calls nothing else of the server: data.c (READ/WRITE) and
 * pending.c (a pending file's space) are built on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

	if (sigsetjmp(env, 1)) {
		fault_env = NULL;
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

/* Does this server store through its mapping (devdax; image files with -o dataio=map)? */
static bool store_mapped(const struct famfs_dev *dev)
{
	return fused.im->fs->data && (dev->kind == FAMFS_DEV_DAX || fused.dataio_map);
}

uint8_t *fused_media_map(uint64_t devoff)
{
	return fused.im->fs->data ? fused.im->fs->data + devoff : NULL;
}

int fused_media_store(uint64_t devoff, const void *src, uint64_t len)
{
	struct famfs_dev *dev = fused.im->fs->dev;

	if (store_mapped(dev))
		return guarded(ACC_STORE, fused.im->fs->data + devoff, src, len);
	return famfs_dev_pwrite(dev, src, len, devoff);
}

int fused_media_load(void *dst, uint64_t devoff, uint64_t len)
{
	uint8_t *map = fused.im->fs->data;

	if (map)
		return guarded(ACC_COPY, dst, map + devoff, len);
	return famfs_dev_pread(fused.im->fs->dev, dst, len, devoff);
}

int fused_media_invalidate(uint64_t devoff, uint64_t len)
{
	uint8_t *map = fused.im->fs->data;

	return map ? guarded(ACC_INVALIDATE, map + devoff, NULL, len) : 0;
}

int fused_media_move(uint64_t dst, uint64_t src, uint64_t len)
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

int fused_media_zero(uint64_t devoff, uint64_t len)
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

int fused_media_barrier(void)
{
	struct famfs_dev *dev = fused.im->fs->dev;

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

int fused_media_sync(void)
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
