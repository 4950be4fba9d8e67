// SPDX-License-Identifier: GPL-2.0
/*
 * evilfs - a famfs server that breaks the rules, for the qemu guests: it
 * speaks the raw FUSE protocol on /dev/famfs (no libfuse), serves one file
 * "f" of SIZE bytes mapped at offset 0 of DEV, and lies the way MODE says.
 * The kernel (famfs.ko) must not believe it.
 *
 * Usage: evilfs MNT DEV SIZE MODE [DEV2]   (runs in the background once mounted)
 *   MODE lie       after the file's first OPEN, every attribute reply says
 *                  it is half its size: a mapped file keeps its size and its
 *                  mapping (no truncation behind the fault lock)
 *   MODE setid     attributes carry mode 06755: never honoured
 *   MODE unreg     the fmap names device index 1, which nobody registered:
 *                  the open fails with EIO
 *   MODE beyond    the fmap's extent lies past the end of DEV: EIO
 *   MODE share     honest; run twice on one DEV (two mounts of one device on
 *                  one host): the kernel gives DAX to the first only, the
 *                  second's registration gets EOPNOTSUPP and this server
 *                  then registers the device as its own (READ from DEV)
 *   MODE create    atomic O_TRUNC offered, and a CREATE of any name answers
 *                  with "f" (nodeid 2) opened: the kernel must not cut the
 *                  mapped file to size 0
 *   MODE store     each STATFS first sends a NOTIFY_STORE of one page just
 *                  past the end of "f": refused for a mapped file (it would
 *                  grow it and put page cache into its DAX mapping)
 *   MODE late      the first GET_FMAP says ENODATA (not sized yet), later
 *                  ones send the map: a file opened before its map
 *   MODE commit    honest, and "f" counts as a file the server commits at
 *                  its RELEASE: each RELEASE writes "evilfs: RELEASE ...
 *                  (commit)" to the trace (trace_marker), so a test can
 *                  order the kernel's writeback of the file's dirty DAX
 *                  lines against the commit
 *   MODE fallocrace  the first GET_FMAP says ENODATA; the second creates
 *                  /tmp/evilfs-getfmap and answers after 2 s, with the
 *                  map; FALLOCATE succeeds (and would grow the file): a
 *                  fallocate racing with the open that maps the file
 *   MODE rofd      honest, but DEV is opened and registered read-only on a
 *                  read-write mount: writes to "f" fail (EROFS, SIGBUS)
 *   MODE stripe2   two devices: DEV registered as index 0, DEV2 as index 1;
 *                  "f" (SIZE bytes) is striped over both (2 MiB chunks,
 *                  each strip at offset 0), "g" (SIZE bytes) lies on
 *                  device 1 only, at 16 MiB
 * Every mode answers READ from DEV (the FUSE data path).
 * Exit status: 0 when the kernel unmounts it (DESTROY or ENODEV), 1 on
 * errors (stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "famfs_kabi.h"

#define FILE_INO 2
#define G_INO	 3 /* stripe2: "g", on device 1 */
#define MiB	 (1ULL << 20)

static uint64_t size, devsize;
static const char *mode;
static bool opened;
static int getfmaps;
static int marker = -1;

static bool is(const char *m)
{
	return !strcmp(mode, m);
}

static void attr_of(uint64_t ino, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | (strcmp(mode, "setid") ? 0644 : 06755);
	a->size = !strcmp(mode, "lie") && opened ? size / 2 : size;
	a->blocks = a->size / 512;
}

static void reply(int fd, uint64_t unique, int error, const void *p, size_t len)
{
	struct fuse_out_header h = {.len = sizeof(h) + (error ? 0 : len), .error = -error,
				    .unique = unique};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, len}};

	if (writev(fd, iov, error || !len ? 1 : 2) < 0 && errno != ENOENT)
		perror("evilfs: writev");
}

/* The fmap of "f" striped over devices 0 and 1: one interleaved extent. */
static size_t fmap_striped(unsigned char *b)
{
	uint64_t chunks = (size + 2 * MiB - 1) / (2 * MiB);

	memset(b, 0, 104);
	*(uint16_t *)(b + 2) = 1;	     /* fmap_version */
	*(uint32_t *)(b + 4) = 1;	     /* ext_type: interleave */
	*(uint32_t *)(b + 8) = 1;	     /* nextents */
	*(uint64_t *)(b + 16) = size;	     /* file_size */
	*(uint32_t *)(b + 32) = 2;	     /* nstrips */
	*(uint32_t *)(b + 36) = 2 * MiB;     /* chunk_size */
	*(uint64_t *)(b + 40) = chunks * 2 * MiB; /* nbytes */
	for (int i = 0; i < 2; i++) {
		unsigned char *st = b + 56 + 24 * i;

		*(uint32_t *)st = (uint32_t)i;			 /* devindex */
		*(uint64_t *)(st + 16) = (chunks + 1) / 2 * 2 * MiB; /* len */
	}
	return 104;
}

/* The fmap of a file: one simple extent (fmap/fmap.h, docs/fmap-codec.md). */
static size_t fmap_of(uint64_t ino, unsigned char *b)
{
	uint64_t len = (size + 0x1fffff) & ~0x1fffffULL, off = 0;
	uint32_t one = 1, dev = 0;

	if (is("stripe2") && ino == FILE_INO)
		return fmap_striped(b);
	if (is("stripe2")) {
		dev = 1;
		off = 16 * MiB;
	}
	if (!strcmp(mode, "beyond"))
		off = (devsize + 0x1fffff) & ~0x1fffffULL;
	if (!strcmp(mode, "unreg"))
		dev = 1;
	memset(b, 0, 56);
	*(uint16_t *)(b + 2) = 1;	/* fmap_version */
	*(uint32_t *)(b + 8) = one;	/* nextents */
	*(uint64_t *)(b + 16) = size;	/* file_size */
	*(uint32_t *)(b + 32) = dev;	/* devindex */
	*(uint64_t *)(b + 40) = off;
	*(uint64_t *)(b + 48) = len;
	return 56;
}

/* NOTIFY_STORE of one page at the end of "f"; the kernel's answer is printed. */
static void notify_store(int fd)
{
	static char page[4096];
	struct fuse_out_header h = {.len = sizeof(h) + sizeof(struct fuse_notify_store_out) +
					   sizeof(page),
				    .error = FUSE_NOTIFY_STORE};
	struct fuse_notify_store_out o = {.nodeid = FILE_INO, .offset = size, .size = sizeof(page)};
	struct iovec iov[3] = {{&h, sizeof(h)}, {&o, sizeof(o)}, {page, sizeof(page)}};

	memset(page, 'S', sizeof(page));
	if (writev(fd, iov, 3) < 0)
		fprintf(stderr, "evilfs: NOTIFY_STORE refused: %s\n", strerror(errno));
	else
		fprintf(stderr, "evilfs: NOTIFY_STORE accepted\n");
}

/* A line in the kernel's trace, where the test orders it against events. */
static void trace_marker(const char *text)
{
	if (marker < 0)
		marker = open("/sys/kernel/tracing/trace_marker", O_WRONLY);
	if (marker < 0 || write(marker, text, strlen(text)) < 0)
		perror("evilfs: trace_marker");
}

static int serve(int fd, int devfd, int dev2fd)
{
	static unsigned char buf[1 << 20 | 4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fuse_in_header *h = (void *)buf;
		void *in = h + 1;

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < 0 && errno == ENODEV)
			return 0;
		if (n < (ssize_t)sizeof(*h)) {
			perror("evilfs: read");
			return 1;
		}
		switch (h->opcode) {
		case FUSE_INIT: {
			struct famfs_daxdev_reg server = {.index = 0, .fd = -1,
							  .flags = FAMFS_DAXDEV_SERVER_DATA};
			struct fuse_init_in *i = in;
			struct fuse_init_out o = {.major = 7, .minor = 31, .max_readahead = i->max_readahead,
						  .max_write = 131072, .time_gran = 1,
						  .max_background = 16, .congestion_threshold = 12};
			struct famfs_daxdev_reg reg = {.index = 0, .fd = devfd};

			if (ioctl(fd, FAMFS_DEV_IOC_DAXDEV_REGISTER, &reg) < 0) {
				if (errno != EOPNOTSUPP ||
				    ioctl(fd, FAMFS_DEV_IOC_DAXDEV_REGISTER, &server) < 0) {
					perror("evilfs: FAMFS_DEV_IOC_DAXDEV_REGISTER");
					return 1;
				}
				fprintf(stderr, "evilfs: the kernel refused the device: server data\n");
			}
			reg.index = 1;
			reg.fd = dev2fd;
			if (dev2fd >= 0 && ioctl(fd, FAMFS_DEV_IOC_DAXDEV_REGISTER, &reg) < 0) {
				perror("evilfs: FAMFS_DEV_IOC_DAXDEV_REGISTER (device 1)");
				return 1;
			}
			o.flags = FUSE_INIT_EXT | FUSE_MAX_PAGES;
			if (is("create"))
				o.flags |= FUSE_ATOMIC_O_TRUNC;
			o.max_pages = 256;
			o.flags2 = FAMFS_DAX_FMAP_FLAGS2;
			reply(fd, h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = {0};

			if (h->nodeid != FUSE_ROOT_ID ||
			    (strcmp(in, "f") && (!is("stripe2") || strcmp(in, "g")))) {
				reply(fd, h->unique, ENOENT, NULL, 0);
				break;
			}
			e.nodeid = strcmp(in, "g") ? FILE_INO : G_INO;
			e.generation = 1;
			attr_of(e.nodeid, &e.attr);
			reply(fd, h->unique, 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out a = {0};

			attr_of(h->nodeid, &a.attr);
			reply(fd, h->unique, 0, &a, sizeof(a));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out o = {.fh = 1};

			reply(fd, h->unique, 0, &o, sizeof(o));
			if (h->opcode == FUSE_OPEN)
				opened = true;
			break;
		}
		case FAMFS_OP_GET_FMAP: {
			unsigned char m[104];
			int nth = getfmaps++;

			if ((is("late") || is("fallocrace")) && nth == 0) {
				reply(fd, h->unique, ENODATA, NULL, 0);
				break;
			}
			if (is("fallocrace") && nth == 1) {
				int mk = open("/tmp/evilfs-getfmap", O_WRONLY | O_CREAT, 0644);

				if (mk >= 0)
					close(mk);
				sleep(2);
			}
			reply(fd, h->unique, 0, m, fmap_of(h->nodeid, m));
			break;
		}
		case FUSE_FALLOCATE:
			reply(fd, h->unique, is("fallocrace") ? 0 : ENOSYS, NULL, 0);
			break;
		case FUSE_CREATE: {
			struct {
				struct fuse_entry_out e;
				struct fuse_open_out o;
			} r;

			memset(&r, 0, sizeof(r));
			if (!is("create")) {
				reply(fd, h->unique, ENOSYS, NULL, 0);
				break;
			}
			r.e.nodeid = FILE_INO;
			r.e.generation = 1;
			attr_of(FILE_INO, &r.e.attr);
			r.o.fh = 1;
			reply(fd, h->unique, 0, &r, sizeof(r));
			break;
		}
		case FUSE_READ: {
			static char data[1 << 20];
			struct fuse_read_in *r = in;
			uint32_t n = r->size > sizeof(data) ? sizeof(data) : r->size;
			ssize_t got = 0;

			if (r->offset < size) {
				if (n > size - r->offset)
					n = size - r->offset;
				got = pread(devfd, data, n, (off_t)r->offset);
			}
			if (got < 0)
				reply(fd, h->unique, EIO, NULL, 0);
			else
				reply(fd, h->unique, 0, data, (size_t)got);
			break;
		}
		case FUSE_READDIR: {
			reply(fd, h->unique, 0, NULL, 0);
			break;
		}
		case FUSE_STATFS: {
			struct fuse_statfs_out s = {.st = {.bsize = 4096, .namelen = 255, .frsize = 4096}};

			if (is("store"))
				notify_store(fd);

			reply(fd, h->unique, 0, &s, sizeof(s));
			break;
		}
		case FUSE_RELEASE:
			if (is("commit")) {
				char text[96];

				snprintf(text, sizeof(text), "evilfs: RELEASE nodeid %llu (commit)",
					 (unsigned long long)h->nodeid);
				trace_marker(text);
			}
			reply(fd, h->unique, 0, NULL, 0);
			break;
		case FUSE_FLUSH:
		case FUSE_RELEASEDIR:
		case FUSE_ACCESS:
			reply(fd, h->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break;
		case FUSE_DESTROY:
			reply(fd, h->unique, 0, NULL, 0);
			return 0;
		default:
			reply(fd, h->unique, ENOSYS, NULL, 0);
		}
	}
}

int main(int argc, char **argv)
{
	char opts[256];
	int fd, devfd, dev2fd = -1;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: evilfs MNT DEV SIZE lie|setid|unreg|beyond|share|create|"
				"store|late|commit|fallocrace|rofd|stripe2 [DEV2]\n");
		return 2;
	}
	size = strtoull(argv[3], NULL, 0);
	mode = argv[4];
	if (is("stripe2") != (argc == 6)) {
		fprintf(stderr, "evilfs: DEV2 goes with stripe2, and only with it\n");
		return 2;
	}
	devfd = open(argv[2], is("rofd") ? O_RDONLY : O_RDWR);
	if (argc == 6 && (dev2fd = open(argv[5], O_RDWR)) < 0) {
		perror("evilfs: open DEV2");
		return 1;
	}
	fd = open(FAMFS_CHANNEL_DEV, O_RDWR);
	if (devfd < 0 || fd < 0 || ioctl(devfd, BLKGETSIZE64, &devsize) < 0) {
		perror("evilfs: open");
		return 1;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", fd);
	if (mount("evilfs", argv[1], FAMFS_FSTYPE, MS_NOSUID | MS_NODEV, opts) < 0) {
		perror("evilfs: mount");
		return 1;
	}
	if (daemon(1, 1) < 0) {
		perror("evilfs: daemon");
		return 1;
	}
	return serve(fd, devfd, dev2fd);
}
