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
#include <sys/stat.h>
#include <time.h>

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
 * in the writing request's struct fused_pending_io, linked into the pending
 * file (pending.c) until fused_pending_io_end().
 */
struct fused_fresh {
	uint64_t from, to; /* file offsets */
	struct fused_fresh *next;
};

/* A pending file (master only; pending.c, docs/design.md "Pending files and commit"). */
struct fused_pending;

/*
 * A read or write planned on a pending file by fused_pending_plan(): the
 * file may not be moved, freed or logged under it until the caller, having
 * moved the data, calls fused_pending_io_end().
 */
struct fused_pending_io {
	struct fused_pending *p; /* NULL: nothing was counted */
	bool write;
	struct fused_fresh fresh;
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
	bool dio_mmap_offered;	    /* the kernel offered FUSE_DIRECT_IO_ALLOW_MMAP */
	bool famfs_channel;	    /* mounted through famfs.ko's /dev/famfs (kernel.c) */
	bool kernel_dax;	    /* famfs.ko maps every device itself (registered by fd) */
	int chfd;		    /* the /dev/famfs channel fd once INIT came, else -1 */
	uint32_t kernel_registered; /* bit N: device N handed to famfs.ko (either way) */
	uint32_t kernel_mapped;	    /* bit N: famfs.ko maps device N itself */
	const char *mnt;	    /* where we mounted it ourselves (famfs_channel) */
	char *mnt_real;		    /* the mount point, canonical (realpath at start), or NULL */
	bool direct_io;		    /* files are opened FOPEN_DIRECT_IO */
	uint64_t init_unique;
};

extern struct fused fused;

/* ops.c: one function per FUSE request */
extern const struct fuse_lowlevel_ops fused_ops;
/** fused_is_meta() - is @n .meta or one of the files in it? */
bool fused_is_meta(const struct famfs_node *n);
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

/*
 * The log records times as u32 seconds since 1970 and u32 nanoseconds
 * (docs/format.md): 1970-01-01 to 2106-02-07 06:28:15 UTC. A time outside
 * that range is clamped to its nearer end, as the kernel clamps times for
 * file systems with a limited range (timestamp_truncate): never wrapped.
 */
#define FUSED_TIME_MAX 0xffffffffLL
/** fused_time_clamp() - @sec/@nsec as the log can hold them (clamped, see above). */
static inline void fused_time_clamp(int64_t sec, int64_t nsec, uint32_t *osec, uint32_t *onsec)
{
	if (nsec < 0 || nsec > 999999999)
		nsec = 0;
	*osec = (uint32_t)(sec < 0 ? 0 : sec > FUSED_TIME_MAX ? FUSED_TIME_MAX : sec);
	*onsec = (uint32_t)nsec;
}
/** fused_now() - the wall clock as the log records it (clamped u32 seconds, nanoseconds). */
static inline void fused_now(uint32_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fused_time_clamp(ts.tv_sec, ts.tv_nsec, sec, nsec);
}

/* attr.c: what stat shows, and the attribute rules of Linux that the server applies */
/**
 * fused_st_ino() - the inode number stat shows for @n: the same on every
 * host and mount for anything in the log (derived from its log slot), a
 * number of its own for the root and .meta, and one in a range of its own
 * for a pending file (it changes at commit). The FUSE nodeid stays n->ino.
 */
uint64_t fused_st_ino(const struct famfs_node *n);
/** fused_fill_attr() - @n's attributes as stat shows them. Caller holds fused.lock. */
void fused_fill_attr(const struct famfs_node *n, struct stat *st);
/**
 * fused_new_owner() - owner, group and mode of a node created in @dir by
 * the caller of @req, as Linux's inode_init_owner() sets them: group from
 * @dir if it is set-group-ID (and a new directory keeps S_ISGID), else the
 * caller's; a new file's S_ISGID (with S_IXGRP) is dropped unless the
 * caller is in that group or has CAP_FSETID. @mode: permission bits in,
 * permission bits out.
 */
void fused_new_owner(fuse_req_t req, const struct famfs_node *dir, bool isdir, uint32_t *mode,
		     uint32_t *uid, uint32_t *gid);
/**
 * fused_set_attrs() - give logged or pending node @n permission bits
 * @mode, owner @uid:@gid and modification time @sec/@nsec (@times: it was
 * set). A pending file keeps them in memory (logged with it at commit);
 * otherwise one attribute-update entry is logged when something changed.
 * Exclusive lock held. Returns 0, -EPERM (the root: no entry names it) or
 * -ENOSPC (log full) / -EIO.
 */
int fused_set_attrs(struct famfs_node *n, uint32_t mode, uint32_t uid, uint32_t gid, uint32_t sec,
		    uint32_t nsec, bool times);
/**
 * fused_kill_suid() - a write by the caller of @req, a task without
 * CAP_FSETID (the kernel's FUSE_WRITE_KILL_SUIDGID), to file @ino: drop
 * S_ISUID, and S_ISGID when S_IXGRP is set or the writer is not in the
 * file's group, as Linux's file_remove_privs() does
 * (setattr_should_drop_suidgid), logged like a chmod so every host sees
 * it. Takes fused.lock. Returns 0 or -errno (the write must then fail, as
 * a failed file_remove_privs() fails it).
 */
int fused_kill_suid(fuse_req_t req, fuse_ino_t ino);

/* pending.c: a pending file's whole life (master only; docs/design.md) */
/**
 * fused_pending_new() - make the new node @n a pending file: reserve a log
 * slot and its first allocation unit (giving back other pending files'
 * speculative space first if the device is full). @fh: the creating
 * description's handle (see fused_pending_open(); counted as an open),
 * whatever its access mode; NULL for mknod, which commits at once.
 * Exclusive lock held. Returns 0 or -ENOSPC (log or device full) / -ENOMEM.
 */
int fused_pending_new(struct famfs_node *n, uint64_t *fh);
/** fused_is_pending() - is @n a file created here and not logged yet? */
bool fused_is_pending(const struct famfs_node *n);
/** fused_log_room() - is a log slot free that no pending file holds? Exclusive lock held. */
bool fused_log_room(void);
/**
 * fused_pending_open() - an open file description of file @n begins (OPEN;
 * @acc: O_ACCMODE). Counts it; on a pending file a description that can
 * write it gets a handle in *@fh, which decides the file's fate at its
 * release (flush and release are called with it); any other gets 0.
 * Shared or exclusive lock held. Returns 0 or -ENOMEM.
 */
int fused_pending_open(struct famfs_node *n, int acc, uint64_t *fh);
/**
 * fused_pending_flush() - close(2) of a descriptor of handle @fh of @n by
 * task @pid: records how that task ends (killed by a signal other than
 * SIGPIPE, or not), the verdict the release of the handle acts on. Shared
 * lock held. Returns 0, or the error that lost the file's data (-EIO):
 * close(2) returns it.
 */
int fused_pending_flush(struct famfs_node *n, uint64_t fh, pid_t pid);
/**
 * fused_pending_release() - the open file description with handle @fh of
 * @n is released. At the release of a pending file's last handle its fate
 * is decided: committed, or discarded if its data was lost (EIO), if the
 * task that last closed that description was killed, or if it was never
 * written nor sized and a write or size change of it failed. Queues the
 * kernel notifications that follow. @n may be freed. Exclusive lock held.
 */
void fused_pending_release(struct famfs_node *n, uint64_t fh);
/**
 * fused_pending_fsync() - fsync/fdatasync through handle @fh of pending file
 * @n: a handle that can write it commits it now (its size is then fixed);
 * any other only syncs data. Exclusive lock held. Returns 0 or -errno
 * (-EIO: the file's data was lost; it is discarded at its last release).
 */
int fused_pending_fsync(struct famfs_node *n, uint64_t fh);
/**
 * fused_pending_truncate() - ftruncate/truncate/O_TRUNC of pending file @n
 * to exactly @size (allocating, or cutting off bytes that read as zeros if
 * it grows again); it stays pending. Exclusive lock held. Returns 0,
 * -ENOSPC (nothing kept of the attempt) or -EFBIG (a striped file past
 * its allocation) / -EIO (the file's data was lost).
 */
int fused_pending_truncate(struct famfs_node *n, uint64_t size);
/**
 * fused_pending_fallocate() - fallocate of [0, @end) on pending file @n:
 * @keep_size false: size it to at least @end and commit it now (famfs
 * creat/cp); true (FALLOC_FL_KEEP_SIZE): hold space for @end bytes until
 * commit. Exclusive lock held. Returns 0 or the errors of
 * fused_pending_truncate(); a failed attempt keeps none of its space.
 */
int fused_pending_fallocate(struct famfs_node *n, uint64_t end, bool keep_size);
/** fused_pending_stat() - size and allocated bytes of pending file @n. */
void fused_pending_stat(const struct famfs_node *n, uint64_t *size, uint64_t *bytes);
/** fused_pending_times_set() - utimensat/futimens set @n's mtime: keep it at commit. */
void fused_pending_times_set(struct famfs_node *n);
/**
 * fused_pending_set_stripe() - user.famfs.stripe on pending file @n: place
 * it interleaved when it is sized. Exclusive lock held. Returns 0 or
 * -EBUSY (written or sized already: its layout is chosen).
 */
int fused_pending_set_stripe(struct famfs_node *n, const struct famfs_stripe *st);
/**
 * fused_pending_commit_now() - create-and-commit of mknod: log pending file
 * @n (nobody has it open), or discard it if that fails. Exclusive lock
 * held. Returns 0 or -errno (@n is then freed).
 */
int fused_pending_commit_now(struct famfs_node *n);

/* A piece of a plan that reads as zeros: no device bytes behind it. */
#define FUSED_ZERO_PIECE UINT64_MAX
/* Receives one piece of a planned read or write (offset @devoff of device @dev); 0 or -errno. */
typedef int (*fused_piece_fn)(void *arg, uint32_t dev, uint64_t devoff, uint64_t len);
/**
 * fused_pending_plan() - plan a read (clipped to the size) or a write of
 * @len bytes at @off of pending file @n: allocate what a write needs (only
 * with @excl), then hand each device piece, in file order, to @add (bytes
 * never written, and the fresh part of writes in flight, as
 * FUSED_ZERO_PIECE). fused.lock held (exclusively if @excl). Returns the
 * bytes planned, counted in @io until fused_pending_io_end(); -EAGAIN: the
 * write must allocate, call again with the exclusive lock; or -ENOSPC /
 * -EFBIG (nothing stored, the file keeps what was acknowledged) / -EIO
 * (the file's data was lost earlier) / -ENOMEM.
 */
int64_t fused_pending_plan(struct famfs_node *n, bool write, uint64_t off, uint64_t len, bool excl,
			   struct fused_pending_io *io, fused_piece_fn add, void *arg);
/**
 * fused_pending_io_end() - the data of a plan has moved (@err 0) or not: a
 * write that failed to move (-EIO) lost the file's data, which is then
 * discarded at its last release, and every later write, fsync and close of
 * it fails with EIO. No lock needed.
 */
void fused_pending_io_end(struct fused_pending_io *io, int err);
/** fused_pending_free_all() - at exit: drop every pending file's state (never logged). */
void fused_pending_free_all(void);

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
/*
 * FUSE_WRITE_KILL_SUIDGID of the WRITE this thread is serving: the kernel
 * sets it when the writer lacks CAP_FSETID. libfuse 3.14 does not pass
 * write_flags on, so the channel layer (channel.c) notes it here as it
 * reads the request, in the thread that then serves it.
 */
extern __thread bool fused_write_kills_suid;

/* media.c: device bytes (store, load, move, clear, order, sync), per device kind */
/**
 * fused_media_init() - install the SIGBUS handler that turns a poisoned (or
 * vanished) line under the server's own loads and stores into EIO for the
 * request that touched it. Returns 0 or -errno.
 */
int fused_media_init(void);
/** fused_media_map() - the server's mapping of device @dev at offset @devoff, or NULL (pmem). */
uint8_t *fused_media_map(uint32_t dev, uint64_t devoff);
/**
 * fused_media_store() - write @len bytes from @src at offset @devoff of
 * device @dev (an extent's devindex). 0 or -errno (-EIO: not open here, or
 * the device faulted).
 */
int fused_media_store(uint32_t dev, uint64_t devoff, const void *src, uint64_t len);
/** fused_media_load() - read @len bytes at @devoff of device @dev into @dst. 0 or -errno. */
int fused_media_load(void *dst, uint32_t dev, uint64_t devoff, uint64_t len);
/**
 * fused_media_invalidate() - drop this CPU's cached copies of bytes
 * [@devoff, @devoff+@len) of device @dev before reading what another host
 * wrote (a no-op without a mapping). 0 or -EIO.
 */
int fused_media_invalidate(uint32_t dev, uint64_t devoff, uint64_t len);
/**
 * fused_media_move() - copy @len bytes from offset @src of device @sdev to
 * offset @dst of device @ddev (disjoint ranges), as the server's data path
 * reads and writes them. 0 or -errno.
 */
int fused_media_move(uint32_t ddev, uint64_t dst, uint32_t sdev, uint64_t src, uint64_t len);
/**
 * fused_media_zero() - make bytes [@devoff, @devoff+@len) of device @dev
 * read as zeros (punch a hole in an image file; store zeros on
 * devdax/pmem). Returns 0 or -errno (-EIO: the device faulted).
 */
int fused_media_zero(uint32_t dev, uint64_t devoff, uint64_t len);
/**
 * fused_media_barrier() - everything stored so far on the devices of
 * @mask (bit N: device N) is on the media for every host before what
 * follows (a commit's log entry): a fence on devdax, a device flush on
 * pmem, nothing on an image file (its page cache is what every mapping
 * sees). 0 or the first -errno.
 */
int fused_media_barrier(uint32_t mask);
/** fused_media_sync() - make what was written to every device durable (fsync). 0 or -errno. */
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
 * fused_register_devices() - hand famfs.ko, on the /dev/famfs channel
 * @chfd (-1: the one INIT came on, if it came), every device the server
 * has open and has not registered yet, by fd under its index
 * (FAMFS_DEV_IOC_DAXDEV_REGISTER); a device the kernel cannot map is
 * registered as served by the server, which then moves its files' data.
 * Called at INIT and whenever a device is added while mounted (devadd on
 * the master, a client following the log), before any file on it can be
 * looked up. Sets fused.kernel_dax (every device mapped by the kernel).
 * Returns false if a device could be registered neither way (its files
 * then fail to open with EIO; at INIT famfs mode is declined). A no-op on
 * /dev/fuse.
 */
bool fused_register_devices(int chfd);
/** fused_kernel_maps() - does famfs.ko map device @dev itself? */
bool fused_kernel_maps(uint32_t dev);

/* devices.c: the devices of a file system of several, as this server serves them */
/** fused_dev_alloc() - the allocator of device @dev (an index in the image's device table). */
struct famfs_alloc *fused_dev_alloc(uint32_t dev);
/**
 * fused_devices_order() - the devices allocation may use, most free bytes
 * first (ties: lower index), into @order (FAMFS_MAX_DAXDEVS entries).
 * Returns how many. Exclusive lock held.
 */
uint32_t fused_devices_order(uint32_t *order);
/**
 * fused_devices_start() - the first unit of a new pending file, on the
 * first device in fused_devices_order() with a free unit. Returns 0
 * (*@dev, *@off: device and byte offset) or -ENOSPC.
 */
int fused_devices_start(uint32_t *dev, uint64_t *off);
/**
 * fused_devices_alloc_file() - place a file of @size bytes (striped by
 * @stripe if not NULL) over the devices allocation may use
 * (famfs_devtab_alloc_file()). Returns 0 (@f filled) or -ENOSPC/-EINVAL.
 */
int fused_devices_alloc_file(uint64_t size, const struct famfs_stripe *stripe,
			     struct famfs_file_body *f);
/** fused_devices_check_stripe() - -EINVAL if @st has more strips than devices (several), else 0. */
int fused_devices_check_stripe(const struct famfs_stripe *st);
/** fused_devices_init() - after the image is opened, before replay: devices' preparation hook. */
void fused_devices_init(void);
/**
 * fused_devices_learned() - devices were added to the image (replay of an
 * ADD_DAXDEV entry, devadd): register them with famfs.ko. fused.lock
 * held. Returns 0 or -EIO (the kernel took one neither way).
 */
int fused_devices_learned(void);
/**
 * fused_devices_add() - devadd on the mounted master (user.famfs.devadd):
 * add device @path (canonical: fused_devices_path()) with
 * famfs_image_devadd() @flags, then register it with famfs.ko; new files
 * may land on it at once. Exclusive lock held. *@index gets its index,
 * FAMFS_DEVADD_NONE if not added. Returns 0, -EROFS (not the master) or
 * the errors of famfs_image_devadd().
 */
int fused_devices_add(const char *path, unsigned int flags, uint32_t *index);
/**
 * fused_devices_path() - @path (absolute) made canonical into @out
 * (PATH_MAX bytes), with no lock held: a path inside this mount is
 * refused (-EINVAL; opening it under the lock would wait for this very
 * server). Returns 0 or -errno.
 */
int fused_devices_path(const char *path, char *out);
/**
 * fused_devices_text() - one line per device of the file system into
 * @buf: "INDEX UUID CAPACITY USED FREE HOW PATH" (bytes; HOW is kernel,
 * devdax, pmem, file, or missing). Returns the length. Lock held.
 */
size_t fused_devices_text(char *buf, size_t size);

#endif
