#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh - install/download everything the kernel build and the
# qemu test bed need. Idempotent: a second run makes no network access and
# takes well under a second.
#
# Usage: scripts/fetch-kernel.sh [--check]
#   --check   only report what is missing (exit 1 if anything is)
#
# Does (as root, Debian 12):
#   1. apt-get install whatever is missing among linux-headers-$KVER (or
#      linux-headers-amd64 when none is installed yet), linux-source-$KSERIES,
#      qemu-system-x86, busybox-static, cpio, ndctl, daxctl, libfuse3-dev
#      (static libfuse3 for the guest's FUSE smoke test), kmod, xz-utils,
#      rsync, patch, gcc, make.
#   2. apt-get download linux-image-$KVER (the same version as the headers)
#      into $FAMFS_KCACHE/image/ and dpkg -x it to $KIMG_DIR (vmlinuz and the
#      .ko files the guest needs). Nothing is installed on the host kernel.
# Environment: FAMFS_KCACHE (default /var/cache/famfs-kernel), FAMFS_KVER.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECK_ONLY=0
[ "${1:-}" = "--check" ] && CHECK_ONLY=1

log() { echo "fetch-kernel: $*" >&2; }
die() { echo "fetch-kernel: error: $*" >&2; exit 1; }

APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 1 ] && return 0
	log "apt-get update"
	apt-get update -qq || die "apt-get update failed"
	APT_UPDATED=1
}

# apt_retry CMD...: run an apt command; on failure refresh the lists once and retry.
apt_retry() {
	"$@" && return 0
	[ "$APT_UPDATED" = 1 ] && return 1
	apt_update_once
	"$@"
}

is_installed() { [ -n "$(famfs_pkg_version "$1")" ]; }

# ensure_packages PKG...: install the ones not installed, in one apt-get call.
ensure_packages() {
	local p missing=()
	for p in "$@"; do is_installed "$p" || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$CHECK_ONLY" = 1 ]; then
		log "missing packages: ${missing[*]}"
		MISSING=1
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	log "installing: ${missing[*]}"
	apt_retry env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

# Download and unpack linux-image-$KVER (exactly $KPKGVER) into the cache.
ensure_image() {
	local stamp="$KIMG_DIR/.famfs-extracted"
	[ -f "$stamp" ] && [ -f "$KIMG_VMLINUZ" ] && return 0
	if [ "$CHECK_ONLY" = 1 ]; then
		log "missing: $KIMG_DIR (extracted $KIMG_PKG)"
		MISSING=1
		return 0
	fi
	[ -n "$KPKGVER" ] || die "cannot tell the version of linux-headers-$KVER"
	local debdir="$FAMFS_KCACHE/image"
	local deb="$debdir/${KIMG_PKG}_${KPKGVER}_amd64.deb"
	mkdir -p "$debdir"
	if [ ! -s "$deb" ]; then
		log "downloading $KIMG_PKG=$KPKGVER (~70 MB)"
		local tmp
		tmp="$(mktemp -d "$debdir/.dl.XXXXXX")"
		# apt-get download runs as _apt when it can; let it write here.
		chmod 0777 "$tmp"
		(cd "$tmp" && apt_retry apt-get download -qq "$KIMG_PKG=$KPKGVER") ||
			{ rm -rf "$tmp"; die "apt-get download $KIMG_PKG=$KPKGVER failed" \
				"(headers and image must be the same build)"; }
		mv "$tmp"/"${KIMG_PKG}"_*.deb "$deb"
		rm -rf "$tmp"
	fi
	log "extracting $(basename "$deb")"
	local tmpx
	tmpx="$(mktemp -d "$debdir/.x.XXXXXX")"
	dpkg -x "$deb" "$tmpx" || { rm -rf "$tmpx"; die "dpkg -x $deb failed"; }
	# Debian may ship modules under /usr/lib (merged /usr); normalise to /lib.
	if [ ! -d "$tmpx/lib/modules/$KVER" ] && [ -d "$tmpx/usr/lib/modules/$KVER" ]; then
		mkdir -p "$tmpx/lib/modules"
		mv "$tmpx/usr/lib/modules/$KVER" "$tmpx/lib/modules/$KVER"
	fi
	[ -f "$tmpx/boot/vmlinuz-$KVER" ] || { rm -rf "$tmpx"; die "no boot/vmlinuz-$KVER in $deb"; }
	[ -d "$tmpx/lib/modules/$KVER" ] || { rm -rf "$tmpx"; die "no lib/modules/$KVER in $deb"; }
	# vmlinuz is 0600 in the package; the test bed may run unprivileged.
	chmod a+r "$tmpx/boot/vmlinuz-$KVER"
	touch "$tmpx/.famfs-extracted"
	rm -rf "$KIMG_DIR"
	mv "$tmpx" "$KIMG_DIR"
}

main() {
	MISSING=0
	# shellcheck source=scripts/kernel-env.sh
	source "$HERE/kernel-env.sh"

	if [ "$CHECK_ONLY" = 0 ]; then
		mkdir -p "$FAMFS_KCACHE" || die "cannot create $FAMFS_KCACHE (set FAMFS_KCACHE)"
		# Serialise concurrent runs (parallel CI jobs share the cache).
		exec 9>"$FAMFS_KCACHE/.fetch.lock"
		flock 9
	fi

	# Headers first: they decide KVER.
	if [ -z "$KVER" ]; then
		ensure_packages linux-headers-amd64
		famfs_kernel_env
		[ -n "$KVER" ] || { [ "$CHECK_ONLY" = 1 ] && exit 1; die "no linux-headers-*-amd64 after install"; }
	fi
	ensure_packages "linux-headers-$KVER" "$KSRC_PKG" qemu-system-x86 \
		busybox-static cpio ndctl daxctl libfuse3-dev kmod xz-utils rsync \
		patch gcc make
	famfs_kernel_env # KSRC_PKGVER may have just appeared
	[ "$CHECK_ONLY" = 1 ] || [ -f "$KSRC_TARXZ" ] || die "$KSRC_TARXZ missing after installing $KSRC_PKG"
	if [ -n "$KSRC_PKGVER" ] && [ -n "$KPKGVER" ] && [ "$KSRC_PKGVER" != "$KPKGVER" ]; then
		log "warning: $KSRC_PKG is $KSRC_PKGVER but linux-headers-$KVER is $KPKGVER;" \
			"fs/fuse may not match the running ABI exactly"
	fi
	ensure_image

	if [ "$CHECK_ONLY" = 1 ]; then
		[ "$MISSING" = 0 ] && log "all present (KVER=$KVER)"
		exit "$MISSING"
	fi
	log "ready: KVER=$KVER ($KPKGVER), image in $KIMG_DIR"
}

main "$@"
