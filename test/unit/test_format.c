// SPDX-License-Identifier: Apache-2.0
/*
 * Format: struct layout and the three CRCs, checked against bytes built by
 * test/vectors/make_vectors.py from the format reference with Python's
 * struct and zlib.crc32 (independent of our structs and our crc code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crc.h"
#include "entry.h"
#include "format.h"
#include "super.h"

static void load(const char *name, void *buf, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "test/vectors/%s.bin", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
}

/* Expected crc and covered length for @name from crcs.txt. */
static uint64_t expected_crc(const char *name, unsigned int *span)
{
	char n[64];
	unsigned long long crc;
	FILE *f = fopen("test/vectors/crcs.txt", "r");

	assert_non_null(f);
	while (fscanf(f, "%63s %llx %u", n, &crc, span) == 3) {
		if (!strcmp(n, name)) {
			fclose(f);
			return crc;
		}
	}
	fclose(f);
	fail_msg("no vector %s", name);
	return 0;
}

static void test_superblock_vector(void **state)
{
	struct famfs_superblock sb;
	unsigned int span;
	uint64_t want = expected_crc("sb", &span);

	(void)state;
	load("sb", &sb, sizeof(sb));
	assert_int_equal(span, FAMFS_SB_CRC_LEN);
	/* Fields land where the reference puts them. */
	assert_int_equal(sb.magic, FAMFS_SUPER_MAGIC);
	assert_int_equal(sb.version, 48);
	assert_int_equal(sb.log_len, 0x800000);
	assert_int_equal(sb.omf_ver_minor, 2);
	assert_int_equal(sb.system_uuid[0], 0x30);
	assert_int_equal(sb.daxdev.size, 4ULL << 30);
	assert_string_equal(sb.daxdev.name, "/tmp/famfs.img");
	assert_int_equal(sb.crc, want);
	assert_int_equal(famfs_sb_crc(&sb), want);
	assert_int_equal(famfs_sb_check(&sb, 4ULL << 30, NULL), 0);
	/* sb_flags and the daxdev block are not covered by the crc. */
	sb.sb_flags = 1;
	sb.daxdev.name[0] = 'x';
	assert_int_equal(famfs_sb_crc(&sb), want);
	sb.log_len ^= 1;
	assert_int_not_equal(famfs_sb_crc(&sb), want);
}

static void test_log_header_vector(void **state)
{
	struct famfs_superblock sb;
	struct famfs_log_header h;
	unsigned int span;
	uint64_t want = expected_crc("loghdr", &span);

	(void)state;
	load("sb", &sb, sizeof(sb));
	load("loghdr", &h, sizeof(h));
	assert_int_equal(span, FAMFS_LOGHDR_CRC_LEN);
	assert_int_equal(h.last_index, 15419);
	assert_int_equal(famfs_log_nslots(sb.log_len), 15420); /* (8 MiB - 48) / 544 */
	assert_int_equal(h.next_index, 3);
	assert_int_equal(famfs_log_header_crc(&h), want);
	assert_int_equal(famfs_log_header_check(&h, &sb, NULL), 0);
	/* next_* are not covered. */
	h.next_index = h.next_seqnum = 9;
	assert_int_equal(famfs_log_header_crc(&h), want);
}

/*
 * Counters one apart are what a power loss during an append leaves (8-byte
 * atomicity of a 16-byte store): accepted when the entry at the lower one is
 * intact (LOG_TORN), refused otherwise and when further apart.
 */
static void test_log_header_torn(void **state)
{
	struct famfs_checker c = {0};
	struct famfs_superblock sb;
	struct famfs_log_header h;
	struct famfs_log_entry e;

	(void)state;
	load("sb", &sb, sizeof(sb));
	load("loghdr", &h, sizeof(h));
	load("entry_mkdir", &e, sizeof(e)); /* an intact entry of slot e.seqnum */
	h.next_index = e.seqnum;
	h.next_seqnum = e.seqnum + 1;
	assert_int_equal(famfs_log_header_check(&h, &sb, NULL), 0);
	assert_int_equal(famfs_log_torn_slot(&h, 15420), (int64_t)e.seqnum);
	assert_int_equal(famfs_log_torn_check(&h, (int64_t)e.seqnum, &e, &c), 0);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.first.code, FAMFS_P_LOG_TORN);
	h.next_index = e.seqnum + 1; /* the other half */
	h.next_seqnum = e.seqnum;
	assert_int_equal(famfs_log_torn_slot(&h, 15420), (int64_t)e.seqnum);
	assert_int_equal(famfs_log_torn_check(&h, (int64_t)e.seqnum, &e, NULL), 0);
	/* No intact entry there: not a torn publication. */
	c.count = 0;
	e.crc ^= 1;
	assert_int_equal(famfs_log_torn_check(&h, (int64_t)e.seqnum, &e, &c), -EUCLEAN);
	assert_int_equal(c.first.code, FAMFS_P_LOG_NEXT_SEQNUM);
	assert_int_equal(famfs_log_torn_check(&h, (int64_t)e.seqnum, NULL, NULL), -EUCLEAN);
	/* Two apart, or past the log: refused by the header check itself. */
	c.count = 0;
	h.next_seqnum = e.seqnum + 3;
	assert_int_equal(famfs_log_torn_slot(&h, 15420), -1);
	assert_int_equal(famfs_log_header_check(&h, &sb, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_LOG_NEXT_SEQNUM);
	h.next_index = 15420;
	h.next_seqnum = 15421;
	assert_int_equal(famfs_log_torn_slot(&h, 15420), -1);
}

static void check_entry_vector(const char *name, uint32_t type)
{
	struct famfs_superblock sb;
	struct famfs_log_entry e;
	struct famfs_geom g;
	unsigned int span;
	uint64_t want = expected_crc(name, &span);

	load("sb", &sb, sizeof(sb));
	load(name, &e, sizeof(e));
	famfs_geom_from_sb(&g, &sb);
	assert_int_equal(span, FAMFS_ENTRY_CRC_LEN);
	assert_int_equal(e.type, type);
	assert_int_equal(e.crc, want);
	assert_int_equal(famfs_log_entry_crc(&e), want);
	assert_int_equal(famfs_entry_check(&g, &e, e.seqnum, NULL), 0);
	/* Every byte before the crc is covered, padding included. */
	e.pad = 1;
	assert_int_not_equal(famfs_log_entry_crc(&e), want);
}

static void test_entry_vectors(void **state)
{
	struct famfs_log_entry e;

	(void)state;
	check_entry_vector("entry_mkdir", FAMFS_LOG_MKDIR);
	check_entry_vector("entry_file", FAMFS_LOG_FILE);
	check_entry_vector("entry_stripe", FAMFS_LOG_FILE);
	load("entry_file", &e, sizeof(e));
	assert_string_equal(e.file.relpath, "dir1/file0");
	assert_int_equal(e.file.size, 3145728);
	assert_int_equal(e.file.mode, 0644);
	assert_int_equal(e.file.se[0].offset, 0xa00000);
	assert_int_equal(e.file.se[0].len, 0x400000);
	load("entry_stripe", &e, sizeof(e));
	assert_int_equal(e.file.ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(e.file.ie[0].nstrips, 4);
	assert_int_equal(e.file.ie[0].chunk_size, 0x200000);
	assert_int_equal(e.file.ie[0].strips[3].offset, 0x10000000);
	assert_int_equal(famfs_file_body_capacity(&e.file), 4 * 0x800000);
}

/* Superblock checks report the field that is wrong. */
static void test_superblock_problems(void **state)
{
	struct famfs_superblock sb, good;
	struct famfs_checker c = {0};
	uint8_t me[16] = {1};

	(void)state;
	famfs_sb_format(&good, 4ULL << 30, FAMFS_LOG_LEN_DEFAULT, FAMFS_ALLOC_UNIT, me, "/dev/x");
	assert_int_equal(famfs_sb_check(&good, 4ULL << 30, NULL), 0);
	assert_true(famfs_sb_is_master(&good, me));

	sb = good;
	sb.magic = 0;
	assert_int_equal(famfs_sb_check(&sb, 0, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_MAGIC);

	sb = good;
	sb.version = 46;
	sb.crc = famfs_sb_crc(&sb);
	c.count = 0;
	assert_int_equal(famfs_sb_check(&sb, 0, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_VERSION);

	sb = good; /* version 47 with OMF 2.1 is accepted */
	sb.version = 47;
	sb.omf_ver_minor = 1;
	sb.crc = famfs_sb_crc(&sb);
	assert_int_equal(famfs_sb_check(&sb, 0, NULL), 0);
	sb.omf_ver_minor = 2;
	sb.crc = famfs_sb_crc(&sb);
	c.count = 0;
	assert_int_equal(famfs_sb_check(&sb, 0, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_OMF);

	sb = good;
	sb.log_len = 0x600000; /* not a power of two */
	sb.crc = famfs_sb_crc(&sb);
	c.count = 0;
	assert_int_equal(famfs_sb_check(&sb, 0, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_LOG_LEN);

	sb = good;
	sb.fs_uuid[3] ^= 0x40;
	c.count = 0;
	assert_int_equal(famfs_sb_check(&sb, 0, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_CRC);

	c.count = 0; /* a superblock claiming more than the device holds */
	assert_int_equal(famfs_sb_check(&good, 1ULL << 30, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_SB_DEVSIZE);
}

static struct famfs_geom geom(void)
{
	struct famfs_geom g = {
	    .devsize = 4ULL << 30,
	    .meta_end = FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_DEFAULT,
	    .alloc_unit = FAMFS_ALLOC_UNIT,
	    .version = 48,
	    .nslots = 15420,
	};
	return g;
}

static enum famfs_pcode entry_problem(struct famfs_log_entry *e)
{
	struct famfs_checker c = {0};
	struct famfs_geom g = geom();

	e->seqnum = 7;
	e->crc = famfs_log_entry_crc(e);
	if (!famfs_entry_check(&g, e, 7, &c))
		return FAMFS_P_COUNT;
	return c.first.code;
}

static void good_file(struct famfs_log_entry *e)
{
	assert_int_equal(famfs_entry_init_file(e, "a/b", 5000000, 0644, 1, 2), 0);
	e->file.nextents = 1;
	e->file.se[0] = (struct famfs_simple_extent){0, 0x1000000, 0x600000};
}

static void test_entry_problems(void **state)
{
	struct famfs_log_entry e;
	struct famfs_checker c = {0};
	struct famfs_geom g = geom();

	(void)state;
	good_file(&e);
	assert_int_equal(entry_problem(&e), FAMFS_P_COUNT);

	good_file(&e);
	e.file.se[0].offset = 0x1100000; /* not 2 MiB aligned */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_ALIGN);

	good_file(&e);
	e.file.se[0].offset = 0x400000; /* inside the log */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_META);

	good_file(&e);
	e.file.se[0].offset = 0; /* offset 0 is never valid */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_META);

	good_file(&e);
	e.file.se[0].offset = (4ULL << 30) - 0x200000; /* runs off the end */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_RANGE);

	good_file(&e);
	e.file.size = 0x600001; /* larger than its extents */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_SIZE);

	good_file(&e);
	e.file.nextents = 17;
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_NEXTENTS);

	good_file(&e);
	e.file.se[0].devindex = 1;
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_DEVINDEX);

	good_file(&e);
	e.file.ext_type = 7;
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_EXT_TYPE);

	good_file(&e);
	strcpy(e.file.relpath, "a/../b");
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_PATH);

	good_file(&e);
	memset(e.file.relpath, 'x', sizeof(e.file.relpath)); /* no NUL */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_PATH);

	good_file(&e);
	e.type = 5; /* beyond the types the format defines */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_TYPE);
	e.type = FAMFS_LOG_INVALID; /* defined, carries nothing: well-formed (apply.h) */
	assert_int_equal(entry_problem(&e), FAMFS_P_COUNT);
	e.type = FAMFS_LOG_DELETE;
	assert_int_equal(entry_problem(&e), FAMFS_P_COUNT);

	good_file(&e);
	e.file.ext_type = FAMFS_EXT_INTERLEAVE;
	e.file.ie[0].nstrips = 2;
	e.file.ie[0].chunk_size = 0x300000; /* not a power of two */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_STRIPE);

	/* Strips hold whole chunks, and chunks fit the fmap wire field (u32). */
	good_file(&e);
	e.file.ext_type = FAMFS_EXT_INTERLEAVE;
	e.file.size = 4 << 20;
	e.file.ie[0].nstrips = 2;
	e.file.ie[0].chunk_size = 0x200000;
	e.file.ie[0].strips[0] = (struct famfs_simple_extent){0, 0x1000000, 0x400000};
	e.file.ie[0].strips[1] = (struct famfs_simple_extent){0, 0x2000000, 0x400000};
	assert_int_equal(entry_problem(&e), FAMFS_P_COUNT);
	e.file.ie[0].chunk_size = 0x400000;
	e.file.ie[0].strips[1].len = 0x600000; /* 1.5 chunks */
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_STRIPE);
	e.file.ie[0].chunk_size = 1ULL << 32; /* does not fit a u32 */
	e.file.ie[0].strips[0].len = e.file.ie[0].strips[1].len = 1ULL << 32;
	assert_int_equal(entry_problem(&e), FAMFS_P_ENT_STRIPE);

	/* crc and seqnum: integrity */
	good_file(&e);
	e.seqnum = 7;
	e.crc = famfs_log_entry_crc(&e);
	e.file.size++;
	assert_int_equal(famfs_entry_check(&g, &e, 7, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_ENT_CRC);
	assert_int_equal(c.first.index, 7);
	good_file(&e);
	e.seqnum = 8;
	e.crc = famfs_log_entry_crc(&e);
	c.count = 0;
	assert_int_equal(famfs_entry_intact(&e, 7, &c), 1);
	assert_int_equal(c.first.code, FAMFS_P_ENT_SEQNUM);

	/* In version 47, type 3 meant INVALID: its ADD_DAXDEV rules do not apply. */
	memset(&e, 0, sizeof(e));
	e.type = 3;
	e.seqnum = 0;
	e.crc = famfs_log_entry_crc(&e);
	assert_int_equal(famfs_entry_type(&g, &e), FAMFS_LOG_ADD_DAXDEV);
	assert_int_equal(famfs_entry_check(&g, &e, 0, NULL), 3); /* index 0, no uuid, size 0 */
	g.version = 47;
	assert_int_equal(famfs_entry_type(&g, &e), FAMFS_LOG_INVALID);
	assert_int_equal(famfs_entry_check(&g, &e, 0, NULL), 0);
}

static void test_builders_refuse_bad_paths(void **state)
{
	struct famfs_log_entry e;
	char longp[100];

	(void)state;
	memset(longp, 'a', 80);
	longp[80] = '\0';
	assert_int_equal(famfs_entry_init_file(&e, longp, 1, 0644, 0, 0), -ENAMETOOLONG);
	longp[79] = '\0';
	assert_int_equal(famfs_entry_init_file(&e, longp, 1, 0644, 0, 0), 0);
	assert_int_equal(strlen(e.file.relpath), 79);
	assert_int_equal(famfs_entry_init_mkdir(&e, "/abs", 0755, 0, 0), -EINVAL);
	assert_int_equal(famfs_entry_init_mkdir(&e, "a//b", 0755, 0, 0), -EINVAL);
	assert_int_equal(famfs_entry_init_mkdir(&e, "a/b", 0120755, 0, 0), 0);
	assert_int_equal(e.mkdir.mode, 0755); /* permission bits only */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_superblock_vector),
	    cmocka_unit_test(test_log_header_vector),
	    cmocka_unit_test(test_log_header_torn),
	    cmocka_unit_test(test_entry_vectors),
	    cmocka_unit_test(test_superblock_problems),
	    cmocka_unit_test(test_entry_problems),
	    cmocka_unit_test(test_builders_refuse_bad_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
