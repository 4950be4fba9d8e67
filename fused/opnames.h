/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The opcode names user.famfs.stats prints before each request count
 * (docs/protocol.md, "Counters"): one table for the server that prints them
 * and the tests that read them back.
 */
#ifndef FUSED_OPNAMES_H
#define FUSED_OPNAMES_H

#include <linux/fuse.h>

#define FUSED_OP_GET_FMAP   54
#define FUSED_OP_GET_DAXDEV 55
#define FUSED_NOPS	    64 /* opcodes counted individually; the rest as OTHER */

static const char *const fused_opnames[FUSED_NOPS] = {
    [FUSE_LOOKUP] = "LOOKUP",
    [FUSE_FORGET] = "FORGET",
    [FUSE_GETATTR] = "GETATTR",
    [FUSE_SETATTR] = "SETATTR",
    [FUSE_MKNOD] = "MKNOD",
    [FUSE_MKDIR] = "MKDIR",
    [FUSE_UNLINK] = "UNLINK",
    [FUSE_RMDIR] = "RMDIR",
    [FUSE_RENAME] = "RENAME",
    [FUSE_LINK] = "LINK",
    [FUSE_OPEN] = "OPEN",
    [FUSE_READ] = "READ",
    [FUSE_WRITE] = "WRITE",
    [FUSE_STATFS] = "STATFS",
    [FUSE_RELEASE] = "RELEASE",
    [FUSE_FSYNC] = "FSYNC",
    [FUSE_SETXATTR] = "SETXATTR",
    [FUSE_GETXATTR] = "GETXATTR",
    [FUSE_LISTXATTR] = "LISTXATTR",
    [FUSE_FLUSH] = "FLUSH",
    [FUSE_INIT] = "INIT",
    [FUSE_OPENDIR] = "OPENDIR",
    [FUSE_READDIR] = "READDIR",
    [FUSE_RELEASEDIR] = "RELEASEDIR",
    [FUSE_ACCESS] = "ACCESS",
    [FUSE_CREATE] = "CREATE",
    [FUSE_INTERRUPT] = "INTERRUPT",
    [FUSE_DESTROY] = "DESTROY",
    [FUSE_BATCH_FORGET] = "BATCH_FORGET",
    [FUSE_FALLOCATE] = "FALLOCATE",
    [FUSE_READDIRPLUS] = "READDIRPLUS",
    [FUSE_LSEEK] = "LSEEK",
    [FUSED_OP_GET_FMAP] = "GET_FMAP",
    [FUSED_OP_GET_DAXDEV] = "GET_DAXDEV",
};

#endif
