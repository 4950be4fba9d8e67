// SPDX-License-Identifier: GPL-2.0
/*
 * daxtool - the famfs_dax guest cases' helper (static binary, built by
 * vmtest.sh, installed as /usr/bin/daxtool): patterns on a DAX character
 * device through a shared mmap (device_dax) or read()/write() (famfs_dax),
 * errno checks, and the binding timer.
 *
 * Usage: daxtool COMMAND ARGS...
 *   fill DEV SEED OFF LEN mmap|rw   write a pattern over [OFF, OFF+LEN)
 *   check DEV SEED OFF LEN mmap|rw  the range holds that pattern
 *   expect-errno DEV ERRNO open|read|mmap
 *                                   the operation on DEV fails with ERRNO
 *                                   (a name: ENXIO, ENODEV, EIO, ...)
 *   held-read DEV FIFO              open DEV, read 4 KiB, then wait for a
 *                                   line on FIFO, read again and print the
 *                                   result ("ok" or the errno name)
 *   map-hold FILE FIFO              open FILE, map it shared, read its first
 *                                   page through both; wait for a line on
 *                                   FIFO; then read through the mapping
 *                                   (prints "mmap: SIGBUS" or "mmap: ok")
 *                                   and read() (prints "read: ok" or the
 *                                   errno name)
 *   bench PATH MB BS [OFFMB]        numbers, not a test: sequential and random
 *                                   read and write MiB/s in BS-byte blocks over
 *                                   MB MiB of PATH from OFFMB MiB on, through
 *                                   pread/pwrite ("io"; not on a character
 *                                   device) and through a shared mapping at a
 *                                   2 MiB-aligned address ("mmap"); each pass
 *                                   opens and maps afresh (faults included),
 *                                   covers the range once or runs ~1 s, best
 *                                   of 3; prints
 *                                   "BENCH io|mmap seq-read|... BS MiB/s" lines
 *   write-file FILE TEXT            open(O_WRONLY) + one write(): sysfs
 *                                   attributes, with the error reported
 *   time-write FILE TEXT            the same, printing the milliseconds it took
 * OFF and LEN take K/M/G suffixes.  Exit status: 0 pass, 1 fail, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *name;
	int err;
} errnames[] = {
	{"ENXIO", ENXIO}, {"ENODEV", ENODEV}, {"EIO", EIO},	    {"EINVAL", EINVAL},
	{"EBUSY", EBUSY}, {"ENOENT", ENOENT}, {"EFAULT", EFAULT}, {"EHWPOISON", EHWPOISON},
};

static const char *errname(int err)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return strerror(err);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G':
		v <<= 10;
		/* fallthrough */
	case 'M':
		v <<= 10;
		/* fallthrough */
	case 'K':
		v <<= 10;
	}
	return v;
}

/* The pattern: one 64-bit word per 8 device bytes, from seed and offset. */
static uint64_t word(uint64_t seed, uint64_t off)
{
	return (off / 8 + 1) * 0x9e3779b97f4a7c15ULL ^ (seed * 0xbf58476d1ce4e5b9ULL);
}

static int pattern(int argc, char **argv, bool fill)
{
	const char *dev = argv[1];
	uint64_t seed = strtoull(argv[2], NULL, 0), off = parse_size(argv[3]);
	uint64_t len = parse_size(argv[4]), bad = 0, i;
	bool map = !strcmp(argv[5], "mmap");
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t moff = off & ~(uint64_t)(2 * 1024 * 1024 - 1), mlen;
	uint64_t *buf;
	char *base;
	int fd;

	(void)argc;
	if (off % 8 || len % 8 || !len)
		return fprintf(stderr, "daxtool: OFF and LEN must be multiples of 8\n"), 2;
	fd = open(dev, fill ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return fprintf(stderr, "daxtool: %s: open: %s\n", dev, strerror(errno)), 1;
	if (map) {
		/* device_dax wants 2 MiB-aligned mappings of whole 2 MiB units */
		mlen = (off + len - moff + 2 * 1024 * 1024 - 1) & ~(uint64_t)(2 * 1024 * 1024 - 1);
		base = mmap(NULL, mlen, PROT_READ | (fill ? PROT_WRITE : 0), MAP_SHARED, fd, moff);
		if (base == MAP_FAILED)
			return fprintf(stderr, "daxtool: %s: mmap: %s\n", dev, strerror(errno)), 1;
		buf = (uint64_t *)(base + (off - moff));
	} else {
		buf = aligned_alloc(pg, (len + pg - 1) / pg * pg);
		if (!buf)
			return 1;
		if (!fill) {
			ssize_t n = pread(fd, buf, len, off);

			if (n != (ssize_t)len)
				return fprintf(stderr, "daxtool: %s: pread at %#" PRIx64 ": %s\n", dev,
					       off, n < 0 ? errname(errno) : "short"),
				       1;
		}
	}
	for (i = 0; i < len / 8; i++) {
		uint64_t w = word(seed, off + i * 8);

		if (fill)
			buf[i] = w;
		else if (buf[i] != w && bad++ < 3)
			fprintf(stderr, "daxtool: %s: offset %#" PRIx64 ": %#" PRIx64 ", want %#" PRIx64 "\n",
				dev, off + i * 8, buf[i], w);
	}
	if (fill && !map && pwrite(fd, buf, len, off) != (ssize_t)len)
		return fprintf(stderr, "daxtool: %s: pwrite: %s\n", dev, strerror(errno)), 1;
	if (fill && !map && fsync(fd))
		return fprintf(stderr, "daxtool: %s: fsync: %s\n", dev, strerror(errno)), 1;
	if (bad)
		return fprintf(stderr, "daxtool: %s: %" PRIu64 " words differ\n", dev, bad), 1;
	printf("daxtool: %s %s [%#" PRIx64 ", +%#" PRIx64 ") seed %" PRIu64 " via %s\n", dev,
	       fill ? "filled" : "checked", off, len, seed, map ? "mmap" : "read/write");
	return 0;
}

static int want_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (!strcmp(errnames[i].name, name))
			return errnames[i].err;
	return atoi(name);
}

static int expect_errno(char **argv)
{
	int want = want_errno(argv[2]), fd, got = 0;
	char buf[4096];

	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		got = errno;
	} else if (!strcmp(argv[3], "read")) {
		if (pread(fd, buf, sizeof(buf), 0) < 0)
			got = errno;
	} else if (!strcmp(argv[3], "mmap")) {
		if (mmap(NULL, 2 << 20, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			got = errno;
	}
	if (got != want)
		return fprintf(stderr, "daxtool: %s: %s gave %s, want %s\n", argv[1], argv[3],
			       got ? errname(got) : "success", argv[2]),
		       1;
	printf("daxtool: %s: %s fails with %s\n", argv[1], argv[3], argv[2]);
	return 0;
}

static int held_read(char **argv)
{
	char buf[4096], line[64];
	int fd = open(argv[1], O_RDONLY);
	FILE *fifo;

	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return fprintf(stderr, "daxtool: %s: %s\n", argv[1], strerror(errno)), 1;
	printf("daxtool: %s open and read\n", argv[1]);
	fflush(stdout);
	fifo = fopen(argv[2], "r");
	if (!fifo || !fgets(line, sizeof(line), fifo))
		return fprintf(stderr, "daxtool: %s: %s\n", argv[2], strerror(errno)), 1;
	if (pread(fd, buf, sizeof(buf), 0) < 0)
		printf("held-read: %s\n", errname(errno));
	else
		printf("held-read: ok\n");
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A shared mapping of [off, off+len) of fd at a 2 MiB-aligned address (PMDs possible). */
static char *map_aligned(int fd, uint64_t off, uint64_t len)
{
	char *p = mmap(NULL, len + (2 << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, (off_t)off) == MAP_FAILED)
		return NULL;
	return a;
}

/* One pass; MiB/s. */
static double bench_pass(const char *path, uint64_t off, uint64_t len, uint64_t bs, bool map,
			 bool wr, bool rnd, char *buf)
{
	uint64_t n = len / bs, i;
	int fd = open(path, O_RDWR);
	char *p = NULL;
	double t0;

	if (fd < 0 || (map && !(p = map_aligned(fd, off, len)))) {
		fprintf(stderr, "daxtool: bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		uint64_t b = (rnd ? next_rand() : i) % n;

		if ((i & 15) == 15 && now() - t0 > 1.0)
			break;
		if (map && wr)
			memcpy(p + b * bs, buf, bs);
		else if (map)
			memcpy(buf, p + b * bs, bs);
		else if ((wr ? pwrite(fd, buf, bs, (off_t)(off + b * bs))
			     : pread(fd, buf, bs, (off_t)(off + b * bs))) != (ssize_t)bs) {
			fprintf(stderr, "daxtool: bench: %s: I/O at %" PRIu64 ": %s\n", path, b * bs,
				strerror(errno));
			exit(1);
		}
	}
	t0 = now() - t0;
	if (map) {
		if (wr)
			msync(p, len, MS_SYNC); /* not timed */
		munmap(p, len);
	}
	close(fd);
	return (double)i * (double)bs / (1 << 20) / t0;
}

static int bench(char **argv)
{
	static const char *const names[4] = {"seq-read", "rand-read", "seq-write", "rand-write"};
	uint64_t len = parse_size(argv[1]) << 20, bs = parse_size(argv[2]);
	uint64_t off = argv[3] ? parse_size(argv[3]) << 20 : 0;
	struct stat st;
	char *buf;

	if (stat(argv[0], &st) < 0 || !bs || len % bs || bs % 4096)
		return fprintf(stderr, "daxtool: bench %s: bad arguments\n", argv[0]), 2;
	buf = aligned_alloc(4096, bs > (1 << 20) ? bs : 1 << 20); /* the warm-up's 1 MiB too */
	if (!buf)
		return 1;
	memset(buf, 0x5a, bs > (1 << 20) ? bs : 1 << 20);
	/* warm-up, not measured: the first touch of the emulated device's
	 * backing memory costs the host a page fault per page */
	bench_pass(argv[0], off, len, 1 << 20, true, true, false, buf);
	for (int m = 0; m < 2; m++) {
		if (m == 0 && S_ISCHR(st.st_mode))
			continue;
		for (int k = 0; k < 4; k++) {
			double best = 0;

			for (int r = 0; r < 3; r++) {
				double x = bench_pass(argv[0], off, len, bs, m == 1, k >= 2, k & 1, buf);

				best = x > best ? x : best;
			}
			printf("BENCH %s %s %" PRIu64 " %.1f\n", m ? "mmap" : "io", names[k], bs, best);
		}
	}
	return 0;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static int map_hold(char **argv)
{
	char buf[4096], line[64];
	volatile char c = 0;
	volatile char *p;
	FILE *fifo;
	int fd = open(argv[1], O_RDONLY);

	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) <= 0)
		return fprintf(stderr, "daxtool: %s: %s\n", argv[1], strerror(errno)), 1;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fprintf(stderr, "daxtool: %s: mmap: %s\n", argv[1], strerror(errno)), 1;
	c = p[0];
	if (c != buf[0])
		return fprintf(stderr, "daxtool: %s: mapping and read() differ\n", argv[1]), 1;
	printf("daxtool: %s mapped and read\n", argv[1]);
	fflush(stdout);
	fifo = fopen(argv[2], "r");
	if (!fifo || !fgets(line, sizeof(line), fifo))
		return fprintf(stderr, "daxtool: %s: %s\n", argv[2], strerror(errno)), 1;
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(bus_jmp, 1) == 0) {
		c = p[0];
		printf("mmap: ok\n");
	} else {
		printf("mmap: SIGBUS\n");
	}
	if (pread(fd, buf, sizeof(buf), 0) < 0)
		printf("read: %s\n", errname(errno));
	else
		printf("read: ok\n");
	return 0;
}

static int write_file(char **argv, bool timed)
{
	struct timespec t0, t1;
	int fd = open(argv[1], O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return fprintf(stderr, "daxtool: %s: %s\n", argv[1], strerror(errno)), 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = write(fd, argv[2], strlen(argv[2]));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n != (ssize_t)strlen(argv[2]))
		return fprintf(stderr, "daxtool: write '%s' to %s: %s\n", argv[2], argv[1],
			       n < 0 ? strerror(errno) : "short"),
		       1;
	close(fd);
	if (timed)
		printf("%.0f\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "fill"))
		return pattern(argc - 1, argv + 1, true);
	if (argc == 7 && !strcmp(argv[1], "check"))
		return pattern(argc - 1, argv + 1, false);
	if (argc == 5 && !strcmp(argv[1], "expect-errno"))
		return expect_errno(argv + 1);
	if (argc == 4 && !strcmp(argv[1], "held-read"))
		return held_read(argv + 1);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "bench"))
		return bench(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "map-hold"))
		return map_hold(argv + 1);
	if (argc == 4 && !strcmp(argv[1], "write-file"))
		return write_file(argv + 1, false);
	if (argc == 4 && !strcmp(argv[1], "time-write"))
		return write_file(argv + 1, true);
	fprintf(stderr, "usage: see the header of test/vm/daxtool.c\n");
	return 2;
}
