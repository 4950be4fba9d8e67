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

#include "path.h" /* famfs_esc(): every name printed goes through it */
#include "size.h"

#define CLI_OK	  0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_opt {
	const char *name; /* long option */
	int key;	  /* short option letter, or a value >= 256 for long-only */
	const char *arg;  /* argument name shown in help, NULL for a flag */
	const char *help;
	/*
	 * Non-NULL: an option of the existing famfs tools that means nothing
	 * here. It is accepted, cli_getopt() says on stderr that it is ignored
	 * and why (this text), and never returns it. Listed apart in --help.
	 */
	const char *ignored;
	/* Another spelling of an earlier option with the same key: not in --help. */
	bool alias;
};

/* The key of --help (and of -h, unless a command gives -h another meaning). */
#define CLI_OPT_HELP 0x7ffe

struct cli_cmd {
	const char *name;
	const char *args;	    /* synopsis after the name: "[OPTIONS] DEVICE" */
	const char *summary;	    /* one line */
	const char *details;	    /* text after the options (may be NULL) */
	const struct cli_opt *opts; /* terminated by {0} */
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

/**
 * cli_getopt() - next option of @cmd's command line: returns its key, or -1
 * when there are no more (options may follow operands: the operands are then
 * moved to the end, argv[cli_optind()] being the first), and handles --help, -h
 * (unless @cmd defines its own -h) and -? (print help, exit 0), options
 * marked ignored (a note on stderr, then the next option) and unknown
 * options (usage error, exits 2). *@arg gets the option's argument.
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

/** cli_parse_mode() - octal permissions (at most 07777) from @arg; 0 or -EINVAL. */
int cli_parse_mode(const char *arg, mode_t *mode);

/**
 * cli_parse_id() - a user (@group false) or group id from @arg: a number
 * below 2^32-1, or a name from the password or group database. 0 or -EINVAL
 * (negative numbers, unknown names).
 */
int cli_parse_id(const char *arg, bool group, unsigned int *id);

/**
 * cli_parse_threads() - a thread count for -t: 0 (the command's default)
 * to CLI_MAX_THREADS. 0 or -EINVAL.
 */
int cli_parse_threads(const char *arg, unsigned int *n);
#define CLI_MAX_THREADS 256

/**
 * cli_owner_opt() - the -m MODE, -u UID, -g GID options (@key 'm', 'u' or
 * 'g') of the commands that create files or directories: @arg parsed by
 * cli_parse_mode() into *@mode or cli_parse_id() into *@uid / *@gid.
 * 0, or CLI_USAGE after the usage error ("--mode X: not an octal mode",
 * "--uid X: not a user", "--gid X: not a group"). Any other @key: 0.
 */
int cli_owner_opt(const struct cli_cmd *cmd, int key, const char *arg, mode_t *mode,
		  unsigned int *uid, unsigned int *gid);

/**
 * cli_threads_opt() - the -t/--threads N option: cli_parse_threads() into
 * *@n. 0, or CLI_USAGE after the usage error ("--threads X: 0 to CLI_MAX_THREADS").
 */
int cli_threads_opt(const struct cli_cmd *cmd, const char *arg, unsigned int *n);

/**
 * cli_parallel() - call @fn(@arg, i) for every i in [0, @n) on @threads
 * threads (1: in the calling thread, in order; more: each thread takes the
 * next index until none is left). Returns 0, or -errno if no thread could
 * be started (then nothing ran).
 */
int cli_parallel(size_t n, unsigned int threads, void (*fn)(void *arg, size_t i), void *arg);

/**
 * cli_pattern_fill() - the test pattern of @seed for bytes [@off, @off+@len)
 * of a file into @buf: the file is a sequence of 64-bit little-endian words,
 * word k (at byte 8k) being @seed * (k + 1). Written by `famfs creat -S`,
 * checked by `famfs verify` and the conformance harness.
 */
void cli_pattern_fill(void *buf, uint64_t off, size_t len, uint64_t seed);

/**
 * cli_pattern_check() - compare @buf, bytes [@off, @off+@len) of a file,
 * with the pattern of @seed. Returns the index in @buf of the first byte
 * that differs, or @len if all match.
 */
size_t cli_pattern_check(const void *buf, uint64_t off, size_t len, uint64_t seed);

/** cli_fmt_size() - "4.00 GiB" into @buf (32 bytes is plenty). */
const char *cli_fmt_size(uint64_t bytes, char *buf, size_t size);

/**
 * cli_famfs_root() - mount root of the famfs that holds @path (or would
 * hold it: @path may not exist yet) into @root. Returns 0, -ENOTSUP (not on
 * a famfs mount) or -errno.
 */
int cli_famfs_root(const char *path, char *root, size_t size);

/**
 * cli_resolve() - @path made absolute and canonical into @out: the longest
 * existing prefix through realpath(3), the rest (which does not exist yet)
 * by removing "." and empty components and applying ".." to what comes
 * before. So "MNT/a/../../x" names MNT's parent's x even when MNT/a does
 * not exist. Returns 0 or -errno.
 */
int cli_resolve(const char *path, char *out, size_t size);

/**
 * cli_famfs_device() - the device (as the mount names it: the source in
 * /proc/self/mountinfo) of the famfs mounted at @root, into @dev.
 * Returns 0, -ENOENT (no famfs mount there) or -errno.
 */
int cli_famfs_device(const char *root, char *dev, size_t size);

/**
 * cli_famfs_mount_of() - the mount point of a famfs mount of @dev (a
 * device or image path; compared after realpath) into @mnt. Returns 0,
 * -ENOENT (not mounted) or -errno.
 */
int cli_famfs_mount_of(const char *dev, char *mnt, size_t size);

/**
 * cli_become_owner() - make what this thread creates from now on owned by
 * @uid and @gid ((unsigned)-1: keep the caller's): sets the thread's
 * filesystem uid/gid, which FUSE passes to famfs_fused with each request,
 * keeping root's capabilities (SECBIT_NO_SETUID_FIXUP) so permission
 * checks still pass. Ownership is logged at creation and can never be
 * changed afterwards. Returns 0, or -EPERM when the caller may not (not
 * root and another id).
 */
int cli_become_owner(unsigned int uid, unsigned int gid);

/** cli_famfs_xattr() - read xattr @name of @path as a NUL-terminated string; length or -errno. */
ssize_t cli_famfs_xattr(const char *path, const char *name, char *buf, size_t size);

/** cli_famfs_module_loaded() - is the famfs kernel module (famfs.ko) loaded (/sys/module/famfs)? */
bool cli_famfs_module_loaded(void);

/**
 * cli_famfs_module_installed() - is famfs.ko installed for the running
 * kernel: named in /lib/modules/$(uname -r)/modules.dep (a file famfs.ko,
 * compressed or not), so that modprobe famfs would load it?
 */
bool cli_famfs_module_installed(void);

/**
 * cli_famfs_load_module() - ask the kernel for the file system type
 * "famfs" (fsopen(2)), as mount(2) of that type does: if famfs.ko is
 * installed and not loaded, the kernel loads it (its alias fs-famfs), and
 * famfs_fused then mounts through it. Needs CAP_SYS_ADMIN; returns
 * cli_famfs_module_loaded() afterwards.
 */
bool cli_famfs_load_module(void);

/**
 * cli_data_path() - the data path of the famfs mount at @root, in words,
 * from its server's user.famfs.stats: "kernel DAX (...)" when the kernel
 * maps the files itself, "server (why)" when the server moves the data.
 * Returns @buf (NUL-terminated, truncated to @size), or NULL if @root's
 * server does not say.
 */
const char *cli_data_path(const char *root, char *buf, size_t size);

/**
 * cli_famfs_create() - create file @path in a famfs mount with its final
 * @size (bytes) and @mode: open(O_CREAT|O_EXCL), optionally set its stripe
 * ("NSTRIPS,CHUNK,NBUCKETS" through the user.famfs.stripe xattr), then
 * fallocate(0, @size), which allocates and logs it in one step. A @size of
 * 0 makes an empty file. Returns 0 or -errno (-ENOSPC: see cli_famfs_nospace()).
 */
int cli_famfs_create(const char *path, uint64_t size, mode_t mode, const char *stripe);

/**
 * cli_famfs_create_fd() - as cli_famfs_create(), but leaves the file open
 * for writing: the descriptor goes to *@fd (the caller closes it).
 */
int cli_famfs_create_fd(const char *path, uint64_t size, mode_t mode, const char *stripe, int *fd);

/**
 * cli_stripe_opts() - the stripe "NSTRIPS,CHUNK,NBUCKETS" from the existing
 * famfs options -N/-B/-C (@chunk may be NULL: 2 MiB) into @buf. NULL with
 * no -N; on a bad combination, prints the reason and returns NULL with
 * *@bad set.
 */
const char *cli_stripe_opts(const struct cli_cmd *cmd, const char *nstrips, const char *nbuckets,
			    const char *chunk, char *buf, size_t size, bool *bad);

/**
 * cli_mountinfo_unescape() - undo, in place, the \ooo escapes with which
 * /proc/self/mountinfo writes blanks and backslashes in paths.
 */
void cli_mountinfo_unescape(char *s);

/** cli_famfs_nospace() - why ENOSPC: "the log is full" or "no space left on the device". */
const char *cli_famfs_nospace(const char *path);

/**
 * cli_devdax_mode() - put the devdax device @dev on the driver famfs needs
 * (cli/devdax.c): with @kernel, on famfs_dax if kernel-mode famfs is
 * possible (the famfs and famfs_dax modules are loaded), else unchanged;
 * without it, back on device_dax. Anything but a devdax device is left
 * alone. @was (may be NULL; @size bytes): the driver it was moved from, ""
 * if it was not moved. Prints what it did; CLI_OK, or CLI_FAIL with the
 * reason printed (the device is busy, the driver refused it).
 */
int cli_devdax_mode(const struct cli_cmd *cmd, const char *dev, bool kernel, char *was,
		    size_t size);

/**
 * cli_devdax_restore() - give the devdax device @dev back to @was, the
 * driver cli_devdax_mode() moved it from (nothing if @was is ""): for a
 * mount that failed after the move. Prints what it did, or why not (a
 * process has it open, @was is a driver famfs does not bind).
 */
void cli_devdax_restore(const struct cli_cmd *cmd, const char *dev, const char *was);

/* The subcommands (cli/<name>.c). */
extern const struct cli_cmd cli_cmd_mkfs, cli_cmd_fsck, cli_cmd_logplay, cli_cmd_mount,
    cli_cmd_umount, cli_cmd_mkdir, cli_cmd_creat, cli_cmd_cp, cli_cmd_getmap, cli_cmd_verify,
    cli_cmd_flush, cli_cmd_chkread, cli_cmd_mkmeta, cli_cmd_devadd, cli_cmd_daxdev;

struct famfs_dev;

/**
 * cli_mkfs_devdax_ok() - may mkfs format @path, if it is a devdax device:
 * only while device_dax or famfs_dax drives it (bound to kmem it is system
 * RAM; bound to nothing it cannot be opened). Checked before anything opens
 * @path. Returns CLI_OK (anything that is not a devdax device passes), or
 * CLI_FAIL with the refusal printed.
 */
int cli_mkfs_devdax_ok(const struct cli_cmd *cmd, const char *path);

/**
 * cli_mkfs_open() - open @path to rewrite it from scratch (mkfs, mkfs -k,
 * each device of a multi-device mkfs): refused, -f or not, unless it is
 * memory that nobody on this host uses. A block device is opened
 * exclusively (O_EXCL, held until *@out is closed, as mkfs.ext4 does) and
 * must support DAX; a devdax device must pass cli_mkfs_devdax_ok() and be
 * open or mapped by no other process; no famfs opener of this host may have
 * it (the in-use lock and the writer lock are taken, held until closed).
 * Every refusal is printed; returns CLI_OK with *@out open read-write, or
 * CLI_FAIL.
 */
int cli_mkfs_open(const struct cli_cmd *cmd, const char *path, struct famfs_dev **out);

/* What famfs mkfs was asked for (cli/mkfs.c), for cli_mkfs_devices(). */
struct cli_mkfs_opts {
	uint64_t log_len; /* 0: the default for the primary's size */
	uint64_t size;	  /* 0, or create/resize image files to this many bytes */
	uint64_t unit;	  /* allocation unit, bytes */
	bool force, small, verbose;
};

/**
 * cli_mkfs_devices() - famfs mkfs over the @n devices @paths (the first the
 * primary; cli/mkfs_devices.c): every one checked and claimed as mkfs does
 * one device, then famfs_mkfs_devices(). Returns the exit status.
 */
int cli_mkfs_devices(const struct cli_cmd *cmd, const struct cli_mkfs_opts *o, char **paths, int n);

struct famfs_superblock;

/**
 * cli_secondary_text() - "PATH is a secondary device of famfs file system
 * F (device U; its primary is device P)" for the valid secondary
 * superblock @sb read from @path (a static buffer).
 */
const char *cli_secondary_text(const char *path, const struct famfs_superblock *sb);

/**
 * cli_find_primary() - the primary device (into @primary) of the file
 * system whose secondary superblock @sb was read from @path: CLI_OK, or
 * CLI_FAIL after saying why none was found (cli/member.c).
 */
int cli_find_primary(const struct cli_cmd *cmd, const char *path, const struct famfs_superblock *sb,
		     char *primary, size_t size);

struct famfs_fsck_stats;
struct famfs_checker;

/**
 * cli_fsck_devices() - what famfs fsck adds for a file system of several
 * devices (cli/fsck_devices.c): a line per device (uuid, local path,
 * capacity, allocated, free, files) from @st, and each secondary found and
 * checked on this host (famfs_device_check(): DEV_* problems to @chk).
 * @given, read from @given_path, is the secondary fsck was given (NULL: it
 * was given the primary @primary); one the log does not name is
 * DEV_UNLISTED. Prints nothing for one device given as the primary.
 */
void cli_fsck_devices(const struct famfs_superblock *sb, const struct famfs_fsck_stats *st,
		      const char *primary, const struct famfs_superblock *given,
		      const char *given_path, struct famfs_checker *chk);

struct famfs_image;

/**
 * cli_member_image() - famfs_image_open() of the file system that @target
 * (its primary, or a secondary: the primary is then found) belongs to, with
 * @flags, replayed to the end; the primary's path into @primary. CLI_OK, or
 * CLI_FAIL after the message (not the master, mounted read-write, no famfs,
 * replay stops at a bad entry, ...).
 */
int cli_member_image(const struct cli_cmd *cmd, const char *target, unsigned int flags,
		     struct famfs_image **im, char *primary, size_t size);

/**
 * cli_famfs_umount() - unmount the famfs at @mnt and wait for its server to
 * exit (see famfs umount). Returns 0 or -errno (-EINVAL: not a famfs mount).
 */
int cli_famfs_umount(const char *mnt);

/* How cli_famfs_umount_how() unmounts (umount(8)'s -l, -f, -r). */
#define CLI_UMOUNT_LAZY	  0x1 /* detach (MNT_DETACH), and do not wait for the server */
#define CLI_UMOUNT_FORCE  0x2 /* MNT_FORCE */
#define CLI_UMOUNT_RDONLY 0x4 /* remount read-only if unmounting fails */

/**
 * cli_famfs_umount_how() - cli_famfs_umount() with @how (CLI_UMOUNT_*),
 * through libmount (which keeps its utab in step). Returns 0 or -errno
 * (-EINVAL: not a famfs mount).
 */
int cli_famfs_umount_how(const char *mnt, unsigned int how);

/**
 * umount.famfs / umount.fuse.famfs MOUNTPOINT [-flnrv] [-N NS] [-t TYPE]:
 * umount(8)'s helper (cli/umount.c). Exit status as umount(8)'s: 0, 1
 * usage, 32 failure.
 */
int cli_umount_helper(int argc, char **argv);

/** mount.famfs DEVICE DIR [-sfnv] [-o OPTIONS]: mount(8)'s helper (cli/mount_helper.c). */
int cli_mount_helper(int argc, char **argv);

#ifndef FAMFS_PKG_VERSION
#define FAMFS_PKG_VERSION "unknown"
#endif

#endif
