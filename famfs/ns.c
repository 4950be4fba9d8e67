// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ns.h"
#include "path.h"

static uint64_t hash_key(uint64_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ parent; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

static int hash_grow(struct famfs_ns *ns)
{
	uint64_t nsize = ns->hash_size ? ns->hash_size * 2 : 1024;
	struct famfs_node **nh = calloc(nsize, sizeof(*nh));

	if (!nh)
		return -ENOMEM;
	for (uint64_t i = 0; i < ns->hash_size; i++) {
		struct famfs_node *n = ns->hash[i], *next;

		for (; n; n = next) {
			uint64_t b = hash_key(n->parent->ino, n->name) & (nsize - 1);

			next = n->hnext;
			n->hnext = nh[b];
			nh[b] = n;
		}
	}
	free(ns->hash);
	ns->hash = nh;
	ns->hash_size = nsize;
	return 0;
}

static struct famfs_node *new_node(struct famfs_ns *ns, const char *name, uint32_t mode,
				   uint32_t uid, uint32_t gid)
{
	struct famfs_node *n;

	if (ns->nino >= ns->ino_cap) {
		uint64_t cap = ns->ino_cap ? ns->ino_cap * 2 : 1024;
		struct famfs_node **v = realloc(ns->by_ino, cap * sizeof(*v));

		if (!v)
			return NULL;
		ns->by_ino = v;
		ns->ino_cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ino = ns->nino++;
	n->mode = mode;
	n->uid = uid;
	n->gid = gid;
	n->log_index = -1;
	ns->by_ino[n->ino] = n;
	if (S_ISDIR(mode))
		ns->ndirs++;
	else
		ns->nfiles++;
	return n;
}

struct famfs_ns *famfs_ns_new(void)
{
	struct famfs_ns *ns = calloc(1, sizeof(*ns));
	struct famfs_node *root;

	if (!ns)
		return NULL;
	ns->nino = FAMFS_ROOT_INO;
	root = new_node(ns, "", S_IFDIR | 0755, 0, 0);
	if (!root || hash_grow(ns)) {
		famfs_ns_free(ns);
		return NULL;
	}
	root->parent = root;
	return ns;
}

void famfs_ns_free(struct famfs_ns *ns)
{
	if (!ns)
		return;
	for (uint64_t i = FAMFS_ROOT_INO; i < ns->nino; i++) {
		struct famfs_node *n = ns->by_ino[i];

		if (!n)
			continue;
		free(n->name);
		free(n->kids);
		free(n->file);
		free(n);
	}
	free(ns->by_ino);
	free(ns->hash);
	free(ns);
}

struct famfs_node *famfs_ns_node(const struct famfs_ns *ns, uint64_t ino)
{
	return ino >= FAMFS_ROOT_INO && ino < ns->nino ? ns->by_ino[ino] : NULL;
}

struct famfs_node *famfs_ns_root(const struct famfs_ns *ns)
{
	return ns->by_ino[FAMFS_ROOT_INO];
}

struct famfs_node *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_node *dir,
				   const char *name)
{
	struct famfs_node *n = ns->hash[hash_key(dir->ino, name) & (ns->hash_size - 1)];

	for (; n; n = n->hnext)
		if (n->parent == dir && strcmp(n->name, name) == 0)
			return n;
	return NULL;
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
	struct famfs_node *n;
	uint64_t b;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	n = famfs_ns_lookup(ns, dir, name);
	if (n) {
		if (out)
			*out = n;
		return -EEXIST;
	}
	if (dir->nkids == dir->kcap) {
		uint32_t cap = dir->kcap ? dir->kcap * 2 : 8;
		struct famfs_node **k = realloc(dir->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		dir->kids = k;
		dir->kcap = cap;
	}
	if (ns->nino >= ns->hash_size && hash_grow(ns))
		return -ENOMEM;
	n = new_node(ns, name, mode, uid, gid);
	if (!n)
		return -ENOMEM;
	n->parent = dir;
	dir->kids[dir->nkids++] = n;
	if (S_ISDIR(mode))
		dir->nsubdirs++;
	b = hash_key(dir->ino, name) & (ns->hash_size - 1);
	n->hnext = ns->hash[b];
	ns->hash[b] = n;
	if (out)
		*out = n;
	return 0;
}

int famfs_ns_remove(struct famfs_ns *ns, struct famfs_node *node)
{
	struct famfs_node *dir = node->parent, **pp;

	if (node->nkids)
		return -ENOTEMPTY;
	if (node->log_index >= 0 || node == dir)
		return -EBUSY;
	for (uint32_t i = 0; i < dir->nkids; i++) {
		if (dir->kids[i] == node) {
			memmove(&dir->kids[i], &dir->kids[i + 1],
				(dir->nkids - i - 1) * sizeof(*dir->kids));
			dir->nkids--;
			break;
		}
	}
	pp = &ns->hash[hash_key(dir->ino, node->name) & (ns->hash_size - 1)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == node) {
			*pp = node->hnext;
			break;
		}
	}
	ns->by_ino[node->ino] = NULL;
	if (S_ISDIR(node->mode)) {
		ns->ndirs--;
		dir->nsubdirs--;
	} else
		ns->nfiles--;
	free(node->name);
	free(node->kids);
	free(node->file);
	free(node);
	return 0;
}

void famfs_ns_attach_file(struct famfs_ns *ns, struct famfs_node *node, struct famfs_file_body *f,
			  int64_t index)
{
	free(node->file);
	node->file = f;
	node->size = f->size;
	node->log_index = index;
	ns->file_bytes += f->size;
}

int famfs_ns_set_file(struct famfs_ns *ns, struct famfs_node *node, const struct famfs_file_body *f,
		      int64_t index)
{
	struct famfs_file_body *copy = malloc(sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	*copy = *f;
	famfs_ns_attach_file(ns, node, copy, index);
	return 0;
}

int famfs_ns_apply(struct famfs_ns *ns, const struct famfs_geom *g, const struct famfs_log_entry *e,
		   uint64_t index, struct famfs_node **out)
{
	char dirpath[FAMFS_PATH_MAX + 1];
	const char *relpath = famfs_entry_relpath(g, e), *leaf;
	struct famfs_node *dir, *n = NULL;
	bool is_dir;
	int rc;

	*out = NULL;
	if (!relpath)
		return 0;
	is_dir = famfs_entry_type(g, e) == FAMFS_LOG_MKDIR;
	leaf = famfs_path_split(relpath, dirpath);
	dir = famfs_ns_walk(ns, dirpath);
	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	n = famfs_ns_lookup(ns, dir, leaf);
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
	if (!is_dir && e->file.nextents == 0) {
		*out = n;
		return n ? -EEXIST : -ENOENT; /* an update of nothing creates nothing */
	}
	if (is_dir)
		rc = famfs_ns_add(ns, dir, leaf, S_IFDIR | (e->mkdir.mode & 07777), e->mkdir.uid,
				  e->mkdir.gid, &n);
	else
		rc = famfs_ns_add(ns, dir, leaf, S_IFREG | (e->file.mode & 07777), e->file.uid,
				  e->file.gid, &n);
	if (rc) {
		*out = n;
		return rc;
	}
	n->mtime_sec = is_dir ? e->mkdir.mtime_sec : e->file.mtime_sec;
	n->mtime_nsec = is_dir ? e->mkdir.mtime_nsec : e->file.mtime_nsec;
	if (is_dir)
		n->log_index = (int64_t)index;
	else if ((rc = famfs_ns_set_file(ns, n, &e->file, (int64_t)index)))
		return rc;
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
