// SPDX-License-Identifier: Apache-2.0
/*
 * Crash safety of the log, proved through the device's recording seam
 * (famfs_dev trace: every store, flush, invalidate and load of the metadata).
 *
 * test_append_order / test_replay_order: the order of the calls themselves.
 * An append stores the entry and flushes it before it stores the header that
 * publishes it; a replay invalidates and reads the header before it
 * invalidates and reads the entries it covers.
 *
 * test_crash_images: a workload of mkdirs, creates (plain, empty, striped,
 * pending files logged as the server logs them) and copies (create, then
 * data written into the file's extents) runs through the library, and at
 * every store and every flush of the metadata the test builds the images a
 * crash at that point can leave on the media: what was flushed, plus any
 * cache lines stored but not yet flushed (a line may be written back at any
 * time): none, all, each one alone, all but each one. The log header's line
 * goes in 8-byte words, the unit persistent memory keeps whole on power
 * loss, so the 16-byte store of its two counters is also torn. For every
 * image, fsck is clean (or reports only LOG_TORN for torn counters, which a
 * writable open then repairs) and a replay (famfs_fs_open + famfs_log_replay
 * on the image) delivers exactly the entries the image's header publishes,
 * each byte for byte the one appended, and publishes either what was
 * committed or that plus the entry being appended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mman.h>
#include <time.h>

#include "check.h"
#include "helpers.h"
#include "image.h"
#include "log.h"

#define MiB	 (1ULL << 20)
#define LINE	 64ULL
#define HDR_OFF	 FAMFS_LOG_OFFSET
#define ENT_OFF0 (FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE)

static uint64_t slot_off(uint64_t i)
{
	return ENT_OFF0 + i * FAMFS_LOG_ENTRY_SIZE;
}

/* ------------------------------------------------------------ recording */

struct ev {
	enum famfs_dev_op op;
	uint64_t off, len;
};

struct rec {
	struct ev *v;
	size_t n, cap;
};

static void record(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len)
{
	struct rec *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	r->v[r->n++] = (struct ev){op, off, len};
}

static bool covers(const struct ev *e, uint64_t off, uint64_t len)
{
	return e->off <= off && off + len <= e->off + e->len;
}

static bool touches(const struct ev *e, uint64_t off, uint64_t len)
{
	return e->off < off + len && off < e->off + e->len;
}

static const char *opname(enum famfs_dev_op op)
{
	static const char *const n[] = {"store", "flush", "invalidate", "load"};

	return op <= FAMFS_DEV_LOAD ? n[op] : "?";
}

/*
 * The append rule, over a recorded sequence: a store to the header's
 * counters (which publishes slots below the new next_index) happens only
 * when every slot it publishes was stored and then flushed, and no stored
 * slot is still unflushed; the header store is flushed before the next
 * entry is stored.
 */
static void check_append_order(const struct rec *r, uint64_t first_slot, uint64_t nslots)
{
	enum { NONE, STORED, FLUSHED } st[512] = {0};
	bool hdr_dirty = false;
	uint64_t published = first_slot;

	assert_true(first_slot + nslots <= 512);
	for (size_t k = 0; k < r->n; k++) {
		const struct ev *e = &r->v[k];

		if (e->op == FAMFS_DEV_STORE && touches(e, HDR_OFF, FAMFS_LOG_HEADER_SIZE)) {
			assert_int_equal(e->off, HDR_OFF + 32); /* the counters only */
			for (uint64_t i = first_slot; i <= published && i < first_slot + nslots;
			     i++)
				if (st[i] == STORED)
					fail_msg(
					    "event %zu: header stored while slot %llu is stored "
					    "but not flushed",
					    k, (unsigned long long)i);
			if (st[published] != FLUSHED)
				fail_msg("event %zu: header publishes slot %llu, which was not "
					 "stored and flushed first",
					 k, (unsigned long long)published);
			published++;
			hdr_dirty = true;
		} else if (e->op == FAMFS_DEV_STORE) {
			uint64_t i = (e->off - ENT_OFF0) / FAMFS_LOG_ENTRY_SIZE;

			assert_true(e->off >= ENT_OFF0 && i < first_slot + nslots);
			assert_true(covers(e, slot_off(i), FAMFS_LOG_ENTRY_SIZE));
			if (hdr_dirty)
				fail_msg(
				    "event %zu: slot %llu stored before the header was flushed", k,
				    (unsigned long long)i);
			st[i] = STORED;
		} else if (e->op == FAMFS_DEV_FLUSH) {
			if (covers(e, HDR_OFF, FAMFS_LOG_HEADER_SIZE))
				hdr_dirty = false;
			for (uint64_t i = first_slot; i < first_slot + nslots; i++)
				if (st[i] == STORED && covers(e, slot_off(i), FAMFS_LOG_ENTRY_SIZE))
					st[i] = FLUSHED;
		}
	}
	assert_int_equal(published, first_slot + nslots);
	assert_false(hdr_dirty);
}

/*
 * The replay rule: every load of a slot comes after an invalidate covering
 * it, which comes after the latest load of the header counters, which comes
 * after an invalidate of the header. (Entries read before the header was
 * invalidated could be stale lines from before the master published them.)
 */
static void check_replay_order(const struct rec *r, uint64_t expect_loads)
{
	ssize_t hdr_inval = -1, hdr_load = -1;
	uint64_t loads = 0;

	for (size_t k = 0; k < r->n; k++) {
		const struct ev *e = &r->v[k];
		bool hdr = touches(e, HDR_OFF, FAMFS_LOG_HEADER_SIZE);

		if (e->op == FAMFS_DEV_INVALIDATE && covers(e, HDR_OFF, FAMFS_LOG_HEADER_SIZE))
			hdr_inval = (ssize_t)k;
		if (e->op == FAMFS_DEV_LOAD && hdr) {
			if (hdr_inval < 0)
				fail_msg("event %zu: header read before it was invalidated", k);
			hdr_load = (ssize_t)k;
		}
		if (e->op == FAMFS_DEV_LOAD && e->off >= ENT_OFF0) {
			bool ok = false;

			if (hdr_load < 0)
				fail_msg("event %zu: entry at %#llx read before the header was "
					 "invalidated and read",
					 k, (unsigned long long)e->off);
			for (ssize_t j = (ssize_t)k - 1; j > hdr_load && !ok; j--)
				ok = r->v[j].op == FAMFS_DEV_INVALIDATE &&
				     covers(&r->v[j], e->off, e->len);
			if (!ok)
				fail_msg("event %zu: entry at %#llx read without an invalidate "
					 "after the header was read",
					 k, (unsigned long long)e->off);
			loads +=
			    e->len / FAMFS_LOG_ENTRY_SIZE; /* entries are copied out in batches */
		}
	}
	assert_int_equal(loads, expect_loads);
}

static void dump(const struct rec *r, const char *what)
{
	printf("  %s: %zu calls:", what, r->n);
	for (size_t k = 0; k < r->n && k < 12; k++)
		printf(" %s@%#llx+%llu", opname(r->v[k].op), (unsigned long long)r->v[k].off,
		       (unsigned long long)r->v[k].len);
	printf("%s\n", r->n > 12 ? " ..." : "");
}

static void test_append_order(void **state)
{
	const char *img = scratch_image("order.img", 256 * MiB, 8 * MiB);
	struct famfs_stripe st = {.nbuckets = 4, .nstrips = 2, .chunk_size = 2 * MiB};
	struct famfs_image *m;
	struct famfs_node *d;
	struct rec r = {0};

	(void)state;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	m->fs->dev->trace = record;
	m->fs->dev->trace_arg = &r;
	assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), "d", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_image_mkfile(m, d, "a", 5 * MiB, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_image_mkfile(m, d, "s", 9 * MiB, 0644, 0, 0, &st, NULL), 0);
	assert_int_equal(famfs_image_mkfile(m, d, "e", 0, 0644, 0, 0, NULL, NULL), 0);
	dump(&r, "4 appends");
	check_append_order(&r, 0, 4);
	m->fs->dev->trace = NULL;
	famfs_image_close(m);
	free(r.v);
}

static void test_replay_order(void **state)
{
	const char *img = scratch_image("replay.img", 256 * MiB, 8 * MiB);
	struct famfs_image *m, *c;
	struct rec r = {0};
	char name[16];

	(void)state;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), name, 0755, 0, 0, NULL),
				 0);
	}
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	c->fs->dev->trace = record;
	c->fs->dev->trace_arg = &r;
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 5);
	dump(&r, "replay of 5");
	check_replay_order(&r, 5);
	/* Following: the master appends, the client catches up again. */
	r.n = 0;
	assert_int_equal(
	    famfs_image_mkfile(m, famfs_ns_root(m->ns), "f", 1, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 1);
	check_replay_order(&r, 1);
	c->fs->dev->trace = NULL;
	famfs_image_close(c);
	famfs_image_close(m);
	free(r.v);
}

/* ------------------------------------------------------------ crash images */

#define CRASH_DEVSIZE (2048 * MiB)
#define MAX_DIRTY     64

struct crash {
	struct famfs_image *w; /* the workload's image */
	uint8_t *win;	       /* its metadata window */
	uint8_t *media;	       /* crash.img's metadata, mapped: what is durable */
	const char *crash_path;
	uint64_t meta_end;
	/* Stored, not flushed: whole cache lines, but the log header's line in
	 * 8-byte words (below). Each is a byte offset and a length. */
	struct unit {
		uint64_t off, len;
	} dirty[MAX_DIRTY];
	unsigned int ndirty;
	/* results */
	unsigned long points, images, replayed, torn_repaired;
	uint64_t max_published;
	char failure[512];
};

static void add_dirty(struct crash *k, uint64_t off, uint64_t len)
{
	for (unsigned int i = 0; i < k->ndirty; i++)
		if (k->dirty[i].off == off)
			return;
	assert_true(k->ndirty < MAX_DIRTY);
	k->dirty[k->ndirty++] = (struct unit){off, len};
}

/*
 * What a power loss can leave half written. Persistent memory guarantees
 * only 8-byte atomicity: the 16-byte store of the header's two counters may
 * reach the media as either word alone. A line is the unit elsewhere (no
 * other store we check spans two words whose halves could disagree in a
 * way a crc would not catch: every entry is under its crc).
 */
static void add_dirty_range(struct crash *k, uint64_t off, uint64_t len)
{
	uint64_t l0 = off / LINE, l1 = (off + len + LINE - 1) / LINE;

	for (uint64_t l = l0; l < l1; l++) {
		if (l != HDR_OFF / LINE) {
			add_dirty(k, l * LINE, LINE);
			continue;
		}
		uint64_t lo = off > l * LINE ? off : l * LINE;
		uint64_t hi = off + len < (l + 1) * LINE ? off + len : (l + 1) * LINE;

		for (uint64_t w = lo / 8 * 8; w < hi; w += 8)
			add_dirty(k, w, 8);
	}
}

struct cmp_arg {
	struct crash *k;
	uint64_t n;
	int bad;
};

/* Replay callback: each delivered entry is, byte for byte, the slot appended. */
static int same_as_appended(const struct famfs_log_entry *e, uint64_t index, void *arg,
			    struct famfs_checker *c)
{
	struct cmp_arg *a = arg;

	(void)c;
	if (index != a->n ||
	    memcmp(e, a->k->win + slot_off(index), sizeof(*e)) != 0) /* window: what was written */
		a->bad = 1;
	a->n++;
	return 0;
}

/*
 * A torn image: the master's writable open (what its mount does) repairs
 * the counters, after which fsck is clean and the log publishes the same
 * entries. The media's header is put back afterwards, for the next image.
 */
static int repair_torn(struct crash *k, const char *what)
{
	struct famfs_log_header saved, *h = (void *)(k->media + HDR_OFF);
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	uint64_t pub = h->next_index;
	struct famfs_fs *fs;
	int rc;

	memcpy(&saved, h, sizeof(saved));
	rc = famfs_fs_open(k->crash_path, FAMFS_FS_WRITE, &fs, &chk);
	if (rc || !fs->torn_repaired) {
		snprintf(k->failure, sizeof(k->failure),
			 "crash point %lu (%s): torn counters: writable open %s, repaired %d",
			 k->points, what, strerror(-rc), rc ? 0 : fs->torn_repaired);
		if (!rc)
			famfs_fs_close(fs);
		return -1;
	}
	famfs_fs_close(fs);
	rc = famfs_fsck((const void *)k->media, k->media + HDR_OFF, k->meta_end - HDR_OFF,
			CRASH_DEVSIZE, &chk, NULL, NULL, &st);
	if (rc || chk.count || h->next_index != pub || h->next_seqnum != pub) {
		snprintf(k->failure, sizeof(k->failure),
			 "crash point %lu (%s): after the repair: fsck rc %d, %u problems, "
			 "counters %llu/%llu, expected %llu",
			 k->points, what, rc, chk.count, (unsigned long long)h->next_seqnum,
			 (unsigned long long)h->next_index, (unsigned long long)pub);
		return -1;
	}
	memcpy(h, &saved, sizeof(saved));
	k->torn_repaired++;
	return 0;
}

/* One crash image: media as it is now. Returns 0 or fills k->failure. */
static int check_image(struct crash *k, uint64_t lo, uint64_t hi, const char *what)
{
	const struct famfs_log_header *h = (const void *)(k->media + HDR_OFF);
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct famfs_replay r = {0};
	struct cmp_arg a = {k, 0, 0};
	struct famfs_fs *fs;
	uint64_t pub = h->next_index;
	bool torn;
	long n;
	int rc;

	k->images++;
	rc = famfs_fsck((const void *)k->media, k->media + HDR_OFF, k->meta_end - HDR_OFF,
			CRASH_DEVSIZE, &chk, NULL, NULL, &st);
	/* Counters torn at 8 bytes: reported, and nothing else. */
	torn = rc == 0 && chk.count == 1 && chk.first.code == FAMFS_P_LOG_TORN;
	if (rc || (chk.count && !torn)) {
		char why[300];

		famfs_problem_format(&chk.first, why, sizeof(why));
		snprintf(k->failure, sizeof(k->failure),
			 "crash point %lu (%s): fsck rc %d, %u problems: %s", k->points, what, rc,
			 chk.count, why);
		return -1;
	}
	if (pub < lo || pub > hi) {
		snprintf(k->failure, sizeof(k->failure),
			 "crash point %lu (%s): header publishes %llu entries, expected %llu..%llu",
			 k->points, what, (unsigned long long)pub, (unsigned long long)lo,
			 (unsigned long long)hi);
		return -1;
	}
	rc = famfs_fs_open(k->crash_path, 0, &fs, &chk);
	if (rc) {
		snprintf(k->failure, sizeof(k->failure), "crash point %lu (%s): open: %s",
			 k->points, what, strerror(-rc));
		return -1;
	}
	n = famfs_log_replay(fs, &r, same_as_appended, &a);
	famfs_fs_close(fs);
	if (n != (long)pub || r.bad_index != -1 || a.bad) {
		snprintf(k->failure, sizeof(k->failure),
			 "crash point %lu (%s): replay delivered %ld of %llu entries (bad %lld, "
			 "differing %d)",
			 k->points, what, n, (unsigned long long)pub, (long long)r.bad_index,
			 a.bad);
		return -1;
	}
	k->replayed += (unsigned long)n;
	if (pub > k->max_published)
		k->max_published = pub;
	if (torn)
		return repair_torn(k, what);
	return 0;
}

/* Write back (set) or restore (!set) the units in @mask of the dirty set. */
static void apply_lines(struct crash *k, uint64_t mask, uint8_t (*save)[LINE], bool set)
{
	for (unsigned int i = 0; i < k->ndirty; i++) {
		const struct unit *u = &k->dirty[i];
		uint8_t *m = k->media + u->off;

		if (!(mask >> i & 1))
			continue;
		if (set) {
			memcpy(save[i], m, u->len);
			memcpy(m, k->win + u->off, u->len);
		} else {
			memcpy(m, save[i], u->len);
		}
	}
}

/* Every image a crash now can leave: flushed lines plus subsets of the dirty ones. */
static void crash_point(struct crash *k)
{
	const struct famfs_log_header *wh = (const void *)(k->win + HDR_OFF);
	const struct famfs_log_header *mh = (const void *)(k->media + HDR_OFF);
	uint64_t masks[2 + 2 * MAX_DIRTY], all = 0, lo, hi;
	uint8_t save[MAX_DIRTY][LINE];
	unsigned int nm = 0;

	if (k->failure[0])
		return;
	k->points++;
	/* Published entries: what the media's header says, or what the window's will. */
	lo = mh->next_index < wh->next_index ? mh->next_index : wh->next_index;
	hi = mh->next_index > wh->next_index ? mh->next_index : wh->next_index;
	for (unsigned int i = 0; i < k->ndirty; i++)
		all |= 1ULL << i;
	masks[nm++] = 0;
	if (k->ndirty)
		masks[nm++] = all;
	for (unsigned int i = 0; k->ndirty > 1 && i < k->ndirty; i++) {
		masks[nm++] = 1ULL << i;
		masks[nm++] = all & ~(1ULL << i);
	}
	for (unsigned int j = 0; j < nm && !k->failure[0]; j++) {
		char what[64];

		snprintf(what, sizeof(what), "%u of %u unflushed units written back",
			 (unsigned int)__builtin_popcountll(masks[j]), k->ndirty);
		apply_lines(k, masks[j], save, true);
		check_image(k, lo, hi, what);
		apply_lines(k, masks[j], save, false);
	}
}

static void crash_trace(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len)
{
	struct crash *k = arg;
	uint64_t l0 = off / LINE, l1 = (off + len + LINE - 1) / LINE;

	if (off + len > k->meta_end)
		return; /* file data: not what a replay reads */
	if (op == FAMFS_DEV_STORE) {
		add_dirty_range(k, off, len);
	} else if (op == FAMFS_DEV_FLUSH) {
		/* Whole lines are written back: also neighbours' bytes in them. */
		memcpy(k->media + l0 * LINE, k->win + l0 * LINE, (l1 - l0) * LINE);
		for (unsigned int i = 0; i < k->ndirty;)
			if (k->dirty[i].off >= l0 * LINE && k->dirty[i].off < l1 * LINE)
				k->dirty[i] = k->dirty[--k->ndirty];
			else
				i++;
	} else {
		return; /* the writer's own loads and invalidates change nothing durable */
	}
	crash_point(k);
}

/* "cp": create the file with its final size, then write its bytes through its extents. */
static void copy_in(struct famfs_image *w, struct famfs_node *dir, const char *name, uint64_t size,
		    unsigned int seed)
{
	struct famfs_node *f;
	uint8_t buf[4096];

	assert_int_equal(famfs_image_mkfile(w, dir, name, size, 0644, 0, 0, NULL, &f), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(seed * 31 + i);
	for (uint32_t e = 0; e < f->file->n; e++)
		assert_int_equal(famfs_dev_pwrite(w->fs->dev, buf,
						  size < sizeof(buf) ? size : sizeof(buf),
						  famfs_map_extent(f->file, e).offset),
				 0);
}

static void test_crash_images(void **state)
{
	const char *img = scratch_image("work.img", CRASH_DEVSIZE, 8 * MiB);
	struct famfs_stripe stripe = {.nbuckets = 8, .nstrips = 4, .chunk_size = 2 * MiB};
	char crash_path[PATH_MAX + 32], name[32];
	struct crash k = {0};
	struct famfs_node *dirs[24], *n;
	struct timespec t0, t1;
	unsigned int appends = 0;
	struct famfs_dev *cd;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &k.w, NULL), 0);
	k.meta_end = k.w->fs->geom.meta_end;
	k.win = k.w->fs->dev->map;

	/* crash.img starts as the formatted device: everything durable. */
	snprintf(crash_path, sizeof(crash_path), "%s/crash.img", scratch_dir);
	k.crash_path = crash_path;
	assert_int_equal(famfs_dev_create_file(crash_path, CRASH_DEVSIZE), 0);
	assert_int_equal(famfs_dev_open(crash_path, FAMFS_DEV_WRITE, &cd), 0);
	k.media = famfs_dev_map(cd, k.meta_end);
	assert_non_null(k.media);
	memcpy(k.media, k.win, k.meta_end);

	k.w->fs->dev->trace = crash_trace;
	k.w->fs->dev->trace_arg = &k;
	/* The workload: directories, files of every kind, copies, pending files. */
	for (unsigned int i = 0; i < 24 && !k.failure[0]; i++) {
		struct famfs_node *parent = i < 4 ? famfs_ns_root(k.w->ns) : dirs[i % 4];

		snprintf(name, sizeof(name), "dir%02u", i);
		assert_int_equal(famfs_image_mkdir(k.w, parent, name, 0755, 0, 0, &dirs[i]), 0);
		appends++;
	}
	for (unsigned int i = 0; i < 330 && !k.failure[0]; i++) {
		struct famfs_node *d = dirs[i % 24];

		snprintf(name, sizeof(name), "f%03u", i);
		switch (i % 6) {
		case 0: /* famfs creat -s 0 / touch */
			assert_int_equal(
			    famfs_image_mkfile(k.w, d, name, 0, 0600, 0, 0, NULL, NULL), 0);
			break;
		case 1: /* a striped file */
			assert_int_equal(famfs_image_mkfile(k.w, d, name, 4 * MiB + i, 0644, 0, 0,
							    &stripe, NULL),
					 0);
			break;
		case 2: /* the server's way: a pending node, sized and logged later */
			assert_int_equal(
			    famfs_ns_add(k.w->ns, d, name, S_IFREG | 0640, 1000, 1000, &n), 0);
			assert_int_equal(famfs_image_log_file(k.w, n, 3 * MiB + i, NULL), 0);
			break;
		default: /* famfs cp */
			copy_in(k.w, d, name, (uint64_t)i * 1000 + 1, i);
			break;
		}
		appends++;
	}
	k.w->fs->dev->trace = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (k.failure[0])
		fail_msg("%s", k.failure);
	printf("  %u appends, %lu crash points, %lu crash images checked (fsck clean, replay "
	       "exact; %lu entries replayed; %lu with torn counters, repaired) in %.1f s\n",
	       appends, k.points, k.images, k.replayed, k.torn_repaired,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_true(k.points >= 1000);
	assert_true(k.torn_repaired >= appends); /* both halves of every publication */
	assert_int_equal(k.max_published, appends);
	famfs_dev_close(cd);
	famfs_image_close(k.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_order),
	    cmocka_unit_test(test_replay_order),
	    cmocka_unit_test(test_crash_images),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
