// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * fmap.c - famfs fmap codec: decode/validate, encode, resolve, unroll.
 *
 * Freestanding: everything from the environment comes via fmap_compat.h,
 * so this file builds unchanged in user space and in the fuse module.
 * The rules are described in docs/fmap-codec.md.
 */
#include "fmap.h"

/* ------------------------------------------------------------- helpers */

static int fmap_fail(struct fmap_diag *d, const char *why, int32_t ext, int32_t strip)
{
	if (d) {
		d->why = why;
		d->ext = ext;
		d->strip = strip;
	}
	return -EINVAL;
}

static void fmap_diag_clear(struct fmap_diag *d)
{
	if (d) {
		d->why = NULL;
		d->ext = -1;
		d->strip = -1;
	}
}

static bool fmap_is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static bool fmap_is_aligned(uint64_t x, uint64_t align)
{
	return (x & (align - 1)) == 0;
}

/* An alignment a map may have: a power of two, 4 KiB .. 2 MiB. */
static bool fmap_align_ok(uint64_t align)
{
	return fmap_is_pow2(align) && align >= FMAP_ALIGN_PAGE && align <= FMAP_ALIGN;
}

/* log2 of a power of two (validation time only, at most 63 steps). */
static uint32_t fmap_log2(uint64_t x)
{
	uint32_t s = 0;

	while (s < 63 && (1ULL << s) < x)
		s++;
	return s;
}

/* ceil(n / d) for d != 0 without overflowing n + d - 1. */
static uint64_t fmap_div_round_up(uint64_t n, uint32_t d)
{
	uint32_t rem;
	uint64_t q = fmap_div_u64_rem(n, d, &rem);

	return q + (rem != 0);
}

/*
 * Index i in [0, n) with start[i] <= off < start[i + 1], for strictly
 * increasing start[] with start[0] == 0 <= off < start[n].  n >= 1.
 */
static inline uint32_t fmap_find(const uint64_t *start, uint32_t n, uint64_t off)
{
	const uint64_t *base = start;
	uint32_t len = n;

	while (len > 1) {
		uint32_t half = len / 2;

		if (base[half] <= off)
			base += half;
		len -= half;
	}
	return (uint32_t)(base - start);
}

/* ---------------------------------------------------------- validation */

/* Rules shared by simple extents and strips; @is_strip picks the wording. */
static int fmap_check_extent(const struct fmap_extent *e, uint64_t align, bool is_strip,
			     struct fmap_diag *d, int32_t ei, int32_t si)
{
	bool pmd = align == FMAP_ALIGN;

	if (e->len == 0)
		return fmap_fail(d, is_strip ? "strip: len is 0" : "extent: len is 0", ei, si);
	if (!fmap_is_aligned(e->offset, align))
		return fmap_fail(d,
				 is_strip ? (pmd ? "strip: offset not 2 MiB aligned"
						 : "strip: offset not aligned to the map's align")
					  : (pmd ? "extent: offset not 2 MiB aligned"
						 : "extent: offset not aligned to the map's align"),
				 ei, si);
	if (!fmap_is_aligned(e->len, align))
		return fmap_fail(d,
				 is_strip ? (pmd ? "strip: len not a 2 MiB multiple"
						 : "strip: len not a multiple of the map's align")
					  : (pmd ? "extent: len not a 2 MiB multiple"
						 : "extent: len not a multiple of the map's align"),
				 ei, si);
	if (e->offset > FMAP_U64_MAX - e->len)
		return fmap_fail(d,
				 is_strip ? "strip: offset+len overflows u64"
					  : "extent: offset+len overflows u64",
				 ei, si);
	return 0;
}

static int fmap_check_simple(const struct fmap *m, struct fmap_diag *d)
{
	uint64_t sum = 0;
	uint32_t i;
	int rc;

	if (m->nextents > FMAP_MAX_SIMPLE_EXTENTS)
		return fmap_fail(d, "nextents above FMAP_MAX_SIMPLE_EXTENTS", -1, -1);
	for (i = 0; i < m->nextents; i++) {
		const struct fmap_extent *e = &m->ext[i];

		rc = fmap_check_extent(e, m->align, false, d, (int32_t)i, -1);
		if (rc)
			return rc;
		if (e->len > FMAP_U64_MAX - sum)
			return fmap_fail(d, "sum of extent lens overflows u64", (int32_t)i, -1);
		sum += e->len;
	}
	if (sum < m->file_size)
		return fmap_fail(d, "extents do not cover file_size", -1, -1);
	return 0;
}

static int fmap_check_iext(const struct fmap *m, uint32_t i, uint32_t cursor, struct fmap_diag *d)
{
	const struct fmap_iext *ie = &m->iext[i];
	uint64_t chunk = ie->chunk_size;
	uint64_t nstripes;
	uint32_t shift, s;
	int rc;

	if (ie->nstrips == 0 || ie->nstrips > FMAP_MAX_STRIPS)
		return fmap_fail(d, "iext: nstrips not in 1..32", (int32_t)i, -1);
	if (ie->nstrips > m->nstrips_total - cursor)
		return fmap_fail(d, "iext: strips beyond nstrips_total", (int32_t)i, -1);
	if (chunk == 0)
		return fmap_fail(d, "iext: chunk_size is 0", (int32_t)i, -1);
	if (!fmap_is_aligned(chunk, m->align))
		return fmap_fail(d,
				 m->align == FMAP_ALIGN
				     ? "iext: chunk_size not a 2 MiB multiple"
				     : "iext: chunk_size not a multiple of the map's align",
				 (int32_t)i, -1);
	if (!fmap_is_pow2(chunk))
		return fmap_fail(d, "iext: chunk_size not a power of two", (int32_t)i, -1);
	if (chunk > 0x80000000ULL)
		return fmap_fail(d, "iext: chunk_size does not fit u32", (int32_t)i, -1);
	if (ie->nbytes == 0)
		return fmap_fail(d, "iext: nbytes is 0", (int32_t)i, -1);

	/* Chunks each strip must hold so that no offset < nbytes runs off it. */
	shift = fmap_log2(chunk);
	nstripes = fmap_div_round_up((ie->nbytes >> shift) + ((ie->nbytes & (chunk - 1)) != 0),
				     ie->nstrips);

	for (s = 0; s < ie->nstrips; s++) {
		const struct fmap_extent *e = &m->ext[cursor + s];

		rc = fmap_check_extent(e, m->align, true, d, (int32_t)i, (int32_t)s);
		if (rc)
			return rc;
		if (e->len & (chunk - 1))
			return fmap_fail(d, "strip: len not a multiple of chunk_size", (int32_t)i,
					 (int32_t)s);
		if ((e->len >> shift) < nstripes)
			return fmap_fail(d, "strip: too short for nbytes", (int32_t)i, (int32_t)s);
	}
	return 0;
}

static int fmap_check_interleave(const struct fmap *m, struct fmap_diag *d)
{
	uint64_t sum = 0;
	uint32_t cursor = 0;
	uint32_t i;
	int rc;

	if (m->nextents > FMAP_MAX_IEXTENTS)
		return fmap_fail(d, "nextents above FMAP_MAX_IEXTENTS", -1, -1);
	if (m->nstrips_total > FMAP_MAX_STRIPS_TOTAL)
		return fmap_fail(d, "nstrips_total above FMAP_MAX_STRIPS_TOTAL", -1, -1);
	for (i = 0; i < m->nextents; i++) {
		const struct fmap_iext *ie = &m->iext[i];

		rc = fmap_check_iext(m, i, cursor, d);
		if (rc)
			return rc;
		cursor += ie->nstrips;
		if (ie->nbytes > FMAP_U64_MAX - sum)
			return fmap_fail(d, "sum of iext nbytes overflows u64", (int32_t)i, -1);
		sum += ie->nbytes;
	}
	if (cursor != m->nstrips_total)
		return fmap_fail(d, "nstrips_total differs from the sum of iext nstrips", -1, -1);
	if (sum < m->file_size)
		return fmap_fail(d, "iexts do not cover file_size", -1, -1);
	return 0;
}

/* Every semantic rule; reads @m only. */
static int fmap_check(const struct fmap *m, struct fmap_diag *d)
{
	fmap_diag_clear(d);
	if (!fmap_align_ok(m->align))
		return fmap_fail(d, "align not a power of two from 4 KiB to 2 MiB", -1, -1);
	if (m->file_type > FMAP_FILE_LOG)
		return fmap_fail(d, "file_type not 0, 1 or 2", -1, -1);
	if (m->nextents == 0)
		return fmap_fail(d, "nextents is 0", -1, -1);
	switch (m->ext_type) {
	case FMAP_EXT_SIMPLE:
		return fmap_check_simple(m, d);
	case FMAP_EXT_INTERLEAVE:
		return fmap_check_interleave(m, d);
	default:
		return fmap_fail(d, "ext_type not 0 or 1", -1, -1);
	}
}

/* Fill start[], uniform_shift, first_strip, chunk_shift of a checked map. */
static void fmap_build_index(struct fmap *m)
{
	uint64_t pos = 0;
	uint32_t i;

	if (m->ext_type == FMAP_EXT_SIMPLE) {
		uint64_t l0 = m->ext[0].len;
		bool uniform = fmap_is_pow2(l0);

		for (i = 0; i < m->nextents; i++) {
			m->start[i] = pos;
			pos += m->ext[i].len;
			if (i + 1 < m->nextents && m->ext[i].len != l0)
				uniform = false;
		}
		m->start[m->nextents] = pos;
		if (m->nextents == 1)
			m->uniform_shift = 63; /* off >> 63 clamps to extent 0 */
		else
			m->uniform_shift = uniform ? fmap_log2(l0) : 0;
	} else {
		uint32_t cursor = 0;

		for (i = 0; i < m->nextents; i++) {
			struct fmap_iext *ie = &m->iext[i];

			m->start[i] = pos;
			pos += ie->nbytes;
			ie->first_strip = cursor;
			ie->chunk_shift = fmap_log2(ie->chunk_size);
			cursor += ie->nstrips;
		}
		m->start[m->nextents] = pos;
		m->uniform_shift = 0;
	}
	m->ready = 1;
}

/* ------------------------------------------------------------- lifecycle */

struct fmap *fmap_alloc(uint32_t ext_type, uint32_t nextents, uint32_t nstrips_total)
{
	size_t next, niext, sz, off_ext, off_iext, off_start;
	struct fmap *m;
	uint8_t *base;

	if (nextents == 0)
		return NULL;
	if (ext_type == FMAP_EXT_SIMPLE) {
		if (nextents > FMAP_MAX_SIMPLE_EXTENTS)
			return NULL;
		next = nextents;
		niext = 0;
		nstrips_total = 0;
	} else if (ext_type == FMAP_EXT_INTERLEAVE) {
		if (nextents > FMAP_MAX_IEXTENTS || nstrips_total < nextents ||
		    nstrips_total > FMAP_MAX_STRIPS_TOTAL)
			return NULL;
		next = nstrips_total;
		niext = nextents;
	} else {
		return NULL;
	}

	/* One block: struct | start[n+1] | ext[] | iext[]; all 8-byte aligned. */
	off_start = sizeof(*m);
	off_ext = off_start + sizeof(uint64_t) * ((size_t)nextents + 1);
	off_iext = off_ext + sizeof(struct fmap_extent) * next;
	sz = off_iext + sizeof(struct fmap_iext) * niext;

	base = fmap_zalloc(sz);
	if (!base)
		return NULL;
	m = (struct fmap *)base;
	m->align = FMAP_ALIGN;
	m->ext_type = ext_type;
	m->nextents = nextents;
	m->nstrips_total = nstrips_total;
	m->start = (uint64_t *)(base + off_start);
	m->ext = (struct fmap_extent *)(base + off_ext);
	m->iext = niext ? (struct fmap_iext *)(base + off_iext) : NULL;
	return m;
}

void fmap_free(struct fmap *m)
{
	if (m)
		fmap_free_mem(m);
}

int fmap_finalize_diag(struct fmap *m, struct fmap_diag *diag)
{
	int rc;

	m->ready = 0;
	rc = fmap_check(m, diag);
	if (rc)
		return rc;
	fmap_build_index(m);
	return 0;
}

int fmap_finalize(struct fmap *m)
{
	return fmap_finalize_diag(m, NULL);
}

/* -------------------------------------------------------------- encode */

size_t fmap_encoded_size(const struct fmap *m)
{
	if (m->nextents == 0)
		return 0;
	if (m->ext_type == FMAP_EXT_SIMPLE) {
		if (m->nextents > FMAP_MAX_SIMPLE_EXTENTS)
			return 0;
		return FMAP_HDR_SIZE + (size_t)FMAP_EXT_SIZE * m->nextents;
	}
	if (m->ext_type == FMAP_EXT_INTERLEAVE) {
		if (m->nextents > FMAP_MAX_IEXTENTS || m->nstrips_total > FMAP_MAX_STRIPS_TOTAL)
			return 0;
		return FMAP_HDR_SIZE + (size_t)FMAP_EXT_SIZE * (m->nextents + m->nstrips_total);
	}
	return 0;
}

static void fmap_put_extent(uint8_t *p, const struct fmap_extent *e)
{
	struct fmap_wire_simple_ext w;

	w.devindex = fmap_cpu_to_le32(e->devindex);
	w.reserved = 0;
	w.offset = fmap_cpu_to_le64(e->offset);
	w.len = fmap_cpu_to_le64(e->len);
	fmap_memcpy(p, &w, sizeof(w));
}

long fmap_encode(const struct fmap *m, void *buf, size_t size)
{
	struct fmap_wire_header h;
	uint8_t *p = buf;
	size_t need, pos;
	uint32_t i, s, cursor;

	if (fmap_check(m, NULL))
		return -EINVAL;
	need = fmap_encoded_size(m);
	if (need == 0 || need > FMAP_MSG_MAX)
		return -EINVAL;
	if (size < need)
		return -ENOSPC;

	h.file_type = m->file_type;
	h.reserved = 0;
	h.fmap_version = fmap_cpu_to_le16(FMAP_VERSION);
	h.ext_type = fmap_cpu_to_le32(m->ext_type);
	h.nextents = fmap_cpu_to_le32(m->nextents);
	h.reserved0 = 0;
	h.file_size = fmap_cpu_to_le64(m->file_size);
	h.reserved1 = 0;
	fmap_memcpy(p, &h, sizeof(h));
	pos = sizeof(h);

	if (m->ext_type == FMAP_EXT_SIMPLE) {
		for (i = 0; i < m->nextents; i++, pos += FMAP_EXT_SIZE)
			fmap_put_extent(p + pos, &m->ext[i]);
		return (long)pos;
	}

	cursor = 0;
	for (i = 0; i < m->nextents; i++) {
		const struct fmap_iext *ie = &m->iext[i];
		struct fmap_wire_iext w;

		w.nstrips = fmap_cpu_to_le32(ie->nstrips);
		w.chunk_size = fmap_cpu_to_le32((uint32_t)ie->chunk_size);
		w.nbytes = fmap_cpu_to_le64(ie->nbytes);
		w.reserved = 0;
		fmap_memcpy(p + pos, &w, sizeof(w));
		pos += FMAP_EXT_SIZE;
		for (s = 0; s < ie->nstrips; s++, pos += FMAP_EXT_SIZE)
			fmap_put_extent(p + pos, &m->ext[cursor + s]);
		cursor += ie->nstrips;
	}
	return (long)pos;
}

/* -------------------------------------------------------------- decode */

/* Read one wire extent at @p (bounds already checked); reserved must be 0. */
static int fmap_get_extent(const uint8_t *p, struct fmap_extent *e)
{
	struct fmap_wire_simple_ext w;

	fmap_memcpy(&w, p, sizeof(w));
	if (e) {
		e->devindex = fmap_le32_to_cpu(w.devindex);
		e->offset = fmap_le64_to_cpu(w.offset);
		e->len = fmap_le64_to_cpu(w.len);
	}
	return w.reserved != 0 ? -EINVAL : 0;
}

static void fmap_get_iext(const uint8_t *p, struct fmap_wire_iext *w)
{
	fmap_memcpy(w, p, sizeof(*w));
	w->nstrips = fmap_le32_to_cpu(w->nstrips);
	w->chunk_size = fmap_le32_to_cpu(w->chunk_size);
	w->nbytes = fmap_le64_to_cpu(w->nbytes);
	w->reserved = fmap_le64_to_cpu(w->reserved);
}

/*
 * Structural pass over an interleaved message: bounds, strip counts,
 * reserved fields, exact length.  Returns the total strip count in *total.
 */
static int fmap_walk_interleave(const uint8_t *p, size_t len, uint32_t niext, uint32_t *total,
				struct fmap_diag *d)
{
	size_t pos = FMAP_HDR_SIZE;
	uint32_t i, s, sum = 0;

	for (i = 0; i < niext; i++) {
		struct fmap_wire_iext w;

		if (len - pos < FMAP_EXT_SIZE)
			return fmap_fail(d, "message shorter than its counts imply", (int32_t)i,
					 -1);
		fmap_get_iext(p + pos, &w);
		pos += FMAP_EXT_SIZE;
		if (w.nstrips == 0 || w.nstrips > FMAP_MAX_STRIPS)
			return fmap_fail(d, "iext: nstrips not in 1..32", (int32_t)i, -1);
		if (w.reserved != 0)
			return fmap_fail(d, "iext: reserved field not 0", (int32_t)i, -1);
		if ((len - pos) / FMAP_EXT_SIZE < w.nstrips)
			return fmap_fail(d, "message shorter than its counts imply", (int32_t)i,
					 -1);
		for (s = 0; s < w.nstrips; s++, pos += FMAP_EXT_SIZE)
			if (fmap_get_extent(p + pos, NULL))
				return fmap_fail(d, "strip: reserved field not 0", (int32_t)i,
						 (int32_t)s);
		sum += w.nstrips;
	}
	if (pos != len)
		return fmap_fail(d, "trailing bytes after the last extent", -1, -1);
	*total = sum;
	return 0;
}

int fmap_decode_diag(const void *msg, size_t len, struct fmap **out, struct fmap_diag *d)
{
	return fmap_decode_align(msg, len, FMAP_ALIGN, out, d);
}

int fmap_decode_align(const void *msg, size_t len, uint64_t align, struct fmap **out,
		      struct fmap_diag *d)
{
	const uint8_t *p = msg;
	struct fmap_wire_header h;
	struct fmap *m;
	uint32_t i, s, total = 0;
	size_t pos;
	int rc;

	fmap_diag_clear(d);
	if (!fmap_align_ok(align))
		return fmap_fail(d, "align not a power of two from 4 KiB to 2 MiB", -1, -1);
	if (len == FMAP_SIZE_REPLY)
		return fmap_fail(d, "4-byte size reply, not an fmap", -1, -1);
	if (len < FMAP_HDR_SIZE)
		return fmap_fail(d, "message shorter than the 32-byte header", -1, -1);
	if (len > FMAP_MSG_MAX)
		return fmap_fail(d, "message longer than FMAP_MSG_MAX", -1, -1);

	fmap_memcpy(&h, p, sizeof(h));
	h.fmap_version = fmap_le16_to_cpu(h.fmap_version);
	h.ext_type = fmap_le32_to_cpu(h.ext_type);
	h.nextents = fmap_le32_to_cpu(h.nextents);
	h.reserved0 = fmap_le32_to_cpu(h.reserved0);
	h.file_size = fmap_le64_to_cpu(h.file_size);
	h.reserved1 = fmap_le64_to_cpu(h.reserved1);

	if (h.fmap_version != FMAP_VERSION)
		return fmap_fail(d, "fmap_version is not 1", -1, -1);
	if (h.reserved != 0)
		return fmap_fail(d, "header reserved field not 0", -1, -1);
	if (h.reserved0 != 0)
		return fmap_fail(d, "header reserved0 field not 0", -1, -1);
	if (h.reserved1 != 0)
		return fmap_fail(d, "header reserved1 field not 0", -1, -1);
	if (h.file_type > FMAP_FILE_LOG)
		return fmap_fail(d, "file_type not 0, 1 or 2", -1, -1);
	if (h.nextents == 0)
		return fmap_fail(d, "nextents is 0", -1, -1);

	if (h.ext_type == FMAP_EXT_SIMPLE) {
		size_t need;

		if (h.nextents > FMAP_MAX_SIMPLE_EXTENTS)
			return fmap_fail(d, "nextents above FMAP_MAX_SIMPLE_EXTENTS", -1, -1);
		need = FMAP_HDR_SIZE + (size_t)FMAP_EXT_SIZE * h.nextents;
		if (len < need)
			return fmap_fail(d, "message shorter than its counts imply", -1, -1);
		if (len > need)
			return fmap_fail(d, "trailing bytes after the last extent", -1, -1);
		for (i = 0, pos = FMAP_HDR_SIZE; i < h.nextents; i++, pos += FMAP_EXT_SIZE)
			if (fmap_get_extent(p + pos, NULL))
				return fmap_fail(d, "extent: reserved field not 0", (int32_t)i, -1);
	} else if (h.ext_type == FMAP_EXT_INTERLEAVE) {
		if (h.nextents > FMAP_MAX_IEXTENTS)
			return fmap_fail(d, "nextents above FMAP_MAX_IEXTENTS", -1, -1);
		rc = fmap_walk_interleave(p, len, h.nextents, &total, d);
		if (rc)
			return rc;
	} else {
		return fmap_fail(d, "ext_type not 0 or 1", -1, -1);
	}

	/* The message is structurally sound: build the model. */
	m = fmap_alloc(h.ext_type, h.nextents, total);
	if (!m)
		return -ENOMEM;
	m->file_type = h.file_type;
	m->file_size = h.file_size;
	m->align = align;
	pos = FMAP_HDR_SIZE;
	if (h.ext_type == FMAP_EXT_SIMPLE) {
		for (i = 0; i < h.nextents; i++, pos += FMAP_EXT_SIZE)
			fmap_get_extent(p + pos, &m->ext[i]);
	} else {
		uint32_t cursor = 0;

		for (i = 0; i < h.nextents; i++) {
			struct fmap_wire_iext w;

			fmap_get_iext(p + pos, &w);
			pos += FMAP_EXT_SIZE;
			m->iext[i].nstrips = w.nstrips;
			m->iext[i].chunk_size = w.chunk_size;
			m->iext[i].nbytes = w.nbytes;
			for (s = 0; s < w.nstrips; s++, pos += FMAP_EXT_SIZE)
				fmap_get_extent(p + pos, &m->ext[cursor + s]);
			cursor += w.nstrips;
		}
	}

	rc = fmap_finalize_diag(m, d);
	if (rc) {
		fmap_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int fmap_decode(const void *msg, size_t len, struct fmap **out, const char **why)
{
	struct fmap_diag d;
	int rc;

	rc = fmap_decode_diag(msg, len, out, &d);
	if (why)
		*why = d.why;
	return rc;
}

bool fmap_aligned(const struct fmap *m, uint64_t align)
{
	uint32_t i, n = m->ext_type == FMAP_EXT_SIMPLE ? m->nextents : m->nstrips_total;

	if (!fmap_is_pow2(align))
		return false;
	for (i = 0; i < n; i++)
		if (!fmap_is_aligned(m->ext[i].offset, align) ||
		    !fmap_is_aligned(m->ext[i].len, align))
			return false;
	if (m->ext_type == FMAP_EXT_INTERLEAVE)
		for (i = 0; i < m->nextents; i++)
			if (!fmap_is_aligned(m->iext[i].chunk_size, align))
				return false;
	return true;
}

/* ------------------------------------------------------------- resolve */

static int fmap_resolve_interleave(const struct fmap *m, uint64_t off, struct fmap_loc *loc)
{
	uint32_t i = fmap_find(m->start, m->nextents, off);
	const struct fmap_iext *ie = &m->iext[i];
	const struct fmap_extent *s;
	uint64_t o = off - m->start[i];
	uint64_t mask = ie->chunk_size - 1;
	uint64_t within = o & mask;
	uint64_t stripe, len;
	uint32_t strip;

	stripe = fmap_div_u64_rem(o >> ie->chunk_shift, ie->nstrips, &strip);
	s = &m->ext[ie->first_strip + strip];
	len = ie->chunk_size - within;
	if (len > ie->nbytes - o)
		len = ie->nbytes - o;
	loc->offset = s->offset + (stripe << ie->chunk_shift) + within;
	loc->len = len;
	loc->devindex = s->devindex;
	return 0;
}

int fmap_resolve(const struct fmap *m, uint64_t off, struct fmap_loc *loc)
{
	const struct fmap_extent *e;
	uint64_t rel;
	uint32_t i;

	if (fmap_unlikely(!m->ready))
		return -EINVAL;
	if (fmap_unlikely(off >= m->file_size))
		return -ERANGE;
	if (fmap_unlikely(m->ext_type != FMAP_EXT_SIMPLE))
		return fmap_resolve_interleave(m, off, loc);

	if (fmap_likely(m->uniform_shift)) {
		uint64_t q = off >> m->uniform_shift;

		i = q < m->nextents ? (uint32_t)q : m->nextents - 1;
	} else {
		i = fmap_find(m->start, m->nextents, off);
	}
	e = &m->ext[i];
	rel = off - m->start[i];
	loc->offset = e->offset + rel;
	loc->len = e->len - rel;
	loc->devindex = e->devindex;
	return 0;
}

/* -------------------------------------------------------------- unroll */

static int fmap_copy_simple(const struct fmap *src, struct fmap **out)
{
	struct fmap *m = fmap_alloc(FMAP_EXT_SIMPLE, src->nextents, 0);
	int rc;

	if (!m)
		return -ENOMEM;
	m->file_type = src->file_type;
	m->file_size = src->file_size;
	m->align = src->align;
	fmap_memcpy(m->ext, src->ext, sizeof(*m->ext) * src->nextents);
	rc = fmap_finalize(m);
	if (rc) {
		fmap_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/*
 * How iext @i is unrolled when the file must be covered up to @target:
 * *nfull full chunks, then a partial tail of *tail bytes (0: none).
 */
static int fmap_unroll_plan(const struct fmap *m, uint32_t i, uint64_t target, uint64_t *nfull,
			    uint64_t *tail)
{
	const struct fmap_iext *ie = &m->iext[i];
	uint64_t avail = target - m->start[i];
	uint64_t mask = ie->chunk_size - 1;

	if (ie->nbytes < avail) {
		/* Another iext follows inside the file: stop exactly at nbytes. */
		*nfull = ie->nbytes >> ie->chunk_shift;
		*tail = ie->nbytes & mask;
		if (!fmap_is_aligned(*tail, m->align))
			return -EINVAL;
	} else {
		/* Last iext used: whole chunks (they fit: see the strip rule). */
		*nfull = (avail >> ie->chunk_shift) + ((avail & mask) != 0);
		*tail = 0;
	}
	return 0;
}

int fmap_unroll(const struct fmap *sm, struct fmap **out)
{
	uint64_t target, count = 0, nfull, tail, j;
	struct fmap *m;
	uint32_t i, n = 0, k;
	int rc;

	if (!sm->ready)
		return -EINVAL;
	if (sm->ext_type == FMAP_EXT_SIMPLE)
		return fmap_copy_simple(sm, out);

	target = sm->file_size ? sm->file_size : 1;
	for (i = 0; i < sm->nextents && sm->start[i] < target; i++) {
		rc = fmap_unroll_plan(sm, i, target, &nfull, &tail);
		if (rc)
			return rc;
		count += nfull + (tail != 0);
		if (count > FMAP_MAX_SIMPLE_EXTENTS)
			return -E2BIG;
	}

	m = fmap_alloc(FMAP_EXT_SIMPLE, (uint32_t)count, 0);
	if (!m)
		return -ENOMEM;
	m->file_type = sm->file_type;
	m->file_size = sm->file_size;
	m->align = sm->align;
	for (i = 0; i < sm->nextents && sm->start[i] < target; i++) {
		const struct fmap_iext *ie = &sm->iext[i];
		uint64_t nemit;

		fmap_unroll_plan(sm, i, target, &nfull, &tail);
		nemit = nfull + (tail != 0);
		for (j = 0; j < nemit; j++) {
			const struct fmap_extent *s;
			struct fmap_extent *e = &m->ext[n++];
			uint64_t stripe = fmap_div_u64_rem(j, ie->nstrips, &k);

			s = &sm->ext[ie->first_strip + k];
			e->offset = s->offset + (stripe << ie->chunk_shift);
			e->len = j < nfull ? ie->chunk_size : tail;
			e->devindex = s->devindex;
		}
	}

	rc = fmap_finalize(m);
	if (rc) {
		fmap_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ------------------------------------------------------- size reply */

int fmap_reply_too_small(uint32_t needed, void *buf, size_t size)
{
	uint32_t v;

	if (needed < FMAP_MIN_MSG || needed > FMAP_MSG_MAX)
		return -EINVAL;
	if (size < FMAP_SIZE_REPLY)
		return -ENOSPC;
	v = fmap_cpu_to_le32(needed);
	fmap_memcpy(buf, &v, sizeof(v));
	return FMAP_SIZE_REPLY;
}

int fmap_parse_size_reply(const void *msg, size_t len, uint32_t *needed)
{
	uint32_t v;

	if (len != FMAP_SIZE_REPLY)
		return -EINVAL;
	fmap_memcpy(&v, msg, sizeof(v));
	v = fmap_le32_to_cpu(v);
	if (v < FMAP_MIN_MSG || v > FMAP_MSG_MAX)
		return -EINVAL;
	*needed = v;
	return 0;
}
