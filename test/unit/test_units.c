// SPDX-License-Identifier: Apache-2.0
/*
 * 4 KiB allocation units (issue 13) end to end in the library: mkfs with
 * either unit, files created through the image layer placed by the rule
 * (famfs/alloc.h), the same extents replayed by a second opener, fsck
 * clean with its placement count, the default log length, and the
 * kernel-alignment negotiation of GET_FMAP (docs/protocol.md): the server
 * sends a map only to a kernel that accepts its alignment, and what it
 * sends decodes with exactly that alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "check.h"
#include "famfs_kabi.h"
#include "filemap.h"
#include "helpers.h"
#include "image.h"
#include "super.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_default_log_len(void **state)
{
	(void)state;
	/* 2 MiB units: the existing tools' 8 MiB, whatever the size. */
	assert_int_equal(famfs_default_log_len(4 * GiB, FAMFS_ALLOC_UNIT), 8 * MiB);
	assert_int_equal(famfs_default_log_len(1ULL << 40, FAMFS_ALLOC_UNIT), 8 * MiB);
	/* 4 KiB units: one entry per 128 KiB, a power of two, 8 MiB .. 1 GiB. */
	assert_int_equal(famfs_default_log_len(64 * MiB, FAMFS_ALLOC_UNIT_4K), 8 * MiB);
	assert_int_equal(famfs_default_log_len(1 * GiB, FAMFS_ALLOC_UNIT_4K), 8 * MiB);
	assert_int_equal(famfs_default_log_len(2 * GiB, FAMFS_ALLOC_UNIT_4K), 16 * MiB);
	assert_int_equal(famfs_default_log_len(16 * GiB, FAMFS_ALLOC_UNIT_4K), 128 * MiB);
	assert_int_equal(famfs_default_log_len(1ULL << 40, FAMFS_ALLOC_UNIT_4K), 1 * GiB);
	/* Always at least what the rule asks for, up to the cap. */
	for (uint64_t size = 64 * MiB; size <= 128 * GiB; size = size * 3 / 2) {
		uint64_t len = famfs_default_log_len(size, FAMFS_ALLOC_UNIT_4K);

		assert_true(famfs_log_nslots(len) >= size / (128 * KiB) || len == 1 * GiB);
		assert_true(len == 8 * MiB || famfs_log_nslots(len / 2) < size / (128 * KiB));
	}
}

/* Files through the image layer: placed by size, replayed identically, fsck clean. */
static void test_image_4k(void **state)
{
	static const uint64_t sizes[] = {
	    0,	     1,		  4095,	       4096, 4097,     100 * KiB, 2 * MiB - 1,
	    2 * MiB, 2 * MiB + 1, 7 * MiB + 3, 33,   64 * MiB, 1 * MiB,	  3 * MiB + 4 * KiB};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	const char *img =
	    scratch_image_unit("image4k.img", 512 * MiB, 8 * MiB, FAMFS_ALLOC_UNIT_4K);
	struct famfs_file_body bodies[sizeof(sizes) / sizeof(sizes[0])];
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct famfs_image *m, *c;
	uint64_t data = 0, large = 0;
	char name[16];

	(void)state;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	assert_int_equal(m->fs->geom.alloc_unit, FAMFS_ALLOC_UNIT_4K);
	for (size_t i = 0; i < n; i++) {
		struct famfs_node *f;
		uint64_t cap = 0;

		snprintf(name, sizeof(name), "f%zu", i);
		assert_int_equal(famfs_image_mkfile(m, famfs_ns_root(m->ns), name, sizes[i], 0644,
						    0, 0, NULL, &f),
				 0);
		bodies[i] = node_body(f->file);
		for (uint32_t k = 0; k < bodies[i].nextents; k++) {
			assert_int_equal(bodies[i].se[k].offset % 4096, 0);
			cap += bodies[i].se[k].len;
		}
		/* Exactly the size rounded up to 4 KiB (one page for an empty file). */
		assert_int_equal(cap, sizes[i] ? (sizes[i] + 4095) / 4096 * 4096 : 4096);
		assert_int_equal(famfs_file_pmd_mappable(&bodies[i]),
				 sizes[i] >= 2 * MiB || bodies[i].se[0].offset % (2 * MiB) == 0);
		data += cap;
		large += sizes[i] >= 2 * MiB;
	}
	/* No 2 MiB per small file: what the files hold, and not a page more. */
	assert_int_equal(m->alloc.used * 4096, m->fs->geom.meta_end + data);

	/* Another opener (a client) replays the same extents and the same bitmap. */
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), (long)n);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		struct famfs_node *f = famfs_ns_walk(c->ns, name);

		assert_non_null(f);
		struct famfs_file_body b = node_body(f->file);

		assert_memory_equal(&b, &bodies[i], sizeof(bodies[i]));
	}
	assert_int_equal(c->alloc.used, m->alloc.used);
	assert_memory_equal(c->alloc.bits, m->alloc.bits, (m->alloc.nunits + 7) / 8);
	famfs_image_close(c);

	/* fsck: clean, the same usage, every large file 2 MiB-aligned. */
	assert_int_equal(famfs_fsck(m->fs->sb, m->fs->hdr, m->fs->sb->log_len, m->fs->dev->size,
				    &chk, NULL, NULL, &st),
			 0);
	assert_int_equal(chk.count, 0);
	assert_int_equal(st.alloc_unit, 4096);
	assert_int_equal(st.alloc_bytes, data);
	assert_int_equal(st.large_files, large);
	assert_int_equal(st.large_pmd, large);
	famfs_image_close(m);
}

/* GET_FMAP input with @shift in align_shift (@len bytes of it). */
static uint64_t kernel_align(uint8_t shift, size_t len)
{
	struct famfs_get_fmap_in in = {.size = 4096};

	in.align_shift = shift;
	return famfs_kernel_fmap_align(&in, len);
}

/* Encode @m as the server would and decode it as a kernel of @align would. */
static int kernel_decodes(const struct fmap *m, uint64_t align)
{
	uint8_t buf[4096];
	struct fmap *d = NULL;
	long n = fmap_encode(m, buf, sizeof(buf));
	int rc;

	assert_true(n > 0);
	rc = align == FMAP_ALIGN ? fmap_decode(buf, (size_t)n, &d, NULL)
				 : fmap_decode_align(buf, (size_t)n, align, &d, NULL);
	fmap_free(d);
	return rc;
}

static void test_kernel_alignment_negotiation(void **state)
{
	struct famfs_get_fmap_in in = {0};
	struct famfs_file_body small = {0}, big = {0}, exact = {0};
	struct fmap *maps[3];

	(void)state;
	/* What the server reads from GET_FMAP's input. */
	assert_int_equal(sizeof(in), 8);
	assert_int_equal(offsetof(struct famfs_get_fmap_in, align_shift), 4);
	assert_int_equal(kernel_align(0, 8), 2 * MiB);	/* padding, every older kernel */
	assert_int_equal(kernel_align(12, 8), 4 * KiB); /* famfs.ko with PTE faults */
	assert_int_equal(kernel_align(16, 8), 64 * KiB);
	assert_int_equal(kernel_align(21, 8), 2 * MiB);
	assert_int_equal(kernel_align(11, 8), 2 * MiB); /* out of range: the strict rule */
	assert_int_equal(kernel_align(22, 8), 2 * MiB);
	assert_int_equal(kernel_align(0xef, 8), 2 * MiB);
	assert_int_equal(kernel_align(12, 4), 2 * MiB);		     /* short input */
	assert_int_equal(famfs_kernel_fmap_align(NULL, 0), 2 * MiB); /* v10: no input */
	assert_int_equal(kernel_align(12, 16), 4 * KiB); /* longer input: first 8 bytes */

	/* Three files of a 4 KiB-unit file system. */
	small.ext_type = big.ext_type = exact.ext_type = FAMFS_EXT_SIMPLE;
	small.nextents = big.nextents = exact.nextents = 1;
	small.size = 5000;
	small.se[0] = (struct famfs_simple_extent){0, 10 * MiB + 8 * KiB, 8 * KiB};
	big.size = 5 * MiB + 1;
	big.se[0] = (struct famfs_simple_extent){0, 20 * MiB, 5 * MiB + 4 * KiB};
	exact.size = 4 * MiB;
	exact.se[0] = (struct famfs_simple_extent){0, 30 * MiB, 4 * MiB};
	maps[0] = famfs_file_body_fmap(&small, FAMFS_ALLOC_UNIT_4K);
	maps[1] = famfs_file_body_fmap(&big, FAMFS_ALLOC_UNIT_4K);
	maps[2] = famfs_file_body_fmap(&exact, FAMFS_ALLOC_UNIT_4K);
	for (int i = 0; i < 3; i++) {
		assert_non_null(maps[i]);
		assert_int_equal(fmap_finalize(maps[i]), 0);
	}
	/*
	 * The server's rule: send a map only if the kernel accepts its
	 * alignment, else ENODATA (the server's data path serves the file). The
	 * kernel's decoder must accept exactly what the server sends.
	 */
	static const uint64_t aligns[] = {4 * KiB, 64 * KiB, 2 * MiB};
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 3; k++) {
			bool sent = famfs_kernel_can_map(maps[i], aligns[k]);

			assert_int_equal(kernel_decodes(maps[i], aligns[k]), sent ? 0 : -EINVAL);
		}
	}
	/* A packed small file and a large file's 4 KiB tail: not for a 2 MiB kernel. */
	assert_false(famfs_kernel_can_map(maps[0], kernel_align(0, 8)));
	assert_false(famfs_kernel_can_map(maps[1], kernel_align(0, 8)));
	assert_true(famfs_kernel_can_map(maps[0], kernel_align(12, 8)));
	assert_true(famfs_kernel_can_map(maps[1], kernel_align(12, 8)));
	/* A large file of whole regions: any kernel. */
	assert_true(famfs_kernel_can_map(maps[2], kernel_align(0, 8)));
	assert_true(famfs_kernel_can_map(maps[2], famfs_kernel_fmap_align(NULL, 0)));
	for (int i = 0; i < 3; i++)
		fmap_free(maps[i]);

	/* 2 MiB-unit file systems: every map goes to every kernel, as before. */
	exact.se[0].len = 6 * MiB;
	maps[0] = famfs_file_body_fmap(&exact, FAMFS_ALLOC_UNIT);
	assert_int_equal(fmap_finalize(maps[0]), 0);
	assert_int_equal(maps[0]->align, 2 * MiB);
	assert_true(famfs_kernel_can_map(maps[0], kernel_align(0, 8)));
	fmap_free(maps[0]);
	assert_null(famfs_file_body_fmap(&exact, 512)); /* not a unit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_log_len),
	    cmocka_unit_test(test_image_4k),
	    cmocka_unit_test(test_kernel_alignment_negotiation),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
