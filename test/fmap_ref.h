/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference resolver the fmap tests and the fmap fuzzer compare
 * fmap_resolve() with: a brute-force walk straight from kernel-protocol.md
 * ("Resolution"), no index, no shortcuts. Define FMAP_REF_ATTR before
 * including to decorate it (the fuzzer keeps it out of coverage).
 */
#ifndef FAMFS_TEST_FMAP_REF_H
#define FAMFS_TEST_FMAP_REF_H

#include <errno.h>

#include "fmap.h"

#ifndef FMAP_REF_ATTR
#define FMAP_REF_ATTR
#endif

/*
 * Resolve @off as the protocol describes it. Returns 0, -ERANGE past the
 * file size, or -EFAULT when the map does not cover @off or a chunk would
 * lie outside its strip.
 */
FMAP_REF_ATTR static inline int fmap_ref_resolve(const struct fmap *m, uint64_t off,
						 struct fmap_loc *loc)
{
	uint32_t cursor = 0;

	if (off >= m->file_size)
		return -ERANGE;
	if (m->ext_type == FMAP_EXT_SIMPLE) {
		for (uint32_t i = 0; i < m->nextents; i++) {
			if (off < m->ext[i].len) {
				loc->offset = m->ext[i].offset + off;
				loc->len = m->ext[i].len - off;
				loc->devindex = m->ext[i].devindex;
				return 0;
			}
			off -= m->ext[i].len;
		}
		return -EFAULT;
	}
	for (uint32_t i = 0; i < m->nextents; i++) {
		const struct fmap_iext *ie = &m->iext[i];

		if (off < ie->nbytes) {
			uint64_t c = off / ie->chunk_size, w = off % ie->chunk_size;
			uint64_t stripe = c / ie->nstrips;
			const struct fmap_extent *s = &m->ext[cursor + c % ie->nstrips];

			if ((stripe + 1) * ie->chunk_size > s->len)
				return -EFAULT; /* the chunk must lie inside its strip */
			loc->offset = s->offset + stripe * ie->chunk_size + w;
			loc->len = ie->chunk_size - w;
			if (loc->len > ie->nbytes - off)
				loc->len = ie->nbytes - off;
			loc->devindex = s->devindex;
			return 0;
		}
		off -= ie->nbytes;
		cursor += ie->nstrips;
	}
	return -EFAULT;
}

#endif
