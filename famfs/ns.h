/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The namespace replayed from the log: directories and files with their
 * extent lists, addressed by inode number (the FUSE nodeid) or by
 * (directory, name). Not thread-safe: the owner (server, fsck) locks.
 *
 * Laid out for millions of names (docs/design.md, "Namespace memory"):
 * nodes live in slabs indexed by inode number (no pointer array, no malloc
 * per node), names in an arena, a file's extent map in its node (one
 * extent, the common case: a directory's children take that room in a
 * directory) or an arena,
 * a logged file's extents in compact form (map.h), and the (directory,
 * name) index is one open-addressing table of 64-bit slots (inode number
 * and hash). Node addresses never change while the namespace lives.
 */
#ifndef FAMFS_NS_H
#define FAMFS_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "entry.h"
#include "format.h"
#include "map.h"

#define FAMFS_ROOT_INO 1

/* Slot numbers fit log_index: a log of at most FAMFS_LOG_LEN_MAX bytes. */
static_assert(FAMFS_LOG_LEN_MAX / FAMFS_LOG_ENTRY_SIZE < INT32_MAX, "log_index is 32 bits");

struct famfs_node {
	uint64_t ino;
	uint64_t size; /* bytes; fixed once the file is logged */
	const char *name;
	struct famfs_node *parent;
	const struct famfs_map *file; /* files from the log: their extents; else NULL */
	void *priv;		      /* owner's per-node data */
	uint32_t mode;		      /* S_IFDIR or S_IFREG | permission bits; 0: no node */
	uint32_t uid;
	uint32_t gid;
	uint32_t mtime_sec;  /* from the log (creating entry, or the last attribute update) */
	uint32_t mtime_nsec; /* 0/0: the log recorded no time */
	int32_t log_index;   /* slot of the creating entry; -1 for nodes not from the log */
	union {
		struct {			  /* directories */
			struct famfs_node **kids; /* children in creation order */
			uint32_t nkids;
			uint32_t nsubdirs; /* directories among kids (for st_nlink) */
		};
		/* files: a map of one packed extent lives here (file points to it) */
		uint64_t map_inline[3];
	};
};

/* A map this small is kept in the node itself. */
#define FAMFS_NS_MAP_INLINE sizeof(((struct famfs_node *)0)->map_inline)

/* Directories famfs_ns_apply() found lately, direct-mapped by the hash of their path. */
#define FAMFS_NS_DIRCACHE 1024
struct famfs_dircache {
	uint64_t hash;
	struct famfs_node *dir;
};

/* A slab is 2 MiB (a huge page) of nodes. */
#define FAMFS_NS_SLAB_BYTES (2ULL << 20)
#define FAMFS_NS_SLAB	    (FAMFS_NS_SLAB_BYTES / sizeof(struct famfs_node))

/* A bump allocator of 64 KiB chunks: names and maps, freed with the namespace. */
struct famfs_arena {
	char *cur;
	size_t left;
	char **chunks;
	size_t nchunks;
};

struct famfs_ns {
	struct famfs_node *
	    *slabs; /* slab k holds inodes [k * FAMFS_NS_SLAB, (k+1) * FAMFS_NS_SLAB) */
	uint64_t nslabs;
	uint64_t nino;	/* next inode number */
	uint64_t *hash; /* (directory, name) index: hash << 32 | inode number, 0 for none */
	uint64_t hash_size;
	uint64_t hashed; /* slots in use */
	struct famfs_arena names, maps;
	bool no_maps;			 /* keep no extents (fsck: the bitmap has them) */
	struct famfs_dircache *dircache; /* famfs_ns_apply(): parents by path hash */
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

/** famfs_ns_lookup() - child @name of directory @dir, or NULL. Cost: one hash chain. */
struct famfs_node *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_node *dir,
				   const char *name);

/**
 * famfs_ns_name_hash() - the index's hash of child @name of the directory
 * with inode number @parent (FNV-1a, 64 bits folded to 32). Names whose
 * hashes are equal are told apart by comparing them.
 */
uint32_t famfs_ns_name_hash(uint64_t parent, const char *name);

/** famfs_ns_walk() - node at log path @relpath ("" is the root), or NULL. */
struct famfs_node *famfs_ns_walk(const struct famfs_ns *ns, const char *relpath);

/**
 * famfs_ns_add() - create child @name (at most FAMFS_PATH_MAX bytes) of
 * @dir with @mode (S_IFDIR or S_IFREG plus permissions). Returns 0 and the
 * node in *@out, -EEXIST (the name is taken; *@out gets the existing node),
 * -ENOTDIR, -ENAMETOOLONG or -ENOMEM.
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
 * -ENOMEM. Consecutive entries in one directory find it without walking
 * the path again.
 */
#define FAMFS_NS_UPDATED 1
int famfs_ns_apply(struct famfs_ns *ns, const struct famfs_geom *g, const struct famfs_log_entry *e,
		   uint64_t index, struct famfs_node **out);

/**
 * famfs_ns_remove() - take a childless node that was never logged out of
 * the namespace (its inode number is not reused; its name stays in the
 * arena). Returns 0 or -ENOTEMPTY / -EBUSY (logged nodes are permanent).
 */
int famfs_ns_remove(struct famfs_ns *ns, struct famfs_node *node);

/**
 * famfs_ns_reserve_map() - make sure the next famfs_ns_attach_file() cannot
 * fail: room for the largest map. Returns 0 or -ENOMEM. For callers that
 * must not fail after a log append (famfs_image_commit_file).
 */
int famfs_ns_reserve_map(struct famfs_ns *ns);

/**
 * famfs_ns_attach_file() - give a file node the extents (compact copy) and
 * size of @f, logged at slot @index. Cannot fail after
 * famfs_ns_reserve_map(); -ENOMEM otherwise, -EINVAL if @f has no extents
 * a map can hold (famfs_map_size() 0).
 */
int famfs_ns_attach_file(struct famfs_ns *ns, struct famfs_node *node,
			 const struct famfs_file_body *f, int64_t index);

/** famfs_ns_path() - log path of @node into @buf ("" for the root); -ENAMETOOLONG. */
int famfs_ns_path(const struct famfs_node *node, char *buf, size_t size);

#endif
