#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms-conf.sh VERSION [REPO] - prints the dkms.conf of famfs-dkms: famfs.ko,
# and famfs_dax.ko when kmod/dax/ exists, for Debian 12's 6.1 and 6.12
# kernels (scripts/dkms-build.sh builds them).
set -eu
VERSION=$1
REPO=${2:-$(cd "$(dirname "$0")/.." && pwd)}
cat <<CONF
# DKMS: famfs's kernel modules for Debian 12's 6.1 and 6.12 kernels, each
# built from that kernel's own fs/fuse (linux-source-<series>).
PACKAGE_NAME="famfs"
PACKAGE_VERSION="$VERSION"
MAKE[0]="./dkms-build.sh \${kernelver} \${kernel_source_dir}"
CLEAN="rm -rf build"
BUILD_EXCLUSIVE_KERNEL="^6\\.(1\\.0-[0-9]+|12\\.[0-9]+\\+deb12)-amd64\$"
AUTOINSTALL="yes"
CONF
i=0
for m in famfs_dax famfs; do
	[ "$m" = famfs_dax ] && [ ! -d "$REPO/kmod/dax" ] && continue
	cat <<CONF
BUILT_MODULE_NAME[$i]="$m"
BUILT_MODULE_LOCATION[$i]="build/kmod/\${kernelver}/"
DEST_MODULE_LOCATION[$i]="/updates/dkms"
CONF
	i=$((i + 1))
done
