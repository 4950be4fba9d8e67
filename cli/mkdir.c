// SPDX-License-Identifier: Apache-2.0
/* famfs mkdir: create directories in a mounted famfs (the master). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static int make(const char *path, mode_t mode, bool parents, bool verbose)
{
	char buf[PATH_MAX];
	struct stat st;

	if (mkdir(path, mode) == 0) {
		if (verbose)
			printf("famfs mkdir: created directory '%s'\n", famfs_esc(path));
		return 0;
	}
	if (!parents)
		return -errno;
	if (errno == EEXIST)
		return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -EEXIST;
	if (errno != ENOENT)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", path);
	char *slash = strrchr(buf, '/');

	while (slash && slash > buf && slash[-1] == '/')
		slash--;
	if (!slash || slash == buf)
		return -ENOENT;
	*slash = '\0';
	int rc = make(buf, 0755, true, verbose);

	if (rc)
		return rc;
	return make(path, mode, false, verbose);
}

/* Does @path have a ".." component? */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
	return false;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	bool parents = false, verbose = false;
	unsigned int uid = (unsigned int)-1, gid = (unsigned int)-1;
	mode_t mode = 0755;
	const char *arg;
	char root[PATH_MAX], path[PATH_MAX];
	int c, ret = CLI_OK;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (c == 'p')
			parents = true;
		else if (c == 'v')
			verbose = true;
		else if (cli_owner_opt(cmd, c, arg, &mode, &uid, &gid))
			return CLI_USAGE;
	}
	if (argc == cli_optind())
		return cli_usage_error(cmd, "expected DIR");
	/* Owner and group are logged with each directory, never changed after. */
	if (cli_become_owner(uid, gid))
		return cli_error(cmd, "only root may give directories another owner");
	umask(0);
	for (int i = cli_optind(); i < argc; i++) {
		/* Resolve first ("//", "./", a relative path), then create. */
		int rc = has_dotdot(argv[i]) ? -EINVAL : cli_resolve(argv[i], path, sizeof(path));

		if (rc == -EINVAL) {
			/* Refused before anything is created (the log never names "..";
			 * resolving it would create directories the user did not name). */
			cli_error(cmd, "%s: \"..\" is not allowed in a famfs path",
				  famfs_esc(argv[i]));
			ret = CLI_FAIL;
			continue;
		}
		if (rc == 0)
			rc = cli_famfs_root(path, root, sizeof(root));
		if (rc == 0)
			rc = make(path, mode, parents, verbose);
		else if (rc == -ENOTSUP || rc == -ENOENT)
			rc = -EXDEV;
		if (rc) {
			cli_error(cmd, "%s: %s", famfs_esc(argv[i]),
				  rc == -EXDEV	 ? "not inside a mounted famfs"
				  : rc == -EROFS ? "read-only (only the master creates directories)"
				  : rc == -ENOSPC ? "the log is full"
						  : strerror(-rc));
			ret = CLI_FAIL;
		}
	}
	return ret;
}

static const struct cli_opt opts[] = {
    {"parents", 'p', NULL, "create missing parents; an existing directory is fine", NULL, false},
    {"mode", 'm', "MODE", "permissions, octal (default 0755; with -p, of DIR only)", NULL, false},
    {"uid", 'u', "UID", "owner of the directories created (default: the caller)", NULL, false},
    {"gid", 'g', "GID", "group of the directories created (default: the caller's)", NULL, false},
    {"verbose", 'v', NULL, "print each directory created", NULL, false},
    {0},
};

const struct cli_cmd cli_cmd_mkdir = {
    .name = "mkdir",
    .args = "[-p] [-m MODE] [-u UID] [-g GID] [-v] DIR...",
    .summary = "Create directories in a mounted famfs.",
    .details = "Each directory is one log entry. Plain mkdir(2) on the mount does the same.\n\n"
	       "Exit status: 0 all created, 1 any failed, 2 usage error.",
    .opts = opts,
    .run = run,
};
