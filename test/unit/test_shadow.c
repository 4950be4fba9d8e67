// SPDX-License-Identifier: Apache-2.0
/* Shadow YAML: emit and parse back (round trip), and refuse what is malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadow.h"

static struct famfs_file_body simple(void)
{
	struct famfs_file_body f;

	memset(&f, 0, sizeof(f));
	strcpy(f.relpath, "dir1/file0");
	f.size = 3145728;
	f.flags = 2;
	f.mode = 0644;
	f.uid = 1000;
	f.gid = 1001;
	f.ext_type = 0;
	f.nextents = 2;
	f.se[0] = (struct famfs_simple_extent){0, 0xa00000, 0x200000};
	f.se[1] = (struct famfs_simple_extent){0, 0x1000000, 0x200000};
	return f;
}

static struct famfs_file_body striped(void)
{
	struct famfs_file_body f;

	memset(&f, 0, sizeof(f));
	strcpy(f.relpath, "s");
	f.size = 33554432;
	f.flags = 2;
	f.mode = 0600;
	f.ext_type = 1;
	f.nextents = 1;
	f.ie[0].nstrips = 3;
	f.ie[0].chunk_size = 0x200000;
	for (int i = 0; i < 3; i++)
		f.ie[0].strips[i] =
		    (struct famfs_simple_extent){0, 0x4000000ULL * (i + 1), 0x1000000};
	return f;
}

/* A 4 KiB-unit file system (issue 13): a packed small file, a large file's 4 KiB tail. */
static struct famfs_file_body small_4k(void)
{
	struct famfs_file_body f = simple();

	memset(f.relpath, 0, sizeof(f.relpath));
	strcpy(f.relpath, "packed");
	f.size = 2097152 + 5000;
	f.se[0] = (struct famfs_simple_extent){0, 0xc00000, 0x200000};
	f.se[1] = (struct famfs_simple_extent){0, 0xa03000, 0x2000};
	return f;
}

/* The YAML in @buf (@len bytes) reads back as exactly the @n files @in, byte for byte. */
static void expect_read_back(char *buf, size_t len, const struct famfs_file_body *in, int n)
{
	struct famfs_file_body out;
	struct famfs_yaml_reader *r;
	char err[256];
	FILE *f = fmemopen(buf, len, "r");

	r = famfs_yaml_reader_new(f);
	for (int i = 0; i < n; i++) {
		assert_int_equal(famfs_yaml_read_file(r, &out, err, sizeof(err)), 1);
		assert_memory_equal(&out, &in[i], sizeof(out));
	}
	assert_int_equal(famfs_yaml_read_file(r, &out, err, sizeof(err)), 0);
	famfs_yaml_reader_free(r);
	fclose(f);
}

static void test_round_trip(void **state)
{
	struct famfs_file_body in[3] = {simple(), striped(), small_4k()};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(famfs_yaml_emit_file(f, &in[0]), 0);
	assert_int_equal(famfs_yaml_emit_file(f, &in[1]), 0);
	assert_int_equal(famfs_yaml_emit_file(f, &in[2]), 0);
	fclose(f);
	assert_non_null(strstr(buf, "offset: 0xa03000"));
	assert_non_null(strstr(buf, "length: 0x2000"));
	/* The shape the existing tools read. */
	assert_non_null(strstr(buf, "path: dir1/file0"));
	assert_non_null(strstr(buf, "mode: 0644"));
	assert_non_null(strstr(buf, "offset: 0xa00000"));
	assert_non_null(strstr(buf, "striped_ext_list"));

	expect_read_back(buf, len, in, 3);
	free(buf);
}

static int parse(const char *text, struct famfs_file_body *out, char *err, size_t errsz)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct famfs_yaml_reader *r = famfs_yaml_reader_new(f);
	int rc = famfs_yaml_read_file(r, out, err, errsz);

	famfs_yaml_reader_free(r);
	fclose(f);
	return rc;
}

static void test_reference_document(void **state)
{
	/* The example from the format reference, keys in another order. */
	const char *doc = "---\nfile:\n  size: 3145728\n  path: dir1/file0\n  flags: 2\n"
			  "  mode: 0644\n  uid: 1000\n  gid: 1000\n  nextents: 1\n"
			  "  simple_ext_list:\n  - devindex: 0\n    offset: 0xa00000\n"
			  "    length: 0x400000\n...\n";
	struct famfs_file_body f;
	char err[256];

	(void)state;
	assert_int_equal(parse(doc, &f, err, sizeof(err)), 1);
	assert_string_equal(f.relpath, "dir1/file0");
	assert_int_equal(f.mode, 0644);
	assert_int_equal(f.se[0].len, 0x400000);
	assert_int_equal(f.nextents, 1);
}

static void test_refusals(void **state)
{
	struct famfs_file_body f;
	char err[256];

	(void)state;
	assert_int_equal(parse("file:\n  path: a\n  size: 1\n  color: red\n"
			       "  simple_ext_list: []\n",
			       &f, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "color"));
	assert_int_equal(parse("file:\n  path: a\n  simple_ext_list: []\n", &f, err, sizeof(err)),
			 -EINVAL); /* no size */
	assert_int_equal(
	    parse("file:\n  path: ../a\n  size: 1\n  simple_ext_list: []\n", &f, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(
	    parse("file:\n  path: a\n  size: -1\n  simple_ext_list: []\n", &f, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(parse("file:\n  path: a\n  size: 1\n  nextents: 2\n  simple_ext_list:\n"
			       "  - {devindex: 0, offset: 0xa00000, length: 0x200000}\n",
			       &f, err, sizeof(err)),
			 -EINVAL); /* nextents disagrees */
	assert_int_equal(parse("file:\n  path: a\n  size: 1\n  simple_ext_list:\n"
			       "  - {devindex: 0, offset: 0xa00000}\n",
			       &f, err, sizeof(err)),
			 -EINVAL);					     /* no length */
	assert_int_equal(parse("file: [\n", &f, err, sizeof(err)), -EINVAL); /* syntax */
	assert_int_equal(parse("dir:\n  path: a\n", &f, err, sizeof(err)), -EINVAL);
}

/*
 * Names are bytes; YAML is UTF-8. A path libyaml cannot carry is refused with
 * -EILSEQ and nothing is written (it used to be emitted from an event libyaml
 * had refused to build: a double free, or a spin); the documents around it
 * read back exactly, UTF-8 names included.
 */
static void test_non_utf8_refused(void **state)
{
	static const char *const bad[] = {
	    "\xff\xfe",		   /* not UTF-8 at all */
	    "dir/\xc3",		   /* cut short */
	    "\xc0\xaf",		   /* overlong '/' */
	    "\xed\xa0\x80",	   /* a UTF-16 surrogate */
	    "ok/\xf4\x90\x80\x80", /* beyond U+10FFFF */
	};
	struct famfs_file_body in[3] = {simple(), striped(), simple()}, out, b;
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	strcpy(in[1].relpath,
	       "r\xc3\xa9pertoire/\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab"); /* UTF-8 */
	assert_int_equal(famfs_yaml_emit_file(f, &in[0]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long before;

		fflush(f);
		before = (long)len;
		b = simple();
		strcpy(b.relpath, bad[i]);
		assert_int_equal(famfs_yaml_emit_file(f, &b), -EILSEQ);
		fflush(f);
		assert_int_equal((long)len, before); /* nothing written */
	}
	assert_int_equal(famfs_yaml_emit_file(f, &in[1]), 0);
	/* Control characters and noncharacters are UTF-8: escaped, and read back. */
	strcpy(in[2].relpath, "c\x01\x1b[0m\x7f\xc2\x80\xef\xbf\xbe \"q\"");
	assert_int_equal(famfs_yaml_emit_file(f, &in[2]), 0);
	fclose(f);

	expect_read_back(buf, len, in, 3);
	free(buf);

	/* Our reader refuses a document that is not UTF-8 instead of guessing. */
	assert_int_equal(parse("file:\n  path: \xff\xfe\n  size: 1\n  simple_ext_list: []\n", &out,
			       err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_reference_document),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_non_utf8_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
