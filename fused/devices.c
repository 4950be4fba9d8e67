// SPDX-License-Identifier: Apache-2.0
/*
 * The devices of a file system of several devices, as this server serves
 * them (docs/user-guide.md and docs/format.md, "Several devices"):
 *
 *  - which device a new file's space comes from: a plain file starts on
 *    the device with the most free bytes (ties: the lower index) and moves
 *    on to the next in that order when its device is full; a file sized
 *    before it is written, striped or not, is placed by the library's
 *    famfs_devtab_alloc_file() (a strip per device, strips <= devices);
 *  - devices learnt while mounted: the master adds one (devadd through the
 *    user.famfs.devadd xattr of the mount root), a client meets one in the
 *    log as it follows it. The library opens it (famfs_image_devadd(),
 *    famfs_image_attach()); here it is handed to famfs.ko under its index
 *    before any file on it can be looked up;
 *  - a devdax device that kernel-mode famfs is to map is moved to the
 *    famfs_dax driver before the library opens it (as famfs mount does
 *    for the primary), so every device of the mount is mapped by the
 *    kernel;
 *  - user.famfs.devices: each device's index, uuid, size, use and path.
 *
 * Devices are added, never removed, while mounted: an index, once open,
 * stays open for the life of the server (media.c relies on that).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "daxbind.h"
#include "devset.h"
#include "fused.h"

struct famfs_alloc *fused_dev_alloc(uint32_t dev)
{
	return fused.im->ap.devs.dev[dev].alloc;
}

uint32_t fused_devices_order(uint32_t *order)
{
	uint32_t mask = famfs_image_devmask(fused.im), n = 0;
	uint64_t fb[FAMFS_MAX_DAXDEVS];

	for (uint32_t i = 0; i < fused.im->ap.devs.ndevs && i < FAMFS_MAX_DAXDEVS; i++) {
		uint32_t k;

		if (!((mask >> i) & 1))
			continue;
		fb[i] = famfs_alloc_free_bytes(fused_dev_alloc(i));
		/* insertion: most free first; equal ones keep index order */
		for (k = n; k > 0 && fb[order[k - 1]] < fb[i]; k--)
			order[k] = order[k - 1];
		order[k] = i;
		n++;
	}
	return n;
}

int fused_devices_start(uint32_t *dev, uint64_t *off)
{
	uint32_t order[FAMFS_MAX_DAXDEVS];
	uint32_t n = fused_devices_order(order);

	for (uint32_t i = 0; i < n; i++) {
		if (famfs_alloc_start(fused_dev_alloc(order[i]), off) == 0) {
			*dev = order[i];
			return 0;
		}
	}
	return -ENOSPC;
}

int fused_devices_alloc_file(uint64_t size, const struct famfs_stripe *stripe,
			     struct famfs_file_body *f)
{
	return famfs_devtab_alloc_file(&fused.im->ap.devs, famfs_image_devmask(fused.im), size,
				       stripe, f);
}

int fused_devices_check_stripe(const struct famfs_stripe *st)
{
	uint32_t n = (uint32_t)__builtin_popcount(famfs_image_devmask(fused.im));

	return n > 1 && st->nstrips > n ? -EINVAL : 0;
}

/* ---------------------------------------------------- devdax for famfs.ko */

/*
 * Would famfs.ko map this mount's devdax devices? The module and its
 * famfs_dax driver are loaded, the server may accept FUSE_DAX_FMAP, and
 * the primary is not a devdax device left on device_dax (famfs mount
 * --devdax: user-space mode).
 */
static bool want_famfs_dax(void)
{
	const struct famfs_dev *p = fused.im->fs->dev;
	char drv[64];
	struct stat st;

	if (!fused.fmap_allowed || !famfs_daxdev_kernel_mode())
		return false;
	if (p->kind == FAMFS_DEV_DAX && fstat(p->fd, &st) == 0 &&
	    famfs_daxdev_driver(st.st_rdev, drv, sizeof(drv)) == 0 && strcmp(drv, FAMFS_DAX_DRIVER))
		return false;
	return true;
}

/* Before the library opens device @path (famfs_devset.prepare). */
static int prepare_device(const char *path, void *arg)
{
	char drv[64];
	struct stat st;
	pid_t busy = 0;
	double ms = 0;
	int rc;

	(void)arg;
	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    famfs_daxdev_driver(st.st_rdev, drv, sizeof(drv)) || !strcmp(drv, FAMFS_DAX_DRIVER) ||
	    !want_famfs_dax())
		return 0;
	rc = famfs_daxdev_bind(path, FAMFS_DAX_DRIVER, &ms, &busy);
	if (rc)
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: %s: not moved to %s (%s%s): the server moves its files' "
			 "data\n",
			 famfs_esc(path), FAMFS_DAX_DRIVER, strerror(-rc),
			 rc == -EBUSY ? ", another process has it open" : "");
	else
		fuse_log(FUSE_LOG_INFO, "famfs_fused: %s: bound to %s in %.0f ms\n",
			 famfs_esc(path), FAMFS_DAX_DRIVER, ms);
	return 0;
}

void fused_devices_init(void)
{
	fused.im->set->prepare = prepare_device;
}

/* ------------------------------------------------------- devices learnt */

int fused_devices_learned(void)
{
	return fused_register_devices(-1) ? 0 : -EIO;
}

int fused_devices_path(const char *path, char *out)
{
	size_t n = fused.mnt_real ? strlen(fused.mnt_real) : 0;

	if (path[0] != '/')
		return -EINVAL; /* the server's directory is not the caller's */
	if (!realpath(path, out))
		return -errno;
	if (!n || (!strncmp(out, fused.mnt_real, n) && (out[n] == '/' || out[n] == '\0')))
		return -EINVAL;
	return 0;
}

int fused_devices_add(const char *path, unsigned int flags, uint32_t *index)
{
	int rc;

	*index = FAMFS_DEVADD_NONE;
	if (!fused.writable)
		return -EROFS;
	prepare_device(path, NULL);
	rc = famfs_image_devadd(fused.im, path, flags, index);
	if (*index == FAMFS_DEVADD_NONE)
		return rc;
	fuse_log(FUSE_LOG_NOTICE, "famfs_fused: %s added as device %u\n", famfs_esc(path), *index);
	if (fused_devices_learned())
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: device %u: the kernel did not take it: its files fail "
			 "to open with EIO until the next mount\n",
			 *index);
	return rc; /* 0, or the informational flag of the primary failed */
}

size_t fused_devices_text(char *buf, size_t size)
{
	const struct famfs_devtab *t = &fused.im->ap.devs;
	uint32_t mask = famfs_image_devmask(fused.im);
	size_t o = 0;

	for (uint32_t i = 0; i < t->ndevs && i < FAMFS_MAX_DAXDEVS && o < size; i++) {
		const struct famfs_devtab_dev *d = &t->dev[i];
		const struct famfs_dev *dev = famfs_image_dev(fused.im, i);
		char u[UUID_STR_LEN];
		uint64_t cap = d->alloc ? d->alloc->nunits * d->alloc->unit : 0;
		uint64_t used = d->alloc ? famfs_devtab_used_bytes(t, i) : 0;

		uuid_unparse(d->uuid, u);
		o += (size_t)snprintf(buf + o, size - o,
				      "%u %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s %s\n", i, u,
				      cap, used, cap - used,
				      !((mask >> i) & 1)		   ? "missing"
				      : fused_kernel_maps(i)		   ? "kernel"
				      : dev && dev->kind == FAMFS_DEV_DAX  ? "devdax"
				      : dev && dev->kind == FAMFS_DEV_PMEM ? "pmem"
									   : "file",
				      dev ? famfs_esc(dev->path) : "-");
	}
	return o < size ? o : size;
}
