/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path rules for names in the log (docs/format.md, "Paths"): relative to the
 * mount root, normalized (no "", "." or ".." components, no leading or
 * trailing '/'), at most FAMFS_PATH_MAX (79) bytes. Nothing is truncated.
 */
#ifndef FAMFS_PATH_H
#define FAMFS_PATH_H

#include <stdbool.h>
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
 * famfs_utf8_valid() - are the @n bytes at @s well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF, nothing cut
 * short)? The names a compat image may hold (FAMFS_SB_COMPAT): the existing
 * tools' shadow YAML carries nothing else.
 */
bool famfs_utf8_valid(const char *s, size_t n);

/**
 * famfs_path_escape() - a name made safe to print on a terminal or into a
 * line-oriented listing: the one rule for every name famfs prints (names
 * from the log, and names given on the command line or found in a tree).
 * Bytes pass unchanged except:
 *  - '\\' is doubled, so an escape in the output is always one;
 *  - control characters (0x00-0x1f, 0x7f) become \xNN: no newline can
 *    fake a line, no ESC can start a terminal sequence;
 *  - bytes that are not part of well-formed UTF-8 (RFC 3629: no overlong
 *    forms, no surrogates, nothing past U+10FFFF, nothing cut short)
 *    become \xNN each;
 *  - well-formed characters that act as controls on a terminal become
 *    \xNN per byte: the C1 controls U+0080-U+009F (U+009B is CSI) and the
 *    invisible marks that reorder or break a line (U+061C, U+200E, U+200F,
 *    U+2028-U+202E, U+2066-U+2069).
 * Other UTF-8 ("é", "日本") is printed as is. At most @len bytes of @path
 * are read (it may lack a NUL: a log entry's relpath field). Written to
 * @buf (@size bytes, cut short at a whole escape if needed, always
 * NUL-terminated); returns @buf. 4 * @len + 1 bytes always suffice.
 */
char *famfs_path_escape_n(const char *path, size_t len, char *buf, size_t size);

/** famfs_path_escape() - famfs_path_escape_n() of the NUL-terminated @path. */
char *famfs_path_escape(const char *path, char *buf, size_t size);

/* Longest name famfs_esc() escapes whole: PATH_MAX bytes. */
#define FAMFS_ESC_MAX (4 * 4096 + 1)

/**
 * famfs_esc() - famfs_path_escape() of @path into one of 4 buffers of the
 * calling thread, for use as a printf argument: printf("%s: %s\n",
 * famfs_esc(a), famfs_esc(b)). The result stays valid until the fourth
 * next call in the same thread. Names longer than PATH_MAX are cut short.
 */
const char *famfs_esc(const char *path);

/** famfs_esc_field() - famfs_esc() of at most @len bytes of @field (a relpath field). */
const char *famfs_esc_field(const char *field, size_t len);

#endif
