// SPDX-License-Identifier: Apache-2.0
/*
 * famfs umount, and umount.famfs: unmount a famfs and wait for its server to
 * let go of the device.
 *
 * umount(8) returns as soon as the kernel has detached a mount; a FUSE
 * server then still needs a moment to notice and exit, and until it has,
 * the device is in use (famfs mkfs refuses it, a master mount waits for its
 * writer lock). umount(8) runs /sbin/umount.<type> when it exists, and
 * /sbin/umount.<helper> for a mount whose libmount utab entry says
 * helper=<helper>. So:
 *  - famfs_fused records helper=famfs in libmount's utab for each mount it
 *    makes (famfs/utab.h): without famfs.ko the mount's type is FUSE's,
 *    which umount(8) would otherwise learn from statfs ("fuse") and for which
 *    it would look for umount.fuse only;
 *  - /sbin/umount.famfs (type famfs with famfs.ko, and helper=famfs) and
 *    /sbin/umount.fuse.famfs (type fuse.famfs, when umount(8) reads the type
 *    from mountinfo: -l, -f, other util-linux versions) are this program;
 *    they unmount through libmount with helpers off (which also drops the
 *    utab entry) and wait for the server, as famfs umount does.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "famfs_kabi.h"

/*
 * Is @mnt the root of a famfs mount? (/proc/self/mountinfo, the last match
 * is on top): type "famfs" (famfs.ko) or "fuse.famfs" (the kernel's FUSE).
 * Its mount source (the device) into @source (may be NULL).
 */
static bool is_famfs_mount(const char *mnt, char *source, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fstype[64], src[PATH_MAX];
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%63s %4095s", fstype, src) != 2)
			continue;
		cli_mountinfo_unescape(mp);
		cli_mountinfo_unescape(src);
		if (!strcmp(mp, mnt)) {
			found = !strcmp(fstype, FAMFS_FSTYPE) || !strcmp(fstype, "fuse.famfs");
			if (source)
				snprintf(source, size, "%s", src);
		}
	}
	fclose(f);
	return found;
}

/* Has process @pid exited? (A zombie counts: it holds no files any more.) */
static bool gone(pid_t pid)
{
	char path[64], stat[256];
	FILE *f;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (!fgets(stat, sizeof(stat), f))
		stat[0] = '\0';
	fclose(f);
	const char *state = strrchr(stat, ')');

	return state && state[1] == ' ' && state[2] == 'Z';
}

/*
 * umount(2) of @mnt through libmount, which also drops its utab entry;
 * helpers off (we are the helper). Returns 0 or -errno.
 */
static int lm_umount(const char *mnt, unsigned int how)
{
	struct libmnt_context *cxt = mnt_new_context();
	int rc;

	if (!cxt)
		return -ENOMEM;
	mnt_context_disable_helpers(cxt, 1);
	rc = mnt_context_set_target(cxt, mnt);
	if (!rc && (how & CLI_UMOUNT_LAZY))
		rc = mnt_context_enable_lazy(cxt, 1);
	if (!rc && (how & CLI_UMOUNT_FORCE))
		rc = mnt_context_enable_force(cxt, 1);
	if (!rc && (how & CLI_UMOUNT_RDONLY))
		rc = mnt_context_enable_rdonly_umount(cxt, 1);
	if (!rc)
		rc = mnt_context_umount(cxt);
	if (rc && mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt))
		rc = -mnt_context_get_syscall_errno(cxt);
	else if (rc > 0 || rc < -4095) /* libmount's own MNT_ERR_* codes */
		rc = -EINVAL;
	mnt_free_context(cxt);
	return rc;
}

/* cli_famfs_umount_how(); *@released: the server was seen to exit. */
static int umount_wait(const char *path, unsigned int how, bool *released)
{
	char mnt[PATH_MAX], pidtext[32];
	pid_t pid = 0;
	int rc;

	if (!realpath(path, mnt))
		return -errno;
	if (!is_famfs_mount(mnt, NULL, 0))
		return -EINVAL;
	/* The server exits when the kernel drops the connection, and a master's
	 * server holds the device's writer lock until then: wait for it, so the
	 * device can be mounted again as soon as this returns. */
	if (cli_famfs_xattr(mnt, "user.famfs.pid", pidtext, sizeof(pidtext)) > 0)
		pid = (pid_t)strtol(pidtext, NULL, 10);
	rc = lm_umount(mnt, how);
	if (rc)
		return rc;
	/* Lazy: detached, the connection may stay while files are open. */
	for (int i = 0; !(how & CLI_UMOUNT_LAZY) && pid > 0 && i < 1000 && !gone(pid); i++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	if (released)
		*released = pid > 0 && gone(pid);
	return 0;
}

int cli_famfs_umount_how(const char *path, unsigned int how)
{
	return umount_wait(path, how, NULL);
}

int cli_famfs_umount(const char *path)
{
	return cli_famfs_umount_how(path, 0);
}

/* -N NS: a process id or a path to a mount namespace; enter it. */
static int enter_ns(const char *ns)
{
	char path[64];
	char *end;
	long pid = strtol(ns, &end, 10);
	int fd, rc;

	if (*ns && !*end && pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
		ns = path;
	}
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = setns(fd, CLONE_NEWNS) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static void helper_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s MOUNTPOINT [-flnrv] [-N NAMESPACE] [-t TYPE]\n\n"
		"umount(8)'s helper for famfs: umount(8) runs it for mounts of type famfs\n"
		"(with the famfs kernel module), fuse.famfs, and every mount famfs_fused\n"
		"made (recorded with helper=famfs in /run/mount/utab). It unmounts MOUNTPOINT\n"
		"and waits (up to 10 s) for the famfs server to exit, so that the device is\n"
		"free when umount(8) returns: famfs mkfs, or a master's mount, right after it\n"
		"never finds the device still in use. A mount that is not a famfs is just\n"
		"unmounted.\n\n"
		"Options (umount(8) passes them):\n"
		"  -l         lazy: detach now, do not wait for the server\n"
		"  -f         force (umount2 MNT_FORCE)\n"
		"  -r         if unmounting fails, remount read-only\n"
		"  -n         accepted (there is no mtab to write)\n"
		"  -v         say what was done (and whether the server has exited)\n"
		"  -N NS      in the mount namespace NS (a process id or a path)\n"
		"  -t TYPE    accepted (the type is read from the mount table)\n"
		"  -h, --help this help; -V, --version: the version\n\n"
		"Exit status: 0 unmounted, 1 usage error, 32 unmounting failed.\n",
		prog);
}

int cli_umount_helper(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *target = NULL, *ns = NULL, *what = "not a famfs mount";
	unsigned int how = 0;
	bool verbose = false, released = false;
	char mnt[PATH_MAX];
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			helper_usage(stdout, prog);
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s %s\n", prog, FAMFS_PKG_VERSION);
			return 0;
		}
		if (!strcmp(a, "-N") || !strcmp(a, "-t")) {
			if (++i == argc) {
				helper_usage(stderr, prog);
				return 1;
			}
			if (a[1] == 'N')
				ns = argv[i];
		} else if (a[0] == '-' && a[1]) {
			for (const char *f = a + 1; *f; f++) {
				if (*f == 'l')
					how |= CLI_UMOUNT_LAZY;
				else if (*f == 'f')
					how |= CLI_UMOUNT_FORCE;
				else if (*f == 'r')
					how |= CLI_UMOUNT_RDONLY;
				else if (*f == 'v')
					verbose = true;
				else if (*f != 'n') {
					fprintf(stderr, "%s: unknown option -%s\n", prog,
						famfs_esc((char[]){*f, '\0'}));
					helper_usage(stderr, prog);
					return 1;
				}
			}
		} else if (!target) {
			target = a;
		} else {
			helper_usage(stderr, prog);
			return 1;
		}
	}
	if (!target) {
		helper_usage(stderr, prog);
		return 1;
	}
	if (ns && (rc = enter_ns(ns))) {
		fprintf(stderr, "%s: namespace %s: %s\n", prog, famfs_esc(ns), strerror(-rc));
		return 32;
	}
	if (!realpath(target, mnt)) {
		fprintf(stderr, "%s: %s: %s\n", prog, famfs_esc(target), strerror(errno));
		return 32;
	}
	rc = umount_wait(mnt, how, &released);
	if (rc == -EINVAL) /* not a famfs (a stale utab entry): unmount it all the same */
		rc = lm_umount(mnt, how);
	else if (!rc)
		what = how & CLI_UMOUNT_LAZY ? "lazy: not waiting for its server"
		       : released	     ? "its server has exited"
					     : "its server did not exit within 10 s";
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", prog, famfs_esc(mnt), strerror(-rc));
		return 32;
	}
	if (verbose)
		printf("%s: %s unmounted (%s)\n", prog, famfs_esc(mnt), what);
	return 0;
}

enum { OPT_DEVDAX = 256 };

/*
 * The devdax devices other than the primary of the famfs mounted at @mnt,
 * from its server's user.famfs.devices ("INDEX UUID CAPACITY USED FREE HOW
 * PATH" a device): paths into @devs (@max of them, PATH_MAX bytes each).
 * Returns how many; 0 if the server does not say.
 */
static int secondary_devdax(const char *mnt, char (*devs)[PATH_MAX], int max)
{
	char buf[FAMFS_MAX_DAXDEVS * (PATH_MAX / 8)], *line, *save;
	ssize_t len = getxattr(mnt, "user.famfs.devices", buf, sizeof(buf) - 1);
	int n = 0;

	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned int index;
		char path[PATH_MAX];

		if (sscanf(line, "%u %*s %*s %*s %*s %*s %4095s", &index, path) == 2 && index > 0 &&
		    !strncmp(path, "/dev/dax", 8))
			snprintf(devs[n++], PATH_MAX, "%s", path);
	}
	return n;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char mnt[PATH_MAX], source[PATH_MAX] = "", secondary[FAMFS_MAX_DAXDEVS][PATH_MAX];
	bool devdax = false;
	const char *arg;
	int c, rc, nsec = 0;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1)
		if (c == OPT_DEVDAX)
			devdax = true;
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected MOUNTPOINT");
	if (!realpath(argv[cli_optind()], mnt))
		return cli_error(cmd, "%s: %s", famfs_esc(argv[cli_optind()]), strerror(errno));
	is_famfs_mount(mnt, source, sizeof(source));
	if (devdax && source[0] == '/')
		nsec = secondary_devdax(mnt, secondary, FAMFS_MAX_DAXDEVS);
	rc = cli_famfs_umount(mnt);
	if (rc == -EINVAL)
		return cli_error(cmd, "%s is not a famfs mount point", famfs_esc(mnt));
	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(mnt), strerror(-rc));
	/* --devdax: every devdax device of the file system goes back to device_dax */
	rc = CLI_OK;
	if (devdax && source[0] == '/')
		rc = cli_devdax_mode(cmd, source, false, NULL, 0);
	for (int i = 0; i < nsec; i++)
		if (cli_devdax_mode(cmd, secondary[i], false, NULL, 0) != CLI_OK)
			rc = CLI_FAIL;
	return rc;
}

static const struct cli_opt opts[] = {
    {"devdax", OPT_DEVDAX, NULL,
     "give the file system's /dev/daxX.Y devices back to device_dax (from famfs_dax)", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_umount = {
    .name = "umount",
    .args = "[--devdax] MOUNTPOINT",
    .summary = "Unmount a famfs and wait until its server has released the device.",
    .details = "Waits (up to 10 s) for the server to exit, so the device can be mounted\n"
	       "again, or formatted, at once. Plain umount(8) does the same through the\n"
	       "umount.famfs helper (installed in /sbin with famfs).\n"
	       "With --devdax every devdax device of the file system (the primary and\n"
	       "the others its server opened) that famfs moved to the famfs_dax driver\n"
	       "goes back to device_dax (raw mmap for other tools); one stays on\n"
	       "famfs_dax while any other process has it open.\n\n"
	       "Exit status: 0 unmounted, 1 failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
