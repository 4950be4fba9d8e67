// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_fmap.c - libFuzzer target for the fmap codec.
 *
 * Build: clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ifmap \
 *            fuzz/fuzz_fmap.c fmap/fmap.c -o build/fuzz_fmap
 * Run:   build/fuzz_fmap -max_total_time=120 fuzz/corpus/fmap
 * Seeds: build/test/test_fmap --write-corpus fuzz/corpus/fmap
 *
 * Each input is used twice:
 *  1. as a GET_FMAP reply: decode it; on success re-encode and require the
 *     identical bytes, resolve every boundary and pseudo-random offsets and
 *     check them against a brute-force walker and against the extents,
 *     unroll and require the same resolution;
 *  2. as a recipe for a builder-made map (mostly valid values), which goes
 *     through finalize -> encode -> decode -> same checks.
 * Decoding is done with 2 MiB alignment and with 4 KiB (issue 13): the 4 KiB
 * decoder takes everything the 2 MiB one does, and more only for alignment.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "fmap.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * The checkers are oracles, not code under test: keep coverage
 * instrumentation out of them (it dominated the run time).
 */
#if defined(__clang__) && __clang_major__ >= 13
#define ORACLE __attribute__((no_sanitize("coverage")))
#else
#define ORACLE
#endif

/* Cap the brute-force work per map so huge maps stay fast. */
#define MAX_BOUNDARY_EXTENTS 256
#define N_RANDOM	     48

#define FMAP_REF_ATTR ORACLE
#include "../test/fmap_ref.h"

ORACLE static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

ORACLE static void check_inside(const struct fmap *m, const struct fmap_loc *l)
{
	uint32_t n = m->ext_type == FMAP_EXT_SIMPLE ? m->nextents : m->nstrips_total;

	CHECK(l->len > 0);
	for (uint32_t i = 0; i < n; i++) {
		const struct fmap_extent *e = &m->ext[i];

		if (e->devindex == l->devindex && l->offset >= e->offset &&
		    l->offset - e->offset < e->len && l->len <= e->len - (l->offset - e->offset))
			return;
	}
	CHECK(!"resolved range outside every extent");
}

/* Resolve @off in @m (and @u, its unrolled form, if given) and cross-check. */
ORACLE static void check_offset(const struct fmap *m, const struct fmap *u, uint64_t off, int brute)
{
	struct fmap_loc a, b;
	int ra = fmap_resolve(m, off, &a);

	if (off >= m->file_size) {
		CHECK(ra == -ERANGE);
		if (u)
			CHECK(fmap_resolve(u, off, &b) == -ERANGE);
		return;
	}
	CHECK(ra == 0);
	if (brute) {
		CHECK(fmap_ref_resolve(m, off, &b) == 0);
		CHECK(a.offset == b.offset && a.len == b.len && a.devindex == b.devindex);
		check_inside(m, &a);
	}
	if (u) {
		uint64_t rest = m->file_size - off;

		CHECK(fmap_resolve(u, off, &b) == 0);
		CHECK(a.offset == b.offset && a.devindex == b.devindex);
		CHECK((a.len < rest ? a.len : rest) == (b.len < rest ? b.len : rest));
	}
}

static void check_offsets(const struct fmap *m, const struct fmap *u, uint64_t seed)
{
	uint32_t n = m->nextents, step = n > MAX_BOUNDARY_EXTENTS ? n / MAX_BOUNDARY_EXTENTS : 1;
	int brute = n <= 1024;

	for (uint32_t i = 0; i <= n; i += step) {
		uint64_t s = m->start[i];

		check_offset(m, u, s, brute);
		check_offset(m, u, s + 1, brute);
		if (s)
			check_offset(m, u, s - 1, brute);
		if (i < n && m->ext_type == FMAP_EXT_INTERLEAVE) {
			/* chunk boundaries of the first and the last stripes */
			const struct fmap_iext *ie = &m->iext[i];
			uint64_t span = ie->chunk_size * ie->nstrips;

			for (uint64_t k = 0; k <= ie->nstrips && k * ie->chunk_size < ie->nbytes;
			     k++) {
				uint64_t o = k * ie->chunk_size;

				check_offset(m, u, s + o, brute);
				check_offset(m, u, s + o - 1, brute);
				if (ie->nbytes > span && o < span)
					check_offset(m, u, s + ie->nbytes - span + o, brute);
			}
		}
	}
	check_offset(m, u, m->start[n] - 1, brute);
	check_offset(m, u, m->file_size, brute);
	check_offset(m, u, UINT64_MAX, brute);
	if (m->file_size) {
		check_offset(m, u, m->file_size - 1, brute);
		for (int i = 0; i < N_RANDOM; i++)
			check_offset(m, u, mix(seed + (uint64_t)i) % m->file_size, brute);
	}
}

ORACLE static void check_index(const struct fmap *m)
{
	CHECK(m->ready);
	CHECK(m->start[0] == 0);
	for (uint32_t i = 0; i < m->nextents; i++)
		CHECK(m->start[i] < m->start[i + 1]);
	CHECK(m->start[m->nextents] >= m->file_size);
	if (m->ext_type == FMAP_EXT_SIMPLE && m->uniform_shift && m->nextents > 1)
		for (uint32_t i = 0; i + 1 < m->nextents; i++)
			CHECK(m->ext[i].len == 1ULL << m->uniform_shift);
}

/* encode @m, require it to decode to an identical re-encoding. */
static void check_encode_roundtrip(const struct fmap *m, const uint8_t *expect, size_t len)
{
	size_t need = fmap_encoded_size(m);
	uint8_t *buf = malloc(need + 1);
	struct fmap *d = NULL;
	const char *why = "x";
	long n;

	CHECK(buf && need >= FMAP_MIN_MSG && need <= FMAP_MSG_MAX);
	buf[need] = 0x5a;
	CHECK(fmap_encode(m, buf, need - 1) == -ENOSPC);
	n = fmap_encode(m, buf, need);
	CHECK(n == (long)need && buf[need] == 0x5a);
	if (expect)
		CHECK(len == need && memcmp(buf, expect, len) == 0);
	if (m->align == FMAP_ALIGN) {
		CHECK(fmap_decode(buf, need, &d, &why) == 0 && why == NULL);
	} else {
		struct fmap_diag diag;

		CHECK(fmap_decode_align(buf, need, m->align, &d, &diag) == 0 && diag.why == NULL);
		CHECK(d->align == m->align);
	}
	CHECK(d->nextents == m->nextents && d->file_size == m->file_size &&
	      d->uniform_shift == m->uniform_shift && d->nstrips_total == m->nstrips_total);
	CHECK(memcmp(d->start, m->start, sizeof(uint64_t) * (m->nextents + 1)) == 0);
	fmap_free(d);
	free(buf);
}

static void check_map(const struct fmap *m, uint64_t seed)
{
	struct fmap *u = NULL;
	int rc;

	check_index(m);
	check_offsets(m, NULL, seed);

	rc = fmap_unroll(m, &u);
	if (m->ext_type == FMAP_EXT_SIMPLE)
		CHECK(rc == 0);
	else
		CHECK(rc == 0 || rc == -E2BIG || rc == -EINVAL);
	if (rc)
		return;
	CHECK(u->ext_type == FMAP_EXT_SIMPLE && u->file_size == m->file_size);
	check_index(u);
	check_offsets(u, NULL, seed ^ 1);
	check_offsets(m, u, seed ^ 2);
	check_encode_roundtrip(u, NULL, 0);
	fmap_free(u);
}

static void fuzz_decode(const uint8_t *data, size_t size, uint64_t seed)
{
	struct fmap *m = NULL;
	const char *why = NULL;
	uint32_t needed = 0;
	int rc;

	rc = fmap_parse_size_reply(data, size, &needed);
	if (rc == 0)
		CHECK(size == 4 && needed >= FMAP_MIN_MSG && needed <= FMAP_MSG_MAX);

	rc = fmap_decode(data, size, &m, &why);
	{
		/* A 4 KiB decoder takes everything the 2 MiB one does, and more only
		 * because of alignment (issue 13). */
		struct fmap *m4 = NULL;
		struct fmap_diag d4;
		int rc4 = fmap_decode_align(data, size, FMAP_ALIGN_PAGE, &m4, &d4);

		CHECK(rc4 == 0 || rc4 == -EINVAL);
		if (rc == 0)
			CHECK(rc4 == 0 && m4->nextents == m->nextents &&
			      memcmp(m4->start, m->start, sizeof(uint64_t) * (m->nextents + 1)) ==
				  0);
		if (rc4 == 0 && rc != 0) {
			CHECK(!fmap_aligned(m4, FMAP_ALIGN) && fmap_aligned(m4, FMAP_ALIGN_PAGE));
			check_encode_roundtrip(m4, data, size);
			check_map(m4, seed);
		}
		fmap_free(m4);
	}
	if (rc) {
		CHECK(rc == -EINVAL && why != NULL && m == NULL);
		return;
	}
	CHECK(why == NULL && m != NULL);
	CHECK(size >= FMAP_MIN_MSG && size <= FMAP_MSG_MAX);
	check_encode_roundtrip(m, data, size);
	check_map(m, seed);
	fmap_free(m);
}

/* ------------------------------------------------- builder-made maps */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint64_t rd(struct rd *r, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++) {
		v |= (uint64_t)(r->n ? *r->p : 0) << (8 * i);
		if (r->n) {
			r->p++;
			r->n--;
		}
	}
	return v;
}

/* Mostly-valid values; a "raw" flag lets the fuzzer break any rule. */
static uint64_t rd_units(struct rd *r, uint64_t unit)
{
	uint8_t ctl = (uint8_t)rd(r, 1);

	if ((ctl & 0xf0) == 0xf0)
		return rd(r, 8); /* anything */
	return (uint64_t)(ctl & 0x3f) * unit + (ctl & 0x40 ? unit << 20 : 0);
}

static void fuzz_build(const uint8_t *data, size_t size, uint64_t seed)
{
	struct rd r = {data, size};
	uint8_t ctl = (uint8_t)rd(&r, 1);
	uint32_t ext_type = ctl & 1, n, ns = 0;
	uint32_t nstr[FMAP_MAX_IEXTENTS];
	uint64_t sum = 0, devoff = FMAP_ALIGN * (rd(&r, 1) + 1);
	/* Bit 5: a 4 KiB-unit file system's map (issue 13). */
	uint64_t unit = ctl & 0x20 ? FMAP_ALIGN_PAGE : FMAP_ALIGN;
	struct fmap *m;
	uint8_t buf[64];

	if (ext_type == FMAP_EXT_SIMPLE) {
		n = 1 + (uint32_t)rd(&r, 2) % (ctl & 2 ? 2048 : 48);
	} else {
		n = 1 + (uint32_t)rd(&r, 1) % 6;
		for (uint32_t i = 0; i < n; i++) {
			nstr[i] = 1 + (uint32_t)rd(&r, 1) % FMAP_MAX_STRIPS;
			ns += nstr[i];
		}
	}
	m = fmap_alloc(ext_type, n, ns);
	CHECK(m != NULL);
	m->align = unit;
	m->file_type = (uint8_t)((ctl >> 2) % 3);

	if (ext_type == FMAP_EXT_SIMPLE) {
		for (uint32_t i = 0; i < n; i++) {
			struct fmap_extent *e = &m->ext[i];

			e->len = rd_units(&r, unit);
			if (!(ctl & 0x80) && i > 0)
				e->len = m->ext[0].len; /* often uniform */
			e->offset = devoff + rd_units(&r, unit);
			e->devindex = (uint32_t)rd(&r, 1) % 4;
			devoff = e->offset + e->len;
			sum += e->len;
		}
	} else {
		uint32_t cursor = 0;

		for (uint32_t i = 0; i < n; i++) {
			struct fmap_iext *ie = &m->iext[i];
			uint8_t c = (uint8_t)rd(&r, 1);
			uint64_t chunk = (c & 0xf0) == 0xf0 ? rd(&r, 4) : unit << (c % 5);
			uint64_t nbytes = rd(&r, 1) & 1 ? rd_units(&r, unit) : rd(&r, 4) + 1;
			uint64_t stripes;

			ie->nstrips = nstr[i];
			ie->chunk_size = chunk;
			ie->nbytes = nbytes;
			stripes = chunk ? (nbytes / chunk + 1 + nstr[i] - 1) / nstr[i] : 1;
			for (uint32_t s = 0; s < nstr[i]; s++) {
				struct fmap_extent *e = &m->ext[cursor + s];

				e->len = stripes * chunk;
				if (rd(&r, 1) == 0xff)
					e->len = rd_units(&r, unit);
				e->offset = devoff;
				e->devindex = (uint32_t)rd(&r, 1) % 4;
				devoff += e->len;
			}
			cursor += nstr[i];
			sum += nbytes;
		}
	}
	m->file_size = sum - (sum ? rd(&r, 4) % sum : 0);
	if (rd(&r, 1) == 0xff)
		m->file_size = rd(&r, 8);

	if (fmap_finalize(m) == 0) {
		check_encode_roundtrip(m, NULL, 0);
		check_map(m, seed);
	} else {
		CHECK(!m->ready);
		CHECK(fmap_encode(m, buf, sizeof(buf)) == -EINVAL);
		CHECK(fmap_resolve(m, 0, &(struct fmap_loc){0}) == -EINVAL);
	}
	fmap_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = size;

	for (size_t i = 0; i < size && i < 64; i++)
		seed = mix(seed ^ data[i]);
	fuzz_decode(data, size, seed);
	fuzz_build(data, size, seed);
	return 0;
}
