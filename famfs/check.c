// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ns.h"
#include "super.h"

#define OWNER_FREE (-1)
#define OWNER_META (-2)

struct overlap_ctx {
	const struct famfs_geom *g;
	int64_t *owner; /* per allocation unit: slot of the file using it */
	uint64_t nunits;
	struct famfs_checker *c;
	uint64_t alloc_units;
};

static void claim(struct overlap_ctx *o, const struct famfs_simple_extent *x, const char *what,
		  unsigned int i, int64_t index)
{
	uint64_t u0 = x->offset / o->g->alloc_unit, n = x->len / o->g->alloc_unit;
	int64_t other = OWNER_FREE;

	for (uint64_t u = u0; u < u0 + n && u < o->nunits; u++) {
		if (o->owner[u] == OWNER_FREE) {
			o->owner[u] = index;
			o->alloc_units++;
		} else if (other == OWNER_FREE) {
			other = o->owner[u];
		}
	}
	if (other == index)
		famfs_report(o->c, FAMFS_P_ENT_OVERLAP, index,
			     "%s %u overlaps another extent of this file", what, i);
	else if (other != OWNER_FREE)
		famfs_report(o->c, FAMFS_P_ENT_OVERLAP, index,
			     "%s %u: [%#" PRIx64 ", +%#" PRIx64 ") shared with entry %" PRId64,
			     what, i, x->offset, x->len, other);
}

static void claim_file(struct overlap_ctx *o, const struct famfs_file_body *f, int64_t index)
{
	if (f->ext_type == FAMFS_EXT_SIMPLE)
		for (uint32_t i = 0; i < f->nextents; i++)
			claim(o, &f->se[i], "extent", i, index);
	else
		for (uint32_t s = 0; s < f->ie[0].nstrips; s++)
			claim(o, &f->ie[0].strips[s], "strip", s, index);
}

int famfs_fsck(const struct famfs_superblock *sb, const void *log, uint64_t log_avail,
	       uint64_t devsize, struct famfs_checker *c, famfs_fsck_entry_fn each, void *arg,
	       struct famfs_fsck_stats *st)
{
	const struct famfs_log_header *h = log;
	const struct famfs_log_entry *ent = (const void *)(h + 1);
	struct overlap_ctx o = {0};
	struct famfs_geom g;
	struct famfs_ns *ns;
	uint32_t ndaxdev = 0;
	uint64_t used, avail;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (sb->magic != FAMFS_SUPER_MAGIC) {
		famfs_sb_check(sb, devsize, c);
		return -EMEDIUMTYPE;
	}
	famfs_sb_check(sb, devsize, c);
	famfs_geom_from_sb(&g, sb);
	st->capacity = g.devsize;
	st->meta_bytes = g.meta_end;
	st->slots_total = g.nslots;
	/* Without a sane log length, unit size and capacity we cannot find the entries. */
	if (g.nslots == 0 || (sb->log_len & (sb->log_len - 1)) || sb->log_len < FAMFS_LOG_LEN_MIN ||
	    g.alloc_unit == 0 || g.devsize < g.meta_end || log_avail < sizeof(*h))
		return -EUCLEAN;
	if (famfs_log_header_check(h, sb, c) && h->magic != FAMFS_LOG_MAGIC)
		return -EUCLEAN;

	used = h->next_index < g.nslots ? h->next_index : g.nslots;
	avail = (log_avail - sizeof(*h)) / sizeof(*ent);
	if (avail < used) {
		famfs_report(c, FAMFS_P_LOG_NEXT_INDEX, -1,
			     "next_index %" PRIu64 " but only %" PRIu64 " entries readable", used,
			     avail);
		used = avail;
	}
	st->slots_used = used;

	ns = famfs_ns_new();
	o = (struct overlap_ctx){.g = &g, .c = c, .nunits = g.devsize / g.alloc_unit};
	o.owner = malloc(o.nunits * sizeof(*o.owner));
	if (!ns || !o.owner) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t u = 0; u < o.nunits; u++)
		o.owner[u] = u * g.alloc_unit < g.meta_end ? OWNER_META : OWNER_FREE;

	for (uint64_t i = 0; i < used; i++) {
		const struct famfs_log_entry *e = &ent[i];
		struct famfs_node *n;
		int64_t ix = (int64_t)i;
		int arc;

		if (famfs_entry_check(&g, e, i, c)) {
			if (each)
				each(&g, e, i, arg);
			continue;
		}
		switch (famfs_entry_type(&g, e)) {
		case FAMFS_LOG_ADD_DAXDEV:
			if (e->daxdev.index != ++ndaxdev)
				famfs_report(c, FAMFS_P_ENT_DAXDEV, ix,
					     "index %u, expected %u (dense, from 1)",
					     e->daxdev.index, ndaxdev);
			break;
		case FAMFS_LOG_FILE:
			claim_file(&o, &e->file, ix);
			/* fall through */
		default:
			arc = famfs_ns_apply(ns, &g, e, i, &n);
			if (arc == -ENOENT || arc == -ENOTDIR)
				famfs_report(c, FAMFS_P_ENT_PARENT, ix, "parent of \"%s\" %s",
					     famfs_entry_relpath(&g, e),
					     arc == -ENOENT ? "not created before it"
							    : "is a file");
			else if (arc == -EEXIST)
				famfs_report(c, FAMFS_P_ENT_EXISTS, ix,
					     "\"%s\" created by entry %" PRId64,
					     famfs_entry_relpath(&g, e), n ? n->log_index : -1);
			else if (arc < 0) {
				rc = arc;
				goto out;
			}
			break;
		}
		if (each)
			each(&g, e, i, arg);
	}
	st->files = ns->nfiles;
	st->dirs = ns->ndirs - 1;
	st->file_bytes = ns->file_bytes;
	st->alloc_bytes = o.alloc_units * g.alloc_unit;
out:
	free(o.owner);
	famfs_ns_free(ns);
	return rc;
}

static int describe_extents(char *buf, size_t size, const struct famfs_simple_extent *x, uint64_t n)
{
	int o = 0;

	for (uint64_t i = 0; i < n && (size_t)o < size; i++)
		o += snprintf(buf + o, size - (size_t)o, "%s%#" PRIx64 "+%#" PRIx64, i ? " " : "",
			      x[i].offset, x[i].len);
	return o;
}

void famfs_entry_describe(const struct famfs_geom *g, const struct famfs_log_entry *e, char *buf,
			  size_t size)
{
	const struct famfs_file_body *f = &e->file;
	int o;

	switch (famfs_entry_type(g, e)) {
	case FAMFS_LOG_MKDIR:
		snprintf(buf, size, "mkdir %.80s %04o %u:%u", e->mkdir.relpath, e->mkdir.mode,
			 e->mkdir.uid, e->mkdir.gid);
		return;
	case FAMFS_LOG_FILE:
		o = snprintf(buf, size, "file  %.80s %" PRIu64 " bytes %04o %u:%u [", f->relpath,
			     f->size, f->mode, f->uid, f->gid);
		if (o < 0 || (size_t)o >= size)
			return;
		if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
			o += snprintf(buf + o, size - (size_t)o,
				      "%" PRIu64 " strips of %#" PRIx64 " chunks: ",
				      f->ie[0].nstrips, f->ie[0].chunk_size);
			if ((size_t)o < size)
				o += describe_extents(buf + o, size - (size_t)o, f->ie[0].strips,
						      f->ie[0].nstrips < FAMFS_MAX_STRIPS
							  ? f->ie[0].nstrips
							  : FAMFS_MAX_STRIPS);
		} else {
			o += describe_extents(buf + o, size - (size_t)o, f->se,
					      f->nextents < FAMFS_MAX_SIMPLE_EXTENTS
						  ? f->nextents
						  : FAMFS_MAX_SIMPLE_EXTENTS);
		}
		if ((size_t)o < size)
			snprintf(buf + o, size - (size_t)o, "]");
		return;
	case FAMFS_LOG_ADD_DAXDEV:
		snprintf(buf, size, "daxdev index %u size %" PRIu64, e->daxdev.index,
			 e->daxdev.size);
		return;
	default:
		snprintf(buf, size, "type %u", e->type);
		return;
	}
}
