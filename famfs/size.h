/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FAMFS_SIZE_H
#define FAMFS_SIZE_H

#include <stdint.h>

/**
 * famfs_parse_size() - "4G", "512M", "8MiB", "4096", "0x200000" to bytes
 * (suffixes K M G T are powers of 1024). Returns 0, -EINVAL or -ERANGE.
 */
int famfs_parse_size(const char *s, uint64_t *out);

#endif
