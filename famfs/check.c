// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apply.h"
#include "check.h"
#include "devset.h"
#include "ns.h"
#include "path.h"
#include "super.h"

/* Per-entry checker: passes each problem on to the caller's. */
static void forward(const struct famfs_problem *p, void *arg)
{
	famfs_report_problem(arg, p);
}

/* The devices of @t into @st: each one's figures, and the sums over all. */
static void fsck_devices(const struct famfs_devtab *t, struct famfs_fsck_stats *st)
{
	st->ndevs = t->ndevs;
	for (uint32_t d = 0; d < t->ndevs; d++) {
		const struct famfs_alloc *a = t->dev[d].alloc;
		uint64_t meta_units = (t->dev[d].meta_end + a->unit - 1) / a->unit;

		memcpy(st->dev[d].uuid, t->dev[d].uuid, FAMFS_UUID_LEN);
		st->dev[d].capacity = t->dev[d].size;
		st->dev[d].meta_bytes = t->dev[d].meta_end;
		st->dev[d].alloc_bytes = (a->used - meta_units) * a->unit;
		st->dev[d].log_index = t->dev[d].log_index;
		if (d) {
			st->capacity += st->dev[d].capacity;
			st->meta_bytes += st->dev[d].meta_bytes;
			st->alloc_bytes += st->dev[d].alloc_bytes;
		}
	}
}

/* Entries checked per read: the log is never held in memory whole. */
#define WINDOW_ENTRIES 16384

struct read_log {
	famfs_fsck_read_fn read;
	void *arg;
};

/* The applier's look back at earlier entries (the owner of an overlap). */
static int read_back(void *arg, uint64_t first, uint64_t n, struct famfs_log_entry *buf)
{
	const struct read_log *r = arg;

	return r->read(r->arg, first, n, buf);
}

int famfs_fsck_read(const struct famfs_superblock *sb, const struct famfs_log_header *h,
		    uint64_t readable, famfs_fsck_read_fn read, void *read_arg, uint64_t devsize,
		    famfs_devtab_size_fn real_size, struct famfs_checker *c,
		    famfs_fsck_entry_fn each, void *arg, struct famfs_fsck_stats *st)
{
	struct read_log rl = {read, read_arg};
	struct famfs_log_entry *win = NULL;
	struct famfs_applier ap = {0};
	struct famfs_alloc alloc = {0};
	struct famfs_size_arg size_arg = {0};
	struct famfs_geom g;
	struct famfs_ns *ns = NULL;
	uint64_t used, meta_units;
	int64_t torn;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->first_bad = -1;
	if (devsize == 0)
		return -EINVAL;
	if (sb->magic != FAMFS_SUPER_MAGIC) {
		famfs_sb_check(sb, devsize, c);
		return -EMEDIUMTYPE;
	}
	famfs_sb_check_primary(sb, devsize, c);
	famfs_geom_from_sb(&g, sb);
	/* daxdev.size is outside the superblock crc: never size anything from
	 * more than the real device (SB_DEVSIZE is reported above). */
	if (g.devsize > devsize)
		g.devsize = devsize;
	st->capacity = g.devsize;
	st->compat = sb->sb_flags & FAMFS_SB_COMPAT;
	st->alloc_unit = g.alloc_unit;
	st->meta_bytes = g.meta_end;
	st->slots_total = g.nslots;
	/* Without a sane log length, unit size and capacity we cannot find the entries. */
	if (g.nslots == 0 || (sb->log_len & (sb->log_len - 1)) || sb->log_len < FAMFS_LOG_LEN_MIN ||
	    sb->log_len > FAMFS_LOG_LEN_MAX ||
	    (g.alloc_unit != FAMFS_ALLOC_UNIT && g.alloc_unit != FAMFS_ALLOC_UNIT_4K) ||
	    g.devsize < g.meta_end || !h)
		return -EUCLEAN;
	if (famfs_log_header_check(h, sb, c) && h->magic != FAMFS_LOG_MAGIC)
		return -EUCLEAN;

	used = h->next_index < g.nslots ? h->next_index : g.nslots;
	/* Counters one apart: a crash during an append, harmless if that entry is intact. */
	torn = famfs_log_torn_slot(h, g.nslots);
	if (torn >= 0) {
		struct famfs_log_entry e;
		bool have = (uint64_t)torn < readable && read(read_arg, (uint64_t)torn, 1, &e) == 0;

		famfs_log_torn_check(h, torn, have ? &e : NULL, c);
	}
	if (readable < used) {
		famfs_report(c, FAMFS_P_LOG_NEXT_INDEX, -1,
			     "next_index %" PRIu64 " but only %" PRIu64 " entries readable", used,
			     readable);
		used = readable;
	}
	st->slots_used = used;

	/* The bitmap is sized by the bounded capacity: 1 bit per allocation unit.
	 * The namespace keeps names, not extents: the bitmaps have those. */
	ns = famfs_ns_new();
	win = malloc(WINDOW_ENTRIES * sizeof(*win));
	rc = ns && win ? famfs_alloc_init(&alloc, g.devsize, g.meta_end, g.alloc_unit) : -ENOMEM;
	if (rc)
		goto out;
	ns->no_maps = true;
	meta_units = alloc.used;
	ap = (struct famfs_applier){
	    .g = &g, .ns = ns, .alloc = &alloc, .read_log = read_back, .read_arg = &rl};
	g.devs = &ap.devs;
	/* A secondary's bitmap: no larger than the device this host has for it. */
	memcpy(size_arg.fs_uuid, sb->fs_uuid, FAMFS_UUID_LEN);
	ap.devs.real_size = real_size;
	ap.devs.real_size_arg = real_size ? &size_arg : NULL;

	for (uint64_t first = 0; first < used; first += WINDOW_ENTRIES) {
		uint64_t n = used - first < WINDOW_ENTRIES ? used - first : WINDOW_ENTRIES;

		/* A copy: the log may be a live window, and what is checked is what is applied. */
		rc = read(read_arg, first, n, win);
		if (rc)
			goto out;
		for (uint64_t i = first; i < first + n; i++) {
			const struct famfs_log_entry *e = &win[i - first];
			struct famfs_checker ec = {.fn = forward, .arg = c};
			struct famfs_node *node;
			int v = famfs_apply_entry(&ap, e, i, &ec, &node);
			bool file = famfs_entry_type(&g, e) == FAMFS_LOG_FILE;

			if (v < 0) {
				rc = v;
				goto out;
			}
			/* A compat image promises FILE entries without times or updates. */
			if (st->compat && v != FAMFS_BAD && file &&
			    (e->file.mtime_sec || e->file.mtime_nsec || e->file.nextents == 0))
				famfs_report(c, FAMFS_P_ENT_COMPAT, (int64_t)i, "%s",
					     e->file.nextents == 0 ? "a file attribute update"
								   : "a file entry with a time");
			if (v == FAMFS_BAD && st->first_bad < 0) {
				st->first_bad = (int64_t)i;
				st->stop = ec.first;
			}
			if (v == FAMFS_IGNORED)
				st->ignored++;
			if (v == FAMFS_APPLIED && file && e->file.nextents &&
			    e->file.size >= FAMFS_REGION) {
				st->large_files++;
				st->large_pmd += famfs_file_pmd_mappable(&e->file);
			}
			if (v == FAMFS_APPLIED && file)
				for (uint32_t d = 0, m = famfs_file_devices(&e->file); m;
				     d++, m >>= 1)
					st->dev[d].files += m & 1;
			if (each)
				each(&g, e, i, arg);
		}
	}
	st->files = ns->nfiles;
	st->dirs = ns->ndirs - 1;
	st->file_bytes = ns->file_bytes;
	st->alloc_bytes = (alloc.used - meta_units) * g.alloc_unit;
	fsck_devices(&ap.devs, st);
out:
	free(win);
	famfs_applier_release(&ap);
	famfs_alloc_destroy(&alloc);
	famfs_ns_free(ns);
	return rc;
}

/* famfs_fsck()'s log: in memory, @n entries after the header. */
struct mem_log {
	const struct famfs_log_entry *ent;
	uint64_t n;
};

static int read_mem(void *arg, uint64_t first, uint64_t n, struct famfs_log_entry *buf)
{
	const struct mem_log *m = arg;

	if (first > m->n || n > m->n - first)
		return -EINVAL;
	memcpy(buf, m->ent + first, n * sizeof(*buf));
	return 0;
}

int famfs_fsck(const struct famfs_superblock *sb, const void *log, uint64_t log_avail,
	       uint64_t devsize, struct famfs_checker *c, famfs_fsck_entry_fn each, void *arg,
	       struct famfs_fsck_stats *st)
{
	const struct famfs_log_header *h = log_avail >= sizeof(*h) ? log : NULL;
	struct mem_log m = {
	    (const void *)((const struct famfs_log_header *)log + 1),
	    log_avail >= sizeof(*h) ? (log_avail - sizeof(*h)) / FAMFS_LOG_ENTRY_SIZE : 0};

	return famfs_fsck_read(sb, h, m.n, read_mem, &m, devsize, NULL, c, each, arg, st);
}

static int describe_extents(char *buf, size_t size, const struct famfs_simple_extent *x, uint64_t n)
{
	int o = 0;

	for (uint64_t i = 0; i < n && (size_t)o < size; i++) {
		if (x[i].devindex) /* a device the log added: "dev2:0x...+0x..." */
			o += snprintf(buf + o, size - (size_t)o, "%sdev%" PRIu64 ":", i ? " " : "",
				      x[i].devindex);
		if ((size_t)o < size)
			o += snprintf(buf + o, size - (size_t)o, "%s%#" PRIx64 "+%#" PRIx64,
				      i && !x[i].devindex ? " " : "", x[i].offset, x[i].len);
	}
	return o;
}

void famfs_entry_describe(const struct famfs_geom *g, const struct famfs_log_entry *e, char *buf,
			  size_t size)
{
	const struct famfs_file_body *f = &e->file;
	int o;

	switch (famfs_entry_type(g, e)) {
	case FAMFS_LOG_MKDIR:
		snprintf(buf, size, "mkdir %s %04o %u:%u",
			 famfs_esc_field(e->mkdir.relpath, FAMFS_RELPATH_FIELD), e->mkdir.mode,
			 e->mkdir.uid, e->mkdir.gid);
		return;
	case FAMFS_LOG_FILE:
		o = snprintf(buf, size, "file  %s %" PRIu64 " bytes %04o %u:%u [",
			     famfs_esc_field(f->relpath, FAMFS_RELPATH_FIELD), f->size, f->mode,
			     f->uid, f->gid);
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
	case FAMFS_LOG_DELETE:
		snprintf(buf, size, "delete (written by no famfs: ignored)");
		return;
	case FAMFS_LOG_INVALID:
		snprintf(buf, size, "invalid (ignored)");
		return;
	default:
		snprintf(buf, size, "type %u", e->type);
		return;
	}
}
