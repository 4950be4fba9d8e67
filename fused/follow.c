// SPDX-License-Identifier: Apache-2.0
/*
 * Following the master. A client's server looks at the log header (one
 * invalidated cache line, or one 4 KiB O_DIRECT read on pmem) adaptively:
 * every poll_min_us right after a change, the interval doubling while
 * nothing happens, up to poll_ms (default 4 ms). It replays entries it has
 * not seen and tells the kernel what it may hold that the new entries
 * change (below): no cached lookup or attribute hides a new name.
 * A device the log adds is found on this host by its uuid, opened and
 * registered with famfs.ko before the names after it are published; one
 * this host does not have stops the replay at its entry, retried as a bad
 * entry is. A bad entry is retried only when the log header changes, or after a
 * back-off that doubles from 100 ms to 10 s: never a spin.
 * `famfs logplay MOUNTPOINT` forces a catch-up through the
 * user.famfs.logplay xattr (ops.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devset.h"
#include "fused.h"

/*
 * What the kernel must be told after a catch-up, without a notice per new
 * name (a catch-up can bring millions):
 * - a new name needs none: the kernel holds no entry for a name the
 *   server never answered with a node, and a lookup that found nothing was
 *   answered ENOENT, which the kernel keeps only as a negative dentry with
 *   no lifetime, looked up again at its next use (fused_lookup in ops.c
 *   must keep answering so);
 * - its directory's attributes (size, link count) may be cached: one
 *   notify_inval_inode per directory per catch-up;
 * - a name an attribute update changed may be cached with its old
 *   attributes: its entry is invalidated.
 * Directories are gathered in a set by inode number (a copy spreads its
 * entries over every directory it writes: famfs cp -r cycles through a
 * thousand); if the set cannot grow, a directory's notice is queued at
 * once (a second one for it later is harmless).
 */
struct touched {
	fuse_ino_t *slot; /* open addressing, linear probing; 0: empty */
	size_t cap, n;	  /* cap: a power of two, or 0 */
};

/* Put @dir in @t's slots (no growing). */
static void put_dir(struct touched *t, fuse_ino_t dir)
{
	size_t i = (size_t)(dir * 0x9E3779B97F4A7C15ULL) & (t->cap - 1);

	while (t->slot[i] && t->slot[i] != dir)
		i = (i + 1) & (t->cap - 1);
	if (!t->slot[i]) {
		t->slot[i] = dir;
		t->n++;
	}
}

static void touch_dir(struct touched *t, fuse_ino_t dir)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t ocap = t->cap, cap = ocap ? ocap * 2 : 256;
		fuse_ino_t *old = t->slot, *v = calloc(cap, sizeof(*v));

		if (!v) {
			fused_notify_inode(dir, false);
			return;
		}
		t->slot = v;
		t->cap = cap;
		t->n = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				put_dir(t, old[i]);
		free(old);
	}
	put_dir(t, dir);
}

static void collect(struct famfs_node *node, void *arg)
{
	struct touched *t = arg;

	fused_node_attach(node);
	if (node->log_index != (int64_t)fused.im->replay.next)
		fused_notify_entry(node->parent->ino, node->name, false); /* an update */
	touch_dir(t, node->parent->ino);
}

long fused_catch_up(void)
{
	static int64_t reported = -1;
	static struct touched t; /* under the exclusive lock */
	uint32_t devs;
	long got;

	pthread_rwlock_wrlock(&fused.lock);
	devs = famfs_image_devmask(fused.im);
	got = famfs_image_catch_up(fused.im, collect, &t);
	/* A device the log added: famfs.ko has it before any file on it is looked up. */
	if (famfs_image_devmask(fused.im) != devs && fused_devices_learned())
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: a device added to the file system was not taken by the "
			 "kernel: its files fail to open with EIO\n");
	if (fused.im->replay.bad_index >= 0 && fused.im->replay.bad_index != reported) {
		char why[512];

		famfs_problem_format(&fused.im->replay.bad, why, sizeof(why));
		fuse_log(FUSE_LOG_ERR, "famfs_fused: %s: log replay stopped: %s\n",
			 famfs_esc(fused.devpath), why);
		reported = fused.im->replay.bad_index;
	}
	/* Queued for the notifier thread (notify.c), sent without the lock. */
	for (size_t i = 0; i < t.cap; i++)
		if (t.slot[i])
			fused_notify_inode(t.slot[i], false);
	if (t.cap > 4096) { /* a large catch-up's: not cleared at every small one */
		free(t.slot);
		t = (struct touched){0};
	} else if (t.cap) {
		memset(t.slot, 0, t.cap * sizeof(*t.slot));
		t.n = 0;
	}
	pthread_rwlock_unlock(&fused.lock);
	return got;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *follow(void *arg)
{
	uint64_t max = (uint64_t)fused.poll_ms * 1000;
	uint64_t interval = fused.poll_min_us < max ? fused.poll_min_us : max;
	uint64_t bad_seen = 0, bad_backoff = 0, bad_next = 0; /* header at the bad entry */
	(void)arg;

	while (!atomic_load(&fused.stopping)) {
		struct timespec ts = {.tv_sec = (time_t)(interval / 1000000),
				      .tv_nsec = (long)(interval % 1000000) * 1000};
		uint64_t hdr = 0;
		int64_t bad;
		int pending;

		nanosleep(&ts, NULL);
		atomic_fetch_add(&fused.polls, 1);
		pthread_rwlock_rdlock(&fused.lock);
		pending = famfs_log_pending(fused.im->fs, &fused.im->replay);
		if (pending >= 0 && famfs_dev_load(fused.im->fs->dev, &hdr,
						   &fused.im->fs->hdr->next_index, sizeof(hdr)))
			pending = -EIO; /* the header faulted (guarded load) */
		bad = fused.im->replay.bad_index;
		pthread_rwlock_unlock(&fused.lock);
		if (pending > 0 && bad >= 0 && hdr == bad_seen && now_us() < bad_next)
			pending = 0; /* the same bad entry, and the header has not moved: wait */
		if (pending > 0) {
			long got = fused_catch_up();

			pthread_rwlock_rdlock(&fused.lock);
			bad = fused.im->replay.bad_index;
			pthread_rwlock_unlock(&fused.lock);
			if (bad >= 0) {
				bad_backoff = hdr != bad_seen || !bad_backoff ? 100000
					      : bad_backoff < 10000000	      ? bad_backoff * 2
									      : bad_backoff;
				bad_seen = hdr;
				bad_next = now_us() + bad_backoff;
			}
			if (got > 0) {
				interval = fused.poll_min_us < max ? fused.poll_min_us : max;
				continue;
			}
		}
		interval = interval * 2 < max ? interval * 2 : max;
	}
	return NULL;
}

int fused_follow_start(void)
{
	int rc = pthread_create(&fused.follow_thread, NULL, follow, NULL);

	if (rc)
		return -rc;
	fused.follow_running = true;
	return 0;
}

void fused_follow_stop(void)
{
	atomic_store(&fused.stopping, true);
	if (fused.follow_running)
		pthread_join(fused.follow_thread, NULL);
	fused.follow_running = false;
}
