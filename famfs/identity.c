// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "identity.h"

const char *famfs_identity_path(void)
{
	const char *env = getenv(FAMFS_SYSTEM_UUID_ENV);

	return env && *env ? env : FAMFS_SYSTEM_UUID_PATH;
}

static int mkdir_parent(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int create_identity(const char *path)
{
	char text[UUID_STR_LEN + 1];
	uuid_t u;
	int fd, rc;

	rc = mkdir_parent(path);
	if (rc)
		return rc;
	uuid_generate(u);
	uuid_unparse(u, text);
	strcat(text, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno; /* lost a race: use theirs */
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -EIO;
	close(fd);
	return rc;
}

int famfs_identity(uint8_t uuid[16])
{
	const char *path = famfs_identity_path();
	char text[64] = {0};
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		rc = create_identity(path);
		if (rc)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < UUID_STR_LEN - 1)
		return -EINVAL;
	text[UUID_STR_LEN - 1] = '\0'; /* the 36 characters; newline or NUL may follow */
	return uuid_parse(text, uuid) == 0 ? 0 : -EINVAL;
}
