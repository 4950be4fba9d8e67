// SPDX-License-Identifier: Apache-2.0
/*
 * What famfs_fused does for the famfs kernel module (kmod/, famfs.ko), which
 * sits beside the system's FUSE with a file system type and a channel device
 * of its own (docs/kernel.md):
 *
 *  - mounting: when /dev/famfs exists, open it, mount(2) type "famfs" with
 *    fd=N, and hand libfuse the fd as /dev/fd/N (its convention for an
 *    already-mounted channel). Without the module, libfuse mounts through
 *    /dev/fuse as for any FUSE file system. Automatic, no option.
 *  - devices: famfs.ko never opens a device by path; at INIT the server
 *    registers every device it serves by file descriptor under its index
 *    (FAMFS_DEV_IOC_DAXDEV_REGISTER), and a device added later (devadd, a
 *    client following the log) as soon as it is open. A device the kernel
 *    cannot map is registered as served by the server, which then moves
 *    its files' data.
 *
 * Either way, a mount made here gets helper=famfs in libmount's utab
 * (famfs/utab.h), so plain umount(8) runs umount.famfs, which waits for
 * this server to let go of the device, however the server was started.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "devset.h"
#include "famfs_kabi.h"
#include "fused.h"
#include "utab.h"

/* Our mount options that are kernel mount options too (-o max_read=N ...). */
static void kernel_opts(const char *pass, char *out, size_t size)
{
	char copy[1024], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", pass);
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!strncmp(o, "max_read=", 9) || !strncmp(o, "blksize=", 8))
			snprintf(out + strlen(out), size - strlen(out), ",%s", o);
}

/* Where our utab entry is (canonical), while we have one: see fused_unmount(). */
static char utab_target[PATH_MAX];

/* helper=famfs in libmount's utab for the mount just made at @real (canonical). */
static void record_umount_helper(const char *mnt, const char *real)
{
	int rc = real ? famfs_utab_record_helper(real) : -ENOENT;

	if (!rc)
		snprintf(utab_target, sizeof(utab_target), "%s", real);
	else
		fprintf(stderr,
			"famfs_fused: %s: cannot record the umount helper in libmount's utab (%s): "
			"plain umount may return before the server has let go of the device; "
			"famfs umount waits\n",
			famfs_esc(mnt), strerror(-rc));
}

int fused_mount(struct fuse_session *se, const char *mnt, const char *fsname, bool ro,
		const char *pass)
{
	char data[1536], fdpath[32], realbuf[PATH_MAX];
	/* Resolved now: once mounted, looking it up waits for INIT, which this
	 * thread answers only later. */
	const char *real = realpath(mnt, realbuf);
	int fd = open(FAMFS_CHANNEL_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
			fprintf(stderr, "famfs_fused: %s: %s: using /dev/fuse\n", FAMFS_CHANNEL_DEV,
				strerror(errno));
		fused.famfs_channel = false;
		if (fuse_session_mount(se, mnt))
			return -1;
		record_umount_helper(mnt, real);
		return 0;
	}
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd);
	kernel_opts(pass, data, sizeof(data));
	/* nosuid, nodev: the kernel never honours set-id bits and is nodev
	 * anyway; say so in the mount flags too (they also cover file caps). */
	if (mount(fsname, mnt, FAMFS_FSTYPE, MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0), data)) {
		int err = errno;

		close(fd);
		fprintf(stderr, "famfs_fused: mount -t %s %s %s: %s\n", FAMFS_FSTYPE,
			famfs_esc(fsname), famfs_esc(mnt), strerror(err));
		return -1;
	}
	fused.famfs_channel = true;
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
	if (fuse_session_mount(se, fdpath)) {
		umount2(mnt, MNT_DETACH);
		close(fd);
		return -1;
	}
	fused.mnt = mnt;
	record_umount_helper(mnt, real);
	return 0;
}

void fused_unmount(struct fuse_session *se)
{
	/*
	 * libfuse does not unmount what it did not mount (/dev/fd/N). Like
	 * libfuse on /dev/fuse: only if the connection still stands (POLLERR
	 * means it was unmounted, and the mount point may be another's now).
	 */
	struct pollfd pfd = {.fd = fuse_session_fd(se), .events = 0};
	bool mounted = pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;

	if (fused.famfs_channel && fused.mnt && mounted)
		umount2(fused.mnt, MNT_DETACH);
	fuse_session_unmount(se);
	/*
	 * We unmounted it ourselves (a signal), not umount(8), which drops the
	 * utab entry itself: drop ours, or the next mount there inherits it.
	 */
	if (mounted && utab_target[0])
		famfs_utab_forget(utab_target);
}

/* FAMFS_DEV_IOC_DAXDEV_REGISTER; returns 0 or -errno. */
static int register_dev(int chfd, uint32_t index, int devfd, uint32_t flags)
{
	struct famfs_daxdev_reg reg = {.index = index, .fd = devfd, .flags = flags};

	return ioctl(chfd, FAMFS_DEV_IOC_DAXDEV_REGISTER, &reg) ? -errno : 0;
}

/* Serialises registration: INIT (a handler thread), devadd, a client's catch-up. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

/* Register device @i (open here) on @chfd: by fd, else as served by us. true if either worked. */
static bool register_one(int chfd, uint32_t i)
{
	const struct famfs_dev *dev = famfs_image_dev(fused.im, i);
	int rc = register_dev(chfd, i, dev->fd, 0);

	if (!rc) {
		fused.kernel_mapped |= 1U << i;
		return true;
	}
	if (rc == -EOPNOTSUPP) {
		rc = register_dev(chfd, i, -1, FAMFS_DAXDEV_SERVER_DATA);
		if (!rc) {
			fuse_log(FUSE_LOG_INFO,
				 "famfs_fused: the kernel cannot map %s (device %u): serving its "
				 "data\n",
				 famfs_esc(dev->path), i);
			return true;
		}
	}
	fuse_log(FUSE_LOG_ERR, "famfs_fused: cannot register %s (device %u) with the kernel: %s\n",
		 famfs_esc(dev->path), i, strerror(-rc));
	return false;
}

bool fused_register_devices(int chfd)
{
	uint32_t mask;
	bool ok = true;

	if (!fused.famfs_channel)
		return true; /* GET_DAXDEV names them (other famfs kernels) */
	pthread_mutex_lock(&reg_lock);
	if (chfd >= 0)
		fused.chfd = chfd;
	if (fused.chfd < 0) { /* before INIT: INIT registers them all */
		pthread_mutex_unlock(&reg_lock);
		return true;
	}
	mask = famfs_image_devmask(fused.im) & ~fused.kernel_registered;
	for (uint32_t i = 0; i < FAMFS_MAX_DAXDEVS; i++) {
		if (!((mask >> i) & 1))
			continue;
		if (register_one(fused.chfd, i))
			fused.kernel_registered |= 1U << i;
		else
			ok = false;
	}
	fused.kernel_dax = fused.kernel_mapped == famfs_image_devmask(fused.im);
	pthread_mutex_unlock(&reg_lock);
	return ok;
}

bool fused_kernel_maps(uint32_t dev)
{
	return dev < FAMFS_MAX_DAXDEVS && ((fused.kernel_mapped >> dev) & 1);
}
