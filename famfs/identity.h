/* SPDX-License-Identifier: Apache-2.0 */
/*
 * This host's identity (docs/format.md, "Roles"): a text uuid in
 * /opt/famfs/system_uuid, created with a random uuid (mode 0444) on first
 * use. FAMFS_SYSTEM_UUID_FILE names another file, so one machine can act as
 * several hosts in tests. The master is the host whose identity equals the
 * superblock's system uuid.
 */
#ifndef FAMFS_IDENTITY_H
#define FAMFS_IDENTITY_H

#include <stdint.h>

#define FAMFS_SYSTEM_UUID_PATH "/opt/famfs/system_uuid"
#define FAMFS_SYSTEM_UUID_ENV  "FAMFS_SYSTEM_UUID_FILE"

/** famfs_identity_path() - the identity file in use (environment or default). */
const char *famfs_identity_path(void);

/**
 * famfs_identity() - read this host's identity into @uuid (16 bytes),
 * creating the file (and its directory) with a random uuid if missing.
 * Returns 0, -errno from the file system, or -EINVAL if the file does not
 * start with a text uuid.
 */
int famfs_identity(uint8_t uuid[16]);

#endif
