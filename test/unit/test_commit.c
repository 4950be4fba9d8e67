// SPDX-License-Identifier: Apache-2.0
/*
 * Committing through the image layer must not fail once the entry is in
 * the log (review-server finding 8): a commit (or mkdir, or mkfile) that
 * runs out of memory fails before appending, so the server's retry logs
 * the file once, not twice (a second FILE entry with the same extents is
 * ENT_OVERLAP at every later replay: the file system would mount read-only).
 *
 * Out-of-memory is injected by this program's own malloc(), which fails the
 * N-th call after arming and otherwise forwards to glibc. A sanitizer owns
 * malloc, so this program is not part of the sanitizer builds (Makefile:
 * ASAN_UNIT_BIN); it runs in the plain `make unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>

#include "alloc.h"
#include "helpers.h"
#include "image.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#error "test_commit replaces malloc: not built under a sanitizer (Makefile: ASAN_UNIT_BIN)"
#endif
extern void *__libc_malloc(size_t size);
static int fail_in; /* fail the fail_in-th malloc from now (1 = the next); 0: never */
static int failed;

void *malloc(size_t size)
{
	if (fail_in && --fail_in == 0) {
		failed++;
		return NULL;
	}
	return __libc_malloc(size);
}

#define MiB (1ULL << 20)

/* Replay @img from scratch: no bad entry, @files files. */
static void replays_clean(const char *img, uint64_t files)
{
	struct famfs_image *c;

	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_true(famfs_image_catch_up(c, NULL, NULL) >= 0);
	assert_int_equal(c->replay.bad_index, -1);
	assert_int_equal(c->ns->nfiles, files);
	famfs_image_close(c);
}

static void test_commit_oom_logs_once(void **state)
{
	(void)state;
	const char *img = scratch_image("commit.img", 4096 * MiB, 8 * MiB);
	struct famfs_file_body f = {0};
	struct famfs_image *m;
	struct famfs_node *n;
	uint64_t used;
	int rc = -ENOMEM;

	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	/* A pending file as the server has it: a node, its extents allocated. */
	assert_int_equal(famfs_ns_add(m->ns, famfs_ns_root(m->ns), "p", S_IFREG | 0644, 0, 0, &n),
			 0);
	assert_int_equal(famfs_alloc_file(&m->alloc, 3 * MiB, NULL, &f), 0);
	f.size = 3 * MiB;
	used = famfs_log_used(m->fs);
	/* Each allocation the commit makes fails once, in turn; the server retries. */
	for (int k = 1; rc == -ENOMEM && k < 16; k++) {
		failed = 0;
		fail_in = k;
		rc = famfs_image_commit_file(m, n, &f, 1, 2);
		fail_in = 0;
		if (rc == -ENOMEM)
			assert_int_equal(failed, 1);
	}
	assert_int_equal(rc, 0);
	assert_non_null(n->file);
	/* One entry, whatever failed on the way. */
	assert_int_equal(famfs_log_used(m->fs), used + 1);
	famfs_image_close(m);
	replays_clean(img, 1);
}

static void test_mkdir_oom_leaves_no_entry(void **state)
{
	(void)state;
	const char *img = scratch_image("mkdir.img", 4096 * MiB, 8 * MiB);
	struct famfs_image *m;
	struct famfs_node *d = NULL;
	uint64_t used;
	int rc = -ENOMEM;

	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	used = famfs_log_used(m->fs);
	for (int k = 1; rc == -ENOMEM && k < 16; k++) {
		fail_in = k;
		rc = famfs_image_mkdir(m, famfs_ns_root(m->ns), "d", 0755, 0, 0, &d);
		fail_in = 0;
		/* A failed mkdir leaves neither an entry nor a node. */
		if (rc == -ENOMEM) {
			assert_int_equal(famfs_log_used(m->fs), used);
			assert_null(famfs_ns_lookup(m->ns, famfs_ns_root(m->ns), "d"));
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(famfs_log_used(m->fs), used + 1);
	assert_ptr_equal(famfs_ns_lookup(m->ns, famfs_ns_root(m->ns), "d"), d);
	famfs_image_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_oom_logs_once),
	    cmocka_unit_test(test_mkdir_oom_leaves_no_entry),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
