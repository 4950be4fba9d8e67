// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ns.h"
#include "path.h"

#define ARENA_CHUNK (64 * 1024)
#define HUGE	    (2ULL << 20) /* a transparent huge page */

/*
 * @len bytes (a multiple of 2 MiB) of zeroed memory, 2 MiB-aligned; with
 * @huge, backed by transparent huge pages where the system allows them
 * (madvise mode): a million-name namespace is walked at random (the index)
 * or written once in order (slabs), and 4 KiB pages cost a page fault per
 * 42 nodes and a TLB miss per probe. NULL on ENOMEM. Freed by big_free().
 */
static void *big_alloc(size_t len, bool huge)
{
	uint8_t *p =
	    mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (HUGE - (uintptr_t)p % HUGE) % HUGE;
	if (head)
		munmap(p, head);
	munmap(p + head + len, HUGE - head);
	if (huge)
		madvise(p + head, len, MADV_HUGEPAGE); /* a hint: fine if refused */
	return p + head;
}

static void big_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

uint32_t famfs_ns_name_hash(uint64_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ parent; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/* @len bytes aligned to @align (1 or 8) from @a, or NULL. */
static void *arena_alloc(struct famfs_arena *a, size_t len, size_t align)
{
	size_t pad = (align - (uintptr_t)a->cur % align) % align;
	void *p;

	if (!a->cur || a->left < pad + len) {
		char **v = realloc(a->chunks, (a->nchunks + 1) * sizeof(*v));
		char *c;

		if (!v)
			return NULL;
		a->chunks = v;
		c = malloc(ARENA_CHUNK);
		if (!c)
			return NULL;
		a->chunks[a->nchunks++] = c;
		a->cur = c;
		a->left = ARENA_CHUNK;
		pad = 0;
	}
	p = a->cur + pad;
	a->cur += pad + len;
	a->left -= pad + len;
	return p;
}

static void arena_free(struct famfs_arena *a)
{
	for (size_t i = 0; i < a->nchunks; i++)
		free(a->chunks[i]);
	free(a->chunks);
	memset(a, 0, sizeof(*a));
}

static struct famfs_node *slot(const struct famfs_ns *ns, uint64_t ino)
{
	return &ns->slabs[ino / FAMFS_NS_SLAB][ino % FAMFS_NS_SLAB];
}

struct famfs_node *famfs_ns_node(const struct famfs_ns *ns, uint64_t ino)
{
	struct famfs_node *n;

	if (ino < FAMFS_ROOT_INO || ino >= ns->nino)
		return NULL;
	n = slot(ns, ino);
	return n->mode ? n : NULL;
}

struct famfs_node *famfs_ns_root(const struct famfs_ns *ns)
{
	return slot(ns, FAMFS_ROOT_INO);
}

/*
 * The (directory, name) index: open addressing with linear probing, each
 * slot the node's inode number (low 32 bits, 0: empty) and the hash of its
 * (parent, name) (high 32 bits). A probe reads no node unless the hashes
 * match, and growing reads no name. Kept at most 70% full.
 */
static uint64_t mkslot(uint64_t ino, uint32_t h)
{
	return (uint64_t)h << 32 | ino;
}

static uint32_t slot_hash(uint64_t s)
{
	return (uint32_t)(s >> 32);
}

static void hash_free(struct famfs_ns *ns)
{
	if (ns->hash_size * sizeof(*ns->hash) >= HUGE)
		big_free(ns->hash, ns->hash_size * sizeof(*ns->hash));
	else
		free(ns->hash);
}

static int hash_grow(struct famfs_ns *ns)
{
	uint64_t nsize = ns->hash_size ? ns->hash_size * 2 : 1024;
	uint64_t *nh = nsize * sizeof(*nh) >= HUGE ? big_alloc(nsize * sizeof(*nh), true)
						   : calloc(nsize, sizeof(*nh));

	if (!nh)
		return -ENOMEM;
	for (uint64_t i = 0; i < ns->hash_size; i++) {
		uint64_t s = ns->hash[i], b;

		if (!s)
			continue;
		for (b = slot_hash(s) & (nsize - 1); nh[b]; b = (b + 1) & (nsize - 1))
			;
		nh[b] = s;
	}
	hash_free(ns);
	ns->hash = nh;
	ns->hash_size = nsize;
	return 0;
}

/* Child @name of @dir whose hash is @h, or NULL. */
static struct famfs_node *find(const struct famfs_ns *ns, const struct famfs_node *dir,
			       const char *name, uint32_t h)
{
	uint64_t mask = ns->hash_size - 1, s;

	for (uint64_t b = h & mask; (s = ns->hash[b]); b = (b + 1) & mask) {
		struct famfs_node *n;

		if (slot_hash(s) != h)
			continue;
		n = slot(ns, (uint32_t)s);
		if (n->parent == dir && strcmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

static void hash_insert(struct famfs_ns *ns, uint64_t ino, uint32_t h)
{
	uint64_t mask = ns->hash_size - 1, b;

	for (b = h & mask; ns->hash[b]; b = (b + 1) & mask)
		;
	ns->hash[b] = mkslot(ino, h);
	ns->hashed++;
}

/* Take @ino out, shifting back what follows it in its run (no tombstones). */
static void hash_delete(struct famfs_ns *ns, uint64_t ino, uint32_t h)
{
	uint64_t mask = ns->hash_size - 1, i, j;

	for (i = h & mask; ns->hash[i] && (uint32_t)ns->hash[i] != ino; i = (i + 1) & mask)
		;
	if (!ns->hash[i])
		return;
	for (j = (i + 1) & mask; ns->hash[j]; j = (j + 1) & mask) {
		uint64_t home = slot_hash(ns->hash[j]) & mask;

		/* Slot j may move to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			ns->hash[i] = ns->hash[j];
			i = j;
		}
	}
	ns->hash[i] = 0;
	ns->hashed--;
}

struct famfs_node *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_node *dir,
				   const char *name)
{
	return find(ns, dir, name, famfs_ns_name_hash(dir->ino, name));
}

/* Room for inode ns->nino: its slab, and a hash table at most fully loaded. */
static int room(struct famfs_ns *ns)
{
	uint64_t k = ns->nino / FAMFS_NS_SLAB;

	if (ns->nino >= UINT32_MAX)
		return -ENOSPC; /* the index holds inode numbers as 32 bits */
	if (k >= ns->nslabs) {
		struct famfs_node **v = realloc(ns->slabs, (k + 1) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->slabs = v;
		v[k] = big_alloc(FAMFS_NS_SLAB_BYTES, k > 0); /* a small namespace: 4 KiB pages */
		if (!v[k])
			return -ENOMEM;
		ns->nslabs = k + 1;
	}
	if ((ns->hashed + 1) * 10 > ns->hash_size * 7 && hash_grow(ns))
		return -ENOMEM;
	return 0;
}

/* Add @n to @dir's children: arrays grow by doubling from 8 (capacity is implied). */
static int add_kid(struct famfs_node *dir, struct famfs_node *n)
{
	uint32_t k = dir->nkids;

	if (k == 0 || (k >= 8 && !(k & (k - 1)))) {
		struct famfs_node **v = realloc(dir->kids, (k ? 2 * k : 8) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dir->kids = v;
	}
	dir->kids[dir->nkids++] = n;
	return 0;
}

/* A new node for @name (hash @h) in @dir; the name is known to be free. */
static int add(struct famfs_ns *ns, struct famfs_node *dir, const char *name, uint32_t h,
	       uint32_t mode, uint32_t uid, uint32_t gid, struct famfs_node **out)
{
	size_t len = strlen(name);
	struct famfs_node *n;
	char *copy;
	int rc;

	if (len > FAMFS_PATH_MAX)
		return -ENAMETOOLONG;
	rc = room(ns);
	if (rc)
		return rc;
	copy = arena_alloc(&ns->names, len + 1, 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len + 1);
	n = slot(ns, ns->nino);
	if (dir && add_kid(dir, n)) {
		/* The name stays in the arena, unused: only on ENOMEM. */
		return -ENOMEM;
	}
	*n = (struct famfs_node){.ino = ns->nino,
				 .name = copy,
				 .parent = dir ? dir : n,
				 .mode = mode,
				 .uid = uid,
				 .gid = gid,
				 .log_index = -1};
	ns->nino++;
	if (dir) {
		hash_insert(ns, n->ino, h);
		if (S_ISDIR(mode))
			dir->nsubdirs++;
	}
	if (S_ISDIR(mode))
		ns->ndirs++;
	else
		ns->nfiles++;
	*out = n;
	return 0;
}

struct famfs_ns *famfs_ns_new(void)
{
	struct famfs_ns *ns = calloc(1, sizeof(*ns));
	struct famfs_node *root;

	if (!ns)
		return NULL;
	ns->nino = FAMFS_ROOT_INO;
	if (add(ns, NULL, "", 0, S_IFDIR | 0755, 0, 0, &root)) {
		famfs_ns_free(ns);
		return NULL;
	}
	return ns;
}

void famfs_ns_free(struct famfs_ns *ns)
{
	if (!ns)
		return;
	for (uint64_t i = FAMFS_ROOT_INO; i < ns->nino; i++) {
		if (S_ISDIR(slot(ns, i)->mode))
			free(slot(ns, i)->kids);
	}
	for (uint64_t k = 0; k < ns->nslabs; k++)
		big_free(ns->slabs[k], FAMFS_NS_SLAB_BYTES);
	free(ns->slabs);
	hash_free(ns);
	free(ns->dircache);
	arena_free(&ns->names);
	arena_free(&ns->maps);
	free(ns);
}

struct famfs_node *famfs_ns_walk(const struct famfs_ns *ns, const char *relpath)
{
	struct famfs_node *n = famfs_ns_root(ns);
	char name[FAMFS_PATH_MAX + 1];
	const char *p = relpath;

	while (n && *p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len > FAMFS_PATH_MAX || !S_ISDIR(n->mode))
			return NULL;
		memcpy(name, p, len);
		name[len] = '\0';
		n = famfs_ns_lookup(ns, n, name);
		p += len + (slash ? 1 : 0);
	}
	return n;
}

int famfs_ns_add(struct famfs_ns *ns, struct famfs_node *dir, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, struct famfs_node **out)
{
	uint32_t h = famfs_ns_name_hash(dir->ino, name);
	struct famfs_node *n;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	n = find(ns, dir, name, h);
	if (n) {
		if (out)
			*out = n;
		return -EEXIST;
	}
	return add(ns, dir, name, h, mode, uid, gid, out ? out : &n);
}

int famfs_ns_remove(struct famfs_ns *ns, struct famfs_node *node)
{
	struct famfs_node *dir = node->parent;

	if (S_ISDIR(node->mode) && node->nkids)
		return -ENOTEMPTY;
	if (node->log_index >= 0 || node == dir)
		return -EBUSY;
	/* Most removals are of the newest child (a create that failed). */
	for (uint32_t i = dir->nkids; i-- > 0;) {
		if (dir->kids[i] == node) {
			memmove(&dir->kids[i], &dir->kids[i + 1],
				(dir->nkids - i - 1) * sizeof(*dir->kids));
			dir->nkids--;
			break;
		}
	}
	hash_delete(ns, node->ino, famfs_ns_name_hash(dir->ino, node->name));
	if (S_ISDIR(node->mode)) {
		ns->ndirs--;
		dir->nsubdirs--;
		free(node->kids);
	} else {
		ns->nfiles--;
	}
	for (size_t i = 0; ns->dircache && S_ISDIR(node->mode) && i < FAMFS_NS_DIRCACHE; i++)
		if (ns->dircache[i].dir == node)
			ns->dircache[i].dir = NULL;
	memset(node, 0, sizeof(*node)); /* mode 0: no node at this inode number */
	return 0;
}

int famfs_ns_reserve_map(struct famfs_ns *ns)
{
	struct famfs_arena *a = &ns->maps;

	if (a->cur && a->left >= FAMFS_MAP_MAX + sizeof(uint64_t))
		return 0;
	/* A fresh chunk: the next allocation comes out of it without failing. */
	if (!arena_alloc(a, ARENA_CHUNK, 1))
		return -ENOMEM;
	a->cur -= ARENA_CHUNK;
	a->left = ARENA_CHUNK;
	return 0;
}

int famfs_ns_attach_file(struct famfs_ns *ns, struct famfs_node *node,
			 const struct famfs_file_body *f, int64_t index)
{
	size_t len = famfs_map_size(f);
	struct famfs_map *m = NULL;

	if (!len)
		return -EINVAL;
	if (!ns->no_maps) {
		m = len <= FAMFS_NS_MAP_INLINE ? (struct famfs_map *)node->map_inline
					       : arena_alloc(&ns->maps, len, sizeof(uint64_t));
		if (!m)
			return -ENOMEM;
		famfs_map_encode(f, m);
	}
	node->file = m;
	node->size = f->size;
	node->log_index = (int32_t)index;
	ns->file_bytes += f->size;
	return 0;
}

/* Is @n the directory at log path @p (@len bytes)? Compares names leaf first. */
static bool path_is(const struct famfs_node *n, const char *p, size_t len)
{
	while (len) {
		size_t nl;

		if (n->parent == n)
			return false;
		nl = strlen(n->name);
		if (nl > len || memcmp(p + len - nl, n->name, nl))
			return false;
		len -= nl;
		if (len && (p[--len] != '/' || !len))
			return false;
		n = n->parent;
	}
	return n->parent == n;
}

/*
 * The parent directory of @relpath (its leaf in *@leaf), or NULL. Replay
 * meets the same directories again and again (a copy goes round its
 * directories): a cache by path hash spares walking the path, each hit
 * checked against the node's names.
 */
static struct famfs_node *parent_of(struct famfs_ns *ns, const char *relpath, const char **leaf)
{
	const char *slash = strrchr(relpath, '/');
	size_t len = slash ? (size_t)(slash - relpath) : 0;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	char path[FAMFS_PATH_MAX + 1];
	struct famfs_dircache *dc;
	struct famfs_node *dir;

	*leaf = slash ? slash + 1 : relpath;
	if (len > FAMFS_PATH_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)relpath[i]) * 1099511628211ULL;
	if (!ns->dircache)
		ns->dircache = calloc(FAMFS_NS_DIRCACHE, sizeof(*ns->dircache));
	dc = ns->dircache ? &ns->dircache[h % FAMFS_NS_DIRCACHE] : NULL;
	if (dc && dc->dir && dc->hash == h && path_is(dc->dir, relpath, len))
		return dc->dir;
	memcpy(path, relpath, len);
	path[len] = '\0';
	dir = famfs_ns_walk(ns, path);
	if (dc && dir && S_ISDIR(dir->mode))
		*dc = (struct famfs_dircache){h, dir};
	return dir;
}

int famfs_ns_apply(struct famfs_ns *ns, const struct famfs_geom *g, const struct famfs_log_entry *e,
		   uint64_t index, struct famfs_node **out)
{
	const char *relpath = famfs_entry_relpath(g, e), *leaf;
	struct famfs_node *dir, *n;
	bool is_dir;
	uint32_t h;
	int rc;

	*out = NULL;
	if (!relpath)
		return 0;
	is_dir = famfs_entry_type(g, e) == FAMFS_LOG_MKDIR;
	dir = parent_of(ns, relpath, &leaf);
	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	h = famfs_ns_name_hash(dir->ino, leaf);
	n = find(ns, dir, leaf, h);
	if (n && n->log_index >= 0 &&
	    (is_dir ? S_ISDIR(n->mode) : S_ISREG(n->mode) && e->file.nextents == 0)) {
		/* An attribute update of a logged node. */
		n->mode = (n->mode & S_IFMT) | ((is_dir ? e->mkdir.mode : e->file.mode) & 07777);
		n->uid = is_dir ? e->mkdir.uid : e->file.uid;
		n->gid = is_dir ? e->mkdir.gid : e->file.gid;
		n->mtime_sec = is_dir ? e->mkdir.mtime_sec : e->file.mtime_sec;
		n->mtime_nsec = is_dir ? e->mkdir.mtime_nsec : e->file.mtime_nsec;
		*out = n;
		return FAMFS_NS_UPDATED;
	}
	if (n) {
		*out = n;
		return -EEXIST;
	}
	if (!is_dir && e->file.nextents == 0)
		return -ENOENT; /* an update of nothing creates nothing */
	if (is_dir)
		rc = add(ns, dir, leaf, h, S_IFDIR | (e->mkdir.mode & 07777), e->mkdir.uid,
			 e->mkdir.gid, &n);
	else
		rc = add(ns, dir, leaf, h, S_IFREG | (e->file.mode & 07777), e->file.uid,
			 e->file.gid, &n);
	if (rc)
		return rc;
	n->mtime_sec = is_dir ? e->mkdir.mtime_sec : e->file.mtime_sec;
	n->mtime_nsec = is_dir ? e->mkdir.mtime_nsec : e->file.mtime_nsec;
	if (is_dir) {
		n->log_index = (int32_t)index;
	} else if ((rc = famfs_ns_attach_file(ns, n, &e->file, (int64_t)index))) {
		n->log_index = -1;
		famfs_ns_remove(ns, n);
		return rc;
	}
	*out = n;
	return 0;
}

int famfs_ns_path(const struct famfs_node *node, char *buf, size_t size)
{
	const struct famfs_node *chain[FAMFS_PATH_MAX / 2 + 2];
	size_t depth = 0, o = 0;

	for (; node->parent != node; node = node->parent) {
		if (depth == sizeof(chain) / sizeof(chain[0]))
			return -ENAMETOOLONG;
		chain[depth++] = node;
	}
	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	while (depth--) {
		size_t len = strlen(chain[depth]->name);

		if (o + (o ? 1 : 0) + len + 1 > size) /* '/' before all but the first, NUL */
			return -ENAMETOOLONG;
		if (o)
			buf[o++] = '/';
		memcpy(buf + o, chain[depth]->name, len + 1);
		o += len;
	}
	return 0;
}
