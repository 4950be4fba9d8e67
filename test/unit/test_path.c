// SPDX-License-Identifier: Apache-2.0
/* Path rules: what the log accepts, how user paths are normalized, how names are printed. */
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

/* The names a compat image may hold: well-formed UTF-8 only (RFC 3629). */
static void test_utf8(void **state)
{
	(void)state;
	assert_true(famfs_utf8_valid("", 0));
	assert_true(famfs_utf8_valid("plain", 5));
	assert_true(famfs_utf8_valid("\xc3\xa9t\xc3\xa9", 6)); /* été */
	assert_true(famfs_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
	assert_false(famfs_utf8_valid("a\xff", 2));	       /* never in UTF-8 */
	assert_false(famfs_utf8_valid("\xc3", 1));	       /* cut short */
	assert_false(famfs_utf8_valid("\xc0\xaf", 2));	       /* overlong '/' */
	assert_false(famfs_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(famfs_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_true(famfs_utf8_valid("ok\xff", 2));	       /* only @n bytes read */
}

/* famfs_esc(): what each kind of byte becomes. */
static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain/name.txt", "plain/name.txt"},
	    {"a\x1b[2Jb", "a\\x1b[2Jb"},			   /* ESC: no terminal sequence */
	    {"x\n     7  mkdir fake", "x\\x0a     7  mkdir fake"}, /* no fake line */
	    {"tab\there\r\x7f", "tab\\x09here\\x0d\\x7f"},
	    {"back\\slash", "back\\\\slash"}, /* doubled: "\\x41" cannot be faked */
	    {"caf\xc3\xa9/\xe6\x97\xa5", "caf\xc3\xa9/\xe6\x97\xa5"}, /* UTF-8 as is */
	    {"\xff\xfe", "\\xff\\xfe"},				      /* not UTF-8 */
	    {"\xc0\xaf", "\\xc0\\xaf"},				      /* overlong '/' */
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},		      /* a surrogate */
	    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},	      /* past U+10FFFF */
	    {"cut\xe6\x97", "cut\\xe6\\x97"},			      /* cut short */
	    {"\xc2\x9b"
	     "31m",
	     "\\xc2\\x9b"
	     "31m"},						       /* C1 CSI */
	    {"evil\xe2\x80\xaetxt.exe", "evil\\xe2\\x80\\xaetxt.exe"}, /* right-to-left override */
	    {"\xe2\x80\xa8", "\\xe2\\x80\\xa8"},		       /* line separator */
	};
	char field[4] = {'a', '\n', 'b', 'c'}; /* no NUL */
	char small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(famfs_esc(cases[i].in), cases[i].out);
	assert_string_equal(famfs_esc_field(field, 3), "a\\x0ab");
	/* Cut short at a whole escape, never in the middle of one. */
	assert_string_equal(famfs_path_escape("ab\x1b", small, 6), "ab");
	assert_string_equal(famfs_path_escape("ab\x1b", small, 7), "ab\\x1b");
	/* Four results at once stay valid. */
	const char *a = famfs_esc("1\n"), *b = famfs_esc("2\n"), *c = famfs_esc("3"),
		   *d = famfs_esc("4");
	assert_string_equal(a, "1\\x0a");
	assert_string_equal(b, "2\\x0a");
	assert_string_equal(c, "3");
	assert_string_equal(d, "4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check), cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_split), cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
