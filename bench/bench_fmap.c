// SPDX-License-Identifier: Apache-2.0
/*
 * fmap codec benchmark (not a test): encodes and decodes per second, and
 * fmap_resolve() lookups per second, each with a baseline measured in the
 * same run.
 *
 *   bench_fmap
 *
 * - encode / decode of 1-, 16- and 512-extent simple maps (and a 16-strip
 *   striped map), against a memcpy of the same message (the least any
 *   codec can cost: the bytes have to be touched once);
 * - resolve on a 512-extent uniform map (O(1) index), a 512-extent map of
 *   varied lengths (binary search) and a 16-strip striped map, against a
 *   plain linear walk over the extent array for the same offsets (what a
 *   codec without an index does).
 * Offsets are pseudo-random and precomputed; results feed a sink so nothing
 * is optimised away. GET_FMAP round trips through a server are measured by
 * `fmap_harness --bench` (bench/conformance.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmap.h"

#define MIN_SECS 0.3 /* each measurement runs at least this long */
#define NOFFS	 4096

static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_fmap: %s\n", what);
	exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A ready simple map of @n extents; @varied: lengths 1..8 units, else all 2 MiB. */
static struct fmap *simple_map(uint32_t n, int varied)
{
	struct fmap *m = fmap_alloc(FMAP_EXT_SIMPLE, n, 0);
	uint64_t off = 16 * FMAP_ALIGN, sum = 0, s = 12345;

	if (!m)
		die("fmap_alloc");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t len = (varied ? 1 + rnd(&s) % 8 : 1) * FMAP_ALIGN;

		m->ext[i] = (struct fmap_extent){off, len, 0};
		off += len + FMAP_ALIGN * (rnd(&s) % 4); /* gaps: not one contiguous run */
		sum += len;
	}
	m->file_size = sum - 12345;
	if (fmap_finalize(m))
		die("fmap_finalize (simple)");
	return m;
}

/* A ready striped map: one interleaved extent of 16 strips, 2 MiB chunks, 512 MiB. */
static struct fmap *striped_map(void)
{
	const uint32_t nstrips = 16;
	const uint64_t chunk = FMAP_ALIGN, strip = 32 * chunk;
	struct fmap *m = fmap_alloc(FMAP_EXT_INTERLEAVE, 1, nstrips);

	if (!m)
		die("fmap_alloc");
	m->iext[0] =
	    (struct fmap_iext){.chunk_size = chunk, .nbytes = nstrips * strip, .nstrips = nstrips};
	for (uint32_t s = 0; s < nstrips; s++)
		m->ext[s] = (struct fmap_extent){(1ULL << 30) + s * 2 * strip, strip, 0};
	m->file_size = nstrips * strip - 4096;
	if (fmap_finalize(m))
		die("fmap_finalize (striped)");
	return m;
}

/* Baseline resolver: walk the extent array from the start, no index. */
static int linear_resolve(const struct fmap *m, uint64_t off, struct fmap_loc *loc)
{
	if (off >= m->file_size)
		return -ERANGE;
	if (m->ext_type == FMAP_EXT_SIMPLE) {
		for (uint32_t i = 0; i < m->nextents; i++) {
			if (off < m->ext[i].len) {
				*loc = (struct fmap_loc){m->ext[i].offset + off,
							 m->ext[i].len - off, m->ext[i].devindex};
				return 0;
			}
			off -= m->ext[i].len;
		}
		return -EFAULT;
	}
	/* striped: walk chunk by chunk through the strips, round robin */
	const struct fmap_iext *ie = &m->iext[0];
	uint64_t stripe = 0;
	uint32_t strip = 0;

	while (off >= ie->chunk_size) {
		off -= ie->chunk_size;
		if (++strip == ie->nstrips) {
			strip = 0;
			stripe++;
		}
	}
	*loc = (struct fmap_loc){m->ext[strip].offset + stripe * ie->chunk_size + off,
				 ie->chunk_size - off, m->ext[strip].devindex};
	return 0;
}

typedef void (*op_fn)(void *ctx);

/* Calls of @fn per second: batches of @batch until MIN_SECS have passed. */
static double per_sec(op_fn fn, void *ctx, long batch)
{
	long calls = 0;
	double t0 = now(), t;

	do {
		for (long i = 0; i < batch; i++)
			fn(ctx);
		calls += batch;
		t = now() - t0;
	} while (t < MIN_SECS);
	return (double)calls / t;
}

struct codec_ctx {
	const struct fmap *m;
	uint8_t *msg, *copy;
	size_t len;
};

static void do_encode(void *p)
{
	struct codec_ctx *c = p;

	sink += (uint64_t)fmap_encode(c->m, c->msg, c->len);
}

static void do_decode(void *p)
{
	struct codec_ctx *c = p;
	struct fmap *d = NULL;

	if (fmap_decode(c->msg, c->len, &d, NULL))
		die("fmap_decode");
	sink += d->nextents;
	fmap_free(d);
}

static void do_memcpy(void *p)
{
	struct codec_ctx *c = p;

	memcpy(c->copy, c->msg, c->len);
	__asm__ volatile("" : : "r"(c->copy) : "memory");
	sink += c->copy[c->len - 1];
}

struct resolve_ctx {
	const struct fmap *m;
	uint64_t offs[NOFFS];
	int linear;
};

static void do_resolve(void *p)
{
	struct resolve_ctx *c = p;
	struct fmap_loc loc;
	uint64_t acc = 0;

	for (int i = 0; i < NOFFS; i++) {
		if ((c->linear ? linear_resolve(c->m, c->offs[i], &loc)
			       : fmap_resolve(c->m, c->offs[i], &loc)))
			die("resolve");
		acc += loc.offset;
	}
	sink += acc;
}

static void codec(const char *name, struct fmap *m)
{
	struct codec_ctx c = {.m = m, .len = fmap_encoded_size(m)};
	double enc, dec, cpy;

	c.msg = malloc(c.len);
	c.copy = malloc(c.len);
	if (!c.msg || !c.copy || fmap_encode(m, c.msg, c.len) != (long)c.len)
		die("encode");
	enc = per_sec(do_encode, &c, 256);
	dec = per_sec(do_decode, &c, 256);
	cpy = per_sec(do_memcpy, &c, 4096);
	printf("%-22s %6zu B  encode %10.0f/s  decode %10.0f/s  memcpy %11.0f/s  "
	       "(encode %.1fx, decode %.1fx memcpy's time)\n",
	       name, c.len, enc, dec, cpy, cpy / enc, cpy / dec);
	free(c.msg);
	free(c.copy);
}

static void resolve(const char *name, const struct fmap *m)
{
	static struct resolve_ctx c;
	uint64_t s = 987654321;
	double fast, slow;

	c.m = m;
	for (int i = 0; i < NOFFS; i++)
		c.offs[i] = rnd(&s) % m->file_size;
	c.linear = 0;
	fast = per_sec(do_resolve, &c, 16) * NOFFS;
	c.linear = 1;
	slow = per_sec(do_resolve, &c, 1) * NOFFS;
	printf("%-34s resolve %11.0f/s (%5.1f ns)  linear walk %11.0f/s (%7.1f ns)  %6.1fx\n", name,
	       fast, 1e9 / fast, slow, 1e9 / slow, fast / slow);
}

int main(void)
{
	struct fmap *s1 = simple_map(1, 0), *s16 = simple_map(16, 1), *s512 = simple_map(512, 1);
	struct fmap *u512 = simple_map(512, 0), *st = striped_map();

	printf("bench_fmap: fmap codec, one thread; baselines in the same run\n");
	codec("simple, 1 extent", s1);
	codec("simple, 16 extents", s16);
	codec("simple, 512 extents", s512);
	codec("striped, 16 strips", st);
	resolve("512 extents, uniform (O(1) index)", u512);
	resolve("512 extents, varied (bsearch)", s512);
	resolve("striped, 16 strips x 2 MiB chunks", st);
	fmap_free(s1);
	fmap_free(s16);
	fmap_free(s512);
	fmap_free(u512);
	fmap_free(st);
	return sink == 42 ? 1 : 0;
}
