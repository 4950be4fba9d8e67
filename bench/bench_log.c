// SPDX-License-Identifier: Apache-2.0
/*
 * Log benchmark (not a test): appends per second, full-log replay and fsck
 * time, each with a baseline measured in the same run.
 *
 *   bench_log [DIR]     scratch images go in DIR (default /tmp)
 *
 * - append: famfs_log_append() of MKDIR entries on a sparse image, against
 *   the existing tools' method (flush the whole log after each append).
 * - create: famfs_image_mkfile() (allocate + append + namespace).
 * - replay: a full 8 MiB log (15,420 entries) into a fresh namespace and
 *   bitmap, against a bare crc32 pass over the same 8 MiB.
 * - fsck: famfs_fsck() of the full log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "crc.h"
#include "flush.h"
#include "identity.h"
#include "image.h"
#include "super.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_log: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static const char *image(const char *dir, const char *name, uint64_t size)
{
	static char path[4096];
	struct famfs_dev *dev;
	uint8_t me[16];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((rc = famfs_dev_create_file(path, size)) ||
	    (rc = famfs_dev_open(path, FAMFS_DEV_WRITE, &dev)))
		die(path, rc);
	if ((rc = famfs_identity(me)) || (rc = famfs_mkfs(dev, FAMFS_LOG_LEN_DEFAULT, me)))
		die("mkfs", rc);
	famfs_dev_close(dev);
	return path;
}

/* Append @n MKDIR entries; with @whole_log, flush all of the log after each (old tools). */
static double appends(struct famfs_fs *fs, uint64_t n, int whole_log, uint64_t base)
{
	struct famfs_log_entry e;
	char name[32];
	double t0 = now();

	for (uint64_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "a%08llu", (unsigned long long)(base + i));
		famfs_entry_init_mkdir(&e, name, 0755, 0, 0);
		int rc = famfs_log_append(fs, &e, NULL);
		if (rc)
			die("append", rc);
		if (whole_log)
			famfs_dev_flush(fs->dev, fs->hdr, fs->sb->log_len);
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	char idpath[4096];
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct famfs_image *im;
	struct famfs_fs *fs;
	const char *img;
	double t, tb, best;
	uint64_t n;
	int rc;

	snprintf(idpath, sizeof(idpath), "%s/bench_log.uuid", dir);
	setenv(FAMFS_SYSTEM_UUID_ENV, idpath, 1);
	printf("bench_log: cache flush with %s\n", famfs_cache_flush_method());

	/* Appends: ours vs whole-log flush. */
	img = image(dir, "bench_log_append.img", 64ULL << 20);
	if ((rc = famfs_fs_open(img, FAMFS_FS_WRITE, &fs, NULL)))
		die(img, rc);
	n = 200;
	tb = appends(fs, n, 1, 0) / (double)n;
	t = appends(fs, 15000, 0, n) / 15000.0;
	printf("append        %9.0f entries/s  (%.2f us each); whole-log flush baseline %.0f/s "
	       "(%.0f us): %.0fx faster\n",
	       1 / t, t * 1e6, 1 / tb, tb * 1e6, tb / t);
	famfs_fs_close(fs);

	/* File creation through the image layer, then fill the log to the last slot. */
	img = image(dir, "bench_log_full.img", 32ULL << 30);
	if ((rc = famfs_image_open(img, FAMFS_FS_WRITE, &im, NULL)) ||
	    (rc = (int)famfs_image_catch_up(im, NULL, NULL)))
		die(img, rc);
	struct famfs_node *dirs[420];
	for (int i = 0; i < 420; i++) {
		char name[16];
		snprintf(name, sizeof(name), "d%03d", i);
		if ((rc = famfs_image_mkdir(im, famfs_ns_root(im->ns), name, 0755, 0, 0, &dirs[i])))
			die("mkdir", rc);
	}
	t = now();
	for (int i = 0; i < 15000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%05d", i);
		if ((rc = famfs_image_mkfile(im, dirs[i % 420], name, 1 << 20, 0644, 0, 0, NULL,
					     NULL)))
			die("mkfile", rc);
	}
	t = (now() - t) / 15000;
	printf("create        %9.0f files/s    (%.2f us each: allocate + append + namespace)\n",
	       1 / t, t * 1e6);
	printf("log           %llu of %llu slots used\n",
	       (unsigned long long)famfs_log_used(im->fs), (unsigned long long)im->fs->geom.nslots);

	/* Replay the full log: best of 5, fresh namespace each time. */
	best = 1e9;
	for (int r = 0; r < 5; r++) {
		struct famfs_image *c;
		if ((rc = famfs_image_open(img, 0, &c, NULL)))
			die("open", rc);
		t = now();
		long got = famfs_image_catch_up(c, NULL, NULL);
		t = now() - t;
		if (got != 15420)
			die("replay count", EIO);
		famfs_image_close(c);
		best = t < best ? t : best;
	}
	tb = 1e9;
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		volatile uLong crc =
		    crc32(0, (const Bytef *)im->fs->hdr, (uInt)im->fs->sb->log_len);
		(void)crc;
		t = now() - t0;
		tb = t < tb ? t : tb;
	}
	printf("replay        %9.2f ms for 15420 entries; bare crc32 of 8 MiB %.2f ms (%.1fx)\n",
	       best * 1e3, tb * 1e3, best / tb);

	t = now();
	rc = famfs_fsck(im->fs->sb, im->fs->hdr, im->fs->sb->log_len, im->fs->dev->size, &chk, NULL,
			NULL, &st);
	t = now() - t;
	if (rc || chk.count)
		die("fsck found problems", EIO);
	printf("fsck          %9.2f ms for 15420 entries (%llu files, %llu dirs)\n", t * 1e3,
	       (unsigned long long)st.files, (unsigned long long)st.dirs);
	famfs_image_close(im);
	unlink(img);
	snprintf(idpath, sizeof(idpath), "%s/bench_log_append.img", dir);
	unlink(idpath);
	return 0;
}
