// SPDX-License-Identifier: Apache-2.0
/* famfs logplay: list what the log creates, or bring a mount up to date. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "apply.h"
#include "check.h"
#include "cli.h"
#include "fs.h"
#include "log.h"
#include "ns.h"
#include "path.h"
#include "shadow.h"

struct play {
	struct famfs_fs *fs;
	struct famfs_applier ap; /* the rules a mount replays by (apply.h) */
	bool yaml;
	uint64_t dirs, files, skipped, ignored, refused;
};

/* A file whose path YAML cannot carry: say so, and go on with the others. */
static void refuse_yaml(uint64_t index, const char *relpath)
{
	char esc[FAMFS_RELPATH_FIELD * 4 + 1];

	fprintf(stderr,
		"famfs logplay: entry %llu: path \"%s\" is not valid UTF-8: YAML cannot carry "
		"it; that file is left out\n",
		(unsigned long long)index, famfs_path_escape(relpath, esc, sizeof(esc)));
}

static int show(const struct famfs_log_entry *e, uint64_t index, void *arg, struct famfs_checker *c)
{
	struct play *p = arg;
	struct famfs_checker why = {0};
	struct famfs_node *n;
	const char *status = "";
	char line[1024];
	int v = famfs_apply_entry(&p->ap, e, index, &why, &n);

	if (v < 0)
		return v;
	if (v == FAMFS_BAD) {
		famfs_report_problem(c, &why.first);
		return FAMFS_REPLAY_STOP;
	}
	if (v == FAMFS_SKIPPED) {
		status = why.first.code == FAMFS_P_ENT_EXISTS ? "  (skipped: path exists)"
							      : "  (skipped: no parent directory)";
		p->skipped++;
	} else if (v == FAMFS_IGNORED) {
		p->ignored++;
	} else if (famfs_entry_type(&p->fs->geom, e) == FAMFS_LOG_MKDIR) {
		p->dirs++;
	} else {
		p->files++;
	}
	if (p->yaml) {
		if (v != FAMFS_APPLIED || famfs_entry_type(&p->fs->geom, e) != FAMFS_LOG_FILE)
			return 0;
		v = famfs_yaml_emit_file(stdout, &e->file);
		if (v == -EILSEQ) {
			refuse_yaml(index, e->file.relpath);
			p->refused++;
			return 0;
		}
		return v;
	}
	famfs_entry_describe(&p->fs->geom, e, line, sizeof(line));
	printf("%6llu  %s%s\n", (unsigned long long)index, line, status);
	return 0;
}

static int dry_run(const struct cli_cmd *cmd, const char *path, bool yaml)
{
	struct famfs_checker chk = {0};
	struct famfs_replay r = {0};
	struct famfs_alloc alloc = {0};
	struct play p = {.yaml = yaml};
	char why[512];
	long n;
	int rc;

	rc = famfs_fs_open(path, 0, &p.fs, &chk);
	if (rc) {
		if (chk.count) {
			famfs_problem_format(&chk.first, why, sizeof(why));
			return cli_error(cmd, "%s: %s", famfs_esc(path), why);
		}
		return cli_error(cmd, "%s: %s", famfs_esc(path),
				 rc == -ENODEV ? "not a regular file, devdax or block device"
					       : strerror(-rc));
	}
	p.ap = (struct famfs_applier){
	    .g = &p.fs->geom, .ns = famfs_ns_new(), .alloc = &alloc, .log = p.fs->ent};
	p.fs->geom.devs = &p.ap.devs; /* files on the devices the log adds */
	if (!p.ap.ns || famfs_alloc_init(&alloc, p.fs->geom.devsize, p.fs->geom.meta_end,
					 p.fs->geom.alloc_unit)) {
		famfs_ns_free(p.ap.ns);
		famfs_fs_close(p.fs);
		return cli_error(cmd, "out of memory");
	}
	n = famfs_log_replay(p.fs, &r, show, &p);
	rc = CLI_OK;
	if (n < 0) {
		rc = cli_error(cmd, "%s: replay failed: %s", famfs_esc(path), strerror((int)-n));
	} else if (r.bad_index >= 0) {
		famfs_problem_format(&r.bad, why, sizeof(why));
		rc = cli_error(cmd, "%s: replay stopped at a bad entry: %s", famfs_esc(path), why);
	} else if (p.refused) {
		rc = cli_error(cmd, "%s: %llu file%s left out of the YAML (paths not valid UTF-8)",
			       famfs_esc(path), (unsigned long long)p.refused,
			       p.refused == 1 ? "" : "s");
	}
	if (!yaml)
		fprintf(n < 0 || r.bad_index >= 0 ? stderr : stdout,
			"%ld entries: %llu directories and %llu files created, %llu skipped, "
			"%llu ignored; %llu of %llu log slots used\n",
			n < 0 ? 0 : n, (unsigned long long)p.dirs, (unsigned long long)p.files,
			(unsigned long long)p.skipped, (unsigned long long)p.ignored,
			(unsigned long long)famfs_log_used(p.fs),
			(unsigned long long)p.fs->geom.nslots);
	famfs_applier_release(&p.ap);
	famfs_alloc_destroy(&alloc);
	famfs_ns_free(p.ap.ns);
	famfs_fs_close(p.fs);
	return rc;
}

/* The shadow tree: directories as directories, each file as its YAML document. */
struct shadow {
	const struct cli_cmd *cmd;
	struct famfs_fs *fs;
	struct famfs_applier ap; /* the rules a mount replays by (apply.h) */
	char root[PATH_MAX];	 /* DIR/root */
	int verbose;
	uint64_t dirs, files, skipped, refused;
};

static int shadow_entry(const struct famfs_log_entry *e, uint64_t index, void *arg,
			struct famfs_checker *c)
{
	struct shadow *sh = arg;
	enum famfs_entry_type type = famfs_entry_type(&sh->fs->geom, e);
	struct famfs_node *n;
	char path[PATH_MAX + FAMFS_RELPATH_FIELD];
	struct famfs_file_body body;
	FILE *f;
	int rc;

	rc = famfs_apply_entry(&sh->ap, e, index, c, &n);
	if (rc < 0)
		return rc;
	if (rc == FAMFS_BAD)
		return FAMFS_REPLAY_STOP;
	if (rc != FAMFS_APPLIED || !n) {
		sh->skipped += rc == FAMFS_SKIPPED;
		return 0;
	}
	if (type == FAMFS_LOG_MKDIR) {
		snprintf(path, sizeof(path), "%s/%.*s", sh->root, FAMFS_PATH_MAX, e->mkdir.relpath);
		if (mkdir(path, e->mkdir.mode & 07777) < 0 && errno != EEXIST)
			goto fail;
		if (chmod(path, e->mkdir.mode & 07777) < 0)
			goto fail;
		if (geteuid() == 0 && chown(path, e->mkdir.uid, e->mkdir.gid) < 0)
			goto fail;
		sh->dirs++;
	} else if (type == FAMFS_LOG_FILE) {
		snprintf(path, sizeof(path), "%s/%.*s", sh->root, FAMFS_PATH_MAX, e->file.relpath);
		/* The node's extents with its current attributes (an entry may update them). */
		memset(&body, 0, sizeof(body));
		memcpy(body.relpath, e->file.relpath, sizeof(body.relpath));
		body.size = n->size;
		famfs_map_body(n->file, &body);
		body.mode = n->mode & 07777;
		body.uid = n->uid;
		body.gid = n->gid;
		f = fopen(path, "w");
		if (!f)
			goto fail;
		rc = famfs_yaml_emit_file(f, &body);
		if (fclose(f) && !rc)
			rc = -EIO;
		if (rc == -EILSEQ) {
			/* No document for it, rather than an empty or a wrong one. */
			unlink(path);
			refuse_yaml(index, e->file.relpath);
			sh->refused++;
			return 0;
		}
		if (rc) {
			errno = -rc;
			goto fail;
		}
		sh->files++;
	} else {
		return 0;
	}
	if (sh->verbose)
		printf("%6llu  %s\n", (unsigned long long)index, famfs_esc(path));
	return 0;
fail:
	cli_error(sh->cmd, "%s: %s", famfs_esc(path), strerror(errno));
	return -EIO;
}

static int write_shadow(const struct cli_cmd *cmd, const char *dev, const char *dir, int verbose)
{
	struct famfs_checker chk = {0};
	struct famfs_replay r = {0};
	struct shadow sh = {.cmd = cmd, .verbose = verbose};
	struct famfs_alloc alloc = {0};
	char why[512];
	long n;
	int rc;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return cli_error(cmd, "shadow directory %s: %s", famfs_esc(dir), strerror(errno));
	snprintf(sh.root, sizeof(sh.root), "%s/root", dir);
	if (mkdir(sh.root, 0755) < 0 && errno != EEXIST)
		return cli_error(cmd, "%s: %s", famfs_esc(sh.root), strerror(errno));
	rc = famfs_fs_open(dev, 0, &sh.fs, &chk);
	if (rc) {
		if (chk.count) {
			famfs_problem_format(&chk.first, why, sizeof(why));
			return cli_error(cmd, "%s: %s", famfs_esc(dev), why);
		}
		return cli_error(cmd, "%s: %s", famfs_esc(dev),
				 rc == -ENODEV ? "not a regular file, devdax or block device"
					       : strerror(-rc));
	}
	sh.ap = (struct famfs_applier){
	    .g = &sh.fs->geom, .ns = famfs_ns_new(), .alloc = &alloc, .log = sh.fs->ent};
	sh.fs->geom.devs = &sh.ap.devs; /* files on the devices the log adds */
	if (!sh.ap.ns || famfs_alloc_init(&alloc, sh.fs->geom.devsize, sh.fs->geom.meta_end,
					  sh.fs->geom.alloc_unit)) {
		famfs_ns_free(sh.ap.ns);
		famfs_fs_close(sh.fs);
		return cli_error(cmd, "out of memory");
	}
	n = famfs_log_replay(sh.fs, &r, shadow_entry, &sh);
	rc = CLI_OK;
	if (n < 0) {
		rc = cli_error(cmd, "%s: writing the shadow tree failed", famfs_esc(dev));
	} else if (r.bad_index >= 0) {
		famfs_problem_format(&r.bad, why, sizeof(why));
		rc = cli_error(cmd, "%s: replay stopped at a bad entry: %s", famfs_esc(dev), why);
	} else if (sh.refused) {
		rc = cli_error(cmd,
			       "%s: %llu file%s left out of the shadow tree (paths not valid "
			       "UTF-8)",
			       famfs_esc(dev), (unsigned long long)sh.refused,
			       sh.refused == 1 ? "" : "s");
	}
	if (!rc || sh.refused)
		printf("famfs logplay: %s: shadow tree in %s: %llu directories, %llu files, %llu "
		       "skipped\n",
		       famfs_esc(dev), famfs_esc(sh.root), (unsigned long long)sh.dirs,
		       (unsigned long long)sh.files, (unsigned long long)sh.skipped);
	famfs_applier_release(&sh.ap);
	famfs_alloc_destroy(&alloc);
	famfs_ns_free(sh.ap.ns);
	famfs_fs_close(sh.fs);
	return rc;
}

/* The device of @path: itself, or the device of the famfs mount it is in (into @buf). */
static const char *device_of(const char *path, char *buf, size_t size, bool *mounted)
{
	char root[PATH_MAX];

	*mounted = cli_famfs_root(path, root, sizeof(root)) == 0;
	if (!*mounted)
		return path;
	return cli_famfs_device(root, buf, size) ? NULL : buf;
}

/* A mount: ask its server to replay what it has not seen (user.famfs.logplay). */
static int catch_up(const struct cli_cmd *cmd, const char *path)
{
	char root[PATH_MAX], msg[512];
	ssize_t n;

	if (cli_famfs_root(path, root, sizeof(root)))
		return cli_error(cmd, "%s: not a famfs mount point", famfs_esc(path));
	n = cli_famfs_xattr(root, "user.famfs.logplay", msg, sizeof(msg));
	if (n < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(root), strerror((int)-n));
	printf("famfs logplay: %s: %s", famfs_esc(root), msg);
	return strstr(msg, "stopped at bad entry") ? CLI_FAIL : CLI_OK;
}

enum { OPT_YAML = 256, OPT_SHADOW, OPT_SHADOWTEST };

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	bool dry = false, yaml = false, shadow_flag = false, mounted;
	const char *arg, *path, *shadow = NULL, *daxdev = NULL, *dev;
	char devbuf[PATH_MAX];
	int c, nops, verbose = 0, method = 0;
	struct stat st;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		switch (c) {
		case 'n':
			dry = true;
			break;
		case OPT_YAML:
			yaml = dry = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'r':
		case 'm':
			/* The existing tools' choice of read or mmap for the log:
			 * exclusive there, meaningless here. */
			if (method && method != c)
				return cli_usage_error(cmd, "-r and -m exclude each other");
			method = c;
			fprintf(stderr,
				"famfs logplay: option -%c ignored: the log is read from the "
				"device\n",
				c);
			break;
		case OPT_SHADOW:
			if (shadow)
				return cli_usage_error(cmd, "--shadow given twice");
			shadow = arg;
			break;
		case 'S':
		case 's':
			shadow_flag = true;
			break;
		case 'd':
			daxdev = arg;
			break;
		}
	}
	nops = argc - cli_optind();
	if (shadow || shadow_flag) {
		/* --shadow DIR [--daxdev DEV | PATH], or -S DIR [--daxdev DEV | PATH] */
		int want = (shadow ? 0 : 1) + (daxdev ? 0 : 1);

		if (nops != want)
			return cli_usage_error(cmd, "the shadow tree: --shadow DIR (or -S DIR) and "
						    "--daxdev DEV or a PATH in a mount");
		if (!shadow)
			shadow = argv[cli_optind()];
		path = daxdev ? daxdev : argv[argc - 1];
		if (stat(path, &st) < 0)
			return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(errno));
		dev = device_of(path, devbuf, sizeof(devbuf), &mounted);
		if (!dev)
			return cli_error(cmd, "%s: cannot tell the device of its mount",
					 famfs_esc(path));
		return write_shadow(cmd, dev, shadow, verbose);
	}
	if (daxdev) {
		if (!dry || nops)
			return cli_usage_error(cmd, "--daxdev DEV goes with --shadow DIR or with "
						    "--dry-run (and no other operand)");
		return dry_run(cmd, daxdev, yaml);
	}
	if (nops != 1)
		return cli_usage_error(cmd, "expected one DEVICE or MOUNTPOINT");
	path = argv[cli_optind()];
	if (stat(path, &st) < 0)
		return cli_error(cmd, "%s: %s", famfs_esc(path), strerror(errno));
	dev = device_of(path, devbuf, sizeof(devbuf), &mounted);
	if (!dev)
		return cli_error(cmd, "%s: cannot tell the device of its mount", famfs_esc(path));
	if (mounted && !dry) {
		int rc = catch_up(cmd, path);

		return rc || !verbose ? rc : dry_run(cmd, dev, false);
	}
	if (S_ISDIR(st.st_mode) && !mounted)
		return cli_error(cmd, "%s: not a famfs mount point", famfs_esc(path));
	if (!dry)
		return cli_usage_error(cmd, "on a device, logplay only lists (--dry-run); give a "
					    "mount point to bring a mount up to date");
	return dry_run(cmd, dev, yaml);
}

static const struct cli_opt opts[] = {
    {"dry-run", 'n', NULL, "list what the log creates, entry by entry, changing nothing", NULL,
     false},
    {"yaml", OPT_YAML, NULL, "with --dry-run: print each file as a shadow YAML document", NULL,
     false},
    {"verbose", 'v', NULL, "on a mount: list the log after catching up; shadow: each path", NULL,
     false},
    {"shadow", OPT_SHADOW, "DIR", "write the shadow YAML tree under DIR/root, changing nothing",
     NULL, false},
    {"shadow-dir", 'S', NULL, "the same, DIR being the first operand (-S DIR PATH)", NULL, false},
    {"shadow-dir", 's', NULL, NULL, NULL, true},
    {"daxdev", 'd', "DEV", "read the log from DEV (with --shadow or --dry-run)", NULL, false},
    {"read", 'r', NULL, "no effect (the existing tools' way to read the metadata)", NULL, false},
    {"mmap", 'm', NULL, "no effect (the existing tools' way to read the metadata)", NULL, false},
    {"client", 'c', NULL, NULL, "a mount's role is the server's: master or client", false},
    {"set-daxmode", 'M', NULL, NULL, "devdax mode is the device's; set it with daxctl", false},
    {"shadowtest", OPT_SHADOWTEST, NULL, NULL, "the shadow tree is always written in full", false},
    {0},
};

const struct cli_cmd cli_cmd_logplay = {
    .name = "logplay",
    .args = "[-n [--yaml]] [-v] DEVICE|MOUNTPOINT\n"
	    "   or: famfs logplay --shadow DIR [-v] --daxdev DEV|PATH",
    .summary = "Replay the metadata log: list it, make a mount catch up, or write a shadow tree.",
    .details = "Replay starts at entry 0 and is idempotent: a path that already exists is\n"
	       "skipped. It stops at the first bad entry (after one re-read, in case another\n"
	       "host is still writing it) and says which and why. With a mount point (or any\n"
	       "path in a mount), -n lists that mount's device. --shadow writes the tree the\n"
	       "existing famfs daemon reads: under DIR/root, a directory per directory and,\n"
	       "per file, a file holding its YAML document (created if missing; DIR's parent\n"
	       "must exist).\n\n"
	       "Exit status: 0 the whole log replayed, 1 stopped at a bad entry or failed,\n"
	       "2 usage error.",
    .opts = opts,
    .run = run,
};
