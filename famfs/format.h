/* SPDX-License-Identifier: Apache-2.0 */
/*
 * famfs on-media format: superblock, log header and log entries.
 *
 * These structures are the contract with the existing famfs tools
 * (docs/format.md; shared reference "on-media-format"). Every size and
 * every field offset is pinned below with static asserts, so a layout
 * change cannot slip in. All integers are little-endian; this code
 * supports little-endian hosts only (x86-64, arm64).
 */
#ifndef FAMFS_FORMAT_H
#define FAMFS_FORMAT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Geometry (format doc, "Geometry") */
#define FAMFS_SUPERBLOCK_SIZE 0x200000ULL /* 2 MiB reserved at offset 0 */
#define FAMFS_LOG_OFFSET      0x200000ULL /* log starts at 2 MiB */
#define FAMFS_LOG_LEN_DEFAULT 0x800000ULL /* 8 MiB, also the minimum */
#define FAMFS_LOG_LEN_MIN     0x800000ULL
#define FAMFS_LOG_LEN_MAX     (1ULL << 40) /* sanity bound: no reader maps more */
#define FAMFS_ALLOC_UNIT      0x200000ULL  /* 2 MiB, the default unit */
#define FAMFS_ALLOC_UNIT_4K   0x1000ULL	   /* 4 KiB: small files packed (mkfs --alloc-unit 4K) */
#define FAMFS_MIN_DEVSIZE     (4ULL << 30) /* 4 GiB, what mkfs accepts by default (2 MiB units) */
#define FAMFS_MIN_DEVSIZE_4K  (1ULL << 30) /* 1 GiB, the same with 4 KiB units */
/* Default log with 4 KiB units: one entry per this many device bytes (docs/format.md). */
#define FAMFS_LOG_BYTES_PER_ENTRY_4K (128ULL << 10)
#define FAMFS_LOG_LEN_DEFAULT_MAX    (1ULL << 30) /* the default never exceeds 1 GiB */

/* Superblock (format doc, "Superblock") */
#define FAMFS_SUPER_MAGIC  0x87b282ffULL
#define FAMFS_STATFS_MAGIC 0x87b282fdU /* f_type of a mounted famfs-on-FUSE */
#define FAMFS_VERSION_47   47ULL       /* images written 2024-2025, OMF 2.1 */
#define FAMFS_VERSION_48   48ULL       /* what we write, OMF 2.2 */
#define FAMFS_VERSION	   FAMFS_VERSION_48
#define FAMFS_OMF_MAJOR	   2U
#define FAMFS_OMF_MINOR	   2U
#define FAMFS_OMF_MINOR_47 1U

/*
 * sb_flags (outside the crc). The existing tools reserve bits 0 and 1
 * (primary, secondary) and write 0; this bit is ours.
 * FAMFS_SB_COMPAT: every FILE entry of this file system round-trips through
 * the existing tools' shadow YAML, as their logplay --shadowtest checks it
 * (mkfs --compat; docs/format.md, "Compat images"): FILE entries carry no
 * time and there are no FILE attribute updates.
 */
#define FAMFS_SB_COMPAT 0x100

#define FAMFS_UUID_LEN	  16
#define FAMFS_DEVNAME_LEN 64

/*
 * Several devices (format doc, "Several devices"). sb_flags: bit 0 marks the
 * primary of a file system with several devices (informational: a primary
 * with flags 0 is still a primary); bit 1 marks a secondary device's
 * superblock, which has no log and no allocation unit of its own.
 */
#define FAMFS_SB_PRIMARY   0x1U
#define FAMFS_SB_SECONDARY 0x2U
#define FAMFS_MAX_DAXDEVS  32 /* devices per file system: indices 0..31, famfs.ko's table */
/* A secondary's data starts after its reserved superblock area. */
#define FAMFS_SECONDARY_META_END FAMFS_SUPERBLOCK_SIZE
/* ADD_DAXDEV size bounds: a superblock area plus one 2 MiB region; 1 PiB. */
#define FAMFS_DAXDEV_SIZE_MIN (FAMFS_SUPERBLOCK_SIZE + 0x200000ULL)
#define FAMFS_DAXDEV_SIZE_MAX (1ULL << 50)

struct famfs_daxdev_info {
	uint64_t size; /* device size in bytes: the file system's capacity */
	uint8_t uuid[FAMFS_UUID_LEN];
	char name[FAMFS_DEVNAME_LEN]; /* device path at mkfs, NUL padded */
};

struct famfs_superblock {
	uint64_t magic;
	uint64_t version;
	uint64_t log_offset;
	uint64_t log_len;
	uint64_t alloc_unit;
	uint32_t omf_ver_major;
	uint32_t omf_ver_minor;
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	uint8_t device_uuid[FAMFS_UUID_LEN];
	union {
		uint8_t system_uuid[FAMFS_UUID_LEN];  /* primary: identity of the master host */
		uint8_t primary_uuid[FAMFS_UUID_LEN]; /* secondary: the primary's device_uuid */
	};
	uint64_t crc; /* over bytes [0, 96) */
	uint32_t sb_flags;
	struct famfs_daxdev_info daxdev;
};

/* Log header (format doc, "Log header") */
#define FAMFS_LOG_MAGIC 0xbadcafef00dULL

struct famfs_log_header {
	uint64_t magic;
	uint64_t log_len;    /* bytes, header included */
	uint64_t last_index; /* last valid slot, inclusive */
	uint64_t crc;	     /* over bytes [0, 24) */
	uint64_t next_seqnum;
	uint64_t next_index; /* first free slot */
};

/* Log entries (format doc, "Log entry") */
enum famfs_entry_type {
	FAMFS_LOG_FILE = 0,
	FAMFS_LOG_MKDIR = 1,
	FAMFS_LOG_DELETE = 2,	  /* defined by the format, never written */
	FAMFS_LOG_ADD_DAXDEV = 3, /* version 48; meant INVALID in version 47 */
	FAMFS_LOG_INVALID = 4,
};

#define FAMFS_RELPATH_FIELD	 80 /* bytes, NUL included */
#define FAMFS_PATH_MAX		 79 /* longest relative path we accept */
#define FAMFS_MAX_SIMPLE_EXTENTS 16
#define FAMFS_MAX_STRIPS	 16
#define FAMFS_MAX_BUCKETS	 64
#define FAMFS_MAX_CHUNK		 (1ULL << 31) /* largest interleave chunk: the fmap wire field is u32 */

enum famfs_fmap_ext_type {
	FAMFS_EXT_SIMPLE = 0,
	FAMFS_EXT_INTERLEAVE = 1,
};

#define FAMFS_FILE_FLAG_ALL_RO 0x1
#define FAMFS_FILE_FLAG_ALL_RW 0x2

struct famfs_simple_extent {
	uint64_t devindex; /* 0: the primary; N: the device of the ADD_DAXDEV entry with index N */
	uint64_t offset;   /* device byte offset */
	uint64_t len;	   /* bytes */
};

struct famfs_interleave_extent {
	uint64_t nstrips;
	uint64_t chunk_size; /* bytes */
	struct famfs_simple_extent strips[FAMFS_MAX_STRIPS];
};

struct famfs_file_body {
	uint64_t size; /* file size in bytes, fixed for the life of the file */
	uint32_t flags;
	uint32_t uid;
	uint32_t gid;
	uint32_t mode; /* permission bits only */
	char relpath[FAMFS_RELPATH_FIELD];
	uint32_t ext_type;   /* enum famfs_fmap_ext_type */
	uint32_t mtime_sec;  /* ours: modification time, seconds since 1970 (0: none) */
	uint32_t nextents;   /* simple extents, or interleaved extents (1); 0: attribute update */
	uint32_t mtime_nsec; /* ours: nanoseconds of mtime_sec */
	union {
		struct famfs_simple_extent se[FAMFS_MAX_SIMPLE_EXTENTS];
		struct famfs_interleave_extent ie[1];
	};
};

struct famfs_mkdir_body {
	uint32_t uid;
	uint32_t gid;
	uint32_t mode;
	char relpath[FAMFS_RELPATH_FIELD];
	uint32_t mtime_sec;  /* ours: modification time, seconds since 1970 (0: none) */
	uint32_t mtime_nsec; /* ours: nanoseconds of mtime_sec */
};

struct famfs_daxdev_body {
	uint64_t size;
	uint8_t uuid[FAMFS_UUID_LEN];
	uint32_t index; /* dense, from 1, in log order */
};

#define FAMFS_ENTRY_BODY_SIZE 520

struct famfs_log_entry {
	uint64_t seqnum; /* equals the slot index */
	uint32_t type;	 /* enum famfs_entry_type */
	uint32_t pad;
	union {
		struct famfs_file_body file;
		struct famfs_mkdir_body mkdir;
		struct famfs_daxdev_body daxdev;
		uint8_t raw[FAMFS_ENTRY_BODY_SIZE];
	};
	uint64_t crc; /* over bytes [0, 536) */
};

#define FAMFS_LOG_ENTRY_SIZE  544
#define FAMFS_LOG_HEADER_SIZE 48
#define FAMFS_SB_CRC_LEN      96  /* superblock bytes covered by its crc */
#define FAMFS_LOGHDR_CRC_LEN  24  /* log header bytes covered by its crc */
#define FAMFS_ENTRY_CRC_LEN   536 /* log entry bytes covered by its crc */

/* Layout pins: sizes and offsets measured on the existing tools (x86-64). */
#define FAMFS_CHECK_OFFSET(type, field, off)                                                       \
	static_assert(offsetof(struct type, field) == (off), #type "." #field " offset")
#define FAMFS_CHECK_SIZE(type, size) static_assert(sizeof(struct type) == (size), #type " size")

FAMFS_CHECK_SIZE(famfs_daxdev_info, 88);
FAMFS_CHECK_SIZE(famfs_superblock, 200);
FAMFS_CHECK_OFFSET(famfs_superblock, magic, 0);
FAMFS_CHECK_OFFSET(famfs_superblock, version, 8);
FAMFS_CHECK_OFFSET(famfs_superblock, log_offset, 16);
FAMFS_CHECK_OFFSET(famfs_superblock, log_len, 24);
FAMFS_CHECK_OFFSET(famfs_superblock, alloc_unit, 32);
FAMFS_CHECK_OFFSET(famfs_superblock, omf_ver_major, 40);
FAMFS_CHECK_OFFSET(famfs_superblock, omf_ver_minor, 44);
FAMFS_CHECK_OFFSET(famfs_superblock, fs_uuid, 48);
FAMFS_CHECK_OFFSET(famfs_superblock, device_uuid, 64);
FAMFS_CHECK_OFFSET(famfs_superblock, system_uuid, 80);
FAMFS_CHECK_OFFSET(famfs_superblock, primary_uuid, 80);
FAMFS_CHECK_OFFSET(famfs_superblock, crc, 96);
FAMFS_CHECK_OFFSET(famfs_superblock, sb_flags, 104);
FAMFS_CHECK_OFFSET(famfs_superblock, daxdev.size, 112);
FAMFS_CHECK_OFFSET(famfs_superblock, daxdev.uuid, 120);
FAMFS_CHECK_OFFSET(famfs_superblock, daxdev.name, 136);

FAMFS_CHECK_SIZE(famfs_log_header, FAMFS_LOG_HEADER_SIZE);
FAMFS_CHECK_OFFSET(famfs_log_header, log_len, 8);
FAMFS_CHECK_OFFSET(famfs_log_header, last_index, 16);
FAMFS_CHECK_OFFSET(famfs_log_header, crc, 24);
FAMFS_CHECK_OFFSET(famfs_log_header, next_seqnum, 32);
FAMFS_CHECK_OFFSET(famfs_log_header, next_index, 40);

FAMFS_CHECK_SIZE(famfs_simple_extent, 24);
FAMFS_CHECK_SIZE(famfs_interleave_extent, 400);
FAMFS_CHECK_SIZE(famfs_file_body, FAMFS_ENTRY_BODY_SIZE);
FAMFS_CHECK_OFFSET(famfs_file_body, flags, 8);
FAMFS_CHECK_OFFSET(famfs_file_body, uid, 12);
FAMFS_CHECK_OFFSET(famfs_file_body, gid, 16);
FAMFS_CHECK_OFFSET(famfs_file_body, mode, 20);
FAMFS_CHECK_OFFSET(famfs_file_body, relpath, 24);
FAMFS_CHECK_OFFSET(famfs_file_body, ext_type, 104);
FAMFS_CHECK_OFFSET(famfs_file_body, nextents, 112);
FAMFS_CHECK_OFFSET(famfs_file_body, se, 120);
FAMFS_CHECK_OFFSET(famfs_file_body, ie[0].strips, 136);
FAMFS_CHECK_OFFSET(famfs_mkdir_body, mode, 8);
FAMFS_CHECK_OFFSET(famfs_mkdir_body, relpath, 12);
FAMFS_CHECK_OFFSET(famfs_mkdir_body, mtime_sec, 92);
FAMFS_CHECK_OFFSET(famfs_mkdir_body, mtime_nsec, 96);
FAMFS_CHECK_OFFSET(famfs_file_body, mtime_sec, 108);
FAMFS_CHECK_OFFSET(famfs_file_body, mtime_nsec, 116);
FAMFS_CHECK_OFFSET(famfs_daxdev_body, uuid, 8);
FAMFS_CHECK_OFFSET(famfs_daxdev_body, index, 24);

FAMFS_CHECK_SIZE(famfs_log_entry, FAMFS_LOG_ENTRY_SIZE);
FAMFS_CHECK_OFFSET(famfs_log_entry, type, 8);
FAMFS_CHECK_OFFSET(famfs_log_entry, file, 16);
FAMFS_CHECK_OFFSET(famfs_log_entry, crc, FAMFS_ENTRY_CRC_LEN);

/**
 * famfs_log_nslots() - number of entry slots in a log of @log_len bytes.
 * The header's last_index is this minus one (format doc, "Log header").
 */
static inline uint64_t famfs_log_nslots(uint64_t log_len)
{
	if (log_len < FAMFS_LOG_HEADER_SIZE + FAMFS_LOG_ENTRY_SIZE)
		return 0;
	return (log_len - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE;
}

/** famfs_meta_end() - first device byte usable for file data: 2 MiB + log_len. */
static inline uint64_t famfs_meta_end(const struct famfs_superblock *sb)
{
	return sb->log_offset + sb->log_len;
}

#endif /* FAMFS_FORMAT_H */
