// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "path.h"

static int refuse(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

int famfs_path_check(const char *path, const char **why)
{
	const char *p = path, *c;
	size_t len = strnlen(path, FAMFS_RELPATH_FIELD);

	if (len == 0)
		return refuse(why, "empty path", -EINVAL);
	if (len > FAMFS_PATH_MAX)
		return refuse(why, "longer than 79 bytes", -ENAMETOOLONG);
	if (path[0] == '/')
		return refuse(why, "absolute (leading '/')", -EINVAL);
	for (;;) {
		c = strchr(p, '/');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n == 0)
			return refuse(why, "empty component ('//' or trailing '/')", -EINVAL);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return refuse(why, "'.' or '..' component", -EINVAL);
		if (!c)
			return 0;
		p = c + 1;
	}
}

int famfs_path_normalize(const char *in, char *out, size_t outsz, const char **why)
{
	size_t o = 0;
	const char *p = in;

	if (outsz == 0)
		return refuse(why, "no room", -EINVAL);
	if (in[0] == '/')
		return refuse(why, "absolute path where a relative one is needed", -EINVAL);
	while (*p) {
		const char *c = strchr(p, '/');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return refuse(why, "'..' is not allowed", -EINVAL);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + (o ? 1 : 0) + n > FAMFS_PATH_MAX)
				return refuse(why, "longer than 79 bytes", -ENAMETOOLONG);
			if (o + (o ? 1 : 0) + n + 1 > outsz)
				return refuse(why, "longer than the buffer", -ENAMETOOLONG);
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		if (!c)
			break;
		p = c + 1;
	}
	out[o] = '\0';
	return 0;
}

const char *famfs_path_split(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		dir[0] = '\0';
		return path;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return slash + 1;
}

char *famfs_path_escape(const char *path, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return buf;
	for (const unsigned char *p = (const unsigned char *)path; *p && o + 5 <= size; p++) {
		if (*p == '\\') {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if (*p >= 0x20 && *p < 0x7f) {
			buf[o++] = (char)*p;
		} else {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
		}
	}
	buf[o] = '\0';
	return buf;
}
