// SPDX-License-Identifier: Apache-2.0
/*
 * Cache maintenance you can see fail: hosts on memory that is not coherent
 * between them (CXL memory shared by hosts) depend on every flush and
 * invalidate of the metadata path. qemu cannot show a missing one; this
 * device model can.
 *
 * The model (famfs_dev_set_cache_model): each host has a private copy of
 * the device, its CPU cache, which outlives any one mapping (a host that
 * mapped the device before keeps its lines). Loads and stores work on that
 * copy; a store reaches the shared memory (the image file) only when a
 * flush covers its line, and a load sees what another host wrote only after
 * an invalidate of its line, which first writes the line back if it holds
 * unflushed stores (clflush). Nothing is ever evicted: the worst case for a
 * missing flush or invalidate.
 *
 * test_follow: mkfs, the superblock and log header read at open, the master's
 * appends and a client's follow (famfs_log_pending + famfs_image_catch_up,
 * what fused/follow.c runs), over a device whose old file system the
 * client still holds in its cache. test_retry: a writer that publishes the
 * header before it flushes the entry (the existing tools' order), the
 * entry landing between the client's invalidate and its load: the retry's
 * invalidate fetches it. test_torn_open: counters torn by a power loss,
 * opened by a client that holds a stale copy of the entry deciding it, then
 * repaired by the master's open for the client to see. test_devices: mkfs
 * over two devices, a client finding and opening the secondary, and a third
 * device added while it follows.
 *
 * Each assertion names what a missing flush or invalidate breaks; removing
 * any one of them from famfs/log.c or famfs/fs.c makes a test here fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "crc.h"
#include "devset.h"
#include "helpers.h"
#include "image.h"
#include "log.h"
#include "resolve.h"

#define MiB	(1ULL << 20)
#define LINE	64ULL
#define DEVSIZE (64 * MiB)
#define CACHE	(32 * MiB) /* the metadata of a 16 MiB log fits */

#define MAXDEV 3

struct host;

/* One device as one host sees it: its CPU's view, and the memory behind it. */
struct devcache {
	struct host *host;
	char path[PATH_MAX]; /* the image file: the shared memory */
	int fd;
	uint8_t *cache; /* what this host's loads read and its stores write */
	uint8_t *clean; /* each line as last filled from, or written back to, memory */
};

/* One host: its caches of the devices it has. */
struct host {
	const char *name;
	struct devcache dev[MAXDEV];
	unsigned int ndev;
	unsigned long writebacks, fills;
};

static struct host host_a, host_b;
static struct host *current_host; /* whose cache the next mapping is */
static char img[PATH_MAX + 32], img2[PATH_MAX + 32], img3[PATH_MAX + 32];

static void host_down(struct host *h);

/* Boot @h with the devices @paths: its caches hold the shared memory as it is now. */
static void host_boot_devices(struct host *h, const char *name, const char *const *paths,
			      unsigned int n)
{
	host_down(h);
	h->name = name;
	h->ndev = n;
	h->writebacks = h->fills = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct devcache *d = &h->dev[i];

		d->host = h;
		assert_non_null(realpath(paths[i], d->path));
		d->fd = open(d->path, O_RDWR | O_CLOEXEC);
		assert_true(d->fd >= 0);
		d->cache = malloc(CACHE);
		d->clean = malloc(CACHE);
		assert_non_null(d->cache);
		assert_non_null(d->clean);
		assert_int_equal(pread(d->fd, d->cache, CACHE, 0), (ssize_t)CACHE);
		memcpy(d->clean, d->cache, CACHE);
	}
}

/* Boot @h with the one device img. */
static void host_boot(struct host *h, const char *name)
{
	const char *paths[] = {img};

	host_boot_devices(h, name, paths, 1);
}

static void host_down(struct host *h)
{
	for (unsigned int i = 0; i < h->ndev; i++) {
		close(h->dev[i].fd);
		free(h->dev[i].cache);
		free(h->dev[i].clean);
	}
	h->ndev = 0;
}

/* Write line @l of @d back to memory if its host stored into it since. */
static int writeback(struct devcache *d, uint64_t l)
{
	if (!memcmp(d->cache + l, d->clean + l, LINE))
		return 0;
	if (pwrite(d->fd, d->cache + l, LINE, (off_t)l) != (ssize_t)LINE)
		return -EIO;
	memcpy(d->clean + l, d->cache + l, LINE);
	d->host->writebacks++;
	return 0;
}

static void *model_map(void *arg, struct famfs_dev *dev, uint64_t len)
{
	char path[PATH_MAX];

	(void)arg;
	if (!current_host || len > CACHE || !realpath(dev->path, path)) {
		errno = EINVAL;
		return NULL;
	}
	for (unsigned int i = 0; i < current_host->ndev; i++) {
		if (!strcmp(current_host->dev[i].path, path)) {
			dev->model_host = &current_host->dev[i];
			return current_host->dev[i].cache;
		}
	}
	errno = ENODEV; /* a device this host was not booted with */
	return NULL;
}

static void model_unmap(void *arg, struct famfs_dev *dev, void *win, uint64_t len)
{
	(void)arg, (void)dev, (void)win, (void)len; /* the cache outlives its mappings */
}

static int model_flush(void *arg, struct famfs_dev *dev, uint64_t off, uint64_t len)
{
	struct devcache *d = dev->model_host;
	int rc = 0;

	(void)arg;
	for (uint64_t l = off / LINE * LINE; !rc && l < off + len; l += LINE)
		rc = writeback(d, l);
	return rc;
}

static int model_invalidate(void *arg, struct famfs_dev *dev, uint64_t off, uint64_t len)
{
	struct devcache *d = dev->model_host;

	(void)arg;
	for (uint64_t l = off / LINE * LINE; l < off + len; l += LINE) {
		if (writeback(d, l) || pread(d->fd, d->cache + l, LINE, (off_t)l) != (ssize_t)LINE)
			return -EIO;
		memcpy(d->clean + l, d->cache + l, LINE);
		d->host->fills++;
	}
	return 0;
}

static const struct famfs_cache_model model = {
    .map = model_map,
    .unmap = model_unmap,
    .flush = model_flush,
    .invalidate = model_invalidate,
};

static int setup(void **state)
{
	char cache[PATH_MAX + 32];

	scratch_setup(state);
	snprintf(img, sizeof(img), "%s/shared.img", scratch_dir);
	snprintf(img2, sizeof(img2), "%s/second.img", scratch_dir);
	snprintf(img3, sizeof(img3), "%s/third.img", scratch_dir);
	snprintf(cache, sizeof(cache), "%s/devices", scratch_dir);
	setenv(FAMFS_DEVICE_CACHE_ENV, cache, 1); /* never the host's device cache */
	famfs_dev_set_cache_model(&model);
	return 0;
}

static int teardown(void **state)
{
	famfs_dev_set_cache_model(NULL);
	host_down(&host_a);
	host_down(&host_b);
	return scratch_teardown(state);
}

/* Fresh shared memories of DEVSIZE bytes (no host booted on them yet). */
static void fresh_device(void)
{
	const char *all[] = {img, img2, img3};

	for (unsigned int i = 0; i < MAXDEV; i++) {
		unlink(all[i]);
		assert_int_equal(famfs_dev_create_file(all[i], DEVSIZE), 0);
	}
}

/* mkfs on host A, through its cache. */
static void mkfs_on_a(uint64_t log_len)
{
	struct famfs_dev *dev;
	uint8_t me[16];

	current_host = &host_a;
	assert_int_equal(famfs_dev_open(img, FAMFS_DEV_WRITE, &dev), 0);
	assert_int_equal(famfs_identity(me), 0);
	assert_int_equal(famfs_mkfs_unit(dev, log_len, FAMFS_ALLOC_UNIT, me), 0);
	famfs_dev_close(dev);
}

/* Every node the master has, the client has the same (path, size, map). */
static void same_namespace(struct famfs_image *m, struct famfs_image *c, unsigned int nodes)
{
	char path[FAMFS_PATH_MAX + 1];
	unsigned int n = 0;

	for (int64_t i = 0; i < (int64_t)famfs_log_used(m->fs); i++) {
		const char *rel = famfs_entry_relpath(&m->fs->geom, &m->fs->ent[i]);
		struct famfs_node *a, *b;

		if (!rel)
			continue; /* ADD_DAXDEV: no name */
		a = famfs_ns_walk(m->ns, rel);
		b = famfs_ns_walk(c->ns, rel);
		snprintf(path, sizeof(path), "%s", rel);
		if (!b)
			fail_msg("the client lacks %s (entry %lld)", path, (long long)i);
		assert_int_equal(a->mode, b->mode);
		assert_int_equal(a->size, b->size);
		if (a->file)
			assert_memory_equal(a->file, b->file, sizeof(*a->file));
		n++;
	}
	assert_int_equal(n, nodes);
	/* ... and nothing else (entries of the old file system the client cached). */
	assert_int_equal(c->ns->nfiles + c->ns->ndirs, m->ns->nfiles + m->ns->ndirs);
}

/* Append @n directories and @n files under them on the master. */
static void appends(struct famfs_image *m, unsigned int round, unsigned int n)
{
	struct famfs_node *d;
	char name[32];

	current_host = &host_a;
	snprintf(name, sizeof(name), "r%u", round);
	assert_int_equal(famfs_image_mkdir(m, famfs_ns_root(m->ns), name, 0755, 0, 0, &d), 0);
	for (unsigned int i = 1; i < n; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		assert_int_equal(
		    famfs_image_mkfile(m, d, name, (uint64_t)i * 1000, 0640, 0, 0, NULL, NULL), 0);
	}
}

static void test_follow(void **state)
{
	const char *paths[] = {img, img2};
	struct famfs_image *m, *c, *old;
	unsigned int nodes = 0;
	uint32_t idx;

	(void)state;
	fresh_device();
	host_boot_devices(&host_a, "A", paths, 2);
	/* File system #1, with entries, which host B then caches. */
	mkfs_on_a(16 * MiB);
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &old, NULL), 0);
	assert_int_equal(famfs_image_catch_up(old, NULL, NULL), 0);
	appends(old, 100, 6);
	famfs_image_close(old);
	host_boot_devices(&host_b, "B", paths, 2);

	/* The master makes file system #2 over it. The client opens it before
	 * the master touches it again (the master's own later invalidates would
	 * write back what its mkfs forgot to flush). */
	mkfs_on_a(8 * MiB);
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	current_host = &host_a;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);

	/* The client saw #2's superblock and header, not its cache's #1. */
	assert_memory_equal(c->fs->sb->fs_uuid, m->fs->sb->fs_uuid, FAMFS_UUID_LEN);
	assert_int_equal(c->fs->sb->log_len, 8 * MiB);
	current_host = &host_b;
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 0);

	for (unsigned int round = 0; round < 5; round++) {
		long got;

		appends(m, round, 4 + round);
		nodes += 4 + round;
		current_host = &host_b;
		/* The header the master flushed, seen after the client invalidates it. */
		assert_int_equal(famfs_log_pending(c->fs, &c->replay), 1);
		got = famfs_image_catch_up(c, NULL, NULL);
		if (c->replay.bad_index >= 0) {
			char why[512];

			famfs_problem_format(&c->replay.bad, why, sizeof(why));
			fail_msg("round %u: the client's replay stopped: %s", round, why);
		}
		assert_int_equal(got, 4 + round);
		/* Entries read after one invalidate of the range: no retry needed. */
		assert_int_equal(c->replay.retries, 0);
		same_namespace(m, c, nodes);
	}
	assert_int_equal(famfs_log_pending(c->fs, &c->replay), 0);
	printf("  %u entries followed; host A wrote back %lu lines, host B filled %lu\n", nodes,
	       host_a.writebacks, host_b.fills);
	famfs_image_close(c);

	/* A second device: the primary's superblock gets its flag, for every host. */
	current_host = &host_a;
	assert_int_equal(famfs_image_devadd(m, img2, FAMFS_DEVADD_SMALL, &idx), 0);
	famfs_image_close(m);
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_true(c->fs->sb->sb_flags & FAMFS_SB_PRIMARY);
	famfs_image_close(c);
}

/* Trace hook on the client: when its invalidate covers @slot, the writer flushes it only now. */
struct late {
	struct famfs_dev *writer;
	void *slot;
	uint64_t slot_off;
	bool done;
};

static void flush_late(void *arg, enum famfs_dev_op op, uint64_t off, uint64_t len)
{
	struct late *l = arg;

	if (op != FAMFS_DEV_INVALIDATE || l->done || off > l->slot_off ||
	    off + len < l->slot_off + FAMFS_LOG_ENTRY_SIZE)
		return;
	l->done = true;
	assert_int_equal(famfs_dev_flush(l->writer, l->slot, FAMFS_LOG_ENTRY_SIZE), 0);
}

static void test_retry(void **state)
{
	struct famfs_image *m, *c;
	struct famfs_log_entry e;
	struct late late = {0};
	uint64_t n, k[2];

	(void)state;
	fresh_device();
	host_boot(&host_a, "A");
	host_boot(&host_b, "B");
	mkfs_on_a(8 * MiB);
	current_host = &host_a;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	appends(m, 0, 3);
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 3);

	/* The writer stores the entry and the header but flushes only the header. */
	current_host = &host_a;
	n = famfs_log_used(m->fs);
	assert_int_equal(famfs_entry_init_mkdir(&e, "late", 0755, 0, 0), 0);
	e.seqnum = n;
	e.crc = famfs_log_entry_crc(&e);
	assert_int_equal(famfs_dev_store(m->fs->dev, &m->fs->ent[n], &e, sizeof(e)), 0);
	k[0] = k[1] = n + 1;
	assert_int_equal(famfs_dev_store(m->fs->dev, &m->fs->hdr->next_seqnum, k, sizeof(k)), 0);
	assert_int_equal(famfs_dev_flush(m->fs->dev, m->fs->hdr, sizeof(*m->fs->hdr)), 0);

	/* The entry lands after the client's invalidate, before its load. */
	late.writer = m->fs->dev;
	late.slot = &m->fs->ent[n];
	late.slot_off = FAMFS_LOG_OFFSET + FAMFS_LOG_HEADER_SIZE + n * FAMFS_LOG_ENTRY_SIZE;
	current_host = &host_b;
	c->fs->dev->trace = flush_late;
	c->fs->dev->trace_arg = &late;
	assert_int_equal(famfs_log_pending(c->fs, &c->replay), 1);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 1);
	c->fs->dev->trace = NULL;
	assert_true(late.done);
	assert_int_equal(c->replay.bad_index, -1); /* the retry's invalidate fetched it */
	assert_int_equal(c->replay.retries, 1);
	assert_non_null(famfs_ns_walk(c->ns, "late"));
	famfs_image_close(c);
	current_host = &host_a;
	famfs_image_close(m);
}

static void test_torn_open(void **state)
{
	struct famfs_image *m, *c;
	struct famfs_log_entry e;
	uint64_t n, idx;

	(void)state;
	fresh_device();
	host_boot(&host_a, "A");
	host_boot(&host_b, "B"); /* holds every slot as it was: empty */
	mkfs_on_a(8 * MiB);
	current_host = &host_a;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 0);
	appends(m, 0, 2);

	/* An append whose header store kept only next_index (power loss). */
	n = famfs_log_used(m->fs);
	assert_int_equal(famfs_entry_init_mkdir(&e, "torn", 0755, 0, 0), 0);
	e.seqnum = n;
	e.crc = famfs_log_entry_crc(&e);
	assert_int_equal(famfs_dev_store(m->fs->dev, &m->fs->ent[n], &e, sizeof(e)), 0);
	assert_int_equal(famfs_dev_flush(m->fs->dev, &m->fs->ent[n], sizeof(e)), 0);
	idx = n + 1;
	assert_int_equal(famfs_dev_store(m->fs->dev, &m->fs->hdr->next_index, &idx, sizeof(idx)),
			 0);
	assert_int_equal(famfs_dev_flush(m->fs->dev, m->fs->hdr, sizeof(*m->fs->hdr)), 0);

	/* The client's open judges the torn pair by the entry in memory, not its cache's. */
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_int_equal(c->fs->torn_slot, (int64_t)n);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), (long)n + 1);
	assert_non_null(famfs_ns_walk(c->ns, "torn"));
	famfs_image_close(c);

	/* The master's next open repairs the counters, for every host to see. */
	current_host = &host_a;
	famfs_image_close(m);
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE, &m, NULL), 0);
	assert_true(m->fs->torn_repaired);
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, 0, &c, NULL), 0);
	assert_int_equal(c->fs->torn_slot, -1);
	famfs_image_close(c);
	current_host = &host_a;
	famfs_image_close(m);
}

/*
 * Several devices: mkfs over two, a client opening the file system and
 * finding the secondary, files on both, and a third device added while the
 * client follows.
 */
static void test_devices(void **state)
{
	const char *paths[] = {img, img2, img3};
	struct famfs_stripe st = {.nbuckets = 2, .nstrips = 2, .chunk_size = 2 * MiB};
	struct famfs_dev *devs[2];
	struct famfs_image *m, *c;
	struct famfs_node *f;
	uint8_t me[16];
	uint32_t idx;

	(void)state;
	fresh_device();
	host_boot_devices(&host_a, "A", paths, 3);
	host_boot_devices(&host_b, "B", paths, 3);
	current_host = &host_a;
	assert_int_equal(famfs_identity(me), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(famfs_dev_open(paths[i], FAMFS_DEV_WRITE, &devs[i]), 0);
	assert_int_equal(famfs_mkfs_devices(devs, 2, 8 * MiB, FAMFS_ALLOC_UNIT, me), 0);
	for (int i = 0; i < 2; i++)
		famfs_dev_close(devs[i]);

	/* The client finds and opens the secondary the master's mkfs wrote. */
	current_host = &host_b;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_DEVICES, &c, NULL), 0);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 1);
	assert_int_equal(c->replay.bad_index, -1);
	assert_int_equal(c->ap.devs.ndevs, 2);
	assert_int_equal(famfs_image_devmask(c), 3);

	current_host = &host_a;
	assert_int_equal(famfs_image_open(img, FAMFS_FS_WRITE | FAMFS_FS_DEVICES, &m, NULL), 0);
	assert_int_equal(famfs_image_catch_up(m, NULL, NULL), 1);
	assert_int_equal(
	    famfs_image_mkfile(m, famfs_ns_root(m->ns), "big", 20 * MiB, 0644, 0, 0, NULL, &f), 0);
	assert_int_equal(node_devices(f->file), 1U << 1); /* on the secondary */
	assert_int_equal(
	    famfs_image_mkfile(m, famfs_ns_root(m->ns), "striped", 8 * MiB, 0644, 0, 0, &st, &f),
	    0);
	assert_int_equal(node_devices(f->file), 3);

	/* A third device joins while the client follows. */
	assert_int_equal(famfs_image_devadd(m, img3, FAMFS_DEVADD_SMALL, &idx), 0);
	assert_int_equal(idx, 2);

	current_host = &host_b;
	assert_int_equal(famfs_log_pending(c->fs, &c->replay), 1);
	assert_int_equal(famfs_image_catch_up(c, NULL, NULL), 3);
	assert_int_equal(c->replay.bad_index, -1);
	assert_int_equal(c->ap.devs.ndevs, 3);
	assert_int_equal(famfs_image_devmask(c), 7);
	same_namespace(m, c, 2);
	famfs_image_close(c);
	current_host = &host_a;
	famfs_image_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_follow),
	    cmocka_unit_test(test_retry),
	    cmocka_unit_test(test_torn_open),
	    cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
