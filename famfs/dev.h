/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One small device API over the three kinds of memory device famfs lives on:
 * a regular file (tests, images), a devdax character device (/dev/daxX.Y) and
 * a pmem block device in fsdax mode (/dev/pmemX).
 *
 * A device has one mapping window, [0, map_len). "flush" makes what this
 * host wrote in a range visible to other hosts; "invalidate" makes the next
 * read of a range see what other hosts wrote. On a file or devdax the window
 * is a shared mmap and these are CPU cache-line operations. A pmem block
 * device cannot be mapped without the page cache from user space, so its
 * window is a private buffer kept in step with the media by O_DIRECT reads
 * (invalidate) and writes (flush): nothing of ours sits in the page cache,
 * where another host could not see it. A devdax device bound to the
 * famfs_dax kernel driver (kernel-mode famfs, docs/kernel.md) cannot be
 * mapped at all: its window is a buffer too, kept in step by the driver's
 * read() (which first drops this CPU's cached copies) and write() (which
 * bypasses the cache).
 */
#ifndef FAMFS_DEV_H
#define FAMFS_DEV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum famfs_dev_kind {
	FAMFS_DEV_FILE,
	FAMFS_DEV_DAX,
	FAMFS_DEV_PMEM,
};

/* What a device trace hook sees (tests: the crash-ordering and crash-image tests). */
enum famfs_dev_op {
	FAMFS_DEV_STORE,      /* famfs_dev_store(): bytes written into the window */
	FAMFS_DEV_FLUSH,      /* famfs_dev_flush(): window bytes published */
	FAMFS_DEV_INVALIDATE, /* famfs_dev_invalidate(): cached copies dropped */
	FAMFS_DEV_LOAD,	      /* famfs_dev_load(): window bytes read into private memory */
};

/* Called after each operation with its window range (byte offset, length). */
typedef void (*famfs_dev_trace_fn)(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len);

/* What a window access guard performs (famfs_dev_set_guard). */
enum famfs_access {
	FAMFS_ACCESS_COPY,	 /* memcpy(dst, src, len) */
	FAMFS_ACCESS_FLUSH,	 /* famfs_cache_flush(dst, len) */
	FAMFS_ACCESS_INVALIDATE, /* famfs_cache_invalidate(dst, len) */
};

/*
 * A guard runs one load, store, flush or invalidate of the window and
 * returns 0, or -EIO if the access faulted (SIGBUS: a poisoned line, an
 * image file cut short). The server installs one; without it a fault is
 * fatal, as for any program.
 */
typedef int (*famfs_access_guard_fn)(enum famfs_access op, void *dst, const void *src, size_t len);

struct famfs_dev {
	int fd;
	enum famfs_dev_kind kind;
	bool writable;
	bool famfs_dax; /* FAMFS_DEV_DAX bound to famfs_dax: read()/write(), no mmap */
	bool dax;	/* FAMFS_DEV_PMEM: the block device supports DAX (sysfs queue/dax) */
	uint64_t size;	/* bytes */
	uint64_t align; /* mapping granularity in bytes */
	uint8_t *map;	/* window [0, map_len), or NULL */
	uint64_t map_len;
	char path[PATH_MAX];
	famfs_dev_trace_fn trace; /* NULL, or a test's recorder */
	void *trace_arg;
	void
	    *model_host; /* the cache model's host owning this window (famfs_dev_set_cache_model) */
};

/* famfs_dev_open() flags */
#define FAMFS_DEV_WRITE 0x1 /* open read-write */
#define FAMFS_DEV_EXCL	0x2 /* a block device: claim it (O_EXCL) against every other owner */

/**
 * famfs_dev_open() - open a memory device or image file.
 * @path:  regular file, /dev/daxX.Y or a block device
 * @flags: FAMFS_DEV_WRITE for read-write; FAMFS_DEV_EXCL to open a block
 *         device exclusively (O_EXCL) for as long as it stays open, as a
 *         mounted file system, device-mapper, md or swap hold theirs: none
 *         of them can take it meanwhile (no effect on files and devdax)
 * @out:   the device; free with famfs_dev_close()
 *
 * Size and alignment come from fstat (file), libdaxctl (devdax) or
 * BLKGETSIZE64 (block); whether a block device supports DAX from sysfs
 * (@dev->dax). Returns 0 or a negative errno: -ENOENT, -EACCES, -ENODEV
 * (not a file, devdax or block device), -EINVAL (a devdax device libdaxctl
 * does not know); with FAMFS_DEV_EXCL, when another owner holds the block
 * device: -EBUSY if a famfs opener of this host holds its in-use lock
 * (famfs_dev_hold(): a server, fsck), else -ETXTBSY (a mounted file system,
 * device-mapper, md, swap, another exclusive opener).
 */
int famfs_dev_open(const char *path, unsigned int flags, struct famfs_dev **out);

/**
 * famfs_dev_open_served() - famfs_dev_open() for a device a server serves:
 * a block device is opened exclusively (FAMFS_DEV_EXCL), or, if another
 * famfs server of this host has claimed it already, shared with that one
 * (its claim keeps every other owner out while it lasts). @flags:
 * FAMFS_DEV_WRITE or 0. Returns famfs_dev_open()'s values; -ETXTBSY when
 * another file system or driver holds the block device.
 */
int famfs_dev_open_served(const char *path, unsigned int flags, struct famfs_dev **out);

/**
 * famfs_dev_create_file() - create or resize a regular image file to @size
 * bytes (sparse). A new file is created mode 0600 (less the umask): anyone
 * who can read the image reads every file in it. An existing file keeps its
 * mode. Refuses anything but a regular file with -ENOTSUP.
 */
int famfs_dev_create_file(const char *path, uint64_t size);

/** famfs_dev_kind_name() - "file", "devdax" or "pmem". */
const char *famfs_dev_kind_name(enum famfs_dev_kind kind);

/**
 * famfs_dev_mappable() - true if the window is a shared mapping of the
 * device (file, devdax on device_dax), so that data can be read and written
 * through it; false if it is a private buffer (pmem, devdax on famfs_dax):
 * then data goes through famfs_dev_pread()/famfs_dev_pwrite().
 */
bool famfs_dev_mappable(const struct famfs_dev *dev);

/**
 * famfs_dev_map() - map device bytes [0, @len) (rounded up to the alignment,
 * clamped to the device size) and return the window; a previous window is
 * replaced. Read-only unless opened with FAMFS_DEV_WRITE. For pmem the window
 * is a buffer filled with O_DIRECT reads (cost: one read of @len bytes).
 * Returns NULL with errno set on failure.
 */
void *famfs_dev_map(struct famfs_dev *dev, uint64_t len);

/**
 * famfs_dev_flush() - publish this host's writes to window bytes
 * [@addr, @addr+@len) to the media and other hosts. Returns 0 or -errno
 * (-EIO from a pmem write, -EINVAL outside the window).
 */
int famfs_dev_flush(struct famfs_dev *dev, const void *addr, size_t len);

/**
 * famfs_dev_invalidate() - make the next read of window bytes
 * [@addr, @addr+@len) see what other hosts wrote. Returns 0 or -errno.
 */
int famfs_dev_invalidate(struct famfs_dev *dev, const void *addr, size_t len);

/**
 * famfs_dev_store() - copy @len bytes from private @src into the window at
 * @dst. Other hosts see them only after famfs_dev_flush() of the range: every
 * metadata store goes through here so that its order against the flushes can
 * be traced. Returns 0, -EINVAL (outside the window) or -EIO (the store
 * faulted, with a guard installed).
 */
int famfs_dev_store(struct famfs_dev *dev, void *dst, const void *src, size_t len);

/**
 * famfs_dev_load() - copy @len window bytes at @src into private @dst, which
 * another host can then no longer change under us (invalidate first to see
 * what other hosts wrote). Returns 0, -EINVAL (outside the window) or -EIO
 * (the load faulted, with a guard installed).
 */
int famfs_dev_load(struct famfs_dev *dev, void *dst, const void *src, size_t len);

/**
 * famfs_dev_release() - drop this process's mapping of window bytes
 * [@addr, @addr+@len): whole pages (devdax: whole alignment units) inside
 * the range only. The bytes stay on the device and the next access maps
 * them again; what is released is resident memory the process need not
 * keep (a log replayed into memory, entries appended). A no-op on windows
 * that are buffers (pmem, famfs_dax) or the cache model's. Advisory:
 * returns 0, or -EINVAL outside the window.
 */
int famfs_dev_release(struct famfs_dev *dev, const void *addr, size_t len);

/**
 * famfs_dev_set_guard() - run every later window access of this process
 * (famfs_dev_load/store/flush/invalidate on mapped windows, and the log
 * header reads of famfs_log_used) through @guard, so a fault under them
 * becomes -EIO. NULL removes it. Process-wide; set it before any thread uses
 * a device.
 */
void famfs_dev_set_guard(famfs_access_guard_fn guard);

/*
 * A model of hosts whose CPU caches are not coherent with each other, for
 * tests (test/unit/test_coherence.c). With a model installed, the window of
 * every regular-file device is memory the model hands out (the mapping
 * host's view of the device), and famfs_dev_flush() / famfs_dev_invalidate()
 * on it are the model's: loads and stores stay plain copies into that
 * memory, so what one host stores reaches another host only through the
 * flushes and invalidates the code does.
 */
struct famfs_cache_model {
	/* The window for @dev, at least @len bytes, or NULL (errno set); the
	 * model may keep its host in dev->model_host. */
	void *(*map)(void *arg, struct famfs_dev *dev, uint64_t len);
	/* The window @win of @dev is given up (replaced or closed). */
	void (*unmap)(void *arg, struct famfs_dev *dev, void *win, uint64_t len);
	/* Window bytes [@off, @off + @len) made visible to other hosts / made
	 * to show what other hosts made visible. 0 or -errno. */
	int (*flush)(void *arg, struct famfs_dev *dev, uint64_t off, uint64_t len);
	int (*invalidate)(void *arg, struct famfs_dev *dev, uint64_t off, uint64_t len);
	void *arg;
};

/**
 * famfs_dev_set_cache_model() - install @model (NULL removes it) for the
 * regular-file devices mapped from now on. Process-wide; tests only, set
 * before any device is mapped.
 */
void famfs_dev_set_cache_model(const struct famfs_cache_model *model);

/**
 * famfs_dev_access() - perform @op on window memory through the guard if one
 * is installed (else directly). Returns 0 or -EIO (the access faulted).
 */
int famfs_dev_access(enum famfs_access op, void *dst, const void *src, size_t len);

/**
 * famfs_dev_sync() - make the whole window durable (msync for files, a
 * no-op beyond flush for memory devices). Returns 0 or -errno.
 */
int famfs_dev_sync(struct famfs_dev *dev);

/**
 * famfs_dev_pread() / famfs_dev_pwrite() - copy @len bytes at device offset
 * @off out of / into the device without a window (pmem: O_DIRECT through an
 * aligned bounce buffer; file and devdax on famfs_dax: pread/pwrite; devdax
 * on device_dax: through the window, which must cover the range). Return 0 or -errno; -EINVAL past
 * the end.
 */
int famfs_dev_pread(struct famfs_dev *dev, void *buf, size_t len, uint64_t off);
int famfs_dev_pwrite(struct famfs_dev *dev, const void *buf, size_t len, uint64_t off);

/**
 * famfs_dev_lock() - take this host's exclusive writer lock on the device
 * (flock). With @wait false, returns -EWOULDBLOCK when another process holds
 * it. Released by famfs_dev_unlock() or on close.
 */
int famfs_dev_lock(struct famfs_dev *dev, bool wait);
void famfs_dev_unlock(struct famfs_dev *dev);

/**
 * famfs_dev_hold() - mark the device in use by a famfs opener on this host
 * for as long as @dev stays open: a shared open-file-description lock
 * (fcntl F_OFD_SETLKW, read lock on byte 0 of the device node; independent
 * of the flock writer lock). Every famfs_fs_open() takes it, so every server
 * holds it, master or client. Waits while a mkfs holds the exclusive lock
 * (famfs_dev_claim()). Returns 0 or -errno.
 *
 * The lock lives on the inode of the device node or image file: another
 * node made with mknod for the same device is not seen.
 */
int famfs_dev_hold(struct famfs_dev *dev);

/**
 * famfs_dev_claim() - take the exclusive in-use lock (write lock on byte 0,
 * without waiting) before rewriting the device from scratch (mkfs).
 * Returns 0, -EBUSY while any process on this host holds famfs_dev_hold() or
 * the claim, or another -errno.
 */
int famfs_dev_claim(struct famfs_dev *dev);

/** famfs_dev_close() - unmap, close and free (NULL is fine). */
void famfs_dev_close(struct famfs_dev *dev);

#endif
