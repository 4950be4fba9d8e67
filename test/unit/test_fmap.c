// SPDX-License-Identifier: Apache-2.0
/*
 * test_fmap.c - cmocka unit tests for the fmap codec (fmap/fmap.c).
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ifmap \
 *            test/unit/test_fmap.c fmap/fmap.c -lcmocka -o build/test/test_fmap
 * Run:   build/test/test_fmap
 *        build/test/test_fmap --write-corpus fuzz/corpus/fmap   (fuzz seeds)
 *
 * Wire messages for the decoder tests are written by hand here (wr_*), not
 * by fmap_encode(), so encoder and decoder are checked against the spec
 * independently.  Resolution is checked against a brute-force walker that
 * follows kernel-protocol.md literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fmap.h"
#include "../fmap_ref.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, seeded per test */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void put_le(uint8_t *p, uint64_t v, int width)
{
	for (int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int width)
{
	uint64_t v = 0;

	for (int i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Hand-written wire encoders (independent of fmap_encode). */
static size_t wr_hdr(uint8_t *p, uint8_t ftype, uint32_t etype, uint32_t n, uint64_t fsize)
{
	memset(p, 0, 32);
	p[0] = ftype;
	put_le(p + 2, 1, 2);
	put_le(p + 4, etype, 4);
	put_le(p + 8, n, 4);
	put_le(p + 16, fsize, 8);
	return 32;
}

static size_t wr_ext(uint8_t *p, uint32_t dev, uint64_t off, uint64_t len)
{
	memset(p, 0, 24);
	put_le(p, dev, 4);
	put_le(p + 8, off, 8);
	put_le(p + 16, len, 8);
	return 24;
}

static size_t wr_iext(uint8_t *p, uint32_t nstrips, uint32_t chunk, uint64_t nbytes)
{
	memset(p, 0, 24);
	put_le(p, nstrips, 4);
	put_le(p + 4, chunk, 4);
	put_le(p + 8, nbytes, 8);
	return 24;
}

struct sx {
	uint32_t dev;
	uint64_t off, len;
};

struct ix {
	uint32_t nstrips;
	uint64_t chunk, nbytes;
};

static struct fmap *mk_simple(const struct sx *e, uint32_t n, uint64_t fsize)
{
	struct fmap *m = fmap_alloc(FMAP_EXT_SIMPLE, n, 0);
	struct fmap_diag d;

	assert_non_null(m);
	m->file_size = fsize;
	for (uint32_t i = 0; i < n; i++) {
		m->ext[i].devindex = e[i].dev;
		m->ext[i].offset = e[i].off;
		m->ext[i].len = e[i].len;
	}
	assert_int_equal(fmap_finalize_diag(m, &d), 0);
	assert_null(d.why);
	return m;
}

static struct fmap *mk_striped(const struct ix *ie, uint32_t ni, const struct sx *s, uint64_t fsize)
{
	uint32_t ns = 0;
	struct fmap *m;

	for (uint32_t i = 0; i < ni; i++)
		ns += ie[i].nstrips;
	m = fmap_alloc(FMAP_EXT_INTERLEAVE, ni, ns);
	assert_non_null(m);
	m->file_size = fsize;
	for (uint32_t i = 0; i < ni; i++) {
		m->iext[i].nstrips = ie[i].nstrips;
		m->iext[i].chunk_size = ie[i].chunk;
		m->iext[i].nbytes = ie[i].nbytes;
	}
	for (uint32_t i = 0; i < ns; i++) {
		m->ext[i].devindex = s[i].dev;
		m->ext[i].offset = s[i].off;
		m->ext[i].len = s[i].len;
	}
	assert_int_equal(fmap_finalize(m), 0);
	return m;
}

/* n uniform extents of len L (last one last_len), scattered offsets. */
static struct fmap *mk_uniform(uint32_t n, uint64_t L, uint64_t last_len, uint64_t fsize)
{
	struct sx *e = calloc(n, sizeof(*e));
	struct fmap *m;

	assert_non_null(e);
	for (uint32_t i = 0; i < n; i++) {
		e[i].dev = i % 3;
		e[i].off = (uint64_t)(4 + 7 * ((i * 37) % n)) * L; /* permuted, disjoint */
		e[i].len = i + 1 == n ? last_len : L;
	}
	m = mk_simple(e, n, fsize);
	free(e);
	return m;
}

/* n extents of random 2 MiB-multiple lengths (1..8 units). */
static struct fmap *mk_random_simple(uint32_t n, uint64_t *sum_out)
{
	struct sx *e = calloc(n, sizeof(*e));
	uint64_t sum = 0, dev_off = 16 * MiB;
	struct fmap *m;

	assert_non_null(e);
	for (uint32_t i = 0; i < n; i++) {
		e[i].len = (1 + rnd() % 8) * FMAP_ALIGN;
		e[i].dev = (uint32_t)(rnd() % 4);
		dev_off += (rnd() % 4) * FMAP_ALIGN;
		e[i].off = dev_off;
		dev_off += e[i].len;
		sum += e[i].len;
	}
	m = mk_simple(e, n, sum - (rnd() % FMAP_ALIGN)); /* file ends inside the last extent */
	free(e);
	*sum_out = sum;
	return m;
}

/* The resolved range must lie inside one extent/strip of the same device. */
static void assert_loc_inside(const struct fmap *m, const struct fmap_loc *l)
{
	uint32_t n = m->ext_type == FMAP_EXT_SIMPLE ? m->nextents : m->nstrips_total;

	assert_true(l->len > 0);
	for (uint32_t i = 0; i < n; i++) {
		const struct fmap_extent *e = &m->ext[i];

		if (e->devindex == l->devindex && l->offset >= e->offset &&
		    l->offset - e->offset <= e->len && l->len <= e->len - (l->offset - e->offset))
			return;
	}
	fail_msg("loc %llx+%llx dev %u outside every extent", (unsigned long long)l->offset,
		 (unsigned long long)l->len, l->devindex);
}

static void check_one(const struct fmap *m, uint64_t off)
{
	struct fmap_loc a = {0}, b = {0};
	int ra = fmap_resolve(m, off, &a);
	int rb = fmap_ref_resolve(m, off, &b);

	assert_int_equal(ra, rb);
	if (ra)
		return;
	assert_int_equal(a.offset, b.offset);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.devindex, b.devindex);
	assert_loc_inside(m, &a);
}

/* Every @step bytes, every extent boundary +-1, file_size +-1, random offsets. */
static void sweep(const struct fmap *m, uint64_t step, void (*fn)(const struct fmap *, uint64_t))
{
	uint64_t off;

	for (off = 0; off < m->file_size; off += step)
		fn(m, off);
	for (uint32_t i = 0; i <= m->nextents; i++) {
		fn(m, m->start[i]);
		fn(m, m->start[i] + 1);
		if (m->start[i])
			fn(m, m->start[i] - 1);
	}
	if (m->file_size) {
		fn(m, m->file_size - 1);
		for (int i = 0; i < 2000; i++)
			fn(m, rnd() % m->file_size);
	}
	fn(m, m->file_size);
	fn(m, m->file_size + 1);
	fn(m, UINT64_MAX);
}

static long encode_alloc(const struct fmap *m, uint8_t **out)
{
	size_t sz = fmap_encoded_size(m);
	uint8_t *buf = malloc(sz ? sz : 1);
	long n;

	assert_non_null(buf);
	n = fmap_encode(m, buf, sz);
	assert_int_equal(n, (long)sz);
	*out = buf;
	return n;
}

static void assert_maps_equal(const struct fmap *a, const struct fmap *b)
{
	assert_int_equal(a->file_type, b->file_type);
	assert_int_equal(a->ext_type, b->ext_type);
	assert_int_equal(a->file_size, b->file_size);
	assert_int_equal(a->nextents, b->nextents);
	assert_int_equal(a->nstrips_total, b->nstrips_total);
	assert_int_equal(a->uniform_shift, b->uniform_shift);
	assert_int_equal(a->align, b->align);
	uint32_t n = a->ext_type == FMAP_EXT_SIMPLE ? a->nextents : a->nstrips_total;

	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(a->ext[i].offset, b->ext[i].offset);
		assert_int_equal(a->ext[i].len, b->ext[i].len);
		assert_int_equal(a->ext[i].devindex, b->ext[i].devindex);
	}
	for (uint32_t i = 0; a->ext_type == FMAP_EXT_INTERLEAVE && i < a->nextents; i++) {
		assert_int_equal(a->iext[i].chunk_size, b->iext[i].chunk_size);
		assert_int_equal(a->iext[i].nbytes, b->iext[i].nbytes);
		assert_int_equal(a->iext[i].nstrips, b->iext[i].nstrips);
		assert_int_equal(a->iext[i].first_strip, b->iext[i].first_strip);
		assert_int_equal(a->iext[i].chunk_shift, b->iext[i].chunk_shift);
	}
	for (uint32_t i = 0; i <= a->nextents; i++)
		assert_int_equal(a->start[i], b->start[i]);
}

/* encode -> decode -> compare -> re-encode -> identical bytes. */
static void roundtrip(const struct fmap *m)
{
	uint8_t *buf, *buf2;
	struct fmap *d = NULL;
	const char *why = "unset";
	long n = encode_alloc(m, &buf);

	assert_int_equal(get_le(buf + 2, 2), FMAP_VERSION);
	assert_int_equal(get_le(buf + 4, 4), m->ext_type);
	assert_int_equal(get_le(buf + 8, 4), m->nextents);
	assert_int_equal(get_le(buf + 16, 8), m->file_size);
	if (m->align == FMAP_ALIGN) {
		assert_int_equal(fmap_decode(buf, (size_t)n, &d, &why), 0);
		assert_null(why);
	} else {
		assert_int_equal(fmap_decode_align(buf, (size_t)n, m->align, &d, NULL), 0);
	}
	assert_non_null(d);
	assert_maps_equal(m, d);
	assert_int_equal(encode_alloc(d, &buf2), n);
	assert_memory_equal(buf, buf2, (size_t)n);
	free(buf);
	free(buf2);
	fmap_free(d);
}

static void test_alloc_args(void **state)
{
	struct fmap *m;

	(void)state;
	assert_null(fmap_alloc(FMAP_EXT_SIMPLE, 0, 0));
	assert_null(fmap_alloc(FMAP_EXT_SIMPLE, FMAP_MAX_SIMPLE_EXTENTS + 1, 0));
	assert_null(fmap_alloc(FMAP_EXT_INTERLEAVE, 0, 1));
	assert_null(fmap_alloc(FMAP_EXT_INTERLEAVE, 33, 33));
	assert_null(fmap_alloc(FMAP_EXT_INTERLEAVE, 2, 1));
	assert_null(fmap_alloc(FMAP_EXT_INTERLEAVE, 1, FMAP_MAX_STRIPS_TOTAL + 1));
	assert_null(fmap_alloc(2, 1, 0));
	m = fmap_alloc(FMAP_EXT_SIMPLE, FMAP_MAX_SIMPLE_EXTENTS, 7);
	assert_non_null(m);
	assert_int_equal(m->nstrips_total, 0);
	assert_null(m->iext);
	assert_int_equal(m->ready, 0);
	assert_int_equal(fmap_encoded_size(m), FMAP_MSG_MAX - 8);
	fmap_free(m);
	m = fmap_alloc(FMAP_EXT_INTERLEAVE, 2, 5);
	assert_non_null(m);
	assert_non_null(m->iext);
	assert_int_equal(fmap_encoded_size(m), 32 + 24 * 7);
	fmap_free(m);
	fmap_free(NULL);
}

/* ----------------------------------------------------------- round trips */

static void test_roundtrip_simple_1(void **state)
{
	struct sx e = {3, 0x40000000, 6 * MiB};
	struct fmap *m = mk_simple(&e, 1, 5 * MiB + 17);
	uint8_t expect[56], *buf;

	(void)state;
	m->file_type = FMAP_FILE_LOG;
	assert_int_equal(fmap_finalize(m), 0);
	/* exact bytes against the hand-written encoder */
	wr_hdr(expect, FMAP_FILE_LOG, FMAP_EXT_SIMPLE, 1, 5 * MiB + 17);
	wr_ext(expect + 32, 3, 0x40000000, 6 * MiB);
	assert_int_equal(encode_alloc(m, &buf), 56);
	assert_memory_equal(buf, expect, 56);
	free(buf);
	assert_int_equal(m->uniform_shift, 63);
	roundtrip(m);
	fmap_free(m);
}

static void test_roundtrip_simple_16(void **state)
{
	uint64_t sum;
	struct fmap *m;

	(void)state;
	rng_state = 16;
	m = mk_random_simple(16, &sum);
	roundtrip(m);
	fmap_free(m);
}

static void test_roundtrip_simple_512(void **state)
{
	struct fmap *m = mk_uniform(512, 2 * MiB, 2 * MiB, 1 * GiB - 12345);

	(void)state;
	assert_int_equal(fmap_encoded_size(m), 32 + 24 * 512);
	roundtrip(m);
	fmap_free(m);
}

static const struct ix ix16 = {16, 2 * MiB, 100 * MiB};

static struct fmap *mk_striped16(void)
{
	struct sx s[16];

	/* 100 MiB over 16 strips of 2 MiB chunks: 50 chunks, 4 stripes each */
	for (int i = 0; i < 16; i++)
		s[i] = (struct sx){(uint32_t)(i % 2), (uint64_t)(10 + 10 * i) * 2 * MiB, 8 * MiB};
	return mk_striped(&ix16, 1, s, 100 * MiB - 3);
}

static struct fmap *mk_striped2(void)
{
	/* iext0: 3 strips x 2 MiB chunks, 30 MiB; iext1: 5 strips x 8 MiB, 100 MiB */
	static const struct ix ie[2] = {{3, 2 * MiB, 30 * MiB}, {5, 8 * MiB, 100 * MiB}};
	static const struct sx s[8] = {
	    {0, 100 * MiB, 10 * MiB}, {0, 200 * MiB, 10 * MiB}, {1, 300 * MiB, 12 * MiB},
	    {2, 1 * GiB, 24 * MiB},   {2, 2 * GiB, 24 * MiB},	{3, 3 * GiB, 24 * MiB},
	    {0, 4 * GiB, 24 * MiB},   {1, 5 * GiB, 32 * MiB},
	};

	return mk_striped(ie, 2, s, 120 * MiB + 5);
}

static void test_roundtrip_interleave_1x16(void **state)
{
	struct fmap *m = mk_striped16();

	(void)state;
	assert_int_equal(fmap_encoded_size(m), 32 + 24 * 17);
	assert_int_equal(m->iext[0].chunk_shift, 21);
	assert_int_equal(m->iext[0].first_strip, 0);
	roundtrip(m);
	fmap_free(m);
}

static void test_roundtrip_interleave_2(void **state)
{
	struct fmap *m = mk_striped2();

	(void)state;
	assert_int_equal(m->iext[1].first_strip, 3);
	assert_int_equal(m->iext[1].chunk_shift, 23);
	assert_int_equal(m->start[1], 30 * MiB);
	assert_int_equal(m->start[2], 130 * MiB);
	roundtrip(m);
	fmap_free(m);
}

/* Largest possible message: 43689 extents, 1 MiB - 8 bytes. */
static void test_roundtrip_max_simple(void **state)
{
	struct fmap *m = mk_uniform(FMAP_MAX_SIMPLE_EXTENTS, 2 * MiB, 4 * MiB,
				    (uint64_t)FMAP_MAX_SIMPLE_EXTENTS * 2 * MiB);

	(void)state;
	assert_int_equal(fmap_encoded_size(m), FMAP_MSG_MAX - 8);
	roundtrip(m);
	fmap_free(m);
}

/* ----------------------------------------------------- decode validation */

static uint8_t msg[FMAP_MSG_MAX + 64];

/* 3 simple extents, 8 MiB mapped, file 7 MiB; 104 bytes. */
static size_t base_simple(uint8_t *p)
{
	size_t n = wr_hdr(p, 0, FMAP_EXT_SIMPLE, 3, 7 * MiB);

	n += wr_ext(p + n, 0, 4 * MiB, 2 * MiB);
	n += wr_ext(p + n, 1, 10 * MiB, 4 * MiB);
	n += wr_ext(p + n, 0, 20 * MiB, 2 * MiB);
	return n;
}

/*
 * iext0 @32: 2 strips (@56, @80), chunk 2 MiB, 8 MiB;
 * iext1 @104: 3 strips (@128, @152, @176), chunk 4 MiB, 20 MiB
 * (5 chunks -> 2 stripes -> each strip >= 8 MiB); file 27 MiB; 200 bytes.
 */
static size_t base_striped(uint8_t *p)
{
	size_t n = wr_hdr(p, 0, FMAP_EXT_INTERLEAVE, 2, 27 * MiB);

	n += wr_iext(p + n, 2, 2 * MiB, 8 * MiB);
	n += wr_ext(p + n, 0, 100 * MiB, 4 * MiB);
	n += wr_ext(p + n, 0, 200 * MiB, 4 * MiB);
	n += wr_iext(p + n, 3, 4 * MiB, 20 * MiB);
	n += wr_ext(p + n, 1, 300 * MiB, 8 * MiB);
	n += wr_ext(p + n, 1, 400 * MiB, 8 * MiB);
	n += wr_ext(p + n, 2, 500 * MiB, 8 * MiB);
	return n;
}

static void test_base_messages_valid(void **state)
{
	struct fmap *m = NULL;
	const char *why = "x";
	struct fmap_loc loc;

	(void)state;
	assert_int_equal(base_simple(msg), 104);
	assert_int_equal(fmap_decode(msg, 104, &m, &why), 0);
	assert_null(why);
	assert_int_equal(m->nextents, 3);
	assert_int_equal(m->ext[1].devindex, 1);
	assert_int_equal(m->ext[1].offset, 10 * MiB);
	assert_int_equal(m->uniform_shift, 0);
	assert_int_equal(fmap_resolve(m, 3 * MiB, &loc), 0);
	assert_int_equal(loc.offset, 11 * MiB);
	assert_int_equal(loc.len, 3 * MiB);
	assert_int_equal(loc.devindex, 1);
	fmap_free(m);

	assert_int_equal(base_striped(msg), 200);
	assert_int_equal(fmap_decode(msg, 200, &m, &why), 0);
	assert_int_equal(m->nstrips_total, 5);
	assert_int_equal(m->iext[1].chunk_size, 4 * MiB);
	/* file 8 MiB + 13 MiB: iext1 o=13M, c=3, strip 0, stripe 1 -> 300M+4M+1M */
	assert_int_equal(fmap_resolve(m, 21 * MiB, &loc), 0);
	assert_int_equal(loc.offset, 305 * MiB);
	assert_int_equal(loc.len, 3 * MiB);
	assert_int_equal(loc.devindex, 1);
	/* o=17M: c=4, strip 1, stripe 1, chunk end 20M == nbytes */
	assert_int_equal(fmap_resolve(m, 25 * MiB, &loc), 0);
	assert_int_equal(loc.offset, 405 * MiB);
	assert_int_equal(loc.len, 3 * MiB);
	fmap_free(m);
}

/* A message that decodes from an odd address (no alignment assumptions). */
static void test_decode_unaligned(void **state)
{
	struct fmap *m = NULL;

	(void)state;
	base_striped(msg + 1);
	assert_int_equal(fmap_decode(msg + 1, 200, &m, NULL), 0);
	assert_int_equal(m->ext[4].offset, 500 * MiB);
	fmap_free(m);
}

struct poke {
	uint16_t at;
	uint8_t width;
	uint64_t val;
};

enum { LEN_KEEP, LEN_ADD, LEN_SET };

struct bad_case {
	const char *name;
	int striped;
	struct poke p[8];
	int len_mode;
	long len_val;
	const char *why;
	int32_t ext, strip;
};

#define P(a, w, v)                                                                                 \
	{                                                                                          \
		(a), (w), (uint64_t)(v)                                                            \
	}
#define NOIDX -2 /* don't check indices */

static const struct bad_case bad_cases[] = {
    /* lengths */
    {"len 0", 0, {{0}}, LEN_SET, 0, "message shorter than the 32-byte header", -1, -1},
    {"len 31", 0, {{0}}, LEN_SET, 31, "message shorter than the 32-byte header", -1, -1},
    {"len 4", 0, {{0}}, LEN_SET, 4, "4-byte size reply, not an fmap", -1, -1},
    {"len > max", 0, {{0}}, LEN_SET, FMAP_MSG_MAX + 1, "message longer than FMAP_MSG_MAX", -1, -1},
    {"header only", 0, {{0}}, LEN_SET, 32, "message shorter than its counts imply", -1, -1},
    {"simple -1 byte", 0, {{0}}, LEN_ADD, -1, "message shorter than its counts imply", -1, -1},
    {"simple +1 byte", 0, {{0}}, LEN_ADD, 1, "trailing bytes after the last extent", -1, -1},
    {"simple +24 bytes", 0, {{0}}, LEN_ADD, 24, "trailing bytes after the last extent", -1, -1},
    {"simple nextents+1", 0, {P(8, 4, 4)}, 0, 0, "message shorter than its counts imply", -1, -1},
    {"simple nextents-1", 0, {P(8, 4, 2)}, 0, 0, "trailing bytes after the last extent", -1, -1},
    {"striped -1 byte", 1, {{0}}, LEN_ADD, -1, "message shorter than its counts imply", 1, -1},
    {"striped -24", 1, {{0}}, LEN_ADD, -24, "message shorter than its counts imply", 1, -1},
    {"striped +1 byte", 1, {{0}}, LEN_ADD, 1, "trailing bytes after the last extent", -1, -1},
    {"striped +24", 1, {{0}}, LEN_ADD, 24, "trailing bytes after the last extent", -1, -1},
    {"striped nextents+1", 1, {P(8, 4, 3)}, 0, 0, "message shorter than its counts imply", 2, -1},
    {"striped nextents-1", 1, {P(8, 4, 1)}, 0, 0, "trailing bytes after the last extent", -1, -1},
    {"iext nstrips+1", 1, {P(104, 4, 4)}, 0, 0, "message shorter than its counts imply", 1, -1},
    {"iext nstrips-1", 1, {P(104, 4, 2)}, 0, 0, "trailing bytes after the last extent", -1, -1},
    /* header fields */
    {"version 0", 0, {P(2, 2, 0)}, 0, 0, "fmap_version is not 1", -1, -1},
    {"version 2", 1, {P(2, 2, 2)}, 0, 0, "fmap_version is not 1", -1, -1},
    {"hdr reserved", 0, {P(1, 1, 1)}, 0, 0, "header reserved field not 0", -1, -1},
    {"hdr reserved0", 0, {P(12, 4, 0x80000000)}, 0, 0, "header reserved0 field not 0", -1, -1},
    {"hdr reserved1", 1, {P(24, 8, 1ULL << 63)}, 0, 0, "header reserved1 field not 0", -1, -1},
    {"file_type 3", 0, {P(0, 1, 3)}, 0, 0, "file_type not 0, 1 or 2", -1, -1},
    {"file_type 255", 1, {P(0, 1, 255)}, 0, 0, "file_type not 0, 1 or 2", -1, -1},
    {"ext_type 2", 0, {P(4, 4, 2)}, 0, 0, "ext_type not 0 or 1", -1, -1},
    {"simple nextents 0", 0, {P(8, 4, 0)}, 0, 0, "nextents is 0", -1, -1},
    {"striped nextents 0", 1, {P(8, 4, 0)}, 0, 0, "nextents is 0", -1, -1},
    {"simple nextents max+1",
     0,
     {P(8, 4, FMAP_MAX_SIMPLE_EXTENTS + 1)},
     0,
     0,
     "nextents above FMAP_MAX_SIMPLE_EXTENTS",
     -1,
     -1},
    {"striped nextents 33", 1, {P(8, 4, 33)}, 0, 0, "nextents above FMAP_MAX_IEXTENTS", -1, -1},
    /* simple extents */
    {"ext reserved", 0, {P(80 + 4, 4, 1)}, 0, 0, "extent: reserved field not 0", 2, -1},
    {"ext offset unaligned",
     0,
     {P(56 + 8, 8, 10 * MiB + 4096)},
     0,
     0,
     "extent: offset not 2 MiB aligned",
     1,
     -1},
    {"ext len unaligned",
     0,
     {P(32 + 16, 8, 3 * MiB)},
     0,
     0,
     "extent: len not a 2 MiB multiple",
     0,
     -1},
    {"ext len 0", 0, {P(80 + 16, 8, 0)}, 0, 0, "extent: len is 0", 2, -1},
    {"ext offset+len overflow",
     0,
     {P(56 + 8, 8, 0ULL - 2 * MiB)},
     0,
     0,
     "extent: offset+len overflows u64",
     1,
     -1},
    {"ext len sum overflow",
     0,
     {P(56 + 16, 8, 1ULL << 63), P(80 + 16, 8, 1ULL << 63)},
     0,
     0,
     "sum of extent lens overflows u64",
     2,
     -1},
    {"simple coverage", 0, {P(16, 8, 8 * MiB + 1)}, 0, 0, "extents do not cover file_size", -1, -1},
    /* interleaved extents */
    {"nstrips 0", 1, {P(32, 4, 0)}, 0, 0, "iext: nstrips not in 1..32", 0, -1},
    {"nstrips 33", 1, {P(104, 4, 33)}, 0, 0, "iext: nstrips not in 1..32", 1, -1},
    {"iext reserved", 1, {P(104 + 16, 8, 1)}, 0, 0, "iext: reserved field not 0", 1, -1},
    {"chunk 0", 1, {P(32 + 4, 4, 0)}, 0, 0, "iext: chunk_size is 0", 0, -1},
    {"chunk 1 MiB",
     1,
     {P(32 + 4, 4, 1 * MiB)},
     0,
     0,
     "iext: chunk_size not a 2 MiB multiple",
     0,
     -1},
    {"chunk 4 KiB", 1, {P(104 + 4, 4, 4096)}, 0, 0, "iext: chunk_size not a 2 MiB multiple", 1, -1},
    {"chunk 6 MiB",
     1,
     {P(104 + 4, 4, 6 * MiB)},
     0,
     0,
     "iext: chunk_size not a power of two",
     1,
     -1},
    {"nbytes 0", 1, {P(104 + 8, 8, 0)}, 0, 0, "iext: nbytes is 0", 1, -1},
    {"strip reserved", 1, {P(152 + 4, 4, 7)}, 0, 0, "strip: reserved field not 0", 1, 1},
    {"strip offset unaligned",
     1,
     {P(80 + 8, 8, 200 * MiB + 512)},
     0,
     0,
     "strip: offset not 2 MiB aligned",
     0,
     1},
    {"strip len 0", 1, {P(176 + 16, 8, 0)}, 0, 0, "strip: len is 0", 1, 2},
    {"strip len unaligned",
     1,
     {P(56 + 16, 8, 4 * MiB + 1)},
     0,
     0,
     "strip: len not a 2 MiB multiple",
     0,
     0},
    {"strip len not chunk multiple",
     1,
     {P(128 + 16, 8, 6 * MiB)},
     0,
     0,
     "strip: len not a multiple of chunk_size",
     1,
     0},
    {"strip too short", 1, {P(176 + 16, 8, 4 * MiB)}, 0, 0, "strip: too short for nbytes", 1, 2},
    {"strip too short (nbytes+1)",
     1,
     {P(32 + 8, 8, 8 * MiB + 1)},
     0,
     0,
     "strip: too short for nbytes",
     0,
     0},
    {"strip offset+len overflow",
     1,
     {P(128 + 8, 8, 0ULL - 4 * MiB)},
     0,
     0,
     "strip: offset+len overflows u64",
     1,
     0},
    {"nbytes sum overflow",
     1,
     {P(32 + 8, 8, 1ULL << 63), P(56 + 16, 8, 1ULL << 62), P(80 + 16, 8, 1ULL << 62),
      P(104 + 8, 8, 1ULL << 63), P(128 + 16, 8, 1ULL << 62), P(152 + 16, 8, 1ULL << 62),
      P(176 + 16, 8, 1ULL << 62)},
     0,
     0,
     "sum of iext nbytes overflows u64",
     1,
     -1},
    {"striped coverage", 1, {P(16, 8, 28 * MiB + 1)}, 0, 0, "iexts do not cover file_size", -1, -1},
};

static void test_decode_rejects_each_rule(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(bad_cases) / sizeof(bad_cases[0]); c++) {
		const struct bad_case *bc = &bad_cases[c];
		static struct fmap dummy;
		struct fmap *sentinel = &dummy; /* *out must stay untouched */
		struct fmap *m = sentinel;
		struct fmap_diag d;
		const char *why = NULL;
		size_t len;
		int rc;

		memset(msg, 0, sizeof(msg));
		len = bc->striped ? base_striped(msg) : base_simple(msg);
		/* the unbroken message must be accepted... */
		assert_int_equal(fmap_decode(msg, len, &m, NULL), 0);
		fmap_free(m);
		m = sentinel;
		/* ...and breaking one rule must reject it with that rule's reason */
		for (int i = 0; i < 8 && bc->p[i].width; i++)
			put_le(msg + bc->p[i].at, bc->p[i].val, bc->p[i].width);
		if (bc->len_mode == LEN_ADD)
			len = (size_t)((long)len + bc->len_val);
		else if (bc->len_mode == LEN_SET)
			len = (size_t)bc->len_val;
		rc = fmap_decode(msg, len, &m, &why);
		if (rc != -EINVAL || !why || strcmp(why, bc->why) != 0)
			fail_msg("case '%s': rc %d why '%s', expected -EINVAL '%s'", bc->name, rc,
				 why ? why : "(null)", bc->why);
		assert_ptr_equal(m, sentinel);
		rc = fmap_decode_diag(msg, len, &m, &d);
		assert_int_equal(rc, -EINVAL);
		assert_string_equal(d.why, bc->why);
		if (bc->ext != NOIDX && (d.ext != bc->ext || d.strip != bc->strip))
			fail_msg("case '%s': index %d/%d, expected %d/%d", bc->name, d.ext, d.strip,
				 bc->ext, bc->strip);
	}
}

/* Exact length: the valid message plus any tail, or minus any byte, fails. */
static void test_decode_exact_length(void **state)
{
	size_t len = base_striped(msg);
	struct fmap *m = NULL;

	(void)state;
	for (size_t l = 0; l <= len + 48; l++) {
		int rc = fmap_decode(msg, l, &m, NULL);

		if (l == len) {
			assert_int_equal(rc, 0);
			fmap_free(m);
			m = NULL;
		} else {
			assert_int_equal(rc, -EINVAL);
		}
	}
}

/* file_size 0 is allowed; nothing resolves. */
static void test_decode_file_size_zero(void **state)
{
	struct fmap *m = NULL;
	struct fmap_loc loc;
	size_t len = base_simple(msg);

	(void)state;
	put_le(msg + 16, 0, 8);
	assert_int_equal(fmap_decode(msg, len, &m, NULL), 0);
	assert_int_equal(m->file_size, 0);
	assert_int_equal(fmap_resolve(m, 0, &loc), -ERANGE);
	fmap_free(m);
	len = base_striped(msg);
	put_le(msg + 16, 0, 8);
	assert_int_equal(fmap_decode(msg, len, &m, NULL), 0);
	assert_int_equal(fmap_resolve(m, 0, &loc), -ERANGE);
	fmap_free(m);
}

/* Rules only a builder can break, and what finalize computes. */
static void test_finalize_rules(void **state)
{
	struct fmap *m = mk_striped2();
	struct fmap_diag d;
	struct fmap_loc loc;
	uint8_t buf[512];

	(void)state;
	m->iext[1].chunk_size = 1ULL << 32;
	m->iext[1].nbytes = 1ULL << 32;
	for (int i = 3; i < 8; i++)
		m->ext[i].len = 1ULL << 32;
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "iext: chunk_size does not fit u32");
	assert_int_equal(d.ext, 1);
	assert_int_equal(m->ready, 0);
	assert_int_equal(fmap_resolve(m, 0, &loc), -EINVAL); /* not ready */
	assert_int_equal(fmap_encode(m, buf, sizeof(buf)), -EINVAL);
	fmap_free(m);

	m = mk_striped2();
	m->nstrips_total = 9; /* iexts use 8 strips: counts disagree */
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "nstrips_total differs from the sum of iext nstrips");
	m->nstrips_total = 7; /* iext1's 5 strips would run past ext[] */
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "iext: strips beyond nstrips_total");
	assert_int_equal(d.ext, 1);
	m->nstrips_total = FMAP_MAX_STRIPS_TOTAL + 1;
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "nstrips_total above FMAP_MAX_STRIPS_TOTAL");
	m->nstrips_total = 8;
	m->ext_type = 7;
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "ext_type not 0 or 1");
	m->ext_type = FMAP_EXT_INTERLEAVE;
	m->file_type = 3;
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL);
	assert_string_equal(d.why, "file_type not 0, 1 or 2");
	m->file_type = FMAP_FILE_SUPERBLOCK;
	/* first_strip / chunk_shift are recomputed even if the builder scribbled */
	m->iext[1].first_strip = 99;
	m->iext[1].chunk_shift = 3;
	assert_int_equal(fmap_finalize_diag(m, &d), 0);
	assert_null(d.why);
	assert_int_equal(m->iext[1].first_strip, 3);
	assert_int_equal(m->iext[1].chunk_shift, 23);
	assert_int_equal(m->ready, 1);
	fmap_free(m);
}

/* ------------------------------------------------------------ resolve */

static void test_resolve_uniform_512(void **state)
{
	struct fmap *m = mk_uniform(512, 2 * MiB, 2 * MiB, 1 * GiB - 4096 * 3 - 1);

	(void)state;
	assert_int_equal(m->uniform_shift, 21);
	sweep(m, 4096, check_one);
	fmap_free(m);
}

static void test_resolve_nonuniform(void **state)
{
	uint64_t sum;

	(void)state;
	rng_state = 42;
	for (int k = 0; k < 4; k++) {
		struct fmap *m = mk_random_simple(50 + 60 * k, &sum);

		assert_int_equal(m->start[m->nextents], sum);
		sweep(m, 4096 * (k + 1), check_one);
		fmap_free(m);
	}
	/* uniform prefix, but a power of two that is not 2 MiB... not allowed;
	 * equal lengths that are not a power of two: not uniform */
	struct fmap *m = mk_uniform(20, 6 * MiB, 6 * MiB, 120 * MiB);

	assert_int_equal(m->uniform_shift, 0);
	sweep(m, 4096, check_one);
	fmap_free(m);
}

/* Uniform maps whose last extent is shorter / longer than the others. */
static void test_resolve_uniform_last_differs(void **state)
{
	struct fmap *a = mk_uniform(33, 4 * MiB, 2 * MiB, 130 * MiB);
	struct fmap *b = mk_uniform(7, 8 * MiB, 40 * MiB, 88 * MiB - 1);
	struct fmap *c = mk_uniform(1, 2 * MiB, 10 * MiB, 10 * MiB);

	(void)state;
	assert_int_equal(a->uniform_shift, 22);
	assert_int_equal(b->uniform_shift, 23);
	assert_int_equal(c->uniform_shift, 63);
	sweep(a, 4096, check_one);
	sweep(b, 4096, check_one);
	sweep(c, 4096, check_one);
	fmap_free(a);
	fmap_free(b);
	fmap_free(c);
}

/* The O(1) path and the binary search agree everywhere. */
static void check_fast_vs_search(const struct fmap *m, uint64_t off)
{
	struct fmap slow = *m; /* shares the arrays, read-only */
	struct fmap_loc a = {0}, b = {0};
	int ra, rb;

	slow.uniform_shift = 0;
	ra = fmap_resolve(m, off, &a);
	rb = fmap_resolve(&slow, off, &b);
	assert_int_equal(ra, rb);
	assert_int_equal(a.offset, b.offset);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.devindex, b.devindex);
}

static void test_resolve_uniform_vs_search(void **state)
{
	struct fmap *m = mk_uniform(512, 2 * MiB, 2 * MiB, 1 * GiB);
	struct fmap *n = mk_uniform(100, 16 * MiB, 64 * MiB, 1600 * MiB);

	(void)state;
	assert_int_not_equal(m->uniform_shift, 0);
	assert_int_equal(n->uniform_shift, 24);
	sweep(m, 4096, check_fast_vs_search);
	sweep(n, 4096, check_fast_vs_search);
	fmap_free(m);
	fmap_free(n);
}

static void test_resolve_striped(void **state)
{
	struct fmap *a = mk_striped16();
	struct fmap *b = mk_striped2();

	(void)state;
	assert_int_equal(a->uniform_shift, 0);
	sweep(a, 4096, check_one);
	sweep(b, 4096, check_one);
	fmap_free(a);
	fmap_free(b);
}

/* Random striped maps: random chunk sizes, strip counts, nbytes. */
static void test_resolve_striped_random(void **state)
{
	(void)state;
	rng_state = 7;
	for (int k = 0; k < 20; k++) {
		struct ix ie[4];
		struct sx s[4 * 32];
		uint32_t ni = 1 + (uint32_t)(rnd() % 4), ns = 0;
		uint64_t dev_off = 64 * MiB, total = 0;

		for (uint32_t i = 0; i < ni; i++) {
			uint64_t chunk = FMAP_ALIGN << (rnd() % 3);
			uint32_t nstr = 1 + (uint32_t)(rnd() % 32);
			uint64_t nbytes = 1 + rnd() % (nstr * chunk * 3);

			if (i + 1 < ni) /* keep earlier iexts unrollable */
				nbytes = (nbytes + FMAP_ALIGN - 1) & ~(FMAP_ALIGN - 1);
			uint64_t nchunks = (nbytes + chunk - 1) / chunk;
			uint64_t stripes = (nchunks + nstr - 1) / nstr;
			ie[i] = (struct ix){nstr, chunk, nbytes};
			for (uint32_t j = 0; j < nstr; j++, ns++) {
				uint64_t len = (stripes + rnd() % 2) * chunk;

				s[ns] = (struct sx){(uint32_t)(rnd() % 3), dev_off, len};
				dev_off += len + chunk * (rnd() % 2);
			}
			total += nbytes;
		}
		struct fmap *m = mk_striped(ie, ni, s, total - rnd() % (total / 2 + 1));

		sweep(m, 64 * 1024, check_one);
		fmap_free(m);
	}
}

/* -------------------------------------------------------------- unroll */

static const struct fmap *unroll_orig;

static void check_unrolled(const struct fmap *u, uint64_t off)
{
	struct fmap_loc a = {0}, b = {0};
	int ra = fmap_resolve(unroll_orig, off, &a);
	int rb = fmap_resolve(u, off, &b);
	uint64_t rest = off < u->file_size ? u->file_size - off : 0;

	assert_int_equal(ra, rb);
	if (ra)
		return;
	assert_int_equal(a.offset, b.offset);
	assert_int_equal(a.devindex, b.devindex);
	assert_int_equal(a.len < rest ? a.len : rest, b.len < rest ? b.len : rest);
	check_one(u, off);
}

static void unroll_and_compare(const struct fmap *m, uint64_t step, uint32_t expect_shift)
{
	struct fmap *u = NULL;

	assert_int_equal(fmap_unroll(m, &u), 0);
	assert_non_null(u);
	assert_int_equal(u->ext_type, FMAP_EXT_SIMPLE);
	assert_int_equal(u->file_size, m->file_size);
	assert_int_equal(u->file_type, m->file_type);
	assert_int_equal(u->uniform_shift, expect_shift);
	unroll_orig = m;
	sweep(u, step, check_unrolled);
	roundtrip(u);
	fmap_free(u);
}

static void test_unroll(void **state)
{
	struct fmap *a = mk_striped16();
	struct fmap *b = mk_striped2();
	struct fmap *c = mk_uniform(9, 2 * MiB, 4 * MiB, 19 * MiB);
	struct fmap *u = NULL;

	(void)state;
	a->file_type = FMAP_FILE_LOG;
	unroll_and_compare(a, 4096, 21);
	/* 100 MiB - 3 in 2 MiB chunks: 50 extents */
	assert_int_equal(fmap_unroll(a, &u), 0);
	assert_int_equal(u->nextents, 50);
	fmap_free(u);
	unroll_and_compare(b, 4096, 0); /* two chunk sizes: binary search */
	/* 30 MiB / 2 MiB + ceil(90 MiB + 5 / 8 MiB) = 15 + 12 */
	assert_int_equal(fmap_unroll(b, &u), 0);
	assert_int_equal(u->nextents, 27);
	fmap_free(u);
	unroll_and_compare(c, 4096, c->uniform_shift); /* simple: a copy */
	fmap_free(a);
	fmap_free(b);
	fmap_free(c);
}

static void test_unroll_tails(void **state)
{
	/* iext0 ends mid-chunk at a 2 MiB boundary: a 2 MiB tail extent */
	static const struct ix ie[2] = {{2, 4 * MiB, 6 * MiB}, {1, 2 * MiB, 4 * MiB}};
	static const struct sx s[3] = {
	    {0, 10 * MiB, 4 * MiB}, {0, 20 * MiB, 4 * MiB}, {1, 40 * MiB, 4 * MiB}};
	struct fmap *m = mk_striped(ie, 2, s, 10 * MiB);
	struct fmap *u = NULL;

	(void)state;
	assert_int_equal(fmap_unroll(m, &u), 0);
	assert_int_equal(u->nextents, 4);
	assert_int_equal(u->ext[1].len, 2 * MiB);
	assert_int_equal(u->ext[1].offset, 20 * MiB);
	fmap_free(u);
	unroll_and_compare(m, 4096, 0);
	fmap_free(m);

	/* iext0 ends 1 MiB into a chunk and another iext follows: -EINVAL */
	static const struct ix ie2[2] = {{2, 2 * MiB, 3 * MiB}, {1, 2 * MiB, 4 * MiB}};
	m = mk_striped(ie2, 2, s, 7 * MiB);
	u = NULL;
	assert_int_equal(fmap_unroll(m, &u), -EINVAL);
	assert_null(u);
	/* ...but if the file ends inside iext0, iext1 is not needed */
	m->file_size = 3 * MiB;
	assert_int_equal(fmap_finalize(m), 0);
	unroll_and_compare(m, 4096, 21);
	/* file_size 0: still one extent */
	m->file_size = 0;
	assert_int_equal(fmap_finalize(m), 0);
	assert_int_equal(fmap_unroll(m, &u), 0);
	assert_int_equal(u->nextents, 1);
	fmap_free(u);
	fmap_free(m);
}

static void test_unroll_e2big(void **state)
{
	struct ix ie = {1, 2 * MiB, (uint64_t)FMAP_MAX_SIMPLE_EXTENTS * 2 * MiB};
	struct sx s = {0, 2 * MiB, (uint64_t)(FMAP_MAX_SIMPLE_EXTENTS + 1) * 2 * MiB};
	struct fmap *m = mk_striped(&ie, 1, &s, ie.nbytes);
	struct fmap *u = NULL;

	(void)state;
	/* exactly the limit: fits, and the message is the largest we allow */
	assert_int_equal(fmap_unroll(m, &u), 0);
	assert_int_equal(u->nextents, FMAP_MAX_SIMPLE_EXTENTS);
	assert_int_equal(u->uniform_shift, 21);
	roundtrip(u);
	fmap_free(u);
	u = NULL;
	/* one more chunk: too big */
	m->iext[0].nbytes += 1;
	m->file_size += 1;
	assert_int_equal(fmap_finalize(m), 0);
	assert_int_equal(fmap_unroll(m, &u), -E2BIG);
	assert_null(u);
	/* not ready */
	m->ready = 0;
	assert_int_equal(fmap_unroll(m, &u), -EINVAL);
	fmap_free(m);
}

/* ------------------------------------------- 4 KiB-aligned maps (issue 13) */

#define KiB 1024ULL

/* A simple map whose extents are 4 KiB-aligned: the decoder's alignment decides. */
static struct fmap *mk_simple_4k(const struct sx *e, uint32_t n, uint64_t fsize)
{
	struct fmap *m = fmap_alloc(FMAP_EXT_SIMPLE, n, 0);
	struct fmap_diag d;

	assert_non_null(m);
	assert_int_equal(m->align, FMAP_ALIGN); /* the default stays 2 MiB */
	m->file_size = fsize;
	for (uint32_t i = 0; i < n; i++)
		m->ext[i] = (struct fmap_extent){e[i].off, e[i].len, e[i].dev};
	assert_int_equal(fmap_finalize_diag(m, &d), -EINVAL); /* 2 MiB rules: refused */
	m->align = FMAP_ALIGN_PAGE;
	assert_int_equal(fmap_finalize_diag(m, &d), 0);
	assert_null(d.why);
	return m;
}

static void test_4k_roundtrip(void **state)
{
	/* A packed small file; a large one with a 2 MiB-aligned body and a 4 KiB tail. */
	static const struct sx small[2] = {{0, 0xa05000, 12 * KiB}, {0, 0x1233000, 4 * KiB}};
	static const struct sx large[2] = {{0, 0x4000000, 6 * MiB}, {0, 0x8000000, 8 * KiB}};
	struct fmap *m, *d = NULL;
	struct fmap_diag diag;
	uint8_t *buf;
	long n;

	(void)state;
	for (int k = 0; k < 2; k++) {
		m = k ? mk_simple_4k(large, 2, 6 * MiB + 5000) : mk_simple_4k(small, 2, 15000);
		assert_false(fmap_aligned(m, FMAP_ALIGN));
		assert_true(fmap_aligned(m, FMAP_ALIGN_PAGE));
		n = encode_alloc(m, &buf);
		/* The 2 MiB decoder (every kernel that did not ask for less) refuses it ... */
		assert_int_equal(fmap_decode_diag(buf, (size_t)n, &d, &diag), -EINVAL);
		assert_string_equal(diag.why, k ? "extent: len not a 2 MiB multiple"
						: "extent: offset not 2 MiB aligned");
		/* ... a decoder that accepts 4 KiB gets the same map back. */
		assert_int_equal(fmap_decode_align(buf, (size_t)n, FMAP_ALIGN_PAGE, &d, &diag), 0);
		assert_int_equal(d->align, FMAP_ALIGN_PAGE);
		assert_maps_equal(m, d);
		sweep(d, 4096, check_one);
		fmap_free(d);
		free(buf);
		fmap_free(m);
	}
	/* A 2 MiB-aligned map decodes with either alignment. */
	m = mk_uniform(4, 2 * MiB, 2 * MiB, 7 * MiB);
	n = encode_alloc(m, &buf);
	assert_true(fmap_aligned(m, FMAP_ALIGN) && fmap_aligned(m, FMAP_ALIGN_PAGE));
	assert_int_equal(fmap_decode_align(buf, (size_t)n, FMAP_ALIGN_PAGE, &d, NULL), 0);
	fmap_free(d);
	assert_int_equal(fmap_decode(buf, (size_t)n, &d, NULL), 0);
	fmap_free(d);
	free(buf);
	fmap_free(m);
}

static void test_4k_align_rules(void **state)
{
	static const struct sx e = {0, 0x200000, 8 * KiB};
	struct fmap *m = mk_simple_4k(&e, 1, 8 * KiB), *d = NULL;
	struct fmap_diag diag;
	uint8_t *buf;
	long n = encode_alloc(m, &buf);

	(void)state;
	/* Alignments a decoder may ask for: powers of two from 4 KiB to 2 MiB. */
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 2048, &d, &diag), -EINVAL);
	assert_string_equal(diag.why, "align not a power of two from 4 KiB to 2 MiB");
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 4 * MiB, &d, NULL), -EINVAL);
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 12288, &d, NULL), -EINVAL);
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 0, &d, NULL), -EINVAL);
	/* 8 KiB alignment: this 8 KiB extent at 2 MiB passes; 64 KiB does not. */
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 8 * KiB, &d, NULL), 0);
	fmap_free(d);
	assert_int_equal(fmap_decode_align(buf, (size_t)n, 64 * KiB, &d, &diag), -EINVAL);
	assert_string_equal(diag.why, "extent: len not a multiple of the map's align");
	assert_false(fmap_aligned(m, 64 * KiB));
	assert_false(fmap_aligned(m, 3));
	free(buf);
	/* A builder cannot go below 4 KiB either. */
	m->align = 512;
	assert_int_equal(fmap_finalize_diag(m, &diag), -EINVAL);
	assert_string_equal(diag.why, "align not a power of two from 4 KiB to 2 MiB");
	m->align = FMAP_ALIGN_PAGE;
	m->ext[0].offset += 512;
	assert_int_equal(fmap_finalize_diag(m, &diag), -EINVAL);
	assert_string_equal(diag.why, "extent: offset not aligned to the map's align");
	fmap_free(m);
}

static void test_4k_uniform_and_striped(void **state)
{
	/* 300 extents of 4 KiB (a fragmented file): uniform, O(1) resolve. */
	struct sx *e = calloc(300, sizeof(*e));
	struct fmap *m, *u = NULL, *d = NULL;
	uint8_t *buf;
	long n;

	(void)state;
	assert_non_null(e);
	for (uint32_t i = 0; i < 300; i++)
		e[i] = (struct sx){0, 0x1000000 + (uint64_t)((i * 7919) % 300) * 8 * KiB, 4 * KiB};
	m = mk_simple_4k(e, 300, 300 * 4 * KiB - 1);
	assert_int_equal(m->uniform_shift, 12);
	sweep(m, 4096, check_one);
	n = encode_alloc(m, &buf);
	assert_int_equal(fmap_decode_align(buf, (size_t)n, FMAP_ALIGN_PAGE, &d, NULL), 0);
	assert_int_equal(d->uniform_shift, 12);
	fmap_free(d);
	free(buf);
	fmap_free(m);
	free(e);

	/* Striped with 64 KiB chunks (4 KiB units allow them): decode, resolve, unroll. */
	static const struct ix ie = {4, 64 * KiB, 1 * MiB};
	static const struct sx st[4] = {{0, 0x1000000, 256 * KiB},
					{0, 0x1200000, 256 * KiB},
					{0, 0x1400000, 256 * KiB},
					{0, 0x1600000, 256 * KiB}};
	uint32_t ns = 4;

	m = fmap_alloc(FMAP_EXT_INTERLEAVE, 1, ns);
	assert_non_null(m);
	m->file_size = 1 * MiB - 100;
	m->iext[0] = (struct fmap_iext){.chunk_size = ie.chunk, .nbytes = ie.nbytes, .nstrips = 4};
	for (uint32_t i = 0; i < ns; i++)
		m->ext[i] = (struct fmap_extent){st[i].off, st[i].len, 0};
	assert_int_equal(fmap_finalize(m), -EINVAL);
	m->align = FMAP_ALIGN_PAGE;
	assert_int_equal(fmap_finalize(m), 0);
	assert_false(fmap_aligned(m, FMAP_ALIGN)); /* strips start aligned, chunks do not */
	sweep(m, 4096, check_one);
	n = encode_alloc(m, &buf);
	assert_int_equal(fmap_decode(buf, (size_t)n, &d, NULL), -EINVAL);
	assert_int_equal(fmap_decode_align(buf, (size_t)n, FMAP_ALIGN_PAGE, &d, NULL), 0);
	fmap_free(d);
	free(buf);
	assert_int_equal(fmap_unroll(m, &u), 0);
	assert_int_equal(u->nextents, 16);
	assert_int_equal(u->align, FMAP_ALIGN_PAGE);
	assert_int_equal(u->uniform_shift, 16);
	unroll_and_compare(m, 4096, 16);
	fmap_free(u);
	fmap_free(m);
}

/* ---------------------------------------------------- size negotiation */

static void test_size_reply(void **state)
{
	uint8_t buf[8];
	uint32_t needed = 0;

	(void)state;
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(fmap_reply_too_small(0x12345, buf, 4), 4);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(buf[1], 0x23);
	assert_int_equal(buf[2], 0x01);
	assert_int_equal(buf[3], 0x00);
	assert_int_equal(buf[4], 0xAA);
	assert_int_equal(fmap_parse_size_reply(buf, 4, &needed), 0);
	assert_int_equal(needed, 0x12345);

	assert_int_equal(fmap_reply_too_small(100, buf, 3), -ENOSPC);
	assert_int_equal(fmap_reply_too_small(4, buf, 4), -EINVAL);
	assert_int_equal(fmap_reply_too_small(FMAP_MIN_MSG - 1, buf, 4), -EINVAL);
	assert_int_equal(fmap_reply_too_small(FMAP_MSG_MAX + 1, buf, 4), -EINVAL);
	assert_int_equal(fmap_reply_too_small(FMAP_MSG_MAX, buf, 8), 4);
	assert_int_equal(fmap_reply_too_small(FMAP_MIN_MSG, buf, 8), 4);
	assert_int_equal(fmap_parse_size_reply(buf, 4, &needed), 0);
	assert_int_equal(needed, FMAP_MIN_MSG);

	needed = 77;
	assert_int_equal(fmap_parse_size_reply(buf, 3, &needed), -EINVAL);
	assert_int_equal(fmap_parse_size_reply(buf, 5, &needed), -EINVAL);
	assert_int_equal(fmap_parse_size_reply(buf, 56, &needed), -EINVAL);
	put_le(buf, 4, 4);
	assert_int_equal(fmap_parse_size_reply(buf, 4, &needed), -EINVAL);
	put_le(buf, 0, 4);
	assert_int_equal(fmap_parse_size_reply(buf, 4, &needed), -EINVAL);
	put_le(buf, FMAP_MSG_MAX + 1, 4);
	assert_int_equal(fmap_parse_size_reply(buf, 4, &needed), -EINVAL);
	assert_int_equal(needed, 77); /* untouched on error */
}

/* The full server/kernel dance with a too-small first buffer. */
static void test_size_negotiation_flow(void **state)
{
	struct fmap *m = mk_uniform(512, 2 * MiB, 2 * MiB, 1 * GiB);
	uint8_t *kbuf = malloc(4096), *big;
	uint32_t needed = 0;
	struct fmap *d = NULL;
	long n;

	(void)state;
	n = fmap_encode(m, kbuf, 4096);
	assert_int_equal(n, -ENOSPC);
	assert_int_equal(fmap_reply_too_small((uint32_t)fmap_encoded_size(m), kbuf, 4096), 4);
	assert_int_equal(fmap_decode(kbuf, 4, &d, NULL), -EINVAL);
	assert_int_equal(fmap_parse_size_reply(kbuf, 4, &needed), 0);
	assert_int_equal(needed, 32 + 24 * 512);
	big = malloc(needed);
	n = fmap_encode(m, big, needed);
	assert_int_equal(n, needed);
	assert_int_equal(fmap_decode(big, (size_t)n, &d, NULL), 0);
	assert_maps_equal(m, d);
	fmap_free(d);
	free(big);
	free(kbuf);
	fmap_free(m);
}

/* -------------------------------------------------------------- encode */

static void test_encode_too_small(void **state)
{
	struct fmap *maps[2] = {mk_uniform(16, 2 * MiB, 2 * MiB, 32 * MiB), mk_striped2()};
	uint8_t buf[1024];

	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t need = fmap_encoded_size(maps[k]);
		size_t sizes[] = {0, 1, 4, 31, 32, 55, 56, need - 24, need - 1};

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			memset(buf, 0xC5, sizeof(buf));
			assert_int_equal(fmap_encode(maps[k], buf, sizes[i]), -ENOSPC);
			for (size_t j = 0; j < sizeof(buf); j++)
				if (buf[j] != 0xC5)
					fail_msg("byte %zu written with size %zu", j, sizes[i]);
		}
		memset(buf, 0xC5, sizeof(buf));
		assert_int_equal(fmap_encode(maps[k], buf, need), (long)need);
		assert_int_equal(buf[need], 0xC5);
		assert_int_equal(buf[need - 1] == 0xC5, 0); /* last len byte is 0 */
		fmap_free(maps[k]);
	}
}

/* A map broken after finalize is refused by the encoder, nothing written. */
static void test_encode_invalid(void **state)
{
	struct fmap *m = mk_uniform(4, 2 * MiB, 2 * MiB, 8 * MiB);
	uint8_t buf[256];

	(void)state;
	memset(buf, 0xC5, sizeof(buf));
	m->ext[2].offset += 4096;
	assert_int_equal(fmap_encode(m, buf, sizeof(buf)), -EINVAL);
	m->ext[2].offset -= 4096;
	m->file_size = 8 * MiB + 1;
	assert_int_equal(fmap_encode(m, buf, sizeof(buf)), -EINVAL);
	m->file_size = 8 * MiB;
	m->ext_type = 5;
	assert_int_equal(fmap_encode(m, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(fmap_encoded_size(m), 0);
	for (size_t j = 0; j < sizeof(buf); j++)
		assert_int_equal(buf[j], 0xC5);
	m->ext_type = FMAP_EXT_SIMPLE;
	assert_int_equal(fmap_encode(m, buf, sizeof(buf)), 32 + 4 * 24);
	fmap_free(m);
}

/* ------------------------------------------------------- fuzz corpus */

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) != 0;
}

static int write_map(const char *dir, const char *name, struct fmap *m)
{
	uint8_t *buf;
	long n = encode_alloc(m, &buf);
	int rc = write_file(dir, name, buf, (size_t)n);

	free(buf);
	fmap_free(m);
	return rc;
}

/* A few valid messages as libFuzzer seeds. */
static int write_corpus(const char *dir)
{
	uint64_t sum;
	struct sx e = {0, 4 * MiB, 2 * MiB};
	struct fmap *u = NULL;
	int rc = 0;

	rng_state = 99;
	rc |= write_map(dir, "simple-1", mk_simple(&e, 1, 2 * MiB));
	rc |= write_map(dir, "simple-16-random", mk_random_simple(16, &sum));
	rc |= write_map(dir, "simple-64-uniform", mk_uniform(64, 2 * MiB, 4 * MiB, 129 * MiB));
	rc |= write_map(dir, "striped-1x16", mk_striped16());
	rc |= write_map(dir, "striped-2", mk_striped2());
	struct fmap *s = mk_striped2();

	if (fmap_unroll(s, &u) == 0)
		rc |= write_map(dir, "unrolled-2", u);
	fmap_free(s);
	e.len = 2 * MiB;
	s = mk_simple(&e, 1, 0);
	s->file_type = FMAP_FILE_SUPERBLOCK;
	fmap_finalize(s);
	rc |= write_map(dir, "simple-size0", s);
	rc |= write_file(dir, "base-simple", msg, base_simple(msg));
	rc |= write_file(dir, "base-striped", msg, base_striped(msg));
	return rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_args),
	    cmocka_unit_test(test_roundtrip_simple_1),
	    cmocka_unit_test(test_roundtrip_simple_16),
	    cmocka_unit_test(test_roundtrip_simple_512),
	    cmocka_unit_test(test_roundtrip_interleave_1x16),
	    cmocka_unit_test(test_roundtrip_interleave_2),
	    cmocka_unit_test(test_roundtrip_max_simple),
	    cmocka_unit_test(test_base_messages_valid),
	    cmocka_unit_test(test_decode_unaligned),
	    cmocka_unit_test(test_decode_rejects_each_rule),
	    cmocka_unit_test(test_decode_exact_length),
	    cmocka_unit_test(test_decode_file_size_zero),
	    cmocka_unit_test(test_finalize_rules),
	    cmocka_unit_test(test_resolve_uniform_512),
	    cmocka_unit_test(test_resolve_nonuniform),
	    cmocka_unit_test(test_resolve_uniform_last_differs),
	    cmocka_unit_test(test_resolve_uniform_vs_search),
	    cmocka_unit_test(test_resolve_striped),
	    cmocka_unit_test(test_resolve_striped_random),
	    cmocka_unit_test(test_unroll),
	    cmocka_unit_test(test_unroll_tails),
	    cmocka_unit_test(test_unroll_e2big),
	    cmocka_unit_test(test_4k_roundtrip),
	    cmocka_unit_test(test_4k_align_rules),
	    cmocka_unit_test(test_4k_uniform_and_striped),
	    cmocka_unit_test(test_size_reply),
	    cmocka_unit_test(test_size_negotiation_flow),
	    cmocka_unit_test(test_encode_too_small),
	    cmocka_unit_test(test_encode_invalid),
	};

	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	return cmocka_run_group_tests_name("fmap", tests, NULL, NULL);
}
