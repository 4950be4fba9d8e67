// SPDX-License-Identifier: Apache-2.0
/*
 * One file system over several devices: the device table's per-device
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
#include "devtab.h"
#include "helpers.h"
#include "image.h"

#define MiB (1ULL << 20)

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
	    cmocka_unit_test(test_alloc_fallback),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_unserved),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
