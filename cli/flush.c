// SPDX-License-Identifier: Apache-2.0
/*
 * famfs flush: write back and drop this CPU's cached copies of files' bytes,
 * for memory shared by hosts whose caches are not coherent with each other
 * (docs/format.md, "Shared-memory coherence").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "flush.h"

static int flush_one(const struct cli_cmd *cmd, const char *path, int verbose)
{
	char root[PATH_MAX], b1[32];
	struct stat st;
	void *map;
	int fd;

	if (cli_famfs_root(path, root, sizeof(root)))
		return cli_error(cmd, "%s: not a file in a mounted famfs", famfs_esc(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cli_error(cmd, "%s: not a regular file", famfs_esc(path));
	}
	if (st.st_size > 0) {
		/* Through a mapping of the file: on a famfs kernel that is the
		 * device memory itself. */
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			int err = errno;

			close(fd);
			return cli_error(cmd, "%s: mmap: %s", famfs_esc(path), strerror(err));
		}
		famfs_cache_invalidate(map, (size_t)st.st_size);
		munmap(map, (size_t)st.st_size);
	}
	close(fd);
	if (verbose)
		printf("famfs flush: %s: %s written back and dropped from this CPU's caches\n",
		       famfs_esc(path), cli_fmt_size((uint64_t)st.st_size, b1, sizeof(b1)));
	return CLI_OK;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *arg;
	int c, verbose = 0, ret = CLI_OK;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1)
		if (c == 'v')
			verbose++;
	if (argc == cli_optind())
		return cli_usage_error(cmd, "expected FILE");
	for (int i = cli_optind(); i < argc; i++)
		if (flush_one(cmd, argv[i], verbose))
			ret = CLI_FAIL;
	return ret;
}

static const struct cli_opt opts[] = {
    {"verbose", 'v', NULL, "print each file flushed and its size", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_flush = {
    .name = "flush",
    .args = "[-v] FILE...",
    .summary = "Write back and drop this CPU's cached copies of files' bytes.",
    .details = "For memory shared by hosts whose CPU caches are not coherent with each other:\n"
	       "after flush, what this host wrote is in memory for the others to read, and\n"
	       "its next reads fetch what they wrote (clflushopt, else clflush).\n\n"
	       "Exit status: 0 all flushed, 1 any FILE is not a famfs file or failed, 2 usage\n"
	       "error.",
    .opts = opts,
    .run = run,
};
