// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include "crc.h"
#include "devtab.h"
#include "entry.h"
#include "path.h"

void famfs_geom_from_sb(struct famfs_geom *g, const struct famfs_superblock *sb)
{
	g->devsize = sb->daxdev.size;
	g->meta_end = famfs_meta_end(sb);
	g->alloc_unit = sb->alloc_unit;
	g->version = sb->version;
	g->nslots = famfs_log_nslots(sb->log_len);
	g->devs = NULL;
	memcpy(g->dev_uuid, sb->device_uuid, FAMFS_UUID_LEN);
}

uint32_t famfs_entry_type(const struct famfs_geom *g, const struct famfs_log_entry *e)
{
	if (g->version == FAMFS_VERSION_47 && e->type == 3)
		return FAMFS_LOG_INVALID;
	return e->type;
}

unsigned int famfs_entry_intact(const struct famfs_log_entry *e, uint64_t index,
				struct famfs_checker *c)
{
	uint64_t crc = famfs_log_entry_crc(e);
	unsigned int n = 0;

	if (e->crc != crc) {
		famfs_report(c, FAMFS_P_ENT_CRC, (int64_t)index, "crc %#llx, computed %#llx",
			     (unsigned long long)e->crc, (unsigned long long)crc);
		n++;
	}
	if (e->seqnum != index) {
		famfs_report(c, FAMFS_P_ENT_SEQNUM, (int64_t)index, "seqnum %llu",
			     (unsigned long long)e->seqnum);
		n++;
	}
	return n;
}

static unsigned int check_path(const char *field, int64_t index, struct famfs_checker *c)
{
	const char *why;

	if (!memchr(field, '\0', FAMFS_RELPATH_FIELD)) {
		famfs_report(c, FAMFS_P_ENT_PATH, index, "relpath: no NUL in 80 bytes");
		return 1;
	}
	if (famfs_path_check(field, &why)) {
		famfs_report(c, FAMFS_P_ENT_PATH, index, "relpath \"%s\": %s",
			     famfs_esc_field(field, FAMFS_RELPATH_FIELD), why);
		return 1;
	}
	return 0;
}

/* One extent (or strip) of a file: where it may lie. */
static unsigned int check_extent(const struct famfs_geom *g, const struct famfs_simple_extent *x,
				 const char *what, unsigned int i, int64_t index,
				 struct famfs_checker *c)
{
	unsigned long long off = x->offset, len = x->len;
	uint64_t devsize = g->devsize, meta_end = g->meta_end;
	uint32_t ndevs = g->devs && g->devs->ndevs ? g->devs->ndevs : 1;
	unsigned int n = 0;

	if (x->devindex >= ndevs) {
		famfs_report(c, FAMFS_P_ENT_DEVINDEX, index,
			     "%s %u: devindex %llu, the file system has %u device%s here", what, i,
			     (unsigned long long)x->devindex, ndevs, ndevs > 1 ? "s" : "");
		n++;
	} else if (x->devindex) {
		devsize = g->devs->dev[x->devindex].size;
		meta_end = g->devs->dev[x->devindex].meta_end;
	}
	if (len == 0 || off % g->alloc_unit || len % g->alloc_unit) {
		famfs_report(c, FAMFS_P_ENT_ALIGN, index,
			     "%s %u: offset %#llx len %#llx, unit %#llx", what, i, off, len,
			     (unsigned long long)g->alloc_unit);
		n++;
	}
	if (off > devsize || len > devsize - off) {
		famfs_report(c, FAMFS_P_ENT_RANGE, index,
			     "%s %u: [%#llx, +%#llx) beyond device size %#llx", what, i, off, len,
			     (unsigned long long)devsize);
		n++;
	} else if (off < meta_end) {
		famfs_report(c, FAMFS_P_ENT_META, index, "%s %u: offset %#llx below %#llx, %s",
			     what, i, off, (unsigned long long)meta_end,
			     x->devindex ? "the end of its device's superblock"
					 : "the end of the log");
		n++;
	}
	return n;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t famfs_file_body_capacity(const struct famfs_file_body *f)
{
	uint64_t total = 0, shortest = UINT64_MAX;

	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t i = 0; i < f->nextents && i < FAMFS_MAX_SIMPLE_EXTENTS; i++) {
			if (f->se[i].len > UINT64_MAX - total)
				return UINT64_MAX;
			total += f->se[i].len;
		}
		return total;
	}
	const struct famfs_interleave_extent *ie = &f->ie[0];

	if (ie->nstrips == 0 || ie->nstrips > FAMFS_MAX_STRIPS || ie->chunk_size == 0)
		return 0;
	for (uint64_t s = 0; s < ie->nstrips; s++)
		if (ie->strips[s].len < shortest)
			shortest = ie->strips[s].len;
	shortest -= shortest % ie->chunk_size;
	if (shortest > UINT64_MAX / ie->nstrips)
		return UINT64_MAX;
	return shortest * ie->nstrips;
}

static unsigned int check_file(const struct famfs_geom *g, const struct famfs_file_body *f,
			       int64_t index, struct famfs_checker *c)
{
	unsigned int n = check_path(f->relpath, index, c);
	uint64_t cap;

	/* An attribute update (docs/format.md): no extents, size 0. */
	if (f->ext_type == FAMFS_EXT_SIMPLE && f->nextents == 0 && f->size == 0)
		return n;
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		if (f->nextents == 0 || f->nextents > FAMFS_MAX_SIMPLE_EXTENTS) {
			famfs_report(c, FAMFS_P_ENT_NEXTENTS, index, "nextents %u, allowed 1..16",
				     f->nextents);
			return n + 1;
		}
		for (uint32_t i = 0; i < f->nextents; i++)
			n += check_extent(g, &f->se[i], "extent", i, index, c);
	} else if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_interleave_extent *ie = &f->ie[0];

		if (f->nextents != 1) {
			famfs_report(c, FAMFS_P_ENT_NEXTENTS, index,
				     "nextents %u, interleaved files have exactly 1", f->nextents);
			return n + 1;
		}
		/* The chunk must also fit the kernel protocol's u32 (docs/protocol.md). */
		if (ie->nstrips == 0 || ie->nstrips > FAMFS_MAX_STRIPS ||
		    !is_pow2(ie->chunk_size) || ie->chunk_size % g->alloc_unit ||
		    ie->chunk_size > FAMFS_MAX_CHUNK) {
			famfs_report(c, FAMFS_P_ENT_STRIPE, index,
				     "nstrips %llu (1..16), chunk_size %#llx (power of two, "
				     "multiple of the allocation unit, at most 2 GiB)",
				     (unsigned long long)ie->nstrips,
				     (unsigned long long)ie->chunk_size);
			return n + 1;
		}
		/* Strips hold whole chunks: that is how striped files are allocated,
		 * and what an fmap can describe. */
		for (uint32_t s = 0; s < ie->nstrips; s++) {
			if (ie->strips[s].len % ie->chunk_size) {
				famfs_report(
				    c, FAMFS_P_ENT_STRIPE, index,
				    "strip %u: len %#llx is not a multiple of chunk_size %#llx", s,
				    (unsigned long long)ie->strips[s].len,
				    (unsigned long long)ie->chunk_size);
				return n + 1;
			}
		}
		for (uint32_t s = 0; s < ie->nstrips; s++)
			n += check_extent(g, &ie->strips[s], "strip", s, index, c);
	} else {
		famfs_report(c, FAMFS_P_ENT_EXT_TYPE, index, "ext_type %u", f->ext_type);
		return n + 1;
	}
	cap = famfs_file_body_capacity(f);
	if (f->size > cap) {
		famfs_report(c, FAMFS_P_ENT_SIZE, index, "size %llu, extents hold %llu",
			     (unsigned long long)f->size, (unsigned long long)cap);
		n++;
	}
	return n;
}

unsigned int famfs_entry_check(const struct famfs_geom *g, const struct famfs_log_entry *e,
			       uint64_t index, struct famfs_checker *c)
{
	unsigned int n = famfs_entry_intact(e, index, c);
	int64_t ix = (int64_t)index;

	switch (famfs_entry_type(g, e)) {
	case FAMFS_LOG_FILE:
		return n + check_file(g, &e->file, ix, c);
	case FAMFS_LOG_MKDIR:
		return n + check_path(e->mkdir.relpath, ix, c);
	case FAMFS_LOG_ADD_DAXDEV:
		return n + famfs_daxdev_entry_check(&e->daxdev, ix, c);
	case FAMFS_LOG_DELETE:
	case FAMFS_LOG_INVALID:
		return n; /* defined, written by no famfs, carry nothing we read (apply.h) */
	default:
		famfs_report(c, FAMFS_P_ENT_TYPE, ix, "type %u", e->type);
		return n + 1;
	}
}

const char *famfs_entry_relpath(const struct famfs_geom *g, const struct famfs_log_entry *e)
{
	switch (famfs_entry_type(g, e)) {
	case FAMFS_LOG_FILE:
		return e->file.relpath;
	case FAMFS_LOG_MKDIR:
		return e->mkdir.relpath;
	default:
		return NULL;
	}
}

int famfs_entry_init_mkdir(struct famfs_log_entry *e, const char *relpath, uint32_t mode,
			   uint32_t uid, uint32_t gid)
{
	int rc = famfs_path_check(relpath, NULL);

	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->type = FAMFS_LOG_MKDIR;
	e->mkdir.uid = uid;
	e->mkdir.gid = gid;
	e->mkdir.mode = mode & 07777;
	strcpy(e->mkdir.relpath, relpath);
	return 0;
}

int famfs_entry_init_file(struct famfs_log_entry *e, const char *relpath, uint64_t size,
			  uint32_t mode, uint32_t uid, uint32_t gid)
{
	int rc = famfs_path_check(relpath, NULL);

	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->type = FAMFS_LOG_FILE;
	e->file.size = size;
	e->file.flags = FAMFS_FILE_FLAG_ALL_RW;
	e->file.uid = uid;
	e->file.gid = gid;
	e->file.mode = mode & 07777;
	strcpy(e->file.relpath, relpath);
	return 0;
}
