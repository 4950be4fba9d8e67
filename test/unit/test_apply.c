// SPDX-License-Identifier: Apache-2.0
/*
 * The replay rules (famfs/apply.h) on crafted logs: entries with valid crcs
 * written straight into the image, as another implementation or an attacker
 * could. For every log, replay (famfs_image_catch_up, what a mount does) and
 * fsck agree: replay stops exactly at fsck's first entry that cannot be
 * applied, for the same reason, and goes on past what fsck calls ignorable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "crc.h"
#include "helpers.h"
#include "image.h"
#include "super.h"

#define MiB	(1ULL << 20)
#define DEVSIZE (256 * MiB)

/* A fresh image holding "d" (slot 0), "d/a" 4 MiB (1) and "b" 2 MiB (2). */
static const char *base_image(const char *name, struct famfs_file_body *a)
{
	const char *img = scratch_image(name, DEVSIZE, 8 * MiB);
	struct famfs_image *m;
	struct famfs_node *d, *f;

	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), "d", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_image_mkfile(m, d, "a", 4 * MiB, 0600, 0, 0, NULL, &f), 0);
	if (a)
		*a = node_body(f->file);
	assert_int_equal(
	    famfs_image_mkfile(m, famfs_ns_root(m->ns), "b", 2 * MiB, 0644, 0, 0, NULL, NULL), 0);
	famfs_image_close(m);
	return img;
}

/* Write @e into the next slot with a valid seqnum and crc, and publish it. */
static uint64_t craft(const char *img, struct famfs_log_entry *e)
{
	uint64_t k[2];

	assert_int_equal(file_io(img, k, sizeof(k), FAMFS_LOG_OFFSET + 32, 0), 0);
	e->seqnum = k[1];
	e->crc = famfs_log_entry_crc(e);
	assert_int_equal(
	    file_io(img, e, sizeof(*e),
		    FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE + k[1] * FAMFS_LOG_ENTRY_SIZE, 1),
	    0);
	k[0] = k[1] = k[1] + 1;
	assert_int_equal(file_io(img, k, sizeof(k), FAMFS_LOG_OFFSET + 32, 1), 0);
	return k[1] - 1;
}

static void file_entry(struct famfs_log_entry *e, const char *path, uint64_t off, uint64_t len)
{
	assert_int_equal(famfs_entry_init_file(e, path, len, 0644, 0, 0), 0);
	e->file.nextents = 1;
	e->file.se[0] = (struct famfs_simple_extent){0, off, len};
}

static void mkdir_entry(struct famfs_log_entry *e, const char *path)
{
	assert_int_equal(famfs_entry_init_mkdir(e, path, 0755, 0, 0), 0);
}

struct verdicts {
	int64_t stop; /* replay's bad_index == fsck's first_bad */
	enum famfs_pcode code;
	unsigned int problems;	/* fsck */
	uint64_t ignored;	/* fsck */
	struct famfs_image *im; /* the replayed image, left open for more checks */
};

/* Replay and fsck the image; assert that they agree and return what they said. */
static struct verdicts replay_and_fsck(const char *img, unsigned int flags)
{
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct verdicts v = {0};
	struct famfs_fs *fs;

	assert_int_equal(famfs_fs_open(img, 0, &fs, NULL), 0);
	assert_int_equal(
	    famfs_fsck(fs->sb, fs->hdr, fs->sb->log_len, fs->dev->size, &chk, NULL, NULL, &st), 0);
	famfs_fs_close(fs);
	assert_int_equal(famfs_image_open(img, flags, &v.im, NULL), 0);
	assert_true(famfs_image_catch_up(v.im, NULL, NULL) >= 0);
	v.stop = v.im->replay.bad_index;
	v.problems = chk.count;
	v.ignored = st.ignored;
	/* The agreement: same slot, same reason. */
	assert_int_equal(v.stop, st.first_bad);
	if (v.stop >= 0) {
		v.code = v.im->replay.bad.code;
		assert_int_equal(v.code, st.stop.code);
	} else {
		v.code = FAMFS_P_COUNT;
	}
	return v;
}

/* Defect 6: an extent equal to another file's stops replay, like fsck says. */
static void test_overlap_stops_replay(void **state)
{
	struct famfs_file_body a;
	const char *img = base_image("overlap.img", &a);
	struct famfs_log_entry e;
	struct verdicts v;
	uint64_t slot;

	(void)state;
	file_entry(&e, "c", a.se[0].offset, a.se[0].len); /* d/a's bytes under another name */
	e.file.mode = 0644;
	slot = craft(img, &e);
	mkdir_entry(&e, "after");
	craft(img, &e);
	v = replay_and_fsck(img, FAMFS_FS_WRITE);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_OVERLAP);
	assert_non_null(strstr(v.im->replay.bad.detail, "shared with entry 1"));
	assert_null(famfs_ns_walk(v.im->ns, "c"));
	assert_null(famfs_ns_walk(v.im->ns, "after")); /* nothing past the stop */
	famfs_image_close(v.im);
}

/* Two extents of one file overlapping each other, and an extent off the device. */
static void test_self_overlap_and_range(void **state)
{
	const char *img = base_image("self.img", NULL);
	struct famfs_log_entry e;
	struct verdicts v;
	uint64_t slot;

	(void)state;
	file_entry(&e, "c", 100 * MiB, 4 * MiB);
	e.file.nextents = 2;
	e.file.se[1] = (struct famfs_simple_extent){0, 102 * MiB, 2 * MiB};
	e.file.size = 6 * MiB;
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_OVERLAP);
	assert_non_null(strstr(v.im->replay.bad.detail, "another extent of this file"));
	famfs_image_close(v.im);

	img = base_image("range.img", NULL);
	file_entry(&e, "c", DEVSIZE - 2 * MiB, 4 * MiB);
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_RANGE);
	famfs_image_close(v.im);
}

/*
 * A stopped entry claims nothing: when the slot is rewritten (another host
 * finished it), the retry applies it, even though its first extent is the
 * same free space the failed attempt looked at.
 */
static void test_bad_entry_changes_nothing(void **state)
{
	struct famfs_file_body a;
	const char *img = base_image("retry.img", &a);
	struct famfs_log_entry e;
	struct verdicts v;
	uint64_t slot;

	(void)state;
	file_entry(&e, "c", 100 * MiB, 2 * MiB);
	e.file.nextents = 2;
	e.file.se[1] = a.se[0]; /* second extent overlaps d/a */
	e.file.size = 2 * MiB;
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_false(famfs_alloc_test(&v.im->alloc, 100 * MiB / (2 * MiB)));
	/* Repaired in place: one extent. */
	e.file.nextents = 1;
	memset(&e.file.se[1], 0, sizeof(e.file.se[1]));
	e.crc = famfs_log_entry_crc(&e);
	assert_int_equal(
	    file_io(img, &e, sizeof(e),
		    FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE + slot * FAMFS_LOG_ENTRY_SIZE, 1),
	    0);
	assert_int_equal(famfs_image_catch_up(v.im, NULL, NULL), 1);
	assert_int_equal(v.im->replay.bad_index, -1);
	assert_non_null(famfs_ns_walk(v.im->ns, "c"));
	famfs_image_close(v.im);
}

/* Defect 17: DELETE and INVALID carry no namespace change: skipped, mount stays read-write. */
static void test_delete_invalid_ignored(void **state)
{
	const char *img = base_image("ignored.img", NULL);
	struct famfs_log_entry e;
	struct verdicts v;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_DELETE;
	craft(img, &e);
	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_INVALID;
	craft(img, &e);
	mkdir_entry(&e, "after");
	craft(img, &e);
	v = replay_and_fsck(img, FAMFS_FS_WRITE);
	assert_int_equal(v.stop, -1);
	assert_int_equal(v.problems, 0);
	assert_int_equal(v.ignored, 2);
	assert_non_null(famfs_ns_walk(v.im->ns, "after"));
	/* The master goes on appending after them. */
	assert_true(v.im->fs->writable);
	assert_int_equal(famfs_image_mkdir(v.im, famfs_ns_root(v.im->ns), "more", 0755, 0, 0, NULL),
			 0);
	famfs_image_close(v.im);

	/* Type 5 and above: unknown, it could change anything: stop. */
	img = base_image("type9.img", NULL);
	memset(&e, 0, sizeof(e));
	e.type = 9;
	v = (struct verdicts){0};
	assert_int_equal(craft(img, &e), 3);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, 3);
	assert_int_equal(v.code, FAMFS_P_ENT_TYPE);
	famfs_image_close(v.im);
}

/* Version 47: type 3 was INVALID, and is ignored like it. */
static void test_v47_type3_ignored(void **state)
{
	const char *img = base_image("v47.img", NULL);
	struct famfs_superblock sb;
	struct famfs_log_entry e;
	struct verdicts v;

	(void)state;
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 0), 0);
	sb.version = FAMFS_VERSION_47;
	sb.omf_ver_minor = FAMFS_OMF_MINOR_47;
	sb.crc = famfs_sb_crc(&sb);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 1), 0);
	memset(&e, 0, sizeof(e));
	e.type = 3; /* ADD_DAXDEV in 48 (index 0 would be bad there) */
	craft(img, &e);
	mkdir_entry(&e, "after");
	craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, -1);
	assert_int_equal(v.problems, 0);
	assert_int_equal(v.ignored, 1);
	assert_non_null(famfs_ns_walk(v.im->ns, "after"));
	famfs_image_close(v.im);
}

/* An ADD_DAXDEV entry for device @index with a uuid made of @tag. */
static void daxdev_entry(struct famfs_log_entry *e, uint32_t index, uint8_t tag)
{
	memset(e, 0, sizeof(*e));
	e->type = FAMFS_LOG_ADD_DAXDEV;
	e->daxdev.index = index;
	e->daxdev.size = DEVSIZE;
	memset(e->daxdev.uuid, tag, sizeof(e->daxdev.uuid));
}

/*
 * ADD_DAXDEV: dense indices from 1 in log order add devices (ignored: no
 * name); out of order, a uuid the file system has already (the primary's
 * too) and one device beyond the table each stop replay with a code of
 * their own, the same in fsck, and change nothing (the entry after a retry
 * of the good ones applies).
 */
static void test_add_daxdev(void **state)
{
	const char *img = base_image("dax.img", NULL);
	struct famfs_superblock sb;
	struct famfs_log_entry e;
	struct verdicts v;
	uint64_t slot;

	(void)state;
	for (uint32_t i = 1; i <= 2; i++) {
		daxdev_entry(&e, i, (uint8_t)i);
		craft(img, &e);
	}
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, -1);
	assert_int_equal(v.problems, 0);
	assert_int_equal(v.ignored, 2);
	assert_int_equal(v.im->ap.devs.ndevs, 3);
	famfs_image_close(v.im);

	/* a gap: index 2 first */
	img = base_image("dax2.img", NULL);
	daxdev_entry(&e, 2, 2);
	slot = craft(img, &e);
	mkdir_entry(&e, "after");
	craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_DAXDEV_ORDER);
	assert_null(famfs_ns_walk(v.im->ns, "after"));
	assert_int_equal(v.im->ap.devs.ndevs, 1); /* the bad entry changed nothing */
	famfs_image_close(v.im);

	/* a uuid added twice; then the primary's own */
	img = base_image("dax3.img", NULL);
	daxdev_entry(&e, 1, 7);
	craft(img, &e);
	daxdev_entry(&e, 2, 7);
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_DAXDEV_DUP);
	assert_int_equal(v.im->ap.devs.ndevs, 2);
	famfs_image_close(v.im);
	img = base_image("dax4.img", NULL);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 0), 0);
	daxdev_entry(&e, 1, 0);
	memcpy(e.daxdev.uuid, sb.device_uuid, sizeof(sb.device_uuid));
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_DAXDEV_DUP);
	famfs_image_close(v.im);

	/* the table holds devices 0 to 31: a 32nd ADD_DAXDEV is one too many */
	img = base_image("dax5.img", NULL);
	for (uint32_t i = 1; i < FAMFS_MAX_DAXDEVS; i++) {
		daxdev_entry(&e, i, (uint8_t)i);
		craft(img, &e);
	}
	daxdev_entry(&e, FAMFS_MAX_DAXDEVS, 200);
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_DAXDEV_FULL);
	assert_int_equal(v.im->ap.devs.ndevs, FAMFS_MAX_DAXDEVS);
	famfs_image_close(v.im);
}

/*
 * A FILE whose path exists is skipped, as the existing tools skip it: replay
 * goes on, its space stays used; fsck reports it (no writer produces one).
 */
static void test_existing_path_skipped(void **state)
{
	const char *img = base_image("dup.img", NULL);
	struct famfs_log_entry e;
	struct verdicts v;

	(void)state;
	file_entry(&e, "b", 200 * MiB, 2 * MiB);
	craft(img, &e);
	mkdir_entry(&e, "nodir/x"); /* parent missing */
	craft(img, &e);
	mkdir_entry(&e, "after");
	craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, -1);
	assert_int_equal(v.problems, 2); /* ENT_EXISTS, ENT_PARENT */
	assert_int_equal(v.im->skipped, 2);
	assert_non_null(famfs_ns_walk(v.im->ns, "after"));
	assert_true(famfs_alloc_test(&v.im->alloc, 200 * MiB / (2 * MiB)));
	famfs_image_close(v.im);
}

/*
 * Defect 5: daxdev.size is outside the superblock crc. fsck bounds
 * everything sized from it by the real device: a superblock claiming 4 EiB
 * on a 256 MiB image is reported (SB_DEVSIZE) and checked as 256 MiB, fast,
 * instead of allocating a map for 4 EiB.
 */
static void test_fsck_bounded_by_device(void **state)
{
	const char *img = base_image("huge.img", NULL);
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct famfs_superblock sb;
	uint8_t *log = malloc(8 * MiB);
	struct timespec t0, t1;

	(void)state;
	assert_non_null(log);
	assert_int_equal(file_io(img, &sb, sizeof(sb), 0, 0), 0);
	assert_int_equal(file_io(img, log, 8 * MiB, FAMFS_LOG_OFFSET, 0), 0);
	sb.daxdev.size = 1ULL << 62;
	assert_int_equal(sb.crc, famfs_sb_crc(&sb)); /* not covered: still "valid" */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(famfs_fsck(&sb, log, 8 * MiB, DEVSIZE, &chk, NULL, NULL, &st), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(chk.count, 1);
	assert_int_equal(chk.first.code, FAMFS_P_SB_DEVSIZE);
	assert_int_equal(st.capacity, DEVSIZE);
	assert_int_equal(st.files, 2);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	/* No device size, no check: nothing is sized from the media alone. */
	assert_int_equal(famfs_fsck(&sb, log, 8 * MiB, 0, &chk, NULL, NULL, &st), -EINVAL);
	free(log);
}

/*
 * 4 KiB units (issue 13): files share 2 MiB regions; overlap is found at
 * 4 KiB granularity, alignment and bounds are checked against 4 KiB.
 */
static void test_4k_overlap_and_bounds(void **state)
{
	const uint64_t K4 = 4096, base = 10 * MiB; /* superblock + 8 MiB log */
	struct famfs_log_entry e;
	struct verdicts v;
	const char *img;
	uint64_t slot;

	(void)state;
	/* Three files in one region, side by side: clean. */
	img = scratch_image_unit("4k-ok.img", DEVSIZE, 8 * MiB, K4);
	file_entry(&e, "p", base + K4, 2 * K4);
	craft(img, &e);
	file_entry(&e, "q", base + 3 * K4, K4);
	e.file.size = 100; /* a short file in a whole page */
	craft(img, &e);
	file_entry(&e, "big", base + 2 * MiB, 2 * MiB + K4);
	craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, -1);
	assert_int_equal(v.problems, 0);
	assert_true(famfs_alloc_test(&v.im->alloc, (base + K4) / K4));
	assert_true(famfs_alloc_test(&v.im->alloc, (base + 3 * K4) / K4));
	assert_false(famfs_alloc_test(&v.im->alloc, base / K4));
	assert_false(famfs_alloc_test(&v.im->alloc, (base + 4 * K4) / K4));
	assert_false(famfs_alloc_test(&v.im->alloc, (base + 4 * MiB + K4) / K4));
	famfs_image_close(v.im);

	/* One page shared with another file: ENT_OVERLAP, naming it. */
	img = scratch_image_unit("4k-overlap.img", DEVSIZE, 8 * MiB, K4);
	file_entry(&e, "p", base + K4, 2 * K4);
	craft(img, &e);
	file_entry(&e, "r", base + 2 * K4, 2 * K4);
	slot = craft(img, &e);
	v = replay_and_fsck(img, 0);
	assert_int_equal(v.stop, slot);
	assert_int_equal(v.code, FAMFS_P_ENT_OVERLAP);
	assert_non_null(strstr(v.im->replay.bad.detail, "shared with entry 0"));
	famfs_image_close(v.im);

	/* Not 4 KiB-aligned; past the device; inside the log. */
	static const struct {
		uint64_t off, len;
		enum famfs_pcode code;
	} bad[] = {
	    {base + 512, K4, FAMFS_P_ENT_ALIGN},
	    {base, K4 + 1, FAMFS_P_ENT_ALIGN},
	    {DEVSIZE - K4, 2 * K4, FAMFS_P_ENT_RANGE},
	    {base - K4, K4, FAMFS_P_ENT_META},
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		img = scratch_image_unit("4k-bad.img", DEVSIZE, 8 * MiB, K4);
		file_entry(&e, "x", bad[i].off, bad[i].len);
		slot = craft(img, &e);
		v = replay_and_fsck(img, 0);
		assert_int_equal(v.stop, slot);
		assert_int_equal(v.code, bad[i].code);
		famfs_image_close(v.im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap_stops_replay),
	    cmocka_unit_test(test_4k_overlap_and_bounds),
	    cmocka_unit_test(test_self_overlap_and_range),
	    cmocka_unit_test(test_bad_entry_changes_nothing),
	    cmocka_unit_test(test_delete_invalid_ignored),
	    cmocka_unit_test(test_v47_type3_ignored),
	    cmocka_unit_test(test_add_daxdev),
	    cmocka_unit_test(test_existing_path_skipped),
	    cmocka_unit_test(test_fsck_bounded_by_device),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
