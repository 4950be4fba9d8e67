// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "path.h"
#include "shadow.h"

/* ---- emit ----
 *
 * Every libyaml call is checked. An event whose initialization failed is
 * never emitted (libyaml would queue, and later free, an uninitialized
 * event), and after a failed emit nothing more is emitted. A document is
 * built in memory and written out only when complete, so a refusal leaves
 * nothing half-written.
 */

static int emit(yaml_emitter_t *em, yaml_event_t *ev, int initialized)
{
	if (!initialized)
		return -EIO;
	return yaml_emitter_emit(em, ev) ? 0 : -EIO;
}

static int scalar(yaml_emitter_t *em, const char *s)
{
	yaml_event_t ev;

	return emit(em, &ev,
		    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
						 1, 1, YAML_PLAIN_SCALAR_STYLE));
}

static int keyval(yaml_emitter_t *em, const char *key, const char *fmt, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), fmt, v);
	return scalar(em, key) || scalar(em, buf) ? -EIO : 0;
}

static int mapping(yaml_emitter_t *em, bool start)
{
	yaml_event_t ev;

	if (start)
		return emit(em, &ev,
			    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
								YAML_BLOCK_MAPPING_STYLE));
	return emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

static int sequence(yaml_emitter_t *em, bool start)
{
	yaml_event_t ev;

	if (start)
		return emit(em, &ev,
			    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
								 YAML_BLOCK_SEQUENCE_STYLE));
	return emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

static int emit_extents(yaml_emitter_t *em, const struct famfs_simple_extent *x, uint64_t n)
{
	int rc = scalar(em, "simple_ext_list") || sequence(em, true);

	for (uint64_t i = 0; !rc && i < n; i++)
		rc = mapping(em, true) || keyval(em, "devindex", "%" PRIu64, x[i].devindex) ||
		     keyval(em, "offset", "0x%" PRIx64, x[i].offset) ||
		     keyval(em, "length", "0x%" PRIx64, x[i].len) || mapping(em, false);
	return rc || sequence(em, false) ? -EIO : 0;
}

static int emit_body(yaml_emitter_t *em, const struct famfs_file_body *f)
{
	int rc =
	    mapping(em, true) || scalar(em, "file") || mapping(em, true) || scalar(em, "path") ||
	    scalar(em, f->relpath) || keyval(em, "size", "%" PRIu64, f->size) ||
	    keyval(em, "flags", "%" PRIu64, f->flags) || keyval(em, "mode", "0%" PRIo64, f->mode) ||
	    keyval(em, "uid", "%" PRIu64, f->uid) || keyval(em, "gid", "%" PRIu64, f->gid) ||
	    keyval(em, "nextents", "%" PRIu64, f->nextents);

	if (rc)
		return -EIO;
	if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_interleave_extent *ie = &f->ie[0];

		rc =
		    scalar(em, "striped_ext_list") || sequence(em, true) || mapping(em, true) ||
		    keyval(em, "nstrips", "%" PRIu64, ie->nstrips) ||
		    keyval(em, "chunk_size", "0x%" PRIx64, ie->chunk_size) ||
		    emit_extents(em, ie->strips,
				 ie->nstrips < FAMFS_MAX_STRIPS ? ie->nstrips : FAMFS_MAX_STRIPS) ||
		    mapping(em, false) || sequence(em, false);
	} else {
		rc =
		    emit_extents(em, f->se,
				 f->nextents < FAMFS_MAX_SIMPLE_EXTENTS ? f->nextents
									: FAMFS_MAX_SIMPLE_EXTENTS);
	}
	return rc || mapping(em, false) || mapping(em, false) ? -EIO : 0;
}

static int write_handler(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, (FILE *)data) == size;
}

/*
 * Can a YAML document carry @s and read it back? Only well-formed UTF-8:
 * libyaml's emitter lets surrogates and code points past U+10FFFF through,
 * which its parser then refuses, so glibc's strict decoder (iconv) decides.
 * Control characters are fine: the emitter escapes them. -EILSEQ if not,
 * -ENOMEM if iconv cannot be set up.
 */
static int yaml_can_carry(const char *s)
{
	char out[4 * FAMFS_RELPATH_FIELD], *in = (char *)s, *o = out;
	size_t il = strlen(s), ol = sizeof(out), n;
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");

	if (cd == (iconv_t)-1)
		return -ENOMEM;
	n = iconv(cd, &in, &il, &o, &ol);
	iconv_close(cd);
	return n == (size_t)-1 || il ? -EILSEQ : 0;
}

int famfs_yaml_emit_file(FILE *out, const struct famfs_file_body *f)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	char *doc = NULL;
	size_t len = 0;
	FILE *mem;
	int rc = -EIO;

	if (!memchr(f->relpath, '\0', sizeof(f->relpath)))
		return -EINVAL;
	rc = yaml_can_carry(f->relpath);
	if (rc)
		return rc;
	rc = -EIO;
	mem = open_memstream(&doc, &len);
	if (!mem)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&em)) {
		fclose(mem);
		free(doc);
		return -ENOMEM;
	}
	yaml_emitter_set_output(&em, write_handler, mem);
	yaml_emitter_set_unicode(&em, 1);
	if (emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) ||
	    emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0)) ||
	    emit_body(&em, f) || emit(&em, &ev, yaml_document_end_event_initialize(&ev, 0)) ||
	    emit(&em, &ev, yaml_stream_end_event_initialize(&ev)) || !yaml_emitter_flush(&em))
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&em);
	if (fclose(mem) && !rc)
		rc = -ENOMEM;
	if (!rc && fwrite(doc, 1, len, out) != len)
		rc = -EIO;
	free(doc);
	return rc;
}

/* ---- parse ---- */

struct famfs_yaml_reader {
	yaml_parser_t parser;
};

struct famfs_yaml_reader *famfs_yaml_reader_new(FILE *in)
{
	struct famfs_yaml_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (!yaml_parser_initialize(&r->parser)) {
		free(r);
		return NULL;
	}
	yaml_parser_set_input_file(&r->parser, in);
	return r;
}

void famfs_yaml_reader_free(struct famfs_yaml_reader *r)
{
	if (!r)
		return;
	yaml_parser_delete(&r->parser);
	free(r);
}

struct ctx {
	yaml_document_t *doc;
	char *err;
	size_t errsz;
};

static int fail(struct ctx *c, yaml_node_t *n, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, what);
	if (n)
		snprintf(c->err, c->errsz, "line %zu: %s", n->start_mark.line + 1, msg);
	else
		snprintf(c->err, c->errsz, "%s", msg);
	return -EINVAL;
}

static const char *str(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* An unsigned integer scalar (decimal, 0x hex, 0 octal) no larger than @max. */
static int number(struct ctx *c, yaml_node_t *n, const char *key, uint64_t max, uint64_t *out)
{
	const char *s = str(n);
	char *end;

	if (!s || !*s || *s == '-')
		return fail(c, n, "%s: expected an unsigned number", key);
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || *end || *out > max)
		return fail(c, n, "%s: not a number in range", key);
	return 0;
}

#define FOREACH_PAIR(c, map, p)                                                                    \
	for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start;                                \
	     p < (map)->data.mapping.pairs.top; p++)

static int extent_list(struct ctx *c, yaml_node_t *seq, struct famfs_simple_extent *x, uint64_t max,
		       uint64_t *count)
{
	uint64_t n = 0;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "%s: expected a list", "simple_ext_list");
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(c->doc, *it);
		unsigned int seen = 0;

		if (n == max)
			return fail(c, m, "%s: too many extents", "simple_ext_list");
		if (!m || m->type != YAML_MAPPING_NODE)
			return fail(c, m, "%s: expected a mapping", "simple_ext_list item");
		FOREACH_PAIR(c, m, p)
		{
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
			const char *key = str(k);
			int rc;

			if (key && !strcmp(key, "devindex"))
				rc = number(c, v, key, UINT64_MAX, &x[n].devindex), seen |= 1;
			else if (key && !strcmp(key, "offset"))
				rc = number(c, v, key, UINT64_MAX, &x[n].offset), seen |= 2;
			else if (key && !strcmp(key, "length"))
				rc = number(c, v, key, UINT64_MAX, &x[n].len), seen |= 4;
			else
				rc = fail(c, k, "unknown key '%s' in an extent", key ? key : "?");
			if (rc)
				return rc;
		}
		if (seen != 7)
			return fail(c, m, "%s: needs devindex, offset and length", "extent");
		n++;
	}
	*count = n;
	return 0;
}

static int striped_list(struct ctx *c, yaml_node_t *seq, struct famfs_file_body *f)
{
	struct famfs_interleave_extent *ie = &f->ie[0];
	yaml_node_t *m;
	uint64_t nstrips = 0, got = 0;
	unsigned int seen = 0;

	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.top - seq->data.sequence.items.start != 1)
		return fail(c, seq, "%s: expected a list of one interleaved extent",
			    "striped_ext_list");
	m = yaml_document_get_node(c->doc, seq->data.sequence.items.start[0]);
	if (!m || m->type != YAML_MAPPING_NODE)
		return fail(c, m, "%s: expected a mapping", "striped_ext_list item");
	FOREACH_PAIR(c, m, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = str(k);
		int rc;

		if (key && !strcmp(key, "nstrips"))
			rc = number(c, v, key, FAMFS_MAX_STRIPS, &nstrips), seen |= 1;
		else if (key && !strcmp(key, "chunk_size"))
			rc = number(c, v, key, UINT64_MAX, &ie->chunk_size), seen |= 2;
		else if (key && !strcmp(key, "simple_ext_list"))
			rc = extent_list(c, v, ie->strips, FAMFS_MAX_STRIPS, &got), seen |= 4;
		else
			rc = fail(c, k, "unknown key '%s' in striped_ext_list", key ? key : "?");
		if (rc)
			return rc;
	}
	if (seen != 7)
		return fail(c, m, "%s: needs nstrips, chunk_size and simple_ext_list",
			    "striped_ext_list");
	if (got != nstrips)
		return fail(c, m, "%s: nstrips disagrees with the strip list", "striped_ext_list");
	ie->nstrips = nstrips;
	f->ext_type = FAMFS_EXT_INTERLEAVE;
	return 0;
}

static int file_map(struct ctx *c, yaml_node_t *m, struct famfs_file_body *f)
{
	uint64_t v64, nextents = 0, listed = 0;
	bool have_path = false, have_size = false, have_list = false, have_n = false;
	const char *why;

	if (!m || m->type != YAML_MAPPING_NODE)
		return fail(c, m, "%s: expected a mapping", "file");
	FOREACH_PAIR(c, m, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = str(k);
		int rc = 0;

		if (!key)
			return fail(c, k, "%s: keys must be scalars", "file");
		if (!strcmp(key, "path")) {
			const char *s = str(v);

			if (!s || famfs_path_check(s, &why))
				return fail(c, v, "path: %s", s ? why : "expected a string");
			strcpy(f->relpath, s);
			have_path = true;
		} else if (!strcmp(key, "size")) {
			rc = number(c, v, key, UINT64_MAX, &f->size);
			have_size = true;
		} else if (!strcmp(key, "flags")) {
			rc = number(c, v, key, UINT32_MAX, &v64);
			f->flags = (uint32_t)v64;
		} else if (!strcmp(key, "mode")) {
			/* u32 on the media; writers store permission bits, but
			 * other tools may add the file type: read what was written. */
			rc = number(c, v, key, UINT32_MAX, &v64);
			f->mode = (uint32_t)v64;
		} else if (!strcmp(key, "uid")) {
			rc = number(c, v, key, UINT32_MAX, &v64);
			f->uid = (uint32_t)v64;
		} else if (!strcmp(key, "gid")) {
			rc = number(c, v, key, UINT32_MAX, &v64);
			f->gid = (uint32_t)v64;
		} else if (!strcmp(key, "nextents")) {
			rc = number(c, v, key, FAMFS_MAX_SIMPLE_EXTENTS, &nextents);
			have_n = true;
		} else if (!strcmp(key, "simple_ext_list") && !have_list) {
			rc = extent_list(c, v, f->se, FAMFS_MAX_SIMPLE_EXTENTS, &listed);
			f->ext_type = FAMFS_EXT_SIMPLE;
			have_list = true;
		} else if (!strcmp(key, "striped_ext_list") && !have_list) {
			rc = striped_list(c, v, f);
			listed = 1;
			have_list = true;
		} else {
			return fail(c, k, "unknown or repeated key '%s'", key);
		}
		if (rc)
			return rc;
	}
	if (!have_path || !have_size || !have_list)
		return fail(c, m, "%s: needs path, size and an extent list", "file");
	if (have_n && nextents != listed)
		return fail(c, m, "%s: nextents disagrees with the extent list", "file");
	f->nextents = (uint32_t)listed;
	return 0;
}

int famfs_yaml_read_file(struct famfs_yaml_reader *r, struct famfs_file_body *f, char *err,
			 size_t errsz)
{
	yaml_document_t doc;
	struct ctx c = {&doc, err, errsz};
	yaml_node_t *root;
	int rc;

	memset(f, 0, sizeof(*f));
	if (!yaml_parser_load(&r->parser, &doc)) {
		snprintf(err, errsz, "line %zu: %s", r->parser.problem_mark.line + 1,
			 r->parser.problem ? r->parser.problem : "YAML syntax error");
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		yaml_document_delete(&doc);
		return 0; /* end of stream */
	}
	if (root->type != YAML_MAPPING_NODE ||
	    root->data.mapping.pairs.top - root->data.mapping.pairs.start != 1 ||
	    !str(yaml_document_get_node(&doc, root->data.mapping.pairs.start->key)) ||
	    strcmp(str(yaml_document_get_node(&doc, root->data.mapping.pairs.start->key)),
		   "file")) {
		rc =
		    fail(&c, root, "%s: a document must be one mapping with the key 'file'", "top");
	} else {
		rc = file_map(
		    &c, yaml_document_get_node(&doc, root->data.mapping.pairs.start->value), f);
	}
	yaml_document_delete(&doc);
	return rc ? rc : 1;
}
