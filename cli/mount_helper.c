// SPDX-License-Identifier: Apache-2.0
/*
 * mount.famfs: the helper mount(8) runs for `mount -t famfs DEVICE DIR` and
 * for fstab lines of type famfs. It asks the kernel for the file system type
 * famfs first (which loads an installed famfs.ko, as mount(2) of any type
 * does), then turns mount(8)'s options into famfs mount's and runs it: ro
 * becomes -r; options that only mount(8) reads
 * (defaults, auto, noauto, nofail, user, _netdev, x-*, ...) are dropped;
 * famfs_fused's own (poll_ms=, timeout=, cache=, fmap=, nofmap) and the
 * generic ones (nosuid, noatime, ...) go to -o.
 *
 * Usage (as mount(8) calls it): mount.famfs DEVICE DIR [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Options for mount(8) itself, never for the file system. */
static bool userspace_only(const char *o)
{
	static const char *const names[] = {"defaults", "auto",	   "noauto", "nofail",
					    "user",	"nouser",  "users",  "owner",
					    "group",	"_netdev", "loop",   "rw"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(o, names[i]))
			return true;
	return !strncmp(o, "x-", 2) || !strncmp(o, "comment=", 8) || !strncmp(o, "helper=", 7);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: mount.famfs DEVICE DIR [-sfnv] [-o OPTIONS]\n\n"
		     "mount(8)'s helper for file system type famfs: loads the famfs kernel\n"
		     "module if it is installed and not loaded, then runs famfs mount. OPTIONS:\n"
		     "ro (a read-only client mount), famfs_fused's (poll_ms=N, timeout=S,\n"
		     "cache=MODE, fmap=MODE, nofmap) and generic ones (nosuid, noatime, ...);\n"
		     "defaults, auto, noauto, nofail, user, _netdev, x-* are mount(8)'s own.\n");
}

int cli_mount_helper(int argc, char **argv)
{
	char opts[1024] = "";
	const char *pos[2] = {0}, *mnt_argv[12];
	bool ro = false, fake = false;
	int npos = 0, verbose = 0, n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CLI_OK;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "-t") || !strcmp(a, "-N")) {
			if (++i == argc) {
				usage(stderr);
				return CLI_USAGE;
			}
			if (a[1] != 'o')
				continue; /* the type is famfs; namespaces are mount(8)'s business
					   */
			char *copy = strdup(argv[i]), *save = NULL;

			if (!copy)
				return CLI_FAIL;
			for (char *o = strtok_r(copy, ",", &save); o;
			     o = strtok_r(NULL, ",", &save)) {
				if (!strcmp(o, "ro")) {
					ro = true;
				} else if (!userspace_only(o)) {
					size_t used = strlen(opts);

					snprintf(opts + used, sizeof(opts) - used, "%s%s",
						 used ? "," : "", o);
				}
			}
			free(copy);
		} else if (a[0] == '-' && a[1] && a[1] != '-') {
			for (const char *f = a + 1; *f; f++) {
				if (*f == 'f')
					fake = true;
				else if (*f == 'v')
					verbose++;
				else if (*f != 's' && *f != 'n') {
					fprintf(stderr, "mount.famfs: unknown option -%s\n",
						famfs_esc((char[]){*f, '\0'}));
					usage(stderr);
					return CLI_USAGE;
				}
			}
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (npos != 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	mnt_argv[n++] = "mount";
	if (verbose)
		mnt_argv[n++] = "-v";
	if (ro)
		mnt_argv[n++] = "-r";
	if (opts[0]) {
		mnt_argv[n++] = "-o";
		mnt_argv[n++] = opts;
	}
	mnt_argv[n++] = pos[0];
	mnt_argv[n++] = pos[1];
	mnt_argv[n] = NULL;
	if (verbose || fake) {
		fprintf(stderr, "mount.famfs:");
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %s", i ? famfs_esc(mnt_argv[i]) : "famfs mount");
		fprintf(stderr, "%s\n", fake ? " (not run: -f)" : "");
	}
	if (fake)
		return CLI_OK;
	/* mount -t famfs names the kernel's file system type famfs: like
	 * mount(2) of any type, it loads the module that provides it. */
	cli_famfs_load_module();
	return cli_cmd_mount.run(&cli_cmd_mount, n, (char **)mnt_argv);
}
