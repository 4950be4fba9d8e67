// SPDX-License-Identifier: Apache-2.0
/* famfs devadd: add a device to a file system, mounted (the master's mount) or not. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "devset.h"
#include "image.h"
#include "resolve.h"

enum { OPT_ALLOW_SMALL = 256 };

static const struct cli_opt opts[] = {
    {"force", 'f', NULL, "overwrite a famfs that DEVICE holds", NULL, false},
    {"allow-small", OPT_ALLOW_SMALL, NULL, "accept a device smaller than mkfs's minimum (tests)",
     NULL, false},
    {0},
};

static const char *why(int rc)
{
	switch (rc) {
	case -EEXIST:
		return "it is the primary or already a device of this file system";
	case -ENOTEMPTY:
		return "it holds a famfs file system; use -f to overwrite it";
	case -EMEDIUMTYPE:
		return "image files go only with image files, memory devices with memory devices";
	case -ERANGE:
		return "too small (4 GiB with 2 MiB units, 1 GiB with 4 KiB; --allow-small for "
		       "tests) or larger than 1 PiB";
	case -EBUSY:
		return "in use by famfs on this host (mounted, or being read); unmount it first";
	case -ETXTBSY:
		return "in use by another file system or driver on this host (mounted, or held by "
		       "device-mapper, md or swap)";
	case -ENOTBLK:
		return "a block device without DAX: famfs keeps files in memory it maps";
	case -EOVERFLOW:
		return "the file system has 32 devices already";
	case -ENOSPC:
		return "the log is full";
	case -ENODEV:
		return "not a regular file, devdax or block device";
	default:
		return strerror(-rc);
	}
}

/*
 * devadd on the master's mount at @root: its server adds the device
 * (user.famfs.devadd), so that new files can land on it at once.
 */
static int mounted(const struct cli_cmd *cmd, const char *root, const char *path,
		   unsigned int flags)
{
	char abs[PATH_MAX], value[PATH_MAX + 16], role[16], list[8192];
	const char *last;
	ssize_t n;

	if (!realpath(path, abs))
		return cli_error(cmd, "%s: not added: %s", famfs_esc(path), strerror(errno));
	if (cli_famfs_root(abs, value, sizeof(value)) == 0)
		return cli_error(cmd, "%s: not added: a file in a famfs is no device",
				 famfs_esc(path));
	if (cli_famfs_xattr(root, "user.famfs.role", role, sizeof(role)) < 0 ||
	    strcmp(role, "master"))
		return cli_error(cmd,
				 "%s: a client's mount (read-only): only the master adds devices",
				 famfs_esc(root));
	snprintf(value, sizeof(value), "%u %s", flags, abs);
	if (setxattr(root, "user.famfs.devadd", value, strlen(value), 0) < 0) {
		int err = errno;

		return cli_error(cmd, "%s: not added: %s", famfs_esc(path),
				 err == ENOTSUP ? "this server cannot add devices while mounted"
						: why(-err));
	}
	n = cli_famfs_xattr(root, "user.famfs.devices", list, sizeof(list));
	while (n > 0 && list[n - 1] == '\n')
		list[--n] = '\0';
	last = n > 0 ? strrchr(list, '\n') : NULL;
	last = last ? last + 1 : list;
	printf("famfs devadd: %s is device %s of %s (mounted): new files may go on it now\n",
	       famfs_esc(path), n > 0 ? strtok(strdupa(last), " ") : "?", famfs_esc(root));
	return CLI_OK;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	unsigned int flags = 0;
	struct famfs_image *im = NULL;
	const char *arg, *target, *path;
	char primary[PATH_MAX], root[PATH_MAX], b1[32], ustr[UUID_STR_LEN];
	uint32_t index;
	int c, rc;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (c == 'f')
			flags |= FAMFS_DEVADD_FORCE;
		else if (c == OPT_ALLOW_SMALL)
			flags |= FAMFS_DEVADD_SMALL;
	}
	if (argc - cli_optind() != 2)
		return cli_usage_error(cmd, "expected TARGET and DEVICE");
	target = argv[cli_optind()];
	path = argv[cli_optind() + 1];
	if (cli_famfs_root(target, root, sizeof(root)) == 0)
		return mounted(cmd, root, path, flags);
	rc = cli_member_image(cmd, target, FAMFS_FS_WRITE | FAMFS_FS_NOWAIT | FAMFS_FS_NODATA, &im,
			      primary, sizeof(primary));
	if (rc)
		return rc;
	rc = famfs_image_devadd(im, path, flags, &index);
	if (index == FAMFS_DEVADD_NONE) {
		famfs_image_close(im);
		return cli_error(cmd, "%s: not added: %s", famfs_esc(path), why(rc));
	}
	uuid_unparse(im->ap.devs.dev[index].uuid, ustr);
	printf("famfs devadd: %s is device %u of %s: %s, uuid %s\n", famfs_esc(path), index,
	       famfs_esc(primary), cli_fmt_size(im->ap.devs.dev[index].size, b1, sizeof(b1)), ustr);
	famfs_image_close(im);
	if (rc) /* added (the log names it); only the primary's informational flag failed */
		return cli_error(cmd,
				 "%s: added, but flagging the superblock of %s as a primary of "
				 "several devices failed: %s (the flag is informational: the log "
				 "lists the devices, and the file system is consistent)",
				 famfs_esc(path), famfs_esc(primary), strerror(-rc));
	return CLI_OK;
}

const struct cli_cmd cli_cmd_devadd = {
    .name = "devadd",
    .args = "[-f] [--allow-small] TARGET DEVICE",
    .summary = "Add a device to a famfs file system, mounted or not.",
    .details = "TARGET is the file system: the master's mount point, or (not mounted) its\n"
	       "primary device or image, or any device of it (its primary is then found on\n"
	       "this host). DEVICE becomes its next device: it gets a secondary superblock,\n"
	       "then the log an ADD_DAXDEV entry naming it by uuid. Only the master adds\n"
	       "devices. Through the mount, its server adds it and new files may go on it\n"
	       "at once; clients that follow the log find it on their own host by its uuid\n"
	       "(famfs daxdev) with no remount. Given a device while a server of this host\n"
	       "has the file system mounted read-write, it refuses: give the mount point.\n"
	       "DEVICE must be of the primary's kind\n"
	       "(image files with image files; devdax and pmem mix), at least mkfs's minimum\n"
	       "size, and not in use; one that holds a famfs is refused unless -f (a device\n"
	       "an interrupted devadd of this file system left behind is reused without\n"
	       "-f). This host's device cache learns both devices (famfs daxdev).\n\n"
	       "Exit status: 0 added, 1 refused or failed (also when DEVICE was added but\n"
	       "the primary's superblock could not be flagged afterwards: it says so), 2\n"
	       "usage error.",
    .opts = opts,
    .run = run,
};
