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
	rc = famfs_alloc_run(&fused.im->alloc, 1, &off);
	if (rc) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->body.ext_type = FAMFS_EXT_SIMPLE;
	p->body.nextents = 1;
	p->body.se[0] = (struct famfs_simple_extent){0, off, unit()};
	p->cap = unit();
	fn->pend = p;
	fused.log_reserved++;
	return 0;
}

int fused_pending_grow(struct famfs_node *n, uint64_t end)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	struct famfs_alloc *a = &fused.im->alloc;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->body.ext_type != FAMFS_EXT_SIMPLE && end > p->cap)
		rc = -EFBIG; /* striped: allocated once, when sized */
	while (!rc && end > p->cap) {
		uint64_t need = units_for(end - p->cap), want = need, off;
		struct famfs_simple_extent *last = &p->body.se[p->body.nextents - 1];
		uint64_t got;

		/* Speculate as much as the file holds already (up to 1 GiB): trimmed at commit. */
		if (want < p->cap / unit())
			want = p->cap / unit() < (1ULL << 30) / unit() ? p->cap / unit()
								       : (1ULL << 30) / unit();
		got = famfs_alloc_extend(a, last->offset + last->len, want);
		if (got) {
			last->len += got * unit();
			p->cap += got * unit();
			continue;
		}
		if (p->body.nextents == FAMFS_MAX_SIMPLE_EXTENTS) {
			rc = -ENOSPC; /* no room for a 17th extent: too fragmented */
			break;
		}
		if (famfs_alloc_run(a, want, &off) == 0) {
			got = want;
		} else if (want != need && famfs_alloc_run(a, need, &off) == 0) {
			got = need;
		} else {
			rc = -ENOSPC;
			break;
		}
		p->body.se[p->body.nextents++] = (struct famfs_simple_extent){0, off, got * unit()};
		p->cap += got * unit();
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int fused_pending_set_size(struct famfs_node *n, uint64_t size, bool exact)
{
	struct fused_pending *p = fused_node_state(n)->pend;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	/* A striped file is allocated once, when it is first sized and still empty. */
	if (p->has_stripe && p->body.ext_type == FAMFS_EXT_SIMPLE && p->written == 0 &&
	    p->cap == unit() && size >= p->stripe.chunk_size) {
		struct famfs_file_body f = {0};

		rc = famfs_alloc_file(&fused.im->alloc, size, &p->stripe, &f);
		if (!rc) {
			famfs_alloc_unmark_range(&fused.im->alloc, p->body.se[0].offset, unit());
			p->body = f;
			p->cap = famfs_file_capacity(&f);
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (!rc && size > p->cap)
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
	while (len) {
		uint64_t d, l;

		if (k == max)
			return -EIO;
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

			if (zend > base + kept)
				fused_zero(x.offset + kept, zend - (base + kept));
			famfs_alloc_unmark_range(&fused.im->alloc, x.offset + kept, x.len - kept);
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
}

static void discard(struct famfs_node *n, struct fused_pending *p)
{
	if (p->body.ext_type == FAMFS_EXT_SIMPLE) {
		give_back(p, 0);
	} else {
		uint64_t written = p->written;

		/* Striped: clear what was written, through the file's own map. */
		for (uint64_t off = 0; off < written;) {
			uint64_t d, l;

			if (fused_pending_resolve(
				p, off, written - off < (1ULL << 30) ? written - off : (1ULL << 30),
				&d, &l, 1) != 1)
				break;
			fused_zero(d, l);
			off += l;
		}
		famfs_alloc_unmark_file(&fused.im->alloc, &p->body);
	}
	(void)n;
}

int fused_pending_commit(struct famfs_node *n, fuse_ino_t *parent, char *name, size_t namelen)
{
	struct fused_node *fn = fused_node_state(n);
	struct fused_pending *p = fn->pend;
	uint32_t sec = n->mtime_sec, nsec = n->mtime_nsec;
	int rc;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (p->failed) {
		discard(n, p);
		pthread_mutex_unlock(&p->mu);
		*parent = n->parent->ino;
		snprintf(name, namelen, "%s", n->name);
		fn->pend = NULL;
		fused.log_reserved--;
		pthread_mutex_destroy(&p->mu);
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
	free(p);
	return 0;
}
