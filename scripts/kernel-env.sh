#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-env.sh - which Debian kernels we build for and test on, and where
# each one's pieces live.
#
# Usage:
#   source scripts/kernel-env.sh         # sets KVERS and, for the first
#                                        # kernel, the per-kernel variables
#   famfs_kernel_env KVER                # (after sourcing) switch to KVER
#   scripts/kernel-env.sh                # prints KVERS and every kernel's
#                                        # variables as NAME=value lines
#   scripts/kernel-env.sh [--kver K] VAR...
#                                        # prints the values of VAR... for K
#                                        # (default: the first of KVERS),
#                                        # space separated; "-" for empty
#   scripts/kernel-env.sh --list         # prints KVERS
#   scripts/kernel-env.sh --wanted       # the headers packages to install:
#                                        # the newest available per series
#
# Inputs (environment):
#   FAMFS_KCACHE   cache directory outside git (default /var/cache/famfs-kernel)
#   FAMFS_KVERS    force the kernel ABI names, space separated (default: per
#                  supported series, the newest installed
#                  linux-headers-<release>-amd64, e.g. "6.1.0-56-amd64
#                  6.12.117+deb12-amd64")
#   FAMFS_KVER     one kernel only (same as FAMFS_KVERS with one name)
#   FAMFS_KSERIES  the supported series (default "6.1 6.12")
#
# Outputs, per kernel (empty when the thing is not installed yet;
# famfs_require_kver turns that into an error that says what to run):
#   KVER            kernel release, from the installed linux-headers-*-amd64
#   KPKGVER         Debian version of linux-headers-$KVER (image and source
#                   must match it)
#   KHDR            /usr/src/linux-headers-$KVER  (make -C $KHDR M=... modules)
#   KSERIES         6.1 for 6.1.0-56-amd64, 6.12 for 6.12.117+deb12-amd64
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
FAMFS_KSERIES="${FAMFS_KSERIES:-6.1 6.12}"

famfs_kver_series() { # KVER -> 6.1 / 6.12
	printf '%s' "$1" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p'
}

# Installed linux-headers-<release>-amd64 (not the meta packages), one a line.
famfs_installed_kvers() {
	local pkgs k
	if command -v dpkg-query >/dev/null 2>&1; then
		pkgs=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' \
			'linux-headers-*-amd64' 2>/dev/null |
			sed -n 's/^ii *|linux-headers-\([0-9][^|]*-amd64\)$/\1/p')
	else
		pkgs=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' \
			-printf '%f\n' 2>/dev/null | sed 's/^linux-headers-//')
	fi
	for k in $pkgs; do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] && echo "$k"
	done
}

# Per supported series, the newest installed kernel.
famfs_detect_kvers() {
	local s k best out=""
	for s in $FAMFS_KSERIES; do
		best=""
		for k in $(famfs_installed_kvers | sort -V); do
			[ "$(famfs_kver_series "$k")" = "$s" ] && best=$k
		done
		[ -n "$best" ] && out="$out $best"
	done
	printf '%s' "${out# }"
}

# The headers packages to install: per series, the newest the package lists
# know (Debian 12: 6.1 from bookworm, 6.12 from bookworm-security).
famfs_wanted_headers() {
	local s re
	for s in $FAMFS_KSERIES; do
		re="^linux-headers-${s//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-amd64\$"
		apt-cache pkgnames "linux-headers-$s." 2>/dev/null | grep -E "$re" | sort -V | tail -1
	done
}

famfs_pkg_version() { # PKG -> installed version or empty
	dpkg-query -W -f='${db:Status-Abbrev}|${Version}\n' "$1" 2>/dev/null |
		sed -n 's/^ii *|//p'
}

# famfs_kernel_env [KVER]: the per-kernel variables of KVER (default: the
# first of KVERS).
famfs_kernel_env() {
	# shellcheck disable=SC2034 # the variables are this file's output
	KVER="${1:-${KVERS%% *}}"
	KPKGVER="" KHDR="" KSERIES="" KSRC_PKG="" KSRC_PKGVER="" KSRC_TARXZ=""
	KSRC_TOPDIR="" KFUSE_PRISTINE="" KIMG_PKG="" KIMG_DIR="" KIMG_VMLINUZ=""
	KIMG_MODDIR=""
	[ -n "$KVER" ] || return 0
	KPKGVER="$(famfs_pkg_version "linux-headers-$KVER")"
	KHDR="/usr/src/linux-headers-$KVER"
	KSERIES="$(famfs_kver_series "$KVER")"
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

famfs_kernels_detect() {
	KVERS="${FAMFS_KVERS:-${FAMFS_KVER:-$(famfs_detect_kvers)}}"
	famfs_kernel_env
}

# Die with a message naming what is missing unless the kernel build inputs
# (headers, source tarball) of the current KVER are installed.
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

famfs_kernels_detect

FAMFS_KENV_VARS="KVER KPKGVER KHDR KSERIES KSRC_PKG KSRC_PKGVER KSRC_TARXZ
KSRC_TOPDIR KFUSE_PRISTINE KIMG_PKG KIMG_DIR KIMG_VMLINUZ KIMG_MODDIR"

# Executed rather than sourced: print.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	--list) echo "$KVERS"; exit 0 ;;
	--wanted) famfs_wanted_headers; exit 0 ;;
	--kver) famfs_kernel_env "$2"; shift 2 ;;
	esac
	if [ $# -eq 0 ]; then
		echo "FAMFS_KCACHE=$FAMFS_KCACHE"
		echo "KVERS=$KVERS"
		for k in $KVERS; do
			famfs_kernel_env "$k"
			for v in $FAMFS_KENV_VARS; do printf '%s=%s\n' "$v" "${!v}"; done
		done
	else
		out=()
		for v in "$@"; do
			case " $(printf '%s' "FAMFS_KCACHE KVERS $FAMFS_KENV_VARS" | tr '\n' ' ') " in
			*" $v "*) out+=("${!v:--}") ;;
			*) echo "kernel-env.sh: unknown variable $v" >&2; exit 2 ;;
			esac
		done
		echo "${out[*]}"
	fi
fi
