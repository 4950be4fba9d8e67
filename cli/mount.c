// SPDX-License-Identifier: Apache-2.0
/* famfs mount: start famfs_fused for a device on a mount point. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* famfs_fused next to this program, else on $PATH. */
static void fused_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');

		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/famfs_fused", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, size, "famfs_fused");
}

enum { OPT_BOUNCEDAX = 256, OPT_DEVDAX };

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char fused[PATH_MAX + 16], opts[1024] = "", mntreal[PATH_MAX], role[16], how[96], was[64];
	const char *arg, *fargv[10];
	bool ro = false, debug = false, remount = false, devdax = false;
	int c, n = 0, rc, status, verbose = 0, role_opt = 0;
	struct stat st;
	pid_t pid;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (c) {
		case 'r':
		case 'm':
			/* -r (ours: read-only) is the existing tools' client role; -m
			 * their master role, which is what the master gets anyway. */
			if (role_opt && role_opt != c)
				return cli_usage_error(cmd, "-r and -m exclude each other");
			role_opt = c;
			ro = c == 'r';
			break;
		case 'd':
			debug = true;
			break;
		case 'o':
			snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s",
				 opts[0] ? "," : "", arg);
			break;
		case 't': {
			char *end;
			double t = strtod(arg, &end);

			if (*end || end == arg || t < 0)
				return cli_usage_error(cmd, "--timeout %s: seconds",
						       famfs_esc(arg));
			snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%stimeout=%s",
				 opts[0] ? "," : "", arg);
			break;
		}
		case 'R':
			remount = true;
			break;
		case 'v':
			verbose++;
			break;
		case OPT_DEVDAX:
			devdax = true;
			break;
		}
	}
	if (argc - cli_optind() != 2)
		return cli_usage_error(cmd, "expected DEVICE and MOUNTPOINT");
	const char *dev = argv[cli_optind()], *mnt = argv[cli_optind() + 1];

	if (stat(dev, &st) < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(dev), strerror(errno));
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode))
		return cli_error(cmd, "%s: %s", famfs_esc(mnt),
				 errno == 0 || S_ISDIR(st.st_mode) ? "not a directory"
								   : strerror(errno));
	if (strlen(opts) + sizeof(",ro,nosuid,nodev") > sizeof(opts))
		return cli_usage_error(cmd, "-o: options too long");
	if (remount) {
		/* -R: unmount what is mounted there first (the server lets go of
		 * the device before this returns), then mount again. */
		rc = cli_famfs_umount(mnt);
		if (rc && rc != -EINVAL)
			return cli_error(cmd, "%s: unmounting for -R: %s", famfs_esc(mnt),
					 strerror(-rc));
		if (!rc && verbose)
			printf("famfs mount: %s unmounted (-R)\n", famfs_esc(mnt));
	}
	/* /dev/daxX.Y: kernel-mode famfs needs it on famfs_dax (docs/kernel.md);
	 * a mount that fails gives it back to the driver it had (@was). */
	if (cli_devdax_mode(cmd, dev, !devdax, was, sizeof(was)) != CLI_OK)
		return CLI_FAIL;
	if (ro)
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%sro",
			 opts[0] ? "," : "");
	/* Always last, so they win over any -o suid/dev: a file's mode comes from
	 * the log, which the master host writes for every host that mounts it. */
	snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%snosuid,nodev",
		 opts[0] ? "," : "");

	fused_path(fused, sizeof(fused));
	fargv[n++] = fused;
	if (debug)
		fargv[n++] = "-d";
	if (opts[0]) {
		fargv[n++] = "-o";
		fargv[n++] = opts;
	}
	fargv[n++] = dev;
	fargv[n++] = mnt;
	fargv[n] = NULL;
	if (verbose) {
		printf("famfs mount: running");
		for (int i = 0; fargv[i]; i++)
			printf(" %s", famfs_esc(fargv[i]));
		printf("\n");
		fflush(stdout);
	}
	pid = fork();
	if (pid < 0) {
		rc = cli_error(cmd, "fork: %s", strerror(errno));
		cli_devdax_restore(cmd, dev, was);
		return rc;
	}
	if (pid == 0) {
		execvp(fused, (char *const *)fargv);
		fprintf(stderr, "famfs mount: cannot run %s: %s\n", famfs_esc(fused),
			strerror(errno));
		_exit(127);
	}
	/* famfs_fused returns once mounted (it daemonizes), or with an error. */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cli_error(cmd, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = cli_error(cmd, "mounting %s on %s failed", famfs_esc(dev), famfs_esc(mnt));
		/* The server exits before it daemonizes when it refuses the device
		 * (a secondary, a damaged superblock): nothing holds it now. */
		cli_devdax_restore(cmd, dev, was);
		return rc;
	}
	/* Which data path the mount got, and why the slow one if so. */
	if (realpath(mnt, mntreal) &&
	    cli_famfs_xattr(mntreal, "user.famfs.role", role, sizeof(role)) > 0)
		printf("famfs mount: %s on %s: %s, data path: %s\n", famfs_esc(dev),
		       famfs_esc(mntreal), role,
		       cli_data_path(mntreal, how, sizeof(how)) ?: "unknown");
	if (!cli_famfs_module_loaded() && cli_famfs_module_installed())
		fprintf(
		    stderr,
		    "famfs mount: warning: the famfs kernel module is installed but not loaded: "
		    "the server moves every byte of file data; modprobe famfs (or load it at "
		    "boot) and the kernel maps the files itself\n");
	return CLI_OK;
}

static const struct cli_opt opts[] = {
    {"read-only", 'r', NULL, "mount read-only (a client), even on the master", NULL, false},
    {"master", 'm', NULL, "the master's role (its default): read-write", NULL, false},
    {"debug", 'd', NULL, "run the server in the foreground, printing every request", NULL, false},
    {"options", 'o', "OPTS", "famfs_fused options (poll_ms=N, timeout=S, fmap=unrolled, ...)", NULL,
     false},
    {"timeout", 't', "SEC", "kernel attribute and entry cache time (-o timeout=SEC)", NULL, false},
    {"remount", 'R', NULL, "unmount MOUNTPOINT first if a famfs is mounted there", NULL, false},
    {"verbose", 'v', NULL, "print the server's command line", NULL, false},
    {"fuse", 'f', NULL, NULL, "famfs always mounts through FUSE (with the famfs module if loaded)",
     false},
    {"nofuse", 'F', NULL, NULL, "there is no standalone famfs file system here", false},
    {"nouseraccess", 'u', NULL, NULL, "access is decided by each file's mode and owner", false},
    {"nodefaultperm", 'p', NULL, NULL, "the kernel always checks each file's mode and owner",
     false},
    {"shadow", 'S', "PATH", NULL,
     "the server keeps no shadow tree (famfs logplay --shadow writes one)", false},
    {"set-daxmode", 'M', NULL, NULL,
     "done by default: a /dev/daxX.Y goes to famfs_dax when the famfs modules are loaded", false},
    {"load-module", 'L', NULL, NULL, "load the famfs module with modprobe; mount uses it if loaded",
     false},
    {"cache", 'c', "MODE", NULL, "see -t/--timeout, and -o cache= for the data path", false},
    {"dummy", 'D', "DEV", NULL, "no dummy devices here", false},
    {"bouncedax", OPT_BOUNCEDAX, NULL, NULL,
     "a /dev/daxX.Y is rebound only when needed (famfs umount --devdax gives it back)", false},
    {"devdax", OPT_DEVDAX, NULL, "keep a /dev/daxX.Y on device_dax (user-space data path)", NULL,
     false},
    {0},
};

const struct cli_cmd cli_cmd_mount = {
    .name = "mount",
    .args = "[-r] [-t SEC] [-o OPTS] [-R] [-v] [--devdax] DEVICE MOUNTPOINT",
    .summary = "Mount the famfs on DEVICE at MOUNTPOINT (starts famfs_fused).",
    .details = "On the master host the mount is read-write: files and directories created\n"
	       "there are appended to the log. On any other host, or with -r, it is\n"
	       "read-only and follows the master's log by itself: new files appear within a\n"
	       "second. A device can be mounted read-write once per host. famfs is always\n"
	       "mounted nosuid,nodev: set-user-ID bits and device files in it have no effect.\n"
	       "mount(8) works too: mount -t famfs DEVICE MOUNTPOINT, or a line in /etc/fstab.\n\n"
	       "It prints the role mounted and the data path: kernel DAX when the famfs kernel\n"
	       "module (famfs.ko) maps the files to the device itself, else the server, which\n"
	       "then moves every byte (and why: the module is not loaded, it cannot map the\n"
	       "device, -o nofmap). It warns when famfs.ko is installed but not loaded;\n"
	       "mount -t famfs loads it (the kernel does for the file system type famfs),\n"
	       "famfs mount does not.\n\n"
	       "A devdax device (/dev/daxX.Y) is moved from device_dax to the famfs_dax\n"
	       "driver when the famfs and famfs_dax kernel modules are loaded: the kernel\n"
	       "then maps files straight to the device. A mount that fails gives it back to\n"
	       "device_dax; a mounted one stays there after umount (famfs mkfs/fsck work on\n"
	       "it); famfs umount --devdax gives it back.\n\n"
	       "Exit status: 0 mounted, 1 failed (the reason is printed), 2 usage error.",
    .opts = opts,
    .run = run,
};
