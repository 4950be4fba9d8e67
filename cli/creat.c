// SPDX-License-Identifier: Apache-2.0
/*
 * famfs creat: create files of a fixed size in a mounted famfs, optionally
 * filled with a seeded test pattern (famfs verify checks it).
 *
 * One file: creat -s SIZE [-r] [-S SEED] FILE. Several, in parallel:
 * creat -M FILE,SIZE[,SEED] -M ... [-t THREADS]. A FILE that exists already
 * is fine when its size is the one asked for (or none is given): it is then
 * only refilled, when a seed or -r says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_STRIPE = 256 };

#define FILL_BUF (1 << 20)
#define KEEP_ID	 ((unsigned int)-1)

struct spec {
	char *path;
	uint64_t size; /* 0 with !have_size: the existing file's size */
	bool have_size;
	uint64_t seed; /* 0: no fill */
	int rc;	       /* CLI_OK or CLI_FAIL, set by the worker */
};

struct creat {
	const struct cli_cmd *cmd;
	struct spec *specs;
	size_t nspecs;
	mode_t mode;
	unsigned int uid, gid;
	const char *stripe;
	bool verbose;
};

/* Write the pattern of @seed over the whole of @fd's @size bytes. */
static int fill(int fd, uint64_t size, uint64_t seed)
{
	char *buf = malloc(FILL_BUF);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < size && !rc; off += FILL_BUF) {
		size_t n = size - off < FILL_BUF ? (size_t)(size - off) : FILL_BUF;

		cli_pattern_fill(buf, off, n, seed);
		for (size_t done = 0; done < n;) {
			ssize_t w = pwrite(fd, buf + done, n - done, (off_t)(off + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				break;
			}
			done += (size_t)w;
		}
	}
	free(buf);
	return rc;
}

static const char *why(int rc, const char *stripe)
{
	return rc == -EROFS ? "read-only (only the master creates files)"
	       : rc == -EINVAL && stripe
		   ? "bad stripe (NSTRIPS,CHUNK,NBUCKETS: strips <= 16 and <= buckets <= 64, "
		     "chunk a power-of-two multiple of 2M)"
		   : strerror(-rc);
}

static int create_one(struct creat *c, struct spec *s)
{
	const struct cli_cmd *cmd = c->cmd;
	char root[PATH_MAX], b1[32], b2[32];
	struct stat st;
	int fd = -1, rc;

	rc = cli_famfs_root(s->path, root, sizeof(root));
	if (rc == -ENOTDIR)
		return cli_error(cmd, "%s: %s", famfs_esc(s->path), strerror(ENOTDIR)); /* FILE/x */
	if (rc)
		return cli_error(cmd, "%s: not inside a mounted famfs", famfs_esc(s->path));
	if (stat(s->path, &st) == 0) {
		/* The existing tools' meaning: an existing file of the right size is
		 * reused (and refilled if asked), any other size is an error. */
		if (S_ISDIR(st.st_mode))
			return cli_error(cmd, "%s: is a directory", famfs_esc(s->path));
		if (!S_ISREG(st.st_mode))
			return cli_error(cmd, "%s: not a regular file", famfs_esc(s->path));
		if (s->have_size && s->size && (uint64_t)st.st_size != s->size)
			return cli_error(cmd,
					 "%s: exists with another size (%s, not %s): famfs files "
					 "never change size",
					 famfs_esc(s->path),
					 cli_fmt_size((uint64_t)st.st_size, b1, sizeof(b1)),
					 cli_fmt_size(s->size, b2, sizeof(b2)));
		if ((c->mode != (mode_t)-1 && (st.st_mode & 07777) != c->mode) ||
		    (c->uid != KEEP_ID && st.st_uid != c->uid) ||
		    (c->gid != KEEP_ID && st.st_gid != c->gid))
			fprintf(stderr,
				"famfs creat: %s: exists; its mode and owner stay as they are "
				"(they are logged once, at creation)\n",
				famfs_esc(s->path));
		s->size = (uint64_t)st.st_size;
		if (!s->seed)
			return CLI_OK;
		if (!s->size)
			return cli_error(cmd, "%s: empty: nothing to fill", famfs_esc(s->path));
		fd = open(s->path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_error(cmd, "%s: %s", famfs_esc(s->path), why(-errno, NULL));
	} else if (errno != ENOENT) {
		return cli_error(cmd, "%s: %s", famfs_esc(s->path), strerror(errno));
	} else {
		if (!s->have_size)
			return cli_error(cmd,
					 "%s: does not exist: give its size (famfs files have "
					 "a fixed size)",
					 famfs_esc(s->path));
		if (s->seed && !s->size)
			return cli_error(cmd, "%s: size 0: nothing to fill", famfs_esc(s->path));
		rc = cli_famfs_create_fd(s->path, s->size, c->mode == (mode_t)-1 ? 0644 : c->mode,
					 c->stripe, &fd);
		if (rc == -ENOSPC)
			return cli_error(cmd, "%s: %s", famfs_esc(s->path),
					 cli_famfs_nospace(root));
		if (rc)
			return cli_error(cmd, "%s: %s", famfs_esc(s->path), why(rc, c->stripe));
		if (c->verbose)
			printf("famfs creat: created %s (%s)\n", famfs_esc(s->path),
			       cli_fmt_size(s->size, b1, sizeof(b1)));
	}
	rc = s->seed ? fill(fd, s->size, s->seed) : 0;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		return cli_error(cmd, "%s: writing the fill pattern: %s", famfs_esc(s->path),
				 strerror(-rc));
	if (s->seed && c->verbose)
		printf("famfs creat: filled %s with the pattern of seed %llu\n", famfs_esc(s->path),
		       (unsigned long long)s->seed);
	return CLI_OK;
}

static void worker(void *arg, size_t i)
{
	struct creat *c = arg;

	/* Each thread has its own filesystem ids: set them in every one. */
	if (cli_become_owner(c->uid, c->gid)) {
		c->specs[i].rc = cli_error(c->cmd, "%s: only root may give files another owner",
					   famfs_esc(c->specs[i].path));
		return;
	}
	c->specs[i].rc = create_one(c, &c->specs[i]);
}

/* -M FILE,SIZE[,SEED] */
static int parse_multi(const struct cli_cmd *cmd, char *arg, struct spec *s)
{
	char *size = strchr(arg, ','), *seed, *end;

	if (!size)
		return cli_usage_error(cmd, "--multi %s: FILE,SIZE[,SEED]", famfs_esc(arg));
	*size++ = '\0';
	seed = strchr(size, ',');
	if (seed) {
		*seed++ = '\0';
		if (strchr(seed, ','))
			return cli_usage_error(
			    cmd, "--multi %s: too many fields (FILE,SIZE[,SEED])", famfs_esc(arg));
		s->seed = strtoull(seed, &end, 0);
		if (*end || !*seed || *seed == '-' || !s->seed)
			return cli_usage_error(cmd, "--multi %s: seed %s: a number > 0",
					       famfs_esc(arg), famfs_esc(seed));
	}
	if (!*arg || famfs_parse_size(size, &s->size))
		return cli_usage_error(cmd, "--multi %s: bad size %s", famfs_esc(arg),
				       famfs_esc(size));
	s->path = arg;
	s->have_size = true; /* 0: keep the existing file's size */
	return 0;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	while (!seed)
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)getpid() * 2654435761u;
	return seed >> 1 ? seed >> 1 : 1;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct creat c = {.cmd = cmd, .mode = (mode_t)-1, .uid = KEEP_ID, .gid = KEEP_ID};
	const char *arg, *nstrips = NULL, *nbuckets = NULL, *chunk = NULL;
	struct spec one = {0};
	bool randomize = false, have_seed = false, bad;
	unsigned int threads = 0;
	char stripe[64];
	int opt, ret = CLI_OK;

	c.specs = calloc((size_t)argc, sizeof(*c.specs));
	if (!c.specs)
		return cli_error(cmd, "out of memory");
	while ((opt = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		char *end;

		switch (opt) {
		case 's':
			if (famfs_parse_size(arg, &one.size))
				return cli_usage_error(cmd, "--size %s: not a size",
						       famfs_esc(arg));
			one.have_size = true;
			break;
		case 'm':
		case 'u':
		case 'g':
			if (cli_owner_opt(cmd, opt, arg, &c.mode, &c.uid, &c.gid))
				return CLI_USAGE;
			break;
		case 'S':
			one.seed = strtoull(arg, &end, 0);
			if (*end || *arg == '-' || one.seed == 0)
				return cli_usage_error(cmd, "--seed %s: a number > 0",
						       famfs_esc(arg));
			have_seed = true;
			break;
		case 'r':
			randomize = true;
			break;
		case 'M':
			if (parse_multi(cmd, (char *)arg, &c.specs[c.nspecs]))
				return CLI_USAGE;
			c.nspecs++;
			break;
		case 't':
			if (cli_threads_opt(cmd, arg, &threads))
				return CLI_USAGE;
			break;
		case 'N':
			nstrips = arg;
			break;
		case 'B':
			nbuckets = arg;
			break;
		case 'C':
			chunk = arg;
			break;
		case OPT_STRIPE:
			snprintf(stripe, sizeof(stripe), "%s", arg);
			c.stripe = stripe;
			break;
		case 'v':
			c.verbose = true;
			break;
		}
	}
	if (nstrips || nbuckets || chunk) {
		if (c.stripe)
			return cli_usage_error(cmd, "give --stripe or -N/-B/-C, not both");
		c.stripe =
		    cli_stripe_opts(cmd, nstrips, nbuckets, chunk, stripe, sizeof(stripe), &bad);
		if (bad)
			return CLI_USAGE;
	}
	if (c.nspecs) {
		if (argc > cli_optind())
			return cli_usage_error(cmd, "give FILE or --multi, not both");
		if (one.have_size || have_seed || randomize)
			return cli_usage_error(
			    cmd,
			    "--multi takes each file's size and seed: no -s, -S or -r with it");
	} else {
		if (argc - cli_optind() != 1)
			return cli_usage_error(cmd,
					       "expected one FILE (or --multi FILE,SIZE[,SEED])");
		if (threads > 1)
			return cli_usage_error(cmd, "--threads goes with --multi");
		/* Ours: -S alone fills. The existing tools': -r fills, with -S's
		 * seed or, without one, a random one (printed). */
		if (randomize && !have_seed) {
			one.seed = random_seed();
			printf("famfs creat: %s: seed %llu\n", famfs_esc(argv[cli_optind()]),
			       (unsigned long long)one.seed);
		}
		if ((randomize || have_seed) && one.have_size && one.size == 0)
			return cli_usage_error(cmd, "a fill pattern needs a size > 0");
		one.path = argv[cli_optind()];
		c.specs[c.nspecs++] = one;
	}
	if (!threads) /* default: one per file, up to the CPUs */
		threads = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	umask(0);
	cli_parallel(c.nspecs, threads, worker, &c);
	for (size_t i = 0; i < c.nspecs; i++)
		if (c.specs[i].rc)
			ret = CLI_FAIL;
	free(c.specs);
	return ret;
}

static const struct cli_opt opts[] = {
    {"size", 's', "SIZE", "the file's size (0 makes an empty file; not needed if it exists)", NULL,
     false},
    {"mode", 'm', "MODE", "permissions, octal (default 0644)", NULL, false},
    {"uid", 'u', "UID", "owner (default: the caller)", NULL, false},
    {"gid", 'g', "GID", "group (default: the caller's)", NULL, false},
    {"seed", 'S', "SEED", "fill the file with the test pattern of SEED (famfs verify checks it)",
     NULL, false},
    {"randomize", 'r', NULL, "fill with a test pattern: SEED's, or a random seed (printed)", NULL,
     false},
    {"multi", 'M', "FILE,SIZE[,SEED]", "create (and fill) this file too; repeat for more", NULL,
     false},
    {"threads", 't', "N", "with --multi: N files at a time (default: one per CPU)", NULL, false},
    {"threadct", 't', "N", NULL, NULL, true},
    {"nstrips", 'N', "N", "stripe over N strips (with -B)", NULL, false},
    {"nbuckets", 'B', "N", "... chosen among N equal parts of the device (N <= 64)", NULL, false},
    {"chunk", 'C', "SIZE", "... of SIZE-byte chunks (default 2M)", NULL, false},
    {"stripe", OPT_STRIPE, "N,CHUNK,B", "the same as -N N -C CHUNK -B B", NULL, false},
    {"verbose", 'v', NULL, "say what was created and filled", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_creat = {
    .name = "creat",
    .args = "-s SIZE [-S SEED|-r] [-m MODE] [-u UID] [-g GID] [-N N -B B [-C CHUNK]] FILE\n"
	    "   or: famfs creat -M FILE,SIZE[,SEED] [-M ...] [-t THREADS] [-m -u -g -N -B -C]",
    .summary = "Create files of a fixed size in a mounted famfs, ready to be written.",
    .details = "A file gets its space and its log entry in one step, and keeps that size\n"
	       "forever; its mode and owner are logged with it. Its bytes start as whatever\n"
	       "the device holds: write them through the mount (write(2) or mmap), or give\n"
	       "a seed to fill it with a test pattern. The same can be done with system\n"
	       "calls: open(O_CREAT) then fallocate(fd, 0, 0, SIZE) or ftruncate(fd, SIZE).\n"
	       "An existing FILE is accepted if its size is SIZE (or SIZE is not given, or\n"
	       "0 with --multi): it is then only refilled, if a seed says so.\n\n"
	       "Exit status: 0 all created, 1 any failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
