// SPDX-License-Identifier: Apache-2.0
/*
 * famfs_rmw: parallel sub-block writes through famfs_dev_pwrite() on a pmem
 * (block) device, the O_DIRECT bounce-buffer path. Usage:
 *   famfs_rmw DEVICE OFFSET
 * 8 threads each own 512 bytes of every one of 4096 4 KiB blocks at OFFSET
 * and write each piece once, all walking the blocks in the same order (so
 * they meet on the same block); then every piece must hold its owner's byte.
 * A lost read-modify-write is permanent: nobody writes that piece again.
 * Prints "ok" or the number of lost pieces (exit 1). DEVICE is overwritten
 * there: use a scratch device.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"

#define NTHREADS 8
#define NBLOCKS	 4096
#define PIECE	 512

static struct famfs_dev *dev;
static uint64_t base;

static void *writer(void *arg)
{
	int k = (int)(long)arg;
	char buf[PIECE];

	memset(buf, k + 1, sizeof(buf));
	for (int b = 0; b < NBLOCKS; b++)
		if (famfs_dev_pwrite(dev, buf, PIECE, base + (uint64_t)b * 4096 + k * PIECE))
			return (void *)1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	char *got;
	int lost = 0, failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE OFFSET\n", argv[0]);
		return 2;
	}
	base = strtoull(argv[2], NULL, 0);
	if (famfs_dev_open(argv[1], FAMFS_DEV_WRITE, &dev)) {
		fprintf(stderr, "%s: cannot open\n", argv[1]);
		return 2;
	}
	got = calloc(NBLOCKS, 4096);
	if (!got || famfs_dev_pwrite(dev, got, NBLOCKS * 4096, base))
		return 2;
	for (long k = 0; k < NTHREADS; k++)
		pthread_create(&t[k], NULL, writer, (void *)k);
	for (int k = 0; k < NTHREADS; k++) {
		void *rc;

		pthread_join(t[k], &rc);
		failed |= rc != NULL;
	}
	if (failed || famfs_dev_pread(dev, got, NBLOCKS * 4096, base))
		return 2;
	for (int b = 0; b < NBLOCKS; b++)
		for (int k = 0; k < NTHREADS; k++)
			for (int i = 0; i < PIECE; i++)
				if (got[b * 4096 + k * PIECE + i] != k + 1) {
					lost++;
					break;
				}
	if (lost) {
		printf("%d of %d pieces lost\n", lost, NBLOCKS * NTHREADS);
		return 1;
	}
	printf("ok\n");
	famfs_dev_close(dev);
	free(got);
	return 0;
}
