// SPDX-License-Identifier: Apache-2.0
/*
 * The namespace's layout (famfs/ns.c, famfs/map.c): many names in one
 * directory, names whose hashes collide, removal from the open-addressing
 * index, names and paths at the 79-byte limit, the directory cache of
 * replay, compact extent maps (packed and wide) against the FILE bodies
 * they come from, and the entry crc against zlib's crc32.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "check.h"
#include "crc.h"
#include "filemap.h"
#include "map.h"
#include "ns.h"
#include "super.h"

#define MiB (1ULL << 20)

static const struct famfs_geom geom = {
    .devsize = 1ULL << 40, .meta_end = 10 * MiB, .alloc_unit = 4096, .version = 48, .nslots = 1000};

/* Deterministic pseudo-random numbers (xorshift64). */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* 100,000 names in one directory: every one found, in creation order, none invented. */
static void test_many_names_one_dir(void **state)
{
	enum { N = 100000 };
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *d, *n, *root;
	char name[32];

	(void)state;
	assert_non_null(ns);
	root = famfs_ns_root(ns);
	assert_int_equal(famfs_ns_add(ns, root, "d", S_IFDIR | 0755, 0, 0, &d), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		assert_int_equal(
		    famfs_ns_add(ns, d, name, (i % 100 ? S_IFREG : S_IFDIR) | 0644, 1, 2, &n), 0);
		assert_int_equal(n->ino, 3 + (uint64_t)i);
	}
	assert_int_equal(d->nkids, N);
	assert_int_equal(d->nsubdirs, N / 100);
	assert_int_equal(ns->nfiles, N - N / 100);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		n = famfs_ns_lookup(ns, d, name);
		assert_non_null(n);
		assert_ptr_equal(n, d->kids[i]);
		assert_ptr_equal(famfs_ns_node(ns, n->ino), n);
		assert_string_equal(n->name, name);
		assert_ptr_equal(n->parent, d);
		assert_null(famfs_ns_lookup(ns, root, name)); /* same name, other directory */
		snprintf(name, sizeof(name), "file-%d", N + i);
		assert_null(famfs_ns_lookup(ns, d, name));
	}
	assert_int_equal(famfs_ns_add(ns, d, "file-7", S_IFREG, 0, 0, &n), -EEXIST);
	assert_ptr_equal(n, d->kids[7]);
	assert_null(famfs_ns_node(ns, 3 + N));
	famfs_ns_free(ns);
}

/* Pairs of names whose hashes under the root (inode 1) are equal. */
static const char *const colliding[][2] = {
    {"c34919", "c120272"}, {"c115417", "c142116"}, {"c143543", "c159267"}};

static void test_hash_collisions(void **state)
{
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *root = famfs_ns_root(ns), *a[3], *b[3], *d;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(famfs_ns_name_hash(FAMFS_ROOT_INO, colliding[i][0]),
				 famfs_ns_name_hash(FAMFS_ROOT_INO, colliding[i][1]));
		assert_int_equal(famfs_ns_add(ns, root, colliding[i][0], S_IFREG, 0, 0, &a[i]), 0);
		assert_null(famfs_ns_lookup(ns, root, colliding[i][1]));
		assert_int_equal(famfs_ns_add(ns, root, colliding[i][1], S_IFREG, 0, 0, &b[i]), 0);
	}
	/* The same names in another directory hash elsewhere and stay apart. */
	assert_int_equal(famfs_ns_add(ns, root, "sub", S_IFDIR | 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_ns_add(ns, d, colliding[0][0], S_IFREG, 0, 0, NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(famfs_ns_lookup(ns, root, colliding[i][0]), a[i]);
		assert_ptr_equal(famfs_ns_lookup(ns, root, colliding[i][1]), b[i]);
	}
	assert_ptr_not_equal(famfs_ns_lookup(ns, d, colliding[0][0]), a[0]);
	/* Removing one of a colliding pair leaves the other found. */
	assert_int_equal(famfs_ns_remove(ns, a[0]), 0);
	assert_null(famfs_ns_lookup(ns, root, colliding[0][0]));
	assert_ptr_equal(famfs_ns_lookup(ns, root, colliding[0][1]), b[0]);
	assert_int_equal(famfs_ns_remove(ns, b[1]), 0);
	assert_ptr_equal(famfs_ns_lookup(ns, root, colliding[1][0]), a[1]);
	assert_null(famfs_ns_lookup(ns, root, colliding[1][1]));
	famfs_ns_free(ns);
}

/*
 * Adds and removals (of never-logged nodes) in random order, against a
 * reference: the index stays exact through growth and the backward shifts
 * of removal, and removed inode numbers are not reused.
 */
static void test_add_remove(void **state)
{
	enum { NAMES = 6000, OPS = 60000 };
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *dirs[3], **live = calloc(3 * NAMES, sizeof(*live));
	uint64_t last_ino = 0;
	char name[32];

	(void)state;
	assert_non_null(live);
	dirs[0] = famfs_ns_root(ns);
	assert_int_equal(famfs_ns_add(ns, dirs[0], "x", S_IFDIR | 0755, 0, 0, &dirs[1]), 0);
	assert_int_equal(famfs_ns_add(ns, dirs[0], "y", S_IFDIR | 0755, 0, 0, &dirs[2]), 0);
	dirs[1]->log_index = dirs[2]->log_index = 0; /* logged: never removed */
	for (int op = 0; op < OPS; op++) {
		uint64_t k = rnd() % (3 * NAMES);
		struct famfs_node *dir = dirs[k / NAMES], *n;

		snprintf(name, sizeof(name), "n%llu", (unsigned long long)(k % NAMES));
		if (live[k]) {
			assert_ptr_equal(famfs_ns_lookup(ns, dir, name), live[k]);
			assert_int_equal(famfs_ns_remove(ns, live[k]), 0);
			live[k] = NULL;
		} else {
			assert_null(famfs_ns_lookup(ns, dir, name));
			assert_int_equal(famfs_ns_add(ns, dir, name, S_IFREG, 0, 0, &n), 0);
			assert_true(n->ino > last_ino);
			last_ino = n->ino;
			live[k] = n;
		}
	}
	for (uint64_t k = 0; k < 3 * NAMES; k++) {
		snprintf(name, sizeof(name), "n%llu", (unsigned long long)(k % NAMES));
		assert_ptr_equal(famfs_ns_lookup(ns, dirs[k / NAMES], name), live[k]);
	}
	assert_int_equal(famfs_ns_remove(ns, dirs[1]), -ENOTEMPTY);
	free(live);
	famfs_ns_free(ns);
}

/* A FILE entry of @size bytes at @relpath with one extent. */
static void file_entry(struct famfs_log_entry *e, const char *relpath, uint64_t off)
{
	assert_int_equal(famfs_entry_init_file(e, relpath, 100, 0644, 0, 0), 0);
	e->file.nextents = 1;
	e->file.se[0] = (struct famfs_simple_extent){0, off, 4096};
}

/* Names of 79 bytes, and paths of 79 bytes made by replay; 80 is refused. */
static void test_long_names(void **state)
{
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *root = famfs_ns_root(ns), *n;
	char name[FAMFS_PATH_MAX + 2], path[FAMFS_PATH_MAX + 1], back[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry e;

	(void)state;
	memset(name, 'n', FAMFS_PATH_MAX);
	name[FAMFS_PATH_MAX] = '\0';
	assert_int_equal(famfs_ns_add(ns, root, name, S_IFREG, 0, 0, &n), 0);
	assert_ptr_equal(famfs_ns_lookup(ns, root, name), n);
	assert_int_equal(famfs_ns_path(n, back, sizeof(back)), 0);
	assert_string_equal(back, name);
	name[FAMFS_PATH_MAX] = 'n';
	name[FAMFS_PATH_MAX + 1] = '\0';
	assert_int_equal(famfs_ns_add(ns, root, name, S_IFREG, 0, 0, &n), -ENAMETOOLONG);

	/* "a/bbbb...": a directory and a 77-byte leaf, 79 bytes in all. */
	assert_int_equal(famfs_entry_init_mkdir(&e, "a", 0755, 0, 0), 0);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, 0, &n), 0);
	memset(path, 'b', FAMFS_PATH_MAX);
	memcpy(path, "a/", 2);
	path[FAMFS_PATH_MAX] = '\0';
	file_entry(&e, path, 10 * MiB);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, 1, &n), 0);
	assert_ptr_equal(famfs_ns_walk(ns, path), n);
	assert_int_equal(famfs_ns_path(n, back, sizeof(back)), 0);
	assert_string_equal(back, path);
	assert_int_equal(n->log_index, 1);
	famfs_ns_free(ns);
}

/*
 * Replay finds parents through a cache by path: entries going round many
 * directories land in the right ones, and a directory taken out of the
 * namespace is never found through the cache again (a new one by its name
 * is).
 */
static void test_dir_cache(void **state)
{
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_node *root = famfs_ns_root(ns), *x, *x2, *n;
	struct famfs_log_entry e;
	char path[64];
	uint64_t slot = 0;

	(void)state;
	for (int d = 0; d < 3000; d++) {
		snprintf(path, sizeof(path), "d%d", d);
		assert_int_equal(famfs_entry_init_mkdir(&e, path, 0755, 0, 0), 0);
		assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), 0);
	}
	for (int i = 0; i < 30000; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 3000, i);
		file_entry(&e, path, 10 * MiB + (uint64_t)i * 4096);
		assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), 0);
		snprintf(path, sizeof(path), "d%d", i % 3000);
		assert_ptr_equal(n->parent, famfs_ns_walk(ns, path));
	}
	/* An unlogged directory, cached by a failed update under it, then removed. */
	assert_int_equal(famfs_ns_add(ns, root, "x", S_IFDIR | 0755, 0, 0, &x), 0);
	assert_int_equal(famfs_entry_init_file(&e, "x/f", 0, 0644, 0, 0), 0);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), -ENOENT);
	assert_int_equal(famfs_ns_remove(ns, x), 0);
	assert_int_equal(famfs_entry_init_mkdir(&e, "x/y", 0755, 0, 0), 0);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), -ENOENT);
	assert_int_equal(famfs_ns_add(ns, root, "x", S_IFDIR | 0755, 0, 0, &x2), 0);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), 0);
	assert_ptr_equal(n->parent, x2);
	/* A file where a directory was: its children's parent is "a file". */
	assert_int_equal(famfs_ns_add(ns, root, "fz", S_IFREG, 0, 0, NULL), 0);
	file_entry(&e, "fz/g", 20 * MiB);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, slot++, &n), -ENOTDIR);
	famfs_ns_free(ns);
}

/* A random FILE body: simple or striped, packed or not (device index, offset). */
static void random_body(struct famfs_file_body *f)
{
	struct famfs_simple_extent *x;
	uint32_t n = 1 + (uint32_t)(rnd() % 16);

	memset(f, 0, sizeof(*f));
	f->size = rnd();
	f->flags = (uint32_t)rnd();
	if (rnd() % 3 == 0) {
		f->ext_type = FAMFS_EXT_INTERLEAVE;
		f->nextents = 1;
		f->ie[0].nstrips = n;
		f->ie[0].chunk_size = 1ULL << (12 + rnd() % 20);
		x = f->ie[0].strips;
	} else {
		f->ext_type = FAMFS_EXT_SIMPLE;
		f->nextents = n;
		x = f->se;
	}
	for (uint32_t i = 0; i < n; i++) {
		switch (rnd() % 4) {
		case 0: /* wide: a device index past 12 bits */
			x[i].devindex = 4096 + rnd() % 100000;
			break;
		case 1: /* wide: an offset that is not 4 KiB-aligned */
			x[i].offset = rnd() | 1;
			break;
		default:
			break;
		}
		if (!x[i].offset)
			x[i].offset = (rnd() % (1ULL << 40)) * 4096;
		if (!x[i].devindex && rnd() % 2)
			x[i].devindex = rnd() % 4096;
		x[i].len = (1 + rnd() % (1ULL << 30)) * 4096;
	}
}

static void test_map_roundtrip(void **state)
{
	uint64_t buf[FAMFS_MAP_MAX / 8];
	struct famfs_map *m = (struct famfs_map *)buf;
	int packed = 0, wide = 0;

	(void)state;
	for (int t = 0; t < 20000; t++) {
		struct famfs_file_body f, back;
		struct fmap *a, *b;
		size_t len;

		random_body(&f);
		len = famfs_map_size(&f);
		assert_true(len > 0 && len <= FAMFS_MAP_MAX && len % 8 == 0);
		famfs_map_encode(&f, m);
		packed += !m->wide;
		wide += m->wide;
		assert_int_equal(len, sizeof(*m) + m->n * (m->wide ? 24 : 16));
		memset(&back, 0, sizeof(back));
		back.size = f.size;
		famfs_map_body(m, &back);
		assert_memory_equal(&back, &f, sizeof(f)); /* every field the map holds */
		assert_int_equal(famfs_map_capacity(m), famfs_file_body_capacity(&f));
		/* The fmap a server builds from the map is the one from the body. */
		a = famfs_file_body_fmap(&f, 4096);
		b = famfs_map_fmap((const struct famfs_map *)m, 4096);
		assert_non_null(a);
		assert_non_null(b);
		b->file_size = a->file_size;
		assert_int_equal(a->nextents, b->nextents);
		assert_int_equal(a->ext_type, b->ext_type);
		for (uint32_t i = 0; i < a->nextents; i++)
			assert_memory_equal(&a->ext[i], &b->ext[i], sizeof(a->ext[i]));
		if (a->ext_type == FMAP_EXT_INTERLEAVE)
			assert_memory_equal(&a->iext[0], &b->iext[0], sizeof(a->iext[0]));
		fmap_free(a);
		fmap_free(b);
	}
	assert_true(packed > 1000 && wide > 1000);

	/* What no map holds: no extents, 17 of them, a chunk not a power of two. */
	struct famfs_file_body f = {.ext_type = FAMFS_EXT_SIMPLE, .nextents = 0};

	assert_int_equal(famfs_map_size(&f), 0);
	f.nextents = 17;
	assert_int_equal(famfs_map_size(&f), 0);
	f.ext_type = FAMFS_EXT_INTERLEAVE;
	f.nextents = 1;
	f.ie[0].nstrips = 2;
	f.ie[0].chunk_size = 3 * 4096;
	assert_int_equal(famfs_map_size(&f), 0);
}

/* One 4 KiB extent: 24 bytes of map, in the node, where the entry's body is 520. */
static void test_map_compact(void **state)
{
	struct famfs_ns *ns = famfs_ns_new();
	struct famfs_log_entry e;
	struct famfs_node *n;

	(void)state;
	file_entry(&e, "f", 10 * MiB);
	e.file.se[0].devindex = 3;
	assert_int_equal(famfs_map_size(&e.file), 24);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, 0, &n), 0);
	assert_int_equal(n->file->n, 1);
	assert_int_equal(n->file->wide, 0);
	assert_ptr_equal(n->file, (const void *)n->map_inline); /* kept in the node */
	assert_int_equal(famfs_map_extent(n->file, 0).devindex, 3);
	assert_int_equal(famfs_map_extent(n->file, 0).offset, 10 * MiB);
	assert_int_equal(n->size, 100);
	assert_int_equal(famfs_map_capacity(n->file), 4096);
	/* Two extents, or one that does not pack: in the arena, whole. */
	file_entry(&e, "two", 12 * MiB);
	e.file.nextents = 2;
	e.file.se[1] = (struct famfs_simple_extent){5000, 16 * MiB, 8192};
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, 2, &n), 0);
	assert_ptr_not_equal(n->file, (const void *)n->map_inline);
	assert_int_equal(n->file->wide, 1);
	assert_int_equal(famfs_map_extent(n->file, 1).devindex, 5000);
	assert_int_equal(famfs_map_capacity(n->file), 4096 + 8192);
	/* fsck's namespace keeps no maps. */
	ns->no_maps = true;
	file_entry(&e, "g", 11 * MiB);
	assert_int_equal(famfs_ns_apply(ns, &geom, &e, 1, &n), 0);
	assert_null(n->file);
	assert_int_equal(n->size, 100);
	assert_int_equal(ns->file_bytes, 300);
	famfs_ns_free(ns);
}

/* The entry crc (ISA-L's crc32_gzip_refl) is zlib's crc32, whatever the bytes and zero tail. */
static void test_entry_crc_is_zlibs(void **state)
{
	struct famfs_log_entry e;
	uint8_t *p = (uint8_t *)&e;

	(void)state;
	for (int t = 0; t < 5000; t++) {
		size_t used = t == 0   ? 0
			      : t == 1 ? FAMFS_ENTRY_CRC_LEN
				       : rnd() % FAMFS_ENTRY_CRC_LEN;

		memset(&e, 0, sizeof(e));
		for (size_t i = 0; i < used; i++)
			p[i] = (uint8_t)(rnd() % 4 ? rnd() : 0);
		assert_int_equal(famfs_log_entry_crc(&e),
				 crc32(crc32(0, Z_NULL, 0), p, FAMFS_ENTRY_CRC_LEN));
	}
}

/* fsck reads the entries in use, never the rest of the log. */
struct counted {
	const struct famfs_log_entry *ent;
	uint64_t n;  /* entries at ent */
	uint64_t hi; /* highest entry read, plus one */
};

static int read_counted(void *arg, uint64_t first, uint64_t n, struct famfs_log_entry *buf)
{
	struct counted *c = arg;

	if (first + n > c->n)
		return -EIO; /* past the entries in use */
	memcpy(buf, c->ent + first, n * sizeof(*buf));
	if (first + n > c->hi)
		c->hi = first + n;
	return 0;
}

static void test_fsck_reads_used(void **state)
{
	enum { USED = 40000 };
	struct famfs_superblock sb = {0};
	struct famfs_log_header h = {0};
	struct famfs_log_entry *ent = calloc(USED, sizeof(*ent));
	struct famfs_checker chk = {0};
	struct famfs_fsck_stats st;
	struct counted c = {ent, USED, 0};
	char path[32];

	(void)state;
	assert_non_null(ent);
	famfs_sb_format(&sb, 64ULL << 30, 64 * MiB, 4096, (const uint8_t[16]){1}, "t");
	famfs_log_header_init(&h, 64 * MiB);
	assert_int_equal(famfs_entry_init_mkdir(&ent[0], "d", 0755, 0, 0), 0);
	for (uint64_t i = 0; i < USED; i++) {
		if (i) {
			snprintf(path, sizeof(path), "d/f%llu", (unsigned long long)i);
			file_entry(&ent[i], path, famfs_meta_end(&sb) + i * 4096);
		}
		ent[i].seqnum = i;
		ent[i].crc = famfs_log_entry_crc(&ent[i]);
	}
	h.next_index = h.next_seqnum = USED;
	assert_int_equal(famfs_fsck_read(&sb, &h, famfs_log_nslots(64 * MiB), read_counted, &c,
					 64ULL << 30, NULL, &chk, NULL, NULL, &st),
			 0);
	assert_int_equal(chk.count, 0);
	assert_int_equal(st.files, USED - 1);
	assert_int_equal(c.hi, USED);
	free(ent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_names_one_dir), cmocka_unit_test(test_hash_collisions),
	    cmocka_unit_test(test_add_remove),	       cmocka_unit_test(test_long_names),
	    cmocka_unit_test(test_dir_cache),	       cmocka_unit_test(test_map_roundtrip),
	    cmocka_unit_test(test_map_compact),	       cmocka_unit_test(test_entry_crc_is_zlibs),
	    cmocka_unit_test(test_fsck_reads_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
