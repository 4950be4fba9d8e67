/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shadow YAML: one document per file, as the existing famfs FUSE daemon
 * reads it (docs/format.md, "Shadow YAML"), written and read with libyaml.
 */
#ifndef FAMFS_SHADOW_H
#define FAMFS_SHADOW_H

#include <stdio.h>

#include "format.h"

/**
 * famfs_yaml_emit_file() - write @f (path, size, flags, mode, uid, gid and
 * its simple or striped extent list) to @out as one YAML document
 * ("---" ... "..."), built whole in memory first: on any error nothing is
 * written. Every libyaml call is checked. Returns 0, -EILSEQ (the path is
 * not valid UTF-8: YAML cannot carry it, and an escaped form would name
 * another file to the existing famfs daemon, so it is refused), -EINVAL (no
 * NUL in relpath), -ENOMEM or -EIO.
 */
int famfs_yaml_emit_file(FILE *out, const struct famfs_file_body *f);

struct famfs_yaml_reader;

/** famfs_yaml_reader_new() - read documents from @in; NULL on ENOMEM. */
struct famfs_yaml_reader *famfs_yaml_reader_new(FILE *in);
void famfs_yaml_reader_free(struct famfs_yaml_reader *r);

/**
 * famfs_yaml_read_file() - parse the next document into @f (zeroed first).
 * Key order is free; unknown keys, missing path/size/extent list, counts
 * that disagree with the list and values that do not fit their fields are
 * refused. Returns 1 (a file), 0 (end of stream) or -EINVAL with a message
 * naming the key or line in @err (@errsz bytes).
 */
int famfs_yaml_read_file(struct famfs_yaml_reader *r, struct famfs_file_body *f, char *err,
			 size_t errsz);

#endif
