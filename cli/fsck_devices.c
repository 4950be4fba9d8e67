// SPDX-License-Identifier: Apache-2.0
/* famfs fsck over several devices: each device's figures, each secondary found and checked here. */
#include <string.h>
#include <uuid/uuid.h>

#include "check.h"
#include "cli.h"
#include "devset.h"

void cli_fsck_devices(const struct famfs_superblock *sb, const struct famfs_fsck_stats *st,
		      const char *primary, const struct famfs_superblock *given,
		      const char *given_path, struct famfs_checker *chk)
{
	bool listed = false;

	if (st->ndevs <= 1 && !given)
		return; /* one device: the lines above said it all */
	printf("  devices       %u: the primary and %u the log added\n", st->ndevs, st->ndevs - 1);
	for (uint32_t i = 0; i < st->ndevs; i++) {
		const struct famfs_fsck_dev *d = &st->dev[i];
		struct famfs_devcheck dc = {.code = FAMFS_P_COUNT};
		struct famfs_checker found = {0}; /* its problem, printed after its line */
		char u[UUID_STR_LEN], b1[32], b2[32], b3[32];
		const char *where = primary;

		if (given && !memcmp(d->uuid, given->device_uuid, FAMFS_UUID_LEN))
			listed = true;
		if (i) {
			famfs_device_check(sb->fs_uuid, sb->device_uuid, i, d->uuid, d->capacity,
					   d->log_index, NULL, 0, &dc, &found);
			where = dc.code == FAMFS_P_COUNT || dc.code == FAMFS_P_DEV_SIZE ||
					dc.code == FAMFS_P_DEV_FOREIGN
				    ? dc.path
				    : "(not on this host)";
		}
		uuid_unparse(d->uuid, u);
		printf(
		    "  device %-6u %s %s\n                %s capacity, %s allocated to files, %s "
		    "free, %llu file%s\n",
		    i, u, famfs_esc(where), cli_fmt_size(d->capacity, b1, sizeof(b1)),
		    cli_fmt_size(d->alloc_bytes, b2, sizeof(b2)),
		    cli_fmt_size(d->capacity > d->meta_bytes + d->alloc_bytes
				     ? d->capacity - d->meta_bytes - d->alloc_bytes
				     : 0,
				 b3, sizeof(b3)),
		    (unsigned long long)d->files, d->files == 1 ? "" : "s");
		if (found.count)
			famfs_report_problem(chk, &found.first);
	}
	if (given && !listed) {
		char u[UUID_STR_LEN];

		uuid_unparse(given->device_uuid, u);
		famfs_report(chk, FAMFS_P_DEV_UNLISTED, -1,
			     "%s (device %s) names this file system's primary, but its log adds "
			     "no such device (an interrupted devadd: famfs devadd adds it again)",
			     famfs_esc(given_path), u);
	}
}
