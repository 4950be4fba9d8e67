// SPDX-License-Identifier: GPL-2.0
/*
 * famfs_stubs.c - what fs/fuse's control.c would provide. famfs.ko does not
 * build control.c: its "fusectl" file system type belongs to the kernel's
 * FUSE (fs.fuse connections are listed there), and a second one under
 * another name would only be another thing to mount. A famfs connection
 * is aborted by unmounting it or by closing the server's /dev/famfs fd.
 */
#include "fuse_i.h"

int fuse_ctl_add_conn(struct fuse_conn *fc)
{
	return 0;
}

void fuse_ctl_remove_conn(struct fuse_conn *fc)
{
}

int __init fuse_ctl_init(void)
{
	return 0;
}

void __exit fuse_ctl_cleanup(void)
{
}
