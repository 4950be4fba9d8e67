// SPDX-License-Identifier: Apache-2.0
/* Helpers for subcommands that work on a mounted famfs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <sys/vfs.h>
#include <sys/xattr.h>

#include "cli.h"
#include "format.h"

#define FUSE_SUPER_MAGIC 0x65735546

int cli_famfs_root(const char *path, char *root, size_t size)
{
	char cur[PATH_MAX], up[PATH_MAX + 4];
	struct stat st, pst;
	struct statfs sf;
	char role[16];

	/* Start at @path, or at its nearest existing ancestor. */
	snprintf(up, sizeof(up), "%s", path);
	while (!realpath(up, cur)) {
		char *slash = strrchr(up, '/');

		if (errno != ENOENT)
			return -errno;
		while (slash && slash > up && slash[1] == '\0') { /* trailing slashes */
			*slash = '\0';
			slash = strrchr(up, '/');
		}
		if (!slash)
			snprintf(up, sizeof(up), ".");
		else if (slash == up)
			snprintf(up, sizeof(up), "/");
		else
			*slash = '\0';
	}
	if (statfs(cur, &sf) < 0)
		return -errno;
	/* FUSE's magic, or famfs's on a famfs-enabled fuse.ko (kmod/) */
	if ((unsigned long)sf.f_type != FUSE_SUPER_MAGIC &&
	    (unsigned long)sf.f_type != FAMFS_STATFS_MAGIC)
		return -ENOTSUP;
	if (stat(cur, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		char *slash = strrchr(cur, '/');

		*(slash == cur ? slash + 1 : slash) = '\0';
		if (stat(cur, &st) < 0)
			return -errno;
	}
	/* Walk up while the parent is on the same file system. */
	while (strcmp(cur, "/")) {
		snprintf(up, sizeof(up), "%s/..", cur);
		if (stat(up, &pst) < 0 || pst.st_dev != st.st_dev)
			break;
		char *slash = strrchr(cur, '/');

		*(slash == cur ? slash + 1 : slash) = '\0';
	}
	if (getxattr(cur, "user.famfs.role", role, sizeof(role)) < 0)
		return -ENOTSUP;
	if (strlen(cur) >= size)
		return -ENAMETOOLONG;
	strcpy(root, cur);
	return 0;
}

ssize_t cli_famfs_xattr(const char *path, const char *name, char *buf, size_t size)
{
	ssize_t n = getxattr(path, name, buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int cli_famfs_create(const char *path, uint64_t size, mode_t mode, const char *stripe)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (stripe && fsetxattr(fd, "user.famfs.stripe", stripe, strlen(stripe), 0) < 0)
		rc = -errno;
	/* One call gives the file its size, its space and its log entry. */
	if (!rc && size > 0 && fallocate(fd, 0, 0, (off_t)size) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

const char *cli_famfs_nospace(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) == 0 && sv.f_favail == 0)
		return "the log is full (no free log entries)";
	return "no space left on the device";
}
