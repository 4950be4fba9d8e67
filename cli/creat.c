// SPDX-License-Identifier: Apache-2.0
/* famfs creat: create a file of a fixed size in a mounted famfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_STRIPE = 256 };

/* Fill with a reproducible pattern (seed): 8-byte words seed*k, for tests and demos. */
static int fill(const char *path, uint64_t size, uint64_t seed)
{
	size_t bufsz = 1 << 20;
	uint64_t *buf = malloc(bufsz);
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || !buf) {
		free(buf);
		return fd < 0 ? -errno : -ENOMEM;
	}
	for (uint64_t off = 0; off < size && !rc; off += bufsz) {
		size_t n = size - off < bufsz ? (size_t)(size - off) : bufsz;

		for (size_t i = 0; i < bufsz / 8; i++)
			buf[i] = seed * (off / 8 + i + 1);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			rc = -errno;
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	free(buf);
	return rc;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	uint64_t size = 0, seed = 0;
	bool have_size = false;
	const char *arg, *stripe = NULL;
	char root[PATH_MAX];
	mode_t mode = 0644;
	int c, rc;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		char *end;

		switch (c) {
		case 's':
			if (famfs_parse_size(arg, &size))
				return cli_usage_error(cmd, "--size %s: not a size", arg);
			have_size = true;
			break;
		case 'm':
			mode = (mode_t)strtoul(arg, &end, 8);
			if (*end || mode > 07777)
				return cli_usage_error(cmd, "--mode %s: not an octal mode", arg);
			break;
		case 'S':
			seed = strtoull(arg, &end, 0);
			if (*end || seed == 0)
				return cli_usage_error(cmd, "--seed %s: a number > 0", arg);
			break;
		case OPT_STRIPE:
			stripe = arg;
			break;
		}
	}
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected one FILE");
	if (!have_size)
		return cli_usage_error(cmd, "--size is required: famfs files have a fixed size");
	const char *path = argv[cli_optind()];

	rc = cli_famfs_root(path, root, sizeof(root));
	if (rc == -ENOTDIR)
		return cli_error(cmd, "%s: %s", path, strerror(ENOTDIR)); /* FILE/x */
	if (rc)
		return cli_error(cmd, "%s: not inside a mounted famfs", path);
	umask(0);
	rc = cli_famfs_create(path, size, mode, stripe);
	if (rc == -ENOSPC)
		return cli_error(cmd, "%s: %s", path, cli_famfs_nospace(root));
	if (rc)
		return cli_error(cmd, "%s: %s", path,
				 rc == -EROFS	 ? "read-only (only the master creates files)"
				 : rc == -EEXIST ? "exists (famfs files are never replaced)"
				 : rc == -EINVAL && stripe
				     ? "bad --stripe (NSTRIPS,CHUNK,NBUCKETS: strips <= 16 and "
				       "<= buckets <= 64, chunk a power-of-two multiple of 2M)"
				     : strerror(-rc));
	if (seed && (rc = fill(path, size, seed)))
		return cli_error(cmd, "%s: writing the fill pattern: %s", path, strerror(-rc));
	return CLI_OK;
}

static const struct cli_opt opts[] = {
    {"size", 's', "SIZE", "the file's size (required; 0 makes an empty file)"},
    {"mode", 'm', "MODE", "permissions, octal (default 0644)"},
    {"seed", 'S', "N", "fill the file with a pattern derived from N (tests)"},
    {"stripe", OPT_STRIPE, "N,CHUNK,B",
     "interleave over N strips of CHUNK-sized chunks in B buckets"},
    {0},
};

const struct cli_cmd cli_cmd_creat = {
    .name = "creat",
    .args = "-s SIZE [-m MODE] [--stripe N,CHUNK,B] FILE",
    .summary = "Create a file of a fixed size in a mounted famfs, ready to be written.",
    .details = "The file gets its space and its log entry in one step, and keeps that size\n"
	       "forever. Its bytes start as whatever the device holds; write them through\n"
	       "the mount (write(2) or mmap). The same can be done with system calls:\n"
	       "open(O_CREAT) then fallocate(fd, 0, 0, SIZE) or ftruncate(fd, SIZE).\n\n"
	       "Exit status: 0 created, 1 failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
