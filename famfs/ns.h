/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The namespace replayed from the log: directories and files with their
 * extent lists, addressed by inode number (the FUSE nodeid) or by
 * (directory, name). Not thread-safe: the owner (server, fsck) locks.
 */
#ifndef FAMFS_NS_H
#define FAMFS_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "entry.h"
#include "format.h"

#define FAMFS_ROOT_INO 1

struct famfs_node {
	uint64_t ino;
	uint32_t mode; /* S_IFDIR or S_IFREG | permission bits */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;	     /* bytes; fixed once the file is logged */
	int64_t log_index;   /* slot of the creating entry; -1 for nodes not from the log */
	uint32_t mtime_sec;  /* from the log (creating entry, or the last attribute update) */
	uint32_t mtime_nsec; /* 0/0: the log recorded no time */
	char *name;
	struct famfs_node *parent;
	struct famfs_node *hnext; /* (parent, name) hash chain */
	struct famfs_node **kids; /* directories: children in creation order */
	uint32_t nkids;
	uint32_t kcap;
	uint32_t nsubdirs;	      /* directories among kids (for st_nlink) */
	struct famfs_file_body *file; /* files from the log: their extents; else NULL */
	void *priv;		      /* owner's per-node data */
};

struct famfs_ns {
	struct famfs_node **by_ino; /* index ino; [0] unused */
	uint64_t nino;		    /* next inode number */
	uint64_t ino_cap;
	struct famfs_node **hash;
	uint64_t hash_size;
	uint64_t nfiles;
	uint64_t ndirs; /* root included */
	uint64_t file_bytes;
};

/** famfs_ns_new() - a namespace holding only the root (ino 1, mode 0755); NULL on ENOMEM. */
struct famfs_ns *famfs_ns_new(void);
void famfs_ns_free(struct famfs_ns *ns);

/** famfs_ns_node() - node with inode number @ino, or NULL. */
struct famfs_node *famfs_ns_node(const struct famfs_ns *ns, uint64_t ino);

/** famfs_ns_root() - the root directory. */
struct famfs_node *famfs_ns_root(const struct famfs_ns *ns);

/** famfs_ns_lookup() - child @name of directory @dir, or NULL. */
struct famfs_node *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_node *dir,
				   const char *name);

/** famfs_ns_walk() - node at log path @relpath ("" is the root), or NULL. */
struct famfs_node *famfs_ns_walk(const struct famfs_ns *ns, const char *relpath);

/**
 * famfs_ns_add() - create child @name of @dir with @mode (S_IFDIR or S_IFREG
 * plus permissions). Returns 0 and the node in *@out, -EEXIST (the name is
 * taken; *@out gets the existing node), -ENOTDIR or -ENOMEM.
 */
int famfs_ns_add(struct famfs_ns *ns, struct famfs_node *dir, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, struct famfs_node **out);

/**
 * famfs_ns_apply() - apply a checked log entry from slot @index: MKDIR makes a
 * directory, FILE a file with its extents copied; other types create
 * nothing (*@out = NULL). An attribute update (docs/format.md, "Attribute
 * updates": a MKDIR naming an existing directory, or a FILE without extents
 * naming an existing file) sets that node's mode, uid, gid and time and
 * returns FAMFS_NS_UPDATED with the node in *@out. Returns 0, -EEXIST (path
 * exists otherwise: the entry is skipped, as the existing tools do), -ENOENT
 * (parent missing, or an update of nothing), -ENOTDIR (parent is a file) or
 * -ENOMEM.
 */
#define FAMFS_NS_UPDATED 1
int famfs_ns_apply(struct famfs_ns *ns, const struct famfs_geom *g, const struct famfs_log_entry *e,
		   uint64_t index, struct famfs_node **out);

/**
 * famfs_ns_remove() - take a childless node that was never logged out of
 * the namespace and free it (its inode number is not reused). Returns 0 or
 * -ENOTEMPTY / -EBUSY (logged nodes are permanent).
 */
int famfs_ns_remove(struct famfs_ns *ns, struct famfs_node *node);

/**
 * famfs_ns_attach_file() - give a file node the extents and size of @f,
 * which it takes over (malloc'ed by the caller). Cannot fail: for callers
 * that must not fail after a log append (famfs_image_commit_file).
 */
void famfs_ns_attach_file(struct famfs_ns *ns, struct famfs_node *node, struct famfs_file_body *f,
			  int64_t index);

/**
 * famfs_ns_set_file() - give a file node its extents and size from @f
 * (copied); used when a pending file is logged. -ENOMEM.
 */
int famfs_ns_set_file(struct famfs_ns *ns, struct famfs_node *node, const struct famfs_file_body *f,
		      int64_t index);

/** famfs_ns_path() - log path of @node into @buf ("" for the root); -ENAMETOOLONG. */
int famfs_ns_path(const struct famfs_node *node, char *buf, size_t size);

#endif
