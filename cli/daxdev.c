// SPDX-License-Identifier: Apache-2.0
/* famfs daxdev list|resolve|refresh: which local device carries which famfs device uuid. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "devset.h"
#include "image.h"
#include "resolve.h"

static const struct cli_opt opts[] = {
    {0},
};

static void list_row(const struct famfs_cache_row *r, void *arg)
{
	char fs[UUID_STR_LEN], dev[UUID_STR_LEN], b[32];

	(void)arg;
	uuid_unparse(r->fs_uuid, fs);
	uuid_unparse(r->dev_uuid, dev);
	printf("  %-9s %s %s %10s %s\n", r->secondary ? "secondary" : "primary", famfs_esc(fs),
	       famfs_esc(dev), cli_fmt_size(r->size, b, sizeof(b)), famfs_esc(r->path));
}

static int list(const struct cli_cmd *cmd)
{
	int n;

	printf("famfs daxdev: %s\n  %-9s %-36s %-36s %10s %s\n",
	       famfs_esc(famfs_device_cache_path()), "role", "file system", "device", "size",
	       "path");
	n = famfs_cache_list(list_row, NULL);
	if (n < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(famfs_device_cache_path()), strerror(-n));
	printf("famfs daxdev: %d device%s known on this host\n", n, n == 1 ? "" : "s");
	return CLI_OK;
}

static void found(const struct famfs_member *m, void *arg)
{
	char fs[UUID_STR_LEN], dev[UUID_STR_LEN], b[32];

	(void)arg;
	uuid_unparse(m->fs_uuid, fs);
	uuid_unparse(m->dev_uuid, dev);
	printf("  %-9s %s %s %10s %s\n", m->secondary ? "secondary" : "primary", famfs_esc(fs),
	       famfs_esc(dev), cli_fmt_size(m->size, b, sizeof(b)), famfs_esc(m->path));
}

static int refresh(const struct cli_cmd *cmd, char **files, int n)
{
	int rc;

	printf("famfs daxdev: scanning /dev/dax*, /dev/pmem*, the cached image files%s\n",
	       n ? " and the files given" : "");
	rc = famfs_refresh((const char *const *)files, (uint32_t)n, found, NULL);
	if (rc < 0)
		return cli_error(cmd, "%s: cannot write the cache: %s",
				 famfs_esc(famfs_device_cache_path()), strerror(-rc));
	printf("famfs daxdev: %d famfs device%s found; %s rewritten\n", rc, rc == 1 ? "" : "s",
	       famfs_esc(famfs_device_cache_path()));
	return CLI_OK;
}

/* resolve FS_UUID DEVICE_UUID: the path, alone on stdout. */
static int resolve_uuid(const struct cli_cmd *cmd, const char *fs, const char *dev)
{
	uint8_t f[16], d[16];
	struct famfs_found out;
	int rc;

	if (uuid_parse(fs, f) || uuid_parse(dev, d))
		return cli_usage_error(cmd, "resolve: %s %s: expected two uuids", famfs_esc(fs),
				       famfs_esc(dev));
	rc = famfs_resolve(f, d, NULL, 0, &out);
	if (rc == -ENOTUNIQ)
		return cli_error(cmd, "device %s of file system %s: both %s and %s carry it",
				 famfs_esc(dev), famfs_esc(fs), famfs_esc(out.path[0]),
				 famfs_esc(out.path[1]));
	if (rc)
		return cli_error(cmd,
				 "device %s of file system %s: no device of this host carries it",
				 famfs_esc(dev), famfs_esc(fs));
	printf("%s\n", famfs_esc(out.path[0]));
	return CLI_OK;
}

/* resolve DEVICE|MOUNTPOINT: every device of that file system, found and checked here. */
static int resolve_fs(const struct cli_cmd *cmd, const char *target)
{
	struct famfs_checker chk = {0};
	struct famfs_image *im;
	const struct famfs_devtab *t;
	char primary[PATH_MAX], root[PATH_MAX], devpath[PATH_MAX], u[UUID_STR_LEN], b[32];
	int rc, bad = 0;

	if (cli_famfs_root(target, root, sizeof(root)) == 0) {
		if (cli_famfs_device(root, devpath, sizeof(devpath)))
			return cli_error(cmd, "%s: cannot tell the device of this mount",
					 famfs_esc(root));
		target = devpath;
	}
	rc = cli_member_image(cmd, target, FAMFS_FS_NODATA, &im, primary, sizeof(primary));
	if (rc)
		return rc;
	t = &im->ap.devs;
	uuid_unparse(im->fs->sb->fs_uuid, u);
	printf("famfs daxdev: file system %s: %u device%s\n", u, t->ndevs,
	       t->ndevs == 1 ? "" : "s");
	for (uint32_t i = 0; i < t->ndevs; i++) {
		struct famfs_devcheck dc;
		char line[512];

		uuid_unparse(t->dev[i].uuid, u);
		cli_fmt_size(t->dev[i].size, b, sizeof(b));
		if (i == 0) {
			printf("  %2u %s %10s %s (primary)\n", i, u, b, famfs_esc(primary));
			continue;
		}
		chk.count = 0;
		if (famfs_device_check(im->fs->sb->fs_uuid, im->fs->sb->device_uuid, i,
				       t->dev[i].uuid, t->dev[i].size, t->dev[i].log_index, NULL, 0,
				       &dc, &chk) == 0) {
			printf("  %2u %s %10s %s\n", i, u, b, famfs_esc(dc.path));
			continue;
		}
		famfs_problem_format(&chk.first, line, sizeof(line));
		printf("  %2u %s %10s -- %s\n", i, u, b, line);
		bad++;
	}
	famfs_image_close(im);
	if (bad)
		return cli_error(cmd, "%d device%s not found or not as the log says", bad,
				 bad == 1 ? "" : "s");
	return CLI_OK;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *arg, *action;
	int n;

	while (cli_getopt(cmd, argc, argv, &arg) != -1)
		;
	n = argc - cli_optind();
	if (n < 1)
		return cli_usage_error(cmd, "expected list, resolve or refresh");
	action = argv[cli_optind()];
	argv += cli_optind() + 1;
	n--;
	if (!strcmp(action, "list")) {
		if (n)
			return cli_usage_error(cmd, "list takes no arguments");
		return list(cmd);
	}
	if (!strcmp(action, "refresh"))
		return refresh(cmd, argv, n);
	if (!strcmp(action, "resolve")) {
		if (n == 1)
			return resolve_fs(cmd, argv[0]);
		if (n == 2)
			return resolve_uuid(cmd, argv[0], argv[1]);
		return cli_usage_error(cmd,
				       "resolve DEVICE|MOUNTPOINT, or resolve FS_UUID DEV_UUID");
	}
	return cli_usage_error(cmd, "%s: expected list, resolve or refresh", famfs_esc(action));
}

const struct cli_cmd cli_cmd_daxdev = {
    .name = "daxdev",
    .args = "list | resolve DEVICE|MOUNTPOINT | resolve FS_UUID DEV_UUID | refresh [FILE...]",
    .summary = "Show which local devices carry the devices of famfs file systems.",
    .details = "famfs names a device by its uuid, never by a path: the same memory may be\n"
	       "/dev/dax0.0 on one host and /dev/dax1.0 on another. Each host finds its own\n"
	       "by reading superblocks: of /dev/dax* and /dev/pmem* devices that no famfs\n"
	       "mount of this host holds, and of the image files it knows; it keeps the\n"
	       "answers in a host-local cache (/var/lib/famfs/devices, or the file\n"
	       "$FAMFS_DEVICE_CACHE names), and reads a cached device's superblock again\n"
	       "before trusting it. Two devices with one uuid are refused.\n\n"
	       "  list                       the cache as it is (nothing is read)\n"
	       "  resolve DEVICE|MOUNTPOINT  every device of that file system (DEVICE: any of\n"
	       "                             its devices), found and checked on this host\n"
	       "  resolve FS_UUID DEV_UUID   the local path of one device\n"
	       "  refresh [FILE...]          scan again (and learn the image FILEs), rewrite\n"
	       "                             the cache\n\n"
	       "mkfs and devadd record the devices they write. Exit status: 0 success, 1 a\n"
	       "device not found, carried twice or not as the log says, 2 usage error.",
    .opts = opts,
    .run = run,
};
