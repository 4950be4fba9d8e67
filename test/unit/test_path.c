// SPDX-License-Identifier: Apache-2.0
/* Path rules: what the log accepts, and how user paths are normalized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "format.h"
#include "path.h"

static void test_check(void **state)
{
	char p[128];

	(void)state;
	assert_int_equal(famfs_path_check("a", NULL), 0);
	assert_int_equal(famfs_path_check("a/b.c/d", NULL), 0);
	assert_int_equal(famfs_path_check(".hidden/x..y", NULL), 0);
	assert_int_equal(famfs_path_check("", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("/a", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("a/", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("a//b", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("a/./b", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("..", NULL), -EINVAL);
	assert_int_equal(famfs_path_check("a/..", NULL), -EINVAL);
	memset(p, 'x', 79);
	p[79] = '\0';
	assert_int_equal(famfs_path_check(p, NULL), 0);
	p[79] = 'x';
	p[80] = '\0';
	assert_int_equal(famfs_path_check(p, NULL), -ENAMETOOLONG);
}

static void norm(const char *in, const char *want)
{
	char out[FAMFS_PATH_MAX + 1];

	assert_int_equal(famfs_path_normalize(in, out, sizeof(out), NULL), 0);
	assert_string_equal(out, want);
}

static void test_normalize(void **state)
{
	char out[FAMFS_PATH_MAX + 1], in[200];
	const char *why = NULL;

	(void)state;
	norm("a", "a");
	norm("./a//b/", "a/b");
	norm("a/./b/.", "a/b");
	norm(".", "");
	norm("", "");
	assert_int_equal(famfs_path_normalize("/abs", out, sizeof(out), &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(famfs_path_normalize("a/../b", out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(famfs_path_normalize("..", out, sizeof(out), NULL), -EINVAL);
	/* Too long after normalization: refused, never truncated. */
	memset(in, 'y', 100);
	in[100] = '\0';
	assert_int_equal(famfs_path_normalize(in, out, sizeof(out), NULL), -ENAMETOOLONG);
	/* 79 bytes once the dots are gone is fine. */
	memcpy(in, "./", 2);
	memset(in + 2, 'z', 79);
	in[81] = '\0';
	assert_int_equal(famfs_path_normalize(in, out, sizeof(out), NULL), 0);
	assert_int_equal(strlen(out), 79);
}

static void test_split(void **state)
{
	char dir[FAMFS_PATH_MAX + 1];

	(void)state;
	assert_string_equal(famfs_path_split("a/b/c", dir), "c");
	assert_string_equal(dir, "a/b");
	assert_string_equal(famfs_path_split("top", dir), "top");
	assert_string_equal(dir, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
