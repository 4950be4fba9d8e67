// SPDX-License-Identifier: Apache-2.0
/* The log: append/replay round trips, a full log, bad entries, roles, locking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/wait.h>

#include "crc.h"
#include "helpers.h"
#include "image.h"
#include "log.h"

#define MiB (1ULL << 20)

struct seen {
	uint64_t n;
	uint64_t last;
	char paths[64][FAMFS_RELPATH_FIELD];
};

static int collect(const struct famfs_log_entry *e, uint64_t index, void *arg,
		   struct famfs_checker *c)
{
	struct seen *s = arg;

	(void)c;

	if (s->n < 64)
		strcpy(s->paths[s->n],
		       e->type == FAMFS_LOG_MKDIR ? e->mkdir.relpath : e->file.relpath);
	s->n++;
	s->last = index;
	return 0;
}

static void test_append_replay_round_trip(void **state)
{
	const char *img = scratch_image("rt.img", 64 * MiB, 8 * MiB);
	struct famfs_log_entry e;
	struct famfs_replay r = {0};
	struct seen s = {0};
	struct famfs_fs *w, *ro;
	uint64_t idx;

	(void)state;
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	assert_true(w->master && w->writable);
	assert_int_equal(famfs_entry_init_mkdir(&e, "d", 0755, 0, 0), 0);
	assert_int_equal(famfs_log_append(w, &e, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(famfs_entry_init_file(&e, "d/f", 100, 0600, 5, 6), 0);
	e.file.nextents = 1;
	e.file.se[0] = (struct famfs_simple_extent){0, 10 * MiB, 2 * MiB};
	assert_int_equal(famfs_log_append(w, &e, &idx), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(famfs_log_used(w), 2);

	/* A separate, read-only opener sees both entries, in order, intact. */
	assert_int_equal(famfs_fs_open(img, 0, &ro, NULL), 0);
	assert_int_equal(famfs_log_replay(ro, &r, collect, &s), 2);
	assert_int_equal(r.bad_index, -1);
	assert_string_equal(s.paths[0], "d");
	assert_string_equal(s.paths[1], "d/f");
	assert_int_equal(ro->ent[1].file.uid, 5);
	assert_int_equal(ro->ent[1].seqnum, 1);

	/* Incremental: nothing new, then exactly the new entry. */
	assert_int_equal(famfs_log_replay(ro, &r, collect, &s), 0);
	assert_int_equal(famfs_entry_init_mkdir(&e, "d2", 0755, 0, 0), 0);
	assert_int_equal(famfs_log_append(w, &e, NULL), 0);
	assert_int_equal(famfs_log_pending(ro, &r), 1);
	assert_int_equal(famfs_log_replay(ro, &r, collect, &s), 1);
	assert_int_equal(s.last, 2);
	assert_string_equal(s.paths[2], "d2");

	/* Replay from scratch again is the same (idempotent reading). */
	struct famfs_replay r2 = {0};
	struct seen s2 = {0};
	assert_int_equal(famfs_log_replay(ro, &r2, collect, &s2), 3);

	/* A read-only opener cannot append. */
	assert_int_equal(famfs_log_append(ro, &e, NULL), -EROFS);
	/* Bad entries are never written. */
	assert_int_equal(famfs_entry_init_file(&e, "d/g", 100, 0600, 0, 0), 0);
	e.file.nextents = 1;
	e.file.se[0] = (struct famfs_simple_extent){0, 2 * MiB, 2 * MiB}; /* in the log */
	assert_int_equal(famfs_log_append(w, &e, NULL), -EINVAL);
	assert_int_equal(famfs_log_used(w), 3);
	famfs_fs_close(ro);
	famfs_fs_close(w);
}

static void test_full_log(void **state)
{
	const char *img = scratch_image("full.img", 64 * MiB, 8 * MiB);
	struct famfs_log_entry e;
	struct famfs_replay r = {0};
	struct seen s = {0};
	struct famfs_fs *w;
	char name[32];

	(void)state;
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	for (uint64_t i = 0; i < 15420; i++) {
		snprintf(name, sizeof(name), "d%05llu", (unsigned long long)i);
		assert_int_equal(famfs_entry_init_mkdir(&e, name, 0755, 0, 0), 0);
		assert_int_equal(famfs_log_append(w, &e, NULL), 0);
	}
	assert_int_equal(famfs_log_free(w), 0);
	assert_int_equal(famfs_entry_init_mkdir(&e, "one-too-many", 0755, 0, 0), 0);
	assert_int_equal(famfs_log_append(w, &e, NULL), -ENOSPC);
	assert_int_equal(famfs_log_replay(w, &r, collect, &s), 15420);
	assert_int_equal(s.last, 15419);
	/* The header still verifies, and nothing was written past the log. */
	assert_int_equal(w->hdr->next_index, 15420);
	famfs_fs_close(w);
}

/* A corrupt entry stops replay at that entry, with the reason. */
static void test_replay_stops_at_bad_entry(void **state)
{
	const char *img = scratch_image("bad.img", 64 * MiB, 8 * MiB);
	struct famfs_log_entry e;
	struct famfs_replay r = {0};
	struct seen s = {0};
	struct famfs_fs *w, *ro;
	char name[32];
	uint8_t byte;
	off_t off;

	(void)state;
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(famfs_entry_init_mkdir(&e, name, 0755, 0, 0), 0);
		assert_int_equal(famfs_log_append(w, &e, NULL), 0);
	}
	famfs_fs_close(w);
	/* Flip one byte of entry 6's path on the media. */
	off = FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE + 6 * FAMFS_LOG_ENTRY_SIZE + 16 + 12;
	assert_int_equal(file_io(img, &byte, 1, off, 0), 0);
	byte ^= 0x20;
	assert_int_equal(file_io(img, &byte, 1, off, 1), 0);

	assert_int_equal(famfs_fs_open(img, 0, &ro, NULL), 0);
	assert_int_equal(famfs_log_replay(ro, &r, collect, &s), 6);
	assert_int_equal(r.bad_index, 6);
	assert_int_equal(r.bad.code, FAMFS_P_ENT_CRC);
	assert_int_equal(r.next, 6);
	assert_int_equal(r.retries, 1); /* re-read once before giving up */
	/* Repaired (another host finished writing it): replay resumes there. */
	byte ^= 0x20;
	assert_int_equal(file_io(img, &byte, 1, off, 1), 0);
	assert_int_equal(famfs_log_replay(ro, &r, collect, &s), 4);
	assert_int_equal(r.bad_index, -1);
	famfs_fs_close(ro);
}

/* A killed appender (entry written, header not advanced) loses nothing else. */
static void test_torn_append(void **state)
{
	const char *img = scratch_image("torn.img", 64 * MiB, 8 * MiB);
	struct famfs_log_entry e;
	struct famfs_replay r = {0};
	struct seen s = {0};
	struct famfs_fs *w;

	(void)state;
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	assert_int_equal(famfs_entry_init_mkdir(&e, "kept", 0755, 0, 0), 0);
	assert_int_equal(famfs_log_append(w, &e, NULL), 0);
	/* Simulate the crash window: slot 1 holds garbage, the header says 1 entry. */
	memset(&w->ent[1], 0xa5, sizeof(w->ent[1]));
	famfs_fs_close(w);
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	assert_int_equal(famfs_log_replay(w, &r, collect, &s), 1);
	assert_int_equal(r.bad_index, -1);
	assert_int_equal(famfs_entry_init_mkdir(&e, "next", 0755, 0, 0), 0);
	assert_int_equal(famfs_log_append(w, &e, NULL), 0); /* overwrites the torn slot */
	assert_int_equal(famfs_log_replay(w, &r, collect, &s), 1);
	assert_string_equal(s.paths[1], "next");
	famfs_fs_close(w);
}

static void test_roles_and_lock(void **state)
{
	const char *img = scratch_image("roles.img", 64 * MiB, 8 * MiB);
	char other[PATH_MAX + 32], mine[PATH_MAX];
	struct famfs_fs *w, *w2, *client;

	(void)state;
	snprintf(mine, sizeof(mine), "%s", getenv(FAMFS_SYSTEM_UUID_ENV));
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &w, NULL), 0);
	/* One writer per device. */
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE | FAMFS_FS_NOWAIT, &w2, NULL), -EBUSY);
	famfs_fs_close(w);
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE | FAMFS_FS_NOWAIT, &w2, NULL), 0);
	famfs_fs_close(w2);

	/* Every opener, writer or not, holds the in-use lock: mkfs's claim fails. */
	struct famfs_dev *d;
	assert_int_equal(famfs_fs_open(img, 0, &w, NULL), 0);
	assert_int_equal(famfs_dev_open(img, FAMFS_DEV_WRITE, &d), 0);
	assert_int_equal(famfs_dev_claim(d), -EBUSY);
	famfs_fs_close(w);
	assert_int_equal(famfs_dev_claim(d), 0);
	famfs_dev_close(d);

	/* Another host (identity) is a client: may read, may not write. */
	snprintf(other, sizeof(other), "%s/hostB", scratch_dir);
	setenv(FAMFS_SYSTEM_UUID_ENV, other, 1);
	assert_int_equal(famfs_fs_open(img, FAMFS_FS_WRITE, &client, NULL), -EPERM);
	assert_int_equal(famfs_fs_open(img, 0, &client, NULL), 0);
	assert_false(client->master);
	famfs_fs_close(client);
	setenv(FAMFS_SYSTEM_UUID_ENV, mine, 1);
}

static void test_open_errors(void **state)
{
	char path[PATH_MAX + 32];
	struct famfs_checker c = {0};
	struct famfs_fs *fs;
	const char *img;
	uint64_t zero = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.img", scratch_dir);
	assert_int_equal(famfs_dev_create_file(path, 64 * MiB), 0);
	assert_int_equal(famfs_fs_open(path, 0, &fs, &c), -EMEDIUMTYPE);
	assert_int_equal(c.first.code, FAMFS_P_SB_MAGIC);

	snprintf(path, sizeof(path), "%s/tiny.img", scratch_dir);
	assert_int_equal(famfs_dev_create_file(path, 4096), 0);
	c.count = 0;
	assert_int_equal(famfs_fs_open(path, 0, &fs, &c), -EMEDIUMTYPE);
	assert_int_equal(c.first.code, FAMFS_P_SB_SHORT);

	img = scratch_image("hdr.img", 64 * MiB, 8 * MiB);
	assert_int_equal(file_io(img, &zero, 8, FAMFS_LOG_OFFSET + 16, 1), 0); /* last_index */
	c.count = 0;
	assert_int_equal(famfs_fs_open(img, 0, &fs, &c), -EUCLEAN);
	assert_int_equal(c.first.code, FAMFS_P_LOG_LAST_INDEX);
	assert_int_equal(famfs_fs_open("/nonexistent/x", 0, &fs, NULL), -ENOENT);

	/* 4 KiB allocation units are served (issue 13); any other unit is refused
	 * by the superblock check, before anything is sized from it. */
	struct famfs_superblock sb;
	struct famfs_image *im;
	img = scratch_image("4k.img", 64 * MiB, 8 * MiB);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 0), 0);
	sb.alloc_unit = FAMFS_ALLOC_UNIT_4K;
	sb.crc = famfs_sb_crc(&sb);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 1), 0);
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &im, NULL), 0);
	assert_int_equal(im->alloc.unit, FAMFS_ALLOC_UNIT_4K);
	assert_true(famfs_alloc_packs(&im->alloc));
	famfs_image_close(im);
	sb.alloc_unit = 0x10000;
	sb.crc = famfs_sb_crc(&sb);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 1), 0);
	c.count = 0;
	assert_int_equal(famfs_image_open(img, 0, &im, &c), -EUCLEAN);
	assert_int_equal(c.first.code, FAMFS_P_SB_ALLOC_UNIT);
}

/*
 * The superblock is checked once, as a private copy: another host rewriting
 * it afterwards (even with a valid crc) changes nothing this opener uses.
 */
static void test_private_superblock(void **state)
{
	const char *img = scratch_image("sb.img", 64 * MiB, 8 * MiB);
	struct famfs_superblock sb, rogue;
	struct famfs_geom before;
	struct famfs_fs *fs;

	(void)state;
	assert_int_equal(famfs_fs_open(img, 0, &fs, NULL), 0);
	before = fs->geom;
	sb = *fs->sb;
	assert_int_equal(file_io(img, &rogue, sizeof(rogue), 0, 0), 0);
	rogue.log_len = 16 * MiB;
	rogue.alloc_unit = FAMFS_ALLOC_UNIT_4K;
	rogue.daxdev.size = 1ULL << 40;
	rogue.crc = famfs_sb_crc(&rogue);
	assert_int_equal(file_io(img, &rogue, sizeof(rogue), 0, 1),
			 0); /* the shared bytes change */
	assert_memory_equal(fs->sb, &sb, sizeof(sb));
	assert_memory_equal(&fs->geom, &before, sizeof(before));
	assert_true((const void *)fs->sb < (const void *)fs->dev->map ||
		    (const void *)fs->sb >= (const void *)(fs->dev->map + fs->dev->map_len));
	famfs_fs_close(fs);
}

/* The image layer: mkdir/mkfile allocate, log and replay identically elsewhere. */
static void test_image_create_and_follow(void **state)
{
	const char *img = scratch_image("image.img", 256 * MiB, 8 * MiB);
	struct famfs_image *m, *c;
	struct famfs_node *d, *f, *g;
	struct famfs_stripe st = {.nbuckets = 4, .nstrips = 4, .chunk_size = 2 * MiB};

	(void)state;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), "dir", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_image_mkfile(m, d, "f", 3 * MiB, 0644, 0, 0, NULL, &f), 0);
	assert_int_equal(f->file->n, 1);
	assert_int_equal(famfs_map_extent(f->file, 0).offset,
			 10 * MiB); /* first fit after the log */
	assert_int_equal(famfs_map_extent(f->file, 0).len, 4 * MiB);
	assert_int_equal(famfs_image_mkfile(m, d, "s", 16 * MiB, 0600, 0, 0, &st, &g), 0);
	assert_int_equal(g->file->ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(famfs_image_mkfile(m, d, "f", 1, 0644, 0, 0, NULL, NULL), -EEXIST);
	assert_int_equal(famfs_image_mkfile(m, f, "x", 1, 0644, 0, 0, NULL, NULL), -ENOTDIR);
	assert_int_equal(famfs_image_mkfile(m, d, "big", 1ULL << 30, 0644, 0, 0, NULL, NULL),
			 -ENOSPC);
	assert_null(famfs_ns_lookup(m->ns, d, "big")); /* a failed create leaves nothing */

	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 3);
	g = famfs_ns_walk(c->ns, "dir/s");
	assert_non_null(g);
	assert_int_equal(g->size, 16 * MiB);
	assert_memory_equal(g->file, famfs_ns_walk(m->ns, "dir/s")->file,
			    sizeof(struct famfs_map) + 4 * 2 * sizeof(uint64_t));
	assert_int_equal(c->alloc.used, m->alloc.used);
	famfs_image_close(c);
	famfs_image_close(m);
}

/*
 * A compat image (mkfs --compat): FILE entries carry no time and there are
 * no FILE attribute updates; directories keep both.
 */
static void test_compat_image(void **state)
{
	char img[PATH_MAX + 32];
	struct famfs_image *m;
	struct famfs_node *d, *f;
	struct famfs_dev *dev;
	uint64_t used;
	uint8_t me[16];

	(void)state;
	snprintf(img, sizeof(img), "%s/compat.img", scratch_dir);
	assert_int_equal(famfs_dev_create_file(img, 256 * MiB), 0);
	assert_int_equal(famfs_dev_open(img, FAMFS_DEV_WRITE, &dev), 0);
	assert_int_equal(famfs_identity(me), 0);
	assert_int_equal(famfs_mkfs_flags(dev, 8 * MiB, FAMFS_ALLOC_UNIT, 0x1, me), -EINVAL);
	assert_int_equal(famfs_mkfs_flags(dev, 8 * MiB, FAMFS_ALLOC_UNIT, FAMFS_SB_COMPAT, me), 0);
	famfs_dev_close(dev);

	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_true(famfs_fs_compat(m->fs));
	m->now_sec = 1700000000;
	m->now_nsec = 5;
	assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), "d", 0755, 0, 0, &d), 0);
	assert_int_equal(d->mtime_sec, 1700000000); /* directories keep their time */
	assert_int_equal(famfs_image_mkfile(m, d, "f", 5, 0644, 0, 0, NULL, &f), 0);
	assert_int_equal(f->mtime_sec, 0);
	assert_int_equal(m->fs->ent[1].file.mtime_sec, 0);
	assert_int_equal(m->fs->ent[1].file.mtime_nsec, 0);
	used = famfs_log_used(m->fs);
	/* A file: a new time is accepted and changes nothing; mode or owner: EPERM. */
	assert_int_equal(famfs_image_update_attrs(m, f, 0644, 0, 0, 123, 4), 0);
	assert_int_equal(f->mtime_sec, 0);
	assert_int_equal(famfs_image_update_attrs(m, f, 0600, 0, 0, 0, 0), -EPERM);
	assert_int_equal(famfs_image_update_attrs(m, f, 0644, 7, 0, 0, 0), -EPERM);
	assert_int_equal(famfs_log_used(m->fs), used);
	/* A directory: updated and logged as anywhere. */
	assert_int_equal(famfs_image_update_attrs(m, d, 0700, 0, 0, 99, 0), 0);
	assert_int_equal(famfs_log_used(m->fs), used + 1);
	assert_int_equal(d->mode & 07777, 0700);
	famfs_image_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_replay_round_trip),
	    cmocka_unit_test(test_full_log),
	    cmocka_unit_test(test_replay_stops_at_bad_entry),
	    cmocka_unit_test(test_torn_append),
	    cmocka_unit_test(test_roles_and_lock),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_private_superblock),
	    cmocka_unit_test(test_image_create_and_follow),
	    cmocka_unit_test(test_compat_image),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
