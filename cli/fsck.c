// SPDX-License-Identifier: Apache-2.0
/* famfs fsck: check a file system on a device, an image, or through a mount. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "dev.h"
#include "devset.h"
#include "super.h"

/* The metadata to check: the superblock, and the log read a window at a time. */
struct meta {
	struct famfs_superblock sb;
	struct famfs_log_header hdr;
	bool have_hdr;	   /* the header could be read */
	uint64_t readable; /* log entries there are bytes for */
	uint64_t devsize;
	struct famfs_dev *dev;	       /* device case */
	int log_fd;		       /* mount case: .meta/.log, else -1 */
	struct famfs_superblock given; /* a secondary given instead of the primary */
};

/* pread all of @len bytes at @off: 0, -EIO when the file is shorter, or -errno. */
static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Device bytes [@off, @off+@len) into @buf, as another host may have written them. */
static int dev_read(struct famfs_dev *dev, void *buf, size_t len, uint64_t off)
{
	int rc;

	if (dev->kind != FAMFS_DEV_DAX || dev->famfs_dax)
		return famfs_dev_pread(dev, buf, len, off); /* pread, or O_DIRECT (pmem) */
	/* device_dax: through the window, which covers the log in use. */
	if (!dev->map || off + len > dev->map_len)
		return -EINVAL;
	rc = famfs_dev_invalidate(dev, dev->map + off, len);
	return rc ? rc : famfs_dev_load(dev, buf, dev->map + off, len);
}

/* famfs_fsck_read()'s reader: entries [first, first + n) from the device or the mount. */
static int read_entries(void *arg, uint64_t first, uint64_t n, struct famfs_log_entry *buf)
{
	const struct meta *m = arg;
	uint64_t off = FAMFS_LOG_HEADER_SIZE + first * FAMFS_LOG_ENTRY_SIZE;

	if (m->log_fd >= 0)
		return pread_all(m->log_fd, buf, n * FAMFS_LOG_ENTRY_SIZE, (off_t)off);
	return dev_read(m->dev, buf, n * FAMFS_LOG_ENTRY_SIZE, FAMFS_LOG_OFFSET + off);
}

/* Entries in a log of @log_len bytes of which @avail bytes exist. */
static uint64_t entries_in(uint64_t log_len, uint64_t avail)
{
	uint64_t len = log_len < avail ? log_len : avail;

	return len > FAMFS_LOG_HEADER_SIZE ? (len - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE
					   : 0;
}

/* A mounted famfs: .meta/.superblock and .meta/.log under the mount root. */
static int load_mount(const char *dir, struct meta *m)
{
	char path[4096];
	struct statvfs sv;
	struct stat st;
	int rc, fd;

	snprintf(path, sizeof(path), "%s/.meta/.superblock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = pread_all(fd, &m->sb, sizeof(m->sb), 0);
	close(fd);
	if (rc)
		return rc == -EIO ? -EUCLEAN : rc;
	snprintf(path, sizeof(path), "%s/.meta/.log", dir);
	m->log_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->log_fd < 0 || fstat(m->log_fd, &st) < 0)
		return -errno;
	m->have_hdr = pread_all(m->log_fd, &m->hdr, sizeof(m->hdr), 0) == 0;
	m->readable = entries_in((uint64_t)st.st_size, (uint64_t)st.st_size);
	/* The server sized its bitmap by the real device: its capacity bounds ours
	 * (rounded up to a unit, so that a device not a whole number of units
	 * is not reported as SB_DEVSIZE). */
	if (statvfs(dir, &sv) < 0)
		return -errno;
	m->devsize = ((uint64_t)sv.f_blocks + 1) * sv.f_frsize;
	return 0;
}

static int load_device(const char *path, struct meta *m)
{
	uint64_t log_len = FAMFS_LOG_LEN_DEFAULT, used;
	int rc = famfs_dev_open(path, 0, &m->dev);

	if (rc)
		return rc;
	rc = famfs_dev_hold(m->dev); /* no mkfs while we read */
	if (rc)
		return rc;
	m->devsize = m->dev->size;
	if (m->dev->size < sizeof(m->sb))
		return -EMEDIUMTYPE;
	/* The superblock and the log header: a window that covers them. */
	if (m->dev->kind == FAMFS_DEV_DAX && !m->dev->famfs_dax &&
	    !famfs_dev_map(m->dev, m->dev->size < FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE
				       ? m->dev->size
				       : FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE))
		return -errno;
	rc = dev_read(m->dev, &m->sb, sizeof(m->sb), 0);
	if (rc)
		return rc;
	if (famfs_sb_is_secondary(&m->sb) &&
	    !famfs_sb_check_secondary(&m->sb, m->dev->size, NULL)) {
		m->given = m->sb; /* a device of several: its primary is checked */
		return -EXDEV;
	}
	if (m->sb.log_len >= FAMFS_LOG_LEN_MIN && m->sb.log_len <= FAMFS_LOG_LEN_MAX)
		log_len = m->sb.log_len;
	if (m->dev->size <= FAMFS_LOG_OFFSET)
		return 0; /* no log: fsck reports what the superblock lacks */
	m->readable = entries_in(log_len, m->dev->size - FAMFS_LOG_OFFSET);
	m->have_hdr = m->dev->size >= FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE &&
		      dev_read(m->dev, &m->hdr, sizeof(m->hdr), FAMFS_LOG_OFFSET) == 0;
	/* device_dax: map the entries in use (and no more) for read_entries(). */
	/* (one entry past next_index: the slot that judges counters torn by a crash) */
	used = m->have_hdr && m->hdr.next_index < m->readable ? m->hdr.next_index + 1 : m->readable;
	if (m->dev->kind == FAMFS_DEV_DAX && !m->dev->famfs_dax &&
	    !famfs_dev_map(m->dev,
			   FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE + used * FAMFS_LOG_ENTRY_SIZE))
		return -errno;
	return 0;
}

static void print_problem(const struct famfs_problem *p, void *arg)
{
	char line[512];

	(void)arg;
	famfs_problem_format(p, line, sizeof(line));
	printf("  %s\n", line);
}

static void print_entry(const struct famfs_geom *g, const struct famfs_log_entry *e, uint64_t index,
			void *arg)
{
	char line[1024];

	(void)arg;
	famfs_entry_describe(g, e, line, sizeof(line));
	printf("  %6llu  %s\n", (unsigned long long)index, line);
}

/* The lines the existing tools print and their users' scripts grep: bytes, or with -h sizes. */
static void compat_line(const char *name, uint64_t bytes, bool human)
{
	char b[32];

	if (human)
		printf("  %s: %s\n", name, cli_fmt_size(bytes, b, sizeof(b)));
	else
		printf("  %s: %llu\n", name, (unsigned long long)bytes);
}

/*
 * Which limit comes first, the log or the device: at the space allocated
 * per log entry so far, how many more entries the free space holds,
 * against the free log slots.
 */
static void limits(const struct famfs_fsck_stats *st, uint64_t used)
{
	uint64_t free_bytes = st->capacity > used ? st->capacity - used : 0;
	uint64_t free_slots = st->slots_total - st->slots_used;
	char b1[32], b2[32];

	if (st->files == 0 || st->slots_used == 0) {
		printf("  limits        %s free for data, %llu log entries free\n",
		       cli_fmt_size(free_bytes, b1, sizeof(b1)), (unsigned long long)free_slots);
		return;
	}
	uint64_t per = st->alloc_bytes / st->slots_used ? st->alloc_bytes / st->slots_used : 1;
	uint64_t fit = free_bytes / per;

	printf("  limits        %s free for data, %llu log entries free: at %s per entry so far\n"
	       "                the %s fills first (room for about %llu more entries)\n",
	       cli_fmt_size(free_bytes, b1, sizeof(b1)), (unsigned long long)free_slots,
	       cli_fmt_size(per, b2, sizeof(b2)), fit < free_slots ? "device" : "log",
	       (unsigned long long)(fit < free_slots ? fit : free_slots));
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct famfs_checker chk = {.fn = print_problem};
	struct famfs_fsck_stats st;
	struct meta m = {.log_fd = -1};
	bool verbose = false, human = false, in_mount;
	const char *arg, *path;
	char b1[32], b2[32], b3[32], root[4096], primary[PATH_MAX];
	struct stat sst;
	int c, rc, ret, method = 0;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (c == 'v')
			verbose = true;
		else if (c == 'h')
			human = true;
		else if (c == 'm' || c == 'r') {
			/* The existing tools' choice of mmap or read for the metadata:
			 * exclusive there, meaningless here. */
			if (method && method != c)
				return cli_usage_error(cmd, "-m and -r exclude each other");
			method = c;
			fprintf(stderr,
				"famfs fsck: option -%c ignored: fsck maps a device and reads a "
				"mount's .meta files\n",
				c);
		}
	}
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected one DEVICE or MOUNTPOINT");
	path = argv[cli_optind()];

	if (stat(path, &sst) < 0) {
		fprintf(stderr, "famfs fsck: %s: %s\n", famfs_esc(path), strerror(errno));
		return CLI_USAGE;
	}
	/* Any path inside a mounted famfs checks that mount. */
	in_mount = cli_famfs_root(path, root, sizeof(root)) == 0;
	if (in_mount)
		rc = load_mount(root, &m);
	else
		rc = S_ISDIR(sst.st_mode) ? load_mount(path, &m) : load_device(path, &m);
	if (S_ISDIR(sst.st_mode) && !in_mount && rc == -ENOENT)
		rc = -ENOTSUP;
	if (rc == -EXDEV) {
		famfs_dev_close(m.dev);
		m.dev = NULL;
		if (cli_find_primary(cmd, path, &m.given, primary, sizeof(primary))) {
			ret = CLI_USAGE;
			goto out;
		}
		printf("famfs fsck: %s: checking its file system from the primary %s\n",
		       cli_secondary_text(path, &m.given), famfs_esc(primary));
		rc = load_device(primary, &m);
	} else if (!in_mount && !S_ISDIR(sst.st_mode) && m.dev) {
		snprintf(primary, sizeof(primary), "%s", m.dev->path);
	} else if (cli_famfs_device(in_mount ? root : path, primary, sizeof(primary))) {
		snprintf(primary, sizeof(primary), "%s", path);
	}
	if (rc == -EMEDIUMTYPE) {
		printf("famfs fsck: %s: %llu bytes, too small to hold a famfs superblock\n",
		       famfs_esc(path), (unsigned long long)m.devsize);
		ret = CLI_FAIL;
		goto out;
	}
	if (rc) {
		fprintf(stderr, "famfs fsck: %s: cannot read %s: %s\n", famfs_esc(path),
			in_mount || S_ISDIR(sst.st_mode) ? "the .meta files of a famfs mount"
							 : "the device",
			rc == -ENODEV	 ? "not a regular file, devdax or block device"
			: rc == -ENOTSUP ? "not a mounted famfs"
					 : strerror(-rc));
		ret = CLI_USAGE;
		goto out;
	}
	printf("famfs fsck: %s\n", famfs_esc(path));
	rc = famfs_fsck_read(&m.sb, m.have_hdr ? &m.hdr : NULL, m.readable, read_entries, &m,
			     m.devsize, famfs_devtab_real_size, &chk, verbose ? print_entry : NULL,
			     NULL, &st);
	if (rc == -ENOMEM) {
		fprintf(stderr, "famfs fsck: out of memory\n");
		ret = CLI_USAGE;
		goto out;
	}
	if (rc == -EMEDIUMTYPE) {
		printf("famfs fsck: %s: no famfs file system (superblock magic)\n",
		       famfs_esc(path));
		ret = CLI_FAIL;
		goto out;
	}
	if (rc == 0) {
		uint64_t used = st.meta_bytes + st.alloc_bytes;

		printf("  capacity      %s (%llu bytes), %s allocation units\n",
		       cli_fmt_size(st.capacity, b1, sizeof(b1)), (unsigned long long)st.capacity,
		       st.alloc_unit == FAMFS_ALLOC_UNIT_4K ? "4 KiB" : "2 MiB");
		printf("  used          %s: %s metadata, %s allocated to files (%.1f%%)\n",
		       cli_fmt_size(used, b1, sizeof(b1)),
		       cli_fmt_size(st.meta_bytes, b2, sizeof(b2)),
		       cli_fmt_size(st.alloc_bytes, b3, sizeof(b3)),
		       st.capacity ? 100.0 * (double)used / (double)st.capacity : 0.0);
		printf("  free          %s\n",
		       cli_fmt_size(st.capacity > used ? st.capacity - used : 0, b1, sizeof(b1)));
		printf("  files         %llu (%s of data), directories %llu\n",
		       (unsigned long long)st.files, cli_fmt_size(st.file_bytes, b1, sizeof(b1)),
		       (unsigned long long)st.dirs);
		if (st.compat)
			printf("  compat        file entries without times or updates, for the "
			       "existing tools' shadow YAML (mkfs --compat)\n");
		printf("  log slots     %llu used, %llu free of %llu\n",
		       (unsigned long long)st.slots_used,
		       (unsigned long long)(st.slots_total - st.slots_used),
		       (unsigned long long)st.slots_total);
		limits(&st, used);
		if (st.alloc_unit == FAMFS_ALLOC_UNIT_4K && st.large_files)
			printf("  placement     %llu of %llu files of 2 MiB or more 2 MiB-aligned "
			       "(PMD faults but for the tail)\n",
			       (unsigned long long)st.large_pmd,
			       (unsigned long long)st.large_files);
		compat_line("Device capacity", st.capacity, human);
		compat_line("Free space", st.capacity > used ? st.capacity - used : 0, human);
		compat_line("log_len", m.sb.log_len, human);
		cli_fsck_devices(&m.sb, &st, primary, m.given.magic ? &m.given : NULL, path, &chk);
		if (st.ignored)
			printf(
			    "  ignored       %llu entries that create nothing (ADD_DAXDEV, DELETE, "
			    "INVALID)\n",
			    (unsigned long long)st.ignored);
		if (st.first_bad >= 0) {
			char why[512];

			famfs_problem_format(&st.stop, why, sizeof(why));
			printf(
			    "  replay stops  at entry %lld: a mount serves the entries before it, "
			    "read-only\n                (%s)\n",
			    (long long)st.first_bad, why);
		}
	}
	if (chk.count) {
		printf("famfs fsck: %s: %u problem%s found\n", famfs_esc(path), chk.count,
		       chk.count == 1 ? "" : "s");
		ret = CLI_FAIL;
	} else {
		printf("famfs fsck: %s: clean\n", famfs_esc(path));
		ret = CLI_OK;
	}
out:
	famfs_dev_close(m.dev);
	if (m.log_fd >= 0)
		close(m.log_fd);
	return ret;
}

enum { OPT_FUSE = 256, OPT_FORCE };

static const struct cli_opt opts[] = {
    {"verbose", 'v', NULL, "list every log entry", NULL, false},
    {"human", 'h', NULL, "Device capacity, Free space and log_len in KiB/MiB/GiB, not bytes", NULL,
     false},
    {"mmap", 'm', NULL, "no effect (the existing tools' way to read the metadata)", NULL, false},
    {"read", 'r', NULL, "no effect (the existing tools' way to read the metadata)", NULL, false},
    {"nbuckets", 'B', "N", NULL, "fsck checks every stripe against the entry's own buckets", false},
    {"set-daxmode", 'M', NULL, NULL, "devdax mode is the device's; set it with daxctl", false},
    {"load-module", 'L', NULL, NULL, "fsck needs no kernel module", false},
    {"nofuse", 'F', NULL, NULL, "fsck needs no kernel module", false},
    {"fuse", OPT_FUSE, NULL, NULL, "fsck needs no kernel module", false},
    {"nodax", 'D', NULL, NULL, "fsck reads the device as it is", false},
    {"force", OPT_FORCE, NULL, NULL, "fsck only reads: a mounted device is fine", false},
    {0},
};

const struct cli_cmd cli_cmd_fsck = {
    .name = "fsck",
    .args = "[-v] [-h] DEVICE|PATH",
    .summary = "Check a famfs file system on a device or image, or through its mount.",
    .details = "Checks the superblock (magic, version, crc, geometry against the device), the\n"
	       "log header, and every log entry: crc, seqnum, type, path rules, parent exists,\n"
	       "extents aligned, inside the device, clear of superblock and log, and no two\n"
	       "extents overlapping. Each problem is printed with its code, the entry index\n"
	       "and the field (docs/fsck.md lists the codes). Then capacity, space used and\n"
	       "log slots, and the existing tools' Device capacity, Free space and log_len\n"
	       "lines. PATH is a mount point or any file or directory in a famfs mount.\n\n"
	       "Exit status: 0 clean, 1 problems found, 2 cannot run (no such device, cannot\n"
	       "read it, usage error).",
    .opts = opts,
    .run = run,
};
