/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the cmocka unit tests: scratch images in a private directory. */
#ifndef FAMFS_TEST_HELPERS_H
#define FAMFS_TEST_HELPERS_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev.h"
#include "fs.h"
#include "identity.h"
#include "devtab.h"
#include "map.h"

static char scratch_dir[PATH_MAX];

/*
 * A private directory, and a private host identity inside it. A cmocka
 * group setup: cmocka_run_group_tests(tests, scratch_setup, scratch_teardown).
 */
static inline int scratch_setup(void **state)
{
	char id[PATH_MAX + 32];

	(void)state;
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/famfs-unit-XXXXXX");
	if (!mkdtemp(scratch_dir))
		abort();
	snprintf(id, sizeof(id), "%s/system_uuid", scratch_dir);
	setenv(FAMFS_SYSTEM_UUID_ENV, id, 1);
	return 0;
}

/* Removes the private directory: the cmocka group teardown. */
static inline int scratch_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", scratch_dir);
	return 0;
}

/*
 * mkfs a sparse image with @unit-byte allocation units; returns its path (a
 * static buffer, shared with scratch_image()).
 */
static inline const char *scratch_image_unit(const char *name, uint64_t size, uint64_t log_len,
					     uint64_t unit)
{
	static char path[PATH_MAX + 64];
	struct famfs_dev *dev;
	uint8_t me[16];

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	unlink(path);
	if (famfs_dev_create_file(path, size) || famfs_dev_open(path, FAMFS_DEV_WRITE, &dev))
		abort();
	if (famfs_identity(me) || famfs_mkfs_unit(dev, log_len, unit, me))
		abort();
	famfs_dev_close(dev);
	return path;
}

/* scratch_image_unit() with 2 MiB allocation units. */
static inline const char *scratch_image(const char *name, uint64_t size, uint64_t log_len)
{
	return scratch_image_unit(name, size, log_len, FAMFS_ALLOC_UNIT);
}

/* Read @len bytes at @off of file @path into @buf (or write them when @write). */
static inline int file_io(const char *path, void *buf, size_t len, off_t off, int write)
{
	int fd = open(path, O_RDWR);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The extents a namespace node keeps of its FILE entry, as a zeroed body (extent fields only). */
static inline struct famfs_file_body node_body(const struct famfs_map *m)
{
	struct famfs_file_body f;

	memset(&f, 0, sizeof(f));
	famfs_map_body(m, &f);
	return f;
}

/* The devices a namespace node's extents name (famfs_file_devices() of its body). */
static inline uint32_t node_devices(const struct famfs_map *m)
{
	struct famfs_file_body f = node_body(m);

	return famfs_file_devices(&f);
}

#endif
