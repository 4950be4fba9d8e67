// SPDX-License-Identifier: Apache-2.0
/*
 * famfs mkmeta: the existing tools' step that exposes a mount's metadata
 * files. famfs_fused always serves MNT/.meta/.superblock and .meta/.log, so
 * here it only checks that DEVICE is mounted and its meta files are there.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char mnt[PATH_MAX], path[PATH_MAX + 32];
	const char *arg, *dev;
	bool verbose = false;
	struct stat st;
	int c, rc;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1)
		if (c == 'v')
			verbose = true;
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected DEVICE");
	dev = argv[cli_optind()];
	if (stat(dev, &st) < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(dev), strerror(errno));
	rc = cli_famfs_mount_of(dev, mnt, sizeof(mnt));
	if (rc == -ENOENT)
		return cli_error(cmd,
				 "%s is not mounted (famfs mount mounts it with its meta files)",
				 famfs_esc(dev));
	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(dev), strerror(-rc));
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/.meta/%s", mnt, i ? ".log" : ".superblock");
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			return cli_error(cmd, "%s: missing (%s)", famfs_esc(path), strerror(errno));
	}
	if (verbose)
		printf("famfs mkmeta: %s mounted at %s: %s/.meta/.superblock and .log present\n",
		       famfs_esc(dev), famfs_esc(mnt), famfs_esc(mnt));
	return CLI_OK;
}

static const struct cli_opt opts[] = {
    {"verbose", 'v', NULL, "say where the meta files are", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_mkmeta = {
    .name = "mkmeta",
    .args = "DEVICE",
    .summary = "Check that DEVICE's famfs mount exposes its meta files (always true here).",
    .details = "The existing famfs tools need this step after a raw kernel mount. famfs mount\n"
	       "does it all here: the server always serves MNT/.meta/.superblock and\n"
	       "MNT/.meta/.log. mkmeta checks that DEVICE is mounted and the files are there.\n\n"
	       "Exit status: 0 present, 1 DEVICE not mounted or the files missing, 2 usage\n"
	       "error.",
    .opts = opts,
    .run = run,
};
