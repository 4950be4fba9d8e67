// SPDX-License-Identifier: Apache-2.0
/*
 * fmap_harness: plays a famfs-enabled kernel against famfs_fused, with no
 * famfs kernel anywhere.
 *
 *   fmap_harness [--fused PATH] [--bench N] [--keep-logs] IMAGE MANIFEST
 *
 * The server is started on one end of a socketpair(AF_UNIX, SOCK_SEQPACKET)
 * given to it as /dev/fd/N (libfuse takes such a "mountpoint" as an already
 * open channel); this program holds the other end and sends raw FUSE
 * requests as the kernel would: INIT offering FUSE_DAX_FMAP, LOOKUP one
 * component at a time, OPEN, GET_FMAP with the size-negotiated retry,
 * GET_DAXDEV once per device index, READ, GETXATTR. Every GET_FMAP reply is
 * decoded with fmap_decode() / fmap_parse_size_reply() from fmap/, the
 * decoder the kernel module compiles. Every map is then proved right, not
 * only well formed: each file's every 2 MiB offset and its last byte are
 * resolved through the decoded map, read from the device GET_DAXDEV named,
 * and compared with the file the famfs file was copied from.
 *
 * MANIFEST: one line per famfs file, tab separated:
 *   PATH<TAB>SOURCE[<TAB>striped]
 * PATH is relative to the famfs root; SOURCE is the file it was copied from,
 * or seed:N:SIZE for a file written by `famfs creat --seed N -s SIZE`
 * (8-byte little-endian words, word k = N * (k + 1)); "striped" marks a
 * file made with --stripe, whose striped-mode fmap must be interleaved.
 *
 * Sessions (each a fresh server): famfs kernel with -o fmap=striped, the
 * same with -o fmap=unrolled, a kernel that does not offer the flag, a
 * pre-7.36 kernel, the flag without FUSE_INIT_EXT, -o nofmap, and a client
 * (another host identity) next to a running master, plus a second master
 * that the writer lock must refuse. Prints PASS/FAIL per case; exit status
 * 0 only if every case passed, 1 otherwise, 2 on usage errors.
 *
 * --bench N: instead of the cases, time N GET_FMAP round trips (1-extent,
 * striped, and unrolled-with-retry maps) against N GETATTR round trips on
 * the same channel, and print the rates and ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fused/opnames.h"
#include "famfs_kabi.h"
#include "fmap.h"
#include "format.h"

/* The famfs protocol extension (docs/protocol.md). */
#define OP_GET_FMAP	 54
#define OP_GET_DAXDEV	 55
#define DAX_FMAP_FLAG2	 (1U << 11) /* FUSE_DAX_FMAP = 1ULL << 43 */
#define DAXDEV_OUT_SIZE	 280
#define DAXDEV_NAME_OFF	 24
#define DAXDEV_NAME_MAX	 256
#define KPAGE		 4096	      /* the kernel's first GET_FMAP buffer: PAGE_SIZE */
#define STEP		 0x200000ULL  /* verify at every 2 MiB file offset */
#define READ_CHUNK	 (128 * 1024) /* READ size, as a kernel with max_pages 32 */
#define REPLY_TIMEOUT_MS 10000
#define START_TIMEOUT_MS 30000
#define NOPS		 64
#define MAXDEV		 8

/* -------------------------------------------------------------- results */

static int npass, nfail;

/* One reported case: PASS, or FAIL with the first problems seen. */
struct check {
	const char *session;
	char name[160];
	long n;	  /* things checked */
	long bad; /* of which wrong */
	char first[3][300];
};

static void check_init(struct check *c, const char *session, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check_init(struct check *c, const char *session, const char *fmt, ...)
{
	va_list ap;

	memset(c, 0, sizeof(*c));
	c->session = session;
	va_start(ap, fmt);
	vsnprintf(c->name, sizeof(c->name), fmt, ap);
	va_end(ap);
}

/* Record one checked item; @ok false records why (printf-style). */
static bool check_item(struct check *c, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool check_item(struct check *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	c->n++;
	if (ok)
		return true;
	if (c->bad < 3) {
		va_start(ap, fmt);
		vsnprintf(c->first[c->bad], sizeof(c->first[0]), fmt, ap);
		va_end(ap);
	}
	c->bad++;
	return false;
}

/* Print the case; a case that checked nothing fails (it proves nothing). */
static bool check_done(struct check *c, const char *extra)
{
	bool ok = c->bad == 0 && c->n > 0;

	if (ok) {
		npass++;
		printf("PASS  [%s] %s%s%s\n", c->session, c->name, extra ? " " : "",
		       extra ? extra : "");
	} else {
		nfail++;
		printf("FAIL  [%s] %s: %s\n", c->session, c->name,
		       c->n == 0 ? "nothing was checked" : "");
		for (long i = 0; i < c->bad && i < 3; i++)
			printf("        %s\n", c->first[i]);
		if (c->bad > 3)
			printf("        ... and %ld more\n", c->bad - 3);
	}
	fflush(stdout);
	return ok;
}

/* A single-item case. */
static bool verdict(const char *session, bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool verdict(const char *session, bool ok, const char *name, const char *fmt, ...)
{
	struct check c;
	char why[300] = "";
	va_list ap;

	check_init(&c, session, "%s", name);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	check_item(&c, ok, "%s", why);
	return check_done(&c, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- manifest */

struct entry {
	char *path;	   /* relative to the famfs root */
	char *src;	   /* source file, or NULL for a seed pattern */
	uint64_t seed;	   /* seed pattern */
	uint64_t size;	   /* expected size in bytes */
	bool striped;	   /* made with --stripe */
	uint8_t *data;	   /* source bytes (files) */
	uint64_t *devoff;  /* striped session: device offset of every 2 MiB file offset */
	uint64_t chunk;	   /* striped session: interleave chunk size, 0 if simple */
	bool interleaved;  /* striped session: the fmap was interleaved */
	bool seen_striped; /* devoff/chunk are filled */
	bool known_4k;	   /* 4 KiB-unit image: its map was seen by a 4 KiB kernel ... */
	bool aligned_2m;   /* ... and a 2 MiB kernel could take it (fmap_aligned) */
};

static struct entry *ents;
static size_t nents;

static int load_manifest(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t cap = 0;

	if (!f) {
		fprintf(stderr, "fmap_harness: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *p, *s, *fl;
		struct entry e = {0};

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		p = strtok_r(line, "\t", &save);
		s = strtok_r(NULL, "\t", &save);
		fl = strtok_r(NULL, "\t", &save);
		if (!p || !s) {
			fprintf(stderr, "fmap_harness: %s: bad line (PATH<TAB>SOURCE)\n", path);
			fclose(f);
			return -1;
		}
		e.path = strdup(p);
		e.striped = fl && !strcmp(fl, "striped");
		if (!strncmp(s, "seed:", 5)) {
			char *end;

			e.seed = strtoull(s + 5, &end, 0);
			if (*end != ':' || !e.seed) {
				fprintf(stderr, "fmap_harness: %s: bad seed source %s\n", path, s);
				fclose(f);
				return -1;
			}
			e.size = strtoull(end + 1, NULL, 0);
		} else {
			int fd = open(s, O_RDONLY | O_CLOEXEC);
			struct stat st;

			if (fd < 0 || fstat(fd, &st)) {
				fprintf(stderr, "fmap_harness: %s: %s\n", s, strerror(errno));
				fclose(f);
				return -1;
			}
			e.src = strdup(s);
			e.size = (uint64_t)st.st_size;
			e.data = malloc(e.size ? e.size : 1);
			if (!e.data ||
			    (e.size && pread(fd, e.data, e.size, 0) != (ssize_t)e.size)) {
				fprintf(stderr, "fmap_harness: %s: cannot read\n", s);
				fclose(f);
				close(fd);
				return -1;
			}
			close(fd);
		}
		if (nents == cap) {
			cap = cap ? cap * 2 : 256;
			ents = realloc(ents, cap * sizeof(*ents));
			if (!ents)
				abort();
		}
		ents[nents++] = e;
	}
	fclose(f);
	return 0;
}

/* The source's bytes [off, off + n). */
static void src_bytes(const struct entry *e, uint64_t off, uint8_t *buf, size_t n)
{
	if (e->data) {
		memcpy(buf, e->data + off, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t o = off + i, w = e->seed * (o / 8 + 1);

		buf[i] = (uint8_t)(w >> (8 * (o % 8)));
	}
}

/* --------------------------------------------------------------- server */

static const char *fused_path, *image_path;
static uint64_t image_size, meta_end, log_len;
/* 4 KiB allocation units (issue 13): the kernel played says it maps extents
 * aligned to 1 << k_align_shift (0: says nothing, 2 MiB, every older kernel). */
static bool unit_4k;
static uint8_t k_align_shift;
static long n_enodata; /* GET_FMAP answered ENODATA (a map this kernel cannot take) */
static bool keep_logs;

struct srv {
	const char *name;
	pid_t pid;
	int fd;
	uint64_t unique;
	uint64_t sent[NOPS], sent_other;
	unsigned long notifications;
	bool dead; /* no reply in time or the channel broke: fail fast from now on */
	char log[64];
	uint8_t *rbuf;
	size_t rcap;
	int devfd[MAXDEV]; /* devices opened from GET_DAXDEV replies, -1 if not yet */
	struct {
		char *path;
		uint64_t nodeid;
	} dirs[512]; /* dentry cache: directory path -> nodeid */
	int ndirs;
};

struct rep {
	int error; /* fuse_out_header.error: 0 or -errno */
	uint32_t len;
	const uint8_t *data;
};

/*
 * Is @r the answer to a LOOKUP of a name that does not exist? ENOENT, or
 * (a master, where names appear only through the kernel's own creates) a
 * negative entry: nodeid 0, which the kernel may keep for entry_valid.
 */
static bool missing(const struct rep *r)
{
	struct fuse_entry_out eo;

	if (r->error)
		return r->error == -ENOENT;
	if (r->len != sizeof(eo))
		return false;
	memcpy(&eo, r->data, sizeof(eo));
	return eo.nodeid == 0;
}

/* Enlarge the socket buffers so 1 MiB messages fit (best effort). */
static void big_buffers(int fd)
{
	int sz = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/*
 * Start famfs_fused -f [-o OPTS] IMAGE /dev/fd/N. @identity: a host identity
 * file for FAMFS_SYSTEM_UUID_FILE, or NULL to inherit ours.
 */
static int srv_start(struct srv *s, const char *name, const char *opts, const char *identity)
{
	int sv[2], logfd;

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->fd = -1;
	for (int i = 0; i < MAXDEV; i++)
		s->devfd[i] = -1;
	s->rcap = FMAP_MSG_MAX + 2 * READ_CHUNK;
	s->rbuf = malloc(s->rcap);
	snprintf(s->log, sizeof(s->log), "/tmp/fmap_harness.XXXXXX");
	logfd = mkstemp(s->log);
	if (!s->rbuf || logfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		perror("fmap_harness: setup");
		return -1;
	}
	big_buffers(sv[0]);
	big_buffers(sv[1]);
	s->pid = fork();
	if (s->pid < 0) {
		perror("fmap_harness: fork");
		return -1;
	}
	if (s->pid == 0) {
		char chan[32], *argv[8];
		int a = 0;

		fcntl(sv[1], F_SETFD, 0); /* the server's end survives exec */
		snprintf(chan, sizeof(chan), "/dev/fd/%d", sv[1]);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (identity)
			setenv("FAMFS_SYSTEM_UUID_FILE", identity, 1);
		argv[a++] = (char *)fused_path;
		argv[a++] = "-f";
		if (opts) {
			argv[a++] = "-o";
			argv[a++] = (char *)opts;
		}
		argv[a++] = (char *)image_path;
		argv[a++] = chan;
		argv[a] = NULL;
		execv(fused_path, argv);
		_exit(127);
	}
	close(logfd);
	close(sv[1]);
	s->fd = sv[0];
	return 0;
}

/* Print the server's log, indented (after a failure). */
static void srv_show_log(const struct srv *s)
{
	FILE *f = fopen(s->log, "r");
	char line[512];
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 40)
		printf("        | %s", line);
	fclose(f);
}

/*
 * Close the channel (what an unmount looks like to the server) and require
 * a clean exit within 10 s: not a signal, status 0. Returns true if so.
 */
static bool srv_stop(struct srv *s, bool report)
{
	int status = 0;
	pid_t got = 0;
	bool ok;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	for (int i = 0; i < 1000 && (got = waitpid(s->pid, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	if (got == 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		if (report)
			verdict(s->name, false, "server exits when the channel closes",
				"still running after 10 s (killed)");
		ok = false;
	} else {
		ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (report)
			verdict(s->name, ok, "server exits cleanly when the channel closes",
				"%s %d", WIFSIGNALED(status) ? "killed by signal" : "exit status",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	for (int i = 0; i < MAXDEV; i++)
		if (s->devfd[i] >= 0)
			close(s->devfd[i]);
	for (int i = 0; i < s->ndirs; i++)
		free(s->dirs[i].path);
	free(s->rbuf);
	if (!keep_logs)
		unlink(s->log);
	return ok;
}

static void count_sent(struct srv *s, uint32_t opcode)
{
	if (opcode < NOPS)
		s->sent[opcode]++;
	else
		s->sent_other++;
}

/* Wait for the reply to @unique; notifications (unique 0) are skipped. */
static int srv_recv(struct srv *s, uint64_t unique, struct rep *r, int timeout_ms)
{
	double deadline = now() + timeout_ms / 1000.0;

	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		int left = (int)((deadline - now()) * 1000), rc;
		const struct fuse_out_header *oh = (const void *)s->rbuf;
		ssize_t n;

		if (left < 0)
			left = 0;
		rc = poll(&p, 1, left);
		if (rc == 0) {
			s->dead = true;
			return -ETIMEDOUT;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 || !(p.revents & POLLIN)) {
			s->dead = true;
			return -EPIPE;
		}
		n = recv(s->fd, s->rbuf, s->rcap, MSG_TRUNC);
		if (n <= 0) {
			s->dead = true;
			return -EPIPE;
		}
		if ((size_t)n > s->rcap || n < (ssize_t)sizeof(*oh) || oh->len != (uint32_t)n)
			return -EPROTO; /* truncated, runt, or a header that lies about its length
					 */
		if (oh->unique == 0) {
			s->notifications++;
			continue;
		}
		if (oh->unique != unique)
			return -EPROTO;
		r->error = oh->error;
		r->len = (uint32_t)n - (uint32_t)sizeof(*oh);
		r->data = s->rbuf + sizeof(*oh);
		if (r->error > 0 || r->error < -4095 || (r->error && r->len))
			return -EPROTO; /* errors are negative errnos with no payload */
		return 0;
	}
}

/* Send raw bytes (a request of any shape) whose header says @unique. */
static int srv_send_raw(struct srv *s, const void *msg, size_t len)
{
	if (s->dead)
		return -EPIPE;
	if (send(s->fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		s->dead = true;
		return -EPIPE;
	}
	return 0;
}

/*
 * One request and its reply, as the kernel sends it: header + @a (@alen) +
 * @b (@blen). Returns 0 with the reply in @r, or -ETIMEDOUT / -EPIPE /
 * -EPROTO when the server broke the protocol (then @r is untouched).
 */
static int xfer(struct srv *s, uint32_t opcode, uint64_t nodeid, const void *a, size_t alen,
		const void *b, size_t blen, struct rep *r)
{
	struct fuse_in_header h = {
	    .len = (uint32_t)(sizeof(h) + alen + blen),
	    .opcode = opcode,
	    .unique = (s->unique += 2),
	    .nodeid = nodeid,
	    .pid = (uint32_t)getpid(),
	};
	struct iovec iov[3] = {{&h, sizeof(h)}, {(void *)a, alen}, {(void *)b, blen}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};

	if (s->dead)
		return -EPIPE;
	count_sent(s, opcode);
	if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) != (ssize_t)h.len) {
		s->dead = true;
		return -EPIPE;
	}
	return srv_recv(s, h.unique, r, opcode == FUSE_INIT ? START_TIMEOUT_MS : REPLY_TIMEOUT_MS);
}

static const char *xfer_err(int rc)
{
	return rc == -ETIMEDOUT ? "no reply within the timeout"
	       : rc == -EPIPE	? "the channel broke (server gone?)"
				: "malformed reply";
}

/* -------------------------------------------------------- kernel steps */

struct init_res {
	uint32_t major, minor, flags, flags2, max_write;
	int error;
};

/*
 * FUSE_INIT as a kernel of version 7.@minor sends it; @inlen is 16 for
 * kernels before 7.36 (no flags2), else sizeof(struct fuse_init_in).
 */
static int kinit(struct srv *s, uint32_t minor, uint32_t flags, uint32_t flags2, size_t inlen,
		 struct init_res *res)
{
	struct fuse_init_in in = {
	    .major = FUSE_KERNEL_VERSION,
	    .minor = minor,
	    .max_readahead = 128 * 1024,
	    .flags = flags,
	    .flags2 = flags2,
	};
	struct fuse_init_out out = {0};
	struct rep r;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xfer(s, FUSE_INIT, 0, &in, inlen, NULL, 0, &r);
	if (rc)
		return rc;
	res->error = r.error;
	if (r.error)
		return 0;
	if (r.len < FUSE_COMPAT_22_INIT_OUT_SIZE)
		return -EPROTO;
	memcpy(&out, r.data, r.len < sizeof(out) ? r.len : sizeof(out));
	res->major = out.major;
	res->minor = out.minor;
	res->flags = out.flags;
	res->flags2 = r.len >= offsetof(struct fuse_init_out, flags2) + 4 ? out.flags2 : 0;
	res->max_write = out.max_write;
	return 0;
}

/* What a 6.x kernel offers (without splice, security contexts, DAX). */
#define KFLAGS                                                                                     \
	(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |          \
	 FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |           \
	 FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE | FUSE_PARALLEL_DIROPS |    \
	 FUSE_MAX_PAGES)

/* A directory's nodeid from the dentry cache, or 0. */
static uint64_t dcache_get(const struct srv *s, const char *path, size_t len)
{
	for (int i = 0; i < s->ndirs; i++)
		if (strlen(s->dirs[i].path) == len && !memcmp(s->dirs[i].path, path, len))
			return s->dirs[i].nodeid;
	return 0;
}

static void dcache_put(struct srv *s, const char *path, size_t len, uint64_t nodeid)
{
	if (s->ndirs < (int)(sizeof(s->dirs) / sizeof(s->dirs[0]))) {
		s->dirs[s->ndirs].path = strndup(path, len);
		s->dirs[s->ndirs++].nodeid = nodeid;
	}
}

/*
 * LOOKUP @path component by component from the root, as path walk does
 * (directories are remembered). Returns 0 with the entry in @eo, a negative
 * errno the server replied, or an xfer() failure (@why says which).
 */
static int klookup(struct srv *s, const char *path, struct fuse_entry_out *eo, char *why,
		   size_t whylen)
{
	uint64_t parent = FUSE_ROOT_ID;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		uint64_t cached = slash ? dcache_get(s, path, (size_t)(slash - path)) : 0;
		char name[256];
		struct rep r;
		int rc;

		if (cached) {
			parent = cached;
			p = slash + 1;
			continue;
		}
		if (n >= sizeof(name)) {
			snprintf(why, whylen, "component too long");
			return -ENAMETOOLONG;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		rc = xfer(s, FUSE_LOOKUP, parent, name, n + 1, NULL, 0, &r);
		if (rc) {
			snprintf(why, whylen, "LOOKUP %s: %s", name, xfer_err(rc));
			return rc;
		}
		if (r.error) {
			snprintf(why, whylen, "LOOKUP %s: %s", name, strerror(-r.error));
			return r.error;
		}
		if (r.len != sizeof(*eo)) {
			snprintf(why, whylen, "LOOKUP %s: reply of %u bytes, expected %zu", name,
				 r.len, sizeof(*eo));
			return -EPROTO;
		}
		memcpy(eo, r.data, sizeof(*eo));
		if (!slash)
			return 0;
		dcache_put(s, path, (size_t)(slash - path), eo->nodeid);
		parent = eo->nodeid;
		p = slash + 1;
	}
}

static int kopen(struct srv *s, uint64_t nodeid, uint64_t *fh)
{
	struct fuse_open_in in = {.flags = O_RDONLY};
	struct fuse_open_out out;
	struct rep r;
	int rc = xfer(s, FUSE_OPEN, nodeid, &in, sizeof(in), NULL, 0, &r);

	if (rc)
		return rc;
	if (r.error)
		return r.error;
	if (r.len != sizeof(out))
		return -EPROTO;
	memcpy(&out, r.data, sizeof(out));
	*fh = out.fh;
	return 0;
}

static void krelease(struct srv *s, uint64_t nodeid, uint64_t fh)
{
	struct fuse_release_in in = {.fh = fh, .flags = O_RDONLY};
	struct rep r;

	xfer(s, FUSE_RELEASE, nodeid, &in, sizeof(in), NULL, 0, &r);
}

/* GET_FMAP with an input of @inlen bytes (0: none) whose first u32 is @size. */
static int get_fmap_raw(struct srv *s, uint64_t nodeid, uint32_t size, size_t inlen,
			uint32_t padding, struct rep *r)
{
	uint8_t in[16] = {0};

	memcpy(in, &size, 4);
	memcpy(in + 4, &padding, 4);
	return xfer(s, OP_GET_FMAP, nodeid, in, inlen, NULL, 0, r);
}

struct fmap_trip {
	int rounds;	 /* GET_FMAP requests sent */
	uint32_t needed; /* size from a 4-byte reply, 0 if none */
	uint32_t len;	 /* length of the fmap message finally received */
};

/*
 * The kernel's GET_FMAP: a PAGE_SIZE buffer; a reply of exactly 4 bytes is
 * the size needed: reallocate and retry once; a second too-small reply, or
 * one asking for no more than was offered, is -EIO. The reply is decoded
 * with fmap_decode(). Returns 0 (map in *@out, message copied to @msg if
 * not NULL, @msgcap bytes), a negative errno the server replied, -EIO, or an
 * xfer() failure; @why says what went wrong.
 */
static int kget_fmap(struct srv *s, uint64_t nodeid, struct fmap **out, struct fmap_trip *t,
		     uint8_t *msg, size_t msgcap, char *why, size_t whylen)
{
	uint32_t bufsize = KPAGE;
	const char *dwhy = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	for (;;) {
		struct rep r;

		t->rounds++;
		rc = get_fmap_raw(s, nodeid, bufsize, 8, k_align_shift, &r);
		if (rc) {
			snprintf(why, whylen, "GET_FMAP: %s", xfer_err(rc));
			return rc;
		}
		if (r.error) {
			snprintf(why, whylen, "GET_FMAP: error %d (%s)", r.error,
				 strerror(-r.error));
			return r.error;
		}
		if (r.len > bufsize) {
			snprintf(why, whylen,
				 "GET_FMAP: %u-byte reply overflows the %u-byte buffer", r.len,
				 bufsize);
			return -EIO;
		}
		if (r.len == FMAP_SIZE_REPLY) {
			uint32_t needed;

			if (fmap_parse_size_reply(r.data, r.len, &needed)) {
				snprintf(why, whylen, "GET_FMAP: bad size reply");
				return -EIO;
			}
			if (t->rounds > 1 || needed <= bufsize) {
				snprintf(why, whylen,
					 "GET_FMAP: too-small reply (needs %u) to a %u-byte buffer "
					 "%s",
					 needed, bufsize,
					 t->rounds > 1 ? "on the retry" : "that was big enough");
				return -EIO;
			}
			t->needed = needed;
			bufsize = needed;
			continue;
		}
		t->len = r.len;
		if (t->needed && r.len != t->needed) {
			snprintf(why, whylen, "GET_FMAP: retry got %u bytes, server asked for %u",
				 r.len, t->needed);
			return -EIO;
		}
		if (k_align_shift) {
			struct fmap_diag d;

			rc = fmap_decode_align(r.data, r.len, 1ULL << k_align_shift, out, &d);
			dwhy = d.why;
		} else {
			rc = fmap_decode(r.data, r.len, out, &dwhy);
		}
		if (rc) {
			snprintf(why, whylen, "fmap_decode: %d (%s)", rc, dwhy ? dwhy : "?");
			return -EIO;
		}
		if (msg && r.len <= msgcap)
			memcpy(msg, r.data, r.len);
		return 0;
	}
}

/*
 * GET_DAXDEV for @index unless this connection has it already; opens the
 * device node the reply names (as the kernel does) and requires it to be
 * the image. Returns the fd or a negative errno.
 */
static int kdaxdev(struct srv *s, uint32_t index, char *why, size_t whylen)
{
	struct stat a, b;
	char name[DAXDEV_NAME_MAX + 1];
	struct rep r;
	int rc, fd;

	if (index >= MAXDEV) {
		snprintf(why, whylen, "device index %u", index);
		return -ENODEV;
	}
	if (s->devfd[index] >= 0)
		return s->devfd[index];
	rc = xfer(s, OP_GET_DAXDEV, index, NULL, 0, NULL, 0, &r);
	if (rc || r.error) {
		snprintf(why, whylen, "GET_DAXDEV %u: %s", index,
			 rc ? xfer_err(rc) : strerror(-r.error));
		return rc ? rc : r.error;
	}
	if (r.len != DAXDEV_OUT_SIZE || !memchr(r.data + DAXDEV_NAME_OFF, '\0', DAXDEV_NAME_MAX)) {
		snprintf(why, whylen, "GET_DAXDEV %u: %u-byte reply or name not terminated", index,
			 r.len);
		return -EPROTO;
	}
	memcpy(name, r.data + DAXDEV_NAME_OFF, DAXDEV_NAME_MAX);
	name[DAXDEV_NAME_MAX] = '\0';
	{
		uint16_t got;

		memcpy(&got, r.data, sizeof(got));
		if (got != index || name[0] != '/') { /* what the kernel module requires */
			snprintf(why, whylen, "GET_DAXDEV %u: reply index %u, name \"%s\"", index,
				 got, name);
			return -EPROTO;
		}
	}
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &a) || stat(image_path, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		snprintf(why, whylen, "GET_DAXDEV %u names \"%s\", not the image", index, name);
		if (fd >= 0)
			close(fd);
		return -ENODEV;
	}
	s->devfd[index] = fd;
	return fd;
}

/* ----------------------------------------------------- proving the maps */

static uint8_t *devbuf, *srcbuf;

/*
 * Resolve [off, off + n) of @e through @m piece by piece, read each piece
 * from its device and compare with the source. Returns 0 or -1 (@why).
 * @first: device offset of @off, if not NULL.
 */
static int prove_range(struct srv *s, const struct entry *e, const struct fmap *m, uint64_t off,
		       uint64_t n, uint64_t *first, char *why, size_t whylen)
{
	uint64_t pos = off;

	while (pos < off + n) {
		struct fmap_loc loc;
		uint64_t k;
		int fd, rc = fmap_resolve(m, pos, &loc);

		if (rc) {
			snprintf(why, whylen, "resolve(%" PRIu64 ") = %d", pos, rc);
			return -1;
		}
		if (pos == off && first)
			*first = loc.offset;
		k = off + n - pos < loc.len ? off + n - pos : loc.len;
		if (loc.len == 0 || loc.offset < meta_end || loc.offset > image_size ||
		    k > image_size - loc.offset) {
			snprintf(why, whylen,
				 "offset %" PRIu64 " resolves to [%#" PRIx64 ", +%#" PRIx64
				 ") outside the data area [%#" PRIx64 ", %#" PRIx64 ")",
				 pos, loc.offset, loc.len, meta_end, image_size);
			return -1;
		}
		fd = kdaxdev(s, loc.devindex, why, whylen);
		if (fd < 0)
			return -1;
		if (pread(fd, devbuf, k, (off_t)loc.offset) != (ssize_t)k) {
			snprintf(why, whylen, "pread of the image at %#" PRIx64 " failed",
				 loc.offset);
			return -1;
		}
		src_bytes(e, pos, srcbuf, k);
		if (memcmp(devbuf, srcbuf, k)) {
			uint64_t i = 0;

			while (devbuf[i] == srcbuf[i])
				i++;
			snprintf(why, whylen,
				 "byte %" PRIu64 " (device %#" PRIx64 ") is %#x, source has %#x",
				 pos + i, loc.offset + i, devbuf[i], srcbuf[i]);
			return -1;
		}
		pos += k;
	}
	return 0;
}

/*
 * Prove @m is @e's map: the size and type are right, and every 2 MiB offset
 * (each followed to the next 2 MiB boundary, so every byte) and the last
 * byte resolve to the source's bytes; nothing resolves at file_size.
 * Device offsets of the 2 MiB offsets go to @devoff (n = ceil(size/2M)).
 */
static int prove_map(struct srv *s, const struct entry *e, const struct fmap *m, uint64_t *devoff,
		     long *offsets, char *why, size_t whylen)
{
	struct fmap_loc loc;

	if (m->file_size != e->size || m->file_type != FMAP_FILE_REGULAR) {
		snprintf(why, whylen, "fmap says size %" PRIu64 " type %u, expected %" PRIu64 " 0",
			 m->file_size, m->file_type, e->size);
		return -1;
	}
	for (uint64_t off = 0, i = 0; off < e->size; off += STEP, i++) {
		uint64_t n = e->size - off < STEP ? e->size - off : STEP;

		if (prove_range(s, e, m, off, n, devoff ? &devoff[i] : NULL, why, whylen))
			return -1;
		(*offsets)++;
	}
	if (e->size) {
		if (prove_range(s, e, m, e->size - 1, 1, NULL, why, whylen))
			return -1;
		(*offsets)++;
	}
	if (fmap_resolve(m, e->size, &loc) != -ERANGE) {
		snprintf(why, whylen, "resolve(file_size) did not fail with -ERANGE");
		return -1;
	}
	return 0;
}

/* READ [off, off + len) through the server and compare with the source. */
static int read_compare(struct srv *s, const struct entry *e, uint64_t nodeid, uint64_t fh,
			uint64_t off, uint64_t len, char *why, size_t whylen)
{
	uint64_t end = off + len;

	for (; off <= end; off += READ_CHUNK) {
		struct fuse_read_in in = {.fh = fh, .offset = off, .size = READ_CHUNK};
		uint64_t want = off >= e->size		     ? 0
				: e->size - off < READ_CHUNK ? e->size - off
							     : READ_CHUNK;
		struct rep r;
		int rc = xfer(s, FUSE_READ, nodeid, &in, sizeof(in), NULL, 0, &r);

		if (rc || r.error) {
			snprintf(why, whylen, "READ at %" PRIu64 ": %s", off,
				 rc ? xfer_err(rc) : strerror(-r.error));
			return -1;
		}
		if (r.len != want) {
			snprintf(why, whylen, "READ at %" PRIu64 ": %u bytes, expected %" PRIu64,
				 off, r.len, want);
			return -1;
		}
		src_bytes(e, off, srcbuf, want);
		if (memcmp(r.data, srcbuf, want)) {
			snprintf(why, whylen, "READ at %" PRIu64 ": bytes differ from the source",
				 off);
			return -1;
		}
		if (want < READ_CHUNK)
			break; /* EOF reached (and a READ at EOF returned 0 bytes) */
	}
	return 0;
}

/* ----------------------------------------------------------- stats */

/* GETXATTR @name on @nodeid into @buf (NUL-terminated). Returns length or -errno. */
static int kgetxattr(struct srv *s, uint64_t nodeid, const char *name, char *buf, size_t cap)
{
	struct fuse_getxattr_in in = {.size = (uint32_t)(cap - 1)};
	struct rep r;
	int rc = xfer(s, FUSE_GETXATTR, nodeid, &in, sizeof(in), name, strlen(name) + 1, &r);

	if (rc)
		return rc;
	if (r.error)
		return r.error;
	if (r.len >= cap)
		return -EPROTO;
	memcpy(buf, r.data, r.len);
	buf[r.len] = '\0';
	return (int)r.len;
}

/*
 * user.famfs.stats on the root: the negotiation state must be @state, and
 * every opcode count must equal what this connection sent.
 */
static void check_stats(struct srv *s, const char *state)
{
	static char text[65536];
	struct check c;
	bool seen[NOPS] = {0}, seen_other = false;
	char *save = NULL;
	int rc;

	check_init(&c, s->name, "user.famfs.stats: \"fmap %s\", every opcode count = requests sent",
		   state);
	rc = kgetxattr(s, FUSE_ROOT_ID, "user.famfs.stats", text, sizeof(text));
	if (!check_item(&c, rc > 0, "GETXATTR: %d", rc)) {
		check_done(&c, NULL);
		return;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long v;
		int op = -1;

		if (!strncmp(l, "fmap ", 5)) {
			check_item(&c, !strcmp(l + 5, state), "server says \"%s\"", l);
			continue;
		}
		if (!strncmp(l, "data ", 5))
			continue;
		if (sscanf(l, "%63s %lu", name, &v) != 2) {
			check_item(&c, false, "unparsable line \"%s\"", l);
			continue;
		}
		if (!strcmp(name, "OTHER")) {
			seen_other = true;
			check_item(&c, v == s->sent_other, "OTHER %lu, sent %" PRIu64, v,
				   s->sent_other);
			continue;
		}
		for (int i = 0; i < NOPS; i++)
			if (fused_opnames[i] && !strcmp(fused_opnames[i], name))
				op = i;
		if (op < 0 && sscanf(name, "OP%d", &op) != 1)
			op = -1;
		if (!check_item(&c, op >= 0 && op < NOPS, "unknown counter \"%s\"", name))
			continue;
		seen[op] = true;
		check_item(&c, v == s->sent[op], "%s: server counted %lu, harness sent %" PRIu64,
			   name, v, s->sent[op]);
	}
	for (int i = 0; i < NOPS; i++)
		if (s->sent[i])
			check_item(&c, seen[i],
				   "opcode %d sent %" PRIu64 " times, not in the stats", i,
				   s->sent[i]);
	check_item(&c, seen_other, "no OTHER line");
	check_done(&c, NULL);
}

/* ----------------------------------------------------------- sessions */

/* INIT as a famfs kernel: FUSE_INIT_EXT and FUSE_DAX_FMAP offered, both accepted. */
static bool init_famfs(struct srv *s)
{
	struct init_res ir;
	int rc = kinit(s, FUSE_KERNEL_MINOR_VERSION, KFLAGS | FUSE_INIT_EXT, DAX_FMAP_FLAG2,
		       sizeof(struct fuse_init_in), &ir);
	bool ok;

	if (rc)
		memset(&ir, 0, sizeof(ir));
	ok = !rc && !ir.error && ir.major == 7 && (ir.flags & FUSE_INIT_EXT) &&
	     (ir.flags2 & DAX_FMAP_FLAG2) && !(ir.flags & FUSE_WRITEBACK_CACHE);

	verdict(s->name, ok, "INIT offering FUSE_DAX_FMAP: reply has FUSE_INIT_EXT + flags2 bit 11",
		"%s error %d, %u.%u flags %#x flags2 %#x", rc ? xfer_err(rc) : "", ir.error,
		ir.major, ir.minor, ir.flags, ir.flags2);
	if (!ok)
		srv_show_log(s);
	return ok;
}

/* A file node looked up and opened, with its fmap. */
struct opened {
	uint64_t nodeid, fh;
	struct fmap *m;
	struct fmap_trip trip;
	uint8_t msg[FMAP_MSG_MAX > 65536 ? 65536 : FMAP_MSG_MAX];
};

/* The first manifest entry that matches: striped or not, smallest/largest. */
static const struct entry *pick(bool striped, bool largest)
{
	const struct entry *best = NULL;

	for (size_t i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];

		if (e->striped != striped || (!striped && e->size == 0))
			continue;
		if (!best || (largest ? e->size > best->size : e->size < best->size))
			best = e;
	}
	return best;
}

/* A device range some file's fmap maps (for the overlap check). */
struct span {
	uint64_t off, len;
	size_t who; /* manifest index */
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Every manifest file through a famfs kernel: LOOKUP (size), OPEN, GET_FMAP
 * (decoded, retried when the server asks), GET_DAXDEV, every 2 MiB offset
 * proved against the source, a READ through the server, RELEASE.
 * @unrolled: the server runs -o fmap=unrolled.
 */
/*
 * The 4 KiB-unit placement rule on a decoded map: extents hold the size
 * rounded up to 4 KiB; a file of 2 MiB or more has every extent 2 MiB-
 * aligned and every one but the last whole 2 MiB (striped: aligned strips).
 */
static bool placed_4k(const struct entry *e, const struct fmap *m)
{
	uint64_t total = 0;

	if (m->ext_type == FMAP_EXT_INTERLEAVE) {
		for (uint32_t i = 0; i < m->nstrips_total; i++)
			if (m->ext[i].offset % STEP)
				return false;
		return true;
	}
	for (uint32_t i = 0; i < m->nextents; i++) {
		total += m->ext[i].len;
		if (e->size >= STEP &&
		    (m->ext[i].offset % STEP || (i + 1 < m->nextents && m->ext[i].len % STEP)))
			return false;
	}
	return total == (e->size ? (e->size + 4095) / 4096 * 4096 : 4096);
}

static void all_files(struct srv *s, bool unrolled)
{
	struct check lk, gf, st, pr, rd, un, xs;
	long offsets = 0, retries = 0, bigmaps = 0;
	char why[400];

	check_init(&lk, s->name, "LOOKUP each component + OPEN: every file, size = source size");
	check_init(&gf, s->name, "GET_FMAP (PAGE_SIZE buffer, retry once if asked) + fmap_decode");
	check_init(&st, s->name, "%s",
		   unrolled ? "unrolled: every fmap is simple extents; striped files get one "
			      "uniform extent per chunk"
			    : "files made with --stripe get an interleaved fmap");
	check_init(&pr, s->name,
		   "every 2 MiB offset + last byte: resolve -> pread(device) == source bytes");
	check_init(&rd, s->name, "READ through the server (first 128 KiB + EOF) == source");
	check_init(&un, s->name, "unrolled and striped fmaps resolve to the same device offsets");
	check_init(&xs, s->name, "no two files' extents overlap (nor the superblock/log)");

	struct span *spans = NULL;
	size_t nspans = 0, capspans = 0;

	for (size_t i = 0; i < nents && !s->dead; i++) {
		struct entry *e = &ents[i];
		struct fuse_entry_out eo;
		struct fmap_trip t;
		struct fmap *m = NULL;
		uint64_t fh, nsteps = (e->size + STEP - 1) / STEP;
		uint64_t *devoff = calloc(nsteps + 1, sizeof(uint64_t));
		int rc;

		rc = klookup(s, e->path, &eo, why, sizeof(why));
		if (!check_item(&lk, rc == 0, "%s: %s", e->path, why)) {
			free(devoff);
			continue;
		}
		check_item(&lk, S_ISREG(eo.attr.mode) && eo.attr.size == e->size,
			   "%s: mode %o size %" PRIu64 ", source size %" PRIu64, e->path,
			   eo.attr.mode, (uint64_t)eo.attr.size, e->size);
		rc = kopen(s, eo.nodeid, &fh);
		if (!check_item(&lk, rc == 0, "%s: OPEN: %d", e->path, rc)) {
			free(devoff);
			continue;
		}
		rc = kget_fmap(s, eo.nodeid, &m, &t, NULL, 0, why, sizeof(why));
		if (rc == -ENODATA && unit_4k && !k_align_shift) {
			/* A 4 KiB-unit file a 2 MiB kernel cannot map: the server serves it. */
			n_enodata++;
			check_item(&gf, e->known_4k && !e->aligned_2m,
				   "%s: ENODATA, but its map is 2 MiB-aligned (or was never seen)",
				   e->path);
		} else if (check_item(&gf, rc == 0, "%s: %s", e->path, why)) {
			if (unit_4k && k_align_shift) {
				e->known_4k = true;
				e->aligned_2m = fmap_aligned(m, FMAP_ALIGN);
				check_item(&gf, placed_4k(e, m),
					   "%s: %" PRIu64
					   " bytes not placed by the 4 KiB-unit rule",
					   e->path, e->size);
			}
			retries += t.needed != 0;
			bigmaps += t.len > KPAGE;
			check_item(&gf, !t.needed || t.len > KPAGE, "%s: retry asked for %u bytes",
				   e->path, t.needed);
			if (unrolled) {
				bool okk = m->ext_type == FMAP_EXT_SIMPLE;

				if (okk && e->seen_striped && e->interleaved) {
					uint64_t want = (e->size + e->chunk - 1) / e->chunk;

					okk = m->nextents == (want ? want : 1) &&
					      (m->nextents == 1 ||
					       m->uniform_shift ==
						   (uint32_t)__builtin_ctzll(e->chunk));
				}
				check_item(&st, okk, "%s: ext_type %u nextents %u uniform_shift %u",
					   e->path, m->ext_type, m->nextents, m->uniform_shift);
			} else if (e->striped) {
				check_item(&st, m->ext_type == FMAP_EXT_INTERLEAVE,
					   "%s: ext_type %u, expected interleave", e->path,
					   m->ext_type);
			}
			rc = prove_map(s, e, m, devoff, &offsets, why, sizeof(why));
			check_item(&pr, rc == 0, "%s: %s", e->path, why);
			if (rc == 0 && !unrolled) {
				free(e->devoff);
				e->devoff = devoff;
				devoff = NULL;
				e->interleaved = m->ext_type == FMAP_EXT_INTERLEAVE;
				e->chunk = e->interleaved ? m->iext[0].chunk_size : 0;
				e->seen_striped = true;
				/* every extent/strip, for the overlap check */
				uint32_t nx = e->interleaved ? m->nstrips_total : m->nextents;

				for (uint32_t x = 0; x < nx; x++) {
					if (nspans == capspans) {
						capspans = capspans ? capspans * 2 : 1024;
						spans = realloc(spans, capspans * sizeof(*spans));
						if (!spans)
							abort();
					}
					spans[nspans++] =
					    (struct span){m->ext[x].offset, m->ext[x].len, i};
				}
			} else if (rc == 0 && e->seen_striped) {
				bool same = !memcmp(devoff, e->devoff, nsteps * sizeof(uint64_t));

				check_item(&un, same, "%s: a 2 MiB offset maps elsewhere", e->path);
			}
			fmap_free(m);
		}
		rc = read_compare(s, e, eo.nodeid, fh, 0,
				  e->size < READ_CHUNK ? e->size : READ_CHUNK, why, sizeof(why));
		check_item(&rd, rc == 0, "%s: %s", e->path, why);
		if (e->size > READ_CHUNK) {
			rc = read_compare(s, e, eo.nodeid, fh, e->size, 0, why, sizeof(why));
			check_item(&rd, rc == 0, "%s (at EOF): %s", e->path, why);
		}
		krelease(s, eo.nodeid, fh);
		free(devoff);
	}
	if (s->dead)
		check_item(&lk, false, "server stopped answering: %s", why);
	char extra[160];

	check_done(&lk, NULL);
	snprintf(extra, sizeof(extra), "(%zu files, %ld retried, %ld maps > %d bytes)", nents,
		 retries, bigmaps, KPAGE);
	check_done(&gf, extra);
	if (unrolled || pick(true, false))
		check_done(&st, NULL);
	snprintf(extra, sizeof(extra), "(%ld offsets)", offsets);
	check_done(&pr, extra);
	check_done(&rd, NULL);
	if (unrolled) {
		check_done(&un, NULL);
		verdict(s->name, bigmaps > 0 && retries > 0,
			"an unrolled fmap larger than PAGE_SIZE is fetched with the 4-byte retry",
			"%ld maps over %d bytes, %ld retries", bigmaps, KPAGE, retries);
	} else {
		if (nspans)
			qsort(spans, nspans, sizeof(*spans), span_cmp);
		for (size_t i = 0; i < nspans; i++) {
			check_item(&xs, spans[i].off >= meta_end, "%s: extent at %#" PRIx64,
				   ents[spans[i].who].path, spans[i].off);
			if (i + 1 < nspans)
				check_item(&xs, spans[i].off + spans[i].len <= spans[i + 1].off,
					   "%s and %s overlap at %#" PRIx64,
					   ents[spans[i].who].path, ents[spans[i + 1].who].path,
					   spans[i + 1].off);
		}
		snprintf(extra, sizeof(extra), "(%zu extents)", nspans);
		check_done(&xs, extra);
	}
	free(spans);
}

/* LOOKUP a path; 0 if missing or on error. */
static uint64_t node_of(struct srv *s, const char *path, struct fuse_entry_out *eo)
{
	struct fuse_entry_out tmp;
	char why[300];

	if (!eo)
		eo = &tmp;
	return klookup(s, path, eo, why, sizeof(why)) ? 0 : eo->nodeid;
}

/* GET_FMAP (one request) expecting an error; true if it came. */
static bool expect_fmap_error(struct srv *s, uint64_t nodeid, size_t inlen, int want, char *why,
			      size_t whylen)
{
	struct rep r;
	int rc = get_fmap_raw(s, nodeid, KPAGE, inlen, 0, &r);

	if (rc)
		snprintf(why, whylen, "%s", xfer_err(rc));
	else if (r.error != -want)
		snprintf(why, whylen, "got %d (%u bytes), expected -%s", r.error, r.len,
			 strerrorname_np(want));
	return !rc && r.error == -want;
}

/* One GET_FMAP with input form (@size, @inlen, @padding) against the reference message. */
static void input_form(struct srv *s, uint64_t nodeid, const uint8_t *ref, uint32_t reflen,
		       uint32_t size, size_t inlen, uint32_t padding, bool expect_full,
		       const char *name)
{
	struct rep r;
	uint32_t needed = 0;
	int rc = get_fmap_raw(s, nodeid, size, inlen, padding, &r);
	bool ok;

	if (rc || r.error) {
		verdict(s->name, false, name, "%s", rc ? xfer_err(rc) : strerror(-r.error));
		return;
	}
	if (expect_full)
		ok = r.len == reflen && !memcmp(r.data, ref, reflen);
	else
		ok = r.len == FMAP_SIZE_REPLY && !fmap_parse_size_reply(r.data, r.len, &needed) &&
		     needed == reflen;
	verdict(s->name, ok, name, "%u-byte reply (needed %u), expected %s", r.len, needed,
		expect_full ? "the full fmap" : "a 4-byte size reply");
}

/* The GET_FMAP input forms a kernel may send, on file @e (fmap of @reflen bytes). */
static void input_forms(struct srv *s, const struct entry *e, bool unrolled)
{
	static struct opened o;
	char why[300], name[200];
	struct fuse_entry_out eo;
	uint32_t L;
	int rc;

	if (!e || !(o.nodeid = node_of(s, e->path, &eo))) {
		verdict(s->name, false, "GET_FMAP input forms", "no file to try them on");
		return;
	}
	rc = kget_fmap(s, o.nodeid, &o.m, &o.trip, o.msg, sizeof(o.msg), why, sizeof(why));
	if (!verdict(s->name, rc == 0, "GET_FMAP reference fetch", "%s", why))
		return;
	fmap_free(o.m);
	L = o.trip.len;
	if (!unrolled) {
		snprintf(name, sizeof(name),
			 "GET_FMAP size=64 on %s: 4-byte reply with the needed size (%u)", e->path,
			 L);
		input_form(s, o.nodeid, o.msg, L, 64, 8, 0, L <= 64, name);
		snprintf(name, sizeof(name), "GET_FMAP retry with size=%u: the full fmap", L);
		input_form(s, o.nodeid, o.msg, L, L, 8, 0, true, name);
		snprintf(name, sizeof(name), "GET_FMAP size=%u (one byte short): size reply",
			 L - 1);
		input_form(s, o.nodeid, o.msg, L, L - 1, 8, 0, false, name);
		input_form(s, o.nodeid, o.msg, L, 0, 8, 0, false,
			   "GET_FMAP size=0: size reply (the reply is 4 bytes whatever the size)");
		input_form(s, o.nodeid, o.msg, L, 0xffffffffU, 8, 0, true,
			   "GET_FMAP size=0xffffffff: the full fmap");
		input_form(s, o.nodeid, o.msg, L, 0, 0, 0, true,
			   "GET_FMAP with no input (v10 kernels): PAGE_SIZE buffer assumed, full "
			   "fmap");
		input_form(s, o.nodeid, o.msg, L, KPAGE, 16, 0, true,
			   "GET_FMAP with a 16-byte input (longer struct): first u32 is the size");
		input_form(s, o.nodeid, o.msg, L, KPAGE, 8, 0xdeadbeef, true,
			   "GET_FMAP with non-zero padding: ignored");
	} else {
		snprintf(name, sizeof(name),
			 "GET_FMAP with no input on %s (unrolled %u bytes > PAGE_SIZE): size reply",
			 e->path, L);
		input_form(s, o.nodeid, o.msg, L, 0, 0, 0, L <= KPAGE, name);
		snprintf(name, sizeof(name), "GET_FMAP size=%u: size reply", KPAGE);
		input_form(s, o.nodeid, o.msg, L, KPAGE, 8, 0, L <= KPAGE, name);
		snprintf(name, sizeof(name), "GET_FMAP size=%u (exact): the full fmap", L);
		input_form(s, o.nodeid, o.msg, L, L, 8, 0, true, name);
		snprintf(name, sizeof(name), "GET_FMAP size=%u (one byte short): size reply",
			 L - 1);
		input_form(s, o.nodeid, o.msg, L, L - 1, 8, 0, false, name);
		verdict(s->name, L > KPAGE, "the largest unrolled fmap exceeds PAGE_SIZE",
			"%u bytes", L);
	}
}

/* The smallest fmap: one simple extent, 56 bytes. */
static void smallest_fmap(struct srv *s)
{
	static struct opened o;
	const struct entry *e = pick(false, false);
	char why[300];
	int rc;

	if (!e || !(o.nodeid = node_of(s, e->path, NULL))) {
		verdict(s->name, false, "smallest fmap", "no simple file");
		return;
	}
	rc = kget_fmap(s, o.nodeid, &o.m, &o.trip, o.msg, sizeof(o.msg), why, sizeof(why));
	if (!verdict(s->name, rc == 0 && o.trip.len == FMAP_MIN_MSG,
		     "a one-extent fmap is 56 bytes", "%s (%u bytes)", why, o.trip.len))
		return;
	fmap_free(o.m);
	input_form(s, o.nodeid, o.msg, FMAP_MIN_MSG, FMAP_MIN_MSG, 8, 0, true,
		   "GET_FMAP size=56 on a one-extent file: the full fmap");
	input_form(s, o.nodeid, o.msg, FMAP_MIN_MSG, FMAP_MIN_MSG - 1, 8, 0, false,
		   "GET_FMAP size=55 on a one-extent file: size reply 56");
}

/* GET_DAXDEV: index 0 is the device the server opened; others ENODEV. */
static void daxdev_cases(struct srv *s)
{
	static const uint64_t bad[] = {1, 2, 7, 1ULL << 32, UINT64_MAX};
	char name[DAXDEV_NAME_MAX + 1], why[300] = "";
	uint64_t payload = 0;
	struct stat a, b;
	struct rep r;
	struct check c;
	uint16_t index;
	int rc;

	rc = xfer(s, OP_GET_DAXDEV, 0, NULL, 0, NULL, 0, &r);
	if (!rc && !r.error && r.len == DAXDEV_OUT_SIZE) {
		bool zero = true;

		memcpy(&index, r.data, 2);
		for (int i = 2; i < DAXDEV_NAME_OFF; i++)
			zero = zero && r.data[i] == 0;
		memcpy(name, r.data + DAXDEV_NAME_OFF, DAXDEV_NAME_MAX);
		name[DAXDEV_NAME_MAX] = '\0';
		rc = !zero || index != 0 || name[0] != '/' || stat(name, &a) ||
		     stat(image_path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev;
		snprintf(why, sizeof(why), "index %u, reserved %s, name \"%s\"", index,
			 zero ? "zero" : "NOT zero", name);
	} else {
		snprintf(why, sizeof(why), "%s, error %d, %u bytes", rc ? xfer_err(rc) : "reply",
			 rc ? 0 : r.error, rc ? 0 : r.len);
		rc = 1;
	}
	verdict(s->name, rc == 0,
		"GET_DAXDEV 0: 280-byte reply, index 0, absolute name of the server's device", "%s",
		why);

	check_init(&c, s->name, "GET_DAXDEV of an unknown index (1, 2, 7, 2^32, 2^64-1): ENODEV");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = xfer(s, OP_GET_DAXDEV, bad[i], NULL, 0, NULL, 0, &r);
		check_item(&c, !rc && r.error == -ENODEV, "index %#" PRIx64 ": %s %d", bad[i],
			   rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
	}
	check_done(&c, NULL);

	rc = xfer(s, OP_GET_DAXDEV, 0, &payload, sizeof(payload), NULL, 0, &r);
	verdict(s->name, !rc && !r.error && r.len == DAXDEV_OUT_SIZE,
		"GET_DAXDEV 0 with an 8-byte payload: payload ignored, same reply", "%s %d",
		rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
}

/* .meta/.superblock and .meta/.log: file_type 1 and 2, mapping the metadata. */
static void meta_files(struct srv *s)
{
	static const struct {
		const char *path;
		uint8_t type;
		uint64_t magic;
	} metas[] = {
	    {".meta/.superblock", FMAP_FILE_SUPERBLOCK, FAMFS_SUPER_MAGIC},
	    {".meta/.log", FMAP_FILE_LOG, FAMFS_LOG_MAGIC},
	};

	for (size_t i = 0; i < 2; i++) {
		uint64_t nodeid = node_of(s, metas[i].path, NULL), magic = 0;
		uint64_t off = i == 0 ? 0 : FAMFS_LOG_OFFSET, len = i == 0 ? STEP : log_len;
		struct fmap_trip t;
		struct fmap_loc loc;
		struct fmap *m = NULL;
		char why[300] = "", name[160];
		bool ok = false;

		snprintf(name, sizeof(name),
			 "GET_FMAP %s: file_type %u, one extent [%#" PRIx64 ", +%#" PRIx64
			 "), magic there",
			 metas[i].path, metas[i].type, off, len);
		if (nodeid && !kget_fmap(s, nodeid, &m, &t, NULL, 0, why, sizeof(why))) {
			ok = m->file_type == metas[i].type && m->ext_type == FMAP_EXT_SIMPLE &&
			     m->nextents == 1 && m->ext[0].offset == off && m->ext[0].len == len &&
			     m->file_size == len && !fmap_resolve(m, 0, &loc) &&
			     pread(kdaxdev(s, loc.devindex, why, sizeof(why)), &magic, 8,
				   (off_t)loc.offset) == 8 &&
			     magic == metas[i].magic;
			snprintf(why, sizeof(why),
				 "type %u, %u extents, [%#" PRIx64 ", +%#" PRIx64
				 "), magic %#" PRIx64,
				 m->file_type, m->nextents, m->ext[0].offset, m->ext[0].len, magic);
			fmap_free(m);
		}
		verdict(s->name, ok, name, "%s", why);
	}
}

/* Requests no kernel should send, or sends only by mistake: error replies, no crash. */
static void garbage(struct srv *s)
{
	static const uint32_t unknown_ops[] = {52, 53, 56, 63, 64, 200, 4095, UINT32_MAX};
	const struct entry *file = pick(false, false);
	uint64_t fnode = file ? node_of(s, file->path, NULL) : 0;
	uint64_t dir = 0;
	char why[300] = "";
	struct check c;
	struct rep r;
	int rc;

	for (size_t i = 0; i < nents && !dir; i++) {
		const char *slash = strchr(ents[i].path, '/');

		if (slash) {
			char d[256];

			snprintf(d, sizeof(d), "%.*s", (int)(slash - ents[i].path), ents[i].path);
			dir = node_of(s, d, NULL);
		}
	}

	check_init(&c, s->name,
		   "unknown opcodes (52, 53 = GET_FMAP's old number, 56, 63, 64, 200, 4095, "
		   "2^32-1): ENOSYS; CUSE_INIT (4096): EIO");
	for (size_t i = 0; i < sizeof(unknown_ops) / sizeof(unknown_ops[0]); i++) {
		uint32_t in[2] = {KPAGE, 0};

		rc = xfer(s, unknown_ops[i], fnode, in, sizeof(in), NULL, 0, &r);
		check_item(&c, !rc && r.error == -ENOSYS, "opcode %u: %s %d", unknown_ops[i],
			   rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
	}
	rc = xfer(s, CUSE_INIT, 0, NULL, 0, NULL, 0, &r);
	check_item(&c, !rc && r.error == -EIO, "CUSE_INIT: %s %d", rc ? xfer_err(rc) : "error",
		   rc ? 0 : r.error);
	check_done(&c, NULL);

	check_init(&c, s->name, "GET_FMAP with a truncated input (1..7 bytes): EINVAL");
	for (size_t len = 1; len < 8; len++)
		check_item(&c, expect_fmap_error(s, fnode, len, EINVAL, why, sizeof(why)),
			   "%zu bytes: %s", len, why);
	check_done(&c, NULL);

	check_init(&c, s->name, "GET_FMAP on directories (root, a subdirectory, .meta): EISDIR");
	check_item(&c, expect_fmap_error(s, FUSE_ROOT_ID, 8, EISDIR, why, sizeof(why)), "root: %s",
		   why);
	check_item(&c, dir && expect_fmap_error(s, dir, 8, EISDIR, why, sizeof(why)),
		   "subdirectory: %s", why);
	check_item(&c, expect_fmap_error(s, node_of(s, ".meta", NULL), 8, EISDIR, why, sizeof(why)),
		   ".meta: %s", why);
	check_done(&c, NULL);

	check_init(&c, s->name, "GET_FMAP on nodeid 0, unknown and huge nodeids: ENOENT");
	{
		const uint64_t ids[] = {0, 1ULL << 20, 1ULL << 40, UINT64_MAX};

		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			check_item(&c, expect_fmap_error(s, ids[i], 8, ENOENT, why, sizeof(why)),
				   "nodeid %#" PRIx64 ": %s", ids[i], why);
	}
	check_done(&c, NULL);

	check_init(&c, s->name,
		   "other bad requests: READ/OPEN of a directory, READ of an unknown nodeid, "
		   "LOOKUP of missing names");
	{
		struct fuse_read_in rin = {.size = 4096};
		struct fuse_open_in oin = {.flags = O_RDONLY};

		rc = xfer(s, FUSE_READ, FUSE_ROOT_ID, &rin, sizeof(rin), NULL, 0, &r);
		check_item(&c, !rc && r.error == -EISDIR, "READ root: %d", rc ? rc : r.error);
		rc = xfer(s, FUSE_READ, 1ULL << 40, &rin, sizeof(rin), NULL, 0, &r);
		check_item(&c, !rc && r.error == -ESTALE, "READ unknown: %d", rc ? rc : r.error);
		rc = xfer(s, FUSE_OPEN, FUSE_ROOT_ID, &oin, sizeof(oin), NULL, 0, &r);
		check_item(&c, !rc && r.error == -EISDIR, "OPEN root: %d", rc ? rc : r.error);
		rc = xfer(s, FUSE_LOOKUP, FUSE_ROOT_ID, "no-such-name", 13, NULL, 0, &r);
		check_item(&c, !rc && missing(&r), "LOOKUP missing: %d", rc ? rc : r.error);
		rc = xfer(s, FUSE_LOOKUP, fnode, "x", 2, NULL, 0, &r);
		check_item(&c, !rc && r.error == -ENOENT, "LOOKUP in a file: %d",
			   rc ? rc : r.error);
		rc = xfer(s, FUSE_LOOKUP, 1ULL << 40, "x", 2, NULL, 0, &r);
		check_item(&c, !rc && r.error == -ESTALE, "LOOKUP in unknown: %d",
			   rc ? rc : r.error);
	}
	check_done(&c, NULL);

	/* A header whose len disagrees with the message (the transport never does
	 * this): refused, not parsed as if it were whole. */
	{
		struct fuse_in_header h = {.len = 200,
					   .opcode = FUSE_GETATTR,
					   .unique = (s->unique += 2),
					   .nodeid = FUSE_ROOT_ID};
		uint8_t msg[sizeof(h) + sizeof(struct fuse_getattr_in)] = {0};

		memcpy(msg, &h, sizeof(h));
		count_sent(s, FUSE_GETATTR);
		rc = srv_send_raw(s, msg, sizeof(msg));
		if (!rc)
			rc = srv_recv(s, h.unique, &r, REPLY_TIMEOUT_MS);
		verdict(s->name, rc == 0 && r.error == -EINVAL,
			"a header whose len lies (200 for 56 bytes): EINVAL", "%s %d",
			rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
	}

	{
		struct fuse_getattr_in gin = {0};

		rc = xfer(s, FUSE_GETATTR, FUSE_ROOT_ID, &gin, sizeof(gin), NULL, 0, &r);
		verdict(s->name, !rc && !r.error && r.len == sizeof(struct fuse_attr_out),
			"the server still serves after the garbage (GETATTR root)", "%s %d",
			rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
	}
}

/*
 * A file created but not yet committed (master only) has no map: ENODATA. A
 * write that cannot be allocated (1 TiB in) dooms it, so its release leaves
 * nothing in the log.
 */
static void pending_file(struct srv *s)
{
	static const char name[] = "fmap-harness-pending";
	struct fuse_create_in cin = {.flags = O_RDWR | O_CREAT | O_EXCL, .mode = S_IFREG | 0644};
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	char why[300] = "";
	struct rep r;
	bool ok;
	int rc;

	rc = xfer(s, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), name, sizeof(name), &r);
	if (rc || r.error || r.len != sizeof(eo) + sizeof(oo)) {
		verdict(s->name, false, "CREATE a pending file", "%s %d",
			rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
		return;
	}
	memcpy(&eo, r.data, sizeof(eo));
	memcpy(&oo, r.data + sizeof(eo), sizeof(oo));
	ok = expect_fmap_error(s, eo.nodeid, 8, ENODATA, why, sizeof(why));
	verdict(s->name, ok, "GET_FMAP on a created, not yet sized file: ENODATA", "%s", why);
	{
		struct fuse_write_in win = {.fh = oo.fh, .offset = 1ULL << 40, .size = 8};
		struct fuse_release_in rin = {.fh = oo.fh, .flags = O_RDWR};

		rc = xfer(s, FUSE_WRITE, eo.nodeid, &win, sizeof(win), "12345678", 8, &r);
		ok = !rc && (r.error == -ENOSPC || r.error == -EFBIG);
		rc = xfer(s, FUSE_RELEASE, eo.nodeid, &rin, sizeof(rin), NULL, 0, &r);
		ok = ok && !rc && !r.error;
		rc = xfer(s, FUSE_LOOKUP, FUSE_ROOT_ID, name, sizeof(name), NULL, 0, &r);
		ok = ok && !rc && missing(&r);
		verdict(s->name, ok,
			"a write that cannot be allocated dooms it; released, it is gone (nothing "
			"logged)",
			"%s %d", rc ? xfer_err(rc) : "last error", rc ? 0 : r.error);
	}
}

/* A second INIT is refused and changes nothing that was negotiated. */
static void second_init(struct srv *s)
{
	const struct entry *e = pick(false, false);
	uint64_t nodeid = e ? node_of(s, e->path, NULL) : 0;
	struct init_res ir;
	struct fmap_trip t;
	struct fmap *m = NULL;
	char why[300] = "";
	int rc;

	rc = kinit(s, FUSE_KERNEL_MINOR_VERSION, KFLAGS | FUSE_INIT_EXT, 0,
		   sizeof(struct fuse_init_in), &ir);
	verdict(s->name, !rc && ir.error < 0, "a second INIT (without the flag) is refused",
		"%s %d", rc ? xfer_err(rc) : "error", rc ? 0 : ir.error);
	rc = kget_fmap(s, nodeid, &m, &t, NULL, 0, why, sizeof(why));
	verdict(s->name, rc == 0, "... and GET_FMAP still works: the negotiation stands", "%s",
		why);
	fmap_free(m);
}

static void role_is(struct srv *s, const char *want)
{
	char role[64] = "";
	int rc = kgetxattr(s, FUSE_ROOT_ID, "user.famfs.role", role, sizeof(role));
	char name[80];

	snprintf(name, sizeof(name), "user.famfs.role is \"%s\"", want);
	verdict(s->name, rc > 0 && !strcmp(role, want), name, "\"%s\" (%d)", role, rc);
}

static bool is_master(struct srv *s)
{
	char role[64] = "";

	return kgetxattr(s, FUSE_ROOT_ID, "user.famfs.role", role, sizeof(role)) > 0 &&
	       !strcmp(role, "master");
}

/* A famfs kernel: -o fmap=striped (the full suite) or -o fmap=unrolled. */
static void session_famfs(bool unrolled)
{
	struct srv s;
	struct rep r;
	struct fuse_getattr_in gin = {0};
	int rc;

	if (srv_start(&s, unrolled ? "famfs kernel, fmap=unrolled" : "famfs kernel, fmap=striped",
		      unrolled ? "fmap=unrolled" : "fmap=striped", NULL))
		exit(2);
	if (!unrolled) {
		bool ok;

		rc = get_fmap_raw(&s, FUSE_ROOT_ID, KPAGE, 8, 0, &r);
		ok = !rc && r.error == -ENOSYS;
		rc = xfer(&s, FUSE_GETATTR, FUSE_ROOT_ID, &gin, sizeof(gin), NULL, 0, &r);
		ok = ok && !rc && r.error == -EIO;
		verdict(s.name, ok, "before INIT: GET_FMAP is ENOSYS, other requests EIO", "%s %d",
			rc ? xfer_err(rc) : "error", rc ? 0 : r.error);
	}
	if (init_famfs(&s)) {
		all_files(&s, unrolled);
		input_forms(&s, pick(true, unrolled), unrolled);
		if (!unrolled) {
			smallest_fmap(&s);
			daxdev_cases(&s);
			meta_files(&s);
			garbage(&s);
			if (is_master(&s))
				pending_file(&s);
			else
				printf("SKIP  [%s] pending file: this identity is not the master\n",
				       s.name);
			second_init(&s);
		}
		check_stats(&s, "enabled");
	}
	srv_stop(&s, true);
}

/*
 * A 4 KiB-unit image (issue 13) and a famfs kernel that maps extents aligned
 * to 1 << @shift (12: famfs.ko with PTE faults; 0: says nothing, 2 MiB,
 * like every kernel before): every map sent decodes with that alignment and
 * resolves to the right bytes; a file a 2 MiB kernel cannot map gets
 * ENODATA (counted by the server as fmap_align_refused) and READ serves it.
 */
static void session_4k(uint8_t shift, const char *name)
{
	char text[4096], *p;
	struct srv s;
	long refused = -1, with_4k = 0;
	int rc;

	k_align_shift = shift;
	n_enodata = 0;
	if (srv_start(&s, name, "fmap=striped", NULL))
		exit(2);
	if (init_famfs(&s)) {
		all_files(&s, false);
		rc = kgetxattr(&s, FUSE_ROOT_ID, "user.famfs.server", text, sizeof(text));
		p = rc > 0 ? strstr(text, "fmap_align_refused ") : NULL;
		if (p)
			refused = strtol(p + 19, NULL, 10);
		for (size_t i = 0; i < nents; i++)
			with_4k += ents[i].known_4k && !ents[i].aligned_2m;
		if (shift)
			verdict(
			    s.name, with_4k > 0 && refused == 0,
			    "maps with 4 KiB-aligned extents are sent to a kernel that takes them",
			    "%ld such files, fmap_align_refused %ld", with_4k, refused);
		else
			verdict(
			    s.name, n_enodata == with_4k && n_enodata > 0 && refused == n_enodata,
			    "a kernel that needs 2 MiB gets ENODATA for exactly the 4 KiB-aligned "
			    "maps (and READ serves them)",
			    "%ld ENODATA, %ld files not 2 MiB-aligned, fmap_align_refused %ld",
			    n_enodata, with_4k, refused);
		check_stats(&s, "enabled");
	}
	srv_stop(&s, true);
	k_align_shift = 0;
}

/*
 * A kernel that does not (validly) offer FUSE_DAX_FMAP, or a server that
 * declines it: no famfs flag in the reply, GET_FMAP/GET_DAXDEV ENOSYS, and
 * the server's own data path serves READ. @full: READ every byte of every file.
 */
static void session_plain(const char *name, uint32_t minor, uint32_t flags, uint32_t flags2,
			  size_t inlen, const char *opts, const char *state, bool full)
{
	struct srv s;
	struct init_res ir;
	struct rep r;
	struct check c;
	char why[300] = "";
	int rc;

	if (srv_start(&s, name, opts, NULL))
		exit(2);
	rc = kinit(&s, minor, flags, flags2, inlen, &ir);
	{
		bool ok = !rc && !ir.error && ir.major == 7 && !(ir.flags2 & DAX_FMAP_FLAG2) &&
			  ((flags & FUSE_INIT_EXT) || (!(ir.flags & FUSE_INIT_EXT) && !ir.flags2));

		verdict(s.name, ok,
			flags & FUSE_INIT_EXT
			    ? "INIT: no FUSE_DAX_FMAP (flags2 bit 11) in the reply"
			    : "INIT: no FUSE_INIT_EXT and no flags2 bits in the reply",
			"%s error %d, %u.%u flags %#x flags2 %#x", rc ? xfer_err(rc) : "", ir.error,
			ir.major, ir.minor, ir.flags, ir.flags2);
		if (!ok) {
			srv_show_log(&s);
			srv_stop(&s, true);
			return;
		}
	}
	{
		const struct entry *e = pick(false, false);
		uint64_t nodeid = e ? node_of(&s, e->path, NULL) : 0;
		bool ok = expect_fmap_error(&s, nodeid, 8, ENOSYS, why, sizeof(why));

		rc = xfer(&s, OP_GET_DAXDEV, 0, NULL, 0, NULL, 0, &r);
		ok = ok && !rc && r.error == -ENOSYS;
		verdict(s.name, ok, "GET_FMAP and GET_DAXDEV: ENOSYS (not negotiated)", "%s", why);
	}
	check_init(&c, s.name, "%s",
		   full ? "READ through the server: every byte of every file == source"
			: "READ through the server: first 128 KiB of every file == source");
	for (size_t i = 0; i < nents && !s.dead; i++) {
		const struct entry *e = &ents[i];
		struct fuse_entry_out eo;
		uint64_t fh;

		rc = klookup(&s, e->path, &eo, why, sizeof(why));
		if (!check_item(&c, rc == 0, "%s: %s", e->path, why))
			continue;
		rc = kopen(&s, eo.nodeid, &fh);
		if (!check_item(&c, rc == 0, "%s: OPEN %d", e->path, rc))
			continue;
		rc = read_compare(&s, e, eo.nodeid, fh, 0,
				  full ? e->size : (e->size < READ_CHUNK ? e->size : READ_CHUNK),
				  why, sizeof(why));
		check_item(&c, rc == 0, "%s: %s", e->path, why);
		krelease(&s, eo.nodeid, fh);
	}
	check_done(&c, NULL);
	check_stats(&s, state);
	srv_stop(&s, true);
}

/*
 * Roles and the writer lock: a client (another host identity) next to a
 * running master gets the same, provable maps; a second master on the same
 * image is refused by the writer lock.
 */
static void session_roles(const char *tmpdir)
{
	struct srv m, c, m2;
	char ident[PATH_MAX], why[300] = "";
	struct check ck;
	long offsets = 0;
	int status = 0;
	pid_t got = 0;

	snprintf(ident, sizeof(ident), "%s/fmap_harness.hostB.%d", tmpdir, (int)getpid());
	unlink(ident); /* famfs_fused creates a fresh identity there */
	if (srv_start(&m, "master + client", "fmap=striped", NULL))
		exit(2);
	if (!init_famfs(&m)) {
		srv_stop(&m, true);
		return;
	}
	if (!is_master(&m)) {
		printf("SKIP  [%s] this identity is not the image's master\n", m.name);
		srv_stop(&m, true);
		return;
	}
	if (srv_start(&c, "client next to the master", "fmap=striped", ident))
		exit(2);
	if (init_famfs(&c)) {
		role_is(&c, "client");
		check_init(&ck, c.name,
			   "the client's fmaps prove out too (striped files + 32 others)");
		for (size_t i = 0, others = 0; i < nents && !c.dead; i++) {
			const struct entry *e = &ents[i];
			struct fmap *fm = NULL;
			struct fmap_trip t;
			uint64_t nodeid;

			if (!e->striped && others++ >= 32)
				continue;
			nodeid = node_of(&c, e->path, NULL);
			if (!check_item(&ck, nodeid != 0, "%s: LOOKUP failed", e->path) ||
			    !check_item(&ck,
					!kget_fmap(&c, nodeid, &fm, &t, NULL, 0, why, sizeof(why)),
					"%s: %s", e->path, why))
				continue;
			check_item(&ck, !prove_map(&c, e, fm, NULL, &offsets, why, sizeof(why)),
				   "%s: %s", e->path, why);
			fmap_free(fm);
		}
		check_done(&ck, NULL);
	}
	role_is(&m, "master");

	/* A second server with the master's identity: the writer lock refuses it. */
	if (srv_start(&m2, "second master", "fmap=striped", NULL))
		exit(2);
	for (int i = 0; i < 1000 && (got = waitpid(m2.pid, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	{
		FILE *f = fopen(m2.log, "r");
		char line[512];
		bool said = false;

		while (f && fgets(line, sizeof(line), f))
			said = said || strstr(line, "already mounted read-write");
		if (f)
			fclose(f);
		verdict(m2.name,
			got == m2.pid && WIFEXITED(status) && WEXITSTATUS(status) == 1 && said,
			"a second master on the same image is refused by the writer lock (exit 1)",
			"%s, status %#x", got == m2.pid ? "exited" : "still running", status);
	}
	if (got == 0) {
		kill(m2.pid, SIGKILL);
		waitpid(m2.pid, &status, 0);
	}
	m2.pid = 0;
	if (m2.fd >= 0)
		close(m2.fd);
	free(m2.rbuf);
	if (!keep_logs)
		unlink(m2.log);

	srv_stop(&c, true);
	srv_stop(&m, true);
	unlink(ident);
}

/* ----------------------------------------------------------- bench */

static double rate(long n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define BENCH_ROUNDS 15

/*
 * Round trips per second on one channel: GETATTR of the root (the baseline)
 * and GET_FMAP + fmap_decode of each file, measured in interleaved rounds
 * of @n / BENCH_ROUNDS so that all see the same conditions; medians.
 */
static void bench_session(bool unrolled, const struct entry *const *list, int nlist, long n)
{
	double rates[3][BENCH_ROUNDS];
	uint64_t nodeid[2] = {0, 0};
	struct fmap_trip trip[2] = {{0}, {0}};
	struct fuse_getattr_in gin = {0};
	long per = n / BENCH_ROUNDS + 1;
	char why[300];
	struct srv s;

	if (srv_start(&s, unrolled ? "bench, fmap=unrolled" : "bench, fmap=striped",
		      unrolled ? "fmap=unrolled" : "fmap=striped", NULL) ||
	    !init_famfs(&s))
		exit(1);
	for (int k = 0; k < nlist; k++)
		if (!list[k] || !(nodeid[k] = node_of(&s, list[k]->path, NULL)))
			exit(1);
	for (int round = -1; round < BENCH_ROUNDS; round++) { /* round -1 warms up */
		for (int k = -1; k < nlist; k++) {
			double t0 = now();

			for (long i = 0; i < per; i++) {
				struct fmap *m;
				struct rep r;

				if (k < 0) {
					if (xfer(&s, FUSE_GETATTR, FUSE_ROOT_ID, &gin, sizeof(gin),
						 NULL, 0, &r) ||
					    r.error)
						exit(1);
					continue;
				}
				if (kget_fmap(&s, nodeid[k], &m, &trip[k], NULL, 0, why,
					      sizeof(why))) {
					fprintf(stderr, "fmap_harness: %s\n", why);
					exit(1);
				}
				fmap_free(m);
			}
			if (round >= 0)
				rates[k + 1][round] = rate(per, now() - t0);
		}
	}
	for (int k = 0; k <= nlist; k++)
		qsort(rates[k], BENCH_ROUNDS, sizeof(double), cmp_double);
	printf("  %-56s %8.0f /s  (baseline)\n", "GETATTR round trips", rates[0][BENCH_ROUNDS / 2]);
	for (int k = 0; k < nlist; k++) {
		double r = rates[k + 1][BENCH_ROUNDS / 2], base = rates[0][BENCH_ROUNDS / 2];
		char label[128];

		snprintf(label, sizeof(label), "GET_FMAP+decode, %u-byte %s map%s", trip[k].len,
			 unrolled	    ? "unrolled"
			 : list[k]->striped ? "striped"
					    : "simple",
			 trip[k].rounds > 1 ? " (retry: 2 trips)" : "");
		printf("  %-56s %8.0f /s  (%.2fx GETATTR)\n", label, r, base > 0 ? r / base : 0);
	}
	srv_stop(&s, false);
}

static void bench(long n)
{
	const struct entry *striped[2] = {pick(false, false), pick(true, false)};
	const struct entry *unrolled[1] = {pick(true, true)};

	printf("  (%d interleaved rounds of %ld round trips each, medians)\n", BENCH_ROUNDS,
	       n / BENCH_ROUNDS + 1);
	bench_session(false, striped, 2, n);
	bench_session(true, unrolled, 1, n);
}

/* ----------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr, "usage: fmap_harness [--fused PATH] [--bench N] [--keep-logs] IMAGE "
			"MANIFEST\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static char defpath[PATH_MAX];
	struct famfs_superblock sb;
	long bench_n = 0;
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int argi = 1, fd;
	size_t nstriped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; argi < argc && !strncmp(argv[argi], "--", 2); argi++) {
		if (!strcmp(argv[argi], "--fused") && argi + 1 < argc)
			fused_path = argv[++argi];
		else if (!strcmp(argv[argi], "--bench") && argi + 1 < argc)
			bench_n = strtol(argv[++argi], NULL, 0);
		else if (!strcmp(argv[argi], "--keep-logs"))
			keep_logs = true;
		else
			usage();
	}
	if (argc - argi != 2)
		usage();
	image_path = argv[argi];
	if (!fused_path) {
		/* build/test/fmap_harness -> build/famfs_fused */
		snprintf(defpath, sizeof(defpath), "%s", argv[0]);
		char *slash = strrchr(defpath, '/');

		if (slash)
			*slash = '\0';
		else
			strcpy(defpath, ".");
		strncat(defpath, "/../famfs_fused", sizeof(defpath) - strlen(defpath) - 1);
		fused_path = defpath;
	}
	fd = open(image_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &sb, sizeof(sb), 0) != sizeof(sb) ||
	    sb.magic != FAMFS_SUPER_MAGIC) {
		fprintf(stderr, "fmap_harness: %s: not a famfs image\n", image_path);
		return 2;
	}
	image_size = (uint64_t)lseek(fd, 0, SEEK_END);
	close(fd);
	meta_end = sb.log_offset + sb.log_len;
	log_len = sb.log_len;
	unit_4k = sb.alloc_unit == 4096;
	if (load_manifest(argv[argi + 1]) || nents == 0) {
		fprintf(stderr, "fmap_harness: empty manifest\n");
		return 2;
	}
	for (size_t i = 0; i < nents; i++)
		nstriped += ents[i].striped;
	devbuf = malloc(STEP);
	srcbuf = malloc(STEP);
	if (!devbuf || !srcbuf)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	if (bench_n > 0) {
		printf("fmap_harness --bench %ld: %s\n", bench_n, image_path);
		bench(bench_n);
		return 0;
	}
	printf("fmap_harness: %s, %zu files (%zu striped), %s units, server %s\n", image_path,
	       nents, nstriped, unit_4k ? "4 KiB" : "2 MiB", fused_path);
	if (unit_4k) {
		session_4k(FAMFS_FMAP_ALIGN_SHIFT_MIN,
			   "famfs kernel, 4 KiB extents (align_shift 12)");
		session_4k(0, "famfs kernel needing 2 MiB (align_shift 0)");
		session_plain("kernel without FUSE_DAX_FMAP", FUSE_KERNEL_MINOR_VERSION,
			      KFLAGS | FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in),
			      "fmap=striped", "not-offered", true);
		printf("fmap_harness: %d passed, %d failed\n", npass, nfail);
		return nfail ? 1 : 0;
	}
	session_famfs(false);
	session_famfs(true);
	session_plain("kernel without FUSE_DAX_FMAP", FUSE_KERNEL_MINOR_VERSION,
		      KFLAGS | FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in), "fmap=striped",
		      "not-offered", true);
	session_plain("7.31 kernel (16-byte INIT, no flags2)", 31, KFLAGS, 0, 16, NULL,
		      "not-offered", false);
	session_plain("flags2 bit 11 without FUSE_INIT_EXT", FUSE_KERNEL_MINOR_VERSION, KFLAGS,
		      DAX_FMAP_FLAG2, sizeof(struct fuse_init_in), NULL, "not-offered", false);
	session_plain("famfs kernel, server -o nofmap", FUSE_KERNEL_MINOR_VERSION,
		      KFLAGS | FUSE_INIT_EXT, DAX_FMAP_FLAG2, sizeof(struct fuse_init_in), "nofmap",
		      "offered-declined", false);
	session_roles(tmpdir);
	printf("fmap_harness: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
