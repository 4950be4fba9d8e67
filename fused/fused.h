/* SPDX-License-Identifier: Apache-2.0 */
/*
 * famfs_fused: the FUSE server. It replays the log into an in-memory
 * namespace (the fmap cache: every file's complete map is held in memory),
 * serves it through libfuse's low-level API, creates files and directories
 * on the master, and follows the log on clients. See docs/design.md.
 */
#ifndef FAMFS_FUSED_H
#define FAMFS_FUSED_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fmap.h"
#include "image.h"
#include "path.h"

#include "opnames.h"

/* How GET_FMAP describes striped files. */
enum fused_fmap_mode {
	FUSED_FMAP_STRIPED,  /* one interleaved extent, as the log has it */
	FUSED_FMAP_UNROLLED, /* uniform simple extents, one per chunk */
};

/* How the kernel caches file data the server serves (-o cache=). */
enum fused_cache_mode {
	FUSED_CACHE_AUTO,   /* direct I/O when the kernel can still mmap such files, else page */
	FUSED_CACHE_PAGE,   /* the kernel's page cache, dropped at each open */
	FUSED_CACHE_DIRECT, /* always direct I/O (MAP_SHARED fails on kernels before 6.6) */
};

/*
 * A write's *fresh* range while it is in flight: the part of it past the
 * clean frontier when it was planned. Until its data has landed, reads show
 * zeros there (what the file held), never the device's earlier bytes. Lives
 * on the writing request's stack, linked into fused_pending.fresh.
 */
struct fused_fresh {
	uint64_t from, to; /* file offsets */
	struct fused_fresh *next;
};

/*
 * A pending file (master only): created here, written, not logged yet
 * (docs/design.md, "Pending files and commit"). Its space is allocated as
 * writes arrive, in whole allocation units, and its log slot is reserved.
 *
 * Space handed to a file may hold anything (another file's bytes, a killed
 * server's): file bytes [0, clean) are what was written there or zeros the
 * server stored; reads of [clean, size) return zeros without touching the
 * device; a write starting past clean zeroes the gap first; commit zeroes
 * [clean, EOF page) before the entry is logged ("New space", design.md).
 */
struct fused_pending {
	pthread_mutex_t mu;	     /* the fields below; taken inside fused.lock */
	struct famfs_file_body body; /* extents allocated so far, in file order */
	uint64_t cap;		     /* bytes those extents hold */
	uint64_t size;		     /* the file's size: highest byte written, or the size set */
	uint64_t written;	     /* highest byte ever stored (discard/trim clear up to it) */
	uint64_t clean;		     /* [0, clean): written or zeroed by us; the rest reads 0 */
	bool failed;		     /* a write failed or the writer was killed: discard */
	bool mtime_set;		     /* utimensat/futimens set node->mtime: keep it at commit */
	bool has_stripe;	     /* user.famfs.stripe: allocate interleaved when sized */
	struct famfs_stripe stripe;
	/* 4 KiB units (issue 13): the body is whole 2 MiB regions, 2 MiB-aligned
	 * (a file of 2 MiB or more); else it is packed 4 KiB-granular space. */
	bool aligned;
	unsigned int inflight;	   /* reads/writes planned, data not moved yet */
	struct fused_fresh *fresh; /* fresh ranges of in-flight writes */
	pthread_cond_t idle;	   /* signalled when inflight drops to 0 */
};

/* Per-node server state (famfs_node.priv), allocated with the node under the exclusive lock. */
struct fused_node {
	struct fmap *fmap;	    /* built on first use, then immutable; NULL if none */
	atomic_uint opens;	    /* open file descriptions */
	struct fused_pending *pend; /* a pending file; changed only under the exclusive lock */
	bool was_pending;	    /* created here: committed or discarded at its last release */
	/* READ/WRITE served while was_pending: the kernel's inode may be on
	 * the FUSE data path (famfs.ko), so its last release drops the dentry */
	atomic_bool served_io;
	bool file_type_set; /* meta file: fmap file_type below */
	uint8_t file_type;  /* FMAP_FILE_* */
};

/* -o threads=N: at most this many request handler threads. */
#define FUSED_MAX_THREADS 256

struct fused {
	struct famfs_image *im;
	pthread_rwlock_t lock; /* namespace, allocator, log */
	struct fuse_session *se;
	const char *devpath;
	bool writable; /* master mounted read-write: may create */
	bool debug;
	double timeout; /* entry/attr cache seconds */
	time_t mount_time;
	uint64_t meta_ino; /* .meta directory */
	uint64_t sb_ino;   /* .meta/.superblock */
	uint64_t log_ino;  /* .meta/.log */

	uint64_t log_reserved; /* log slots reserved by pending files (exclusive lock) */
	bool dataio_map;       /* -o dataio=map: store through the mapping on image files too */
	atomic_ulong read_invalidated;	 /* bytes a client invalidated before replying */
	atomic_ulong commit_invals;	 /* commits whose kernel dentry was invalidated (sent) */
	atomic_ulong io_faults;		 /* SIGBUS turned into EIO */
	atomic_ulong fmap_align_refused; /* GET_FMAP: ENODATA, the kernel needs coarser alignment */

	/* Clients: following the master's log (follow.c). */
	pthread_t follow_thread;
	bool follow_running;
	unsigned int threads; /* handler threads: -o threads=N, else default_threads() (main.c) */
	unsigned int poll_ms; /* longest interval between two looks at the log header */
	unsigned int poll_min_us; /* shortest, right after a change */
	atomic_bool stopping;
	atomic_ulong polls; /* looks at the log header */

	/* Channel (channel.c): request counters and the famfs kernel protocol. */
	atomic_ulong ops[FUSED_NOPS];
	atomic_ulong ops_other;
	bool init_seen;	   /* the (first, 7.x) INIT has been negotiated */
	bool fmap_offered; /* the kernel offered FUSE_DAX_FMAP in INIT */
	bool fmap_enabled; /* and we accepted it */
	bool fmap_allowed; /* -o nofmap clears it */
	enum fused_fmap_mode fmap_mode;
	enum fused_cache_mode cache_mode;
	bool dio_mmap_offered; /* the kernel offered FUSE_DIRECT_IO_ALLOW_MMAP */
	bool famfs_channel;    /* mounted through famfs.ko's /dev/famfs (kernel.c) */
	bool kernel_dax;       /* famfs.ko maps the device itself (registered by fd) */
	const char *mnt;       /* where we mounted it ourselves (famfs_channel) */
	bool direct_io;	       /* files are opened FOPEN_DIRECT_IO */
	uint64_t init_unique;
};

extern struct fused fused;

/* ops.c */
extern const struct fuse_lowlevel_ops fused_ops;
/** fused_is_meta() - is @n .meta or one of the files in it? */
bool fused_is_meta(const struct famfs_node *n);
/** fused_is_pending() - is @n a file created here but not sized (so not logged) yet? */
bool fused_is_pending(const struct famfs_node *n);
/**
 * fused_node_attach() - give @n its server state (exclusive lock held, or
 * before the session starts). Returns the state or NULL (ENOMEM).
 */
struct fused_node *fused_node_attach(struct famfs_node *n);
/** fused_node_state() - the server state of @n; NULL only if attaching it ran out of memory. */
static inline struct fused_node *fused_node_state(const struct famfs_node *n)
{
	return n->priv;
}
/** fused_now() - the wall clock as the log records it (u32 seconds, nanoseconds). */
void fused_now(uint32_t *sec, uint32_t *nsec);

/* pending.c: allocate on write, commit at close (master only; docs/design.md) */
/**
 * fused_pending_new() - make the new node @n a pending file: reserve a log
 * slot and its first allocation unit. Exclusive lock held. Returns 0 or
 * -ENOSPC (log or device full) / -ENOMEM.
 */
int fused_pending_new(struct famfs_node *n);
/**
 * fused_pending_grow() - make pending file @n hold at least @end bytes,
 * allocating whole units (extending the last extent in place when it can).
 * Exclusive lock held. Returns 0, -ENOSPC (device full, or 16 extents) or
 * -EFBIG (a striped file past its allocation).
 */
int fused_pending_grow(struct famfs_node *n, uint64_t end);
/**
 * fused_pending_needs_grow() - must a write or size reaching @end call
 * fused_pending_grow() first (more space, or, with 4 KiB units, a packed
 * file reaching 2 MiB that must move to whole regions)? p->mu held.
 */
bool fused_pending_needs_grow(const struct fused_pending *p, uint64_t end);
/**
 * fused_pending_set_size() - ftruncate/fallocate on pending file @n: size it
 * to @size (allocating; striped if user.famfs.stripe was set). @exact: the
 * size becomes @size (ftruncate, O_TRUNC), else at least @size (fallocate);
 * bytes cut off by a smaller exact size read as zeros if the file grows
 * again. Waits for in-flight I/O first. Exclusive lock held. Returns 0 or
 * the errors of fused_pending_grow().
 */
int fused_pending_set_size(struct famfs_node *n, uint64_t size, bool exact);
/**
 * fused_pending_plan_write() - a write of [@o, @o+@len) to pending file @p
 * (p->mu held, the space allocated): zero the gap [clean, @o) if it starts
 * past the clean frontier, record its fresh part in @fresh (linked into p
 * until fused_pending_io_done()), grow size/written/clean, count it in
 * p->inflight. Returns 0 or -EIO (zeroing the gap failed).
 */
int fused_pending_plan_write(struct fused_pending *p, uint64_t o, uint64_t len,
			     struct fused_fresh *fresh);
/**
 * fused_pending_io_done() - a read or write planned on pending file @p (which
 * counted it in p->inflight) has moved its data; @fresh is the write's fresh
 * range (or NULL), unlinked now. Takes p->mu.
 */
void fused_pending_io_done(struct fused_pending *p, struct fused_fresh *fresh);
/**
 * fused_pending_resolve() - device pieces of [@off, @off+@len) of pending
 * file @p (p->mu held, the range inside p->cap): the first up to @max pieces
 * in @devoff/@plen, in file order. Returns the number of pieces filled (they
 * may cover less than @len when @max is reached), or -EIO (outside the file).
 */
int fused_pending_resolve(const struct fused_pending *p, uint64_t off, uint64_t len,
			  uint64_t *devoff, uint64_t *plen, int max);
/**
 * fused_pending_commit() - log pending file @n at its size with its extents
 * trimmed (unused units back to the pool), or, if it failed and @discard_ok
 * (its last release), discard it. Waits for in-flight reads and writes
 * first, so the entry is appended after their data and nothing is freed
 * under them. Exclusive lock held. Returns 0 (committed), 1 (discarded: @n
 * is freed, its parent and name copied to @parent/@name for the kernel
 * notification) or -errno (the file stays pending; -EIO: it failed, to be
 * discarded at its last release).
 */
int fused_pending_commit(struct famfs_node *n, bool discard_ok, fuse_ino_t *parent, char *name,
			 size_t namelen);

/* data.c: READ and WRITE on the server's own data path */
/**
 * fused_node_fmap() - the fmap of file node @n (regular or meta file),
 * built from its log extents on first use and cached for the life of the
 * server. Caller holds fused.lock (shared is enough). NULL if the node has
 * no map (pending file, directory) or its extents break the fmap rules.
 */
struct fmap *fused_node_fmap(struct famfs_node *n);
void fused_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fused_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);

/* media.c: device bytes (store, load, move, clear, sync), per device kind */
/**
 * fused_media_init() - install the SIGBUS handler that turns a poisoned (or
 * vanished) line under the server's own loads and stores into EIO for the
 * request that touched it. Returns 0 or -errno.
 */
int fused_media_init(void);
/** fused_media_map() - the server's mapping at device offset @devoff, or NULL (pmem). */
uint8_t *fused_media_map(uint64_t devoff);
/** fused_media_store() - write @len bytes from @src at device offset @devoff. 0 or -errno. */
int fused_media_store(uint64_t devoff, const void *src, uint64_t len);
/** fused_media_load() - read @len device bytes at @devoff into @dst. 0 or -errno. */
int fused_media_load(void *dst, uint64_t devoff, uint64_t len);
/**
 * fused_media_invalidate() - drop this CPU's cached copies of device bytes
 * [@devoff, @devoff+@len) before reading what another host wrote (a no-op
 * without a mapping). 0 or -EIO.
 */
int fused_media_invalidate(uint64_t devoff, uint64_t len);
/**
 * fused_media_move() - copy @len device bytes from @src to @dst (disjoint
 * ranges), as the server's data path reads and writes them. 0 or -errno.
 */
int fused_media_move(uint64_t dst, uint64_t src, uint64_t len);
/**
 * fused_media_zero() - make device bytes [@devoff, @devoff+@len) read as
 * zeros (punch a hole in an image file; store zeros on devdax/pmem).
 * Returns 0 or -errno (-EIO: the device faulted).
 */
int fused_media_zero(uint64_t devoff, uint64_t len);
/** fused_media_sync() - make what was written to the device durable (fsync). 0 or -errno. */
int fused_media_sync(void);

/* notify.c */
/**
 * fused_notify_entry() - queue FUSE_NOTIFY_INVAL_ENTRY of @name in directory
 * @parent for the notifier thread (copied; no lock needed). @commit: count it
 * in commit_invals once sent. Never sends from the caller's thread: the
 * kernel takes the directory's inode lock, which a task waiting for one of
 * our replies may hold. Dropped silently if memory runs out.
 */
void fused_notify_entry(fuse_ino_t parent, const char *name, bool commit);
/**
 * fused_notify_inode() - queue FUSE_NOTIFY_INVAL_INODE of @ino's attributes
 * (offset -1: no page-cache data). @commit: counted in commit_invalidations.
 */
void fused_notify_inode(fuse_ino_t ino, bool commit);
/** fused_notify_start() - start the notifier thread (after daemonizing). 0 or -errno. */
int fused_notify_start(void);
/** fused_notify_stop() - stop it after the session loop; queued notices are dropped. */
void fused_notify_stop(void);

/* follow.c */
/** fused_catch_up() - replay new log entries and tell the kernel; returns entries replayed or
 * -errno. */
long fused_catch_up(void);
int fused_follow_start(void);
void fused_follow_stop(void);

/* channel.c */
/**
 * fused_channel_attach() - route the session's I/O through our channel
 * layer (libfuse's fuse_session_custom_io) on its already-open fd: counts
 * requests by opcode, negotiates FUSE_DAX_FMAP at INIT and serves
 * GET_FMAP / GET_DAXDEV. Returns 0 or -errno.
 */
int fused_channel_attach(struct fuse_session *se);
/** fused_stats_text() - "OPCODE count" lines into @buf; returns the length. */
size_t fused_stats_text(char *buf, size_t size);

/* kernel.c */
/**
 * fused_mount() - mount @se at @mnt: through famfs.ko (/dev/famfs, type
 * "famfs", nosuid,nodev, read-only if @ro; @fsname is the source shown in
 * /proc/mounts; max_read=/blksize= of @pass are passed on) when the module
 * is loaded, else through /dev/fuse by libfuse. Returns 0 or -1 (message
 * printed).
 */
int fused_mount(struct fuse_session *se, const char *mnt, const char *fsname, bool ro,
		const char *pass);
/** fused_unmount() - undo fused_mount() (either path). */
void fused_unmount(struct fuse_session *se);
/**
 * fused_register_devices() - at INIT, on a /dev/famfs channel @chfd: hand
 * the kernel our device by fd (FAMFS_DEV_IOC_DAXDEV_REGISTER, index 0), or,
 * if it cannot map it, tell it that we serve its data. Sets
 * fused.kernel_dax. Returns false if neither worked (then famfs mode must
 * be declined). A no-op on /dev/fuse.
 */
bool fused_register_devices(int chfd);

#endif
