// SPDX-License-Identifier: Apache-2.0
/* famfs mount/umount on /dev/daxX.Y: which driver serves the device. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "daxbind.h"

int cli_devdax_mode(const struct cli_cmd *cmd, const char *dev, bool kernel, char *was, size_t size)
{
	const char *want = kernel ? FAMFS_DAX_DRIVER : FAMFS_DEVDAX_DRIVER;
	char cur[64];
	struct stat st;
	pid_t busy = 0;
	double ms;
	int rc;

	if (was && size)
		was[0] = '\0';
	if (stat(dev, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    famfs_daxdev_driver(st.st_rdev, cur, sizeof(cur)))
		return CLI_OK; /* not a devdax device: nothing to do */
	if (!strcmp(cur, want))
		return CLI_OK;
	if (kernel && !famfs_daxdev_kernel_mode())
		return CLI_OK; /* modules not loaded: user-space data path */
	rc = famfs_daxdev_bind(dev, want, &ms, &busy);
	if (rc == -EBUSY)
		return cli_error(cmd, "%s: not moved to %s: process %ld has it open or mapped",
				 famfs_esc(dev), want, (long)busy);
	if (rc)
		return cli_error(cmd, "%s: binding to %s failed: %s (it is on '%s' now)",
				 famfs_esc(dev), want, strerror(-rc),
				 famfs_daxdev_driver(st.st_rdev, cur, sizeof(cur)) ? "?" : cur);
	printf("famfs %s: %s: bound to %s in %.0f ms\n", cmd->name, famfs_esc(dev), want, ms);
	if (was && size)
		snprintf(was, size, "%s", cur);
	return CLI_OK;
}

void cli_devdax_restore(const struct cli_cmd *cmd, const char *dev, const char *was)
{
	pid_t busy = 0;
	double ms;
	int rc;

	if (!was[0])
		return; /* not moved */
	if (strcmp(was, FAMFS_DAX_DRIVER) && strcmp(was, FAMFS_DEVDAX_DRIVER)) {
		fprintf(stderr,
			"famfs %s: %s: left on %s (it was on %s, which famfs does not bind)\n",
			cmd->name, famfs_esc(dev), FAMFS_DAX_DRIVER, famfs_esc(was));
		return;
	}
	rc = famfs_daxdev_bind(dev, was, &ms, &busy);
	if (rc == -EBUSY)
		fprintf(stderr,
			"famfs %s: %s: not given back to %s: process %ld has it open or mapped\n",
			cmd->name, famfs_esc(dev), was, (long)busy);
	else if (rc)
		fprintf(stderr, "famfs %s: %s: not given back to %s: %s\n", cmd->name,
			famfs_esc(dev), was, strerror(-rc));
	else
		printf("famfs %s: %s: given back to %s in %.0f ms\n", cmd->name, famfs_esc(dev),
		       was, ms);
}
