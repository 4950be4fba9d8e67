/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * famfs_kabi.h - the famfs kernel ABI: the one header that the kernel
 * module (kmod/, copied into its build), the server (fused/) and the tests
 * share for everything between them that is not the fmap message itself
 * (fmap.h). docs/protocol.md describes it.
 *
 *   FAMFS_DAX_FMAP          INIT flag (fuse_init_in/out flags, with
 *                           FUSE_INIT_EXT: flags2 bit 11)
 *   FAMFS_OP_GET_FMAP, FAMFS_OP_GET_DAXDEV   the two requests
 *   struct famfs_get_fmap_in, struct famfs_daxdev_out   their payloads
 *   FAMFS_STATFS_MAGIC      statfs f_type / s_magic of a famfs mount
 *   FAMFS_FSTYPE, FAMFS_CHANNEL_DEV   what famfs.ko registers: mount(2)
 *                           type "famfs" and its channel device /dev/famfs
 *   FAMFS_DEV_IOC_DAXDEV_REGISTER     the channel ioctl that hands the
 *                           kernel a device by file descriptor
 *
 * Plain C types from <linux/types.h> and <linux/ioctl.h>, so the same text
 * compiles in the kernel and in user space.
 */
#ifndef FAMFS_KABI_H
#define FAMFS_KABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* INIT: the kernel maps files itself from GET_FMAP (flags2 bit 11). */
#define FAMFS_DAX_FMAP	      (1ULL << 43)
#define FAMFS_DAX_FMAP_FLAGS2 (1U << 11)

/* Opcodes (v4..v10 postings; 53 is mainline's COPY_FILE_RANGE_64). */
#define FAMFS_OP_GET_FMAP   54
#define FAMFS_OP_GET_DAXDEV 55

/*
 * GET_FMAP input: the size of the kernel's reply buffer, and the smallest
 * extent alignment the kernel can map. The reply is the fmap (fmap.h), or
 * exactly 4 bytes: a __u32 holding the size it needs.
 *
 * align_shift: log2 of the alignment every extent offset and length (and
 * chunk size) of the reply must have: 12 (4 KiB: PTE faults where an extent
 * is not 2 MiB-aligned, PMD where it is) up to 21 (2 MiB). 0 means 21: the
 * byte was padding (zero) in every kernel before it, and those kernels
 * reject any map that is not 2 MiB-aligned. A server never sends a map
 * that breaks it: it answers ENODATA and serves that file's data itself.
 */
struct famfs_get_fmap_in {
	__u32 size;
	union {
		__u32 padding; /* what kernels before align_shift set (0) */
		struct {
			__u8 align_shift;
			__u8 reserved[3]; /* 0; ignored */
		};
	};
};

#define FAMFS_FMAP_ALIGN_SHIFT_MIN 12 /* 4 KiB */
#define FAMFS_FMAP_ALIGN_SHIFT_MAX 21 /* 2 MiB, also what 0 means */

/*
 * GET_DAXDEV reply (device index in fuse_in_header.nodeid). famfs.ko never
 * sends GET_DAXDEV (devices are registered by fd, below); servers still
 * answer it for kernels that do.
 */
#define FAMFS_DAXDEV_NAME_MAX 256
struct famfs_daxdev_out {
	__u16 index;
	__u16 reserved;
	__u32 reserved2;
	__u64 reserved3;
	__u64 reserved4;
	char name[FAMFS_DAXDEV_NAME_MAX]; /* absolute path, NUL-terminated */
};

/* statfs(2) f_type and s_magic of every famfs.ko mount. */
#define FAMFS_STATFS_MAGIC 0x87b282fdU /* same text as famfs/format.h */

/* What famfs.ko registers (beside the kernel's own "fuse" and /dev/fuse). */
#define FAMFS_FSTYPE	  "famfs"
#define FAMFS_CHANNEL_DEV "/dev/famfs"

/*
 * FAMFS_DEV_IOC_DAXDEV_REGISTER - on a mounted /dev/famfs channel fd: make
 * @fd, a device the server opened, the device that fmaps call @index.
 *
 *   index   the fmap extents' devindex (0 .. 31)
 *   fd      an open file descriptor of the device (flags 0), or -1 with
 *           FAMFS_DAXDEV_SERVER_DATA
 *   flags   0: the kernel serves the device's files itself: it checks that
 *              fd is a device it can map (an fsdax pmem block device) and
 *              keeps its own reference until the connection goes away;
 *              read-only fds serve read-only mounts only
 *           FAMFS_DAXDEV_SERVER_DATA: files on @index are served by the
 *              server's READ/WRITE (a device the kernel refused)
 *   reserved  0
 * A block device is claimed exclusively (the block layer's holder: the
 * server's file) until the connection goes: no file system, device-mapper
 * table, md array or swap can take it meanwhile.
 * Errors: EPERM (not a famfs-capable mount, or no CAP_SYS_RAWIO), EINVAL
 * (index out of range, bad flags or reserved, not mounted yet), EBADF,
 * EBUSY (index already registered, or a block device that another owner
 * holds: a mounted file system, device-mapper, md, swap, an O_EXCL open),
 * EOPNOTSUPP (fd is not a device this kernel can map, e.g. a character
 * devdax device without famfs_dax.ko, a block device without DAX, a regular
 * file, or a device that another famfs mount or DAX file system of this
 * host maps already: one DAX user per device and host), EACCES (fd not
 * open for reading). An fd not open for writing is accepted on a
 * read-write mount too, and a block device that is read-only (BLKROSET,
 * at registration or later) is read-only whatever the fd: writes to its
 * files fail with EROFS (write(2), a shared writable mmap(2)); a shared
 * read-only mapping cannot be made writable (mprotect(2): EACCES); a write
 * fault still reaching it (made read-only after the mmap) gets SIGBUS.
 * An fmap whose extent names an index that is not registered, or that
 * leaves its device, fails the open with EIO.
 */
struct famfs_daxdev_reg {
	__u32 index;
	__s32 fd;
	__u32 flags;
	__u32 reserved;
};

#define FAMFS_DAXDEV_SERVER_DATA (1U << 0)
#define FAMFS_MAX_DAXDEVS	 32

/* FUSE_DEV_IOC_MAGIC (229), a number FUSE itself does not use. */
#define FAMFS_DEV_IOC_DAXDEV_REGISTER _IOW(229, 0xfa, struct famfs_daxdev_reg)

#endif /* FAMFS_KABI_H */
