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
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
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

bool cli_famfs_module_loaded(void)
{
	return access("/sys/module/famfs", F_OK) == 0;
}

bool cli_famfs_module_installed(void)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	struct utsname u;
	bool found = false;
	FILE *f;

	if (uname(&u) < 0)
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
		found = !strncmp(base, "famfs.ko", 8) && (!base[8] || base[8] == '.');
	}
	fclose(f);
	return found;
}

bool cli_famfs_load_module(void)
{
	long fd;

	if (cli_famfs_module_loaded())
		return true;
	fd = syscall(SYS_fsopen, "famfs", 1 /* FSOPEN_CLOEXEC */);
	if (fd >= 0)
		close((int)fd);
	return cli_famfs_module_loaded();
}

/* The value of line "@key VALUE" of @text into @out ("" if none). */
static void stats_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	out[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, klen) && l[klen] == ' ') {
			size_t n = strcspn(l + klen + 1, "\n");

			snprintf(out, size, "%.*s", (int)n, l + klen + 1);
			return;
		}
	}
}

const char *cli_data_path(const char *root, char *buf, size_t size)
{
	char stats[8192], fmap[32], data[40];

	if (cli_famfs_xattr(root, "user.famfs.stats", stats, sizeof(stats)) <= 0)
		return NULL;
	stats_value(stats, "fmap", fmap, sizeof(fmap));
	stats_value(stats, "data", data, sizeof(data));
	if (!strcmp(data, "kernel-dax"))
		snprintf(buf, size, "kernel DAX (the kernel maps every file to the device)");
	else if (!strcmp(data, "kernel-maps-server-data"))
		snprintf(buf, size, "server (the kernel cannot map this device: see dmesg)");
	else if (!strcmp(fmap, "offered-declined"))
		snprintf(buf, size, "server (famfs mode declined: -o nofmap)");
	else if (!strcmp(fmap, "not-offered") && !cli_famfs_module_loaded())
		snprintf(buf, size, "server (famfs.ko is not loaded)");
	else if (!strcmp(fmap, "not-offered"))
		snprintf(buf, size, "server (the kernel did not offer famfs mode)");
	else
		return NULL;
	return buf;
}

int cli_famfs_create_fd(const char *path, uint64_t size, mode_t mode, const char *stripe, int *fdp)
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
	if (rc) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

int cli_famfs_create(const char *path, uint64_t size, mode_t mode, const char *stripe)
{
	int fd, rc = cli_famfs_create_fd(path, size, mode, stripe, &fd);

	if (rc)
		return rc;
	return close(fd) < 0 ? -errno : 0;
}

const char *cli_stripe_opts(const struct cli_cmd *cmd, const char *nstrips, const char *nbuckets,
			    const char *chunk, char *buf, size_t size, bool *bad)
{
	unsigned long n, b;
	uint64_t c = 2 << 20;
	char *end;

	*bad = false;
	if (!nstrips && !nbuckets && !chunk)
		return NULL;
	*bad = true;
	if (!nstrips || !nbuckets) {
		cli_usage_error(cmd, "striping needs both -N NSTRIPS and -B NBUCKETS");
		return NULL;
	}
	n = strtoul(nstrips, &end, 0);
	if (*end || *nstrips == '-' || n < 1 || n > 16) {
		cli_usage_error(cmd, "-N %s: 1 to 16 strips", famfs_esc(nstrips));
		return NULL;
	}
	b = strtoul(nbuckets, &end, 0);
	if (*end || *nbuckets == '-' || b < n || b > 64) {
		cli_usage_error(cmd, "-B %s: NSTRIPS (%lu) to 64 buckets", famfs_esc(nbuckets), n);
		return NULL;
	}
	if (chunk &&
	    (famfs_parse_size(chunk, &c) || c < (2 << 20) || (c & (c - 1)) || c > (2ULL << 30))) {
		cli_usage_error(cmd, "-C %s: a chunk is a power of two from 2M to 2G",
				famfs_esc(chunk));
		return NULL;
	}
	*bad = false;
	snprintf(buf, size, "%lu,%llu,%lu", n, (unsigned long long)c, b);
	return buf;
}

int cli_resolve(const char *path, char *out, size_t size)
{
	char head[PATH_MAX], res[PATH_MAX];
	size_t cut = strlen(path);
	const char *rest;

	if (!cut)
		return -ENOENT;
	if (cut >= sizeof(head))
		return -ENAMETOOLONG;
	memcpy(head, path, cut + 1);
	/* The longest prefix, cut after a '/', that realpath() resolves. */
	while (!realpath(cut ? head : ".", res)) {
		if (errno != ENOENT || cut == 0)
			return -errno;
		while (cut > 0 && head[cut - 1] == '/')
			cut--;
		while (cut > 0 && head[cut - 1] != '/')
			cut--;
		head[cut] = '\0';
	}
	rest = path + cut;
	/* Apply what is left lexically. */
	while (*rest) {
		const char *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

		if (n == 0 || (n == 1 && rest[0] == '.')) {
			/* empty or "." */
		} else if (n == 2 && rest[0] == '.' && rest[1] == '.') {
			char *last = strrchr(res, '/');

			if (last == res)
				res[1] = '\0';
			else if (last)
				*last = '\0';
		} else {
			size_t used = strlen(res);

			if (used + 1 + n + 1 > sizeof(res))
				return -ENAMETOOLONG;
			if (used > 1)
				res[used++] = '/';
			memcpy(res + used, rest, n);
			res[used + n] = '\0';
		}
		rest += n + (slash ? 1 : 0);
	}
	if (strlen(res) >= size)
		return -ENAMETOOLONG;
	strcpy(out, res);
	return 0;
}

void cli_mountinfo_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static bool famfs_type(const char *fstype)
{
	return !strcmp(fstype, "fuse.famfs") || !strcmp(fstype, "famfs");
}

/* Calls @fn(mount point, source, arg) for each famfs mount; stops when it returns non-zero. */
static int each_famfs_mount(int (*fn)(const char *mnt, const char *src, void *arg), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int rc = 0;

	if (!f)
		return -errno;
	while (!rc && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fstype[64], src[PATH_MAX];
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%63s %4095s", fstype, src) != 2 || !famfs_type(fstype))
			continue;
		cli_mountinfo_unescape(mp);
		cli_mountinfo_unescape(src);
		rc = fn(mp, src, arg);
	}
	fclose(f);
	return rc;
}

struct lookup {
	const char *key;
	char *out;
	size_t size;
	bool found;
};

static int match_root(const char *mnt, const char *src, void *arg)
{
	struct lookup *l = arg;

	if (strcmp(mnt, l->key))
		return 0;
	snprintf(l->out, l->size, "%s", src); /* the last one is on top: keep going */
	l->found = true;
	return 0;
}

int cli_famfs_device(const char *root, char *dev, size_t size)
{
	struct lookup l = {.key = root, .out = dev, .size = size};
	int rc = each_famfs_mount(match_root, &l);

	return rc ? rc : l.found ? 0 : -ENOENT;
}

static int match_dev(const char *mnt, const char *src, void *arg)
{
	struct lookup *l = arg;
	char real[PATH_MAX];

	if (!realpath(src, real) || strcmp(real, l->key))
		return 0;
	snprintf(l->out, l->size, "%s", mnt);
	l->found = true;
	return 1;
}

int cli_famfs_mount_of(const char *dev, char *mnt, size_t size)
{
	char real[PATH_MAX];
	struct lookup l = {.key = real, .out = mnt, .size = size};
	int rc;

	if (!realpath(dev, real))
		return -errno;
	rc = each_famfs_mount(match_dev, &l);
	return rc < 0 ? rc : l.found ? 0 : -ENOENT;
}

int cli_become_owner(unsigned int uid, unsigned int gid)
{
	static const unsigned int keep = (unsigned int)-1;
	int cur;

	if (uid == keep && gid == keep)
		return 0;
	if (geteuid() != 0) {
		if ((uid == keep || uid == geteuid()) && (gid == keep || gid == getegid()))
			return 0;
		return -EPERM;
	}
	/* Keep CAP_DAC_OVERRIDE & co. while the fsuid is not 0, so that the
	 * directories we create files in need not be writable by @uid. */
	if (prctl(PR_SET_SECUREBITS, prctl(PR_GET_SECUREBITS) | SECBIT_NO_SETUID_FIXUP) < 0)
		return -errno;
	if (gid != keep) {
		setfsgid(gid);
		cur = setfsgid((gid_t)-1);
		if ((unsigned int)cur != gid)
			return -EPERM;
	}
	if (uid != keep) {
		setfsuid(uid);
		cur = setfsuid((uid_t)-1);
		if ((unsigned int)cur != uid)
			return -EPERM;
	}
	return 0;
}

const char *cli_famfs_nospace(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) == 0 && sv.f_favail == 0)
		return "the log is full (no free log entries)";
	return "no space left on the device";
}
