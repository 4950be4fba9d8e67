// SPDX-License-Identifier: GPL-2.0
/*
 * vmtool - the famfs qemu guests' test and benchmark helper (static binary,
 * built by vmtest.sh, installed as /usr/bin/vmtool). Busybox has no
 * getxattr, mmap or O_DIRECT comparisons; this does them in one process.
 *
 * Usage: vmtool COMMAND ARGS...
 *   verify DEV REFDIR DIR   every regular file under REFDIR must equal
 *                           DIR/<same path> through read(), through a shared
 *                           read-only mmap, and (if DEV is not "-") on the
 *                           device at the offsets of its user.famfs.map
 *                           (DEV: DEV0[,DEV1...], the devices by index, for
 *                           a file system of several devices)
 *                           (O_DIRECT on a block device, mmap on devdax,
 *                           read() on a devdax bound to famfs_dax)
 *   xattr PATH NAME         print an extended attribute
 *   stat PATH OPCODE        print the server's count of OPCODE (READ, WRITE,
 *                           GET_FMAP, ...) from PATH's user.famfs.stats
 *   fstype PATH             print statfs f_type in hex
 *   fill FILE SEED MODE     write FILE's whole size with a pattern, through
 *                           write() (MODE write) or a shared mmap (MODE mmap)
 *   check FILE SEED DEV     FILE holds the pattern, through read() and on
 *                           DEV at its map's offsets (DEV "-": skip)
 *   sizes FILE              the fixed-size rules: EFBIG past EOF, short
 *                           write across EOF, EPERM for truncate, EPERM for
 *                           fallocate past EOF, EOPNOTSUPP for punch hole
 *                           and zero range
 *   pin FILE MNT SECONDS    pin FILE's first page with vmsplice() into a pipe
 *                           (get_user_pages), unmap and close it, unmount
 *                           MNT while a child keeps the pipe full for
 *                           SECONDS: the unmount (eviction) must wait until
 *                           the page is released
 *   pending DIR SEED        files used before they had a map (see cmd_pending)
 *   rofile FILE             a read-only mount: O_RDWR gives EROFS, a shared
 *                           writable mmap of an O_RDONLY fd EACCES, a private
 *                           one works and changes nothing
 *   pinbg FILE SECONDS      pin FILE's first page as pin does, unmap and close
 *                           it, and return at once: a child holds the pipe
 *                           for SECONDS, then drains it
 *   fadvise FILE            open FILE (before it has a map: undecided),
 *                           fadvise(WILLNEED), open it again (it has a map
 *                           now): print the second descriptor's data path,
 *                           "dax" or "fuse" (statx STATX_ATTR_DAX), and check
 *                           that both read the same bytes
 *   touch FILE r|w STEP     map FILE shared and read (or write back) one
 *                           byte every STEP bytes (fault tracing)
 *   poison FILE             map FILE, inject a memory failure into its first
 *                           page (MADV_HWPOISON), then expect read() of that
 *                           page to fail with EIO (or EHWPOISON) within 10 s,
 *                           and of the next page to work
 *   nsattack FILE REF DEV OTHER
 *                           as uid 1000 in a user and mount namespace of its
 *                           own (unshare -Urm), bind-mount device OTHER over
 *                           device node DEV, then open FILE (a famfs file
 *                           nobody opened yet) and expect REF's bytes: the
 *                           kernel must not look devices up by path
 *   liesize FILE SIZE       FILE (served by evilfs lie) is SIZE bytes; map it
 *                           and read it all, then stat it (the server now
 *                           says SIZE/2): the size must stay SIZE, and the
 *                           whole mapping and a read() at its end must work
 *   mbox DEV get|put TEXT   a one-line mailbox in the last 4 KiB of block
 *                           device DEV (O_DIRECT): print it, or write TEXT
 *   writeas UID FILE        as uid and gid UID (no supplementary groups, no
 *                           capabilities), write 4 KiB at offset 0 of FILE
 *   relwb FILE SEED ORDER   write pattern SEED over FILE through a shared
 *                           mapping and drop the file's last reference:
 *                           ORDER close-first closes the descriptor before
 *                           writing (the munmap releases the file), unmap-
 *                           first unmaps, then closes; the call that releases
 *                           the file sits between the trace_marker lines
 *                           "vmtool: last release begin" and "... end"
 *   rowrite FILE            a writable descriptor of FILE on a device the
 *                           kernel must treat as read-only: write() and a
 *                           shared writable mmap fail with EROFS, a shared
 *                           read-only mapping reads and cannot be made
 *                           writable (mprotect: EACCES), read() works
 *   rolate FILE DEV         a shared writable mapping of FILE made while
 *                           block device DEV is writable, then DEV made
 *                           read-only (BLKROSET): a store through the mapping
 *                           gets SIGBUS, write() EROFS; DEV is made writable
 *                           again before returning
 *   fallocrace FILE MARKER  open FILE (its first open: no map yet), let a
 *                           child open it again (the server delays that
 *                           GET_FMAP and creates MARKER meanwhile), then
 *                           fallocate(0, 2 * size) on the first descriptor
 *                           while the child's open switches the file to its
 *                           map: the size must not change
 *   bench FILE MB           sequential/random 4 KiB and 1 MiB read/write
 *                           MiB/s through pread/pwrite and through a shared
 *                           mmap over the first MB MiB; each pass opens (and
 *                           maps) afresh and runs at most ~0.5 s, best of 2;
 *                           prints "BENCH ..." lines
 * Exit status: 0 pass, 1 fail (message on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define ALIGN_DIO 4096
#define MAP_XATTR "user.famfs.map"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vmtool: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void *xmalloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, ALIGN_DIO, n ? n : 1)) {
		fprintf(stderr, "vmtool: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read a whole file into a new buffer; returns its size or -errno. */
static ssize_t slurp(const char *path, char **out)
{
	struct stat st;
	ssize_t got = 0, n;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < st.st_size) {
		n = read(fd, buf + got, (size_t)(st.st_size - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			n = n < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return n;
		}
		got += n;
	}
	close(fd);
	*out = buf;
	return got;
}

/* ------------------------------------------------------------ the map */

#define MAX_DEVS 32

struct extent {
	uint64_t offset, len;
	unsigned int dev; /* device index */
};

struct map {
	uint64_t size;
	int n;
	struct extent ext[4096];
};

/* Append the chunks of one interleaved extent to @m, in file order. */
static int add_iext(struct map *m, uint64_t chunk, uint64_t nbytes, const struct extent *strips,
		    unsigned int n)
{
	for (uint64_t c = 0; c * chunk < nbytes; c++) {
		uint64_t len = nbytes - c * chunk < chunk ? nbytes - c * chunk : chunk;

		if (m->n == (int)(sizeof(m->ext) / sizeof(m->ext[0])))
			return fail("map: too many chunks");
		m->ext[m->n++] =
		    (struct extent){strips[c % n].offset + (c / n) * chunk, len, strips[c % n].dev};
	}
	return 0;
}

/*
 * Parse user.famfs.map (what `famfs getmap` prints): "size N", then either
 * "extent I dev 0 offset 0x.. len 0x.." lines, or for a striped file
 * "interleave nstrips N chunk 0x.. nbytes N" each followed by its
 * "strip S dev 0 offset 0x.. len 0x.." lines. A striped map becomes its
 * chunks, in file order, as simple extents.
 */
static int get_map(const char *path, struct map *m)
{
	static char text[1 << 20];
	ssize_t len = getxattr(path, MAP_XATTR, text, sizeof(text) - 1);
	struct extent strips[64];
	uint64_t chunk = 0, nbytes = 0;
	unsigned int nstrips = 0, have = 0;
	char *line, *save = NULL;

	if (len < 0)
		return fail("%s: getxattr %s: %s", path, MAP_XATTR, strerror(errno));
	text[len] = '\0';
	m->n = 0;
	m->size = UINT64_MAX;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int i, dev;
		uint64_t off, l;

		if (sscanf(line, "size %" SCNu64, &m->size) == 1)
			continue;
		if (sscanf(line, "extent %u dev %u offset %" SCNx64 " len %" SCNx64, &i, &dev, &off,
			   &l) == 4) {
			if (dev >= MAX_DEVS || m->n == (int)(sizeof(m->ext) / sizeof(m->ext[0])))
				return fail("%s: map: unsupported extent '%s'", path, line);
			m->ext[m->n++] = (struct extent){off, l, dev};
			continue;
		}
		if (sscanf(line, "interleave nstrips %u chunk %" SCNx64 " nbytes %" SCNu64, &nstrips,
			   &chunk, &nbytes) == 3) {
			if (!nstrips || nstrips > 64 || !chunk)
				return fail("%s: map: bad '%s'", path, line);
			have = 0;
			continue;
		}
		if (sscanf(line, "strip %u dev %u offset %" SCNx64 " len %" SCNx64, &i, &dev, &off,
			   &l) == 4) {
			if (dev >= MAX_DEVS || i != have || have >= nstrips)
				return fail("%s: map: unexpected '%s'", path, line);
			strips[have++] = (struct extent){off, l, dev};
			if (have == nstrips && add_iext(m, chunk, nbytes, strips, nstrips))
				return 1;
			continue;
		}
		return fail("%s: map: cannot parse '%s'", path, line);
	}
	if (m->size == UINT64_MAX || m->n == 0)
		return fail("%s: map has no size or no extent", path);
	return 0;
}

/* The device: a block device read with O_DIRECT, or a devdax mapped whole. */
struct dev {
	int fd;
	bool chr;
	char *base;
	uint64_t size;
};

static int dev_open(struct dev *d, const char *path)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	if (stat(path, &st) < 0)
		return fail("%s: %s", path, strerror(errno));
	d->chr = S_ISCHR(st.st_mode);
	d->fd = open(path, d->chr ? O_RDWR : O_RDONLY | O_DIRECT);
	if (d->fd < 0)
		return fail("%s: open: %s", path, strerror(errno));
	if (d->chr) {
		char sys[256], num[64] = "";
		FILE *f;

		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/size", major(st.st_rdev),
			 minor(st.st_rdev));
		f = fopen(sys, "r");
		if (!f || !fgets(num, sizeof(num), f))
			return fail("%s: cannot read %s", path, sys);
		fclose(f);
		d->size = strtoull(num, NULL, 0);
		d->base = mmap(NULL, d->size, PROT_READ, MAP_SHARED, d->fd, 0);
		/* famfs_dax (kmod/dax) has no mmap: read() it */
		if (d->base == MAP_FAILED && errno == ENODEV)
			d->base = NULL;
		else if (d->base == MAP_FAILED)
			return fail("%s: mmap: %s", path, strerror(errno));
	}
	return 0;
}

/* Copy @len bytes at device offset @off into @buf (len a multiple of 4 KiB). */
static int dev_read(struct dev *d, char *buf, uint64_t off, uint64_t len)
{
	uint64_t got = 0;

	if (d->chr && off + len > d->size)
		return fail("device read 0x%" PRIx64 "+0x%" PRIx64 " past its end", off, len);
	if (d->chr && d->base) {
		memcpy(buf, d->base + off, len);
		return 0;
	}
	while (got < len) {
		ssize_t n = pread(d->fd, buf + got, len - got, (off_t)(off + got));

		if (n <= 0)
			return fail("device pread at 0x%" PRIx64 ": %s", off + got,
				    n < 0 ? strerror(errno) : "EOF");
		got += (uint64_t)n;
	}
	return 0;
}

/* Open "DEV0[,DEV1...]" into @d[0..]: the devices by index. */
static int devs_open(struct dev *d, const char *spec)
{
	char copy[4096], *save = NULL, *p;
	int i = 0;

	snprintf(copy, sizeof(copy), "%s", spec);
	for (p = strtok_r(copy, ",", &save); p && i < MAX_DEVS; p = strtok_r(NULL, ",", &save))
		if (dev_open(&d[i++], p))
			return 1;
	for (; i < MAX_DEVS; i++)
		d[i].fd = -1;
	return 0;
}

/* The file's bytes as the devices @d (by index) hold them, per its map, into @buf. */
static int dev_image(struct dev *d, const char *path, char *buf, uint64_t size)
{
	static struct map m;
	uint64_t done = 0;

	if (get_map(path, &m))
		return 1;
	if (m.size != size)
		return fail("%s: map says size %" PRIu64 ", file has %" PRIu64, path, m.size, size);
	for (int i = 0; i < m.n && done < size; i++) {
		uint64_t want = m.ext[i].len < size - done ? m.ext[i].len : size - done;
		uint64_t rounded = (want + ALIGN_DIO - 1) & ~(uint64_t)(ALIGN_DIO - 1);
		char *tmp = xmalloc(rounded);

		if (d[m.ext[i].dev].fd < 0) {
			free(tmp);
			return fail("%s: extent %d on device %u, which was not given", path, i,
				    m.ext[i].dev);
		}
		if (dev_read(&d[m.ext[i].dev], tmp, m.ext[i].offset, rounded)) {
			free(tmp);
			return 1;
		}
		memcpy(buf + done, tmp, want);
		free(tmp);
		done += want;
	}
	if (done != size)
		return fail("%s: map covers %" PRIu64 " of %" PRIu64 " bytes", path, done, size);
	return 0;
}

/* -------------------------------------------------------------- verify */

struct totals {
	unsigned long files;
	uint64_t bytes;
};

static int verify_file(struct dev *d, const char *ref, const char *got, struct totals *t)
{
	char *want = NULL, *have = NULL;
	ssize_t wn, hn;
	int rc = 0;

	wn = slurp(ref, &want);
	if (wn < 0)
		return fail("%s: %s", ref, strerror((int)-wn));
	hn = slurp(got, &have);
	if (hn < 0) {
		free(want);
		return fail("%s: read: %s", got, strerror((int)-hn));
	}
	if (hn != wn || memcmp(want, have, (size_t)wn))
		rc = fail("%s: read() differs from %s (%zd vs %zd bytes)", got, ref, hn, wn);
	if (!rc && wn > 0) {
		int fd = open(got, O_RDONLY);
		char *p = fd < 0 ? MAP_FAILED
				 : mmap(NULL, (size_t)wn, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			rc = fail("%s: mmap: %s", got, strerror(errno));
		else if (memcmp(p, want, (size_t)wn))
			rc = fail("%s: mmap differs from %s", got, ref);
		if (p != MAP_FAILED)
			munmap(p, (size_t)wn);
		if (fd >= 0)
			close(fd);
	}
	if (!rc && d) {
		memset(have, 0, (size_t)wn);
		rc = dev_image(d, got, have, (uint64_t)wn);
		if (!rc && memcmp(have, want, (size_t)wn))
			rc = fail("%s: device bytes at its map differ from %s", got, ref);
	}
	free(want);
	free(have);
	if (!rc) {
		t->files++;
		t->bytes += (uint64_t)wn;
	}
	return rc;
}

static int verify_tree(struct dev *d, const char *ref, const char *got, struct totals *t)
{
	DIR *dir = opendir(ref);
	struct dirent *de;
	int rc = 0;

	if (!dir)
		return fail("%s: %s", ref, strerror(errno));
	while ((de = readdir(dir)) && !rc) {
		char r[4096], g[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(r, sizeof(r), "%s/%s", ref, de->d_name);
		snprintf(g, sizeof(g), "%s/%s", got, de->d_name);
		if (lstat(r, &st) < 0)
			rc = fail("%s: %s", r, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = verify_tree(d, r, g, t);
		else if (S_ISREG(st.st_mode))
			rc = verify_file(d, r, g, t);
	}
	closedir(dir);
	return rc;
}

static int cmd_verify(char **argv)
{
	static struct dev d[MAX_DEVS];
	struct totals t = {0};
	struct dev *dp = NULL;
	double t0 = now();
	int rc;

	if (strcmp(argv[0], "-")) {
		if (devs_open(d, argv[0]))
			return 1;
		dp = d;
	}
	rc = verify_tree(dp, argv[1], argv[2], &t);
	if (!rc)
		printf("verify: %lu files, %" PRIu64 " bytes equal to %s through read(), mmap%s "
		       "(%.1f s)\n",
		       t.files, t.bytes, argv[1], dp ? " and on the device" : "", now() - t0);
	return rc;
}

/* -------------------------------------------------------- xattr/stats */

static int cmd_xattr(char **argv)
{
	static char buf[65536];
	ssize_t n = getxattr(argv[0], argv[1], buf, sizeof(buf) - 1);

	if (n < 0)
		return fail("%s: getxattr %s: %s", argv[0], argv[1], strerror(errno));
	fwrite(buf, 1, (size_t)n, stdout);
	if (n && buf[n - 1] != '\n')
		putchar('\n');
	return 0;
}

/* The server's count of requests @op (user.famfs.stats of the mount root), or -1. */
/* The "NAME value" line @op of xattr @xattr of @root (a mount's root). */
static long xattr_counter(const char *root, const char *xattr, const char *op)
{
	static char buf[65536];
	ssize_t n = getxattr(root, xattr, buf, sizeof(buf) - 1);
	size_t l = strlen(op);

	if (n < 0) {
		fail("%s: getxattr %s: %s", root, xattr, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, op, l) && line[l] == ' ')
			return strtol(line + l + 1, NULL, 10);
	fail("%s: no counter %s in %s", root, op, xattr);
	return -1;
}

/* The server's count of requests @op (user.famfs.stats). */
static long counter(const char *root, const char *op)
{
	return xattr_counter(root, "user.famfs.stats", op);
}

/*
 * close() returns before the kernel's RELEASE reaches the server: wait (up
 * to 10 s) until the server has committed a file closed after @before was
 * read and invalidated its dentry (user.famfs.server commit_invalidations).
 */
static int wait_commit(const char *root, long before)
{
	for (int i = 0; i < 1000; i++) {
		long v = xattr_counter(root, "user.famfs.server", "commit_invalidations");

		if (v < 0)
			return -1;
		if (v > before)
			return 0;
		usleep(10000);
	}
	return fail("%s: no commit within 10 s", root);
}

/*
 * commit_invalidations once it has stopped moving (unchanged for 100 ms,
 * at most 10 s): the notices of earlier commits are sent by the server's
 * notifier a little later, and must not be taken for the next commit's.
 */
static long settled_commits(const char *root)
{
	long v = xattr_counter(root, "user.famfs.server", "commit_invalidations"), w;

	for (int i = 0, same = 0; v >= 0 && i < 500 && same < 5; i++) {
		usleep(20000);
		w = xattr_counter(root, "user.famfs.server", "commit_invalidations");
		same = w == v ? same + 1 : 0;
		v = w;
	}
	return v;
}

static int cmd_stat(char **argv)
{
	long v = counter(argv[0], argv[1]);

	if (v < 0)
		return 1;
	printf("%ld\n", v);
	return 0;
}

static int cmd_fstype(char **argv)
{
	struct statfs sf;

	if (statfs(argv[0], &sf) < 0)
		return fail("%s: statfs: %s", argv[0], strerror(errno));
	printf("%lx\n", (unsigned long)sf.f_type);
	return 0;
}

/* ------------------------------------------------------ patterns */

static void pattern(char *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9E3779B97F4A7C15ULL + seed;

		x ^= x >> 29;
		buf[i] = (char)(x >> (8 * ((off + i) % 8)));
	}
}

static int file_size(const char *path, uint64_t *size)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail("%s: %s", path, strerror(errno));
	*size = (uint64_t)st.st_size;
	return 0;
}

static int cmd_fill(char **argv)
{
	uint64_t seed = strtoull(argv[1], NULL, 0), size;
	bool map = !strcmp(argv[2], "mmap");
	char *buf;
	int fd, rc = 0;

	if (file_size(argv[0], &size))
		return 1;
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: open O_RDWR: %s", argv[0], strerror(errno));
	if (map) {
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED) {
			close(fd);
			return fail("%s: mmap rw: %s", argv[0], strerror(errno));
		}
		pattern(p, 0, size, seed);
		if (msync(p, size, MS_SYNC) < 0)
			rc = fail("%s: msync: %s", argv[0], strerror(errno));
		munmap(p, size);
	} else {
		buf = xmalloc(size);
		pattern(buf, 0, size, seed);
		if (pwrite(fd, buf, size, 0) != (ssize_t)size)
			rc = fail("%s: pwrite %" PRIu64 " bytes: %s", argv[0], size,
				  strerror(errno));
		free(buf);
	}
	if (close(fd) < 0 && !rc)
		rc = fail("%s: close: %s", argv[0], strerror(errno));
	if (!rc)
		printf("fill: %s: %" PRIu64 " bytes of pattern %s written through %s\n", argv[0],
		       size, argv[1], map ? "a shared mmap" : "write()");
	return rc;
}

static int cmd_check(char **argv)
{
	uint64_t seed = strtoull(argv[1], NULL, 0);
	char *have, *want;
	ssize_t n = slurp(argv[0], &have);
	int rc = 0;

	if (n < 0)
		return fail("%s: read: %s", argv[0], strerror((int)-n));
	want = xmalloc((size_t)n);
	pattern(want, 0, (size_t)n, seed);
	if (memcmp(have, want, (size_t)n))
		rc = fail("%s: read() does not hold pattern %s", argv[0], argv[1]);
	if (!rc && strcmp(argv[2], "-")) {
		static struct dev d[MAX_DEVS];

		memset(have, 0, (size_t)n);
		rc = devs_open(d, argv[2]) || dev_image(d, argv[0], have, (uint64_t)n);
		if (!rc && memcmp(have, want, (size_t)n))
			rc = fail("%s: the device does not hold pattern %s at the file's map",
				  argv[0], argv[1]);
	}
	if (!rc)
		printf("check: %s: %zd bytes of pattern %s through read()%s\n", argv[0], n,
		       argv[1], strcmp(argv[2], "-") ? " and on the device" : "");
	free(have);
	free(want);
	return rc;
}

/* -------------------------------------------------------------- sizes */

static int expect_err(const char *what, long ret, int want)
{
	if (ret >= 0)
		return fail("%s: succeeded (%ld), want %s", what, ret, strerror(want));
	if (errno != want)
		return fail("%s: %s, want %s", what, strerror(errno), strerror(want));
	printf("ok: %s: %s, as documented\n", what, strerror(want));
	return 0;
}

static int cmd_sizes(char **argv)
{
	const char *path = argv[0];
	uint64_t size;
	char buf[8192];
	ssize_t n;
	int fd, rc = 0;

	if (file_size(path, &size))
		return 1;
	if (size < 8192)
		return fail("%s: need a file of at least 8 KiB", path);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return fail("%s: open O_RDWR: %s", path, strerror(errno));
	memset(buf, 'x', sizeof(buf));
	rc |= expect_err("pwrite at EOF", (long)pwrite(fd, buf, 100, (off_t)size), EFBIG);
	rc |= expect_err("pwrite past EOF", (long)pwrite(fd, buf, 100, (off_t)size + 4096),
			 EFBIG);
	/* O_APPEND: every write starts at EOF */
	{
		int afd = open(path, O_WRONLY | O_APPEND);

		rc |= afd < 0 ? fail("open O_APPEND: %s", strerror(errno))
			      : expect_err("O_APPEND write", (long)write(afd, buf, 10), EFBIG);
		if (afd >= 0)
			close(afd);
	}
	n = pwrite(fd, buf, 8192, (off_t)size - 4096);
	if (n != 4096)
		rc |= fail("pwrite straddling EOF: %zd, want 4096 (cut short at EOF)", n);
	else
		printf("sizes: pwrite straddling EOF: 4096 of 8192 bytes, cut short at EOF\n");
	rc |= expect_err("ftruncate larger", ftruncate(fd, (off_t)size + 4096), EPERM);
	rc |= expect_err("ftruncate smaller", ftruncate(fd, (off_t)size - 4096), EPERM);
	rc |= expect_err("ftruncate 0", ftruncate(fd, 0), EPERM);
	if (ftruncate(fd, (off_t)size) < 0)
		rc |= fail("ftruncate to the same size: %s", strerror(errno));
	else
		printf("sizes: ftruncate to the same size: ok\n");
	rc |= expect_err("fallocate past EOF", fallocate(fd, 0, 0, (off_t)size + (4 << 20)),
			 EPERM);
	rc |= expect_err("punch hole",
			 fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096),
			 EOPNOTSUPP);
	rc |= expect_err("zero range", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096), EOPNOTSUPP);
	close(fd);
	rc |= expect_err("open O_TRUNC", open(path, O_WRONLY | O_TRUNC), EPERM);
	if (file_size(path, &size) == 0)
		printf("sizes: size still %" PRIu64 "\n", size);
	return rc;
}

/* ------------------------------------------------------------ pending */

static int pending_rw(const char *path, int wfd, int rfd, uint64_t size, uint64_t seed)
{
	char *want = xmalloc(size), *have = xmalloc(size);
	int rc = 0;

	pattern(want, 0, size, seed);
	if (pwrite(wfd, want, size, 0) != (ssize_t)size)
		rc = fail("%s: pwrite: %s", path, strerror(errno));
	else if (pread(rfd, have, size, 0) != (ssize_t)size || memcmp(want, have, size))
		rc = fail("%s: pread does not return what was written", path);
	free(want);
	free(have);
	return rc;
}

/*
 * Files created on this mount are "pending" (no map) until the server
 * commits them at their last close, and CREATE is not OPEN: no map is
 * fetched for the creating descriptor.
 *   DIR/pending-dax: created, sized, closed, then opened again (that open
 *     fetches the map) before any I/O: it uses the map.
 *   DIR/pending-fuse: created, sized and written through the creating
 *     descriptor (the server's data path: no map yet); committed at close,
 *     when the server also drops the kernel's dentry, so the next open gets
 *     a new inode and reads through the map.
 */
static int cmd_pending(char **argv)
{
	const uint64_t size = 4 << 20, seed = strtoull(argv[1], NULL, 0);
	long g0 = counter(argv[0], "GET_FMAP"), w0 = counter(argv[0], "WRITE");
	long r0 = counter(argv[0], "READ"), g1, w1, r1, c0;
	char a[4096], b[4096];
	int fd1, fd2, rc = 0;

	snprintf(a, sizeof(a), "%s/pending-dax", argv[0]);
	snprintf(b, sizeof(b), "%s/pending-fuse", argv[0]);
	fd1 = open(a, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd1 < 0 || fallocate(fd1, 0, 0, size) < 0)
		return fail("%s: create and fallocate: %s", a, strerror(errno));
	close(fd1); /* the server commits (logs) a created file at its last close */
	fd2 = open(a, O_RDWR);
	if (fd2 < 0)
		return fail("%s: open: %s", a, strerror(errno));
	rc |= pending_rw(a, fd2, fd2, size, seed);
	close(fd2);
	g1 = counter(argv[0], "GET_FMAP");
	w1 = counter(argv[0], "WRITE");
	r1 = counter(argv[0], "READ");
	if (!rc && (g1 - g0 != 1 || w1 != w0 || r1 != r0))
		rc = fail("%s: %ld GET_FMAP, %ld WRITE, %ld READ; want 1, 0, 0", a, g1 - g0,
			  w1 - w0, r1 - r0);
	if (!rc)
		printf("pending: %s: sized through the creating fd, written and read through a "
		       "later one: 1 GET_FMAP (the later open), no READ/WRITE\n", a);

	c0 = settled_commits(argv[0]);
	fd1 = open(b, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (c0 < 0 || fd1 < 0 || ftruncate(fd1, size) < 0)
		return fail("%s: create and ftruncate: %s", b, strerror(errno));
	rc |= pending_rw(b, fd1, fd1, size, seed + 1);
	close(fd1);
	if (wait_commit(argv[0], c0))
		return 1;
	g1 = counter(argv[0], "GET_FMAP");
	w1 = counter(argv[0], "WRITE");
	r1 = counter(argv[0], "READ");
	fd2 = open(b, O_RDONLY);
	if (fd2 < 0)
		return fail("%s: open: %s", b, strerror(errno));
	{
		char *want = xmalloc(size), *have = xmalloc(size);

		pattern(want, 0, size, seed + 1);
		if (pread(fd2, have, size, 0) != (ssize_t)size || memcmp(want, have, size))
			rc |= fail("%s: a later open reads something else", b);
		free(want);
		free(have);
	}
	close(fd2);
	g0 = counter(argv[0], "GET_FMAP");
	w0 = counter(argv[0], "WRITE");
	r0 = counter(argv[0], "READ");
	if (!rc && (g0 - g1 != 1 || w0 != w1 || r0 != r1))
		rc = fail("%s: after the commit, %ld GET_FMAP, %ld WRITE, %ld READ; want 1, 0, 0", b,
			  g0 - g1, w0 - w1, r0 - r1);
	if (!rc)
		printf("pending: %s: written and read through the creating fd (the server's data "
		       "path), committed at close, then read through its map (1 GET_FMAP, no "
		       "READ)\n", b);
	return rc;
}

/* ------------------------------------------------------------ rofile */

static int cmd_rofile(char **argv)
{
	const char *path = argv[0];
	uint64_t size;
	char *p, first, again;
	int fd, rc = 0;

	if (file_size(path, &size))
		return 1;
	rc |= expect_err("open O_RDWR on a read-only mount", open(path, O_RDWR), EROFS);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("%s: open: %s", path, strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		munmap(p, size);
		rc |= fail("shared writable mmap of a read-only file succeeded");
	} else {
		rc |= expect_err("shared writable mmap", -1, EACCES);
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc |= fail("private writable mmap: %s", strerror(errno));
	} else {
		first = p[0];
		p[0] = (char)~first;
		munmap(p, size);
		if (pread(fd, &again, 1, 0) != 1 || again != first)
			rc |= fail("a private mapping's write reached the file");
		else
			printf("rofile: private writable mmap works and leaves the file alone\n");
	}
	close(fd);
	return rc;
}

/* -------------------------------------------------------------- touch */

static int cmd_touch(char **argv)
{
	bool wr = !strcmp(argv[1], "w");
	uint64_t step = strtoull(argv[2], NULL, 0), size, sum = 0;
	char *p;
	int fd;

	if (file_size(argv[0], &size) || !step)
		return 1;
	fd = open(argv[0], wr ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return fail("%s: open: %s", argv[0], strerror(errno));
	p = mmap(NULL, size, PROT_READ | (wr ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: mmap: %s", argv[0], strerror(errno));
	for (uint64_t o = 0; o < size; o += step) {
		volatile char *v = p + o;

		sum += (unsigned char)*v; /* a read fault ... */
		if (wr)
			*v = *v; /* ... then a write fault on the same page */
	}
	if (wr)
		msync(p, size, MS_SYNC);
	munmap(p, size);
	close(fd);
	printf("touch: %s: %" PRIu64 " bytes, every %" PRIu64 " (%s, sum %" PRIu64 ")\n",
	       argv[0], size, step, wr ? "read then write" : "read", sum);
	return 0;
}

/* ------------------------------------------------------------- poison */

static sigjmp_buf jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static int cmd_poison(char **argv)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p, buf[4096];
	ssize_t n = 0;
	int fd, i;

	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return fail("%s: open: %s", argv[0], strerror(errno));
	p = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: mmap: %s", argv[0], strerror(errno));
	(void)*(volatile char *)p; /* fault the page in */
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jump, 1) == 0) {
		if (madvise(p, (size_t)pg, MADV_HWPOISON) < 0)
			return fail("madvise(MADV_HWPOISON): %s", strerror(errno));
		printf("poison: memory failure injected into the first page of %s\n", argv[0]);
		(void)*(volatile char *)p;
		printf("poison: the old mapping still reads (no early kill)\n");
	} else {
		printf("poison: memory failure injected into the first page of %s; "
		       "SIGBUS for the process mapping it\n", argv[0]);
	}
	signal(SIGBUS, SIG_DFL);
	/* read() must fail, promptly, not hang (we are under the guest watchdog). */
	for (i = 0; i < 100; i++) {
		n = pread(fd, buf, sizeof(buf), 0);
		if (n < 0)
			break;
		usleep(100000);
	}
	if (n >= 0)
		return fail("%s: read() still succeeds after a memory failure", argv[0]);
	if (errno != EIO && errno != EHWPOISON)
		return fail("%s: read() after a memory failure: %s, want EIO or EHWPOISON",
			    argv[0], strerror(errno));
	printf("poison: read() of %s fails with %s\n", argv[0], strerror(errno));
	/* Only the failed range: the file's next page still reads. */
	n = pread(fd, buf, sizeof(buf), pg);
	if (n != (ssize_t)sizeof(buf))
		return fail("%s: read() of the page after the failed one: %s", argv[0],
			    n < 0 ? strerror(errno) : "short");
	printf("poison: the next page of %s still reads\n", argv[0]);
	return 0;
}

/* --------------------------------------------------------------- pin */

/* Pin the first page of @path into a new pipe (vmsplice of a shared mapping,
 * then munmap and close): *@rfd is the pipe's read end. */
static int pin_page(const char *path, int *rfd)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct iovec iov;
	int fd, p[2];
	char *m;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("%s: open: %s", path, strerror(errno));
	m = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return fail("%s: mmap: %s", path, strerror(errno));
	if (pipe(p) < 0)
		return fail("pipe: %s", strerror(errno));
	iov.iov_base = m;
	iov.iov_len = (size_t)pg;
	if (vmsplice(p[1], &iov, 1, 0) != pg)
		return fail("vmsplice: %s", strerror(errno));
	munmap(m, (size_t)pg);
	close(fd);
	close(p[1]);
	*rfd = p[0];
	return 0;
}

static int cmd_pinbg(char **argv)
{
	long secs = strtol(argv[1], NULL, 0);
	char buf[4096];
	int rfd = -1;
	pid_t pid;

	if (pin_page(argv[0], &rfd))
		return 1;
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		sleep((unsigned int)secs);
		if (read(rfd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			_exit(1);
		printf("pinbg: released the first page of %s\n", argv[0]);
		_exit(0);
	}
	close(rfd);
	printf("pinbg: first page of %s pinned by a pipe for %ld s (pid %d), unmapped and closed\n",
	       argv[0], secs, (int)pid);
	return 0;
}

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

static int cmd_fadvise(char **argv)
{
	static char a[65536], b[65536];
	struct statx st;
	ssize_t na, nb;
	int fd1, fd2;

	fd1 = open(argv[0], O_RDONLY);
	if (fd1 < 0)
		return fail("%s: open: %s", argv[0], strerror(errno));
	errno = posix_fadvise(fd1, 0, 0, POSIX_FADV_WILLNEED);
	if (errno)
		return fail("%s: fadvise: %s", argv[0], strerror(errno));
	fd2 = open(argv[0], O_RDONLY);
	if (fd2 < 0)
		return fail("%s: second open: %s", argv[0], strerror(errno));
	if (statx(fd2, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &st) < 0)
		return fail("%s: statx: %s", argv[0], strerror(errno));
	na = pread(fd1, a, sizeof(a), 0);
	nb = pread(fd2, b, sizeof(b), 0);
	if (na <= 0 || na != nb || memcmp(a, b, (size_t)na))
		return fail("%s: the two descriptors read different bytes (%zd, %zd)", argv[0], na, nb);
	printf("fadvise: %s: %s\n", argv[0],
	       !(st.stx_attributes_mask & STATX_ATTR_DAX) ? "unknown" :
	       (st.stx_attributes & STATX_ATTR_DAX) ? "dax" : "fuse");
	close(fd2);
	close(fd1);
	return 0;
}

static int cmd_pin(char **argv)
{
	long secs = strtol(argv[2], NULL, 0);
	int rfd, status;
	double t0, took;
	char buf[4096];
	pid_t pid;

	if (pin_page(argv[0], &rfd))
		return 1;
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) {
		sleep((unsigned int)secs);
		if (read(rfd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			_exit(1);
		_exit(0);
	}
	close(rfd);
	printf("pin: first page of %s pinned by a pipe for %ld s, unmapped and closed\n",
	       argv[0], secs);
	t0 = now();
	if (umount2(argv[1], 0) < 0)
		return fail("umount %s: %s", argv[1], strerror(errno));
	took = now() - t0;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("the pipe reader failed");
	if (took < (double)secs - 0.5)
		return fail("umount %s returned after %.1f s, while the page was pinned for %ld s",
			    argv[1], took, secs);
	printf("pin: umount (eviction) waited %.1f s, until the page was released\n", took);
	return 0;
}

/* ------------------------------------------------------------ writeas */

static int cmd_writeas(char **argv)
{
	unsigned int uid = (unsigned int)strtoul(argv[0], NULL, 0);
	char buf[4096];
	ssize_t n;
	int fd;

	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		return fail("dropping to uid %u: %s", uid, strerror(errno));
	fd = open(argv[1], O_WRONLY);
	if (fd < 0)
		return fail("%s: open O_WRONLY as uid %u: %s", argv[1], uid, strerror(errno));
	memset(buf, 'w', sizeof(buf));
	n = pwrite(fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)sizeof(buf))
		return fail("%s: pwrite as uid %u: %s", argv[1], uid,
			    n < 0 ? strerror(errno) : "short");
	if (close(fd) < 0)
		return fail("%s: close: %s", argv[1], strerror(errno));
	printf("writeas: uid %u wrote %zu bytes at offset 0 of %s\n", uid, sizeof(buf), argv[1]);
	return 0;
}

/* ------------------------------------------------------------ relwb */

static int marker_fd = -1;

/* A line in the kernel's trace (ordering against trace events). */
static void trace_marker(const char *text)
{
	if (marker_fd < 0)
		marker_fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY);
	if (marker_fd >= 0 && write(marker_fd, text, strlen(text)) < 0)
		fprintf(stderr, "vmtool: trace_marker: %s\n", strerror(errno));
}

static int cmd_relwb(char **argv)
{
	uint64_t seed = strtoull(argv[1], NULL, 0), size;
	bool close_first = !strcmp(argv[2], "close-first");
	char *p;
	int fd;

	if (!close_first && strcmp(argv[2], "unmap-first"))
		return fail("relwb: ORDER is close-first or unmap-first");
	if (file_size(argv[0], &size) || !size)
		return fail("%s: needs a non-empty file", argv[0]);
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: open O_RDWR: %s", argv[0], strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: mmap rw: %s", argv[0], strerror(errno));
	if (close_first && close(fd) < 0)
		return fail("%s: close: %s", argv[0], strerror(errno));
	pattern(p, 0, size, seed);
	if (!close_first && munmap(p, size) < 0)
		return fail("%s: munmap: %s", argv[0], strerror(errno));
	trace_marker("vmtool: last release begin");
	if (close_first ? munmap(p, size) : close(fd))
		return fail("%s: %s: %s", argv[0], close_first ? "munmap" : "close",
			    strerror(errno));
	trace_marker("vmtool: last release end");
	printf("relwb: %s: %" PRIu64 " bytes of pattern %s written through a shared mapping, "
	       "released by %s\n", argv[0], size, argv[1], close_first ? "munmap" : "close");
	return 0;
}

/* ------------------------------------------------------------ rowrite */

static int cmd_rowrite(char **argv)
{
	volatile char *p;
	char buf[4096];
	uint64_t size;
	int fd;
	volatile int rc = 0;

	if (file_size(argv[0], &size) || size < sizeof(buf))
		return fail("%s: needs a file of 4 KiB or more", argv[0]);
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: open O_RDWR: %s", argv[0], strerror(errno));
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		rc |= fail("%s: read: %s", argv[0], strerror(errno));
	rc |= expect_err("write() to a file on a read-only device",
			 (long)pwrite(fd, buf, sizeof(buf), 0), EROFS);
	p = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		signal(SIGBUS, on_sigbus);
		if (sigsetjmp(jump, 1) == 0)
			p[0] = (char)~p[0];
		signal(SIGBUS, SIG_DFL);
		munmap((void *)p, sizeof(buf));
		close(fd);
		return fail("%s: a shared writable mapping on a read-only device was allowed",
			    argv[0]);
	}
	rc |= expect_err("a shared writable mmap on a read-only device", -1, EROFS);
	p = mmap(NULL, sizeof(buf), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: a shared read-only mmap: %s", argv[0], strerror(errno));
	if (memcmp((const void *)p, buf, sizeof(buf)))
		rc |= fail("%s: the mapping reads other bytes than read()", argv[0]);
	rc |= expect_err("mprotect(PROT_WRITE) of that mapping",
			 (long)mprotect((void *)p, sizeof(buf), PROT_READ | PROT_WRITE), EACCES);
	munmap((void *)p, sizeof(buf));
	close(fd);
	return rc;
}

/* ------------------------------------------------------------- rolate */

static int set_ro(int devfd, int ro)
{
	return ioctl(devfd, BLKROSET, &ro);
}

static int cmd_rolate(char **argv)
{
	volatile char *p;
	char buf[4096];
	int fd, devfd;
	volatile int rc = 0;

	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: open O_RDWR: %s", argv[0], strerror(errno));
	devfd = open(argv[1], O_RDONLY);
	if (devfd < 0)
		return fail("%s: %s", argv[1], strerror(errno));
	p = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: mmap rw while the device is writable: %s", argv[0],
			    strerror(errno));
	if (set_ro(devfd, 1))
		return fail("%s: BLKROSET 1: %s", argv[1], strerror(errno));
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jump, 1) == 0) {
		p[0] = (char)~p[0];
		rc |= fail("%s: a store after the device was made read-only worked", argv[0]);
	} else {
		printf("ok: a store after the device was made read-only: SIGBUS, as documented\n");
	}
	signal(SIGBUS, SIG_DFL);
	memset(buf, 0, sizeof(buf));
	rc |= expect_err("write() after the device was made read-only",
			 (long)pwrite(fd, buf, sizeof(buf), 0), EROFS);
	if (set_ro(devfd, 0))
		rc |= fail("%s: BLKROSET 0: %s", argv[1], strerror(errno));
	munmap((void *)p, sizeof(buf));
	close(devfd);
	close(fd);
	return rc;
}

/* ---------------------------------------------------------- fallocrace */

static int cmd_fallocrace(char **argv)
{
	int fd, status, i, ret, err;
	uint64_t size;
	struct stat st;
	pid_t pid;

	if (file_size(argv[0], &size))
		return 1;
	unlink(argv[1]);
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: first open: %s", argv[0], strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd2 = open(argv[0], O_RDONLY);

		_exit(fd2 < 0 ? 1 : 0);
	}
	/* the child's GET_FMAP is in flight (the server says so) */
	for (i = 0; i < 300 && access(argv[1], F_OK) < 0; i++)
		usleep(100000);
	if (i == 300)
		return fail("%s: the server never got the second GET_FMAP", argv[0]);
	ret = fallocate(fd, 0, 0, (off_t)(2 * size));
	err = errno;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("%s: the second open failed", argv[0]);
	if (fstat(fd, &st) < 0)
		return fail("%s: fstat: %s", argv[0], strerror(errno));
	close(fd);
	printf("fallocrace: fallocate(0, %" PRIu64 ") while another open mapped the file: %s; "
	       "size %lld\n", 2 * size, ret ? strerror(err) : "done", (long long)st.st_size);
	if ((uint64_t)st.st_size != size)
		return fail("%s: a mapped file's size changed from %" PRIu64 " to %lld", argv[0],
			    size, (long long)st.st_size);
	if (ret == 0)
		return fail("%s: fallocate past the end of a mapped file succeeded", argv[0]);
	return 0;
}

/* ---------------------------------------------------------- nsattack */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The child: an unprivileged user with its own namespaces. */
static int nsattack_child(char **argv)
{
	struct stat dev, other;
	char *want = NULL, *got = NULL;
	ssize_t wn, gn;

	if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0)
		return fail("dropping to uid 1000: %s", strerror(errno));
	/* a uid change made us non-dumpable: /proc/self/ would be root's */
	prctl(PR_SET_DUMPABLE, 1);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return fail("unshare(CLONE_NEWUSER | CLONE_NEWNS) as uid 1000: %s", strerror(errno));
	if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", "0 1000 1") ||
	    write_file("/proc/self/gid_map", "0 1000 1"))
		return fail("writing the id maps: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("mount --make-rprivate /: %s", strerror(errno));
	if (mount(argv[3], argv[2], NULL, MS_BIND, NULL) < 0)
		return fail("mount --bind %s %s: %s", argv[3], argv[2], strerror(errno));
	if (stat(argv[2], &dev) < 0 || stat(argv[3], &other) < 0 || dev.st_rdev != other.st_rdev)
		return fail("the bind mount did not take %s's place", argv[2]);
	printf("nsattack: uid 1000 in its own user+mount namespace: %s is now %u:%u (%s)\n",
	       argv[2], major(dev.st_rdev), minor(dev.st_rdev), argv[3]);
	wn = slurp(argv[1], &want);
	if (wn < 0)
		return fail("%s: %s", argv[1], strerror((int)-wn));
	gn = slurp(argv[0], &got);
	if (gn < 0)
		return fail("%s: first open and read as that user: %s", argv[0], strerror((int)-gn));
	if (gn != wn || memcmp(want, got, (size_t)wn))
		return fail("%s read as that user differs from %s: the kernel used another device",
			    argv[0], argv[1]);
	printf("nsattack: %s read as that user: %zd bytes, equal to %s\n", argv[0], gn, argv[1]);
	return 0;
}

static int cmd_nsattack(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) {
		fflush(stdout);
		_exit(nsattack_child(argv));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return fail("nsattack child died");
	return WEXITSTATUS(status);
}

/* ----------------------------------------------------------- liesize */

static __attribute__((noinline)) uint64_t touch_all(const char *p, uint64_t size)
{
	uint64_t sum = 0;

	for (uint64_t o = 0; o < size; o += 4096)
		sum += (unsigned char)((volatile const char *)p)[o];
	return sum;
}

static int cmd_liesize(char **argv)
{
	uint64_t size = strtoull(argv[1], NULL, 0), sum1, sum2;
	struct stat st;
	char *p, buf[4096];
	int fd = open(argv[0], O_RDONLY);

	if (fd < 0)
		return fail("%s: open: %s", argv[0], strerror(errno));
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("%s: mmap: %s", argv[0], strerror(errno));
	sum1 = touch_all(p, size);
	for (int i = 0; i < 3; i++)
		if (stat(argv[0], &st) < 0)
			return fail("%s: stat: %s", argv[0], strerror(errno));
	if ((uint64_t)st.st_size != size)
		return fail("%s: size %lld after the server said %" PRIu64 ", want %" PRIu64, argv[0],
			    (long long)st.st_size, size / 2, size);
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jump, 1))
		return fail("%s: SIGBUS in the mapping after the server lied about the size",
			    argv[0]);
	sum2 = touch_all(p, size);
	signal(SIGBUS, SIG_DFL);
	if (sum1 != sum2)
		return fail("%s: the mapping changed", argv[0]);
	if (pread(fd, buf, sizeof(buf), (off_t)(size - sizeof(buf))) != (ssize_t)sizeof(buf))
		return fail("%s: read() at the end: %s", argv[0], strerror(errno));
	printf("liesize: %s: the server said %" PRIu64 " bytes, the kernel kept %" PRIu64
	       " and the whole mapping\n", argv[0], size / 2, size);
	munmap(p, size);
	close(fd);
	return 0;
}

/* -------------------------------------------------------------- mbox */

static int cmd_mbox(char **argv, int argc)
{
	char *blk = xmalloc(ALIGN_DIO);
	bool put = !strcmp(argv[1], "put");
	int fd = open(argv[0], (put ? O_RDWR : O_RDONLY) | O_DIRECT);
	off_t end;

	if (fd < 0)
		return fail("%s: open: %s", argv[0], strerror(errno));
	end = lseek(fd, 0, SEEK_END);
	if (end < ALIGN_DIO)
		return fail("%s: no size", argv[0]);
	memset(blk, 0, ALIGN_DIO);
	if (put) {
		if (argc != 3)
			return fail("mbox put needs TEXT");
		snprintf(blk, ALIGN_DIO, "%s\n", argv[2]);
		if (pwrite(fd, blk, ALIGN_DIO, end - ALIGN_DIO) != ALIGN_DIO)
			return fail("%s: mailbox write: %s", argv[0], strerror(errno));
	} else {
		if (pread(fd, blk, ALIGN_DIO, end - ALIGN_DIO) != ALIGN_DIO)
			return fail("%s: mailbox read: %s", argv[0], strerror(errno));
		blk[ALIGN_DIO - 1] = '\0';
		blk[strcspn(blk, "\n")] = '\0';
		puts(blk);
	}
	close(fd);
	return 0;
}

/* -------------------------------------------------------------- bench */

#define PASS_SECONDS 0.5
#define PASS_REPEAT 2 /* best of: TCG timing is noisy */

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* One pass: @bs-byte blocks over [0, len), sequential or random; returns MiB/s. */
static double pass_mem(char *base, uint64_t len, uint64_t bs, bool wr, bool rnd, char *blk)
{
	uint64_t nblk = len / bs, i;
	double t0 = now();

	for (i = 0; i < nblk; i++) {
		uint64_t b = rnd ? next_rand() % nblk : i;

		if ((bs > 65536 || (i & 255) == 255) && now() - t0 > PASS_SECONDS)
			break;
		if (wr)
			memcpy(base + b * bs, blk, bs);
		else
			memcpy(blk, base + b * bs, bs);
	}
	return (double)i * (double)bs / (1 << 20) / (now() - t0);
}

static double pass_io(int fd, uint64_t len, uint64_t bs, bool wr, bool rnd, char *blk)
{
	uint64_t nblk = len / bs, i;
	double t0 = now();

	for (i = 0; i < nblk; i++) {
		uint64_t b = rnd ? next_rand() % nblk : i;
		ssize_t n;

		if ((bs > 65536 || (i & 255) == 255) && now() - t0 > PASS_SECONDS)
			break;
		n = wr ? pwrite(fd, blk, bs, (off_t)(b * bs)) : pread(fd, blk, bs, (off_t)(b * bs));
		if (n != (ssize_t)bs) {
			fprintf(stderr, "vmtool: bench I/O at block %" PRIu64 ": %s\n", b,
				n < 0 ? strerror(errno) : "short");
			exit(1);
		}
	}
	return (double)i * (double)bs / (1 << 20) / (now() - t0);
}

/*
 * One timed pass on a fresh open (and mapping): a page-cache FUSE file
 * starts cold each time (the server drops the cache at open), a DAX file
 * or device faults its mapping in as part of the pass. Mapped writes are
 * msync'ed after the timing. Returns MiB/s, or -1 if the file cannot be
 * mapped (FOPEN_DIRECT_IO on Linux 6.1).
 */
static double pass(const char *path, uint64_t len, uint64_t bs, bool map, bool wr, bool rnd,
		   char *blk)
{
	int fd = open(path, O_RDWR);
	double mbs;
	char *p;

	if (fd < 0) {
		fprintf(stderr, "vmtool: bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (!map) {
		mbs = pass_io(fd, len, bs, wr, rnd, blk);
		close(fd);
		return mbs;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	mbs = pass_mem(p, len, bs, wr, rnd, blk);
	if (wr)
		msync(p, len, MS_SYNC); /* not timed */
	munmap(p, len);
	close(fd);
	return mbs;
}

/*
 * bench FILE MB: sequential and random read and write of 4 KiB and 1 MiB
 * blocks through pread/pwrite and through a shared mapping, over the first
 * MB MiB of FILE. Best of 2 passes of at most ~0.5 s each; prints
 * "BENCH FILE io|mmap seq-read|... 4k|1m MiB/s".
 */
static int cmd_bench(char **argv)
{
	static const char *const names[4] = {"seq-read", "rand-read", "seq-write", "rand-write"};
	static const uint64_t sizes[2] = {4096, 1 << 20};
	uint64_t len = strtoull(argv[1], NULL, 0) << 20;
	char *blk = xmalloc(1 << 20);
	struct stat st;

	if (stat(argv[0], &st) < 0)
		return fail("%s: %s", argv[0], strerror(errno));
	memset(blk, 0x5a, 1 << 20);
	/* Warm-up, not measured: the first touch of the emulated device's
	 * backing memory costs the host a page fault per page. */
	if (pass(argv[0], len, 1 << 20, true, true, false, blk) < 0)
		pass(argv[0], len, 1 << 20, false, true, false, blk);
	for (int m = 0; m < 2; m++)
		for (int z = 0; z < 2; z++)
			for (int k = 0; k < 4; k++) {
				double mbs = -1;

				for (int r = 0; r < PASS_REPEAT; r++) {
					double x = pass(argv[0], len, sizes[z], m == 1, k >= 2, k & 1,
							blk);

					if (x > mbs)
						mbs = x;
				}
				if (mbs < 0)
					printf("BENCH %s %s %s %s n/a\n", argv[0], m ? "mmap" : "io",
					       names[k], z ? "1m" : "4k");
				else
					printf("BENCH %s %s %s %s %.1f\n", argv[0], m ? "mmap" : "io",
					       names[k], z ? "1m" : "4k", mbs);
				fflush(stdout);
			}
	return 0;
}

/* --------------------------------------------------------------- main */

static const struct {
	const char *name;
	int nargs;
	int (*fn)(char **argv);
} cmds[] = {
	{"verify", 3, cmd_verify}, {"xattr", 2, cmd_xattr}, {"stat", 2, cmd_stat},
	{"fstype", 1, cmd_fstype}, {"fill", 3, cmd_fill},   {"check", 3, cmd_check},
	{"sizes", 1, cmd_sizes},   {"rofile", 1, cmd_rofile}, {"touch", 3, cmd_touch},
	{"poison", 1, cmd_poison}, {"bench", 2, cmd_bench},   {"pending", 2, cmd_pending},
	{"pin", 3, cmd_pin},	   {"nsattack", 4, cmd_nsattack}, {"liesize", 2, cmd_liesize},
	{"pinbg", 2, cmd_pinbg},   {"fadvise", 1, cmd_fadvise}, {"writeas", 2, cmd_writeas},
	{"relwb", 3, cmd_relwb},   {"rowrite", 1, cmd_rowrite}, {"fallocrace", 2, cmd_fallocrace},
	{"rolate", 2, cmd_rolate},
};

int main(int argc, char **argv)
{
	if (argc >= 4 && argc <= 5 && !strcmp(argv[1], "mbox"))
		return cmd_mbox(argv + 2, argc - 2);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			if (argc - 2 != cmds[i].nargs) {
				fprintf(stderr, "vmtool %s: needs %d arguments (see the source)\n",
					argv[1], cmds[i].nargs);
				return 2;
			}
			return cmds[i].fn(argv + 2);
		}
	fprintf(stderr, "usage: vmtool COMMAND ARGS... (commands: see test/vm/vmtool.c)\n");
	return 2;
}
