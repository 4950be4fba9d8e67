/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which kernel driver serves a devdax device (/dev/daxX.Y), and moving it
 * between device_dax (raw mmap; famfs in user-space mode) and famfs_dax
 * (kernel-mode famfs: the famfs module maps files straight to the device).
 * Binding goes through the DAX bus's sysfs files, as daxctl does:
 * unbind from the current driver, then new_id (famfs_dax never binds a
 * device by itself) or bind (device_dax). docs/kernel.md, "Binding".
 */
#ifndef FAMFS_DAXBIND_H
#define FAMFS_DAXBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FAMFS_DAX_DRIVER    "famfs_dax"	 /* kmod/dax: fs-dax pages, read()/write() */
#define FAMFS_DEVDAX_DRIVER "device_dax" /* the kernel's: raw mmap */

/**
 * famfs_daxdev_driver() - the driver bound to the dax device @rdev
 * @rdev: st_rdev of /dev/daxX.Y
 * @buf:  out: the driver's name ("device_dax", "famfs_dax", "kmem", ...),
 *        "" if none is bound; NUL-terminated, truncated to @size
 *
 * Reads /sys/dev/char/MAJOR:MINOR (FAMFS_SYSFS overrides /sys, for tests).
 * Returns 0, or -ENODEV if @rdev is not a device on the DAX bus.
 */
int famfs_daxdev_driver(dev_t rdev, char *buf, size_t size);

/**
 * famfs_daxdev_kernel_mode() - can kernel-mode famfs serve a devdax device
 * on this host: the famfs module is loaded (/sys/module/famfs) and the
 * famfs_dax driver is registered (/sys/bus/dax/drivers/famfs_dax).
 */
bool famfs_daxdev_kernel_mode(void);

/**
 * famfs_daxdev_busy() - a process other than this one that has the device
 * @rdev open or mapped (the node @st_dev/@st_ino), from /proc/PID/fd and
 * /proc/PID/maps. Returns its pid, or 0 if none.
 */
pid_t famfs_daxdev_busy(dev_t rdev, dev_t st_dev, ino_t st_ino);

/**
 * famfs_daxdev_bind() - bind the devdax device @path to @driver
 * @path:   /dev/daxX.Y (or a link to it)
 * @driver: FAMFS_DAX_DRIVER or FAMFS_DEVDAX_DRIVER
 * @ms:     out (may be NULL): milliseconds the rebinding took (0 if the
 *          device was already bound to @driver); the kernel initialises the
 *          device's page map when famfs_dax binds it: the cost grows with
 *          the device's size
 * @busy:   out (may be NULL): the pid that made it fail with -EBUSY
 *
 * Leaving famfs_dax also removes the device from famfs_dax's id list.
 * Refuses (-EBUSY) while another process has the device open or mapped:
 * unbinding would cut that process off. Returns 0, -ENODEV (not a dax
 * device), -ENOENT (@driver is not loaded), -EBUSY, -EIO (the driver did
 * not take the device), or -errno of a sysfs write.
 */
int famfs_daxdev_bind(const char *path, const char *driver, double *ms, pid_t *busy);

#endif
