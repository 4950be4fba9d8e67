// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <libmount.h>
#include <string.h>

#include "famfs_kabi.h"
#include "utab.h"

int famfs_utab_record_helper(const char *target)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_update *upd = NULL;
	struct libmnt_fs *mounted, *fs = NULL;
	const char *type = NULL, *source = NULL;
	int rc;

	if (!tb)
		return -EIO;
	/* No cache set on the table: the target is compared, never resolved. */
	mounted = mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
	if (mounted) {
		type = mnt_fs_get_fstype(mounted);
		source = mnt_fs_get_source(mounted);
	}
	if (!type || !source || (strcmp(type, FAMFS_FSTYPE) && strcmp(type, "fuse.famfs"))) {
		rc = -EINVAL;
		goto out;
	}
	upd = mnt_new_update();
	fs = mnt_new_fs();
	rc = upd && fs ? 0 : -ENOMEM;
	if (!rc)
		rc = mnt_fs_set_source(fs, source);
	if (!rc)
		rc = mnt_fs_set_target(fs, target);
	if (!rc)
		rc = mnt_fs_set_options(fs, "helper=" FAMFS_FSTYPE);
	if (!rc)
		rc = mnt_update_set_fs(upd, 0, NULL, fs);
	if (rc == 1)
		rc = -EROFS; /* libmount has no writable utab here */
	else if (!rc)
		rc = mnt_update_table(upd, NULL);
out:
	mnt_free_fs(fs);
	mnt_free_update(upd);
	mnt_unref_table(tb);
	return rc > 0 || rc < -4095 ? -EIO : rc;
}

int famfs_utab_forget(const char *target)
{
	struct libmnt_update *upd = mnt_new_update();
	int rc = upd ? mnt_update_set_fs(upd, 0, target, NULL) : -ENOMEM;

	if (rc == 0)
		rc = mnt_update_table(upd, NULL);
	else if (rc == 1)
		rc = 0; /* libmount keeps no utab here: nothing to forget */
	mnt_free_update(upd);
	return rc > 0 || rc < -4095 ? -EIO : rc;
}
