/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path rules for names in the log (docs/format.md, "Paths"): relative to the
 * mount root, normalized (no "", "." or ".." components, no leading or
 * trailing '/'), at most FAMFS_PATH_MAX (79) bytes. Nothing is truncated.
 */
#ifndef FAMFS_PATH_H
#define FAMFS_PATH_H

#include <stddef.h>

/**
 * famfs_path_check() - is @path a valid log path as stored?
 * Returns 0, -ENAMETOOLONG (more than 79 bytes) or -EINVAL; *@why (if not
 * NULL) gets a static explanation.
 */
int famfs_path_check(const char *path, const char **why);

/**
 * famfs_path_normalize() - turn a user-supplied relative path into log form:
 * drops "." components, repeated and trailing slashes. Refuses absolute
 * paths and ".." (never resolved: it could escape the mount) with -EINVAL,
 * results over 79 bytes with -ENAMETOOLONG. @out (@outsz bytes) receives the
 * result; "" means the root. *@why explains a refusal.
 */
int famfs_path_normalize(const char *in, char *out, size_t outsz, const char **why);

/**
 * famfs_path_split() - split a log path in place-free form: @dir gets the
 * parent ("" for top level), returns a pointer to the last component inside
 * @path. @dir must hold FAMFS_PATH_MAX + 1 bytes.
 */
const char *famfs_path_split(const char *path, char *dir);

/**
 * famfs_path_escape() - @path made safe to print: printable ASCII as is,
 * '\\' doubled, every other byte as \xNN (names are bytes, not always
 * UTF-8). Written to @buf (@size bytes, cut short if needed, always
 * NUL-terminated); returns @buf.
 */
char *famfs_path_escape(const char *path, char *buf, size_t size);

#endif
