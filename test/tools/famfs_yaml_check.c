// SPDX-License-Identifier: Apache-2.0
/*
 * famfs_yaml_check: read shadow YAML documents from stdin with our own reader
 * (famfs_yaml_read_file) and print how many files they describe, one path
 * per line with -v. Exit 0 if every document parsed, 1 at the first that
 * did not (with the reader's message). Tests pipe `famfs logplay --yaml`
 * into it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "shadow.h"

int main(int argc, char **argv)
{
	bool verbose = argc > 1 && !strcmp(argv[1], "-v");
	struct famfs_yaml_reader *r = famfs_yaml_reader_new(stdin);
	struct famfs_file_body f;
	char err[256];
	unsigned long n = 0;
	int rc;

	if (!r) {
		fprintf(stderr, "famfs_yaml_check: out of memory\n");
		return 1;
	}
	while ((rc = famfs_yaml_read_file(r, &f, err, sizeof(err))) == 1) {
		n++;
		if (verbose)
			printf("%s\n", famfs_esc_field(f.relpath, sizeof(f.relpath)));
	}
	famfs_yaml_reader_free(r);
	if (rc < 0) {
		fprintf(stderr, "famfs_yaml_check: document %lu: %s\n", n + 1, err);
		return 1;
	}
	printf("%lu documents\n", n);
	return 0;
}
