// SPDX-License-Identifier: Apache-2.0
/* famfs mkfs DEV1 DEV2 ...: one file system over several devices, DEV1 the primary. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "devset.h"
#include "fs.h"
#include "identity.h"
#include "resolve.h"
#include "super.h"

/* Is @x (stat of a path) the same device node or image file as the open @b? */
static bool same_node(const struct stat *x, const struct famfs_dev *b)
{
	struct stat y;

	if (fstat(b->fd, &y) < 0)
		return false;
	if (S_ISREG(x->st_mode))
		return S_ISREG(y.st_mode) && x->st_dev == y.st_dev && x->st_ino == y.st_ino;
	return (x->st_mode & S_IFMT) == (y.st_mode & S_IFMT) && x->st_rdev == y.st_rdev;
}

/* Refuse @path if it holds a famfs (without -f); create or resize it with --size. */
static int prepare(const struct cli_cmd *cmd, const struct cli_mkfs_opts *o, const char *path,
		   const uint8_t me[16])
{
	struct famfs_superblock old;
	char ustr[UUID_STR_LEN];
	struct stat st;
	int rc;

	if (stat(path, &st) == 0) {
		if (cli_mkfs_devdax_ok(cmd, path) != CLI_OK)
			return CLI_FAIL;
		rc = famfs_fs_probe(path, &old);
		if (rc < 0)
			return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(-rc));
		if (rc == 1 && !o->force) {
			if (famfs_sb_is_secondary(&old))
				return cli_error(cmd, "%s; use -f to overwrite it",
						 cli_secondary_text(path, &old));
			uuid_unparse(old.system_uuid, ustr);
			if (!famfs_sb_is_master(&old, me))
				return cli_error(cmd,
						 "%s holds a famfs file system whose master is "
						 "another host (%s); use -f to overwrite it",
						 famfs_esc(path), ustr);
			return cli_error(cmd,
					 "%s already holds a famfs file system; use -f to "
					 "overwrite it",
					 famfs_esc(path));
		}
		if (o->size && !S_ISREG(st.st_mode))
			return cli_usage_error(cmd, "--size applies to image files only (%s)",
					       famfs_esc(path));
	} else if (!o->size) {
		return cli_error(cmd, "%s: %s (give --size to create an image file)",
				 famfs_esc(path), strerror(errno));
	}
	if (o->size) {
		rc = famfs_dev_create_file(path, o->size);
		if (rc)
			return cli_error(cmd, "%s: cannot create or resize: %s", famfs_esc(path),
					 strerror(-rc));
	}
	return CLI_OK;
}

/* Open (cli_mkfs_open(): claimed, in use refused) and size-check device @i; CLI_OK or the exit
 * status after the message. */
static int open_one(const struct cli_cmd *cmd, const struct cli_mkfs_opts *o, const char *path,
		    struct famfs_dev **devs, int i)
{
	uint64_t min = o->unit == FAMFS_ALLOC_UNIT ? FAMFS_MIN_DEVSIZE : FAMFS_MIN_DEVSIZE_4K;
	struct stat st;
	char b1[32];

	/* given twice: opening it again would find it in use (by us) */
	for (int k = 0; k < i && stat(path, &st) == 0; k++)
		if (same_node(&st, devs[k]))
			return cli_usage_error(cmd, "%s is given twice (as %s too)",
					       famfs_esc(path), famfs_esc(devs[k]->path));
	if (cli_mkfs_open(cmd, path, &devs[i]) != CLI_OK)
		return CLI_FAIL;
	if (devs[i]->size < min && !o->small)
		return cli_error(cmd, "%s is %s; famfs needs at least %s (--allow-small for tests)",
				 famfs_esc(path), cli_fmt_size(devs[i]->size, b1, sizeof(b1)),
				 o->unit == FAMFS_ALLOC_UNIT ? "4 GiB" : "1 GiB with 4K units");
	if (i && (devs[i]->size < FAMFS_DAXDEV_SIZE_MIN || devs[i]->size > FAMFS_DAXDEV_SIZE_MAX))
		return cli_error(cmd, "%s is %s: a device of several needs 4 MiB to 1 PiB",
				 famfs_esc(path), cli_fmt_size(devs[i]->size, b1, sizeof(b1)));
	for (int k = 0; k < i; k++) {
		if ((devs[i]->kind == FAMFS_DEV_FILE) != (devs[k]->kind == FAMFS_DEV_FILE))
			return cli_usage_error(cmd,
					       "%s is %s, %s is %s: image files go only with "
					       "image files",
					       famfs_esc(path), famfs_dev_kind_name(devs[i]->kind),
					       famfs_esc(devs[k]->path),
					       famfs_dev_kind_name(devs[k]->kind));
	}
	return CLI_OK;
}

int cli_mkfs_devices(const struct cli_cmd *cmd, const struct cli_mkfs_opts *o, char **paths, int n)
{
	struct famfs_dev *devs[FAMFS_MAX_DAXDEVS] = {0};
	uint64_t log_len = o->log_len;
	char b1[32], b2[32], ustr[UUID_STR_LEN];
	uint8_t me[16];
	int rc = CLI_OK;

	if (n > FAMFS_MAX_DAXDEVS)
		return cli_usage_error(cmd, "%d devices: a file system has at most %d", n,
				       FAMFS_MAX_DAXDEVS);
	rc = famfs_identity(me);
	if (rc)
		return cli_error(cmd, "cannot read or create this host's identity %s: %s",
				 famfs_esc(famfs_identity_path()), strerror(-rc));
	for (int i = 0; i < n && rc == CLI_OK; i++)
		rc = prepare(cmd, o, paths[i], me);
	for (int i = 0; i < n && rc == CLI_OK; i++)
		rc = open_one(cmd, o, paths[i], devs, i);
	if (rc != CLI_OK)
		goto out;
	if (!log_len)
		log_len = famfs_default_log_len(devs[0]->size, o->unit);
	if (FAMFS_LOG_OFFSET + log_len + FAMFS_ALLOC_UNIT > devs[0]->size) {
		rc = cli_error(cmd, "%s is %s: no room for a %s log and any data",
			       famfs_esc(paths[0]), cli_fmt_size(devs[0]->size, b1, sizeof(b1)),
			       cli_fmt_size(log_len, b2, sizeof(b2)));
		goto out;
	}
	for (int i = 0; i < n; i++)
		famfs_cache_forget(devs[i]->path); /* what they held is gone */
	rc = famfs_mkfs_devices(devs, (uint32_t)n, log_len, o->unit, me);
	if (rc) {
		rc = cli_error(cmd, "writing the file system failed: %s", strerror(-rc));
		goto out;
	}
	uuid_unparse(me, ustr);
	printf("famfs mkfs: %d devices, log %s (%llu entries), %s allocation units, master %s\n", n,
	       cli_fmt_size(log_len, b2, sizeof(b2)), (unsigned long long)famfs_log_nslots(log_len),
	       o->unit == FAMFS_ALLOC_UNIT ? "2 MiB" : "4 KiB", ustr);
	for (int i = 0; i < n; i++) {
		struct famfs_member m;

		if (famfs_member_read(devs[i]->path, &m) != 1) {
			rc = cli_error(cmd, "%s: its new superblock does not read back",
				       famfs_esc(devs[i]->path));
			goto out;
		}
		uuid_unparse(m.dev_uuid, ustr);
		printf("  device %d: %s (%s): %s, uuid %s%s\n", i, famfs_esc(devs[i]->path),
		       famfs_dev_kind_name(devs[i]->kind),
		       cli_fmt_size(devs[i]->size, b1, sizeof(b1)), ustr,
		       i ? "" : ", primary (superblock and log)");
	}
	if (o->verbose) {
		struct famfs_member m;

		famfs_member_read(devs[0]->path, &m);
		uuid_unparse(m.fs_uuid, ustr);
		printf("  file system uuid %s; secondaries: superblock at 0, data from %#llx\n",
		       ustr, (unsigned long long)FAMFS_SECONDARY_META_END);
	}
	rc = CLI_OK;
out:
	for (int i = 0; i < n && i < FAMFS_MAX_DAXDEVS; i++)
		famfs_dev_close(devs[i]);
	return rc;
}
