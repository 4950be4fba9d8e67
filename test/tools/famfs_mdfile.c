// SPDX-License-Identifier: Apache-2.0
/*
 * famfs_mdfile: a file of a famfs over several devices written and read
 * through the library with every device open (FAMFS_FS_DEVICES), for tests
 * of what a server serving device 0 alone does with it, and of another
 * host finding the devices by uuid. Usage:
 *   famfs_mdfile create PRIMARY NAME SIZE SEED
 *       as the master, on the unmounted file system whose primary device
 *       is PRIMARY: create file NAME (in the root) of SIZE bytes where the
 *       allocation policy puts it (a plain file: the device with the most
 *       free bytes) and fill it with the pattern of SEED
 *   famfs_mdfile check PRIMARY NAME SEED
 *       on any host: find every device of the file system on this host
 *       (by uuid), and compare file NAME with the pattern of SEED
 * Both print one line per extent: "NAME: extent I: device N (PATH) offset
 * 0xOFF length 0xLEN", the device as this host names it. Exit status: 0
 * done, 1 failed (named), 2 usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devset.h"
#include "image.h"

/* The pattern: the 8-byte word at file offset @off (a multiple of 8) for @seed. */
static uint64_t word(uint64_t seed, uint64_t off)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (off / 8) * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return x * 0x94d049bb133111ebULL;
}

static void pattern(uint8_t *buf, uint64_t len, uint64_t seed, uint64_t file_off)
{
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t w = word(seed, file_off + i);

		memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* Copy @len bytes between @buf and device @dev at @off (write: then flush). */
static int dev_io(struct famfs_dev *dev, uint8_t *buf, uint64_t len, uint64_t off, bool write)
{
	int rc;

	if (!write && famfs_dev_mappable(dev) && dev->map) {
		rc = famfs_dev_invalidate(dev, dev->map + off, len);
		if (rc)
			return rc;
	}
	rc = write ? famfs_dev_pwrite(dev, buf, len, off) : famfs_dev_pread(dev, buf, len, off);
	if (!rc && write && famfs_dev_mappable(dev) && dev->map)
		rc = famfs_dev_flush(dev, dev->map + off, len);
	return rc;
}

/* Fill (@write) or check the plain file @n with @seed's pattern, extent by extent. */
static int each_extent(struct famfs_image *im, const char *name, const struct famfs_node *n,
		       uint64_t seed, bool write)
{
	struct famfs_file_body body = {.size = n->size};
	const struct famfs_file_body *f = &body;
	uint64_t file_off = 0;

	famfs_map_body(n->file, &body); /* the node's compact map, as its entry had it */

	if (f->ext_type != FAMFS_EXT_SIMPLE) {
		fprintf(stderr, "famfs_mdfile: %s is striped: not supported here\n", name);
		return 1;
	}
	for (uint32_t i = 0; i < f->nextents && file_off < f->size; i++) {
		const struct famfs_simple_extent *se = &f->se[i];
		struct famfs_dev *dev = famfs_image_dev(im, (uint32_t)se->devindex);
		uint64_t len = se->len < f->size - file_off ? se->len : f->size - file_off;
		uint8_t *want = malloc(len), *got = malloc(len);
		int rc = -ENOMEM;

		if (!dev) {
			fprintf(stderr, "famfs_mdfile: %s: device %llu is not open here\n", name,
				(unsigned long long)se->devindex);
			return 1;
		}
		printf("%s: extent %u: device %llu (%s) offset 0x%llx length 0x%llx\n", name, i,
		       (unsigned long long)se->devindex, dev->path, (unsigned long long)se->offset,
		       (unsigned long long)se->len);
		if (want && got) {
			pattern(want, len, seed, file_off);
			rc = dev_io(dev, write ? want : got, len, se->offset, write);
		}
		if (!rc && !write && memcmp(want, got, len) != 0) {
			uint64_t b = 0;

			while (want[b] == got[b])
				b++;
			fprintf(stderr,
				"famfs_mdfile: %s: byte %llu differs from seed %llu's pattern\n",
				name, (unsigned long long)(file_off + b), (unsigned long long)seed);
			rc = 1;
		} else if (rc < 0) {
			fprintf(stderr, "famfs_mdfile: %s: device %llu at 0x%llx: %s\n", name,
				(unsigned long long)se->devindex, (unsigned long long)se->offset,
				strerror(-rc));
			rc = 1;
		}
		free(want);
		free(got);
		if (rc)
			return 1;
		file_off += len;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool create = argc == 6 && strcmp(argv[1], "create") == 0;
	struct famfs_checker c = {0};
	struct famfs_image *im;
	struct famfs_node *n;
	uint64_t seed;
	long nr;
	int rc;

	if (!create && !(argc == 5 && strcmp(argv[1], "check") == 0)) {
		fprintf(stderr, "usage: famfs_mdfile create PRIMARY NAME SIZE SEED\n"
				"       famfs_mdfile check PRIMARY NAME SEED\n");
		return 2;
	}
	seed = strtoull(argv[argc - 1], NULL, 0);
	rc = famfs_image_open(
	    argv[2], FAMFS_FS_DEVICES | FAMFS_FS_MAP_ALL | (create ? FAMFS_FS_WRITE : 0), &im, &c);
	if (rc) {
		fprintf(stderr, "famfs_mdfile: %s: %s\n", argv[2],
			rc == -EXDEV ? "a secondary device: give the primary" : strerror(-rc));
		return 1;
	}
	nr = famfs_image_catch_up(im, NULL, NULL);
	if (nr < 0 || im->replay.bad_index >= 0) {
		char why[512] = "";

		if (nr >= 0)
			famfs_problem_format(&im->replay.bad, why, sizeof(why));
		fprintf(stderr, "famfs_mdfile: %s: replay stopped: %s\n", argv[2],
			nr < 0 ? strerror((int)-nr) : why);
		famfs_image_close(im);
		return 1;
	}
	if (create) {
		rc = famfs_image_mkfile(im, famfs_ns_root(im->ns), argv[3],
					strtoull(argv[4], NULL, 0), 0644, 0, 0, NULL, &n);
		if (rc) {
			fprintf(stderr, "famfs_mdfile: create %s: %s\n", argv[3], strerror(-rc));
			famfs_image_close(im);
			return 1;
		}
	} else {
		n = famfs_ns_walk(im->ns, argv[3]);
		if (!n || !n->file) {
			fprintf(stderr, "famfs_mdfile: %s: no such file\n", argv[3]);
			famfs_image_close(im);
			return 1;
		}
	}
	rc = each_extent(im, argv[3], n, seed, create);
	famfs_image_close(im);
	return rc;
}
