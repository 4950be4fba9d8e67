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

/* Per-node server state (famfs_node.priv). */
struct fused_node {
	struct fmap *fmap; /* built on first use, then immutable; NULL if none */
	uint32_t opens;	   /* open handles */
	bool doomed;	   /* pending file whose sizing or write failed: discard at release */
	bool has_stripe;   /* pending file: allocate interleaved, as below */
	struct famfs_stripe stripe;
	bool file_type_set; /* meta file: fmap file_type below */
	uint8_t file_type;  /* FMAP_FILE_* */
};

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

	/* Clients: following the master's log (follow.c). */
	pthread_t follow_thread;
	bool follow_running;
	unsigned int poll_ms;
	atomic_bool stopping;

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
/** fused_node_state() - the server state of @n, allocating it on first use (lock held). */
struct fused_node *fused_node_state(struct famfs_node *n);

/* data.c */
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

#endif
