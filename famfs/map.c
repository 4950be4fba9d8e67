// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "entry.h"
#include "map.h"

/* Device indices below this fit in the low bits of a 4 KiB-aligned offset. */
#define PACK_DEVINDEX 4096ULL

/* The extents (or strips) of @f and how many; NULL if there are none to keep. */
static const struct famfs_simple_extent *extents(const struct famfs_file_body *f, uint32_t *n)
{
	if (f->ext_type == FAMFS_EXT_SIMPLE) {
		*n = f->nextents;
		return *n >= 1 && *n <= FAMFS_MAX_SIMPLE_EXTENTS ? f->se : NULL;
	}
	if (f->ext_type != FAMFS_EXT_INTERLEAVE || f->nextents != 1)
		return NULL;
	*n = (uint32_t)f->ie[0].nstrips;
	if (f->ie[0].nstrips < 1 || f->ie[0].nstrips > FAMFS_MAX_STRIPS)
		return NULL;
	if (!f->ie[0].chunk_size || (f->ie[0].chunk_size & (f->ie[0].chunk_size - 1)))
		return NULL;
	return f->ie[0].strips;
}

static int packs(const struct famfs_simple_extent *x, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (x[i].offset % PACK_DEVINDEX || x[i].devindex >= PACK_DEVINDEX)
			return 0;
	return 1;
}

size_t famfs_map_size(const struct famfs_file_body *f)
{
	uint32_t n;
	const struct famfs_simple_extent *x = extents(f, &n);

	if (!x)
		return 0;
	return sizeof(struct famfs_map) + n * (packs(x, n) ? 2 : 3) * sizeof(uint64_t);
}

void famfs_map_encode(const struct famfs_file_body *f, struct famfs_map *m)
{
	uint32_t n;
	const struct famfs_simple_extent *x = extents(f, &n);

	m->flags = f->flags;
	m->ext_type = (uint8_t)f->ext_type;
	m->n = (uint8_t)n;
	m->wide = (uint8_t)!packs(x, n);
	m->chunk_shift =
	    f->ext_type == FAMFS_EXT_INTERLEAVE ? (uint8_t)__builtin_ctzll(f->ie[0].chunk_size) : 0;
	for (uint32_t i = 0; i < n; i++) {
		if (m->wide) {
			m->x[3 * i] = x[i].offset;
			m->x[3 * i + 1] = x[i].len;
			m->x[3 * i + 2] = x[i].devindex;
		} else {
			m->x[2 * i] = x[i].offset | x[i].devindex;
			m->x[2 * i + 1] = x[i].len;
		}
	}
}

struct famfs_simple_extent famfs_map_extent(const struct famfs_map *m, unsigned int i)
{
	if (m->wide)
		return (struct famfs_simple_extent){m->x[3 * i + 2], m->x[3 * i], m->x[3 * i + 1]};
	return (struct famfs_simple_extent){m->x[2 * i] % PACK_DEVINDEX,
					    m->x[2 * i] - m->x[2 * i] % PACK_DEVINDEX,
					    m->x[2 * i + 1]};
}

void famfs_map_body(const struct famfs_map *m, struct famfs_file_body *f)
{
	struct famfs_simple_extent *x = f->se;

	memset(f->se, 0, sizeof(f->se));
	f->flags = m->flags;
	f->ext_type = m->ext_type;
	f->nextents = m->n;
	if (m->ext_type == FAMFS_EXT_INTERLEAVE) {
		f->nextents = 1;
		f->ie[0].nstrips = m->n;
		f->ie[0].chunk_size = famfs_map_chunk(m);
		x = f->ie[0].strips;
	}
	for (unsigned int i = 0; i < m->n; i++)
		x[i] = famfs_map_extent(m, i);
}

uint64_t famfs_map_capacity(const struct famfs_map *m)
{
	uint64_t total = 0, shortest = UINT64_MAX, chunk = famfs_map_chunk(m);

	for (unsigned int i = 0; i < m->n; i++) {
		uint64_t len = famfs_map_extent(m, i).len;

		if (m->ext_type == FAMFS_EXT_INTERLEAVE) {
			shortest = len < shortest ? len : shortest;
			continue;
		}
		if (len > UINT64_MAX - total)
			return UINT64_MAX;
		total += len;
	}
	if (m->ext_type != FAMFS_EXT_INTERLEAVE)
		return total;
	shortest -= shortest % chunk;
	return shortest > UINT64_MAX / m->n ? UINT64_MAX : shortest * m->n;
}
