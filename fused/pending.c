// SPDX-License-Identifier: Apache-2.0
/*
 * Pending files on the master: allocate on write, commit at close
 * (docs/design.md, "Pending files and commit").
 *
 * A file created through the mount is pending: it lives in this server's
 * memory only. Creating it reserves a log slot (fused.log_reserved) and its
 * first allocation unit, so committing it can never fail for lack of room.
 * Writes allocate more units as they arrive: the last extent grows in place
 * while the units after it are free, otherwise a new extent at least as
 * large as what the file holds already (so 16 extents reach far). When the
 * last open file description is released the file is logged at its size
 * with its extents trimmed to it; the units past it go back to the pool.
 * A file whose write failed, or whose writer was killed, is discarded: its
 * units go back to the pool, cleared of what was written to them.
 *
 * With 4 KiB allocation units (issue 13, docs/design.md "Allocation units")
 * a pending file starts in packed space (famfs_alloc_start) and grows there
 * 4 KiB-granular while it is under 2 MiB; the write that takes it to 2 MiB
 * or more *promotes* it: whole free 2 MiB regions are allocated, the bytes
 * written so far (under 2 MiB) are moved there and their old space zeroed
 * and freed; from then on it grows by whole regions. A file sized before
 * anything was written is placed at once as famfs_alloc_file() places a
 * file of that size. Commit trims to the size rounded up to 4 KiB.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fused.h"

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

void fused_pending_io_done(struct fused_pending *p, struct fused_fresh *fresh)
{
	pthread_mutex_lock(&p->mu);
	for (struct fused_fresh **f = &p->fresh; fresh && *f; f = &(*f)->next) {
		if (*f == fresh) {
			*f = fresh->next;
			break;
		}
	}
	if (--p->inflight == 0)
		pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->mu);
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

/* Zero file bytes [@from, @to) of @p (inside its space), through its map. 0 or -errno. */
static int zero_file(const struct fused_pending *p, uint64_t from, uint64_t to)
{
	uint64_t d[16], l[16];

	while (from < to) {
		int k = fused_pending_resolve(p, from, to - from, d, l, 16);

		if (k <= 0)
			return k < 0 ? k : -EIO;
		for (int i = 0; i < k; i++) {
			int rc = fused_media_zero(d[i], l[i]);

			if (rc)
				return rc;
			from += l[i];
		}
	}
	return 0;
}

/*
 * Device bytes [@off, @off+@len) go back to the pool, their first @zlen
 * bytes cleared first. If clearing fails (EIO, poison) they stay allocated
 * until the next mount rather than be handed out dirty.
 */
static void release_space(uint64_t off, uint64_t len, uint64_t zlen)
{
	int rc = zlen ? fused_media_zero(off, zlen) : 0;

	if (rc) {
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: cannot clear %" PRIu64 " bytes at 0x%" PRIx64
			 " (%s): kept out of the pool until the next mount\n",
			 zlen, off, strerror(-rc));
		return;
	}
	famfs_alloc_unmark_range(&fused.im->alloc, off, len);
}

int fused_pending_plan_write(struct fused_pending *p, uint64_t o, uint64_t len,
			     struct fused_fresh *fresh)
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
	p->inflight++;
	return 0;
}

int fused_pending_new(struct famfs_node *n)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p;
	uint64_t off;
	int rc;

	if (!fn)
		return -ENOMEM;
	if (famfs_log_free(fused.im->fs) <= fused.log_reserved)
		return -ENOSPC; /* every free slot is promised to a pending file */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = famfs_alloc_start(&fused.im->alloc, &off); /* 2 MiB units: first fit */
	if (rc) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->body.ext_type = FAMFS_EXT_SIMPLE;
	p->body.nextents = 1;
	p->body.se[0] = (struct famfs_simple_extent){0, off, unit()};
	p->cap = unit();
	fn->pend = p;
	fused.log_reserved++;
	return 0;
}

/* 2 MiB units (and 4 KiB-unit files under 2 MiB): whole units, in place or a new extent. */
static int grow_units(struct fused_pending *p, uint64_t end, uint64_t limit)
{
	struct famfs_alloc *a = &fused.im->alloc;

	while (end > p->cap) {
		uint64_t need = units_for(end - p->cap), want = need, off;
		struct famfs_simple_extent *last = &p->body.se[p->body.nextents - 1];
		uint64_t got;

		/* Speculate as much as the file holds already (up to 1 GiB): trimmed at commit. */
		if (want < p->cap / unit())
			want = p->cap / unit() < (1ULL << 30) / unit() ? p->cap / unit()
								       : (1ULL << 30) / unit();
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
		if (famfs_alloc_small(a, want, &off) == 0) {
			got = want;
		} else if (want != need && famfs_alloc_small(a, need, &off) == 0) {
			got = need;
		} else {
			return -ENOSPC;
		}
		p->body.se[p->body.nextents++] = (struct famfs_simple_extent){0, off, got * unit()};
		p->cap += got * unit();
	}
	return 0;
}

/* 4 KiB units, an aligned body: whole free regions, in place or a new aligned extent. */
static int grow_regions(struct fused_pending *p, uint64_t end)
{
	struct famfs_alloc *a = &fused.im->alloc;

	while (end > p->cap) {
		uint64_t need = regions_for(end - p->cap), want = need, off, got;
		struct famfs_simple_extent *last = &p->body.se[p->body.nextents - 1];

		if (want < p->cap / FAMFS_REGION)
			want = p->cap / FAMFS_REGION < (1ULL << 30) / FAMFS_REGION
				   ? p->cap / FAMFS_REGION
				   : (1ULL << 30) / FAMFS_REGION;
		got = famfs_alloc_extend_regions(a, last->offset + last->len, want);
		if (got) {
			last->len += got * FAMFS_REGION;
			p->cap += got * FAMFS_REGION;
			continue;
		}
		if (p->body.nextents == FAMFS_MAX_SIMPLE_EXTENTS)
			return -ENOSPC;
		if (famfs_alloc_regions(a, want, &off) == 0)
			got = want;
		else if (want != need && famfs_alloc_regions(a, need, &off) == 0)
			got = need;
		else
			return -ENOSPC; /* no wholly free region left */
		p->body.se[p->body.nextents++] =
		    (struct famfs_simple_extent){0, off, got * FAMFS_REGION};
		p->cap += got * FAMFS_REGION;
	}
	return 0;
}

/*
 * 4 KiB units: the file reaches 2 MiB. Move what was written (under 2 MiB)
 * into whole free regions covering @end, zero and free the packed space.
 * p->mu held; waits for planned I/O on the old place to finish.
 */
static int promote(struct fused_pending *p, uint64_t end)
{
	struct famfs_file_body old = p->body;
	uint64_t n = regions_for(end), off, done = 0;
	int rc = famfs_alloc_regions(&fused.im->alloc, n, &off);

	if (rc)
		return rc; /* no wholly free region left */
	wait_idle(p);
	for (uint32_t i = 0; i < old.nextents && done < p->written; i++) {
		uint64_t len =
		    old.se[i].len < p->written - done ? old.se[i].len : p->written - done;

		rc = fused_media_move(off + done, old.se[i].offset, len);
		if (rc) {
			release_space(off, n * FAMFS_REGION, done + len);
			return rc;
		}
		done += len;
	}
	/* The packed space goes back to the pool clean. */
	done = 0;
	for (uint32_t i = 0; i < old.nextents; i++) {
		uint64_t z = done < p->written ? p->written - done : 0;

		release_space(old.se[i].offset, old.se[i].len,
			      z < old.se[i].len ? z : old.se[i].len);
		done += old.se[i].len;
	}
	memset(p->body.se, 0, sizeof(p->body.se));
	p->body.nextents = 1;
	p->body.se[0] = (struct famfs_simple_extent){0, off, n * FAMFS_REGION};
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

bool fused_pending_needs_grow(const struct fused_pending *p, uint64_t end)
{
	return end > p->cap || must_promote(p, end);
}

int fused_pending_grow(struct famfs_node *n, uint64_t end)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (must_promote(p, end))
		rc = promote(p, end);
	if (rc)
		;
	else if (p->body.ext_type != FAMFS_EXT_SIMPLE && end > p->cap)
		rc = -EFBIG; /* striped: allocated once, when sized */
	else if (end <= p->cap)
		rc = 0;
	else if (!packs())
		rc = grow_units(p, end, 0);
	else if (!p->aligned)
		rc = grow_units(p, end, FAMFS_REGION); /* stays packed, under 2 MiB */
	else
		rc = grow_regions(p, end);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int fused_pending_set_size(struct famfs_node *n, uint64_t size, bool exact)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	bool grow;
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

		rc = famfs_alloc_file(&fused.im->alloc,
				      large ? regions_for(size) * FAMFS_REGION : size,
				      striped ? &p->stripe : NULL, &f);
		if (!rc) {
			famfs_alloc_unmark_range(&fused.im->alloc, p->body.se[0].offset, unit());
			p->body = f;
			p->cap = famfs_file_capacity(&f);
			p->aligned = large;
		}
	}
	/* Cut off: those bytes read as zeros if the file grows again (written
	 * still covers them, so a discard or trim clears them). */
	if (exact && size < p->clean)
		p->clean = size;
	grow = fused_pending_needs_grow(p, size);
	pthread_mutex_unlock(&p->mu);
	if (!rc && grow)
		rc = fused_pending_grow(n, size);
	if (rc)
		return rc;
	pthread_mutex_lock(&p->mu);
	if (exact || size > p->size)
		p->size = size;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int fused_pending_resolve(const struct fused_pending *p, uint64_t off, uint64_t len,
			  uint64_t *devoff, uint64_t *plen, int max)
{
	const struct famfs_file_body *f = &p->body;
	int k = 0;

	if (off + len > p->cap)
		return -EIO;
	while (len && k < max) {
		uint64_t d, l;

		if (f->ext_type == FAMFS_EXT_INTERLEAVE) {
			const struct famfs_interleave_extent *ie = &f->ie[0];
			uint64_t c = off / ie->chunk_size, in = off % ie->chunk_size;

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
			d = f->se[i].offset + (off - base);
			l = f->se[i].len - (off - base);
		}
		if (l > len)
			l = len;
		devoff[k] = d;
		plen[k++] = l;
		off += l;
		len -= l;
	}
	return k;
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

			release_space(x.offset + kept, x.len - kept,
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
	p->cap = famfs_file_capacity(f);
	if (p->written > p->cap)
		p->written = p->cap;
	if (p->clean > p->cap)
		p->clean = p->cap;
}

static void discard(struct fused_pending *p)
{
	int rc;

	if (p->body.ext_type == FAMFS_EXT_SIMPLE) {
		give_back(p, 0);
		return;
	}
	/* Striped: clear what was written, chunk by chunk through the file's own map. */
	rc = zero_file(p, 0, p->written < p->cap ? p->written : p->cap);
	if (rc) {
		fuse_log(FUSE_LOG_ERR,
			 "famfs_fused: cannot clear a discarded striped file (%s): its space "
			 "stays allocated until the next mount\n",
			 strerror(-rc));
		return;
	}
	famfs_alloc_unmark_file(&fused.im->alloc, &p->body);
}

/* The file's end on the device as a mapping shows it: its last page (64 KiB covers every page
 * size). */
static uint64_t visible_end(const struct fused_pending *p)
{
	uint64_t end = (p->size + 65535) / 65536 * 65536;

	return end < p->cap ? end : p->cap;
}

int fused_pending_commit(struct famfs_node *n, bool discard_ok, fuse_ino_t *parent, char *name,
			 size_t namelen)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	uint32_t sec = n->mtime_sec, nsec = n->mtime_nsec;
	int rc;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	/* Reads and writes planned on it finish first: nothing is freed under them,
	 * and the entry is appended after the data it describes. */
	wait_idle(p);
	if (!p->failed && visible_end(p) > p->clean) {
		/* Never written there (holes, a size set): whatever the space held must
		 * not become the file's contents. */
		rc = zero_file(p, p->clean, visible_end(p));
		if (rc) {
			fuse_log(FUSE_LOG_ERR,
				 "famfs_fused: inode %" PRIu64 ": cannot clear its unwritten "
				 "bytes (%s): discarded\n",
				 n->ino, strerror(-rc));
			p->failed = true;
		} else {
			p->clean = visible_end(p);
			if (p->clean > p->written)
				p->written = p->clean;
		}
	}
	if (p->failed && !discard_ok) {
		pthread_mutex_unlock(&p->mu);
		return -EIO; /* discarded at its last release, not under other openers */
	}
	if (p->failed) {
		discard(p);
		pthread_mutex_unlock(&p->mu);
		*parent = n->parent->ino;
		snprintf(name, namelen, "%s", n->name);
		fn->pend = NULL;
		fused.log_reserved--;
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->idle);
		free(p);
		fmap_free(fn->fmap);
		free(fn);
		n->priv = NULL;
		famfs_ns_remove(fused.im->ns, n);
		return 1;
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
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->idle);
	free(p);
	return 0;
}
