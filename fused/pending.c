// SPDX-License-Identifier: Apache-2.0
/*
 * A pending file's whole life on the master: create, handles, writes,
 * space, commit or discard (docs/design.md, "Pending files and commit").
 * ops.c dispatches the requests here, data.c asks for the device pieces of
 * a read or write; this file moves no bytes itself but through media.c.
 *
 * The rules:
 *
 * - Create. A file created through the mount is pending: in this server's
 *   memory only. Creating it reserves a log slot (fused.log_reserved) and
 *   its first allocation unit, so committing it never fails for lack of
 *   room.
 *
 * - Handles. Each open file description of a pending file that can write
 *   it (or that created it) gets a handle (fi->fh): its id and a verdict.
 *   Every close(2) of one of its descriptors sends FLUSH, which records
 *   how the closing task ends: killed by a signal (it is in do_exit() while
 *   its files are closed, /proc/PID/stat shows PF_EXITING and the signal),
 *   or not; SIGPIPE, the normal end of a pipeline's writer, is not a kill.
 *   The last FLUSH before the release is the verdict. Read-only
 *   descriptions get no handle and no FLUSH: a reader never affects a
 *   pending file (its fsync syncs data only, its death or close decides
 *   nothing).
 *
 * - Fate. At the release of the last handle the file's fate is decided,
 *   once: it is discarded if its data was lost (a write failed while
 *   moving data: EIO), if the task that last closed that description was
 *   killed, or if it was never written nor sized and a write or size
 *   change failed (famfs creat -s 2G on a full device leaves no empty
 *   file). Otherwise it is committed: logged at its size, with its extents
 *   trimmed to it, whatever readers still hold it open. fsync through a
 *   handle, and fallocate(mode 0), commit it earlier.
 *
 * - Failures that lose nothing. A write or size change that cannot be
 *   planned (ENOSPC, EFBIG, no 17th extent) stores nothing, returns its
 *   error and leaves the file as it was: what was acknowledged stays and is
 *   committed. A failed grow keeps none of the space it took.
 *
 * - Failures that lose data are told. After a write failed while moving
 *   data the file is failed: every later write, fsync and close (FLUSH) of
 *   it through a handle returns EIO, and it is discarded at its last
 *   release: its units go back to the pool, cleared of what was written.
 *
 * - Space. Writes allocate whole units as they arrive: the last extent
 *   grows in place while the units after it are free, else a new extent at
 *   least as large as the file so far (at most 1 GiB more), so 16 extents
 *   reach far. That speculation is throttled to a quarter of the free
 *   space, trimmed at commit, and given back by every other pending file
 *   (all but what it wrote, sized or reserved with fallocate KEEP_SIZE)
 *   before any allocation reports ENOSPC.
 *
 * - Media. Before the entry is appended everything written through the
 *   server's data path is on the media for every host
 *   (fused_media_barrier()); bytes never written are zeroed first ("New
 *   space" in design.md).
 *
 * With 4 KiB allocation units (docs/design.md "Allocation units") a pending
 * file starts in packed space (famfs_alloc_start) and grows there
 * 4 KiB-granular while it is under 2 MiB; the write that takes it to 2 MiB
 * or more *promotes* it: whole free 2 MiB regions are allocated, the bytes
 * written so far are moved there and their old space zeroed and freed;
 * from then on it grows by whole regions. A file sized before anything was
 * written is placed at once as famfs_alloc_file() places a file of that
 * size. Commit trims to the size rounded up to 4 KiB.
 *
 * Several devices (docs/user-guide.md, "Several devices"): a new file
 * starts on the device with the most free space (fused_devices_start())
 * and grows there; when that device is full its next extent goes on the
 * next device in that order. A file sized before it is written, striped
 * or not, is placed by fused_devices_alloc_file(): a plain one on one
 * device, a striped one a strip per device.
 *
 * Device offsets of a pending file come from one function, resolve().
 * Locks: fused.lock (shared for reads, opens and flushes, exclusive for
 * anything that allocates, frees, commits or discards), then a pending
 * file's own mutex inside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fused.h"

/* A description that can write a pending file (fi->fh is its id). */
struct handle {
	uint64_t id;
	bool killed; /* the task that last closed it was killed by a signal */
};

struct fused_pending {
	pthread_mutex_t mu;	 /* the fields below but the list links; taken inside fused.lock */
	struct famfs_node *node; /* the file */
	struct fused_pending *next; /* every pending file (list; exclusive lock) */
	struct fused_pending **pprev;
	struct famfs_file_body body; /* extents allocated so far, in file order */
	uint64_t cap;		     /* bytes those extents hold */
	uint64_t size;		     /* the file's size: highest byte written, or the size set */
	uint64_t written;	     /* highest byte ever stored (discard/trim clear up to it) */
	uint64_t clean;		     /* [0, clean): written or zeroed by us; the rest reads 0 */
	uint64_t reserved; /* fallocate(KEEP_SIZE) end: kept when speculation is trimmed */
	int error;	   /* data lost (EIO while moving it): discard, tell the writer */
	bool grow_failed;  /* a write or size change failed to allocate */
	bool mtime_set;	   /* utimensat/futimens set node->mtime: keep it at commit */
	bool has_stripe;   /* user.famfs.stripe: allocate interleaved when sized */
	struct famfs_stripe stripe;
	/* 4 KiB units: the body is whole 2 MiB regions, 2 MiB-aligned (a file
	 * of 2 MiB or more); else it is packed 4 KiB-granular space. */
	bool aligned;
	unsigned int inflight;	   /* reads/writes planned, data not moved yet */
	struct fused_fresh *fresh; /* fresh ranges of in-flight writes */
	pthread_cond_t idle;	   /* signalled when inflight drops to 0 */
	struct handle *handles;	   /* descriptions that can write it */
	unsigned int nhandles, hcap;
};

static struct fused_pending *all_pending; /* the list (exclusive lock) */
static atomic_uint_fast64_t next_handle = 1;

static uint64_t unit(void)
{
	return fused.im->alloc.unit;
}

static uint64_t units_for(uint64_t bytes)
{
	return (bytes + unit() - 1) / unit();
}

static uint64_t regions_for(uint64_t bytes)
{
	return (bytes + FAMFS_REGION - 1) / FAMFS_REGION;
}

static bool packs(void)
{
	return famfs_alloc_packs(&fused.im->alloc);
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

bool fused_is_pending(const struct famfs_node *n)
{
	const struct fused_node *fn = fused_node_state(n);

	return fn && fn->pend;
}

/* ---------------------------------------------------------------- the map */

/*
 * Device pieces of file bytes [@off, @off+@len) of body @f (holding @cap
 * bytes): the first up to @max pieces in @dev/@devoff/@plen (device index,
 * offset on it, length), in file order.
 * Returns the number of pieces filled (they may cover less than @len when
 * @max is reached), or -EIO (outside the body). The one place a pending
 * file's offsets become device offsets.
 */
static int resolve(const struct famfs_file_body *f, uint64_t cap, uint64_t off, uint64_t len,
		   uint32_t *dev, uint64_t *devoff, uint64_t *plen, int max)
{
	int k = 0;

	if (off + len > cap)
		return -EIO;
	while (len && k < max) {
		uint64_t d, l, x;

		if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
			const struct famfs_interleave_extent *ie = &f->ie[0];
			uint64_t c = off / ie->chunk_size, in = off % ie->chunk_size;

			x = ie->strips[c % ie->nstrips].devindex;
			d = ie->strips[c % ie->nstrips].offset + c / ie->nstrips * ie->chunk_size +
			    in;
			l = ie->chunk_size - in;
		} else {
			uint64_t base = 0;
			uint32_t i = 0;

			while (i < f->nextents && off >= base + f->se[i].len)
				base += f->se[i++].len;
			if (i == f->nextents)
				return -EIO;
			x = f->se[i].devindex;
			d = f->se[i].offset + (off - base);
			l = f->se[i].len - (off - base);
		}
		if (l > len)
			l = len;
		dev[k] = (uint32_t)x;
		devoff[k] = d;
		plen[k++] = l;
		off += l;
		len -= l;
	}
	return k;
}

/* Hand the device pieces of file bytes [@from, @to) of @p to @add. 0 or -errno. */
static int each_piece(const struct fused_pending *p, uint64_t from, uint64_t to, fused_piece_fn add,
		      void *arg)
{
	uint64_t d[16], l[16];
	uint32_t x[16];

	while (from < to) {
		int k = resolve(&p->body, p->cap, from, to - from, x, d, l, 16);

		if (k <= 0)
			return k < 0 ? k : -EIO;
		for (int i = 0; i < k; i++) {
			int rc = add(arg, x[i], d[i], l[i]);

			if (rc)
				return rc;
			from += l[i];
		}
	}
	return 0;
}

static int zero_piece(void *arg, uint32_t dev, uint64_t devoff, uint64_t len)
{
	(void)arg;
	return fused_media_zero(dev, devoff, len);
}

/* Zero file bytes [@from, @to) of @p (inside its space). 0 or -errno. */
static int zero_file(const struct fused_pending *p, uint64_t from, uint64_t to)
{
	return each_piece(p, from, to, zero_piece, NULL);
}

/* ---------------------------------------------------------- in-flight I/O */

void fused_pending_io_end(struct fused_pending_io *io, int err)
{
	struct fused_pending *p = io->p;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	for (struct fused_fresh **f = &p->fresh; io->write && *f; f = &(*f)->next) {
		if (*f == &io->fresh) {
			*f = io->fresh.next;
			break;
		}
	}
	/* Part of the write may have landed, part not, and its range already
	 * counts as written: the file's data is lost. */
	if (err && io->write && !p->error)
		p->error = EIO;
	if (--p->inflight == 0)
		pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->mu);
	io->p = NULL;
}

/*
 * p->mu held (and fused.lock exclusively, so nothing new is planned): wait
 * until no planned read or write still uses the file's space. Commit,
 * discard, promotion and sizing free or move space, or log the file.
 */
static void wait_idle(struct fused_pending *p)
{
	while (p->inflight)
		pthread_cond_wait(&p->idle, &p->mu);
}

/* ------------------------------------------------------------------ space */

/*
 * Bytes [@off, @off+@len) of device @dev go back to the pool, their first
 * @zlen bytes cleared first. If clearing fails (EIO, poison) they stay
 * allocated until the next mount rather than be handed out dirty.
 */
static void release_space(uint32_t dev, uint64_t off, uint64_t len, uint64_t zlen)
{
	int rc = zlen ? fused_media_zero(dev, off, zlen) : 0;

	if (rc) {
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: cannot clear %" PRIu64 " bytes at 0x%" PRIx64
			 " (%s): kept out of the pool until the next mount\n",
			 zlen, off, strerror(-rc));
		return;
	}
	famfs_alloc_unmark_range(fused_dev_alloc(dev), off, len);
}

/* Give back the file bytes [@from, cap) of a simple body, clearing what was written there. */
static void give_back(struct fused_pending *p, uint64_t from)
{
	struct famfs_file_body *f = &p->body;
	uint64_t base = 0;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < f->nextents; i++) {
		struct famfs_simple_extent x = f->se[i];
		uint64_t kept = from > base ? (from - base < x.len ? from - base : x.len) : 0;

		if (kept < x.len) {
			uint64_t zend = p->written < base + x.len ? p->written : base + x.len;

			release_space((uint32_t)x.devindex, x.offset + kept, x.len - kept,
				      zend > base + kept ? zend - (base + kept) : 0);
		}
		base += x.len;
		x.len = kept;
		if (kept)
			f->se[keep++] = x;
	}
	for (uint32_t i = keep; i < f->nextents; i++)
		f->se[i] = (struct famfs_simple_extent){0};
	f->nextents = keep;
	p->cap = famfs_file_body_capacity(f);
	if (p->written > p->cap)
		p->written = p->cap;
	if (p->clean > p->cap)
		p->clean = p->cap;
}

/*
 * How much more than @need units to take when growing: as much as the file
 * holds already, at most @most units, and at most a quarter of what stays
 * free on its device (@a), so that a file growing alone does not take the
 * space from others.
 */
static uint64_t speculate(const struct famfs_alloc *a, uint64_t need, uint64_t held, uint64_t most)
{
	uint64_t free_units = a->nunits - a->used, spec = held < most ? held : most;
	uint64_t room = free_units > need ? (free_units - need) / 4 : 0;

	if (spec <= need)
		return need;
	spec -= need;
	return need + (spec < room ? spec : room);
}

/*
 * A new extent of @want units (whole regions if @regions: @want regions),
 * else of @need: on device @first (the file's last extent's), then on the
 * others in fused_devices_order() (a plain file lies on one device until
 * that one is full). Returns 0 (*@dev, *@off, *@got units or regions) or
 * -ENOSPC.
 */
static int new_extent(uint32_t first, bool regions, uint64_t want, uint64_t need, uint32_t *dev,
		      uint64_t *off, uint64_t *got)
{
	uint32_t order[FAMFS_MAX_DAXDEVS + 1];
	uint32_t n = fused_devices_order(order + 1);

	order[0] = first;
	for (uint32_t i = 0; i <= n; i++) {
		struct famfs_alloc *a = fused_dev_alloc(order[i]);

		if (i && order[i] == first)
			continue;
		for (int pass = 0; pass < 2; pass++) {
			uint64_t u = pass ? need : want;

			if (pass && want == need)
				break;
			if ((regions ? famfs_alloc_regions(a, u, off)
				     : famfs_alloc_small(a, u, off)) == 0) {
				*dev = order[i];
				*got = u;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

/* 2 MiB units (and 4 KiB-unit files under 2 MiB): whole units, in place or a new extent. */
static int grow_units(struct fused_pending *p, uint64_t end, uint64_t limit)
{
	while (end > p->cap) {
		struct famfs_simple_extent *last = &p->body.se[p->body.nextents - 1];
		struct famfs_alloc *a = fused_dev_alloc((uint32_t)last->devindex);
		uint64_t need = units_for(end - p->cap), off, got;
		uint64_t want = speculate(a, need, p->cap / unit(), (1ULL << 30) / unit());
		uint32_t dev;

		if (limit && p->cap + want * unit() > limit)
			want = (limit - p->cap) / unit(); /* a small file stays under 2 MiB */
		got = famfs_alloc_extend(a, last->offset + last->len, want);
		if (got) {
			last->len += got * unit();
			p->cap += got * unit();
			continue;
		}
		if (p->body.nextents == FAMFS_MAX_SIMPLE_EXTENTS)
			return -ENOSPC; /* no room for a 17th extent: too fragmented */
		if (new_extent((uint32_t)last->devindex, false, want, need, &dev, &off, &got))
			return -ENOSPC;
		p->body.se[p->body.nextents++] =
		    (struct famfs_simple_extent){dev, off, got * unit()};
		p->cap += got * unit();
	}
	return 0;
}

/* 4 KiB units, an aligned body: whole free regions, in place or a new aligned extent. */
static int grow_regions(struct fused_pending *p, uint64_t end)
{
	uint64_t per = FAMFS_REGION / unit();

	while (end > p->cap) {
		struct famfs_simple_extent *last = &p->body.se[p->body.nextents - 1];
		struct famfs_alloc *a = fused_dev_alloc((uint32_t)last->devindex);
		uint64_t need = regions_for(end - p->cap), off, got;
		uint64_t want =
		    speculate(a, need * per, p->cap / unit(), (1ULL << 30) / unit()) / per;
		uint32_t dev;

		if (want < need)
			want = need;
		got = famfs_alloc_extend_regions(a, last->offset + last->len, want);
		if (got) {
			last->len += got * FAMFS_REGION;
			p->cap += got * FAMFS_REGION;
			continue;
		}
		if (p->body.nextents == FAMFS_MAX_SIMPLE_EXTENTS)
			return -ENOSPC;
		if (new_extent((uint32_t)last->devindex, true, want, need, &dev, &off, &got))
			return -ENOSPC; /* no wholly free region left */
		p->body.se[p->body.nextents++] =
		    (struct famfs_simple_extent){dev, off, got * FAMFS_REGION};
		p->cap += got * FAMFS_REGION;
	}
	return 0;
}

/*
 * 4 KiB units: the file reaches 2 MiB. Move what was written (under 2 MiB)
 * into whole free regions covering @end (on its device if they fit there,
 * else another), zero and free the packed space. p->mu held; waits for
 * planned I/O on the old place to finish.
 */
static int promote(struct fused_pending *p, uint64_t end)
{
	struct famfs_file_body old = p->body;
	uint64_t n = regions_for(end), off, done = 0, old_cap = p->cap, got;
	uint32_t dev;
	int rc = new_extent((uint32_t)old.se[0].devindex, true, n, n, &dev, &off, &got);

	if (rc)
		return rc; /* no wholly free region left */
	wait_idle(p);
	while (done < p->written && !rc) {
		uint64_t d[16], l[16];
		uint32_t x[16];
		int k = resolve(&old, old_cap, done, p->written - done, x, d, l, 16);

		if (k <= 0)
			rc = k < 0 ? k : -EIO;
		for (int i = 0; i < k && !rc; i++) {
			rc = fused_media_move(dev, off + done, x[i], d[i], l[i]);
			done += l[i];
		}
	}
	if (rc) {
		/* The new place goes back cleared of what was moved there. */
		release_space(dev, off, n * FAMFS_REGION, p->written);
		return rc;
	}
	/* The packed space goes back to the pool clean. */
	done = 0;
	for (uint32_t i = 0; i < old.nextents; i++) {
		uint64_t z = done < p->written ? p->written - done : 0;

		release_space((uint32_t)old.se[i].devindex, old.se[i].offset, old.se[i].len,
			      z < old.se[i].len ? z : old.se[i].len);
		done += old.se[i].len;
	}
	memset(p->body.se, 0, sizeof(p->body.se));
	p->body.nextents = 1;
	p->body.se[0] = (struct famfs_simple_extent){dev, off, n * FAMFS_REGION};
	p->cap = n * FAMFS_REGION;
	p->aligned = true;
	return 0;
}

/* p->mu held: a packed file reaching 2 MiB (its space may already hold it). */
static bool must_promote(const struct fused_pending *p, uint64_t end)
{
	return packs() && !p->aligned && p->body.ext_type == FAMFS_EXT_SIMPLE &&
	       end >= FAMFS_REGION;
}

/* p->mu held: must a write or size reaching @end allocate (or promote) first? */
static bool needs_grow(const struct fused_pending *p, uint64_t end)
{
	return end > p->cap || must_promote(p, end);
}

/* p->mu held: one attempt to make @p hold @end bytes; a failure keeps none of its space. */
static int grow_once(struct fused_pending *p, uint64_t end)
{
	uint64_t old_cap = p->cap;
	int rc;

	if (must_promote(p, end))
		return promote(p, end); /* takes whole regions for @end, or nothing */
	if (end <= p->cap)
		return 0;
	if (p->body.ext_type != FAMFS_EXT_SIMPLE)
		return -EFBIG; /* striped: allocated once, when sized */
	if (!packs())
		rc = grow_units(p, end, 0);
	else if (!p->aligned)
		rc = grow_units(p, end, FAMFS_REGION); /* stays packed, under 2 MiB */
	else
		rc = grow_regions(p, end);
	if (rc && p->cap > old_cap)
		give_back(p, old_cap); /* roll back: a failed ftruncate(10G) keeps nothing */
	return rc;
}

/*
 * What @p must keep of its space: what it wrote, its size and what
 * fallocate(KEEP_SIZE) reserved, in whole units (whole regions for an
 * aligned body, which grows by regions); at least one unit.
 */
static uint64_t kept_bytes(const struct fused_pending *p)
{
	uint64_t need = max3(p->size, p->written, p->reserved);

	if (p->aligned)
		return (regions_for(need) ? regions_for(need) : 1) * FAMFS_REGION;
	return (units_for(need) ? units_for(need) : 1) * unit();
}

/*
 * The device is full: every pending file but @self gives back the space it
 * holds beyond what it must keep (kept_bytes()). Striped files hold only
 * what they were sized to. Exclusive lock held, @self's mutex not held.
 * Returns the bytes given back.
 */
static uint64_t trim_others(const struct fused_pending *self)
{
	uint64_t freed = 0;

	for (struct fused_pending *p = all_pending; p; p = p->next) {
		uint64_t keep;

		if (p == self)
			continue;
		pthread_mutex_lock(&p->mu);
		keep = kept_bytes(p);
		/* In-flight writes are inside written, reads inside size: nothing
		 * planned uses the space past keep, so no need to wait. */
		if (p->body.ext_type == FAMFS_EXT_SIMPLE && p->cap > keep) {
			freed += p->cap - keep;
			give_back(p, keep);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return freed;
}

/* p->mu held, exclusive lock held: make @p hold @end bytes, trimming others if need be. */
static int grow(struct fused_pending *p, uint64_t end)
{
	int rc = grow_once(p, end);

	if (rc == -ENOSPC) {
		uint64_t freed;

		pthread_mutex_unlock(&p->mu);
		freed = trim_others(p);
		pthread_mutex_lock(&p->mu);
		if (freed)
			rc = grow_once(p, end);
	}
	return rc;
}

/*
 * Size @p to @size (exact: ftruncate, O_TRUNC; else at least: fallocate),
 * allocating; striped if user.famfs.stripe was set; with 4 KiB units placed
 * as a file of that size is. Exclusive lock held; takes p->mu.
 */
static int set_size(struct fused_pending *p, uint64_t size, bool exact)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	wait_idle(p); /* the placement below frees the first unit; a shrink moves clean */
	/*
	 * Sized before anything was written: placed at once. A striped file is
	 * allocated then (and only then); with 4 KiB units any file is placed
	 * as a file of its size is (small: packed; 2 MiB or more: whole regions,
	 * the tail trimmed at commit).
	 */
	if (p->body.ext_type == FAMFS_EXT_SIMPLE && p->written == 0 && p->body.nextents == 1 &&
	    p->cap == unit() &&
	    ((p->has_stripe && size >= p->stripe.chunk_size) || (packs() && size > p->cap))) {
		struct famfs_file_body f = {0};
		bool striped = p->has_stripe && size >= p->stripe.chunk_size;
		bool large = !striped && size >= FAMFS_REGION;
		uint64_t want = large ? regions_for(size) * FAMFS_REGION : size;

		rc = fused_devices_alloc_file(want, striped ? &p->stripe : NULL, &f);
		if (rc == -ENOSPC) {
			pthread_mutex_unlock(&p->mu);
			if (trim_others(p))
				rc =
				    fused_devices_alloc_file(want, striped ? &p->stripe : NULL, &f);
			pthread_mutex_lock(&p->mu);
		}
		if (!rc) {
			famfs_alloc_unmark_range(fused_dev_alloc((uint32_t)p->body.se[0].devindex),
						 p->body.se[0].offset, unit());
			p->body = f;
			p->cap = famfs_file_body_capacity(&f);
			p->aligned = large;
		}
	}
	if (!rc && needs_grow(p, size))
		rc = grow(p, size);
	if (!rc) {
		/* Cut off: those bytes read as zeros if the file grows again
		 * (written still covers them, so a discard or trim clears them). */
		if (exact && size < p->clean)
			p->clean = size;
		if (exact || size > p->size)
			p->size = size;
	} else {
		p->grow_failed = true;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* ---------------------------------------------------------------- create */

static void list_add(struct fused_pending *p)
{
	p->next = all_pending;
	if (all_pending)
		all_pending->pprev = &p->next;
	all_pending = p;
	p->pprev = &all_pending;
}

static void list_del(struct fused_pending *p)
{
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
}

bool fused_log_room(void)
{
	return famfs_log_free(fused.im->fs) > fused.log_reserved;
}

int fused_pending_new(struct famfs_node *n, uint64_t *fh)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p;
	uint64_t off;
	uint32_t dev;
	int rc;

	if (!fn)
		return -ENOMEM;
	if (!fused_log_room())
		return -ENOSPC; /* every free slot is promised to a pending file */
	p = calloc(1, sizeof(*p));
	if (!p || (fh && !(p->handles = calloc(2, sizeof(*p->handles))))) {
		free(p);
		return -ENOMEM;
	}
	rc = fused_devices_start(&dev, &off); /* 2 MiB units: first fit */
	if (rc == -ENOSPC && trim_others(NULL))
		rc = fused_devices_start(&dev, &off);
	if (rc) {
		free(p->handles);
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->node = n;
	p->body.ext_type = FAMFS_EXT_SIMPLE;
	p->body.nextents = 1;
	p->body.se[0] = (struct famfs_simple_extent){dev, off, unit()};
	p->cap = unit();
	if (fh) { /* the creator's description */
		*fh = atomic_fetch_add(&next_handle, 1);
		p->handles[0] = (struct handle){*fh, false};
		p->nhandles = 1;
		p->hcap = 2;
		atomic_fetch_add(&fn->opens, 1);
	}
	fn->pend = p;
	fn->was_pending = true;
	list_add(p);
	fused.log_reserved++;
	return 0;
}

/* ---------------------------------------------------------------- handles */

/* p->mu held: the handle @id of @p, or NULL. */
static struct handle *find_handle(struct fused_pending *p, uint64_t id)
{
	for (unsigned int i = 0; id && i < p->nhandles; i++)
		if (p->handles[i].id == id)
			return &p->handles[i];
	return NULL;
}

int fused_pending_open(struct famfs_node *n, int acc, uint64_t *fh)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;

	*fh = 0;
	if (p && acc != O_RDONLY) {
		pthread_mutex_lock(&p->mu);
		if (p->nhandles == p->hcap) {
			unsigned int cap = p->hcap ? 2 * p->hcap : 2;
			struct handle *h = realloc(p->handles, cap * sizeof(*h));

			if (!h) {
				pthread_mutex_unlock(&p->mu);
				return -ENOMEM;
			}
			p->handles = h;
			p->hcap = cap;
		}
		*fh = atomic_fetch_add(&next_handle, 1);
		p->handles[p->nhandles++] = (struct handle){*fh, false};
		pthread_mutex_unlock(&p->mu);
	}
	atomic_fetch_add(&fn->opens, 1);
	return 0;
}

/*
 * Was the task closing a descriptor killed by a signal? It is still in
 * do_exit() while its files are closed (FLUSH waits for our reply), with
 * PF_EXITING set and its exit code (field 52 of /proc/PID/stat) holding the
 * signal. SIGPIPE is how a pipeline's writer ends when its reader is done
 * (`yes | head -1`): a normal end, not a failure.
 */
static bool closer_killed(pid_t pid)
{
	char path[64], buf[2048], *s;
	unsigned long flags = 0;
	long code = 0;
	ssize_t len;
	FILE *f;

	if (pid <= 0)
		return false; /* not in our pid namespace: nothing to go by */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	len = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	s = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!s)
		return false;
	s++;
	/* Fields from 3 (state) on; flags is field 9, exit_code field 52. */
	for (int field = 3; field <= 52 && s; field++) {
		while (*s == ' ')
			s++;
		if (field == 9)
			flags = strtoul(s, NULL, 10);
		if (field == 52)
			code = strtol(s, NULL, 10);
		s = strchr(s, ' ');
	}
	return (flags & 0x4 /* PF_EXITING */) && (code & 0x7f) && (code & 0x7f) != SIGPIPE;
}

int fused_pending_flush(struct famfs_node *n, uint64_t fh, pid_t pid)
{
	struct fused_pending *p = fused_is_pending(n) ? fused_node_state(n)->pend : NULL;
	struct handle *h;
	bool killed;
	int err = 0;

	if (!p || !fh)
		return 0;
	killed = closer_killed(pid);
	pthread_mutex_lock(&p->mu);
	h = find_handle(p, fh);
	if (h) {
		h->killed = killed;
		err = p->error;
	}
	pthread_mutex_unlock(&p->mu);
	return -err;
}

/* --------------------------------------------------------- commit, discard */

static void free_pending(struct fused_pending *p)
{
	list_del(p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->idle);
	free(p->handles);
	free(p);
}

/* The file's end on the device as a mapping shows it: its last page (64 KiB covers every page
 * size). */
static uint64_t visible_end(const struct fused_pending *p)
{
	uint64_t end = (p->size + 65535) / 65536 * 65536;

	return end < p->cap ? end : p->cap;
}

/*
 * Log pending file @n at its size, its extents trimmed to it (unused units
 * back to the pool). Waits for in-flight reads and writes first, so the
 * entry is appended after their data and nothing is freed under them.
 * Exclusive lock held. Returns 0 (committed: its pending state is gone) or
 * -errno (still pending; -EIO: its unwritten bytes could not be cleared,
 * the file failed).
 */
static int commit(struct famfs_node *n)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	uint32_t sec = n->mtime_sec, nsec = n->mtime_nsec;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	wait_idle(p);
	if (p->error)
		rc = -p->error;
	if (!rc && visible_end(p) > p->clean) {
		/* Never written there (holes, a size set): whatever the space held must
		 * not become the file's contents. */
		rc = zero_file(p, p->clean, visible_end(p));
		if (rc) {
			fuse_log(FUSE_LOG_ERR,
				 "famfs_fused: inode %" PRIu64 ": cannot clear its unwritten "
				 "bytes (%s): its data is lost\n",
				 n->ino, strerror(-rc));
			p->error = EIO;
			rc = -EIO;
		} else {
			p->clean = visible_end(p);
			if (p->clean > p->written)
				p->written = p->clean;
		}
	}
	/* Everything written through the server is on the media before the
	 * entry that makes other hosts read it. */
	if (!rc)
		rc = fused_media_barrier(famfs_file_devices(&p->body));
	if (rc) {
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	/* Trim: keep whole units up to the size (a 0-byte file keeps one unit). */
	if (p->body.ext_type == FAMFS_EXT_SIMPLE)
		give_back(p, p->size ? units_for(p->size) * unit() : unit());
	p->body.size = p->size;
	if (!p->mtime_set)
		fused_now(&sec, &nsec);
	/* The slot was reserved for this entry: release the reservation first. */
	fused.log_reserved--;
	rc = famfs_image_commit_file(fused.im, n, &p->body, sec, nsec);
	pthread_mutex_unlock(&p->mu);
	if (rc) {
		fused.log_reserved++;
		fuse_log(FUSE_LOG_ERR, "famfs_fused: inode %" PRIu64 ": commit failed: %s\n",
			 n->ino, strerror(-rc));
		return rc;
	}
	fn->pend = NULL;
	free_pending(p);
	return 0;
}

/*
 * Give pending file @n's space back (cleared of what was written: striped
 * files chunk by chunk through their own map), release its log slot, take
 * its name out of the namespace and free @n. Exclusive lock held.
 */
static void discard(struct famfs_node *n)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	int rc;

	pthread_mutex_lock(&p->mu);
	wait_idle(p);
	if (p->body.ext_type == FAMFS_EXT_SIMPLE) {
		give_back(p, 0);
	} else {
		rc = zero_file(p, 0, p->written < p->cap ? p->written : p->cap);
		if (rc)
			fuse_log(FUSE_LOG_ERR,
				 "famfs_fused: cannot clear a discarded striped file (%s): its "
				 "space stays allocated until the next mount\n",
				 strerror(-rc));
		else
			famfs_devtab_unmark_file(&fused.im->ap.devs, &p->body);
	}
	pthread_mutex_unlock(&p->mu);
	fn->pend = NULL;
	fused.log_reserved--;
	free_pending(p);
	fmap_free(fn->fmap);
	free(fn);
	n->priv = NULL;
	famfs_ns_remove(fused.im->ns, n);
}

int fused_pending_commit_now(struct famfs_node *n)
{
	int rc = commit(n);

	if (rc)
		discard(n); /* nobody has it open: no release would ever decide */
	return rc;
}

/* Why the last handle's release discards @p (p->mu held), or NULL: commit it. */
static const char *discard_reason(const struct fused_pending *p, bool killed)
{
	if (p->error)
		return "its data was lost";
	if (killed)
		return "the task that last closed it was killed";
	if (p->grow_failed && p->written == 0 && p->size == 0)
		return "it was never written and its sizing failed";
	return NULL;
}

void fused_pending_release(struct famfs_node *n, uint64_t fh)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	bool last_open = atomic_fetch_sub(&fn->opens, 1) == 1, decide = false, killed = false;
	bool committed = false;
	const char *why = NULL;

	if (p && fh) {
		struct handle *h;

		pthread_mutex_lock(&p->mu);
		h = find_handle(p, fh);
		if (h) {
			killed = h->killed;
			*h = p->handles[--p->nhandles];
			decide = p->nhandles == 0;
		}
		if (decide)
			why = discard_reason(p, killed);
		pthread_mutex_unlock(&p->mu);
	}
	if (decide && !why) {
		int rc = commit(n);

		committed = rc == 0;
		if (rc)
			why = rc == -EIO ? "its data was lost" : "its commit failed";
	}
	if (decide && why) {
		/* The name is gone: drop the kernel's dentry (and so its inode). */
		fuse_ino_t parent = n->parent->ino;
		char name[FAMFS_PATH_MAX + 1];

		snprintf(name, sizeof(name), "%s", n->name);
		fuse_log(FUSE_LOG_NOTICE, "famfs_fused: pending file %s discarded: %s\n", name,
			 why);
		discard(n);
		fused_notify_entry(parent, name, true);
		return;
	}
	/*
	 * Committed now, or the last description of a file committed earlier
	 * (fsync, fallocate, or a last writer that closed before its readers):
	 * the kernel's view of it is stale. Its cached attributes go (size,
	 * mtime, inode number); at the last release, under famfs.ko, a file
	 * whose data went through the server while pending loses its dentry and
	 * with it the inode: famfs.ko keeps an inode on one data path for its
	 * life, and I/O on a file without a map put this one on the server's;
	 * the next open gets a new inode, which GET_FMAP maps. Otherwise the
	 * inode stays (without famfs.ko it is on the server's path anyway; a
	 * file only created and sized, as by famfs creat and cp, has an
	 * undecided inode that its next open maps), which spares a FORGET and a
	 * LOOKUP per file, and an open that races with this release keeps the
	 * inode it got. Queued, never sent from here (notify.c: it takes the
	 * parent directory's inode lock).
	 */
	if (committed || (last_open && !fn->pend && fn->was_pending)) {
		bool drop = last_open && fused.fmap_enabled && atomic_load(&fn->served_io);

		if (last_open) {
			fn->was_pending = false;
			atomic_store(&fn->served_io, false);
		}
		if (drop)
			fused_notify_entry(n->parent->ino, n->name, true);
		else
			fused_notify_inode(n->ino, true);
	}
}

int fused_pending_fsync(struct famfs_node *n, uint64_t fh)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	bool writer;
	int rc;

	pthread_mutex_lock(&p->mu);
	writer = find_handle(p, fh) != NULL;
	rc = writer ? -p->error : 0;
	pthread_mutex_unlock(&p->mu);
	/* A reader syncs data only: it never commits another's file. */
	if (!writer || rc)
		return rc;
	rc = commit(n);
	return rc ? rc : fused_media_sync(); /* the log entry too */
}

/* ------------------------------------------------------------------- size */

int fused_pending_truncate(struct famfs_node *n, uint64_t size)
{
	return set_size(fused_node_state(n)->pend, size, true);
}

int fused_pending_fallocate(struct famfs_node *n, uint64_t end, bool keep_size)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	int rc;

	if (!keep_size) {
		/* Sized and committed now (famfs creat, famfs cp): with famfs.ko its
		 * data then goes straight to the device. */
		rc = set_size(p, end, false);
		pthread_mutex_lock(&p->mu);
		if (!rc && p->error)
			rc = -p->error;
		pthread_mutex_unlock(&p->mu);
		return rc ? rc : commit(n);
	}
	pthread_mutex_lock(&p->mu);
	rc = needs_grow(p, end) ? grow(p, end) : 0;
	if (!rc && end > p->reserved)
		p->reserved = end;
	if (rc)
		p->grow_failed = true;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void fused_pending_stat(const struct famfs_node *n, uint64_t *size, uint64_t *bytes)
{
	struct fused_pending *p = fused_node_state(n)->pend;

	pthread_mutex_lock(&p->mu);
	*size = p->size;
	*bytes = p->cap;
	pthread_mutex_unlock(&p->mu);
}

void fused_pending_times_set(struct famfs_node *n)
{
	struct fused_pending *p = fused_node_state(n)->pend;

	pthread_mutex_lock(&p->mu);
	p->mtime_set = true;
	pthread_mutex_unlock(&p->mu);
}

int fused_pending_set_stripe(struct famfs_node *n, const struct famfs_stripe *st)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->written || p->size || p->body.nextents != 1 ||
	    p->body.ext_type != FAMFS_EXT_SIMPLE || p->cap != unit()) {
		rc = -EBUSY; /* written or sized already: its layout is chosen */
	} else {
		p->stripe = *st;
		p->has_stripe = true;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* ------------------------------------------------------------------- I/O */

/*
 * p->mu held: plan a read of [@o, @o+@len), clipped to the size. Bytes
 * never written (past the clean frontier) and the fresh ranges of writes
 * still in flight read as zeros: the device may hold anything there
 * (design.md, "New space"). Returns the bytes planned or -errno.
 */
static int64_t plan_read(struct fused_pending *p, uint64_t o, uint64_t len, fused_piece_fn add,
			 void *arg)
{
	uint64_t end;
	int err = 0;

	if (o >= p->size)
		return 0;
	len = len < p->size - o ? len : p->size - o;
	end = o + len;
	for (uint64_t c = o; c < end && !err;) {
		uint64_t stop = end < p->clean ? end : p->clean;
		bool fresh = false;

		if (c >= p->clean) {
			err = add(arg, 0, FUSED_ZERO_PIECE, end - c);
			break;
		}
		for (const struct fused_fresh *f = p->fresh; f; f = f->next) {
			if (f->from <= c && c < f->to) {
				fresh = true;
				stop = stop < f->to ? stop : f->to;
			} else if (f->from > c && f->from < stop) {
				stop = f->from;
			}
		}
		err = fresh ? add(arg, 0, FUSED_ZERO_PIECE, stop - c)
			    : each_piece(p, c, stop, add, arg);
		c = stop;
	}
	return err ? err : (int64_t)len;
}

/*
 * p->mu held, the space allocated: a write of [@o, @o+@len). Zero the gap
 * [clean, @o) if it starts past the clean frontier, record its fresh part
 * in @fresh (linked into p until fused_pending_io_end()), grow
 * size/written/clean. Returns 0 or -EIO (zeroing the gap failed: nothing
 * changed but the zeros stored).
 */
static int plan_write(struct fused_pending *p, uint64_t o, uint64_t len, struct fused_fresh *fresh)
{
	uint64_t end = o + len;

	if (o > p->clean) {
		/* A sparse write: the gap must read as zeros from now on. */
		int rc = zero_file(p, p->clean, o);

		if (rc)
			return rc;
		p->clean = o;
		if (o > p->written)
			p->written = o;
	}
	fresh->from = o > p->clean ? o : p->clean;
	fresh->to = end;
	fresh->next = NULL;
	if (fresh->to > fresh->from) {
		fresh->next = p->fresh;
		p->fresh = fresh;
	}
	if (end > p->clean)
		p->clean = end;
	if (end > p->written)
		p->written = end;
	if (end > p->size)
		p->size = end;
	return 0;
}

int64_t fused_pending_plan(struct famfs_node *n, bool write, uint64_t off, uint64_t len, bool excl,
			   struct fused_pending_io *io, fused_piece_fn add, void *arg)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	int64_t got;
	int rc = 0;

	io->p = NULL;
	io->write = write;
	atomic_store(&fn->served_io, true);
	pthread_mutex_lock(&p->mu);
	if (!write) {
		got = plan_read(p, off, len, add, arg);
		if (got > 0) {
			p->inflight++;
			io->p = p;
		}
		pthread_mutex_unlock(&p->mu);
		return got;
	}
	if (p->error) {
		rc = -p->error; /* its data was lost: the writer is told, again */
	} else if (needs_grow(p, off + len)) {
		if (!excl)
			rc = -EAGAIN;
		else if ((rc = grow(p, off + len)) != 0)
			p->grow_failed = true;
	}
	/* The pieces, then the bookkeeping: nothing changes if either fails. */
	if (!rc)
		rc = each_piece(p, off, off + len, add, arg);
	if (!rc)
		rc = plan_write(p, off, len, &io->fresh);
	if (!rc) {
		p->inflight++;
		io->p = p;
	}
	pthread_mutex_unlock(&p->mu);
	return rc ? rc : (int64_t)len;
}

/* ------------------------------------------------------------------- exit */

void fused_pending_free_all(void)
{
	/* Still pending at exit: never committed, so nothing of them is on the
	 * media but bytes in units no entry names. */
	while (all_pending) {
		struct fused_pending *p = all_pending;
		struct fused_node *fn = fused_node_state(p->node);

		if (fn)
			fn->pend = NULL;
		free_pending(p);
	}
}
