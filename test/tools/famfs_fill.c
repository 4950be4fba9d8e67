// SPDX-License-Identifier: Apache-2.0
/*
 * famfs_fill: append directories and files to an unmounted famfs through the
 * library, for tests and benchmarks that need a populated log without a
 * mount. Usage:
 *   famfs_fill DEVICE DIRS FILES [SIZE [NSTRIPS CHUNK NBUCKETS]]
 * creates DIRS directories d0000.. and FILES files spread over them, each
 * SIZE bytes (default 1), striped when NSTRIPS is given. Prints the number of
 * entries appended; exits 1 on the first error, naming it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int main(int argc, char **argv)
{
	struct famfs_stripe st = {0}, *stripe = NULL;
	unsigned long ndirs, nfiles, i;
	struct famfs_node **dirs;
	struct famfs_image *im;
	uint64_t size = 1;
	char name[32];
	int rc;

	if (argc != 4 && argc != 5 && argc != 8) {
		fprintf(stderr, "usage: %s DEVICE DIRS FILES [SIZE [NSTRIPS CHUNK NBUCKETS]]\n",
			argv[0]);
		return 2;
	}
	ndirs = strtoul(argv[2], NULL, 0);
	nfiles = strtoul(argv[3], NULL, 0);
	if (argc >= 5)
		size = strtoull(argv[4], NULL, 0);
	if (argc == 8) {
		st.nstrips = (uint32_t)strtoul(argv[5], NULL, 0);
		st.chunk_size = strtoull(argv[6], NULL, 0);
		st.nbuckets = (uint32_t)strtoul(argv[7], NULL, 0);
		stripe = &st;
	}
	rc = famfs_image_open(argv[1], FAMFS_FS_WRITE, &im, NULL);
	if (rc || famfs_image_catch_up(im, NULL, NULL) < 0) {
		fprintf(stderr, "famfs_fill: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	dirs = calloc(ndirs + 1, sizeof(*dirs));
	dirs[0] = famfs_ns_root(im->ns);
	for (i = 0; i < ndirs; i++) {
		snprintf(name, sizeof(name), "d%04lu", i);
		rc = famfs_image_mkdir(im, dirs[0], name, 0755, 0, 0, &dirs[i + 1]);
		if (rc) {
			fprintf(stderr, "famfs_fill: mkdir %s: %s\n", name, strerror(-rc));
			return 1;
		}
	}
	for (i = 0; i < nfiles; i++) {
		struct famfs_node *dir = ndirs ? dirs[1 + i % ndirs] : dirs[0];

		snprintf(name, sizeof(name), "f%06lu", i);
		rc = famfs_image_mkfile(im, dir, name, size, 0644, 0, 0, stripe, NULL);
		if (rc) {
			fprintf(stderr, "famfs_fill: file %lu: %s%s\n", i, strerror(-rc),
				rc == -ENOSPC && famfs_log_free(im->fs) == 0 ? " (log full)" : "");
			return 1;
		}
	}
	printf("%lu\n", ndirs + nfiles);
	free(dirs);
	famfs_image_close(im);
	return 0;
}
