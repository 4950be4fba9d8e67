// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "log.h"
#include "super.h"

/* The two counters after the crc: next_seqnum, next_index. */
struct counters {
	uint64_t next_seqnum;
	uint64_t next_index;
};
static_assert(offsetof(struct famfs_log_header, next_seqnum) + sizeof(struct counters) ==
		  sizeof(struct famfs_log_header),
	      "the counters end the header");

uint64_t famfs_log_used(const struct famfs_fs *fs)
{
	uint64_t n;

	/* Through the access guard: a poisoned header reads as a full log, not a crash. */
	if (famfs_dev_access(FAMFS_ACCESS_COPY, &n, &fs->hdr->next_index, sizeof(n)))
		return fs->geom.nslots;
	return n < fs->geom.nslots ? n : fs->geom.nslots;
}

uint64_t famfs_log_free(const struct famfs_fs *fs)
{
	return fs->geom.nslots - famfs_log_used(fs);
}

/* Copy the header's counters out of the window (after an invalidate if wanted). */
static int load_counters(struct famfs_fs *fs, struct counters *k)
{
	return famfs_dev_load(fs->dev, k, &fs->hdr->next_seqnum, sizeof(*k));
}

int famfs_log_repair_counters(struct famfs_fs *fs)
{
	struct famfs_log_header h;
	struct famfs_log_entry e;
	struct counters k;
	int64_t slot;
	int rc;

	if (!fs->writable)
		return -EROFS;
	rc = famfs_dev_invalidate(fs->dev, fs->hdr, sizeof(*fs->hdr));
	if (!rc)
		rc = load_counters(fs, &k);
	if (rc)
		return rc;
	if (k.next_seqnum == k.next_index)
		return 0;
	h.next_seqnum = k.next_seqnum;
	h.next_index = k.next_index;
	slot = famfs_log_torn_slot(&h, fs->geom.nslots);
	if (slot < 0)
		return -EUCLEAN;
	rc = famfs_dev_invalidate(fs->dev, &fs->ent[slot], sizeof(e));
	if (!rc)
		rc = famfs_dev_load(fs->dev, &e, &fs->ent[slot], sizeof(e));
	if (rc)
		return rc;
	if (famfs_log_torn_check(&h, slot, &e, NULL))
		return -EUCLEAN;
	rc = famfs_dev_store(fs->dev, &fs->hdr->next_seqnum, &k.next_index, sizeof(k.next_index));
	if (!rc)
		rc = famfs_dev_flush(fs->dev, fs->hdr, sizeof(*fs->hdr));
	return rc ? rc : 1;
}

/*
 * Log slots read or written through the window stay mapped, and count in
 * the process's resident memory: 544 bytes per entry, more than a server
 * keeps per file. A replay releases what it has copied out, an appender
 * what lies behind it, every RELEASE_EVERY entries (famfs_dev_release
 * keeps pages that are only partly inside the range).
 */
#define RELEASE_EVERY 4096

static void release_slots(struct famfs_fs *fs, uint64_t from, uint64_t to)
{
	if (to > from)
		(void)famfs_dev_release(fs->dev, &fs->ent[from], (to - from) * sizeof(*fs->ent));
}

int famfs_log_append(struct famfs_fs *fs, struct famfs_log_entry *e, uint64_t *index)
{
	struct famfs_log_entry *slot;
	struct counters k;
	uint64_t idx;
	int rc;

	if (!fs->writable)
		return -EROFS;
	/* We hold the writer lock: the window's header is the current one. */
	rc = load_counters(fs, &k);
	if (rc)
		return rc;
	idx = k.next_index;
	if (idx >= fs->geom.nslots || k.next_seqnum != idx)
		return idx == fs->geom.nslots && k.next_seqnum == idx ? -ENOSPC : -EUCLEAN;

	/* We write what creates (FILE, MKDIR) or describes (ADD_DAXDEV), never more. */
	if (e->type != FAMFS_LOG_FILE && e->type != FAMFS_LOG_MKDIR &&
	    e->type != FAMFS_LOG_ADD_DAXDEV)
		return -EINVAL;
	e->seqnum = idx;
	e->crc = famfs_log_entry_crc(e);
	if (famfs_entry_check(&fs->geom, e, idx, NULL))
		return -EINVAL;

	/* 1. The entry, made durable... */
	slot = &fs->ent[idx];
	rc = famfs_dev_store(fs->dev, slot, e, sizeof(*slot));
	if (!rc)
		rc = famfs_dev_flush(fs->dev, slot, sizeof(*slot));
	if (rc)
		return rc;
	/* 2. ... before the header that publishes it. */
	k.next_seqnum = k.next_index = idx + 1;
	rc = famfs_dev_store(fs->dev, &fs->hdr->next_seqnum, &k, sizeof(k));
	if (!rc)
		rc = famfs_dev_flush(fs->dev, fs->hdr, sizeof(*fs->hdr));
	if (rc)
		return rc;
	if (index)
		*index = idx;
	if (idx % RELEASE_EVERY == 0 && idx >= 2 * RELEASE_EVERY)
		release_slots(fs, idx - 2 * RELEASE_EVERY, idx);
	return 0;
}

/* Invalidate and read the header: the number of slots in use (bounded by the log). */
static int refresh(struct famfs_fs *fs, uint64_t *used)
{
	struct counters k;
	int rc = famfs_dev_invalidate(fs->dev, fs->hdr, sizeof(*fs->hdr));

	if (!rc)
		rc = load_counters(fs, &k);
	if (rc)
		return rc;
	*used = k.next_index < fs->geom.nslots ? k.next_index : fs->geom.nslots;
	return 0;
}

int famfs_log_pending(struct famfs_fs *fs, const struct famfs_replay *r)
{
	uint64_t used;
	int rc = refresh(fs, &used);

	return rc ? rc : used > r->next;
}

/* Entries copied out of the window at a time: one guarded access per batch. */
#define REPLAY_BATCH 64

long famfs_log_replay(struct famfs_fs *fs, struct famfs_replay *r, famfs_entry_fn fn, void *arg)
{
	struct famfs_log_entry *batch, *e; /* private copies: what is checked is what is applied */
	struct famfs_checker c = {0};
	uint64_t end, first = 0, nbatch = 0, kept = r->next; /* slots from kept on still mapped */
	long delivered = 0;
	int rc;

	r->bad_index = -1;
	rc = refresh(fs, &end);
	if (rc)
		return rc;
	if (r->next < end) {
		/* One invalidate for the whole range, after the header; per-entry retries below. */
		rc = famfs_dev_invalidate(fs->dev, &fs->ent[r->next],
					  (end - r->next) * sizeof(struct famfs_log_entry));
		if (rc)
			return rc;
	}
	batch = malloc(REPLAY_BATCH * sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	for (; r->next < end; r->next++) {
		const struct famfs_log_entry *slot = &fs->ent[r->next];

		if (r->next >= first + nbatch) {
			if (r->next - kept >= RELEASE_EVERY) {
				release_slots(fs, kept, r->next);
				kept = r->next;
			}
			first = r->next;
			nbatch = end - first < REPLAY_BATCH ? end - first : REPLAY_BATCH;
			rc = famfs_dev_load(fs->dev, batch, slot, nbatch * sizeof(*batch));
			if (rc)
				goto out;
		}
		e = &batch[r->next - first];
		if (famfs_entry_check(&fs->geom, e, r->next, NULL)) {
			/* Another host may still be writing it: read it once more. */
			r->retries++;
			rc = famfs_dev_invalidate(fs->dev, slot, sizeof(*slot));
			if (!rc)
				rc = famfs_dev_load(fs->dev, e, slot, sizeof(*e));
			if (rc)
				goto out;
			c.count = 0;
			if (famfs_entry_check(&fs->geom, e, r->next, &c)) {
				r->bad_index = (int64_t)r->next;
				r->bad = c.first;
				break;
			}
		}
		c.count = 0;
		rc = fn(e, r->next, arg, &c);
		if (rc < 0)
			goto out;
		if (rc > 0) {
			/* Intact, but its contents cannot be applied: stop here too. */
			r->bad_index = (int64_t)r->next;
			r->bad = c.first;
			break;
		}
		delivered++;
	}
	rc = 0;
out:
	release_slots(fs, kept, r->next);
	free(batch);
	return rc < 0 ? rc : delivered;
}
