/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs_kbuild.h - forced into every object of famfs.ko (kmod/Kbuild:
 * ccflags-y += -include), after kbuild's own kconfig.h and
 * compiler_types.h, so what it changes holds for the unchanged fs/fuse
 * sources of the kernel we build for.  It is what makes that fs/fuse a
 * module that lives BESIDE the kernel's own FUSE without a patch:
 *
 *  - no exported symbols: EXPORT_SYMBOL*() expand to nothing, so nothing
 *    can link against famfs.ko and nothing clashes with fuse.ko's exports
 *    (module-internal globals of two modules never collide);
 *  - no module aliases: famfs.ko never autoloads for /dev/fuse, for the
 *    "fuse"/"fuseblk" file system types or for char-major-10-229;
 *  - the channel device gets a dynamic minor (FUSE_MINOR is fixed: 229
 *    belongs to /dev/fuse);
 *  - s_magic and statfs f_type are famfs's magic, not FUSE_SUPER_MAGIC;
 *  - no virtiofs DAX window code (CONFIG_FUSE_DAX off: dax.c is not built
 *    and FUSE_IS_DAX() is constant false, so S_DAX on a famfs inode never
 *    reaches it), no passthrough (6.12: CONFIG_FUSE_PASSTHROUGH off), and
 *    no trace events of fs/fuse's own (6.12: the "fuse" trace system is
 *    the kernel's: Kbuild compiles dev.c with NOTRACE);
 *  - every message of the module starts "famfs: " (fuse_i.h keeps a
 *    pr_fmt defined before it).
 * The names that are string literals (file system type, misc device,
 * kobject, slab caches) are changed by kmod/patches/<series>/01-rename.patch.
 */
#ifndef _FAMFS_KBUILD_H
#define _FAMFS_KBUILD_H

#define pr_fmt(fmt) "famfs: " fmt

#include <linux/export.h>
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <uapi/linux/magic.h>
#include "famfs_kabi.h"

#undef EXPORT_SYMBOL
#undef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)

#undef MODULE_ALIAS
#define MODULE_ALIAS(alias)

#undef FUSE_MINOR
#define FUSE_MINOR MISC_DYNAMIC_MINOR

#undef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC FAMFS_STATFS_MAGIC

#undef CONFIG_FUSE_DAX
#undef CONFIG_FUSE_PASSTHROUGH

#endif /* _FAMFS_KBUILD_H */
