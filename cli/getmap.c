// SPDX-License-Identifier: Apache-2.0
/* famfs getmap: print where a file's bytes live on the device. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char root[PATH_MAX], map[65536];
	const char *arg;
	int c, ret = CLI_OK;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1)
		;
	if (argc == cli_optind())
		return cli_usage_error(cmd, "expected FILE");
	for (int i = cli_optind(); i < argc; i++) {
		ssize_t n;

		if (cli_famfs_root(argv[i], root, sizeof(root))) {
			ret =
			    cli_error(cmd, "%s: not a file in a mounted famfs", famfs_esc(argv[i]));
			continue;
		}
		n = cli_famfs_xattr(argv[i], "user.famfs.map", map, sizeof(map));
		if (n < 0) {
			ret = cli_error(cmd, "%s: %s", famfs_esc(argv[i]),
					n == -ENODATA
					    ? "no map (a directory, or a file not sized yet)"
					    : strerror((int)-n));
			continue;
		}
		if (argc - cli_optind() > 1)
			printf("%s:\n", famfs_esc(argv[i]));
		fputs(map, stdout);
	}
	return ret;
}

static const struct cli_opt opts[] = {{0}};

const struct cli_cmd cli_cmd_getmap = {
    .name = "getmap",
    .args = "FILE...",
    .summary = "Print a file's map: its extents (or strips) on the device.",
    .details = "Offsets and lengths are bytes on the device (hex). This is the same map\n"
	       "the server hands the kernel with GET_FMAP.\n\n"
	       "Exit status: 0, 1 if any FILE has no map, 2 usage error.",
    .opts = opts,
    .run = run,
};
