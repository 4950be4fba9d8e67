// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "daxbind.h"

static const char *sysfs(void)
{
	const char *s = getenv("FAMFS_SYSFS");

	return s && *s ? s : "/sys";
}

/* The last component of symlink @link into @out; 0, or -ENOENT/-ENAMETOOLONG. */
static int link_name(const char *link, char *out, size_t size)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0)
		return -ENOENT;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

/* The device's name on the DAX bus ("dax0.0"), from /sys/dev/char/M:m. */
static int dax_name(dev_t rdev, char *name, size_t size)
{
	char link[PATH_MAX / 2], sub[PATH_MAX], bus[16];

	snprintf(link, sizeof(link), "%s/dev/char/%u:%u", sysfs(), major(rdev), minor(rdev));
	snprintf(sub, sizeof(sub), "%s/subsystem", link);
	/* only devices on the DAX bus */
	if (link_name(sub, bus, sizeof(bus)) || strcmp(bus, "dax"))
		return -ENODEV;
	return link_name(link, name, size) ? -ENODEV : 0;
}

int famfs_daxdev_driver(dev_t rdev, char *buf, size_t size)
{
	char name[64], link[PATH_MAX];
	int rc = dax_name(rdev, name, sizeof(name));

	if (rc)
		return rc;
	snprintf(link, sizeof(link), "%s/bus/dax/devices/%s/driver", sysfs(), name);
	if (size && link_name(link, buf, size))
		buf[0] = '\0'; /* no driver bound */
	return 0;
}

static bool driver_loaded(const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/dax/drivers/%s", sysfs(), driver);
	return access(path, F_OK) == 0;
}

bool famfs_daxdev_kernel_mode(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/module/famfs", sysfs());
	return access(path, F_OK) == 0 && driver_loaded(FAMFS_DAX_DRIVER);
}

/* Does /proc/PID/maps map the node st_dev/st_ino? */
static bool maps_node(const char *pid, dev_t st_dev, ino_t st_ino)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long long ino;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
		    ino == (unsigned long long)st_ino && makedev(maj, min) == st_dev)
			found = true;
	}
	fclose(f);
	return found;
}

static bool opens_dev(const char *pid, dev_t rdev)
{
	char path[PATH_MAX];
	struct dirent *fd;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (fd = readdir(d))) {
		struct stat st;

		if (fd->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, fd->d_name);
		if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev)
			found = true;
	}
	closedir(d);
	return found;
}

pid_t famfs_daxdev_busy(dev_t rdev, dev_t st_dev, ino_t st_ino)
{
	struct dirent *e;
	pid_t busy = 0, self = getpid();
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while (!busy && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (opens_dev(e->d_name, rdev) || maps_node(e->d_name, st_dev, st_ino))
			busy = (pid_t)pid;
	}
	closedir(d);
	return busy;
}

/* Write @text to a sysfs file of the DAX bus; 0 or -errno. */
static int bus_write(const char *rel, const char *text)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/bus/dax/%s", sysfs(), rel);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != strlen(text))
		rc = -EIO;
	close(fd);
	return rc;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int famfs_daxdev_bind(const char *path, const char *driver, double *ms, pid_t *busy)
{
	char name[64], cur[64], rel[PATH_MAX];
	struct stat st;
	double t0;
	pid_t pid;
	int rc;

	if (ms)
		*ms = 0;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	rc = dax_name(st.st_rdev, name, sizeof(name));
	if (!rc)
		rc = famfs_daxdev_driver(st.st_rdev, cur, sizeof(cur));
	if (rc)
		return rc;
	if (!strcmp(cur, driver))
		return 0;
	if (!driver_loaded(driver))
		return -ENOENT;
	pid = famfs_daxdev_busy(st.st_rdev, st.st_dev, st.st_ino);
	if (pid) {
		if (busy)
			*busy = pid;
		return -EBUSY;
	}
	t0 = now_ms();
	if (cur[0]) {
		snprintf(rel, sizeof(rel), "drivers/%s/unbind", cur);
		rc = bus_write(rel, name);
		if (rc)
			return rc;
	}
	/* Leaving famfs_dax: drop its id, so that nothing re-probes it there. */
	if (driver_loaded(FAMFS_DAX_DRIVER) && strcmp(driver, FAMFS_DAX_DRIVER))
		bus_write("drivers/" FAMFS_DAX_DRIVER "/remove_id", name);
	if (!strcmp(driver, FAMFS_DAX_DRIVER)) {
		/* famfs_dax matches by id only; new_id attaches it. */
		rc = bus_write("drivers/" FAMFS_DAX_DRIVER "/new_id", name);
	} else {
		/* device_dax takes any static/hmem device it is offered; on 6.12
		 * a kmem-type (CXL RAM) region needs an id. */
		snprintf(rel, sizeof(rel), "drivers/%s/bind", driver);
		rc = bus_write(rel, name);
		if (rc) {
			snprintf(rel, sizeof(rel), "drivers/%s/new_id", driver);
			rc = bus_write(rel, name);
		}
	}
	if (ms)
		*ms = now_ms() - t0;
	if (rc && rc != -EEXIST)
		return rc;
	rc = famfs_daxdev_driver(st.st_rdev, cur, sizeof(cur));
	if (rc)
		return rc;
	return strcmp(cur, driver) ? -EIO : 0;
}
