/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata log: append (master only) and replay (docs/format.md,
 * "Log semantics").
 */
#ifndef FAMFS_LOG_H
#define FAMFS_LOG_H

#include "fs.h"

/**
 * famfs_log_append() - append one entry. @e is a FILE/MKDIR/ADD_DAXDEV entry
 * whose seqnum and crc this fills in; it is checked first with
 * famfs_entry_check() and never written if bad. Stores the slot and flushes
 * it, and only then stores next_seqnum/next_index and flushes the header
 * (famfs_dev_store/flush, in that order): a crash at any point leaves either
 * the old log or the old log plus the whole entry (test_crash proves it),
 * the counters possibly torn at 8 bytes (famfs_log_torn_check).
 * Cost: one 544-byte copy, two crc32s and ten cache-line flushes.
 *
 * Returns 0 (and the slot in *@index if not NULL) or a negative errno:
 *  -EROFS    @fs not opened writable (client, or no FAMFS_FS_WRITE)
 *  -ENOSPC   the log is full (famfs_log_free() == 0)
 *  -EINVAL   the entry fails its own checks
 *  -EUCLEAN  the log header is inconsistent
 *  -EIO      the device refused the write (pmem)
 */
int famfs_log_append(struct famfs_fs *fs, struct famfs_log_entry *e, uint64_t *index);

/**
 * famfs_log_repair_counters() - make next_seqnum equal next_index again
 * after a power loss tore their publication (famfs_log_torn_check: one
 * apart, the entry at the lower one intact). next_index is what the log
 * publishes, for every reader; the repair is one 8-byte store of
 * next_seqnum, flushed, so it cannot tear itself. Needs @fs writable (the
 * writer lock). Returns 1 repaired, 0 nothing to repair, -EROFS, -EUCLEAN
 * (the counters are not a torn pair) or -EIO.
 */
int famfs_log_repair_counters(struct famfs_fs *fs);

/** famfs_log_used() / famfs_log_free() - slots used and free, from the header. */
uint64_t famfs_log_used(const struct famfs_fs *fs);
uint64_t famfs_log_free(const struct famfs_fs *fs);

/* Progress of a replay; zero-initialize, then call famfs_log_replay() as often as wanted. */
struct famfs_replay {
	uint64_t next;		  /* first slot not yet delivered */
	int64_t bad_index;	  /* slot that stopped the last replay, or -1 */
	struct famfs_problem bad; /* why it stopped there */
	unsigned long retries;	  /* invalidate-and-retry rounds taken */
};

/*
 * Called for each intact, well-formed entry in slot order, with a private
 * copy of it (@e is not in the shared log). Returns 0 to go on, a negative
 * errno to abort the replay with it, or FAMFS_REPLAY_STOP after reporting
 * to @c why the entry cannot be applied: replay then stops at it exactly as
 * at a corrupt entry (@r->bad_index, @r->bad).
 */
#define FAMFS_REPLAY_STOP 1
typedef int (*famfs_entry_fn)(const struct famfs_log_entry *e, uint64_t index, void *arg,
			      struct famfs_checker *c);

/**
 * famfs_log_replay() - deliver entries [@r->next, next_index) to @fn.
 *
 * Invalidates and reads the header, then invalidates the slots in use and
 * copies each out of the window (famfs_dev_load) before checking it: the
 * copy that was checked is the one delivered. An entry that fails its checks
 * is invalidated and read once more (another host may still be writing it),
 * and if still bad replay stops there: @r->bad_index and @r->bad say where
 * and why, and @r->next stays on it so a later call tries it again. @fn may
 * stop the replay the same way (FAMFS_REPLAY_STOP). Delivering from slot 0
 * into a fresh namespace each time and calling again with the same @r are
 * both fine (idempotent).
 *
 * Returns the number of entries delivered, or the negative value @fn
 * returned, or -EIO from the device.
 */
long famfs_log_replay(struct famfs_fs *fs, struct famfs_replay *r, famfs_entry_fn fn, void *arg);

/**
 * famfs_log_pending() - re-read the log header (invalidating it first): 1 if
 * slots beyond @r->next are in use, 0 if not, or -errno from the device.
 */
int famfs_log_pending(struct famfs_fs *fs, const struct famfs_replay *r);

#endif
