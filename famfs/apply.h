/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying log entries: the one set of rules that replay (mount, the
 * client's follow loop, logplay) and fsck share, so that fsck reports
 * exactly what replay stops at (docs/format.md, "Replaying").
 *
 *   entry                                     replay        fsck
 *   fails famfs_entry_check()                 stops         problem
 *   FILE whose extents overlap used space     stops         ENT_OVERLAP
 *   ADD_DAXDEV out of order, naming a device  stops         ENT_DAXDEV_ORDER /
 *     already added, or beyond the table                    _DUP / _FULL
 *   type 5 and above                          stops         ENT_TYPE
 *   FILE/MKDIR, new path, parent a directory  applied       clean
 *   attribute update of a logged node         applied       clean
 *   FILE/MKDIR whose path exists, or whose    skipped       ENT_EXISTS /
 *     parent is missing or a file             (space kept)  ENT_PARENT
 *   good ADD_DAXDEV (a device, no name),      ignored       clean
 *     DELETE, INVALID
 *
 * "Skip what carries no namespace change, stop at what would change one we
 * cannot apply": DELETE and INVALID (type 3 in version 47) are written by no
 * famfs and applied by none (the existing tools skip them; DELETE has no
 * body layout), ADD_DAXDEV adds no name but a device to the table (devtab.h),
 * which later extents may name by its index. A
 * FILE or MKDIR that collides with the namespace is skipped as the existing
 * tools skip it, keeping its space; fsck still reports it because no writer
 * produces one.
 */
#ifndef FAMFS_APPLY_H
#define FAMFS_APPLY_H

#include "alloc.h"
#include "devtab.h"
#include "entry.h"
#include "ns.h"
#include "problem.h"

enum famfs_verdict {
	FAMFS_APPLIED, /* a directory or file was created, or its attributes updated (*out) */
	FAMFS_IGNORED, /* well-formed, changes no name: ADD_DAXDEV, DELETE, INVALID */
	FAMFS_SKIPPED, /* FILE/MKDIR colliding with the namespace: nothing created */
	FAMFS_BAD,     /* cannot be applied: replay stops here */
};

/*
 * What applying needs: the namespace and bitmap built so far. The device
 * table starts empty (zero) and is seeded from @g and @alloc by the first
 * famfs_apply_entry(); link g->devs to &devs so that extents on the devices
 * it adds pass famfs_entry_check(), and call famfs_applier_release() when
 * done with it (it owns the other devices' bitmaps).
 */
struct famfs_applier {
	const struct famfs_geom *g;
	struct famfs_ns *ns;
	struct famfs_alloc *alloc; /* device 0's, sized from @g (bounded by the real device) */
	struct famfs_devtab devs;  /* the devices the entries so far added */
	/* The log's slots (may be NULL): an overlap names the entry it collides with. */
	const struct famfs_log_entry *log;
	/* Or, without @log, a reader of entries [first, first + n) into buf (may be NULL). */
	int (*read_log)(void *arg, uint64_t first, uint64_t n, struct famfs_log_entry *buf);
	void *read_arg;
	unsigned int lookups; /* owner searches done (each one scans the log; bounded) */
};

/**
 * famfs_apply_entry() - apply the entry @e of slot @index under the rules
 * above: check it (famfs_entry_check), then by type claim its space on its
 * devices (famfs_devtab_claim_file), add an ADD_DAXDEV's device
 * (famfs_devtab_add), add its node.
 * Problems go to @c (may be NULL): every one for BAD, ENT_EXISTS or
 * ENT_PARENT for SKIPPED. A BAD entry changes nothing (no units, no node,
 * no device counted), so a later retry of the same slot is clean.
 *
 * Returns a verdict (node in *@out for FAMFS_APPLIED, else NULL) or -ENOMEM.
 */
int famfs_apply_entry(struct famfs_applier *a, const struct famfs_log_entry *e, uint64_t index,
		      struct famfs_checker *c, struct famfs_node **out);

/**
 * famfs_apply_checked() - famfs_apply_entry() for an entry that passed
 * famfs_entry_check() already (replay checks each entry as it copies it
 * out of the log): the same rules, without checking it twice.
 */
int famfs_apply_checked(struct famfs_applier *a, const struct famfs_log_entry *e, uint64_t index,
			struct famfs_checker *c, struct famfs_node **out);

/** famfs_applier_release() - free what the applier allocated (devices' bitmaps). */
void famfs_applier_release(struct famfs_applier *a);

#endif
