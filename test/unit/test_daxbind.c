// SPDX-License-Identifier: Apache-2.0
/*
 * famfs/daxbind.c against a fake sysfs (FAMFS_SYSFS): which driver a dax
 * device has, and the sysfs writes that move it between device_dax and
 * famfs_dax. The real kernel side is tested in the qemu guests (test/vm/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daxbind.h"

#define MAJ 4000 /* a dev_t no real device uses */
#define MIN 7

static char root[256];

static void path(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX], cmd[PATH_MAX + 16];

	path(p, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", p);
	assert_int_equal(system(cmd), 0);
}

static void symlink_rel(const char *target, const char *rel)
{
	char p[PATH_MAX];

	path(p, rel);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

static void touch(const char *rel)
{
	char p[PATH_MAX];
	int fd;

	path(p, rel);
	fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void slurp(const char *rel, char *buf, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	path(p, rel);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

/* dax0.0 on the dax bus, bound to @driver ("" = none); both drivers loaded. */
static void fake_sysfs(const char *driver)
{
	static const char *const drivers[] = {"device_dax", "famfs_dax"};
	char rel[128];

	mkdirs("devices/platform/region0/dax0.0");
	mkdirs("bus/dax/devices");
	mkdirs("dev/char");
	mkdirs("module/famfs");
	for (int i = 0; i < 2; i++) {
		static const char *const files[] = {"bind", "unbind", "new_id", "remove_id"};

		snprintf(rel, sizeof(rel), "bus/dax/drivers/%s", drivers[i]);
		mkdirs(rel);
		for (int j = 0; j < 4; j++) {
			snprintf(rel, sizeof(rel), "bus/dax/drivers/%s/%s", drivers[i], files[j]);
			touch(rel);
		}
	}
	symlink_rel("../../../bus/dax", "devices/platform/region0/dax0.0/subsystem");
	symlink_rel("../../devices/platform/region0/dax0.0", "dev/char/4000:7");
	symlink_rel("../../../devices/platform/region0/dax0.0", "bus/dax/devices/dax0.0");
	path(rel, "devices/platform/region0/dax0.0/driver");
	unlink(rel);
	if (driver[0]) {
		char target[128];

		snprintf(target, sizeof(target), "../../../../bus/dax/drivers/%s", driver);
		symlink_rel(target, "devices/platform/region0/dax0.0/driver");
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/famfs-daxbind-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("FAMFS_SYSFS", root, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	unsetenv("FAMFS_SYSFS");
	return system(cmd) == 0 ? 0 : -1;
}

static void test_driver(void **state)
{
	char drv[64];

	(void)state;
	fake_sysfs("device_dax");
	assert_int_equal(famfs_daxdev_driver(makedev(MAJ, MIN), drv, sizeof(drv)), 0);
	assert_string_equal(drv, "device_dax");
	fake_sysfs("famfs_dax");
	assert_int_equal(famfs_daxdev_driver(makedev(MAJ, MIN), drv, sizeof(drv)), 0);
	assert_string_equal(drv, "famfs_dax");
	fake_sysfs("");
	assert_int_equal(famfs_daxdev_driver(makedev(MAJ, MIN), drv, sizeof(drv)), 0);
	assert_string_equal(drv, "");
	/* not on the dax bus, or no such device */
	assert_int_equal(famfs_daxdev_driver(makedev(MAJ, MIN + 1), drv, sizeof(drv)), -ENODEV);
	symlink_rel("../../../bus/nd", "devices/platform/region0/dax0.0/subsystem");
	assert_int_equal(famfs_daxdev_driver(makedev(MAJ, MIN), drv, sizeof(drv)), -ENODEV);
	fake_sysfs("device_dax");
	assert_true(famfs_daxdev_kernel_mode());
}

/* The writes; the fake driver link does not move, so the result is -EIO. */
static void test_bind(void **state)
{
	char node[PATH_MAX], buf[PATH_MAX];
	double ms = -1;

	(void)state;
	fake_sysfs("device_dax");
	path(node, "dax0.0");
	if (mknod(node, S_IFCHR | 0600, makedev(MAJ, MIN)) < 0)
		skip(); /* not root: the guests test this for real */
	assert_int_equal(famfs_daxdev_bind(node, FAMFS_DAX_DRIVER, &ms, NULL), -EIO);
	assert_true(ms >= 0);
	slurp("bus/dax/drivers/device_dax/unbind", buf, sizeof(buf));
	assert_string_equal(buf, "dax0.0");
	slurp("bus/dax/drivers/famfs_dax/new_id", buf, sizeof(buf));
	assert_string_equal(buf, "dax0.0");

	/* back: unbind famfs_dax, drop its id, bind device_dax */
	fake_sysfs("famfs_dax");
	assert_int_equal(famfs_daxdev_bind(node, FAMFS_DEVDAX_DRIVER, &ms, NULL), -EIO);
	slurp("bus/dax/drivers/famfs_dax/unbind", buf, sizeof(buf));
	assert_string_equal(buf, "dax0.0");
	slurp("bus/dax/drivers/famfs_dax/remove_id", buf, sizeof(buf));
	assert_string_equal(buf, "dax0.0");
	slurp("bus/dax/drivers/device_dax/bind", buf, sizeof(buf));
	assert_string_equal(buf, "dax0.0");

	/* already there: nothing written, 0 ms */
	fake_sysfs("famfs_dax");
	assert_int_equal(famfs_daxdev_bind(node, FAMFS_DAX_DRIVER, &ms, NULL), 0);
	assert_true(ms == 0);
	slurp("bus/dax/drivers/famfs_dax/new_id", buf, sizeof(buf));
	assert_string_equal(buf, "");

	/* the driver is not loaded */
	fake_sysfs("device_dax");
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/bus/dax/drivers/famfs_dax", root);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(famfs_daxdev_bind(node, FAMFS_DAX_DRIVER, &ms, NULL), -ENOENT);
	assert_false(famfs_daxdev_kernel_mode());
	/* a regular file is not a dax device */
	path(node, "bus/dax/drivers/device_dax/bind");
	assert_int_equal(famfs_daxdev_bind(node, FAMFS_DAX_DRIVER, &ms, NULL), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_driver, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
