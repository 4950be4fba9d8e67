// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "entry.h"
#include "famfs_kabi.h"
#include "filemap.h"

uint64_t famfs_kernel_fmap_align(const void *arg, size_t arglen)
{
	struct famfs_get_fmap_in in;

	if (arglen < sizeof(in))
		return FMAP_ALIGN;
	memcpy(&in, arg, sizeof(in));
	if (in.align_shift < FAMFS_FMAP_ALIGN_SHIFT_MIN ||
	    in.align_shift > FAMFS_FMAP_ALIGN_SHIFT_MAX)
		return FMAP_ALIGN;
	return 1ULL << in.align_shift;
}

bool famfs_kernel_can_map(const struct fmap *m, uint64_t kernel_align)
{
	return fmap_aligned(m, kernel_align);
}

static bool unit_ok(uint64_t alloc_unit)
{
	return alloc_unit >= FMAP_ALIGN_PAGE && alloc_unit <= FMAP_ALIGN &&
	       !(alloc_unit & (alloc_unit - 1));
}

struct fmap *famfs_file_body_fmap(const struct famfs_file_body *f, uint64_t alloc_unit)
{
	struct fmap *m;

	if (!unit_ok(alloc_unit))
		return NULL;
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		if (f->nextents == 0 || f->nextents > FAMFS_MAX_SIMPLE_EXTENTS)
			return NULL;
		m = fmap_alloc(FMAP_EXT_SIMPLE, f->nextents, 0);
		if (!m)
			return NULL;
		for (uint32_t i = 0; i < f->nextents; i++)
			m->ext[i] = (struct fmap_extent){f->se[i].offset, f->se[i].len,
							 (uint32_t)f->se[i].devindex};
	} else {
		const struct famfs_interleave_extent *ie = &f->ie[0];

		if (ie->nstrips == 0 || ie->nstrips > FAMFS_MAX_STRIPS)
			return NULL;
		m = fmap_alloc(FMAP_EXT_INTERLEAVE, 1, (uint32_t)ie->nstrips);
		if (!m)
			return NULL;
		m->iext[0].chunk_size = ie->chunk_size;
		m->iext[0].nbytes = famfs_file_body_capacity(f);
		m->iext[0].nstrips = (uint32_t)ie->nstrips;
		for (uint32_t s = 0; s < ie->nstrips; s++)
			m->ext[s] = (struct fmap_extent){ie->strips[s].offset, ie->strips[s].len,
							 (uint32_t)ie->strips[s].devindex};
	}
	m->file_type = FMAP_FILE_REGULAR;
	m->file_size = f->size;
	m->align = alloc_unit;
	return m;
}

struct fmap *famfs_map_fmap(const struct famfs_map *fm, uint64_t alloc_unit)
{
	bool striped = fm->ext_type == FAMFS_EXT_INTERLEAVE;
	struct fmap *m;

	if (!unit_ok(alloc_unit) || fm->n == 0 || fm->n > FAMFS_MAX_SIMPLE_EXTENTS)
		return NULL;
	m = striped ? fmap_alloc(FMAP_EXT_INTERLEAVE, 1, fm->n)
		    : fmap_alloc(FMAP_EXT_SIMPLE, fm->n, 0);
	if (!m)
		return NULL;
	for (unsigned int i = 0; i < fm->n; i++) {
		struct famfs_simple_extent x = famfs_map_extent(fm, i);

		m->ext[i] = (struct fmap_extent){x.offset, x.len, (uint32_t)x.devindex};
	}
	if (striped) {
		m->iext[0].chunk_size = famfs_map_chunk(fm);
		m->iext[0].nbytes = famfs_map_capacity(fm);
		m->iext[0].nstrips = fm->n;
	}
	m->file_type = FMAP_FILE_REGULAR;
	m->align = alloc_unit;
	return m;
}

struct fmap *famfs_meta_fmap(const struct famfs_superblock *sb, uint8_t file_type)
{
	struct fmap *m;

	if (file_type != FMAP_FILE_SUPERBLOCK && file_type != FMAP_FILE_LOG)
		return NULL;
	m = fmap_alloc(FMAP_EXT_SIMPLE, 1, 0);
	if (!m)
		return NULL;
	m->file_type = file_type;
	m->ext[0].offset = file_type == FMAP_FILE_SUPERBLOCK ? 0 : sb->log_offset;
	m->ext[0].len = file_type == FMAP_FILE_SUPERBLOCK ? FAMFS_SUPERBLOCK_SIZE : sb->log_len;
	m->file_size = m->ext[0].len;
	return m;
}
