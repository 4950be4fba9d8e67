// SPDX-License-Identifier: Apache-2.0
/*
 * famfs cp: copy files and directory trees into a mounted famfs.
 *
 * Like cp(1): `cp SRC DEST` creates DEST; `cp SRC... DIR` copies into the
 * existing directory DIR; -r copies directories. Each file gets one log
 * entry, with its final size: a large one is sized first, then written; a
 * small one (one allocation unit at most) is written, and famfs_fused logs
 * it at its last close. Modes are kept (or -m).
 * famfs has no symbolic links: cp copies what a link points to, and reports
 * (and skips) links that dangle or loop back into the tree being copied.
 *
 * Two phases: a plan (every directory and file to create, walked and
 * checked first, so nothing a copy creates is copied again), then the work:
 * the directories in order, then the files, on -t THREADS threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define COPY_BUF  (1 << 20)
#define MAX_DEPTH 256
#define KEEP_ID	  ((unsigned int)-1)
/* Files up to this size are written through the descriptor that created
 * them; larger ones are reopened, so that on a famfs kernel the open fetches
 * the file's map and the writes go straight to memory. */
#define REOPEN_MIN (1 << 20)

struct job {
	char *src, *dst;
	uint64_t size;
	mode_t mode;
	bool dir;
	long parent;	     /* index of the directory job it goes into, or -1 */
	size_t rank;	     /* files: how many files of the same directory come before */
	_Atomic bool failed; /* directories: could not be made, skip what is inside */
};

struct cp {
	const struct cli_cmd *cmd;
	bool recursive, compare, progress;
	int verbose;
	mode_t mode; /* -m, or (mode_t)-1: the source's */
	unsigned int uid, gid;
	const char *stripe;
	const char *root; /* famfs mount root */
	/* the plan */
	struct job *jobs;
	size_t njobs, cap;
	uint64_t files, dirs, bytes, units, units_4k; /* space needed in 2 MiB / 4 KiB units */
	struct stat stack[MAX_DEPTH]; /* directories being planned, to catch loops */
	int depth;
	/* the work */
	size_t *order; /* job indexes in the order the threads take them */
	_Atomic uint64_t done_files, done_bytes;
	_Atomic int errors;
	_Atomic bool fatal; /* the file system is full: stop */
	pthread_mutex_t out_lock;
	double start, last_print, delay;
	bool bar_shown;
};

static __thread char *tbuf; /* each thread's copy buffer */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_time(double s, char *buf, size_t size)
{
	unsigned long t = s < 0 ? 0 : s > 359999 ? 359999 : (unsigned long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

/*
 * The progress bar, on a terminal only, once a copy has run for half a
 * second ($FAMFS_CP_PROGRESS_DELAY): files, bytes, rate and the time left. Any thread may call it;
 * one prints at a time, at most four times a second.
 */
static void progress(struct cp *c, bool last)
{
	char b1[32], b2[32], b3[32], eta[48], bar[21];
	uint64_t f = c->done_files, b = c->done_bytes;
	double t = now(), el = t - c->start, frac, rate;
	int w;

	if (!c->progress || (!last && (el < c->delay || t - c->last_print < 0.25)) ||
	    (last && !c->bar_shown))
		return;
	if (pthread_mutex_trylock(&c->out_lock))
		return;
	c->last_print = t;
	c->bar_shown = true;
	/* Done: half by bytes, half by files (small files cost their creation). */
	frac = 0.5 * (c->bytes ? (double)b / (double)c->bytes : 1.0) +
	       0.5 * (c->files ? (double)f / (double)c->files : 1.0);
	w = (int)(frac * 20);
	for (int i = 0; i < 20; i++)
		bar[i] = i < w ? '#' : '.';
	bar[20] = '\0';
	rate = el > 1e-3 ? (double)b / el : 0;
	fmt_time(frac > 1e-3 ? el * (1 - frac) / frac : 0, eta, sizeof(eta));
	fprintf(stderr, "\r[%s] %3.0f%%  %" PRIu64 "/%" PRIu64 " files  %s/%s  %s/s  %s %s \033[K",
		bar, 100 * frac, f, c->files, cli_fmt_size(b, b1, sizeof(b1)),
		cli_fmt_size(c->bytes, b2, sizeof(b2)),
		cli_fmt_size((uint64_t)rate, b3, sizeof(b3)), last ? "in" : "ETA",
		last ? (fmt_time(el, eta, sizeof(eta)), eta) : eta);
	if (last)
		fputc('\n', stderr);
	pthread_mutex_unlock(&c->out_lock);
}

static int report(struct cp *c, const char *path, int err, const char *what)
{
	pthread_mutex_lock(&c->out_lock);
	if (c->bar_shown)
		fputs("\r\033[K", stderr);
	if (err == ENOSPC) {
		if (!c->fatal)
			cli_error(c->cmd, "%s: %s", famfs_esc(path), cli_famfs_nospace(c->root));
		c->fatal = true;
	} else {
		cli_error(c->cmd, "%s: %s", famfs_esc(path), what ? what : strerror(err));
	}
	pthread_mutex_unlock(&c->out_lock);
	c->errors++;
	return -err;
}

static bool on_stack(const struct cp *c, const struct stat *st)
{
	for (int i = 0; i < c->depth; i++)
		if (c->stack[i].st_dev == st->st_dev && c->stack[i].st_ino == st->st_ino)
			return true;
	return false;
}

static int add_job(struct cp *c, const char *src, const char *dst, const struct stat *st,
		   long parent)
{
	struct job *j;

	if (c->njobs == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 1024;
		struct job *n = realloc(c->jobs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->jobs = n;
		c->cap = cap;
	}
	j = &c->jobs[c->njobs];
	*j = (struct job){.src = strdup(src), .dst = strdup(dst), .parent = parent};
	if (!j->src || !j->dst) {
		free(j->src);
		free(j->dst);
		return -ENOMEM;
	}
	j->dir = S_ISDIR(st->st_mode);
	j->size = j->dir ? 0 : (uint64_t)st->st_size;
	j->mode = st->st_mode & 07777;
	c->njobs++;
	return 0;
}

/* Phase 1: what will be created, following links as cp(1) -L does. */
static int plan(struct cp *c, const char *src, const char *dst, long parent)
{
	struct stat st;
	struct dirent *de;
	char s[PATH_MAX], d[PATH_MAX];
	long me;
	DIR *dir;
	int rc;

	if (stat(src, &st) < 0)
		return report(
		    c, src, errno,
		    errno == ENOENT ? "no such file (or a dangling symbolic link): skipped" : NULL);
	if (S_ISREG(st.st_mode)) {
		c->files++;
		c->bytes += (uint64_t)st.st_size;
		c->units += st.st_size ? ((uint64_t)st.st_size + (2 << 20) - 1) / (2 << 20) : 1;
		c->units_4k += st.st_size ? ((uint64_t)st.st_size + 4095) / 4096 : 1;
		return add_job(c, src, dst, &st, parent) ? report(c, src, ENOMEM, NULL) : 0;
	}
	if (!S_ISDIR(st.st_mode))
		return report(c, src, EPERM,
			      "not a regular file or directory (famfs holds only those): skipped");
	if (!c->recursive)
		return report(c, src, EISDIR, "is a directory (use -r)");
	if (on_stack(c, &st))
		return report(c, src, ELOOP, "a symbolic link loops back into the copy: skipped");
	if (c->depth == MAX_DEPTH)
		return report(c, src, ELOOP, "directories nested too deep");
	dir = opendir(src);
	if (!dir)
		return report(c, src, errno, NULL);
	if (add_job(c, src, dst, &st, parent)) {
		closedir(dir);
		return report(c, src, ENOMEM, NULL);
	}
	c->dirs++;
	me = (long)c->njobs - 1;
	c->stack[c->depth++] = st;
	rc = 0;
	while ((de = readdir(dir)) && rc != -ENOMEM) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >= sizeof(s) ||
		    (size_t)snprintf(d, sizeof(d), "%s/%s", dst, de->d_name) >= sizeof(d)) {
			report(c, s, ENAMETOOLONG, NULL);
			continue;
		}
		rc = plan(c, s, d, me);
	}
	c->depth--;
	closedir(dir);
	return rc == -ENOMEM ? rc : 0;
}

static bool parent_failed(struct cp *c, const struct job *j)
{
	return j->parent >= 0 && c->jobs[j->parent].failed;
}

static void make_dir(struct cp *c, struct job *j)
{
	struct stat st;

	if (parent_failed(c, j)) {
		j->failed = true;
		c->errors++;
		return;
	}
	if (c->compare) {
		if (stat(j->dst, &st) < 0 || !S_ISDIR(st.st_mode)) {
			report(c, j->dst, ENOTDIR, "not a directory in the copy");
			j->failed = true;
		}
		return;
	}
	if (mkdir(j->dst, j->mode) < 0 &&
	    !(errno == EEXIST && stat(j->dst, &st) == 0 && S_ISDIR(st.st_mode))) {
		report(c, j->dst, errno,
		       errno == EEXIST	? "exists and is not a directory"
		       : errno == EROFS ? "read-only (only the master creates directories)"
					: NULL);
		j->failed = true;
		return;
	}
	if (c->verbose)
		printf("'%s' -> '%s'\n", famfs_esc(j->src), famfs_esc(j->dst));
}

/* Copy @in to @out (from offset 0), or with -c compare them. */
static int transfer(struct cp *c, struct job *j, int in, int out)
{
	char *cmp = c->compare ? tbuf + COPY_BUF / 2 : NULL;
	size_t chunk = c->compare ? COPY_BUF / 2 : COPY_BUF;
	uint64_t off = 0;

	while (off < j->size && !c->fatal) {
		size_t want = j->size - off < chunk ? (size_t)(j->size - off) : chunk;
		ssize_t n = pread(in, tbuf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return report(c, j->src, errno, NULL);
		if (n == 0)
			return report(c, j->src, EIO, "file shrank while being copied");
		for (ssize_t w = 0; w < n;) {
			ssize_t k = cmp ? pread(out, cmp + w, (size_t)(n - w), (off_t)off + w)
					: pwrite(out, tbuf + w, (size_t)(n - w), (off_t)off + w);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return report(c, j->dst, k < 0 ? errno : EIO, NULL);
			w += k;
		}
		if (cmp && memcmp(tbuf, cmp, (size_t)n)) {
			char what[96];
			ssize_t i = 0;

			while (tbuf[i] == cmp[i])
				i++;
			snprintf(what, sizeof(what), "differs from the source at offset %" PRIu64,
				 off + (uint64_t)i);
			return report(c, j->dst, EIO, what);
		}
		off += (uint64_t)n;
		c->done_bytes += (uint64_t)n;
		progress(c, false);
	}
	return 0;
}

static void copy_file(struct cp *c, struct job *j)
{
	mode_t mode = c->mode == (mode_t)-1 ? j->mode : c->mode;
	struct stat st;
	int in, out = -1, rc;
	bool created = false;

	if (parent_failed(c, j)) {
		c->errors++;
		return;
	}
	in = open(j->src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		report(c, j->src, errno, NULL);
		return;
	}
	if (c->compare) {
		out = open(j->dst, O_RDONLY | O_CLOEXEC);
		if (out < 0 || fstat(out, &st) < 0) {
			report(c, j->dst, errno, NULL);
			goto out;
		}
		if ((uint64_t)st.st_size != j->size) {
			report(c, j->dst, EIO, "differs from the source in size");
			goto out;
		}
	} else {
		/* Files of one allocation unit or less, unstriped: allocated as they
		 * are written and logged at the last close (famfs_fused's pending
		 * files), two requests fewer than sizing them first. */
		if (!c->stripe && j->size <= REOPEN_MIN) {
			out = open(j->dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
			rc = out < 0 ? -errno : 0;
		} else {
			rc = cli_famfs_create_fd(j->dst, j->size, mode, c->stripe, &out);
		}
		if (rc == -EEXIST) {
			/* The existing tools' meaning: an existing file of the same size
			 * is written over; any other size is an error. */
			if (stat(j->dst, &st) < 0 || !S_ISREG(st.st_mode) ||
			    (uint64_t)st.st_size != j->size) {
				report(c, j->dst, EEXIST,
				       "exists with another size or type (famfs files never "
				       "change size)");
				goto out;
			}
			out = open(j->dst, O_WRONLY | O_CLOEXEC);
			if (out < 0) {
				report(c, j->dst, errno, NULL);
				goto out;
			}
		} else if (rc) {
			report(c, j->dst, -rc,
			       rc == -EROFS ? "read-only (only the master creates files)" : NULL);
			goto out;
		} else {
			created = true;
		}
		if (created && j->size > REOPEN_MIN) {
			close(out);
			out = open(j->dst, O_WRONLY | O_CLOEXEC);
			if (out < 0) {
				report(c, j->dst, errno, NULL);
				goto out;
			}
		}
	}
	if (transfer(c, j, in, out))
		goto out;
	if (!c->compare && close(out) < 0) {
		out = -1;
		report(c, j->dst, errno, NULL);
		goto out;
	}
	if (c->compare)
		close(out);
	out = -1;
	c->done_files++;
	if (c->verbose)
		printf(c->compare ? "'%s' = '%s'\n" : "'%s' -> '%s'\n", famfs_esc(j->src),
		       famfs_esc(j->dst));
	progress(c, false);
out:
	if (out >= 0)
		close(out);
	close(in);
}

static void worker(void *arg, size_t i)
{
	struct cp *c = arg;
	struct job *j = &c->jobs[c->order ? c->order[i] : i];

	if (!tbuf) {
		/* First job on this thread: its buffer and its owner ids. */
		tbuf = malloc(COPY_BUF);
		if (!tbuf || cli_become_owner(c->uid, c->gid)) {
			report(c, j->dst, tbuf ? EPERM : ENOMEM,
			       tbuf ? "only root may give files another owner" : NULL);
			c->fatal = true;
			return;
		}
	}
	if (c->fatal || j->dir)
		return;
	copy_file(c, j);
}

static const struct job *sort_jobs; /* qsort has no context argument */

static int by_rank(const void *a, const void *b)
{
	const struct job *x = &sort_jobs[*(const size_t *)a], *y = &sort_jobs[*(const size_t *)b];

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/*
 * With several threads, take the files round-robin over their directories:
 * the first file of every directory, then the second, and so on. Creating
 * in one directory is serialized by the kernel (its inode lock is held over
 * the LOOKUP and CREATE round trips), so threads working in different
 * directories overlap where threads in the same one would queue. Directory
 * jobs sort first (rank 0, made already). NULL (the plan's order) if memory
 * runs out.
 */
static size_t *interleave(struct cp *c)
{
	size_t *count = calloc(c->njobs + 1, sizeof(*count));
	size_t *order = malloc(c->njobs * sizeof(*order));

	if (!count || !order) {
		free(count);
		free(order);
		return NULL;
	}
	for (size_t i = 0; i < c->njobs; i++) {
		struct job *j = &c->jobs[i];

		j->rank = j->dir ? 0 : count[j->parent + 1]++;
		order[i] = i;
	}
	free(count);
	sort_jobs = c->jobs;
	qsort(order, c->njobs, sizeof(*order), by_rank);
	return order;
}

static void enough_room(struct cp *c, const char *dest_dir)
{
	struct statvfs sv;
	char b1[32], b2[32];

	uint64_t units;

	if (c->compare || statvfs(dest_dir, &sv) < 0)
		return;
	/* The file system's allocation unit is its fragment size (2 MiB or 4 KiB). */
	units = sv.f_frsize == 4096 ? c->units_4k : c->units;
	if (units > sv.f_bavail)
		fprintf(stderr,
			"famfs cp: warning: %" PRIu64 " files need %s of space (in %s units), "
			"only %s free: the copy will stop when the device is full\n",
			c->files, cli_fmt_size(units * sv.f_frsize, b1, sizeof(b1)),
			sv.f_frsize == 4096 ? "4 KiB" : "2 MiB",
			cli_fmt_size((uint64_t)sv.f_bavail * sv.f_frsize, b2, sizeof(b2)));
	if (c->files + c->dirs > sv.f_favail)
		fprintf(stderr,
			"famfs cp: warning: %" PRIu64 " files and directories need as many log "
			"entries, only %llu free: the copy will stop when the log is full\n",
			c->files + c->dirs, (unsigned long long)sv.f_favail);
}

static const char *base(const char *path, char *buf, size_t size)
{
	size_t len;

	snprintf(buf, size, "%s", path);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	const char *slash = strrchr(buf, '/');

	return slash ? slash + 1 : buf;
}

/* The sources: the operands, with a quoted pattern that names no file expanded here. */
static char **sources(int argc, char **argv, size_t *count)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	size_t n = 0, cap = (size_t)argc + 1;
	struct stat st;

	if (!v)
		return NULL;
	for (int i = cli_optind(); i < argc - 1; i++) {
		glob_t g;

		if (lstat(argv[i], &st) == 0 || errno != ENOENT || !strpbrk(argv[i], "*?[") ||
		    glob(argv[i], 0, NULL, &g) != 0) {
			v[n++] = argv[i]; /* as it is (plan() reports it if it does not exist) */
			continue;
		}
		if (n + g.gl_pathc + (size_t)argc > cap) {
			char **nv = realloc(v, (cap = n + g.gl_pathc + (size_t)argc) * sizeof(*v));

			if (!nv) {
				globfree(&g);
				free(v);
				return NULL;
			}
			v = nv;
		}
		for (size_t k = 0; k < g.gl_pathc; k++)
			v[n++] = strdup(g.gl_pathv[k]); /* kept until exit */
		globfree(&g);
	}
	*count = n;
	return v;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cp c = {.cmd = cmd, .mode = (mode_t)-1, .uid = KEEP_ID, .gid = KEEP_ID};
	char root[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX], stripe[64];
	const char *arg, *dest, *nstrips = NULL, *nbuckets = NULL, *chunk = NULL;
	unsigned int threads = 1;
	char **src;
	size_t nsrc;
	struct stat st;
	bool dest_is_dir, bad;
	int opt, rc;

	pthread_mutex_init(&c.out_lock, NULL);
	while ((opt = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (opt) {
		case 'r':
			c.recursive = true;
			break;
		case 'v':
			c.verbose++;
			break;
		case 'c':
			c.compare = true;
			break;
		case 'm':
		case 'u':
		case 'g':
			if (cli_owner_opt(cmd, opt, arg, &c.mode, &c.uid, &c.gid))
				return CLI_USAGE;
			break;
		case 't':
			if (cli_threads_opt(cmd, arg, &threads))
				return CLI_USAGE;
			if (!threads)
				threads = 1;
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
		}
	}
	c.stripe = cli_stripe_opts(cmd, nstrips, nbuckets, chunk, stripe, sizeof(stripe), &bad);
	if (bad)
		return CLI_USAGE;
	if (argc - cli_optind() < 2)
		return cli_usage_error(cmd, "expected SOURCE... DEST");
	dest = argv[argc - 1];
	rc = cli_famfs_root(dest, root, sizeof(root));
	if (rc == -ENOTDIR)
		return cli_error(cmd, "%s: %s", famfs_esc(dest), strerror(ENOTDIR)); /* FILE/x */
	if (rc)
		return cli_error(cmd, "%s: not inside a mounted famfs", famfs_esc(dest));
	c.root = root;
	src = sources(argc, argv, &nsrc);
	if (!src)
		return cli_error(cmd, "out of memory");
	dest_is_dir = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
	if (nsrc > 1 && !dest_is_dir)
		return cli_error(cmd, "target '%s' is not a directory", famfs_esc(dest));

	for (size_t i = 0; i < nsrc; i++) {
		if (dest_is_dir)
			snprintf(dst, sizeof(dst), "%s/%s", dest, base(src[i], tmp, sizeof(tmp)));
		else
			snprintf(dst, sizeof(dst), "%s", dest);
		if (plan(&c, src[i], dst, -1) == -ENOMEM)
			return cli_error(cmd, "out of memory");
	}
	free(src);
	enough_room(&c, dest_is_dir ? dest : root);
	c.progress = isatty(STDERR_FILENO) && !c.verbose;
	/* FAMFS_CP_PROGRESS_DELAY: seconds before the bar shows (default 0.5). */
	c.delay = getenv("FAMFS_CP_PROGRESS_DELAY") ? atof(getenv("FAMFS_CP_PROGRESS_DELAY")) : 0.5;
	umask(0);
	c.start = now();

	/* The directories, parents first (the plan lists them so), then the files. */
	if (cli_become_owner(c.uid, c.gid))
		return cli_error(cmd, "only root may give files another owner");
	for (size_t i = 0; i < c.njobs && !c.fatal; i++)
		if (c.jobs[i].dir)
			make_dir(&c, &c.jobs[i]);
	if (threads > 1)
		c.order = interleave(&c);
	if (!c.fatal)
		cli_parallel(c.njobs, threads, worker, &c);
	free(c.order);
	progress(&c, true);
	free(tbuf);
	tbuf = NULL;
	for (size_t i = 0; i < c.njobs; i++) {
		free(c.jobs[i].src);
		free(c.jobs[i].dst);
	}
	free(c.jobs);
	if (c.fatal && !c.compare)
		cli_error(cmd,
			  "stopped: the file system is full; files already copied are complete");
	return c.errors ? CLI_FAIL : CLI_OK;
}

static const struct cli_opt opts[] = {
    {"recursive", 'r', NULL, "copy directories and their contents", NULL, false},
    {"threads", 't', "N", "copy N files at a time (default 1)", NULL, false},
    {"threadct", 't', "N", NULL, NULL, true},
    {"mode", 'm', "MODE", "permissions of the files created, octal (default: the source's)", NULL,
     false},
    {"uid", 'u', "UID", "owner of what is created (default: the caller)", NULL, false},
    {"gid", 'g', "GID", "group of what is created (default: the caller's)", NULL, false},
    {"compare", 'c', NULL, "write nothing: check that DEST already holds the same files", NULL,
     false},
    {"nstrips", 'N', "N", "stripe each file over N strips (with -B)", NULL, false},
    {"nbuckets", 'B', "N", "... chosen among N equal parts of the device (N <= 64)", NULL, false},
    {"chunk", 'C', "SIZE", "... of SIZE-byte chunks (default 2M)", NULL, false},
    {"verbose", 'v', NULL, "print each file and directory copied", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_cp = {
    .name = "cp",
    .args = "[-r] [-t N] [-m MODE] [-u UID] [-g GID] [-c] [-v] SOURCE... DEST",
    .summary = "Copy files (and with -r, directory trees) into a mounted famfs.",
    .details = "As cp(1): with one SOURCE, DEST is created (or, if it is a directory, SOURCE is\n"
	       "copied into it); with several, DEST must be a directory. A quoted pattern\n"
	       "('dir/*') is expanded as the shell would. Each file gets one log entry, with\n"
	       "its final size; modes are kept unless -m. An existing\n"
	       "file of the same size is written over; one of another size is an error (famfs\n"
	       "files never change size). Symbolic links are followed (famfs has none); links\n"
	       "that dangle or loop are reported and skipped. A copy that takes more than half\n"
	       "a second shows a progress bar on a terminal. When the device or the log fills\n"
	       "up, cp stops with a clear error; the file it could not create leaves no trace,\n"
	       "the ones before it are complete.\n\n"
	       "Exit status: 0 everything copied (or, with -c, the same), 1 something was not,\n"
	       "2 usage error.",
    .opts = opts,
    .run = run,
};
