// SPDX-License-Identifier: Apache-2.0
/* Any device of a file system of several: what a secondary is. */
#include <limits.h>
#include <stdio.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "format.h"

const char *cli_secondary_text(const char *path, const struct famfs_superblock *sb)
{
	static __thread char buf[PATH_MAX + 256];
	char fs[UUID_STR_LEN], dev[UUID_STR_LEN], primary[UUID_STR_LEN];

	uuid_unparse(sb->fs_uuid, fs);
	uuid_unparse(sb->device_uuid, dev);
	uuid_unparse(sb->primary_uuid, primary);
	snprintf(buf, sizeof(buf),
		 "%s is a secondary device of famfs file system %s (device %s; its primary is "
		 "device %s)",
		 path, fs, dev, primary);
	return buf;
}
