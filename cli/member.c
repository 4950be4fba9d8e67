// SPDX-License-Identifier: Apache-2.0
/* Any device of a file system of several: what a secondary is, and finding its primary. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "devset.h"
#include "image.h"
#include "resolve.h"

const char *cli_secondary_text(const char *path, const struct famfs_superblock *sb)
{
	static __thread char buf[FAMFS_ESC_MAX + 256];
	char fs[UUID_STR_LEN], dev[UUID_STR_LEN], primary[UUID_STR_LEN];

	uuid_unparse(sb->fs_uuid, fs);
	uuid_unparse(sb->device_uuid, dev);
	uuid_unparse(sb->primary_uuid, primary);
	snprintf(buf, sizeof(buf),
		 "%s is a secondary device of famfs file system %s (device %s; its primary is "
		 "device %s)",
		 famfs_esc(path), fs, dev, primary);
	return buf;
}

int cli_find_primary(const struct cli_cmd *cmd, const char *path, const struct famfs_superblock *sb,
		     char *primary, size_t size)
{
	struct famfs_found f;
	int rc = famfs_find_primary(sb, NULL, 0, primary, size, &f);

	if (rc == -ENOENT)
		return cli_error(cmd,
				 "%s; no device of this host carries that primary (an image file "
				 "is found once mkfs, devadd or `famfs daxdev refresh FILE` "
				 "recorded it here)",
				 cli_secondary_text(path, sb));
	if (rc == -ENOTUNIQ)
		return cli_error(cmd, "%s; both %s and %s carry that primary: refused",
				 cli_secondary_text(path, sb), famfs_esc(f.path[0]),
				 famfs_esc(f.path[1]));
	if (rc)
		return cli_error(cmd, "%s; %s carries the primary's uuid but is not a primary",
				 cli_secondary_text(path, sb), famfs_esc(f.path[0]));
	return CLI_OK;
}

int cli_member_image(const struct cli_cmd *cmd, const char *target, unsigned int flags,
		     struct famfs_image **im, char *primary, size_t size)
{
	struct famfs_checker chk = {0};
	struct famfs_superblock sb;
	const char *path = target;
	char why[512];
	long n;
	int rc;

	*im = NULL;
	rc = famfs_image_open(path, flags, im, &chk);
	if (rc == -EXDEV && famfs_fs_probe(target, &sb) == 1) {
		rc = cli_find_primary(cmd, target, &sb, primary, size);
		if (rc)
			return rc;
		path = primary;
		chk.count = 0;
		rc = famfs_image_open(path, flags, im, &chk);
	} else if (!realpath(target, primary)) {
		snprintf(primary, size, "%s", target);
	}
	if (rc == -EPERM)
		return cli_error(cmd,
				 "%s: only the master (the host that made it) may change it; "
				 "this host is not",
				 famfs_esc(path));
	if (rc == -EBUSY)
		return cli_error(cmd,
				 "%s: mounted read-write on this host (its server holds the writer "
				 "lock); unmount it first",
				 famfs_esc(path));
	if (rc == -EMEDIUMTYPE)
		return cli_error(cmd, "%s: no famfs file system", famfs_esc(path));
	if (rc && chk.count) {
		famfs_problem_format(&chk.first, why, sizeof(why));
		return cli_error(cmd, "%s: %s", famfs_esc(path), why);
	}
	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(path),
				 rc == -ENODEV ? "not a regular file, devdax or block device"
					       : strerror(-rc));
	n = famfs_image_catch_up(*im, NULL, NULL);
	if (n < 0 || (*im)->replay.bad_index >= 0) {
		if (n < 0)
			snprintf(why, sizeof(why), "%s", strerror((int)-n));
		else
			famfs_problem_format(&(*im)->replay.bad, why, sizeof(why));
		famfs_image_close(*im);
		*im = NULL;
		return cli_error(cmd, "%s: log replay stops: %s (famfs fsck tells more)",
				 famfs_esc(path), why);
	}
	return CLI_OK;
}
