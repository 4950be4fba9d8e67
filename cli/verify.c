// SPDX-License-Identifier: Apache-2.0
/*
 * famfs verify: check that files hold the test pattern `famfs creat -S SEED`
 * (or -r, or -M FILE,SIZE,SEED) wrote, naming the first byte that differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define VERIFY_BUF (1 << 20)

struct check {
	const char *path;
	uint64_t seed;
	int rc;
};

struct verify {
	const struct cli_cmd *cmd;
	struct check *checks;
	bool quiet, verbose;
};

static int verify_one(const struct verify *v, const char *path, uint64_t seed)
{
	const struct cli_cmd *cmd = v->cmd;
	uint8_t *buf;
	uint64_t off = 0;
	struct stat st;
	int fd, rc = CLI_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cli_error(cmd, "%s: not a regular file", famfs_esc(path));
	}
	buf = malloc(VERIFY_BUF);
	if (!buf) {
		close(fd);
		return cli_error(cmd, "out of memory");
	}
	while (off < (uint64_t)st.st_size) {
		size_t want = (uint64_t)st.st_size - off < VERIFY_BUF ? (size_t)(st.st_size - off)
								      : VERIFY_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		size_t bad;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = cli_error(
			    cmd, "%s: reading at offset %" PRIu64 ": %s", famfs_esc(path), off,
			    n < 0 ? strerror(errno) : "the file is shorter than its size");
			break;
		}
		bad = cli_pattern_check(buf, off, (size_t)n, seed);
		if (bad < (size_t)n) {
			uint8_t want_byte;

			cli_pattern_fill(&want_byte, off + bad, 1, seed);
			if (v->quiet)
				rc = CLI_FAIL;
			else
				rc = cli_error(cmd,
					       "%s: mismatch at offset %" PRIu64 " (0x%" PRIx64
					       "): byte 0x%02x, the pattern of seed %" PRIu64
					       " has 0x%02x",
					       famfs_esc(path), off + bad, off + bad, buf[bad],
					       seed, want_byte);
			break;
		}
		off += (uint64_t)n;
	}
	free(buf);
	close(fd);
	if (!rc && v->verbose)
		printf("famfs verify: %s: %" PRIu64 " bytes match the pattern of seed %" PRIu64
		       "\n",
		       famfs_esc(path), (uint64_t)st.st_size, seed);
	return rc;
}

static void worker(void *arg, size_t i)
{
	struct verify *v = arg;

	v->checks[i].rc = verify_one(v, v->checks[i].path, v->checks[i].seed);
}

static int parse_seed(const char *s, uint64_t *seed)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	*seed = strtoull(s, &end, 0);
	return *end || !*seed ? -EINVAL : 0;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct verify v = {.cmd = cmd};
	const char *arg, *file = NULL;
	uint64_t seed = 0;
	unsigned int threads = 0;
	size_t n = 0;
	int opt, ret = CLI_OK;

	v.checks = calloc((size_t)argc, sizeof(*v.checks));
	if (!v.checks)
		return cli_error(cmd, "out of memory");
	while ((opt = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (opt) {
		case 'S':
			if (parse_seed(arg, &seed))
				return cli_usage_error(cmd, "--seed %s: a number > 0",
						       famfs_esc(arg));
			break;
		case 'f':
			file = arg;
			break;
		case 'm': {
			char *comma = strrchr(arg, ',');

			if (!comma || comma == arg || parse_seed(comma + 1, &v.checks[n].seed) ||
			    memchr(arg, ',', (size_t)(comma - arg)))
				return cli_usage_error(cmd, "--multi %s: FILE,SEED",
						       famfs_esc(arg));
			*comma = '\0';
			v.checks[n++].path = arg;
			break;
		}
		case 't':
			if (cli_threads_opt(cmd, arg, &threads))
				return CLI_USAGE;
			break;
		case 'q':
			v.quiet = true;
			break;
		case 'v':
			v.verbose = true;
			break;
		}
	}
	/* -S SEED -f FILE, or -S SEED FILE..., and/or --multi FILE,SEED... */
	if (file || cli_optind() < argc) {
		if (!seed)
			return cli_usage_error(cmd, "which seed? (-S SEED)");
		if (file) {
			v.checks[n].path = file;
			v.checks[n++].seed = seed;
		}
		for (int i = cli_optind(); i < argc; i++) {
			v.checks[n].path = argv[i];
			v.checks[n++].seed = seed;
		}
	} else if (seed && !n) {
		return cli_usage_error(cmd, "which file? (-f FILE)");
	}
	if (!n)
		return cli_usage_error(cmd, "expected -S SEED -f FILE or --multi FILE,SEED");
	if (!threads)
		threads = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	cli_parallel(n, threads, worker, &v);
	for (size_t i = 0; i < n; i++)
		if (v.checks[i].rc)
			ret = CLI_FAIL;
	free(v.checks);
	return ret;
}

static const struct cli_opt opts[] = {
    {"seed", 'S', "SEED", "the seed the file was filled with (famfs creat -S SEED or -r)", NULL,
     false},
    {"filename", 'f', "FILE", "the file to check (FILE operands work too)", NULL, false},
    {"multi", 'm', "FILE,SEED", "check this file against this seed too; repeat for more", NULL,
     false},
    {"threads", 't', "N", "check N files at a time (default: one per CPU)", NULL, false},
    {"threadct", 't', "N", NULL, NULL, true},
    {"quiet", 'q', NULL, "no message on a mismatch (the exit status says it)", NULL, false},
    {"verbose", 'v', NULL, "say so for each file that matches", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_verify = {
    .name = "verify",
    .args = "-S SEED -f FILE | -S SEED FILE... | -m FILE,SEED [-m ...] [-t N] [-q]",
    .summary = "Check that files hold the test pattern famfs creat wrote with a seed.",
    .details = "The pattern of SEED is a sequence of 64-bit little-endian words, word k being\n"
	       "SEED * (k + 1). The first byte that differs is named (offset, what it holds,\n"
	       "what the pattern has).\n\n"
	       "Exit status: 0 every file matches, 1 any differs or cannot be read, 2 usage\n"
	       "error.",
    .opts = opts,
    .run = run,
};
