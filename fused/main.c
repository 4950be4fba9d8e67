// SPDX-License-Identifier: Apache-2.0
/*
 * famfs_fused [-f] [-d] [-o OPTIONS] DEVICE MOUNTPOINT
 *
 * Serves the famfs on DEVICE at MOUNTPOINT (or on an already-open FUSE
 * channel given as /dev/fd/N). The master mounts read-write and creates files;
 * any other host, or -o ro, mounts read-only and follows the master's log.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fused.h"

#ifndef FAMFS_PKG_VERSION
#define FAMFS_PKG_VERSION "unknown"
#endif

struct fused fused;

static const char usage_text[] =
    "Usage: famfs_fused [-f] [-d] [-o OPTIONS] DEVICE MOUNTPOINT\n"
    "\n"
    "Serve the famfs file system on DEVICE (devdax, pmem or image file) at\n"
    "MOUNTPOINT, or on an open FUSE channel given as /dev/fd/N. Usually started by\n"
    "`famfs mount`. The master host mounts read-write; other hosts, or -o ro, mount\n"
    "read-only and follow the master's log. For a file system of several devices,\n"
    "DEVICE is its primary: every other device is found on this host by its uuid\n"
    "(famfs daxdev) and served too; if one is missing, the mount is refused.\n"
    "\n"
    "Options:\n"
    "  -f               stay in the foreground (log to stderr)\n"
    "  -d               debug: foreground, and libfuse prints every request\n"
    "  -o ro            read-only, even on the master\n"
    "  -o poll_ms=N     clients: look at the log at least every N ms (default 4;\n"
    "                   every 0.5 ms right after a change, backing off while idle)\n"
    "  -o poll_min_us=N clients: the interval right after a change (default 500)\n"
    "  -o dataio=map    store file data through the device mapping on image files\n"
    "                   too, as on devdax (tests of that path)\n"
    "  -o timeout=S     kernel entry/attribute cache time in seconds (default 3600)\n"
    "  -o fmap=MODE     GET_FMAP for striped files: striped (default) or unrolled\n"
    "  -o threads=N     request handler threads (default: twice the CPUs, 4 to 16)\n"
    "  -o nofmap        do not accept FUSE_DAX_FMAP even if the kernel offers it\n"
    "  -o cache=MODE    when the server moves the data: direct (no page cache),\n"
    "                   page (page cache, dropped at each open) or auto (default:\n"
    "                   direct where the kernel can still mmap such files, Linux 6.6+)\n"
    "  -o OTHER         passed to libfuse (e.g. max_read=N)\n"
    "  -h, --help       this help\n"
    "  -V, --version    print the version and exit\n"
    "\n"
    "Exit status: 0 after a clean unmount, 1 on errors.\n";

static void syslog_func(enum fuse_log_level level, const char *fmt, va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

/* Our -o options; the rest go to libfuse. Returns 0 or -1 (message printed). */
static int parse_opts(char *opts, bool *ro, char *pass, size_t passlen)
{
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro")) {
			*ro = true;
		} else if (!strcmp(o, "rw")) {
			*ro = false;
		} else if (!strncmp(o, "poll_ms=", 8)) {
			fused.poll_ms = (unsigned int)strtoul(o + 8, NULL, 0);
			if (!fused.poll_ms || fused.poll_ms > 60000) {
				fprintf(stderr, "famfs_fused: poll_ms must be 1..60000\n");
				return -1;
			}
		} else if (!strncmp(o, "poll_min_us=", 12)) {
			fused.poll_min_us = (unsigned int)strtoul(o + 12, NULL, 0);
			if (!fused.poll_min_us || fused.poll_min_us > 60000000) {
				fprintf(stderr, "famfs_fused: poll_min_us must be 1..60000000\n");
				return -1;
			}
		} else if (!strcmp(o, "dataio=map")) {
			fused.dataio_map = true;
		} else if (!strncmp(o, "timeout=", 8)) {
			fused.timeout = strtod(o + 8, NULL);
		} else if (!strcmp(o, "fmap=striped")) {
			fused.fmap_mode = FUSED_FMAP_STRIPED;
		} else if (!strcmp(o, "fmap=unrolled")) {
			fused.fmap_mode = FUSED_FMAP_UNROLLED;
		} else if (!strcmp(o, "cache=auto")) {
			fused.cache_mode = FUSED_CACHE_AUTO;
		} else if (!strcmp(o, "cache=page")) {
			fused.cache_mode = FUSED_CACHE_PAGE;
		} else if (!strcmp(o, "cache=direct")) {
			fused.cache_mode = FUSED_CACHE_DIRECT;
		} else if (!strncmp(o, "threads=", 8)) {
			char *end;
			unsigned long n = strtoul(o + 8, &end, 10);

			fused.threads = *end || n > FUSED_MAX_THREADS ? 0 : (unsigned int)n;
			if (!fused.threads) {
				fprintf(stderr, "famfs_fused: threads must be 1..%d\n",
					FUSED_MAX_THREADS);
				return -1;
			}
		} else if (!strcmp(o, "nofmap")) {
			fused.fmap_allowed = false;
		} else {
			size_t used = strlen(pass);

			if (used + strlen(o) + 2 > passlen) {
				fprintf(stderr, "famfs_fused: too many options\n");
				return -1;
			}
			snprintf(pass + used, passlen - used, ",%s", o);
		}
	}
	return 0;
}

/*
 * Request handler threads: twice the CPUs, at least 4 and at most 16. Each
 * request costs a wake-up of a handler and its reply one of the caller;
 * handlers beyond the CPUs only queue on the namespace lock and each other
 * (bench/cp.sh on 2 CPUs: 16 threads 7.6-10.3k files/s, 4 threads 10-15k).
 * No handler waits for a request that another handler has yet to take
 * (notify.c), so any count is deadlock-free.
 */
static unsigned int default_threads(void)
{
	long n = 2 * sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 4)
		return 4;
	return n > 16 ? 16 : (unsigned int)n;
}

static void attach_state(struct famfs_node *n, void *arg)
{
	(void)arg;
	fused_node_attach(n);
}

/* The server's per-node state and cached fmaps, at exit. */
static void free_node_state(void)
{
	fused_pending_free_all();
	for (uint64_t ino = FAMFS_ROOT_INO; ino < fused.im->ns->nino; ino++) {
		struct famfs_node *n = famfs_ns_node(fused.im->ns, ino);
		struct fused_node *fn = n ? n->priv : NULL;

		if (fn) {
			fmap_free(fn->fmap);
			free(fn);
			n->priv = NULL;
		}
	}
}

/*
 * .meta/.superblock and .meta/.log: the metadata as read-only files (fsck
 * MOUNTPOINT). The log names every file, even those under 0700 directories,
 * so they are exactly as readable as the device itself: the device node's
 * owner, group and read bits (root only for a 0600 image or /dev/daxX.Y).
 */
static int add_meta(void)
{
	struct famfs_ns *ns = fused.im->ns;
	struct famfs_node *dir, *sb, *log;
	struct fused_node *fn;
	struct stat st;
	mode_t r;

	if (fstat(fused.im->fs->dev->fd, &st) < 0)
		return -errno;
	r = st.st_mode & 0444;
	if (famfs_ns_add(ns, famfs_ns_root(ns), ".meta", S_IFDIR | r | (r >> 2), st.st_uid,
			 st.st_gid, &dir) ||
	    famfs_ns_add(ns, dir, ".superblock", S_IFREG | r, st.st_uid, st.st_gid, &sb) ||
	    famfs_ns_add(ns, dir, ".log", S_IFREG | r, st.st_uid, st.st_gid, &log))
		return -ENOMEM;
	sb->size = FAMFS_SUPERBLOCK_SIZE;
	log->size = fused.im->fs->sb->log_len;
	fused.meta_ino = dir->ino;
	fused.sb_ino = sb->ino;
	fused.log_ino = log->ino;
	if (!fused_node_attach(famfs_ns_root(ns)) || !fused_node_attach(dir) ||
	    !(fn = fused_node_attach(sb)))
		return -ENOMEM;
	fn->file_type_set = true;
	fn->file_type = FMAP_FILE_SUPERBLOCK;
	if (!(fn = fused_node_attach(log)))
		return -ENOMEM;
	fn->file_type_set = true;
	fn->file_type = FMAP_FILE_LOG;
	return 0;
}

/* Is @code a device of the file system that this host cannot attach? */
static bool device_problem(enum famfs_pcode code)
{
	return code == FAMFS_P_DEV_MISSING || code == FAMFS_P_DEV_FOREIGN ||
	       code == FAMFS_P_DEV_SIZE || code == FAMFS_P_DEV_DUPLICATE;
}

/* Open the device and replay the log; decides master or client. */
static int open_image(const char *dev, bool ro)
{
	struct famfs_checker chk = {0};
	char why[512];
	long got;
	int rc;

	/* A server that was just unmounted may still be letting go of the writer
	 * lock: give it two seconds before calling the device busy. */
	for (int tries = 0;; tries++) {
		chk.count = 0;
		rc = famfs_image_open(dev,
				      ro ? FAMFS_FS_MAP_ALL | FAMFS_FS_EXCL | FAMFS_FS_DEVICES
					 : FAMFS_FS_MAP_ALL | FAMFS_FS_EXCL | FAMFS_FS_DEVICES |
					       FAMFS_FS_WRITE | FAMFS_FS_NOWAIT,
				      &fused.im, &chk);
		if (rc != -EBUSY || tries == 100)
			break;
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
	if (rc == -EPERM) {
		fprintf(stderr,
			"famfs_fused: %s: this host is not the master: mounting read-only\n",
			famfs_esc(dev));
		chk.count = 0;
		rc = famfs_image_open(dev, FAMFS_FS_MAP_ALL | FAMFS_FS_EXCL | FAMFS_FS_DEVICES,
				      &fused.im, &chk);
	}
	if (rc) {
		if (chk.count)
			famfs_problem_format(&chk.first, why, sizeof(why));
		if (rc == -EMEDIUMTYPE) {
			fprintf(stderr, "famfs_fused: %s: no famfs file system%s%s%s\n",
				famfs_esc(dev), chk.count ? " (" : "", chk.count ? why : "",
				chk.count ? ")" : "");
		} else if (chk.count) {
			fprintf(stderr, "famfs_fused: %s: %s\n", famfs_esc(dev), why);
		} else if (rc == -ETXTBSY) {
			fprintf(stderr,
				"famfs_fused: %s: in use by another file system or driver on this "
				"host (mounted, or held by device-mapper, md or swap): famfs needs "
				"it to itself\n",
				famfs_esc(dev));
		} else if (rc == -EBUSY) {
			fprintf(stderr,
				"famfs_fused: %s: already mounted read-write on this host (another "
				"process holds its writer lock)\n",
				famfs_esc(dev));
		} else {
			fprintf(stderr, "famfs_fused: %s: %s\n", famfs_esc(dev), strerror(-rc));
		}
		return -1;
	}
	if (fused.im->fs->torn_repaired)
		fprintf(stderr,
			"famfs_fused: %s: the log header's counters were torn by a crash while "
			"entry %" PRId64 " was published (the entry is intact): repaired\n",
			famfs_esc(dev), fused.im->fs->torn_slot);
	fused.writable = fused.im->fs->writable;
	if (add_meta()) {
		fprintf(stderr, "famfs_fused: cannot add the .meta files: out of memory\n");
		return -1;
	}
	fused_devices_init();
	got = famfs_image_catch_up(fused.im, attach_state, NULL);
	if (got < 0) {
		fprintf(stderr, "famfs_fused: %s: log replay failed: %s\n", famfs_esc(dev),
			strerror((int)-got));
		return -1;
	}
	if (fused.im->replay.bad_index >= 0 && device_problem(fused.im->replay.bad.code)) {
		/* A device of the file system is not here (or not the one the log
		 * names): refused, rather than serving a part (user-guide.md). */
		famfs_problem_format(&fused.im->replay.bad, why, sizeof(why));
		fprintf(stderr,
			"famfs_fused: %s: a device of this file system is not available on this "
			"host: %s\n"
			"famfs_fused: not mounted (famfs daxdev refresh DEVICE teaches this host "
			"where a device is; famfs fsck %s says what is missing)\n",
			famfs_esc(dev), why, famfs_esc(dev));
		return -1;
	}
	if (fused.im->replay.bad_index >= 0) {
		famfs_problem_format(&fused.im->replay.bad, why, sizeof(why));
		fprintf(stderr,
			"famfs_fused: %s: log replay stopped at a bad entry: %s\n"
			"famfs_fused: serving the %" PRId64 " entries before it, read-only; "
			"run famfs fsck\n",
			famfs_esc(dev), why, fused.im->replay.bad_index);
		fused.writable = false;
		fused.im->fs->writable = false;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char pass[1024] = "", fuseopts[PATH_MAX + 2048], optcopy[1024];
	bool foreground = false, ro = false;
	struct fuse_loop_config *cfg;
	const char *dev, *mnt;
	int c, ret = 1;

	/*
	 * One malloc arena for every thread. The per-node state of names a
	 * client's catch-up adds is allocated by the follow thread; in an
	 * arena of its own each allocation cost a third more of the replay
	 * (a million-entry catch-up: 1.3 against 0.6 to 1.0 us per entry). The
	 * handlers allocate little, mostly from their thread caches.
	 */
	mallopt(M_ARENA_MAX, 1);
	fused.poll_ms = 4;
	fused.poll_min_us = 500;
	fused.timeout = 3600;
	fused.fmap_allowed = true;
	fused.chfd = -1;
	fused.fmap_mode = FUSED_FMAP_STRIPED;
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {0}};

	while ((c = getopt_long(argc, argv, "+fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'd':
			fused.debug = foreground = true;
			break;
		case 'o':
			snprintf(optcopy, sizeof(optcopy), "%s", optarg);
			if (parse_opts(optcopy, &ro, pass, sizeof(pass)))
				return 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("famfs_fused %s (libfuse %s)\n", FAMFS_PKG_VERSION,
			       fuse_pkgversion());
			return 0;
		default:
			fputs(usage_text, stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		fputs(usage_text, stderr);
		return 1;
	}
	dev = argv[optind];
	mnt = argv[optind + 1];
	fused.devpath = dev;
	fused.mount_time = time(NULL);
	fused.mnt_real = realpath(mnt, NULL);
	/*
	 * Writer-preferring: a steady stream of shared holders (lookups, reads,
	 * GET_FMAP) must not starve create, commit and allocation. Safe because
	 * no thread ever takes the lock twice (NONRECURSIVE: a nested rdlock
	 * would deadlock behind a waiting writer; there is none, see design.md).
	 */
	pthread_rwlockattr_t lattr;

	pthread_rwlockattr_init(&lattr);
	pthread_rwlockattr_setkind_np(&lattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fused.lock, &lattr);
	pthread_rwlockattr_destroy(&lattr);

	/* First: a fault in the log or header while replaying is EIO, not death. */
	if (fused_media_init()) {
		fprintf(stderr, "famfs_fused: cannot install the SIGBUS handler\n");
		goto out;
	}
	if (open_image(dev, ro))
		goto out;

	snprintf(fuseopts, sizeof(fuseopts),
		 "fsname=%s,subtype=famfs,default_permissions,allow_other%s%s",
		 strchr(fused.im->fs->dev->path, ',') ? "famfs" : fused.im->fs->dev->path,
		 fused.writable ? "" : ",ro", pass);
	char *fargv[] = {argv[0], "-o", fuseopts, fused.debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(fused.debug ? 4 : 3, fargv);

	fused.se = fuse_session_new(&args, &fused_ops, sizeof(fused_ops), NULL);
	fuse_opt_free_args(&args);
	if (!fused.se)
		goto out;
	if (fused_mount(fused.se, mnt,
			strchr(fused.im->fs->dev->path, ',') ? "famfs" : fused.im->fs->dev->path,
			!fused.writable, pass)) {
		fprintf(stderr, "famfs_fused: cannot mount on %s\n", famfs_esc(mnt));
		goto out_session;
	}
	if (fused_channel_attach(fused.se)) {
		fprintf(stderr, "famfs_fused: cannot attach the channel layer\n");
		goto out_unmount;
	}
	if (fuse_set_signal_handlers(fused.se))
		goto out_unmount;
	if (!foreground) {
		openlog("famfs_fused", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(syslog_func);
	}
	fuse_daemonize(foreground);
	if (fused_notify_start())
		fuse_log(FUSE_LOG_ERR, "famfs_fused: cannot start the notifier thread\n");
	if (!fused.writable && fused_follow_start())
		fuse_log(FUSE_LOG_ERR, "famfs_fused: cannot start following the log\n");

	if (!fused.threads)
		fused.threads = default_threads();
	cfg = fuse_loop_cfg_create();
	/* All kept (idle = max): no thread is made and unmade per request burst. */
	fuse_loop_cfg_set_max_threads(cfg, fused.threads);
	fuse_loop_cfg_set_idle_threads(cfg, fused.threads);
	ret = fuse_session_loop_mt(fused.se, cfg) ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);

	fused_follow_stop();
	fused_notify_stop();
	fuse_remove_signal_handlers(fused.se);
out_unmount:
	fused_unmount(fused.se);
out_session:
	fuse_session_destroy(fused.se);
out:
	if (fused.im) {
		if (fused.writable)
			famfs_dev_sync(fused.im->fs->dev);
		free_node_state();
		famfs_image_close(fused.im);
	}
	free(fused.mnt_real);
	return ret;
}
