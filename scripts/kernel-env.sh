#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-env.sh - where the Debian kernel we build for and test on lives.
#
# Usage:
#   source scripts/kernel-env.sh      # sets the variables below (no side effects)
#   scripts/kernel-env.sh             # prints them as NAME=value lines
#   scripts/kernel-env.sh VAR...      # prints the values of VAR..., space separated
#                                     # (one call from a Makefile: $(shell ...))
#
# Inputs (environment):
#   FAMFS_KCACHE  cache directory outside git (default /var/cache/famfs-kernel)
#   FAMFS_KVER    force a kernel ABI name (default: newest installed
#                 linux-headers-*-amd64, e.g. 6.1.0-56-amd64)
#
# Outputs (empty when the thing is not installed yet; famfs_require_kver
# turns that into an error that says what to run):
#   KVER            kernel release, from the installed linux-headers-*-amd64
#   KPKGVER         Debian version of linux-headers-$KVER (image must match it)
#   KHDR            /usr/src/linux-headers-$KVER  (make -C $KHDR M=... modules)
#   KSERIES         6.1 for 6.1.0-56-amd64
#   KSRC_PKG        linux-source-$KSERIES
#   KSRC_PKGVER     its installed Debian version
#   KSRC_TARXZ      /usr/src/linux-source-$KSERIES.tar.xz
#   KSRC_TOPDIR     top directory inside that tarball (linux-source-$KSERIES)
#   KFUSE_PRISTINE  cached pristine tree root (holds fs/fuse and
#                   include/uapi/linux/fuse.h), keyed by source version
#   KIMG_PKG        linux-image-$KVER
#   KIMG_DIR        cached dpkg -x of linux-image-$KVER, keyed by KVER+version
#   KIMG_VMLINUZ    $KIMG_DIR/boot/vmlinuz-$KVER
#   KIMG_MODDIR     $KIMG_DIR/lib/modules/$KVER

# shellcheck disable=SC2034 # the variables are this file's output
FAMFS_KCACHE="${FAMFS_KCACHE:-/var/cache/famfs-kernel}"

# Newest installed linux-headers-<release>-amd64 (not the meta package).
famfs_detect_kver() {
	local pkgs
	if command -v dpkg-query >/dev/null 2>&1; then
		pkgs=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' \
			'linux-headers-*-amd64' 2>/dev/null |
			sed -n 's/^ii *|linux-headers-\([0-9][^|]*-amd64\)$/\1/p')
	else
		pkgs=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' \
			-printf '%f\n' 2>/dev/null | sed 's/^linux-headers-//')
	fi
	local k best=""
	for k in $(printf '%s\n' "$pkgs" | sort -V); do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] && best=$k
	done
	printf '%s' "$best"
}

famfs_pkg_version() { # PKG -> installed version or empty
	dpkg-query -W -f='${db:Status-Abbrev}|${Version}\n' "$1" 2>/dev/null |
		sed -n 's/^ii *|//p'
}

famfs_kernel_env() {
	# shellcheck disable=SC2034 # the variables are this file's output
	KVER="${FAMFS_KVER:-$(famfs_detect_kver)}"
	KPKGVER="" KHDR="" KSERIES="" KSRC_PKG="" KSRC_PKGVER="" KSRC_TARXZ=""
	KSRC_TOPDIR="" KFUSE_PRISTINE="" KIMG_PKG="" KIMG_DIR="" KIMG_VMLINUZ=""
	KIMG_MODDIR=""
	[ -n "$KVER" ] || return 0
	KPKGVER="$(famfs_pkg_version "linux-headers-$KVER")"
	KHDR="/usr/src/linux-headers-$KVER"
	KSERIES="$(printf '%s' "$KVER" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')"
	KSRC_PKG="linux-source-$KSERIES"
	KSRC_PKGVER="$(famfs_pkg_version "$KSRC_PKG")"
	KSRC_TARXZ="/usr/src/linux-source-$KSERIES.tar.xz"
	KSRC_TOPDIR="linux-source-$KSERIES"
	KFUSE_PRISTINE="$FAMFS_KCACHE/src/${KSRC_PKG}_${KSRC_PKGVER:-unknown}"
	KIMG_PKG="linux-image-$KVER"
	KIMG_DIR="$FAMFS_KCACHE/image/${KVER}_${KPKGVER:-unknown}"
	KIMG_VMLINUZ="$KIMG_DIR/boot/vmlinuz-$KVER"
	KIMG_MODDIR="$KIMG_DIR/lib/modules/$KVER"
}

# Die with a message naming what is missing unless the kernel build inputs
# (headers, source tarball) are installed.
famfs_require_kver() {
	if [ -z "${KVER:-}" ]; then
		echo "error: no linux-headers-*-amd64 package installed;" \
			"run scripts/fetch-kernel.sh" >&2
		return 1
	fi
	if [ ! -f "$KHDR/Makefile" ]; then
		echo "error: $KHDR/Makefile missing (linux-headers-$KVER);" \
			"run scripts/fetch-kernel.sh" >&2
		return 1
	fi
}

# Die unless the extracted linux-image (vmlinuz + modules) is in the cache.
famfs_require_image() {
	famfs_require_kver || return 1
	if [ ! -f "$KIMG_VMLINUZ" ] || [ ! -d "$KIMG_MODDIR" ]; then
		echo "error: $KIMG_VMLINUZ or $KIMG_MODDIR missing;" \
			"run scripts/fetch-kernel.sh" >&2
		return 1
	fi
}

famfs_kernel_env

FAMFS_KENV_VARS="FAMFS_KCACHE KVER KPKGVER KHDR KSERIES KSRC_PKG KSRC_PKGVER
KSRC_TARXZ KSRC_TOPDIR KFUSE_PRISTINE KIMG_PKG KIMG_DIR KIMG_VMLINUZ KIMG_MODDIR"

# Executed rather than sourced: print.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	if [ $# -eq 0 ]; then
		for v in $FAMFS_KENV_VARS; do printf '%s=%s\n' "$v" "${!v}"; done
	else
		out=()
		for v in "$@"; do
			case " $(printf '%s' "$FAMFS_KENV_VARS" | tr '\n' ' ') " in
			*" $v "*) out+=("${!v:--}") ;;
			*) echo "kernel-env.sh: unknown variable $v" >&2; exit 2 ;;
			esac
		done
		echo "${out[*]}"
	fi
fi
