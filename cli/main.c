// SPDX-License-Identifier: Apache-2.0
/* famfs: the command-line front end. Dispatches to cli/<subcommand>.c. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd *const commands[] = {
    &cli_cmd_mkfs, &cli_cmd_mount,   &cli_cmd_umount, &cli_cmd_mkdir,  &cli_cmd_creat,
    &cli_cmd_cp,   &cli_cmd_verify,  &cli_cmd_getmap, &cli_cmd_flush,  &cli_cmd_chkread,
    &cli_cmd_fsck, &cli_cmd_logplay, &cli_cmd_mkmeta, &cli_cmd_devadd, &cli_cmd_daxdev,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: famfs COMMAND [OPTIONS] [ARGS]\n\n"
		"famfs shares fabric-attached memory (CXL, pmem, any DAX device) between hosts\n"
		"as ordinary files. Commands:\n\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\nRun 'famfs COMMAND --help' for a command's options; 'famfs --version' for the\n"
		"version. mkfs.famfs is famfs mkfs; mount.famfs and umount.famfs are mount(8)'s\n"
		"and umount(8)'s helpers.\n"
		"Exit status: 0 success, 1 failure (fsck: problems found), 2 usage error or "
		"cannot run.\n");
}

static const struct cli_cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *prog = basename(argv[0]);
	const struct cli_cmd *cmd;

	/* mkfs.famfs is famfs mkfs; mount.famfs is mount(8)'s helper */
	if (!strcmp(prog, "mkfs.famfs"))
		return cli_cmd_mkfs.run(&cli_cmd_mkfs, argc, argv);
	if (!strcmp(prog, "mount.famfs"))
		return cli_mount_helper(argc, argv);
	/* umount.famfs, umount.fuse.famfs: umount(8)'s helper */
	if (!strcmp(prog, "umount.famfs") || !strcmp(prog, "umount.fuse.famfs"))
		return cli_umount_helper(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("famfs %s\n", FAMFS_PKG_VERSION);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help") ||
	    !strcmp(argv[1], "-?")) {
		/* famfs -h COMMAND: that command's help */
		if (argc > 2 && (cmd = find(argv[2]))) {
			cli_help(cmd, stdout);
			return CLI_OK;
		}
		usage(stdout);
		return CLI_OK;
	}
	cmd = find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "famfs: unknown command '%s'\n", famfs_esc(argv[1]));
		usage(stderr);
		return CLI_USAGE;
	}
	return cmd->run(cmd, argc - 1, argv + 1);
}
