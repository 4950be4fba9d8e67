// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include "crc.h"
#include "log.h"

uint64_t famfs_log_used(const struct famfs_fs *fs)
{
	uint64_t n = fs->hdr->next_index;

	return n < fs->geom.nslots ? n : fs->geom.nslots;
}

uint64_t famfs_log_free(const struct famfs_fs *fs)
{
	return fs->geom.nslots - famfs_log_used(fs);
}

int famfs_log_append(struct famfs_fs *fs, struct famfs_log_entry *e, uint64_t *index)
{
	struct famfs_log_header *h = fs->hdr;
	struct famfs_log_entry *slot;
	uint64_t idx;
	int rc;

	if (!fs->writable)
		return -EROFS;
	idx = h->next_index;
	if (idx > h->last_index || idx >= fs->geom.nslots)
		return idx == h->last_index + 1 ? -ENOSPC : -EUCLEAN;

	e->seqnum = idx;
	e->crc = famfs_log_entry_crc(e);
	if (famfs_entry_check(&fs->geom, e, idx, NULL))
		return -EINVAL;

	slot = &fs->ent[idx];
	memcpy(slot, e, sizeof(*slot));
	rc = famfs_dev_flush(fs->dev, slot, sizeof(*slot));
	if (rc)
		return rc;
	/* The entry is durable; publishing it is the header update. */
	h->next_seqnum = idx + 1;
	h->next_index = idx + 1;
	rc = famfs_dev_flush(fs->dev, h, sizeof(*h));
	if (rc)
		return rc;
	if (index)
		*index = idx;
	return 0;
}

int famfs_log_pending(struct famfs_fs *fs, const struct famfs_replay *r)
{
	int rc = famfs_dev_invalidate(fs->dev, fs->hdr, sizeof(*fs->hdr));

	if (rc)
		return rc;
	return famfs_log_used(fs) > r->next;
}

long famfs_log_replay(struct famfs_fs *fs, struct famfs_replay *r, famfs_entry_fn fn, void *arg)
{
	struct famfs_checker c = {0};
	long delivered = 0;
	uint64_t end;
	int rc;

	r->bad_index = -1;
	rc = famfs_log_pending(fs, r);
	if (rc < 0)
		return rc;
	end = famfs_log_used(fs);
	if (r->next < end) {
		/* One invalidate for the whole range; per-entry retries below. */
		rc = famfs_dev_invalidate(fs->dev, &fs->ent[r->next],
					  (end - r->next) * sizeof(struct famfs_log_entry));
		if (rc)
			return rc;
	}
	for (; r->next < end; r->next++) {
		const struct famfs_log_entry *e = &fs->ent[r->next];

		if (famfs_entry_check(&fs->geom, e, r->next, NULL)) {
			r->retries++;
			rc = famfs_dev_invalidate(fs->dev, e, sizeof(*e));
			if (rc)
				return rc;
			c.count = 0;
			if (famfs_entry_check(&fs->geom, e, r->next, &c)) {
				r->bad_index = (int64_t)r->next;
				r->bad = c.first;
				break;
			}
		}
		rc = fn(e, r->next, arg);
		if (rc < 0)
			return rc;
		delivered++;
	}
	return delivered;
}
