// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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

/*
 * Length of the well-formed UTF-8 sequence at @p (at most @n bytes), and
 * its code point in *@cp; 0 if the bytes there are not one (RFC 3629).
 */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f, min = 0x80;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool famfs_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_char(p + i, n - i, &c);
		if (!k)
			return false;
	}
	return true;
}

/* Characters a terminal acts on although they are printable UTF-8. */
static bool terminal_control(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *famfs_path_escape_n(const char *path, size_t len, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t o = 0, n = strnlen(path, len);

	if (size == 0)
		return buf;
	for (size_t i = 0; i < n;) {
		uint32_t c = 0;
		size_t k = utf8_char(p + i, n - i, &c);

		if (k && c == '\\') {
			if (o + 3 > size)
				break;
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if (k && c >= 0x20 && c != 0x7f && !terminal_control(c)) {
			if (o + k + 1 > size)
				break;
			memcpy(buf + o, p + i, k);
			o += k;
		} else {
			if (!k)
				k = 1; /* one byte that is not UTF-8: escape it, go on */
			if (o + 4 * k + 1 > size)
				break;
			for (size_t j = 0; j < k; j++)
				o += (size_t)snprintf(buf + o, size - o, "\\x%02x", p[i + j]);
		}
		i += k;
	}
	buf[o] = '\0';
	return buf;
}

char *famfs_path_escape(const char *path, char *buf, size_t size)
{
	return famfs_path_escape_n(path, SIZE_MAX, buf, size);
}

const char *famfs_esc_field(const char *field, size_t len)
{
	static __thread char ring[4][FAMFS_ESC_MAX];
	static __thread unsigned int next;
	char *buf = ring[next++ % 4];

	return famfs_path_escape_n(field, len < 4096 ? len : 4096, buf, FAMFS_ESC_MAX);
}

const char *famfs_esc(const char *path)
{
	return famfs_esc_field(path, 4096);
}
