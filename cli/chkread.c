// SPDX-License-Identifier: Apache-2.0
/*
 * famfs chkread: read files from end to end; with -s or -l, check that what
 * was read is a valid superblock or log (the mount's .meta files).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "super.h"

static void print_problem(const struct famfs_problem *p, void *arg)
{
	char line[512];

	famfs_problem_format(p, line, sizeof(line));
	fprintf(stderr, "famfs chkread: %s: %s\n", famfs_esc(arg), line);
}

/* The whole of @path into *@buf (*@len bytes). */
static int slurp(const char *path, uint8_t **buf, uint64_t *len)
{
	struct stat st;
	uint64_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (uint64_t)st.st_size) {
		ssize_t n = pread(fd, *buf + off, (size_t)((uint64_t)st.st_size - off), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			close(fd);
			free(*buf);
			return -err;
		}
		off += (uint64_t)n;
	}
	close(fd);
	*len = off;
	return 0;
}

static int check_one(const struct cli_cmd *cmd, const char *path, char what, bool verbose)
{
	struct famfs_checker chk = {.fn = print_problem, .arg = (void *)path};
	uint8_t *buf = NULL, *sbbuf = NULL;
	uint64_t len, sblen;
	char b1[32], sbpath[PATH_MAX];
	int rc = slurp(path, &buf, &len);

	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(path),
				 rc == -EISDIR ? "not a regular file" : strerror(-rc));
	if (what == 's') {
		if (len < sizeof(struct famfs_superblock))
			rc = cli_error(cmd, "%s: %" PRIu64 " bytes: too short for a superblock",
				       famfs_esc(path), len);
		else if (famfs_sb_check((const void *)buf, 0, &chk))
			rc = CLI_FAIL;
	} else if (what == 'l') {
		/* The log header is checked against the superblock next to it. */
		const char *slash = strrchr(path, '/');

		snprintf(sbpath, sizeof(sbpath), "%.*s.superblock",
			 slash ? (int)(slash - path + 1) : 0, path);
		if (len < sizeof(struct famfs_log_header))
			rc = cli_error(cmd, "%s: %" PRIu64 " bytes: too short for a log",
				       famfs_esc(path), len);
		else if (slurp(sbpath, &sbbuf, &sblen) == 0 &&
			 sblen >= sizeof(struct famfs_superblock))
			rc = famfs_log_header_check((const void *)buf, (const void *)sbbuf, &chk)
				 ? CLI_FAIL
				 : CLI_OK;
		else if (((const struct famfs_log_header *)buf)->magic != FAMFS_LOG_MAGIC)
			rc = cli_error(cmd, "%s: no famfs log (header magic)", famfs_esc(path));
	}
	free(buf);
	free(sbbuf);
	if (!rc && verbose)
		printf("famfs chkread: %s: %s read%s\n", famfs_esc(path),
		       cli_fmt_size(len, b1, sizeof(b1)),
		       what == 's'   ? ", a valid superblock"
		       : what == 'l' ? ", a valid log"
				     : "");
	return rc;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *arg;
	bool verbose = false;
	char what = 0;
	int c, ret = CLI_OK;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (c == 's' || c == 'l') {
			if (what && what != c)
				return cli_usage_error(cmd, "-s or -l, not both");
			what = (char)c;
		} else if (c == 'v') {
			verbose = true;
		}
	}
	if (argc == cli_optind())
		return cli_usage_error(cmd, "expected FILE");
	for (int i = cli_optind(); i < argc; i++)
		if (check_one(cmd, argv[i], what, verbose))
			ret = CLI_FAIL;
	return ret;
}

static const struct cli_opt opts[] = {
    {"superblock", 's', NULL, "FILE must also be a valid famfs superblock (MNT/.meta/.superblock)",
     NULL, false},
    {"log", 'l', NULL, "FILE must also be a valid famfs log (MNT/.meta/.log)", NULL, false},
    {"verbose", 'v', NULL, "say what was read", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_chkread = {
    .name = "chkread",
    .args = "[-s|-l] [-v] FILE...",
    .summary = "Read files from end to end; -s/-l: check a superblock or log file too.",
    .details = "Every byte of each FILE is read. With -s, FILE must hold a famfs superblock\n"
	       "that passes fsck's superblock checks; with -l, a log whose header passes\n"
	       "fsck's checks against the .superblock next to it.\n\n"
	       "Exit status: 0 all read (and valid), 1 any failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
