// SPDX-License-Identifier: Apache-2.0
/* famfs mkfs: create a file system on a memory device or image file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "daxbind.h"
#include "fs.h"
#include "identity.h"
#include "resolve.h"
#include "super.h"

enum { OPT_ALLOW_SMALL = 256, OPT_FUSE, OPT_ALLOC_UNIT, OPT_COMPAT };

static const struct cli_opt opts[] = {
    {"force", 'f', NULL, "overwrite an existing famfs, even one mastered by another host", NULL,
     false},
    {"kill", 'k', NULL, "with -f: wipe the famfs on DEVICE (its superblock), create none", NULL,
     false},
    {"alloc-unit", OPT_ALLOC_UNIT, "4K|2M",
     "allocation unit (default 2M): 4K packs files under 2 MiB into shared 2 MiB regions", NULL,
     false},
    {"log-len", 'l', "SIZE",
     "log length: a power of two >= 8M (default 8M; with 4K units one entry per 128K of device)",
     NULL, false},
    {"loglen", 'l', "SIZE", NULL, NULL, true},
    {"size", 's', "SIZE", "image file: create it (sparse) or resize it to SIZE", NULL, false},
    {"compat", OPT_COMPAT, NULL,
     "entries the existing tools' logplay --shadowtest accepts: no file times, no file "
     "attribute updates (chmod/chown of a closed file refused)",
     NULL, false},
    {"allow-small", OPT_ALLOW_SMALL, NULL, "accept devices smaller than 4 GiB (tests)", NULL,
     false},
    {"verbose", 'v', NULL, "print the new superblock's fields", NULL, false},
    {"set-daxmode", 'M', NULL, NULL, "devdax mode is the device's; set it with daxctl", false},
    {"nofuse", 'F', NULL, NULL, "the media format is the same for every kernel mode", false},
    {"fuse", OPT_FUSE, NULL, NULL, "the media format is the same for every kernel mode", false},
    {"nodax", 'D', NULL, NULL, "the media format is the same for every kernel mode", false},
    {0},
};

#define IN_USE_BY_FAMFS                                                                            \
	"in use by famfs on this host (mounted, as master or client, or being read); unmount it "  \
	"first"

int cli_mkfs_devdax_ok(const struct cli_cmd *cmd, const char *path)
{
	struct stat st;
	char drv[64];

	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
	    famfs_daxdev_driver(st.st_rdev, drv, sizeof(drv)) == 0) {
		if (!strcmp(drv, "kmem"))
			return cli_error(cmd,
					 "%s is system RAM (bound to kmem): famfs mkfs never "
					 "overwrites memory in use; give it back first (daxctl "
					 "reconfigure-device -m devdax)",
					 famfs_esc(path));
		if (!drv[0])
			return cli_error(cmd,
					 "%s is bound to no driver: bind it to device_dax first "
					 "(daxctl reconfigure-device -m devdax)",
					 famfs_esc(path));
		if (strcmp(drv, FAMFS_DEVDAX_DRIVER) && strcmp(drv, FAMFS_DAX_DRIVER))
			return cli_error(cmd, "%s is bound to %s, not to %s or %s: refused",
					 famfs_esc(path), drv, FAMFS_DEVDAX_DRIVER,
					 FAMFS_DAX_DRIVER);
	}
	return CLI_OK;
}

int cli_mkfs_open(const struct cli_cmd *cmd, const char *path, struct famfs_dev **out)
{
	struct famfs_dev *dev;
	struct stat st;
	pid_t pid;
	int rc;

	if (stat(path, &st) < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(errno));
	if (cli_mkfs_devdax_ok(cmd, path) != CLI_OK)
		return CLI_FAIL;
	rc = famfs_dev_open(path, FAMFS_DEV_WRITE | FAMFS_DEV_EXCL, &dev);
	if (rc == -EBUSY)
		return cli_error(cmd, "%s: " IN_USE_BY_FAMFS, famfs_esc(path));
	if (rc == -ETXTBSY)
		return cli_error(
		    cmd,
		    "%s is in use by another file system or driver on this host "
		    "(mounted, or held by device-mapper, md or swap): famfs mkfs never "
		    "overwrites a device in use, even with -f",
		    famfs_esc(path));
	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(path),
				 rc == -ENODEV ? "not a regular file, devdax or block device"
					       : strerror(-rc));
	if (dev->kind == FAMFS_DEV_PMEM && !dev->dax) {
		famfs_dev_close(dev);
		return cli_error(cmd,
				 "%s is a block device with no DAX (sysfs queue/dax is not 1): "
				 "famfs keeps files in memory it maps: use an fsdax pmem device "
				 "(/dev/pmemX), a devdax device (/dev/daxX.Y) or an image file",
				 famfs_esc(path));
	}
	/* Every famfs server on this host holds the in-use lock, master or
	 * client: reformatting under a client would make it serve old names
	 * over new files' bytes. */
	rc = famfs_dev_claim(dev);
	if (rc == 0)
		rc = famfs_dev_lock(dev, false);
	if (rc) {
		famfs_dev_close(dev);
		return cli_error(cmd, "%s: %s", famfs_esc(path),
				 rc == -EBUSY || rc == -EWOULDBLOCK ? IN_USE_BY_FAMFS
								    : strerror(-rc));
	}
	/* A devdax device has no O_EXCL: any other process that uses it. */
	pid = dev->kind == FAMFS_DEV_DAX ? famfs_daxdev_busy(st.st_rdev, st.st_dev, st.st_ino) : 0;
	if (pid) {
		char comm[64] = "?";
		char cpath[64];
		FILE *f;

		snprintf(cpath, sizeof(cpath), "/proc/%d/comm", (int)pid);
		f = fopen(cpath, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		famfs_dev_close(dev);
		return cli_error(cmd,
				 "%s is in use by process %d (%s), which has it open or mapped: "
				 "famfs mkfs never overwrites a device in use, even with -f",
				 famfs_esc(path), (int)pid, famfs_esc(comm));
	}
	*out = dev;
	return CLI_OK;
}

/* mkfs -f -k: make DEVICE hold no famfs: zero its superblock (the log stays, unreachable). */
static int kill_sb(const struct cli_cmd *cmd, const char *path, bool verbose)
{
	struct famfs_dev *dev;
	uint8_t *win;
	int rc;

	if (cli_mkfs_open(cmd, path, &dev) != CLI_OK)
		return CLI_FAIL;
	if (dev->size < sizeof(struct famfs_superblock)) {
		famfs_dev_close(dev);
		return cli_error(cmd, "%s: too small to hold a famfs superblock", famfs_esc(path));
	}
	/* As famfs_mkfs() does first: through the window, flushed, synced. */
	win = famfs_dev_map(dev, sizeof(struct famfs_superblock));
	if (!win) {
		rc = -errno;
	} else {
		memset(win, 0, sizeof(struct famfs_superblock));
		rc = famfs_dev_flush(dev, win, sizeof(struct famfs_superblock));
		if (!rc)
			rc = famfs_dev_sync(dev);
	}
	if (!rc)
		famfs_cache_forget(dev->path);
	famfs_dev_close(dev);
	if (rc)
		return cli_error(cmd, "%s: writing: %s", famfs_esc(path), strerror(-rc));
	if (verbose)
		printf("famfs mkfs: %s: superblock zeroed: it holds no famfs now\n",
		       famfs_esc(path));
	return CLI_OK;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	uint64_t log_len = 0, size = 0, unit = FAMFS_ALLOC_UNIT, min_size;
	bool force = false, small = false, kill = false, verbose = false, compat = false;
	struct famfs_superblock old;
	char b1[32], b2[32], ustr[UUID_STR_LEN];
	struct famfs_dev *dev;
	uint8_t me[16];
	const char *arg, *path;
	struct stat st;
	int c, rc;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'k':
			kill = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'l':
			if (famfs_parse_size(arg, &log_len) || log_len < FAMFS_LOG_LEN_MIN ||
			    (log_len & (log_len - 1)))
				return cli_usage_error(
				    cmd, "--log-len %s: need a power of two >= 8M", famfs_esc(arg));
			break;
		case 's':
			if (famfs_parse_size(arg, &size) || size == 0)
				return cli_usage_error(cmd, "--size %s: not a size",
						       famfs_esc(arg));
			break;
		case OPT_ALLOW_SMALL:
			small = true;
			break;
		case OPT_COMPAT:
			compat = true;
			break;
		case OPT_ALLOC_UNIT:
			if (famfs_parse_size(arg, &unit) ||
			    (unit != FAMFS_ALLOC_UNIT && unit != FAMFS_ALLOC_UNIT_4K))
				return cli_usage_error(cmd, "--alloc-unit %s: 4K or 2M",
						       famfs_esc(arg));
			break;
		}
	}
	if (argc - cli_optind() < 1)
		return cli_usage_error(cmd, "expected a DEVICE");
	path = argv[cli_optind()];
	if (kill) {
		if (!force)
			return cli_usage_error(cmd, "--kill wipes a file system: it needs -f too");
		if (argc - cli_optind() != 1)
			return cli_usage_error(cmd, "--kill wipes one DEVICE at a time");
		return kill_sb(cmd, path, verbose);
	}
	if (argc - cli_optind() > 1 && compat)
		return cli_usage_error(cmd, "--compat makes a one-device file system (the existing "
					    "tools read one device)");
	if (argc - cli_optind() > 1)
		return cli_mkfs_devices(
		    cmd, &(struct cli_mkfs_opts){log_len, size, unit, force, small, verbose},
		    argv + cli_optind(), argc - cli_optind());

	rc = famfs_identity(me);
	if (rc)
		return cli_error(cmd, "cannot read or create this host's identity %s: %s",
				 famfs_esc(famfs_identity_path()), strerror(-rc));

	if (stat(path, &st) == 0) {
		if (cli_mkfs_devdax_ok(cmd, path) != CLI_OK)
			return CLI_FAIL;
		rc = famfs_fs_probe(path, &old);
		if (rc < 0)
			return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(-rc));
		if (rc == 1 && !force && famfs_sb_is_secondary(&old))
			return cli_error(cmd, "%s; use -f to overwrite it",
					 cli_secondary_text(path, &old));
		if (rc == 1 && !force) {
			uuid_unparse(old.system_uuid, ustr);
			if (!famfs_sb_is_master(&old, me))
				return cli_error(
				    cmd,
				    "%s holds a famfs file system whose master is another "
				    "host (%s); use -f to overwrite it",
				    famfs_esc(path), ustr);
			return cli_error(cmd,
					 "%s already holds a famfs file system; use -f to "
					 "overwrite it",
					 famfs_esc(path));
		}
		if (size && !S_ISREG(st.st_mode))
			return cli_usage_error(cmd, "--size applies to image files only");
	} else if (!size) {
		return cli_error(cmd, "%s: %s (give --size to create an image file)",
				 famfs_esc(path), strerror(errno));
	}
	if (size) {
		rc = famfs_dev_create_file(path, size);
		if (rc)
			return cli_error(cmd, "%s: cannot create or resize: %s", famfs_esc(path),
					 strerror(-rc));
	}

	if (cli_mkfs_open(cmd, path, &dev) != CLI_OK)
		return CLI_FAIL;
	/* Every refusal below reports from @dev: close it only afterwards. */
	min_size = unit == FAMFS_ALLOC_UNIT ? FAMFS_MIN_DEVSIZE : FAMFS_MIN_DEVSIZE_4K;
	if (dev->size < min_size && !small) {
		rc = cli_error(cmd, "%s is %s; famfs needs at least %s (--allow-small for tests)",
			       famfs_esc(path), cli_fmt_size(dev->size, b1, sizeof(b1)),
			       unit == FAMFS_ALLOC_UNIT ? "4 GiB" : "1 GiB with 4K units");
		goto out;
	}
	if (!log_len)
		log_len = famfs_default_log_len(dev->size, unit);
	if (FAMFS_LOG_OFFSET + log_len + FAMFS_ALLOC_UNIT > dev->size) {
		rc = cli_error(cmd, "%s is %s: no room for a %s log and any data", famfs_esc(path),
			       cli_fmt_size(dev->size, b1, sizeof(b1)),
			       cli_fmt_size(log_len, b2, sizeof(b2)));
		goto out;
	}
	famfs_cache_forget(dev->path); /* what it held is gone */
	rc = famfs_mkfs_flags(dev, log_len, unit, compat ? FAMFS_SB_COMPAT : 0, me);
	if (rc) {
		rc = cli_error(cmd, "%s: writing the file system failed: %s", famfs_esc(path),
			       strerror(-rc));
		goto out;
	}
	uuid_unparse(me, ustr);
	printf("famfs mkfs: %s (%s): %s, log %s (%llu entries), %s allocation units, master %s%s\n",
	       famfs_esc(dev->path), famfs_dev_kind_name(dev->kind),
	       cli_fmt_size(dev->size, b1, sizeof(b1)), cli_fmt_size(log_len, b2, sizeof(b2)),
	       (unsigned long long)famfs_log_nslots(log_len),
	       unit == FAMFS_ALLOC_UNIT ? "2 MiB" : "4 KiB", ustr,
	       compat ? ", compat (no file times or file attribute updates)" : "");
	/* 4 KiB units: files averaging under 128 KiB would fill a log that holds
	 * fewer entries than that before the device (docs/format.md, "Log capacity"). */
	if (unit == FAMFS_ALLOC_UNIT_4K &&
	    famfs_log_nslots(log_len) < dev->size / FAMFS_LOG_BYTES_PER_ENTRY_4K)
		fprintf(
		    stderr,
		    "famfs mkfs: note: the log holds %llu entries, one per %s of device: "
		    "files averaging less fill the log first (-l: %llu entries per GiB of log)\n",
		    (unsigned long long)famfs_log_nslots(log_len),
		    cli_fmt_size(dev->size / famfs_log_nslots(log_len), b1, sizeof(b1)),
		    (unsigned long long)famfs_log_nslots(1ULL << 30));
	if (verbose)
		printf("  superblock at 0, log at %#llx (%llu bytes), data from %#llx, allocation "
		       "unit %s\n",
		       (unsigned long long)FAMFS_LOG_OFFSET, (unsigned long long)log_len,
		       (unsigned long long)(FAMFS_LOG_OFFSET + log_len),
		       unit == FAMFS_ALLOC_UNIT ? "2 MiB"
						: "4 KiB (files of 2 MiB or more 2 MiB-aligned)");
	rc = CLI_OK;
out:
	famfs_dev_close(dev);
	return rc;
}

const struct cli_cmd cli_cmd_mkfs = {
    .name = "mkfs",
    .args = "[OPTIONS] DEVICE [DEVICE...]",
    .summary = "Create a famfs file system on devdax, pmem or image-file devices.",
    .details = "DEVICE is a devdax device (/dev/daxX.Y), a pmem block device (/dev/pmemX)\n"
	       "or a regular image file (--size creates it). This host becomes the file\n"
	       "system's master, the only host that may add files; its identity is the uuid\n"
	       "in /opt/famfs/system_uuid, or in the file named by $FAMFS_SYSTEM_UUID_FILE.\n"
	       "mkfs refuses a device that already holds a famfs file system unless -f.\n"
	       "-f means \"overwrite a famfs\", never \"overwrite something in use\": mkfs\n"
	       "always refuses a device that any famfs server on this host has open, a\n"
	       "block device that another file system or driver holds (it opens it O_EXCL,\n"
	       "as mkfs.ext4 does), a block device without DAX, and a devdax device that\n"
	       "another process has open or mapped, that is system RAM (kmem) or that no\n"
	       "driver drives. -f -k wipes a famfs (its superblock) instead of creating\n"
	       "one. `mkfs.famfs` is the same command.\n\n"
	       "Several DEVICEs make one file system over all of them: the first is the\n"
	       "primary (superblock and log), each other one gets a secondary superblock\n"
	       "and an ADD_DAXDEV log entry (device 1, 2, ... in the order given). Image\n"
	       "files go only with image files; devdax and pmem devices mix. Each device\n"
	       "needs the minimum size; every one is refused, as one device is, when it\n"
	       "holds a famfs (without -f) or is in use. `famfs devadd` adds one later.\n\n"
	       "--alloc-unit 4K: files under 2 MiB take 4 KiB-granular space packed into\n"
	       "shared 2 MiB regions; larger files stay 2 MiB-aligned (PMD faults but for\n"
	       "their tail). The default, 2M, is what the existing famfs kernel patches\n"
	       "require. With 4K the default log holds one entry per 128 KiB of device\n"
	       "(at most 1 GiB: 1,973,790 entries); mkfs notes on stderr when the log\n"
	       "holds fewer, since files averaging less than a device's share per entry\n"
	       "fill the log first. Each file and directory takes one entry.\n\n"
	       "--compat: a file system whose every file entry the existing famfs tools'\n"
	       "shadow logplay round-trips (famfs logplay --shadow DIR --shadowtest): file\n"
	       "entries carry no modification time (files show 1970-01-01; directories\n"
	       "keep theirs), and a closed file's mode and owner never change (chmod and\n"
	       "chown of a closed file fail with EPERM; a new time is accepted and not\n"
	       "kept). One device only. Without it, those tools' other commands work as\n"
	       "well, but that check fails on every file with a time (docs/user-guide.md).\n\n"
	       "Exit status: 0 created, 1 refused or failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
