/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmount's utab (/run/mount/utab): the user-space mount options libmount
 * keeps beside the kernel's mount table. umount(8) runs
 * /sbin/umount.<helper> for a mount whose utab entry says helper=<helper>;
 * famfs_fused records helper=famfs for each mount it makes, so that plain
 * umount(8) runs umount.famfs, which waits for the server to let go of the
 * device (cli/umount.c), whatever the mount's type (without famfs.ko it is
 * FUSE's, for which umount(8) would look for umount.fuse only).
 */
#ifndef FAMFS_UTAB_H
#define FAMFS_UTAB_H

/**
 * famfs_utab_record_helper() - record helper=famfs in libmount's utab for
 * the famfs mounted at @target (type "famfs" or "fuse.famfs", the topmost
 * mount there). @target must be canonical (realpath): it is compared with
 * /proc/self/mountinfo as it stands and never looked up, so that the mount
 * is not touched (a FUSE mount whose server has not answered INIT yet
 * would block the caller). The entry carries the mount's source, @target
 * and root "/", which is how libmount matches it to the mount; libmount
 * drops it when it unmounts the mount. Returns 0 or -errno: -EINVAL no
 * famfs is mounted at @target, -EROFS libmount has no writable utab here
 * (not root), -ENOMEM, -EIO (libmount's own failures).
 */
int famfs_utab_record_helper(const char *target);

/**
 * famfs_utab_forget() - drop libmount's utab entry for @target (canonical,
 * as given to famfs_utab_record_helper()), for a server that unmounted its
 * own mount (a signal): umount(8) drops the entry when it unmounts, but a
 * stale entry would give helper=famfs to the next mount at @target. No
 * entry there is not an error. Returns 0 or -errno: -EROFS libmount has no
 * writable utab here, -ENOMEM, -EIO.
 */
int famfs_utab_forget(const char *target);

#endif
