#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms-build.sh KVER KHDR - what DKMS runs (dkms.conf MAKE) in its copy of
# /usr/src/famfs-VERSION to build famfs_dax.ko and famfs.ko for kernel KVER
# (headers KHDR, /lib/modules/KVER/build) with kmod/'s own Makefiles: the
# kernel's fs/fuse (and drivers/dax headers) come from the matching
# /usr/src/linux-source-<series>.tar.xz, extracted once per source version
# into $FAMFS_KCACHE (default /var/cache/famfs-kernel). The modules end in
# build/kmod/KVER/.
set -eu
KVER=$1
KHDR=$2
here=$(pwd)
: "${FAMFS_KCACHE:=/var/cache/famfs-kernel}"
export FAMFS_KCACHE
series=$(printf '%s' "$KVER" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
src=/usr/src/linux-source-$series.tar.xz
if [ ! -f "$src" ]; then
	echo "famfs-dkms: $src is missing: famfs.ko is built from the kernel's own fs/fuse;" >&2
	echo "famfs-dkms: install it with: apt install linux-source-$series" >&2
	exit 1
fi
if [ -d kmod/dax ]; then
	make -C kmod/dax KVER="$KVER" KHDR="$KHDR" BUILD="$here/build"
fi
make -C kmod KVER="$KVER" KHDR="$KHDR" BUILD="$here/build"
ls -l "$here/build/kmod/$KVER/"*.ko
