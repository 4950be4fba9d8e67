// SPDX-License-Identifier: Apache-2.0
/* famfs umount: unmount a famfs and wait for its server to let go of the device. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
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

int cli_famfs_umount(const char *path)
{
	char mnt[PATH_MAX], pidtext[32];
	pid_t pid = 0;

	if (!realpath(path, mnt))
		return -errno;
	if (!is_famfs_mount(mnt, NULL, 0))
		return -EINVAL;
	/* The server exits when the kernel drops the connection, and a master's
	 * server holds the device's writer lock until then: wait for it, so the
	 * device can be mounted again as soon as this returns. */
	if (cli_famfs_xattr(mnt, "user.famfs.pid", pidtext, sizeof(pidtext)) > 0)
		pid = (pid_t)strtol(pidtext, NULL, 10);
	if (umount2(mnt, 0) < 0)
		return -errno;
	for (int i = 0; pid > 0 && i < 1000 && !gone(pid); i++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	return 0;
}

enum { OPT_DEVDAX = 256 };

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char mnt[PATH_MAX], source[PATH_MAX] = "";
	bool devdax = false;
	const char *arg;
	int c, rc;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1)
		if (c == OPT_DEVDAX)
			devdax = true;
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected MOUNTPOINT");
	if (!realpath(argv[cli_optind()], mnt))
		return cli_error(cmd, "%s: %s", famfs_esc(argv[cli_optind()]), strerror(errno));
	is_famfs_mount(mnt, source, sizeof(source));
	rc = cli_famfs_umount(mnt);
	if (rc == -EINVAL)
		return cli_error(cmd, "%s is not a famfs mount point", famfs_esc(mnt));
	if (rc)
		return cli_error(cmd, "%s: %s", famfs_esc(mnt), strerror(-rc));
	/* --devdax: a devdax device goes back to device_dax */
	if (devdax && source[0] == '/')
		return cli_devdax_mode(cmd, source, false);
	return CLI_OK;
}

static const struct cli_opt opts[] = {
    {"devdax", OPT_DEVDAX, NULL, "give a /dev/daxX.Y back to device_dax (from famfs_dax)", NULL,
     false},
    {0},
};

const struct cli_cmd cli_cmd_umount = {
    .name = "umount",
    .args = "[--devdax] MOUNTPOINT",
    .summary = "Unmount a famfs and wait until its server has released the device.",
    .details = "Plain umount(8) works too; famfs umount also waits (up to 10 s) for the\n"
	       "master's server to exit, so the device can be mounted again at once.\n"
	       "With --devdax a devdax device that famfs mount moved to the famfs_dax\n"
	       "driver goes back to device_dax (raw mmap for other tools); it stays on\n"
	       "famfs_dax while any other process has it open.\n\n"
	       "Exit status: 0 unmounted, 1 failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
