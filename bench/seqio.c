// SPDX-License-Identifier: Apache-2.0
/*
 * seqio: sequential read or write bandwidth of one existing file.
 *   seqio read|write|mmap FILE [BLOCK_BYTES] [ROUNDS]
 * Reads (or overwrites in place, never extending) the whole file in
 * BLOCK_BYTES chunks (default 1 MiB), ROUNDS times (default 3), reopening
 * each round, and prints the best round in MiB/s. No page-cache tricks: each
 * round opens the file afresh, as a reader would. `mmap` maps the file
 * read-only (MAP_SHARED) each round and reads every 8-byte word through the
 * mapping (page faults included).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t bs = argc > 3 ? strtoul(argv[3], NULL, 0) : 1 << 20;
	int rounds = argc > 4 ? atoi(argv[4]) : 3, write = argc > 1 && !strcmp(argv[1], "write");
	int map = argc > 1 && !strcmp(argv[1], "mmap");
	volatile uint64_t sink = 0;
	double best = 0;
	struct stat st;
	char *buf;

	if (argc < 3 || stat(argv[2], &st) < 0 || !(buf = aligned_alloc(4096, bs))) {
		fprintf(stderr, "usage: seqio read|write FILE [BLOCK_BYTES] [ROUNDS]\n");
		return 2;
	}
	memset(buf, 0x5a, bs);
	for (int r = 0; r < rounds; r++) {
		int fd = open(argv[2], write ? O_WRONLY : O_RDONLY);
		double t0 = now();
		off_t off = 0;

		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		if (map) {
			const uint64_t *w =
			    mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			uint64_t sum = 0;

			if (w == MAP_FAILED) {
				perror("mmap");
				return 1;
			}
			for (size_t i = 0; i < (size_t)st.st_size / 8; i++)
				sum += w[i];
			sink += sum;
			munmap((void *)w, (size_t)st.st_size);
			off = st.st_size;
		}
		while (off < st.st_size) {
			size_t n =
			    (size_t)(st.st_size - off) < bs ? (size_t)(st.st_size - off) : bs;
			ssize_t k = write ? pwrite(fd, buf, n, off) : pread(fd, buf, n, off);

			if (k <= 0) {
				perror("io");
				return 1;
			}
			off += k;
		}
		close(fd);
		double mibs = (double)st.st_size / (1 << 20) / (now() - t0);
		if (mibs > best)
			best = mibs;
	}
	printf("%.0f\n", best);
	return 0;
}
