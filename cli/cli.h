/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The famfs command: one file per subcommand, each exporting one struct
 * cli_cmd; option parsing, help and error messages are done here, the same
 * way for all of them.
 *
 * Exit status for every subcommand: 0 success, 1 failure (fsck: problems
 * found), 2 usage error or cannot run.
 */
#ifndef FAMFS_CLI_H
#define FAMFS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "size.h"

#define CLI_OK	  0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_opt {
	const char *name; /* long option */
	int key;	  /* short option letter, or a value >= 256 for long-only */
	const char *arg;  /* argument name shown in help, NULL for a flag */
	const char *help;
};

struct cli_cmd {
	const char *name;
	const char *args;	    /* synopsis after the name: "[OPTIONS] DEVICE" */
	const char *summary;	    /* one line */
	const char *details;	    /* text after the options (may be NULL) */
	const struct cli_opt *opts; /* terminated by {0} */
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

/**
 * cli_getopt() - next option of @cmd's command line: returns its key, -1 at
 * the first operand (cli_optind() is its index), and handles -h/--help
 * (prints help, exits 0) and unknown options (usage error, exits 2).
 * *@arg gets the option's argument.
 */
int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, const char **arg);
int cli_optind(void);

/** cli_help() - the full help of @cmd to @out. */
void cli_help(const struct cli_cmd *cmd, FILE *out);

/** cli_usage_error() - "famfs CMD: MESSAGE / Try ... --help"; returns CLI_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** cli_error() - "famfs CMD: MESSAGE" on stderr; returns CLI_FAIL. */
int cli_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** cli_fmt_size() - "4.00 GiB" into @buf (32 bytes is plenty). */
const char *cli_fmt_size(uint64_t bytes, char *buf, size_t size);

/**
 * cli_famfs_root() - mount root of the famfs that holds @path (or would
 * hold it: @path may not exist yet) into @root. Returns 0, -ENOTSUP (not on
 * a famfs mount) or -errno.
 */
int cli_famfs_root(const char *path, char *root, size_t size);

/** cli_famfs_xattr() - read xattr @name of @path as a NUL-terminated string; length or -errno. */
ssize_t cli_famfs_xattr(const char *path, const char *name, char *buf, size_t size);

/**
 * cli_famfs_create() - create file @path in a famfs mount with its final
 * @size (bytes) and @mode: open(O_CREAT|O_EXCL), optionally set its stripe
 * ("NSTRIPS,CHUNK,NBUCKETS" through the user.famfs.stripe xattr), then
 * fallocate(0, @size), which allocates and logs it in one step. A @size of
 * 0 makes an empty file. Returns 0 or -errno (-ENOSPC: see cli_famfs_nospace()).
 */
int cli_famfs_create(const char *path, uint64_t size, mode_t mode, const char *stripe);

/** cli_famfs_nospace() - why ENOSPC: "the log is full" or "no space left on the device". */
const char *cli_famfs_nospace(const char *path);

/* The subcommands (cli/<name>.c). */
extern const struct cli_cmd cli_cmd_mkfs, cli_cmd_fsck, cli_cmd_logplay, cli_cmd_mount,
    cli_cmd_umount, cli_cmd_mkdir, cli_cmd_creat, cli_cmd_cp, cli_cmd_getmap;

#endif
