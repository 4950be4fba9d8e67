// SPDX-License-Identifier: Apache-2.0
/*
 * famfs cp: copy files and directory trees into a mounted famfs.
 *
 * Like cp(1): `cp SRC DEST` creates DEST; `cp SRC... DIR` copies into the
 * existing directory DIR; -r copies directories. Each file is created with
 * its final size (one log entry), then written. Modes are kept. famfs has
 * no symbolic links: cp copies what a link points to, and reports (and
 * skips) links that dangle or loop back into the tree being copied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define COPY_BUF (4 << 20)

struct cp {
	const struct cli_cmd *cmd;
	bool recursive, verbose, progress;
	char *buf;
	const char *root; /* famfs mount root */
	/* totals from the scan, and progress */
	uint64_t files, dirs, bytes, units;
	uint64_t done_files, done_bytes;
	double start, last_print;
	int errors;
	bool fatal; /* the file system is full: stop */
	/* directories being copied, to catch symlink loops */
	struct stat stack[256];
	int depth;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct cp *c, bool last)
{
	char b1[32], b2[32];
	double t = now();

	if (!c->progress || (!last && t - c->last_print < 0.25))
		return;
	c->last_print = t;
	fprintf(stderr, "\rfamfs cp: %s of %s (%.0f%%), %llu of %llu files, %.0f MiB/s   ",
		cli_fmt_size(c->done_bytes, b1, sizeof(b1)), cli_fmt_size(c->bytes, b2, sizeof(b2)),
		c->bytes ? 100.0 * (double)c->done_bytes / (double)c->bytes : 100.0,
		(unsigned long long)c->done_files, (unsigned long long)c->files,
		(double)c->done_bytes / (1 << 20) / (t - c->start > 1e-6 ? t - c->start : 1e-6));
	if (last)
		fputc('\n', stderr);
}

static int report(struct cp *c, const char *path, int err, const char *what)
{
	if (err == ENOSPC) {
		cli_error(c->cmd, "%s: %s", path, cli_famfs_nospace(c->root));
		c->fatal = true;
	} else {
		cli_error(c->cmd, "%s: %s", path, what ? what : strerror(err));
	}
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

/* First pass: count what will be created, following links as the copy will. */
static void scan(struct cp *c, const char *src, uint64_t unit)
{
	struct stat st;

	if (stat(src, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		c->files++;
		c->bytes += (uint64_t)st.st_size;
		c->units += st.st_size ? ((uint64_t)st.st_size + unit - 1) / unit : 1;
		return;
	}
	if (!S_ISDIR(st.st_mode) || !c->recursive || on_stack(c, &st) || c->depth == 256)
		return;
	c->dirs++;
	DIR *d = opendir(src);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	c->stack[c->depth++] = st;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", src, de->d_name);
		scan(c, path, unit);
	}
	c->depth--;
	closedir(d);
}

static int copy_file(struct cp *c, const char *src, const char *dst, const struct stat *st)
{
	int in, out, rc;
	uint64_t off = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return report(c, src, errno, NULL);
	rc = cli_famfs_create(dst, (uint64_t)st->st_size, st->st_mode & 07777, NULL);
	if (rc) {
		close(in);
		return report(c, dst, -rc,
			      rc == -EEXIST ? "exists (famfs files are never replaced)" : NULL);
	}
	/* Reopen: on a famfs kernel the open fetches the map, so the writes go
	 * straight to memory. */
	out = open(dst, O_WRONLY | O_CLOEXEC);
	if (out < 0) {
		close(in);
		return report(c, dst, errno, NULL);
	}
	while (off < (uint64_t)st->st_size) {
		ssize_t n = read(in, c->buf, COPY_BUF), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = report(c, src, errno, NULL);
			break;
		}
		if (n == 0) {
			rc = report(c, src, EIO, "file shrank while being copied");
			break;
		}
		if ((uint64_t)n > (uint64_t)st->st_size - off)
			n = (ssize_t)((uint64_t)st->st_size - off); /* it grew: keep the size */
		while (w < n) {
			ssize_t k =
			    pwrite(out, c->buf + w, (size_t)(n - w), (off_t)(off + (uint64_t)w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				rc = report(c, dst, k < 0 ? errno : EIO, NULL);
				break;
			}
			w += k;
		}
		if (rc)
			break;
		off += (uint64_t)n;
		c->done_bytes += (uint64_t)n;
		progress(c, false);
	}
	if (close(out) < 0 && !rc)
		rc = report(c, dst, errno, NULL);
	close(in);
	if (!rc) {
		c->done_files++;
		if (c->verbose)
			printf("'%s' -> '%s'\n", src, dst);
	}
	return rc;
}

static int copy(struct cp *c, const char *src, const char *dst);

static int copy_dir(struct cp *c, const char *src, const char *dst, const struct stat *st)
{
	struct dirent *de;
	struct stat dst_st;
	char s[PATH_MAX], d[PATH_MAX];
	DIR *dir;

	if (on_stack(c, st))
		return report(c, src, ELOOP, "a symbolic link loops back into the copy: skipped");
	if (c->depth == 256)
		return report(c, src, ELOOP, "directories nested too deep");
	if (mkdir(dst, st->st_mode & 07777) < 0 &&
	    !(errno == EEXIST && stat(dst, &dst_st) == 0 && S_ISDIR(dst_st.st_mode)))
		return report(c, dst, errno, NULL);
	if (c->verbose)
		printf("'%s' -> '%s'\n", src, dst);
	dir = opendir(src);
	if (!dir)
		return report(c, src, errno, NULL);
	c->stack[c->depth++] = *st;
	while (!c->fatal && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >= sizeof(s) ||
		    (size_t)snprintf(d, sizeof(d), "%s/%s", dst, de->d_name) >= sizeof(d)) {
			report(c, s, ENAMETOOLONG, NULL);
			continue;
		}
		copy(c, s, d);
	}
	c->depth--;
	closedir(dir);
	return 0;
}

static int copy(struct cp *c, const char *src, const char *dst)
{
	struct stat st;

	if (stat(src, &st) < 0)
		return report(
		    c, src, errno,
		    errno == ENOENT ? "no such file (or a dangling symbolic link): skipped" : NULL);
	if (S_ISDIR(st.st_mode)) {
		if (!c->recursive)
			return report(c, src, EISDIR, "is a directory (use -r)");
		return copy_dir(c, src, dst, &st);
	}
	if (!S_ISREG(st.st_mode))
		return report(c, src, EPERM,
			      "not a regular file or directory (famfs holds only those): skipped");
	return copy_file(c, src, dst, &st);
}

static void enough_room(struct cp *c, const char *dest_dir)
{
	struct statvfs sv;
	char b1[32], b2[32];

	if (statvfs(dest_dir, &sv) < 0)
		return;
	if (c->units > sv.f_bavail)
		fprintf(stderr,
			"famfs cp: warning: %llu files need %s of space (in 2 MiB units), only %s "
			"free: the copy will stop when the device is full\n",
			(unsigned long long)c->files,
			cli_fmt_size(c->units * sv.f_frsize, b1, sizeof(b1)),
			cli_fmt_size((uint64_t)sv.f_bavail * sv.f_frsize, b2, sizeof(b2)));
	if (c->files + c->dirs > sv.f_favail)
		fprintf(stderr,
			"famfs cp: warning: %llu files and directories need as many log entries, "
			"only %llu free: the copy will stop when the log is full\n",
			(unsigned long long)(c->files + c->dirs), (unsigned long long)sv.f_favail);
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

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cp c = {.cmd = cmd};
	char root[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
	const char *arg, *dest;
	struct stat st;
	bool dest_is_dir;
	int opt, nsrc, rc;

	while ((opt = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (opt == 'r')
			c.recursive = true;
		else if (opt == 'v')
			c.verbose = true;
	}
	nsrc = argc - cli_optind() - 1;
	if (nsrc < 1)
		return cli_usage_error(cmd, "expected SOURCE... DEST");
	dest = argv[argc - 1];
	rc = cli_famfs_root(dest, root, sizeof(root));
	if (rc == -ENOTDIR)
		return cli_error(cmd, "%s: %s", dest, strerror(ENOTDIR)); /* FILE/x */
	if (rc)
		return cli_error(cmd, "%s: not inside a mounted famfs", dest);
	c.root = root;
	dest_is_dir = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
	if (nsrc > 1 && !dest_is_dir)
		return cli_error(cmd, "target '%s' is not a directory", dest);

	for (int i = cli_optind(); i < argc - 1; i++)
		scan(&c, argv[i], 2 << 20);
	enough_room(&c, dest_is_dir ? dest : root);
	c.progress = isatty(STDERR_FILENO) && c.bytes >= (64 << 20) && !c.verbose;
	c.buf = malloc(COPY_BUF);
	if (!c.buf)
		return cli_error(cmd, "out of memory");
	umask(0);
	c.start = now();
	for (int i = cli_optind(); i < argc - 1 && !c.fatal; i++) {
		if (dest_is_dir)
			snprintf(dst, sizeof(dst), "%s/%s", dest, base(argv[i], tmp, sizeof(tmp)));
		else
			snprintf(dst, sizeof(dst), "%s", dest);
		copy(&c, argv[i], dst);
	}
	progress(&c, true);
	free(c.buf);
	if (c.fatal)
		cli_error(cmd,
			  "stopped: the file system is full; files already copied are complete");
	return c.errors ? CLI_FAIL : CLI_OK;
}

static const struct cli_opt opts[] = {
    {"recursive", 'r', NULL, "copy directories and their contents"},
    {"verbose", 'v', NULL, "print each file and directory copied"},
    {0},
};

const struct cli_cmd cli_cmd_cp = {
    .name = "cp",
    .args = "[-r] [-v] SOURCE... DEST",
    .summary = "Copy files (and with -r, directory trees) into a mounted famfs.",
    .details = "As cp(1): with one SOURCE, DEST is created (or, if it is a directory, SOURCE is\n"
	       "copied into it); with several, DEST must be a directory. Each file is created\n"
	       "with its final size in one log entry, then written; modes are kept; existing\n"
	       "files are never replaced. Symbolic links are followed (famfs has none); links\n"
	       "that dangle or loop are reported and skipped. Large copies show progress on\n"
	       "a terminal. When the device or the log fills up, cp stops with a clear error;\n"
	       "the file it could not create leaves no trace, the ones before it are complete.\n\n"
	       "Exit status: 0 everything copied, 1 something was not, 2 usage error.",
    .opts = opts,
    .run = run,
};
