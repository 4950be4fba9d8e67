// SPDX-License-Identifier: Apache-2.0
/*
 * One file system over several devices: the secondary superblock and what
 * older readers make of it, mkfs over several devices, devadd and the state
 * an interrupted one leaves, the per-device allocation policy, attaching
 * the devices an image's log adds, and uuid resolution through the
 * host-local cache (docs/format.md, "Several devices").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "check.h"
#include "crc.h"
#include "devset.h"
#include "flush.h"
#include "helpers.h"
#include "image.h"
#include "resolve.h"
#include "super.h"

#define MiB (1ULL << 20)

static char cache[PATH_MAX + 32];

/* The scratch directory, and a device cache of its own (never the host's). */
static int setup(void **state)
{
	scratch_setup(state);
	snprintf(cache, sizeof(cache), "%s/devices", scratch_dir);
	setenv(FAMFS_DEVICE_CACHE_ENV, cache, 1);
	return 0;
}

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
 * What the primary looks like when its superblock is published (traced):
 * the secondaries must be written and the log must add them already.
 */
struct order {
	const char *const *paths;
	uint32_t n;
	unsigned int sb_flushes; /* flushes of the superblock: zeroed, then the new one */
	bool checked;
};

static void mkfs_trace(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len)
{
	struct order *o = arg;
	struct famfs_superblock s, p;
	uint64_t k[2];

	(void)len;
	if (op != FAMFS_DEV_FLUSH || off != 0 || ++o->sb_flushes != 2)
		return;
	p = read_sb_of(o->paths[0]);
	assert_int_equal(file_io(o->paths[0], k, sizeof(k), FAMFS_LOG_OFFSET + 32, 0), 0);
	assert_int_equal(k[1], o->n - 1); /* every ADD_DAXDEV published */
	for (uint32_t i = 1; i < o->n; i++) {
		s = read_sb_of(o->paths[i]);
		assert_int_equal(famfs_sb_check_secondary(&s, 0, NULL), 0);
		assert_memory_equal(s.fs_uuid, p.fs_uuid, 16);
	}
	o->checked = true;
}

/* mkfs over the images @paths[0..n) (8 MiB log), checking the write order. */
static void mkfs_devices(const char *const *paths, uint32_t n, uint64_t unit)
{
	struct famfs_dev *devs[FAMFS_MAX_DAXDEVS];
	struct order o = {.paths = paths, .n = n};
	uint8_t me[16];

	assert_int_equal(famfs_identity(me), 0);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(famfs_dev_open(paths[i], FAMFS_DEV_WRITE, &devs[i]), 0);
	devs[0]->trace = mkfs_trace;
	devs[0]->trace_arg = &o;
	assert_int_equal(famfs_mkfs_devices(devs, n, 8 * MiB, unit, me), 0);
	assert_true(o.checked);
	for (uint32_t i = 0; i < n; i++)
		famfs_dev_close(devs[i]);
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

/*
 * mkfs over three devices: the primary flagged, each secondary naming it, the
 * log adding devices 1 and 2; files placed by the policy (most free first,
 * a striped file's strips on distinct devices); an opener that serves
 * device 0 only stops at the first file elsewhere; fsck counts per device.
 */
static void test_mkfs_and_placement(void **state)
{
	const char *paths[3] = {blank("m0.img", 64 * MiB), blank("m1.img", 64 * MiB),
				blank("m2.img", 48 * MiB)};
	struct famfs_stripe st = {.nbuckets = 1, .nstrips = 3, .chunk_size = 2 * MiB};
	struct famfs_superblock p, s;
	struct famfs_fsck_stats fst;
	struct famfs_checker chk = {0};
	struct famfs_image *im;
	struct famfs_node *f1, *f2, *f3, *f4;
	struct famfs_fs *fs;

	(void)state;
	mkfs_devices(paths, 3, FAMFS_ALLOC_UNIT);
	p = read_sb(paths[0]);
	assert_int_equal(p.sb_flags, FAMFS_SB_PRIMARY);
	assert_int_equal(famfs_sb_check_primary(&p, 64 * MiB, NULL), 0);
	for (int i = 1; i < 3; i++) {
		s = read_sb(paths[i]);
		assert_int_equal(famfs_sb_check_secondary(&s, 64 * MiB, NULL), 0);
		assert_memory_equal(s.fs_uuid, p.fs_uuid, 16);
		assert_memory_equal(s.primary_uuid, p.device_uuid, 16);
	}

	assert_int_equal(famfs_image_open(paths[0], FAMFS_FS_WRITE | FAMFS_FS_DEVICES, &im, NULL),
			 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 2);
	assert_int_equal(im->replay.bad_index, -1);
	assert_int_equal(im->ap.devs.ndevs, 3);
	assert_int_equal(famfs_image_devmask(im), 7);
	s = read_sb(paths[2]);
	assert_memory_equal(im->ap.devs.dev[2].uuid, s.device_uuid, 16);
	/* most free first: device 1 (62 MiB free), then 2 (46 MiB) over the primary (54 MiB) */
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "f1", 20 * MiB, 0644, 0, 0, NULL, &f1),
	    0);
	assert_int_equal(node_devices(f1->file), 1U << 1);
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "f2", 4 * MiB, 0644, 0, 0, NULL, &f2), 0);
	assert_int_equal(node_devices(f2->file), 1U << 0);
	/* a striped file: one strip on each device */
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "f3", 12 * MiB, 0644, 0, 0, &st, &f3), 0);
	assert_int_equal(f3->file->ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(node_devices(f3->file), 7);
	/* more strips than devices */
	st.nstrips = 4;
	st.nbuckets = 4;
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "f4", 12 * MiB, 0644, 0, 0, &st, &f4),
	    -EINVAL);
	famfs_image_close(im);

	/* device 0 only: replay stops at f1, whose bytes are on device 1 */
	assert_int_equal(famfs_image_open(paths[0], 0, &im, NULL), 0);
	famfs_image_catch_up(im, NULL, NULL);
	assert_int_equal(im->replay.bad_index, 2);
	assert_int_equal(im->replay.bad.code, FAMFS_P_DEV_UNSERVED);
	famfs_image_close(im);
	/* metadata only: everything */
	assert_int_equal(famfs_image_open(paths[0], FAMFS_FS_NODATA, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 5);
	assert_int_equal(im->replay.bad_index, -1);
	famfs_image_close(im);

	assert_int_equal(famfs_fs_open(paths[0], 0, &fs, NULL), 0);
	assert_int_equal(
	    famfs_fsck(fs->sb, fs->hdr, fs->sb->log_len, fs->dev->size, &chk, NULL, NULL, &fst), 0);
	famfs_fs_close(fs);
	assert_int_equal(chk.count, 0);
	assert_int_equal(fst.ndevs, 3);
	assert_int_equal(fst.capacity, (64 + 64 + 48) * MiB);
	assert_int_equal(fst.dev[0].files, 2);
	assert_int_equal(fst.dev[1].files, 2);
	assert_int_equal(fst.dev[2].files, 1);
	assert_int_equal(fst.dev[1].alloc_bytes, 24 * MiB);
	assert_int_equal(fst.alloc_bytes, (20 + 4 + 12) * MiB);
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

static bool devadd_checked;

/* When the ADD_DAXDEV entry is stored, the new device's superblock is written already. */
static void devadd_trace(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len)
{
	struct famfs_superblock s;

	(void)len;
	if (op != FAMFS_DEV_STORE || off < FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE)
		return;
	s = read_sb_of(arg);
	assert_int_equal(famfs_sb_check_secondary(&s, 0, NULL), 0);
	devadd_checked = true;
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
 * devadd: the device joins (entry, flag, cache), refusals, and the state an
 * interrupted devadd leaves (a secondary its log does not name): harmless,
 * and the next devadd reuses it without -f.
 */
static void test_devadd(void **state)
{
	char *a = strdup(scratch_image("d0.img", 64 * MiB, 8 * MiB));
	const char *b = blank("d1.img", 32 * MiB), *c = blank("d2.img", 32 * MiB);
	const char *tiny = blank("tiny.img", 3 * MiB);
	char *other = strdup(scratch_image("other.img", 64 * MiB, 8 * MiB));
	struct famfs_superblock p, s;
	struct famfs_image *im;
	struct famfs_found f;
	uint32_t idx;
	uint64_t k[2];

	(void)state;
	assert_int_equal(famfs_image_open(a, FAMFS_FS_NODATA, &im, NULL), 0);
	assert_int_equal(famfs_image_devadd(im, b, FAMFS_DEVADD_SMALL, &idx), -EROFS);
	famfs_image_close(im);
	assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 0);
	assert_int_equal(famfs_image_devadd(im, b, 0, &idx), -ERANGE); /* < 4 GiB */
	assert_int_equal(famfs_image_devadd(im, tiny, FAMFS_DEVADD_SMALL, &idx), -ERANGE);
	assert_int_equal(famfs_image_devadd(im, a, FAMFS_DEVADD_SMALL, &idx), -EEXIST);
	assert_int_equal(famfs_image_devadd(im, other, FAMFS_DEVADD_SMALL, &idx), -ENOTEMPTY);
	im->fs->dev->trace = devadd_trace;
	im->fs->dev->trace_arg = (void *)b;
	assert_int_equal(famfs_image_devadd(im, b, FAMFS_DEVADD_SMALL, &idx), 0);
	assert_true(devadd_checked);
	im->fs->dev->trace = NULL;
	assert_int_equal(idx, 1);
	assert_int_equal(famfs_image_devadd(im, b, FAMFS_DEVADD_SMALL, &idx), -EEXIST);
	famfs_image_close(im);
	p = read_sb(a);
	s = read_sb(b);
	assert_int_equal(p.sb_flags, FAMFS_SB_PRIMARY);
	assert_int_equal(famfs_sb_check_secondary(&s, 32 * MiB, NULL), 0);
	assert_int_equal(famfs_resolve(p.fs_uuid, s.device_uuid, NULL, 0, &f), 0);
	assert_string_equal(f.path, b);

	/* An interrupted devadd: the secondary written, its entry not (the append fails). */
	assert_int_equal(file_io(a, k, sizeof(k), FAMFS_LOG_OFFSET + 32, 0), 0);
	k[0]++; /* next_seqnum != next_index: appends refuse the log (-EUCLEAN) */
	assert_int_equal(file_io(a, k, sizeof(k), FAMFS_LOG_OFFSET + 32, 1), 0);
	assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL),
			 -EUCLEAN);
	k[0]--;
	assert_int_equal(file_io(a, k, sizeof(k), FAMFS_LOG_OFFSET + 32, 1), 0);
	assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 1);
	famfs_sb_format_secondary(&s, im->fs->sb, 32 * MiB, c);
	assert_int_equal(file_io(c, &s, sizeof(s), 0, 1), 0); /* step 1 done, then the crash */
	famfs_image_close(im);
	assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL), 0);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 1);
	assert_int_equal(im->ap.devs.ndevs, 2); /* the log never named it */
	assert_int_equal(famfs_image_devadd(im, c, FAMFS_DEVADD_SMALL, &idx), 0);
	assert_int_equal(idx, 2);
	famfs_image_close(im);
	free(a);
	free(other);
}

/* The primary's sb_flags in its window: a fault guard fails @fault_op on it. */
static void *fault_at;
static enum famfs_access fault_op;
static unsigned int faults;

static int fault_guard(enum famfs_access op, void *dst, const void *src, size_t len)
{
	if (op == fault_op && dst == fault_at) {
		faults++;
		return -EIO;
	}
	if (op == FAMFS_ACCESS_COPY)
		memcpy(dst, src, len);
	else if (op == FAMFS_ACCESS_FLUSH)
		famfs_cache_flush(dst, len);
	else
		famfs_cache_invalidate(dst, len);
	return 0;
}

/*
 * devadd whose last step (the primary's informational flag: store, then
 * flush) fails: the error is returned with the device added (its index
 * given); the file system is consistent (fsck clean, the log lists both
 * devices, the flag unset), the same device again is -EEXIST, and the next
 * devadd sets the flag. Checked for a failing store and a failing flush.
 */
static void test_devadd_mark_fails(void **state)
{
	static const enum famfs_access ops[2] = {FAMFS_ACCESS_COPY, FAMFS_ACCESS_FLUSH};

	(void)state;
	for (int k = 0; k < 2; k++) {
		char name[32];
		char *a;
		const char *b, *c;
		struct famfs_checker chk = {0};
		struct famfs_superblock p, s;
		struct famfs_fsck_stats st;
		struct famfs_image *im;
		struct famfs_found f;
		struct famfs_fs *fs;
		uint32_t idx = 7;

		snprintf(name, sizeof(name), "mf%d-0.img", k);
		a = strdup(scratch_image(name, 64 * MiB, 8 * MiB));
		snprintf(name, sizeof(name), "mf%d-1.img", k);
		b = blank(name, 32 * MiB);
		snprintf(name, sizeof(name), "mf%d-2.img", k);
		c = blank(name, 32 * MiB);
		assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL),
				 0);
		assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 0);
		fault_at = (uint8_t *)im->fs->hdr - FAMFS_LOG_OFFSET +
			   offsetof(struct famfs_superblock, sb_flags);
		fault_op = ops[k];
		faults = 0;
		famfs_dev_set_guard(fault_guard);
		assert_int_equal(famfs_image_devadd(im, b, FAMFS_DEVADD_SMALL, &idx), -EIO);
		famfs_dev_set_guard(NULL);
		assert_int_equal(faults, 1);
		assert_int_equal(idx, 1); /* added */
		assert_int_equal(im->ap.devs.ndevs, 2);
		famfs_image_close(im);

		/* consistent: the log lists it, fsck is clean, it resolves */
		p = read_sb(a);
		s = read_sb(b);
		if (k == 0)
			assert_int_equal(p.sb_flags, 0); /* never stored */
		assert_int_equal(famfs_sb_check_primary(&p, 64 * MiB, NULL), 0);
		assert_int_equal(famfs_sb_check_secondary(&s, 32 * MiB, NULL), 0);
		assert_int_equal(famfs_fs_open(a, 0, &fs, NULL), 0);
		assert_int_equal(famfs_fsck(fs->sb, fs->hdr, fs->sb->log_len, fs->dev->size, &chk,
					    NULL, NULL, &st),
				 0);
		famfs_fs_close(fs);
		assert_int_equal(chk.count, 0);
		assert_int_equal(st.ndevs, 2);
		assert_int_equal(famfs_resolve(p.fs_uuid, s.device_uuid, NULL, 0, &f), 0);
		assert_string_equal(f.path[0], b);

		/* the same device again: already one; another: added, and the flag set */
		assert_int_equal(famfs_image_open(a, FAMFS_FS_WRITE | FAMFS_FS_NODATA, &im, NULL),
				 0);
		assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 1);
		assert_int_equal(im->ap.devs.ndevs, 2);
		assert_int_equal(famfs_image_devadd(im, b, FAMFS_DEVADD_SMALL, &idx), -EEXIST);
		assert_int_equal(idx, FAMFS_DEVADD_NONE);
		assert_int_equal(famfs_image_devadd(im, c, FAMFS_DEVADD_SMALL, &idx), 0);
		assert_int_equal(idx, 2);
		famfs_image_close(im);
		p = read_sb(a);
		assert_int_equal(p.sb_flags, FAMFS_SB_PRIMARY);
		free(a);
	}
}

/*
 * Attaching: a device the log adds is found by uuid wherever it is; a
 * missing one stops the replay at its entry, changing nothing, and the
 * replay goes on once the device is back.
 */
static void test_attach(void **state)
{
	const char *paths[2] = {blank("a0.img", 64 * MiB), blank("a1.img", 32 * MiB)};
	char moved[PATH_MAX + 64];
	struct famfs_checker c = {0};
	struct famfs_image *im;
	struct famfs_node *n;

	(void)state;
	mkfs_devices(paths, 2, FAMFS_ALLOC_UNIT_4K);
	snprintf(moved, sizeof(moved), "%s/elsewhere.img", scratch_dir);
	assert_int_equal(rename(paths[1], moved), 0);
	assert_int_equal(famfs_image_open(paths[0], FAMFS_FS_WRITE | FAMFS_FS_DEVICES, &im, &c), 0);
	famfs_image_catch_up(im, NULL, NULL);
	assert_int_equal(im->replay.bad_index, 0);
	assert_int_equal(im->replay.bad.code, FAMFS_P_DEV_MISSING);
	assert_int_equal(im->ap.devs.ndevs, 1);
	assert_int_equal(famfs_image_devmask(im), 1);
	/* back, under another name that this host learns */
	assert_true(famfs_refresh((const char *const[]){moved}, 1, NULL, NULL) >= 2);
	assert_int_equal(famfs_image_catch_up(im, NULL, NULL), 1);
	assert_int_equal(im->replay.bad_index, -1);
	assert_int_equal(famfs_image_devmask(im), 3);
	assert_non_null(famfs_image_dev(im, 1));
	assert_string_equal(famfs_image_dev(im, 1)->path, moved);
	/* 4 KiB units: a small file packs on the device with the most room */
	assert_int_equal(
	    famfs_image_mkfile(im, famfs_ns_root(im->ns), "small", 5000, 0644, 0, 0, NULL, &n), 0);
	assert_int_equal(node_devices(n->file), 1U << 0); /* 54 vs 30 MiB free */
	famfs_image_close(im);
}

static const char *row_path;

/* The cache row of row_path into *arg. */
static void row_of(const struct famfs_cache_row *r, void *arg)
{
	if (!strcmp(r->path, row_path))
		*(struct famfs_cache_row *)arg = *r;
}

/*
 * Resolution: cache answers are re-read before they are trusted (a device
 * reformatted under it is dropped), two devices with one uuid are refused,
 * and the in-use lock is seen.
 */
static void test_resolve(void **state)
{
	const char *paths[2] = {blank("r0.img", 64 * MiB), blank("r1.img", 64 * MiB)};
	char copy[PATH_MAX + 64], cmd[3 * PATH_MAX];
	struct famfs_superblock p, s;
	struct famfs_cache_row row = {0};
	struct famfs_found f;
	struct famfs_dev *dev;
	uint8_t me[16];

	(void)state;
	row_path = paths[1];
	mkfs_devices(paths, 2, FAMFS_ALLOC_UNIT);
	p = read_sb(paths[0]);
	s = read_sb(paths[1]);
	assert_int_equal(famfs_resolve(p.fs_uuid, s.device_uuid, NULL, 0, &f), 0);
	assert_string_equal(f.path[0], paths[1]);
	assert_int_equal(famfs_find_primary(&s, NULL, 0, copy, sizeof(copy), NULL), 0);
	assert_string_equal(copy, paths[0]);

	/* a copy of the device: two carry the uuid */
	snprintf(copy, sizeof(copy), "%s/r1-copy.img", scratch_dir);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", paths[1], copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(
	    famfs_resolve(p.fs_uuid, s.device_uuid, (const char *const[]){copy}, 1, &f), -ENOTUNIQ);
	assert_int_equal(f.n, 2);
	unlink(copy);
	famfs_cache_forget(copy);

	/* held: the in-use lock of an opener */
	assert_false(famfs_path_held(paths[1]));
	assert_int_equal(famfs_dev_open(paths[1], 0, &dev), 0);
	assert_int_equal(famfs_dev_hold(dev), 0);
	assert_true(famfs_path_held(paths[1]));
	famfs_dev_close(dev);
	assert_false(famfs_path_held(paths[1]));

	/* reformatted behind the cache's back: the stale answer is dropped */
	assert_int_equal(famfs_dev_open(paths[1], FAMFS_DEV_WRITE, &dev), 0);
	assert_int_equal(famfs_identity(me), 0);
	assert_int_equal(famfs_mkfs(dev, 8 * MiB, me), 0);
	famfs_dev_close(dev);
	assert_int_equal(famfs_resolve(p.fs_uuid, s.device_uuid, NULL, 0, &f), -ENOENT);
	assert_true(famfs_cache_list(row_of, &row) >= 1);
	assert_false(row.secondary); /* r1's row now says what it holds: a primary */
	assert_memory_not_equal(row.fs_uuid, p.fs_uuid, 16);
	assert_int_equal(famfs_resolve(p.fs_uuid, p.device_uuid, NULL, 0, &f), 0);

	/* a scan does not read a cached device a famfs opener holds: its row stays as it was */
	assert_int_equal(famfs_dev_open(paths[1], 0, &dev), 0);
	assert_int_equal(famfs_dev_hold(dev), 0);
	assert_int_equal(file_io(paths[1], &p, sizeof(p), 0, 1), 0); /* now carries r0's uuids */
	assert_true(famfs_refresh(NULL, 0, NULL, NULL) >= 1);
	assert_true(famfs_cache_list(row_of, &row) >= 2);
	assert_memory_not_equal(row.fs_uuid, p.fs_uuid, 16);
	famfs_dev_close(dev);
	assert_true(famfs_refresh(NULL, 0, NULL, NULL) >= 2);
	assert_true(famfs_cache_list(row_of, &row) >= 2);
	assert_memory_equal(row.fs_uuid, p.fs_uuid, 16); /* read now */
	assert_int_equal(famfs_resolve(p.fs_uuid, p.device_uuid, NULL, 0, &f), -ENOTUNIQ);
}

struct named_rows {
	const char *const *paths;
	uint32_t n;
	unsigned int seen[8]; /* rows per path */
};

static void count_named(const struct famfs_cache_row *r, void *arg)
{
	struct named_rows *nr = arg;

	for (uint32_t i = 0; i < nr->n; i++)
		if (!strcmp(r->path, nr->paths[i]))
			nr->seen[i]++;
}

/* Every row of the cache file: exactly six blank-separated fields, nothing after. */
static unsigned int cache_rows_well_formed(void)
{
	FILE *f = fopen(cache, "r");
	char line[2 * PATH_MAX], f6[PATH_MAX], extra[8];
	unsigned int rows = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_non_null(strchr(line, '\n')); /* whole lines only */
		if (line[0] == '#' || !strncmp(line, "famfs-device-cache ", 19))
			continue;
		assert_int_equal(sscanf(line, "%*s %*s %*s %*s %*s %4095s %7s", f6, extra), 1);
		assert_true(f6[0] == '/');
		assert_int_not_equal(line[strlen(line) - 2], ' ');
		rows++;
	}
	fclose(f);
	return rows;
}

/*
 * Image files may have any name: the cache keeps each one as one field of
 * one row (a newline, blanks, a tab, a trailing blank, a backslash that
 * looks like an escape), so resolution finds each by uuid under its exact
 * name, and a refresh keeps them. A cache of version 1 (paths verbatim,
 * the rest of the line) is still read.
 */
static void test_cache_names(void **state)
{
	static const char *const names[4] = {"new\nline.img", "two blanks.img  ",
					     "tab\tand\\040.img", "\\"};
	const char *paths[4];
	struct named_rows nr = {.paths = paths, .n = 4};
	struct famfs_superblock sb[4];
	struct famfs_found f;
	char primary[PATH_MAX];
	FILE *v1;

	(void)state;
	for (int i = 0; i < 4; i++)
		paths[i] = strdup(blank(names[i], 32 * MiB));
	unlink(cache);
	mkfs_devices(paths, 2, FAMFS_ALLOC_UNIT);
	mkfs_devices(paths + 2, 2, FAMFS_ALLOC_UNIT);
	for (int i = 0; i < 4; i++)
		sb[i] = read_sb(paths[i]);
	assert_int_equal(cache_rows_well_formed(), 4);
	assert_int_equal(famfs_cache_list(count_named, &nr), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nr.seen[i], 1);
	/* each found by its uuids, through the cache (no hints, no scan finds a file) */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(famfs_resolve(sb[i].fs_uuid, sb[i].device_uuid, NULL, 0, &f), 0);
		assert_string_equal(f.path[0], paths[i]);
	}
	assert_int_equal(famfs_find_primary(&sb[1], NULL, 0, primary, sizeof(primary), NULL), 0);
	assert_string_equal(primary, paths[0]);
	assert_int_equal(famfs_find_primary(&sb[3], NULL, 0, primary, sizeof(primary), NULL), 0);
	assert_string_equal(primary, paths[2]);
	/* a refresh reads them again and writes them back, each once */
	assert_int_equal(famfs_refresh(NULL, 0, NULL, NULL), 4);
	assert_int_equal(cache_rows_well_formed(), 4);
	memset(nr.seen, 0, sizeof(nr.seen));
	assert_int_equal(famfs_cache_list(count_named, &nr), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nr.seen[i], 1);
	/* forgetting one by its name drops its row alone */
	assert_int_equal(famfs_cache_forget(paths[1]), 0);
	memset(nr.seen, 0, sizeof(nr.seen));
	assert_int_equal(famfs_cache_list(count_named, &nr), 3);
	assert_int_equal(nr.seen[1], 0);

	/* version 1: the path is the rest of the line, read verbatim */
	v1 = fopen(cache, "w");
	assert_non_null(v1);
	fprintf(v1,
		"famfs-device-cache 1\n"
		"11111111-2222-3333-4444-555555555555 66666666-7777-8888-9999-000000000000 "
		"secondary 33554432 1 %s\n",
		paths[1]);
	fclose(v1);
	memset(nr.seen, 0, sizeof(nr.seen));
	assert_int_equal(famfs_cache_list(count_named, &nr), 1);
	assert_int_equal(nr.seen[1], 1);
	for (int i = 0; i < 4; i++)
		free((void *)paths[i]);
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
	e.file.se[0] = famfs_map_extent(famfs_ns_walk(im->ns, "f0")->file, 0);
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
	    cmocka_unit_test(test_mkfs_and_placement),
	    cmocka_unit_test(test_alloc_fallback),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_unserved),
	    cmocka_unit_test(test_devadd),
	    cmocka_unit_test(test_devadd_mark_fails),
	    cmocka_unit_test(test_attach),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_cache_names),
	};

	return cmocka_run_group_tests(tests, setup, scratch_teardown);
}
