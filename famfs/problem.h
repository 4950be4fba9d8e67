/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Problems as data: every finding of the checks on superblock, log header and
 * log entries is a code from one table, with the entry slot it concerns and a
 * detail naming the field and values. fsck prints them, mount and replay
 * report them, tests assert on codes (docs/fsck.md lists them).
 */
#ifndef FAMFS_PROBLEM_H
#define FAMFS_PROBLEM_H

#include <stdint.h>

#define FAMFS_PROBLEMS(X)                                                                          \
	X(SB_SHORT, "device too small to hold a superblock and log")                               \
	X(SB_MAGIC, "superblock magic is not famfs")                                               \
	X(SB_VERSION, "superblock version not supported")                                          \
	X(SB_OMF, "superblock OMF version does not match its version")                             \
	X(SB_CRC, "superblock crc mismatch")                                                       \
	X(SB_ALLOC_UNIT, "superblock allocation unit invalid or not supported")                    \
	X(SB_LOG_OFFSET, "superblock log offset invalid")                                          \
	X(SB_LOG_LEN, "superblock log length invalid")                                             \
	X(SB_DEVSIZE, "superblock device size does not fit the device")                            \
	X(LOG_MAGIC, "log header magic invalid")                                                   \
	X(LOG_LEN, "log header length disagrees with the superblock")                              \
	X(LOG_LAST_INDEX, "log header last_index does not match the log length")                   \
	X(LOG_CRC, "log header crc mismatch")                                                      \
	X(LOG_NEXT_INDEX, "log header next_index beyond the log")                                  \
	X(LOG_NEXT_SEQNUM, "log header next_seqnum differs from next_index")                       \
	X(LOG_TORN, "log header counters torn by a crash (the master's next mount repairs them)")  \
	X(ENT_CRC, "log entry crc mismatch")                                                       \
	X(ENT_SEQNUM, "log entry seqnum differs from its slot")                                    \
	X(ENT_TYPE, "log entry type unknown")                                                      \
	X(ENT_PATH, "log entry path breaks the path rules")                                        \
	X(ENT_PARENT, "log entry parent directory missing")                                        \
	X(ENT_EXISTS, "log entry path already exists")                                             \
	X(ENT_NEXTENTS, "log entry extent count invalid")                                          \
	X(ENT_EXT_TYPE, "log entry extent type invalid")                                           \
	X(ENT_DEVINDEX, "log entry extent names an unknown device")                                \
	X(ENT_ALIGN, "log entry extent not aligned to the allocation unit")                        \
	X(ENT_RANGE, "log entry extent outside the device")                                        \
	X(ENT_META, "log entry extent overlaps the superblock or log")                             \
	X(ENT_OVERLAP, "log entry extent overlaps another file")                                   \
	X(ENT_SIZE, "log entry file size exceeds its extents")                                     \
	X(ENT_STRIPE, "log entry interleave parameters invalid")                                   \
	X(ENT_DAXDEV, "log entry ADD_DAXDEV invalid")                                              \
	X(ENT_DAXDEV_ORDER, "log entry ADD_DAXDEV index not the next one")                         \
	X(ENT_DAXDEV_DUP, "log entry ADD_DAXDEV names a device already in the file system")        \
	X(ENT_DAXDEV_FULL, "log entry ADD_DAXDEV beyond the device table")                         \
	X(DEV_UNSERVED, "file on a device this opener does not serve")                             \
	X(SB_FLAGS, "superblock flags invalid")                                                    \
	X(SB_SECONDARY, "device holds a secondary superblock, not a primary")                      \
	X(DEV_MISSING, "device of the file system not found on this host")                         \
	X(DEV_FOREIGN, "device found for an index is not that device")                             \
	X(DEV_SIZE, "device smaller than the log says")                                            \
	X(DEV_DUPLICATE, "two devices on this host carry one device uuid")                         \
	X(DEV_UNLISTED, "secondary superblock of this file system that its log does not name")     \
	X(ENT_COMPAT, "log entry the existing tools' shadow YAML cannot carry, in a compat image")

enum famfs_pcode {
#define FAMFS_PCODE_ENUM(name, text) FAMFS_P_##name,
	FAMFS_PROBLEMS(FAMFS_PCODE_ENUM)
#undef FAMFS_PCODE_ENUM
	    FAMFS_P_COUNT
};

struct famfs_problem {
	enum famfs_pcode code;
	int64_t index;	  /* log slot concerned, or -1 */
	char detail[400]; /* names in it are escaped (famfs_esc) */
};

typedef void (*famfs_problem_fn)(const struct famfs_problem *p, void *arg);

/* A sink for problems: counts them and passes each to @fn (may be NULL). */
struct famfs_checker {
	famfs_problem_fn fn;
	void *arg;
	unsigned int count;
	struct famfs_problem first; /* the first problem reported */
};

/** famfs_pcode_name() - "ENT_CRC" etc. */
const char *famfs_pcode_name(enum famfs_pcode code);
/** famfs_pcode_text() - the one-line description from the table. */
const char *famfs_pcode_text(enum famfs_pcode code);

/**
 * famfs_report() - record one problem: @index is the log slot (-1 for none),
 * @fmt/... the detail naming field and values. @c may be NULL (discard).
 */
void famfs_report(struct famfs_checker *c, enum famfs_pcode code, int64_t index, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

/** famfs_report_problem() - record the ready-made problem @p in @c (may be NULL). */
void famfs_report_problem(struct famfs_checker *c, const struct famfs_problem *p);

/**
 * famfs_problem_format() - "entry 17: ENT_CRC: log entry crc mismatch (stored
 * 0x.., computed 0x..)" into @buf.
 */
void famfs_problem_format(const struct famfs_problem *p, char *buf, unsigned long size);

#endif
