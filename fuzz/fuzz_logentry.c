// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_logentry.c - libFuzzer target for one log entry, on its way from the
 * media to the server: check, replay into a namespace, allocation bitmap,
 * the fmap the server would send for it, and the shadow YAML round trip.
 *
 * Build and run: `make fuzz` (clang-14 -fsanitize=fuzzer,address,undefined,
 * the famfs/ sources compiled in); `make fuzz-replay` runs the saved corpus.
 *
 * Input: bytes [0, 544) are the entry (shorter inputs are zero-padded, bytes
 * past 545 are ignored); byte 544, if present, steers:
 *   bit 0  keep the stored crc (else it is recomputed, so the checks past
 *          the crc see the fuzzer's fields)
 *   bit 1  keep the stored seqnum (else it is set to the slot, 3)
 *   bits 2-3 geometry: 4 GiB v48, 4 GiB v47, 64 GiB v48, 512 MiB with 4 KiB units
 *
 * For every input: famfs_entry_check() and the describe/format helpers must
 * not crash. For an entry with no problems (a FILE without extents is an
 * attribute update: only the namespace part applies):
 *  - famfs_ns_apply() into a namespace holding dirs "a", "a/b" and file "f"
 *    returns 0/-EEXIST/-ENOENT/-ENOTDIR; an added node is found again by
 *    path, has the entry's type, size and extents;
 *  - FILE: famfs_alloc_mark_file() sets exactly the units of its extents
 *    (and unmarking a file that collided with nothing restores the bitmap);
 *  - FILE: the fmap the server sends (famfs_file_body_fmap()) passes
 *    fmap_finalize() with the unit's alignment (every entry the checker
 *    accepts can be described), encodes, decodes with that alignment and
 *    resolves every extent start to the entry's own extent; a 2 MiB decoder
 *    (fmap_decode) takes the message exactly when fmap_aligned(2 MiB);
 *  - FILE: famfs_yaml_emit_file() -> famfs_yaml_read_file() gives back the
 *    same path, size, flags, mode, owner and extents.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "check.h"
#include "crc.h"
#include "entry.h"
#include "filemap.h"
#include "fmap.h"
#include "ns.h"
#include "problem.h"
#include "shadow.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define SLOT 3

static const struct famfs_geom geoms[4] = {
    {4ULL << 30, FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_DEFAULT, FAMFS_ALLOC_UNIT, FAMFS_VERSION_48,
     (FAMFS_LOG_LEN_DEFAULT - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE},
    {4ULL << 30, FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_DEFAULT, FAMFS_ALLOC_UNIT, FAMFS_VERSION_47,
     (FAMFS_LOG_LEN_DEFAULT - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE},
    {64ULL << 30, FAMFS_LOG_OFFSET + (16ULL << 20), FAMFS_ALLOC_UNIT, FAMFS_VERSION_48,
     ((16ULL << 20) - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE},
    {512ULL << 20, FAMFS_LOG_OFFSET + FAMFS_LOG_LEN_DEFAULT, FAMFS_ALLOC_UNIT_4K, FAMFS_VERSION_48,
     (FAMFS_LOG_LEN_DEFAULT - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE},
};

/* The extents (or strips) of a FILE body, and how many. */
static const struct famfs_simple_extent *extents(const struct famfs_file_body *f, uint32_t *n)
{
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		*n = f->nextents;
		return f->se;
	}
	*n = (uint32_t)f->ie[0].nstrips;
	return f->ie[0].strips;
}

/* @b holds the extents of @a, in order (and an interleave's chunk size). */
static void check_same_extents(const struct famfs_file_body *a, const struct famfs_file_body *b)
{
	const struct famfs_simple_extent *x, *y;
	uint32_t n, nb;

	x = extents(a, &n);
	y = extents(b, &nb);
	CHECK(n == nb);
	for (uint32_t i = 0; i < n; i++)
		CHECK(!memcmp(&x[i], &y[i], sizeof(x[i])));
	if (a->ext_type == FAMFS_EXT_INTERLEAVE)
		CHECK(b->ie[0].chunk_size == a->ie[0].chunk_size);
}

static void check_fmap(const struct famfs_geom *g, const struct famfs_file_body *f)
{
	struct fmap *m = famfs_file_body_fmap(f, g->alloc_unit), *d = NULL;
	const struct famfs_simple_extent *x;
	struct fmap_diag diag = {0};
	uint8_t *msg;
	uint32_t n;
	long len;
	int rc;

	CHECK(m); /* a checked entry has valid counts */
	rc = fmap_finalize_diag(m, &diag);
	if (rc) {
		/* Every unit, 4 KiB too: the server's map has the unit's alignment. */
		fprintf(stderr, "checked entry without an fmap: %s (ext %d strip %d)\n", diag.why,
			diag.ext, diag.strip);
		CHECK(!"a checked FILE entry must give a valid fmap");
	}
	msg = malloc(fmap_encoded_size(m));
	CHECK(msg);
	len = fmap_encode(m, msg, fmap_encoded_size(m));
	CHECK(len == (long)fmap_encoded_size(m));
	CHECK(fmap_decode_align(msg, (size_t)len, g->alloc_unit, &d, NULL) == 0);
	/* A 2 MiB decoder takes it exactly when it is 2 MiB-aligned throughout. */
	{
		struct fmap *strict = NULL;
		int src = fmap_decode(msg, (size_t)len, &strict, NULL);

		CHECK((src == 0) == fmap_aligned(m, FMAP_ALIGN));
		fmap_free(strict);
	}
	CHECK(d->file_size == f->size);
	x = extents(f, &n);
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		/* extent i starts at file offset start[i] and maps to its own offset */
		for (uint32_t i = 0; i < n && d->start[i] < f->size; i++) {
			struct fmap_loc loc;

			CHECK(fmap_resolve(d, d->start[i], &loc) == 0);
			CHECK(loc.offset == x[i].offset && loc.len == x[i].len);
		}
	} else {
		/* chunk k of the first stripe is strip k's first chunk */
		for (uint32_t s = 0; s < n && (uint64_t)s * f->ie[0].chunk_size < f->size; s++) {
			struct fmap_loc loc;

			CHECK(fmap_resolve(d, (uint64_t)s * f->ie[0].chunk_size, &loc) == 0);
			CHECK(loc.offset == x[s].offset);
		}
	}
	fmap_free(d);
	fmap_free(m);
	free(msg);
}

static void check_alloc(const struct famfs_geom *g, const struct famfs_file_body *f)
{
	struct famfs_alloc a;
	const struct famfs_simple_extent *x;
	uint64_t base, dup, *before;
	size_t words;
	uint32_t n;

	CHECK(famfs_alloc_init(&a, g->devsize, g->meta_end, g->alloc_unit) == 0);
	base = a.used;
	words = (a.nunits + 63) / 64 + 1;
	before = malloc(words * sizeof(uint64_t));
	CHECK(before);
	memcpy(before, a.bits, words * sizeof(uint64_t));
	dup = famfs_alloc_mark_file(&a, f);
	CHECK(a.used <= a.nunits);
	x = extents(f, &n);
	for (uint32_t i = 0; i < n; i++)
		for (uint64_t u = x[i].offset / a.unit; u < (x[i].offset + x[i].len) / a.unit; u++)
			CHECK(famfs_alloc_test(&a, u));
	if (dup == 0) {
		famfs_alloc_unmark_file(&a, f);
		CHECK(a.used == base);
		CHECK(memcmp(before, a.bits, words * sizeof(uint64_t)) == 0);
	}
	free(before);
	famfs_alloc_destroy(&a);
}

static void check_yaml(const struct famfs_file_body *f)
{
	struct famfs_file_body back;
	struct famfs_yaml_reader *r;
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int rc;

	CHECK(out);
	rc = famfs_yaml_emit_file(out, f);
	fclose(out);
	if (rc) {
		/* YAML carries UTF-8 only: any other path is refused, and nothing written. */
		CHECK(rc == -EILSEQ && len == 0);
		free(buf);
		return;
	}
	out = fmemopen(buf, len, "r");
	CHECK(out);
	r = famfs_yaml_reader_new(out);
	CHECK(r);
	rc = famfs_yaml_read_file(r, &back, err, sizeof(err));
	if (rc != 1) {
		fprintf(stderr, "shadow YAML does not read back (%d: %s):\n%s\n", rc, err, buf);
		CHECK(!"emitted YAML must read back");
	}
	CHECK(!strcmp(back.relpath, f->relpath));
	CHECK(back.size == f->size && back.flags == f->flags && back.uid == f->uid &&
	      back.gid == f->gid && back.mode == f->mode);
	CHECK(back.ext_type == f->ext_type && back.nextents == f->nextents);
	check_same_extents(f, &back);
	CHECK(famfs_yaml_read_file(r, &back, err, sizeof(err)) == 0);
	famfs_yaml_reader_free(r);
	fclose(out);
	free(buf);
}

/* The compact map holds every extent (device index included) and gives the body back. */
static void check_map(const struct famfs_map *m, const struct famfs_file_body *f)
{
	struct famfs_file_body back;

	memset(&back, 0, sizeof(back));
	famfs_map_body(m, &back);
	CHECK(back.flags == f->flags && back.ext_type == f->ext_type &&
	      back.nextents == f->nextents);
	check_same_extents(f, &back);
	CHECK(famfs_map_capacity(m) == famfs_file_body_capacity(f));
}

static void check_apply(const struct famfs_geom *g, const struct famfs_log_entry *e)
{
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *a, *b, *f, *n = NULL;
	const char *rel = famfs_entry_relpath(g, e);
	uint32_t type = famfs_entry_type(g, e);
	char path[FAMFS_PATH_MAX + 1];
	int rc;

	CHECK(ns);
	CHECK(famfs_ns_add(ns, famfs_ns_root(ns), "a", S_IFDIR | 0755, 0, 0, &a) == 0);
	CHECK(famfs_ns_add(ns, a, "b", S_IFDIR | 0755, 0, 0, &b) == 0);
	CHECK(famfs_ns_add(ns, famfs_ns_root(ns), "f", S_IFREG | 0644, 0, 0, &f) == 0);
	rc = famfs_ns_apply(ns, g, e, SLOT, &n);
	CHECK(rc == 0 || rc == -EEXIST || rc == -ENOENT || rc == -ENOTDIR);
	if (type != FAMFS_LOG_FILE && type != FAMFS_LOG_MKDIR) {
		CHECK(rc == 0 && n == NULL && rel == NULL);
	} else if (rc == 0) {
		CHECK(n && rel);
		CHECK(famfs_ns_walk(ns, rel) == n);
		CHECK(famfs_ns_path(n, path, sizeof(path)) == 0 && !strcmp(path, rel));
		CHECK(famfs_ns_node(ns, n->ino) == n && n->log_index == SLOT);
		if (type == FAMFS_LOG_MKDIR) {
			CHECK(S_ISDIR(n->mode) && !n->file);
		} else {
			CHECK(S_ISREG(n->mode) && n->file && n->size == e->file.size);
			CHECK(n->file->ext_type == e->file.ext_type &&
			      n->file->n == (e->file.ext_type == FAMFS_EXT_INTERLEAVE
						 ? e->file.ie[0].nstrips
						 : e->file.nextents));
			check_map(n->file, &e->file);
		}
	} else if (rc == -EEXIST) {
		CHECK(n != NULL);
	}
	famfs_ns_free(ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct famfs_log_entry e;
	struct famfs_checker chk = {0};
	uint8_t ctl = size > FAMFS_LOG_ENTRY_SIZE ? data[FAMFS_LOG_ENTRY_SIZE] : 0;
	const struct famfs_geom *g = &geoms[(ctl >> 2) & 3];
	char line[512];
	unsigned int problems;

	memset(&e, 0, sizeof(e));
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	if (!(ctl & 2))
		e.seqnum = SLOT;
	if (!(ctl & 1))
		e.crc = famfs_log_entry_crc(&e);

	problems = famfs_entry_check(g, &e, SLOT, &chk);
	CHECK(problems == chk.count);
	famfs_entry_describe(g, &e, line, sizeof(line));
	CHECK(strlen(line) < sizeof(line));
	if (problems) {
		famfs_problem_format(&chk.first, line, sizeof(line));
		CHECK(chk.first.code < FAMFS_P_COUNT);
		return 0;
	}
	CHECK(famfs_entry_intact(&e, SLOT, NULL) == 0);
	check_apply(g, &e);
	if (famfs_entry_type(g, &e) == FAMFS_LOG_FILE && e.file.nextents == 0) {
		/* An attribute update (no extents, size 0): nothing to allocate or map. */
		CHECK(e.file.size == 0 && e.file.ext_type == FAMFS_EXT_SIMPLE);
		return 0;
	}
	if (famfs_entry_type(g, &e) == FAMFS_LOG_FILE) {
		check_alloc(g, &e.file);
		check_fmap(g, &e.file);
		check_yaml(&e.file);
	}
	return 0;
}
