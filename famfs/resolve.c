// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "resolve.h"
#include "super.h"

/*
 * The first line of the cache file. Version 2 writes a row's path with
 * every blank, control character, DEL and backslash as a backslash and
 * three octal digits (as fstab and mountinfo do), so that any file name
 * is one field of one line; version 1 rows (still read) carry the path
 * verbatim as the rest of the line.
 */
#define CACHE_MAGIC	  "famfs-device-cache "
#define CACHE_VERSION	  2
#define CACHE_ESCAPED_MIN 2 /* the first version whose paths are escaped */

const char *famfs_device_cache_path(void)
{
	const char *env = getenv(FAMFS_DEVICE_CACHE_ENV);

	return env && *env ? env : FAMFS_DEVICE_CACHE_PATH;
}

/* The first 200 bytes of @dev: pread, or through a window on devdax (no pread there). */
static int read_sb(struct famfs_dev *dev, struct famfs_superblock *sb)
{
	int rc = famfs_dev_pread(dev, sb, sizeof(*sb), 0);
	void *w;

	if (rc != -EINVAL || dev->kind != FAMFS_DEV_DAX)
		return rc;
	w = famfs_dev_map(dev, FAMFS_SUPERBLOCK_SIZE);
	if (!w)
		return -errno;
	rc = famfs_dev_invalidate(dev, w, sizeof(*sb));
	if (!rc)
		rc = famfs_dev_load(dev, sb, w, sizeof(*sb));
	return rc;
}

int famfs_member_read(const char *path, struct famfs_member *m)
{
	struct famfs_dev *dev;
	struct stat st;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = famfs_dev_open(path, 0, &dev);
	if (rc)
		return rc;
	if (fstat(dev->fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	snprintf(m->path, sizeof(m->path), "%s", dev->path);
	m->kind = dev->kind;
	m->size = dev->size;
	m->st_dev = st.st_dev;
	m->st_ino = st.st_ino;
	m->st_rdev = st.st_rdev;
	if (dev->size < sizeof(m->sb)) {
		rc = 0;
		goto out;
	}
	rc = read_sb(dev, &m->sb);
	if (rc)
		goto out;
	if (m->sb.magic != FAMFS_SUPER_MAGIC) {
		rc = 0;
	} else if (famfs_sb_is_secondary(&m->sb)) {
		rc = famfs_sb_check_secondary(&m->sb, dev->size, NULL) == 0;
		m->secondary = true;
		memcpy(m->primary_uuid, m->sb.primary_uuid, FAMFS_UUID_LEN);
	} else {
		rc = famfs_sb_check_primary(&m->sb, dev->size, NULL) == 0;
		memcpy(m->primary_uuid, m->sb.device_uuid, FAMFS_UUID_LEN);
	}
	memcpy(m->fs_uuid, m->sb.fs_uuid, FAMFS_UUID_LEN);
	memcpy(m->dev_uuid, m->sb.device_uuid, FAMFS_UUID_LEN);
out:
	famfs_dev_close(dev);
	return rc;
}

bool famfs_path_held(const char *path)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool held;

	if (fd < 0)
		return false;
	held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

/* ---- the cache file ---- */

struct rows {
	struct famfs_cache_row *r;
	size_t n, cap;
};

static int rows_add(struct rows *rs, const struct famfs_cache_row *row)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct famfs_cache_row *r = realloc(rs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *row;
	return 0;
}

/* Drop the rows of @path. */
static void rows_drop(struct rows *rs, const char *path)
{
	size_t k = 0;

	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].path, path))
			rs->r[k++] = rs->r[i];
	rs->n = k;
}

/* Must byte @c of a path be escaped in a row? */
static bool path_byte_escaped(unsigned char c)
{
	return c <= ' ' || c == 0x7f || c == '\\';
}

/* @path as one field of a row: the bytes path_byte_escaped() names as \ooo. */
static void put_path(FILE *f, const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (path_byte_escaped(*p))
			fprintf(f, "\\%03o", *p);
		else
			fputc(*p, f);
	}
}

/*
 * Decode the escaped field @in (up to a blank or the end) into @out; the
 * rest of the line must be blank. False if it is malformed, holds a NUL or
 * does not fit @size.
 */
static bool get_path(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && !strchr(" \t\r\n", *in); in++) {
		int c = (unsigned char)*in;

		if (c == '\\') {
			if (in[1] < '0' || in[1] > '3' || in[2] < '0' || in[2] > '7' ||
			    in[3] < '0' || in[3] > '7')
				return false;
			c = (in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0');
			in += 3;
			if (!c)
				return false;
		}
		if (n + 1 >= size)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return in[strspn(in, " \t\r\n")] == '\0';
}

/*
 * One line: FS_UUID DEV_UUID primary|secondary SIZE SEEN PATH. @escaped:
 * PATH is one escaped field (version 2); else it is the rest of the line.
 */
static bool parse_row(char *line, bool escaped, struct famfs_cache_row *row)
{
	char fs[UUID_STR_LEN], dv[UUID_STR_LEN], role[16];
	unsigned long long size;
	long long seen;
	int off = 0;

	memset(row, 0, sizeof(*row));
	if (sscanf(line, "%36s %36s %15s %llu %lld %n", fs, dv, role, &size, &seen, &off) != 5 ||
	    !off || !line[off])
		return false;
	if (uuid_parse(fs, row->fs_uuid) || uuid_parse(dv, row->dev_uuid))
		return false;
	if (strcmp(role, "primary") && strcmp(role, "secondary"))
		return false;
	row->secondary = !strcmp(role, "secondary");
	row->size = size;
	row->seen = seen;
	if (escaped) {
		if (!get_path(line + off, row->path, sizeof(row->path)))
			return false;
	} else {
		line[strcspn(line, "\n")] = '\0';
		snprintf(row->path, sizeof(row->path), "%s", line + off);
	}
	return row->path[0] == '/';
}

/*
 * The rows of the cache file (none if it does not exist; unreadable lines
 * are skipped). A file without the magic line is read as version 1.
 */
static int rows_load(struct rows *rs)
{
	FILE *f = fopen(famfs_device_cache_path(), "re");
	struct famfs_cache_row row;
	bool escaped = false;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(rs, 0, sizeof(*rs));
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, CACHE_MAGIC, strlen(CACHE_MAGIC))) {
			escaped = atoi(line + strlen(CACHE_MAGIC)) >= CACHE_ESCAPED_MIN;
			continue;
		}
		if (line[0] == '#')
			continue;
		if (parse_row(line, escaped, &row) && (rc = rows_add(rs, &row)))
			break;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Write @rs to a temporary file next to the cache, then rename it over the cache. */
static int rows_save(const struct rows *rs)
{
	const char *path = famfs_device_cache_path();
	char tmp[PATH_MAX + 32], fs[UUID_STR_LEN], dv[UUID_STR_LEN];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(
	    f,
	    "%s%d\n# famfs: which local device carries which famfs device uuid (host-local;\n"
	    "# `famfs daxdev refresh` rebuilds it, deleting it costs a rescan)\n"
	    "# fs_uuid device_uuid role size_bytes seen path (blanks, controls and \\ as \\ooo)\n",
	    CACHE_MAGIC, CACHE_VERSION);
	for (size_t i = 0; i < rs->n; i++) {
		uuid_unparse(rs->r[i].fs_uuid, fs);
		uuid_unparse(rs->r[i].dev_uuid, dv);
		fprintf(f, "%s %s %s %" PRIu64 " %" PRId64 " ", fs, dv,
			rs->r[i].secondary ? "secondary" : "primary", rs->r[i].size, rs->r[i].seen);
		put_path(f, rs->r[i].path);
		fputc('\n', f);
	}
	if (fflush(f) || ferror(f))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/*
 * Run @fn over the rows under the cache's lock (a file next to it), then
 * save them: read-modify-write by several processes at once loses nothing.
 */
static int rows_update(int (*fn)(struct rows *rs, void *arg), void *arg)
{
	const char *path = famfs_device_cache_path();
	char lock[PATH_MAX + 8], dir[PATH_MAX];
	struct rows rs;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return rc;
		}
	rc = rows_load(&rs);
	if (!rc)
		rc = fn(&rs, arg);
	if (!rc)
		rc = rows_save(&rs);
	free(rs.r);
	close(fd); /* drops the lock */
	return rc;
}

static void member_row(const struct famfs_member *m, struct famfs_cache_row *row)
{
	memset(row, 0, sizeof(*row));
	memcpy(row->fs_uuid, m->fs_uuid, FAMFS_UUID_LEN);
	memcpy(row->dev_uuid, m->dev_uuid, FAMFS_UUID_LEN);
	row->secondary = m->secondary;
	row->size = m->size;
	row->seen = (int64_t)time(NULL);
	snprintf(row->path, sizeof(row->path), "%s", m->path);
}

static int record_fn(struct rows *rs, void *arg)
{
	const struct famfs_member *m = arg;
	struct famfs_cache_row row;

	member_row(m, &row);
	rows_drop(rs, row.path);
	return rows_add(rs, &row);
}

int famfs_cache_record(const struct famfs_member *m)
{
	return rows_update(record_fn, (void *)m);
}

static int forget_fn(struct rows *rs, void *arg)
{
	rows_drop(rs, arg);
	return 0;
}

int famfs_cache_forget(const char *path)
{
	char canon[PATH_MAX];
	struct stat st;

	if (!realpath(path, canon))
		snprintf(canon, sizeof(canon), "%s", path);
	/* Nothing to forget without a cache: do not create one. */
	if (stat(famfs_device_cache_path(), &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rows_update(forget_fn, canon);
}

int famfs_cache_list(famfs_cache_fn fn, void *arg)
{
	struct rows rs;
	int rc = rows_load(&rs);

	if (rc)
		return rc;
	for (size_t i = 0; i < rs.n; i++)
		fn(&rs.r[i], arg);
	free(rs.r);
	return (int)rs.n;
}

/* ---- scanning ---- */

struct scan {
	struct rows rows; /* the cache as it will be saved */
	famfs_member_fn fn;
	void *arg;
	int found;
	bool prune; /* drop the rows of paths that no longer exist */
	/* paths read in this scan (each candidate once) */
	char **seen;
	size_t nseen, capseen;
};

static bool scan_seen(struct scan *s, const char *path)
{
	char **n;

	for (size_t i = 0; i < s->nseen; i++)
		if (!strcmp(s->seen[i], path))
			return true;
	if (s->nseen == s->capseen) {
		s->capseen = s->capseen ? 2 * s->capseen : 32;
		n = realloc(s->seen, s->capseen * sizeof(*n));
		if (!n)
			return true; /* out of memory: treat as seen, read nothing more */
		s->seen = n;
	}
	s->seen[s->nseen] = strdup(path);
	if (!s->seen[s->nseen])
		return true;
	s->nseen++;
	return false;
}

/* Read one candidate; record what it holds (or that it holds nothing). */
static void scan_one(struct scan *s, const char *path, bool skip_held)
{
	struct famfs_cache_row row;
	struct famfs_member m;
	char canon[PATH_MAX];
	int rc;

	if (!realpath(path, canon)) {
		if (errno == ENOENT && s->prune)
			rows_drop(&s->rows, path); /* gone: an explicit refresh forgets it */
		return;
	}
	if (scan_seen(s, canon))
		return;
	if (skip_held && famfs_path_held(canon))
		return; /* in use by a mount here: not opened; its row, if any, is kept */
	rc = famfs_member_read(canon, &m);
	if (rc < 0)
		return; /* cannot read it now (EACCES, EIO): keep what the cache says */
	rows_drop(&s->rows, canon);
	if (rc != 1)
		return;
	member_row(&m, &row);
	rows_add(&s->rows, &row);
	s->found++;
	if (s->fn)
		s->fn(&m, s->arg);
}

static void scan_glob(struct scan *s, const char *pattern, mode_t type)
{
	glob_t g;
	struct stat st;

	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		if (stat(g.gl_pathv[i], &st) == 0 && (st.st_mode & S_IFMT) == type)
			scan_one(s, g.gl_pathv[i], true);
	globfree(&g);
}

struct refresh_arg {
	const char *const *hints;
	uint32_t nhints;
	famfs_member_fn fn;
	void *arg;
	int found;
	bool prune;
};

static int refresh_fn(struct rows *rs, void *argp)
{
	struct refresh_arg *ra = argp;
	struct scan s = {.rows = *rs, .fn = ra->fn, .arg = ra->arg, .prune = ra->prune};
	size_t ncached = rs->n;
	char **cached = calloc(ncached + 1, sizeof(*cached));

	if (!cached)
		return -ENOMEM;
	for (size_t i = 0; i < ncached; i++)
		cached[i] = strdup(rs->r[i].path);
	for (uint32_t i = 0; i < ra->nhints; i++)
		scan_one(&s, ra->hints[i], false);
	for (size_t i = 0; i < ncached; i++)
		if (cached[i])
			scan_one(&s, cached[i], true);
	scan_glob(&s, "/dev/dax*", S_IFCHR);
	scan_glob(&s, "/dev/pmem*", S_IFBLK);
	for (size_t i = 0; i < ncached; i++)
		free(cached[i]);
	free(cached);
	for (size_t i = 0; i < s.nseen; i++)
		free(s.seen[i]);
	free(s.seen);
	*rs = s.rows;
	ra->found = s.found;
	return 0;
}

static int refresh(const char *const *hints, uint32_t nhints, famfs_member_fn fn, void *arg,
		   bool prune)
{
	struct refresh_arg ra = {hints, nhints, fn, arg, 0, prune};
	int rc = rows_update(refresh_fn, &ra);

	return rc ? rc : ra.found;
}

int famfs_refresh(const char *const *hints, uint32_t nhints, famfs_member_fn fn, void *arg)
{
	return refresh(hints, nhints, fn, arg, true);
}

/* ---- resolving ---- */

struct want {
	const uint8_t *fs_uuid, *dev_uuid;
	struct famfs_found *out;
	/* identities of the devices counted, so one device seen twice counts once */
	dev_t id_dev[2], id_rdev[2];
	ino_t id_ino[2];
};

static void match(const struct famfs_member *m, void *arg)
{
	struct want *w = arg;
	struct famfs_found *o = w->out;

	if (memcmp(m->fs_uuid, w->fs_uuid, FAMFS_UUID_LEN) ||
	    memcmp(m->dev_uuid, w->dev_uuid, FAMFS_UUID_LEN))
		return;
	for (uint32_t i = 0; i < o->n && i < 2; i++)
		if (w->id_dev[i] == m->st_dev && w->id_ino[i] == m->st_ino &&
		    w->id_rdev[i] == m->st_rdev)
			return;
	if (o->n < 2) {
		snprintf(o->path[o->n], sizeof(o->path[0]), "%s", m->path);
		w->id_dev[o->n] = m->st_dev;
		w->id_ino[o->n] = m->st_ino;
		w->id_rdev[o->n] = m->st_rdev;
	}
	o->n++;
}

/*
 * Re-read @path for the question @w asks: 1 it carries the uuids, 0 it
 * holds something else now (its row is rewritten to say what, or dropped if
 * no famfs), -1 it cannot be read now (gone, unreadable: the answer is not
 * trusted, but kept).
 */
static int recheck(struct want *w, const char *path, bool cached)
{
	struct famfs_member m;
	int rc = famfs_member_read(path, &m);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		match(&m, w);
		if (!memcmp(m.fs_uuid, w->fs_uuid, FAMFS_UUID_LEN) &&
		    !memcmp(m.dev_uuid, w->dev_uuid, FAMFS_UUID_LEN))
			return 1;
	}
	if (cached && rc == 1)
		famfs_cache_record(&m);
	else if (cached)
		famfs_cache_forget(path);
	return 0;
}

int famfs_resolve(const uint8_t fs_uuid[FAMFS_UUID_LEN], const uint8_t dev_uuid[FAMFS_UUID_LEN],
		  const char *const *hints, uint32_t nhints, struct famfs_found *out)
{
	struct want w = {.fs_uuid = fs_uuid, .dev_uuid = dev_uuid, .out = out};
	uint32_t cached;
	struct rows rs;

	memset(out, 0, sizeof(*out));
	/* The cache's answers, each read again: a stale row is dropped. */
	if (rows_load(&rs) == 0) {
		for (size_t i = 0; i < rs.n; i++) {
			if (memcmp(rs.r[i].fs_uuid, fs_uuid, FAMFS_UUID_LEN) ||
			    memcmp(rs.r[i].dev_uuid, dev_uuid, FAMFS_UUID_LEN))
				continue;
			recheck(&w, rs.r[i].path, true);
		}
		free(rs.r);
	}
	cached = out->n;
	/* The caller's paths. */
	for (uint32_t i = 0; i < nhints; i++)
		recheck(&w, hints[i], false);
	if (out->n == 0) {
		/* Nothing known holds it: scan this host's candidates (and cache them). */
		if (refresh(hints, nhints, match, &w, false) < 0 && out->n == 0) {
			/* The cache cannot be written (not root, say): scan without it. */
			struct scan s = {.fn = match, .arg = &w};

			for (uint32_t i = 0; i < nhints; i++)
				scan_one(&s, hints[i], false);
			scan_glob(&s, "/dev/dax*", S_IFCHR);
			scan_glob(&s, "/dev/pmem*", S_IFBLK);
			for (size_t i = 0; i < s.nseen; i++)
				free(s.seen[i]);
			free(s.seen);
			free(s.rows.r);
		}
	} else if (out->n == 1 && cached == 0) {
		/* Found through a path the caller gave: remember it. */
		struct famfs_member m;

		if (famfs_member_read(out->path[0], &m) == 1)
			famfs_cache_record(&m);
	}
	if (out->n > 1)
		return -ENOTUNIQ;
	return out->n ? 0 : -ENOENT;
}
