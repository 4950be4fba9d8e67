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
#include "super.h"

/* The metadata to check: superblock and log, however they were read. */
struct meta {
	const struct famfs_superblock *sb;
	const void *log;
	uint64_t log_avail;
	uint64_t devsize;
	struct famfs_dev *dev;	       /* device case */
	void *sb_buf, *log_buf;	       /* mount case */
	struct famfs_superblock given; /* a secondary given instead of the primary */
};

static int read_file(const char *path, void **buf, uint64_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(*buf = malloc(st.st_size ? st.st_size : 1))) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, *buf, st.st_size, 0);
	close(fd);
	if (n != st.st_size)
		return n < 0 ? -errno : -EIO;
	*len = (uint64_t)n;
	return 0;
}

/* A mounted famfs: .meta/.superblock and .meta/.log under the mount root. */
static int load_mount(const char *dir, struct meta *m)
{
	char path[4096];
	struct statvfs sv;
	uint64_t sblen;
	int rc;

	snprintf(path, sizeof(path), "%s/.meta/.superblock", dir);
	rc = read_file(path, &m->sb_buf, &sblen);
	if (rc)
		return rc;
	if (sblen < sizeof(struct famfs_superblock))
		return -EUCLEAN;
	snprintf(path, sizeof(path), "%s/.meta/.log", dir);
	rc = read_file(path, &m->log_buf, &m->log_avail);
	if (rc)
		return rc;
	m->sb = m->sb_buf;
	m->log = m->log_buf;
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
	const struct famfs_superblock *sb;
	uint64_t want;
	uint8_t *win;
	int rc = famfs_dev_open(path, 0, &m->dev);

	if (rc)
		return rc;
	rc = famfs_dev_hold(m->dev); /* no mkfs while we read */
	if (rc)
		return rc;
	m->devsize = m->dev->size;
	if (m->dev->size < sizeof(*sb))
		return -EMEDIUMTYPE;
	win = famfs_dev_map(m->dev,
			    m->dev->size < FAMFS_LOG_OFFSET ? m->dev->size : FAMFS_LOG_OFFSET);
	if (!win)
		return -errno;
	famfs_dev_invalidate(m->dev, win, sizeof(*sb));
	sb = (const void *)win;
	if (famfs_sb_is_secondary(sb) && !famfs_sb_check_secondary(sb, m->dev->size, NULL)) {
		m->given = *sb; /* a device of several: its primary is checked */
		return -EXDEV;
	}
	/* Map through the log the superblock describes, as far as the device goes. */
	want = FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_DEFAULT;
	if (sb->log_len >= FAMFS_LOG_LEN_MIN && sb->log_len <= FAMFS_LOG_LEN_MAX)
		want = FAMFS_LOG_OFFSET + sb->log_len;
	if (want > m->dev->size)
		want = m->dev->size;
	win = famfs_dev_map(m->dev, want);
	if (!win)
		return -errno;
	famfs_dev_invalidate(m->dev, win, want);
	m->sb = (const void *)win;
	m->log = win + (want > FAMFS_LOG_OFFSET ? FAMFS_LOG_OFFSET : want);
	m->log_avail = want > FAMFS_LOG_OFFSET ? want - FAMFS_LOG_OFFSET : 0;
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
	struct meta m = {0};
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
	rc = famfs_fsck(m.sb, m.log, m.log_avail, m.devsize, &chk, verbose ? print_entry : NULL,
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
		compat_line("log_len", m.sb->log_len, human);
		cli_fsck_devices(m.sb, &st, primary, m.given.magic ? &m.given : NULL, path, &chk);
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
	free(m.sb_buf);
	free(m.log_buf);
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
