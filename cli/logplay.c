// SPDX-License-Identifier: Apache-2.0
/* famfs logplay: list what the log creates, or bring a mount up to date. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "cli.h"
#include "fs.h"
#include "log.h"
#include "ns.h"
#include "shadow.h"

enum { OPT_YAML = 256 };

struct play {
	struct famfs_fs *fs;
	struct famfs_ns *ns;
	bool yaml;
	uint64_t dirs, files, skipped;
};

static int show(const struct famfs_log_entry *e, uint64_t index, void *arg)
{
	struct play *p = arg;
	struct famfs_node *n;
	const char *status = "";
	char line[1024];
	int rc;

	rc = famfs_ns_apply(p->ns, &p->fs->geom, e, index, &n);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EEXIST)
		status = "  (skipped: path exists)";
	else if (rc == -ENOENT || rc == -ENOTDIR)
		status = "  (skipped: no parent directory)";
	if (rc) {
		p->skipped++;
	} else if (n) {
		if (famfs_entry_type(&p->fs->geom, e) == FAMFS_LOG_MKDIR)
			p->dirs++;
		else
			p->files++;
	}
	if (p->yaml) {
		if (!rc && n && famfs_entry_type(&p->fs->geom, e) == FAMFS_LOG_FILE)
			return famfs_yaml_emit_file(stdout, &e->file);
		return 0;
	}
	famfs_entry_describe(&p->fs->geom, e, line, sizeof(line));
	printf("%6llu  %s%s\n", (unsigned long long)index, line, status);
	return 0;
}

static int dry_run(const struct cli_cmd *cmd, const char *path, bool yaml)
{
	struct famfs_checker chk = {0};
	struct famfs_replay r = {0};
	struct play p = {.yaml = yaml};
	char why[512];
	long n;
	int rc;

	rc = famfs_fs_open(path, 0, &p.fs, &chk);
	if (rc) {
		if (chk.count) {
			famfs_problem_format(&chk.first, why, sizeof(why));
			return cli_error(cmd, "%s: %s", path, why);
		}
		return cli_error(cmd, "%s: %s", path,
				 rc == -ENODEV ? "not a regular file, devdax or block device"
					       : strerror(-rc));
	}
	p.ns = famfs_ns_new();
	if (!p.ns) {
		famfs_fs_close(p.fs);
		return cli_error(cmd, "out of memory");
	}
	n = famfs_log_replay(p.fs, &r, show, &p);
	rc = CLI_OK;
	if (n < 0) {
		rc = cli_error(cmd, "%s: replay failed: %s", path, strerror((int)-n));
	} else if (r.bad_index >= 0) {
		famfs_problem_format(&r.bad, why, sizeof(why));
		rc = cli_error(cmd, "%s: replay stopped at a bad entry: %s", path, why);
	}
	if (!yaml)
		fprintf(n < 0 || r.bad_index >= 0 ? stderr : stdout,
			"%ld entries: %llu directories and %llu files created, %llu skipped; "
			"%llu of %llu log slots used\n",
			n < 0 ? 0 : n, (unsigned long long)p.dirs, (unsigned long long)p.files,
			(unsigned long long)p.skipped, (unsigned long long)famfs_log_used(p.fs),
			(unsigned long long)p.fs->geom.nslots);
	famfs_ns_free(p.ns);
	famfs_fs_close(p.fs);
	return rc;
}

/* A mount: ask its server to replay what it has not seen (user.famfs.logplay). */
static int catch_up(const struct cli_cmd *cmd, const char *path, bool dry)
{
	char root[PATH_MAX], msg[512];
	ssize_t n;

	if (dry)
		return cli_usage_error(cmd, "--dry-run lists a device's log; give the DEVICE");
	if (cli_famfs_root(path, root, sizeof(root)))
		return cli_error(cmd, "%s: not a famfs mount point", path);
	n = cli_famfs_xattr(root, "user.famfs.logplay", msg, sizeof(msg));
	if (n < 0)
		return cli_error(cmd, "%s: %s", root, strerror((int)-n));
	printf("famfs logplay: %s: %s", root, msg);
	return strstr(msg, "stopped at bad entry") ? CLI_FAIL : CLI_OK;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	bool dry = false, yaml = false;
	const char *arg, *path;
	struct stat st;
	int c;

	while ((c = cli_getopt(cmd, argc, argv, &arg)) != -1) {
		if (c == 'n')
			dry = true;
		else if (c == OPT_YAML)
			yaml = dry = true;
	}
	if (argc - cli_optind() != 1)
		return cli_usage_error(cmd, "expected one DEVICE or MOUNTPOINT");
	path = argv[cli_optind()];
	if (stat(path, &st) < 0)
		return cli_error(cmd, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return catch_up(cmd, path, dry);
	if (!dry)
		return cli_usage_error(cmd, "on a device, logplay only lists (--dry-run); give a "
					    "mount point to bring a mount up to date");
	return dry_run(cmd, path, yaml);
}

static const struct cli_opt opts[] = {
    {"dry-run", 'n', NULL, "list what the log creates, entry by entry, changing nothing"},
    {"yaml", OPT_YAML, NULL, "with --dry-run: print each file as a shadow YAML document"},
    {0},
};

const struct cli_cmd cli_cmd_logplay = {
    .name = "logplay",
    .args = "[--dry-run [--yaml]] DEVICE|MOUNTPOINT",
    .summary = "Replay the metadata log: list it from a device, or make a mount catch up.",
    .details = "Replay starts at entry 0 and is idempotent: a path that already exists is\n"
	       "skipped. It stops at the first bad entry (after one re-read, in case another\n"
	       "host is still writing it) and says which and why.\n\n"
	       "Exit status: 0 the whole log replayed, 1 stopped at a bad entry or failed,\n"
	       "2 usage error.",
    .opts = opts,
    .run = run,
};
