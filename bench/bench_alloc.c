// SPDX-License-Identifier: Apache-2.0
/*
 * bench_alloc: the allocator alone (no I/O, no FUSE), 4 KiB units against
 * 2 MiB units in the same run (issue 13): famfs_alloc_file() calls per
 * second for large files (whole regions, and with a 4 KiB tail), small
 * files, and a mix, on a 64 GiB device, until it is 90 % full or the count
 * is reached; then the bitmap rebuilt from those extents (what replay and
 * fsck do per entry: famfs_alloc_claim_file). Rounds alternate between the
 * units; medians and the ratio 4K/2M.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

#define MiB	(1ULL << 20)
#define DEVSIZE (64ULL << 30)
#define META	(10 * MiB)
#define ROUNDS	7
#define MAXF	200000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

enum kind { LARGE, LARGE_TAIL, SMALL, MIX };
static const char *names[] = {"large 8 MiB", "large 8 MiB + 12345", "small < 64 KiB",
			      "mix 80% small, 20% < 2 MiB, 5% large"};

static uint64_t size_of(enum kind k)
{
	uint64_t r;

	switch (k) {
	case LARGE:
		return 8 * MiB;
	case LARGE_TAIL:
		return 8 * MiB + 12345;
	case SMALL:
		return rnd() % (64 << 10);
	default:
		r = rnd() % 100;
		return r < 80	? rnd() % (64 << 10)
		       : r < 95 ? rnd() % (2 * MiB)
				: 2 * MiB + rnd() % (8 * MiB);
	}
}

static struct famfs_file_body f[MAXF];

/* One round: files allocated per second, and claims per second on replay. */
static void round_(uint64_t unit, enum kind k, long count, double *alloc_rate, double *claim_rate)
{
	struct famfs_alloc a;
	double t0;
	long n = 0;

	rnd_state = 88172645463325252ULL;
	memset(f, 0, sizeof(f[0]) * (size_t)count);
	if (famfs_alloc_init(&a, DEVSIZE, META, unit))
		abort();
	t0 = now();
	while (n < count && a.used < a.nunits / 10 * 9 &&
	       famfs_alloc_file(&a, size_of(k), NULL, &f[n]) == 0)
		n++;
	*alloc_rate = (double)n / (now() - t0);
	famfs_alloc_destroy(&a);
	if (famfs_alloc_init(&a, DEVSIZE, META, unit))
		abort();
	t0 = now();
	for (long i = 0; i < n; i++) {
		uint32_t bad;
		bool self;

		if (famfs_alloc_claim_file(&a, &f[i], &bad, &self))
			abort();
	}
	*claim_rate = (double)n / (now() - t0);
	famfs_alloc_destroy(&a);
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	return v[ROUNDS / 2];
}

int main(void)
{
	printf("allocator on a 64 GiB device, medians of %d alternating rounds (files/s)\n",
	       ROUNDS);
	for (int k = LARGE; k <= MIX; k++) {
		double a4[ROUNDS], a2[ROUNDS], c4[ROUNDS], c2[ROUNDS];
		long count = k <= LARGE_TAIL ? 5000 : MAXF;

		for (int r = 0; r < ROUNDS; r++) {
			round_(FAMFS_ALLOC_UNIT_4K, (enum kind)k, count, &a4[r], &c4[r]);
			round_(FAMFS_ALLOC_UNIT, (enum kind)k, count, &a2[r], &c2[r]);
		}
		double ma4 = median(a4), ma2 = median(a2), mc4 = median(c4), mc2 = median(c2);

		printf("  %-38s alloc 4K %9.0f  2M %9.0f  4K/2M %.2fx   replay claim 4K %9.0f  2M "
		       "%9.0f  "
		       "%.2fx\n",
		       names[k], ma4, ma2, ma4 / ma2, mc4, mc2, mc4 / mc2);
	}
	return 0;
}
