// SPDX-License-Identifier: Apache-2.0
/*
 * create_rate: files created per second in DIR by one process looping
 * open(O_CREAT|O_EXCL) / fallocate(SIZE) / close, the syscall path to a
 * famfs file (on other file systems fallocate just reserves space).
 *   create_rate DIR [COUNT] [SIZE]
 * Prints files per second.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	long count = argc > 2 ? atol(argv[2]) : 1000;
	off_t size = argc > 3 ? atoll(argv[3]) : 4096;
	char path[4096];
	double t0;

	if (argc < 2) {
		fprintf(stderr, "usage: create_rate DIR [COUNT] [SIZE]\n");
		return 2;
	}
	t0 = now();
	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/c%07ld", argv[1], i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);

		/* Where fallocate is not supported (passthrough_ll over tmpfs), ftruncate sizes the
		 * file. */
		if (fd < 0 || (fallocate(fd, 0, 0, size) < 0 &&
			       (errno != EOPNOTSUPP || ftruncate(fd, size) < 0))) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	printf("%.0f\n", (double)count / (now() - t0));
	return 0;
}
