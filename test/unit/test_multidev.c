// SPDX-License-Identifier: Apache-2.0
/*
 * One file system over several devices: the secondary superblock and what
 * readers that know no secondary make of it, the device table's per-device
 * bitmaps, the placement policy, and an opener that serves device 0 alone
 * (docs/format.md, "Several devices").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "check.h"
#include "crc.h"
#include "devtab.h"
#include "helpers.h"
#include "image.h"
#include "super.h"

#define MiB (1ULL << 20)

static struct famfs_superblock read_sb_of(const char *path)
{
	struct famfs_superblock sb;

	assert_int_equal(file_io(path, &sb, sizeof(sb), 0, 0), 0);
	return sb;
}

#define read_sb read_sb_of

/* A blank image file @name of @size bytes in the scratch directory (a static buffer each). */
static const char *blank(const char *name, uint64_t size)
{
	static char paths[8][PATH_MAX + 64];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX + 64, "%s/%s", scratch_dir, name);
	unlink(p);
	assert_int_equal(famfs_dev_create_file(p, size), 0);
	return p;
}

/*
 * The existing tools' superblock check, from the format facts: magic,
 * version equal to theirs (48), crc over bytes 0..95, allocation unit
 * 4 KiB or 2 MiB. Nothing else.
 */
static bool existing_tools_accept(const struct famfs_superblock *sb)
{
	return sb->magic == FAMFS_SUPER_MAGIC && sb->version == 48 && sb->crc == famfs_sb_crc(sb) &&
	       (sb->alloc_unit == 4096 || sb->alloc_unit == 0x200000);
}

static bool reported(const struct famfs_checker *c, enum famfs_pcode code, unsigned int *seen)
{
	(void)c;
	return seen[code] != 0;
}

static void count_problem(const struct famfs_problem *p, void *arg)
{
	((unsigned int *)arg)[p->code]++;
}

/*
 * A secondary superblock: the fields the format gives it, what our check
 * accepts, and refused by the readers that know no secondaries: the
 * existing tools' check and our primary check (famfs_sb_check, unchanged
 * since one-device famfs) each say why.
 */
static void test_secondary_superblock(void **state)
{
	const char *a = scratch_image("p.img", 64 * MiB, 8 * MiB);
	struct famfs_superblock p = read_sb(a), s;
	unsigned int seen[FAMFS_P_COUNT] = {0};
	struct famfs_checker c = {.fn = count_problem, .arg = seen};
	const uint8_t *raw = (const uint8_t *)&s;
	struct famfs_fs *fs;
	uint64_t u64;
	uint32_t u32;

	(void)state;
	assert_true(existing_tools_accept(&p));
	assert_int_equal(p.sb_flags, 0); /* one device: as before */
	famfs_sb_format_secondary(&s, &p, 32 * MiB, "/dev/dax9.9");
	assert_int_equal(famfs_sb_check_secondary(&s, 32 * MiB, NULL), 0);
	assert_true(famfs_sb_is_secondary(&s));
	/* the bytes */
	memcpy(&u64, raw + 16, 8);
	assert_int_equal(u64, 0); /* log_offset */
	memcpy(&u64, raw + 24, 8);
	assert_int_equal(u64, 0); /* log_len */
	memcpy(&u64, raw + 32, 8);
	assert_int_equal(u64, 0); /* alloc_unit */
	assert_memory_equal(raw + 48, p.fs_uuid, 16);
	assert_memory_not_equal(raw + 64, p.device_uuid, 16);
	assert_memory_equal(raw + 80, p.device_uuid, 16); /* the primary's device uuid */
	memcpy(&u32, raw + 104, 4);
	assert_int_equal(u32, FAMFS_SB_SECONDARY);
	memcpy(&u64, raw + 112, 8);
	assert_int_equal(u64, 32 * MiB);
	assert_int_equal(s.crc, famfs_sb_crc(&s)); /* bytes 0..95: the primary uuid is covered */

	/* Old readers refuse it, cleanly: no log, no allocation unit. */
	assert_false(existing_tools_accept(&s));
	assert_true(famfs_sb_check(&s, 32 * MiB, &c) >= 3);
	assert_true(reported(&c, FAMFS_P_SB_ALLOC_UNIT, seen));
	assert_true(reported(&c, FAMFS_P_SB_LOG_OFFSET, seen));
	assert_true(reported(&c, FAMFS_P_SB_LOG_LEN, seen));
	assert_false(reported(&c, FAMFS_P_SB_CRC, seen));

	/* The primary's uuid is under the crc; the flags are checked against the kind. */
	s.primary_uuid[3] ^= 1;
	c.count = 0;
	memset(seen, 0, sizeof(seen));
	assert_int_equal(famfs_sb_check_secondary(&s, 32 * MiB, &c), 1);
	assert_true(reported(&c, FAMFS_P_SB_CRC, seen));
	s.primary_uuid[3] ^= 1;
	s.sb_flags |= FAMFS_SB_PRIMARY;
	c.count = 0;
	memset(seen, 0, sizeof(seen));
	assert_int_equal(famfs_sb_check_secondary(&s, 32 * MiB, &c), 1);
	assert_true(reported(&c, FAMFS_P_SB_FLAGS, seen));
	p.sb_flags = FAMFS_SB_PRIMARY;
	assert_int_equal(famfs_sb_check_primary(&p, 64 * MiB, NULL), 0);
	p.sb_flags = 4;
	assert_int_equal(famfs_sb_check_primary(&p, 64 * MiB, NULL), 1);

	/* Opening it as a file system: -EXDEV, naming what it is. */
	s.sb_flags = FAMFS_SB_SECONDARY;
	a = blank("s.img", 32 * MiB);
	assert_int_equal(file_io(a, &s, sizeof(s), 0, 1), 0);
	c.count = 0;
	memset(seen, 0, sizeof(seen));
	assert_int_equal(famfs_fs_open(a, 0, &fs, &c), -EXDEV);
	assert_int_equal(c.first.code, FAMFS_P_SB_SECONDARY);
}

/* The policy on a table: a device with the most free bytes that cannot hold the file is passed. */
static void test_alloc_fallback(void **state)
{
	struct famfs_alloc a0;
	struct famfs_devtab t = {0};
	struct famfs_geom g = {.devsize = 64 * MiB, .meta_end = 10 * MiB, .alloc_unit = 2 * MiB};
	struct famfs_daxdev_body d = {.size = 128 * MiB, .index = 1};
	struct famfs_file_body f;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a0, 64 * MiB, 10 * MiB, 2 * MiB), 0);
	famfs_devtab_seed(&t, &g, &a0);
	memset(d.uuid, 1, sizeof(d.uuid));
	assert_int_equal(famfs_devtab_add(&t, &d, 0, 2 * MiB, NULL), 0);
	/* device 1: every other unit used: 32 free units, no two together */
	for (uint64_t off = 4 * MiB; off < 128 * MiB; off += 4 * MiB)
		assert_int_equal(famfs_alloc_extend(t.dev[1].alloc, off, 1), 1);
	memset(&f, 0, sizeof(f));
	/* 20 units: device 1 (more free bytes) would need 20 extents; device 0 has a run */
	assert_true(famfs_alloc_free_bytes(t.dev[1].alloc) > famfs_alloc_free_bytes(&a0));
	assert_int_equal(famfs_devtab_alloc_file(&t, 3, 20 * 2 * MiB, NULL, &f), 0);
	assert_int_equal(famfs_file_devices(&f), 1U << 0);
	/* a small file goes to device 1: most free, and one unit fits */
	memset(&f, 0, sizeof(f));
	assert_int_equal(famfs_devtab_alloc_file(&t, 3, 2 * MiB, NULL, &f), 0);
	assert_int_equal(famfs_file_devices(&f), 1U << 1);
	/* device 0 alone: exactly the one-device allocator */
	memset(&f, 0, sizeof(f));
	assert_int_equal(famfs_devtab_alloc_file(&t, 1, 2 * MiB, NULL, &f), 0);
	assert_int_equal(famfs_file_devices(&f), 1U << 0);
	famfs_devtab_release(&t);
	famfs_alloc_destroy(&a0);
}

/*
 * Claims are per device: the same offsets on two devices are two places; an
 * overlap on one device names the extent and leaves every device as it was.
 */
static void test_claims(void **state)
{
	struct famfs_alloc a0;
	struct famfs_devtab t = {0};
	struct famfs_geom g = {.devsize = 64 * MiB, .meta_end = 10 * MiB, .alloc_unit = 2 * MiB};
	struct famfs_daxdev_body d = {.size = 64 * MiB, .index = 1};
	struct famfs_file_body f = {0};
	uint64_t used0;
	uint32_t bad;
	bool self;

	(void)state;
	assert_int_equal(famfs_alloc_init(&a0, 64 * MiB, 10 * MiB, 2 * MiB), 0);
	famfs_devtab_seed(&t, &g, &a0);
	memset(d.uuid, 1, sizeof(d.uuid));
	assert_int_equal(famfs_devtab_add(&t, &d, 0, 2 * MiB, NULL), 0);
	f.nextents = 2;
	f.se[0] = (struct famfs_simple_extent){0, 16 * MiB, 4 * MiB};
	f.se[1] = (struct famfs_simple_extent){1, 16 * MiB, 4 * MiB};
	assert_int_equal(famfs_file_devices(&f), 3);
	assert_int_equal(famfs_devtab_claim_file(&t, &f, &bad, &self), 0);
	used0 = a0.used;
	/* device 0 free, device 1 taken: nothing is claimed anywhere */
	f.se[0] = (struct famfs_simple_extent){0, 32 * MiB, 2 * MiB};
	f.se[1] = (struct famfs_simple_extent){1, 18 * MiB, 2 * MiB};
	assert_int_equal(famfs_devtab_claim_file(&t, &f, &bad, &self), -EEXIST);
	assert_int_equal(bad, 1);
	assert_false(self);
	assert_int_equal(a0.used, used0);
	/* two extents of one file on one device overlapping */
	f.se[0] = (struct famfs_simple_extent){1, 40 * MiB, 4 * MiB};
	f.se[1] = (struct famfs_simple_extent){0, 40 * MiB, 2 * MiB};
	f.nextents = 3;
	f.se[2] = (struct famfs_simple_extent){1, 42 * MiB, 2 * MiB};
	assert_int_equal(famfs_devtab_claim_file(&t, &f, &bad, &self), -EEXIST);
	assert_int_equal(bad, 2);
	assert_true(self);
	assert_int_equal(a0.used, used0);
	famfs_devtab_release(&t);
	famfs_alloc_destroy(&a0);
}

/*
 * A log that adds device 1 and puts a file on it: fsck counts it on device
 * 1 and finds nothing wrong; an opener that serves device 0 alone stops its
 * replay at that file (DEV_UNSERVED) and serves what came before.
 */
static void test_unserved(void **state)
{
	const char *img = scratch_image("u.img", 64 * MiB, 8 * MiB);
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct famfs_log_entry e;
	struct famfs_image *im;
	struct famfs_fs *fs;

	(void)state;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &im, NULL), 0);
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "f0", 4 * MiB, 0644, 0, 0, NULL, NULL),
	    0);
	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_ADD_DAXDEV;
	e.daxdev.index = 1;
	e.daxdev.size = 32 * MiB;
	memset(e.daxdev.uuid, 9, sizeof(e.daxdev.uuid));
	assert_int_equal(famfs_log_append(im->fs, &e, NULL), 0);
	famfs_image_close(im);
	/* a file on device 1 at the offsets f0 has on device 0 */
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 2);
	assert_int_equal(famfs_entry_init_file(&e, "f1", 4 * MiB, 0644, 0, 0), 0);
	e.file.nextents = 1;
	e.file.se[0] = famfs_ns_walk(im->ns, "f0")->file->se[0];
	e.file.se[0].devindex = 1;
	e.file.se[0].offset = 4 * MiB;
	assert_int_equal(famfs_log_append(im->fs, &e, NULL), 0);
	famfs_image_close(im);

	assert_int_equal(famfs_fs_open(img, 0, &fs, NULL), 0);
	assert_int_equal(
	    famfs_fsck(fs->sb, fs->hdr, fs->sb->log_len, fs->dev->size, &chk, NULL, NULL, &st), 0);
	famfs_fs_close(fs);
	assert_int_equal(chk.count, 0);
	assert_int_equal(st.ndevs, 2);
	assert_int_equal(st.dev[0].files, 1);
	assert_int_equal(st.dev[1].files, 1);
	assert_int_equal(st.dev[1].capacity, 32 * MiB);
	assert_int_equal(st.dev[1].alloc_bytes, 4 * MiB);
	assert_int_equal(st.capacity, 96 * MiB);

	assert_int_equal(famfs_image_open(img, 0, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 2);
	assert_int_equal(im->replay.bad_index, 2);
	assert_int_equal(im->replay.bad.code, FAMFS_P_DEV_UNSERVED);
	assert_non_null(famfs_ns_walk(im->ns, "f0"));
	assert_null(famfs_ns_walk(im->ns, "f1"));
	famfs_image_close(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secondary_superblock),
	    cmocka_unit_test(test_alloc_fallback),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_unserved),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
