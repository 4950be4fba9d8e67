// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "apply.h"
#include "crc.h"
#include "path.h"

/* Owner searches per applier: each scans the log, so a log full of overlaps
 * (crafted) stays linear; past the bound the message names no entry. */
#define MAX_LOOKUPS 100

/* Entries read at a time when looking back through a reader. */
#define READ_BACK 64

/* Earlier entry @i into @e, through @buf (READ_BACK entries) with a reader; 0 or -errno. */
static int earlier(struct famfs_applier *a, uint64_t i, uint64_t index, struct famfs_log_entry *buf,
		   struct famfs_log_entry *e)
{
	uint64_t n = index - i < READ_BACK ? index - i : READ_BACK;
	int rc;

	if (a->log) {
		*e = a->log[i]; /* the log may be shared: copy */
		return 0;
	}
	if (i % READ_BACK == 0) {
		rc = a->read_log(a->read_arg, i, n, buf);
		if (rc)
			return rc;
	}
	*e = buf[i % READ_BACK];
	return 0;
}

/* The first earlier intact FILE entry with an extent intersecting @x, or -1. */
static int64_t owner(struct famfs_applier *a, uint64_t index, const struct famfs_simple_extent *x)
{
	struct famfs_log_entry *buf = NULL;
	int64_t found = -1;

	if ((!a->log && !a->read_log) || a->lookups++ >= MAX_LOOKUPS)
		return -1;
	if (!a->log && !(buf = malloc(READ_BACK * sizeof(*buf))))
		return -1;
	for (uint64_t i = 0; i < index && found < 0; i++) {
		struct famfs_log_entry e;
		const struct famfs_simple_extent *y;
		uint64_t n;

		if (earlier(a, i, index, buf, &e))
			break;
		if (e.seqnum != i || e.crc != famfs_log_entry_crc(&e) ||
		    famfs_entry_type(a->g, &e) != FAMFS_LOG_FILE)
			continue;
		if (e.file.ext_type == FAMFS_EXT_INTERLEAVE) {
			y = e.file.ie[0].strips;
			n = e.file.nextents == 1 ? e.file.ie[0].nstrips : 0;
			n = n < FAMFS_MAX_STRIPS ? n : FAMFS_MAX_STRIPS;
		} else {
			y = e.file.se;
			n = e.file.nextents < FAMFS_MAX_SIMPLE_EXTENTS ? e.file.nextents
								       : FAMFS_MAX_SIMPLE_EXTENTS;
		}
		for (uint64_t k = 0; k < n && found < 0; k++)
			if (y[k].devindex == x->devindex && x->offset < y[k].offset + y[k].len &&
			    y[k].offset < x->offset + x->len)
				found = (int64_t)i;
	}
	free(buf);
	return found;
}

static int claim(struct famfs_applier *a, const struct famfs_file_body *f, uint64_t index,
		 struct famfs_checker *c)
{
	bool striped = f->ext_type == FAMFS_EXT_INTERLEAVE, self;
	const struct famfs_simple_extent *x;
	const char *what = striped ? "strip" : "extent";
	int64_t other;
	uint32_t bad;

	if (famfs_devtab_claim_file(&a->devs, f, &bad, &self) == 0)
		return 0;
	x = striped ? &f->ie[0].strips[bad] : &f->se[bad];
	if (self) {
		famfs_report(c, FAMFS_P_ENT_OVERLAP, (int64_t)index,
			     "%s %u overlaps another %s of this file", what, bad, what);
		return -EEXIST;
	}
	other = owner(a, index, x);
	if (other >= 0)
		famfs_report(c, FAMFS_P_ENT_OVERLAP, (int64_t)index,
			     "%s %u: [%#" PRIx64 ", +%#" PRIx64 ") shared with entry %" PRId64,
			     what, bad, x->offset, x->len, other);
	else
		famfs_report(c, FAMFS_P_ENT_OVERLAP, (int64_t)index,
			     "%s %u: [%#" PRIx64 ", +%#" PRIx64 ") already used by another file",
			     what, bad, x->offset, x->len);
	return -EEXIST;
}

int famfs_apply_entry(struct famfs_applier *a, const struct famfs_log_entry *e, uint64_t index,
		      struct famfs_checker *c, struct famfs_node **out)
{
	*out = NULL;
	if (famfs_entry_check(a->g, e, index, c))
		return FAMFS_BAD;
	return famfs_apply_checked(a, e, index, c, out);
}

int famfs_apply_checked(struct famfs_applier *a, const struct famfs_log_entry *e, uint64_t index,
			struct famfs_checker *c, struct famfs_node **out)
{
	int64_t ix = (int64_t)index;
	struct famfs_node *n = NULL;
	bool update;
	int rc;

	*out = NULL;
	if (!a->devs.ndevs)
		famfs_devtab_seed(&a->devs, a->g, a->alloc);
	switch (famfs_entry_type(a->g, e)) {
	case FAMFS_LOG_DELETE:
	case FAMFS_LOG_INVALID:
		return FAMFS_IGNORED;
	case FAMFS_LOG_ADD_DAXDEV:
		rc = famfs_devtab_add(&a->devs, &e->daxdev, index, a->g->alloc_unit, c);
		if (rc == -ENOMEM)
			return rc;
		return rc ? FAMFS_BAD : FAMFS_IGNORED;
	case FAMFS_LOG_FILE:
		if (claim(a, &e->file, index, c))
			return FAMFS_BAD;
		break;
	case FAMFS_LOG_MKDIR:
		break;
	default: /* famfs_entry_check() refused it already */
		return FAMFS_BAD;
	}
	update = famfs_entry_type(a->g, e) == FAMFS_LOG_FILE && e->file.nextents == 0;
	rc = famfs_ns_apply(a->ns, a->g, e, index, &n);
	switch (rc) {
	case 0:
	case FAMFS_NS_UPDATED: /* an attribute update of an existing node */
		*out = n;
		return FAMFS_APPLIED;
	case -EEXIST:
		famfs_report(c, FAMFS_P_ENT_EXISTS, ix, "\"%s\" created by entry %" PRId64 "%s",
			     famfs_esc_field(famfs_entry_relpath(a->g, e), FAMFS_RELPATH_FIELD),
			     n ? (int64_t)n->log_index : -1,
			     update ? " (an attribute update naming something else)" : "");
		return FAMFS_SKIPPED;
	case -ENOENT:
	case -ENOTDIR:
		if (update && rc == -ENOENT && n == NULL)
			famfs_report(
			    c, FAMFS_P_ENT_PARENT, ix,
			    "attribute update of \"%s\", which does not exist",
			    famfs_esc_field(famfs_entry_relpath(a->g, e), FAMFS_RELPATH_FIELD));
		else
			famfs_report(
			    c, FAMFS_P_ENT_PARENT, ix, "parent of \"%s\" %s",
			    famfs_esc_field(famfs_entry_relpath(a->g, e), FAMFS_RELPATH_FIELD),
			    rc == -ENOENT ? "not created before it" : "is a file");
		return FAMFS_SKIPPED;
	default:
		return rc;
	}
}

void famfs_applier_release(struct famfs_applier *a)
{
	famfs_devtab_release(&a->devs);
}
