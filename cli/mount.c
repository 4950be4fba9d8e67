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

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	char fused[PATH_MAX + 16], opts[1024] = "";
	const char *arg, *fargv[10];
	bool ro = false, debug = false;
	int c, n = 0, status;
	struct stat st;
	pid_t pid;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (c) {
		case 'r':
			ro = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'o':
			snprintf(opts, sizeof(opts), "%s", arg);
			break;
		}
	}
	if (argc - cli_optind() != 2)
		return cli_usage_error(cmd, "expected DEVICE and MOUNTPOINT");
	const char *dev = argv[cli_optind()], *mnt = argv[cli_optind() + 1];

	if (stat(dev, &st) < 0)
		return cli_error(cmd, "%s: %s", dev, strerror(errno));
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode))
		return cli_error(cmd, "%s: %s", mnt,
				 errno == 0 || S_ISDIR(st.st_mode) ? "not a directory"
								   : strerror(errno));
	if (strlen(opts) + sizeof(",ro,nosuid,nodev") > sizeof(opts))
		return cli_usage_error(cmd, "-o: options too long");
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
	pid = fork();
	if (pid < 0)
		return cli_error(cmd, "fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(fused, (char *const *)fargv);
		fprintf(stderr, "famfs mount: cannot run %s: %s\n", fused, strerror(errno));
		_exit(127);
	}
	/* famfs_fused returns once mounted (it daemonizes), or with an error. */
	if (waitpid(pid, &status, 0) < 0)
		return cli_error(cmd, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cli_error(cmd, "mounting %s on %s failed", dev, mnt);
	return CLI_OK;
}

static const struct cli_opt opts[] = {
    {"read-only", 'r', NULL, "mount read-only (a client), even on the master"},
    {"debug", 'd', NULL, "run the server in the foreground, printing every request"},
    {"options", 'o', "OPTS", "famfs_fused options (poll_ms=N, timeout=S, fmap=unrolled, ...)"},
    {0},
};

const struct cli_cmd cli_cmd_mount = {
    .name = "mount",
    .args = "[-r] [-o OPTS] DEVICE MOUNTPOINT",
    .summary = "Mount the famfs on DEVICE at MOUNTPOINT (starts famfs_fused).",
    .details = "On the master host the mount is read-write: files and directories created\n"
	       "there are appended to the log. On any other host, or with -r, it is\n"
	       "read-only and follows the master's log by itself: new files appear within a\n"
	       "second. A device can be mounted read-write once per host. famfs is always\n"
	       "mounted nosuid,nodev: set-user-ID bits and device files in it have no effect.\n\n"
	       "Exit status: 0 mounted, 1 failed (the reason is printed), 2 usage error.",
    .opts = opts,
    .run = run,
};
