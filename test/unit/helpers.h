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

static char scratch_dir[PATH_MAX];

/* A private directory, and a private host identity inside it. */
static inline void scratch_setup(void)
{
	char id[PATH_MAX + 32];

	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/famfs-unit-XXXXXX");
	if (!mkdtemp(scratch_dir))
		abort();
	snprintf(id, sizeof(id), "%s/system_uuid", scratch_dir);
	setenv(FAMFS_SYSTEM_UUID_ENV, id, 1);
}

static inline void scratch_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", scratch_dir);
}

/* mkfs a sparse image with @unit-byte allocation units; returns its path (static buffer). */
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

/* mkfs a sparse image of @size bytes with a @log_len log; returns its path (static buffer). */
static inline const char *scratch_image(const char *name, uint64_t size, uint64_t log_len)
{
	static char path[PATH_MAX + 64];
	struct famfs_dev *dev;
	uint8_t me[16];

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	unlink(path);
	if (famfs_dev_create_file(path, size) || famfs_dev_open(path, FAMFS_DEV_WRITE, &dev))
		abort();
	if (famfs_identity(me) || famfs_mkfs(dev, log_len, me))
		abort();
	famfs_dev_close(dev);
	return path;
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

#endif
