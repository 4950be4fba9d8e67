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
# Does (as root, Debian 12), for every supported kernel series (6.1, 6.12:
# FAMFS_KSERIES, see scripts/kernel-env.sh):
#   1. apt-get install linux-headers-<newest of the series>-amd64 unless one
#      of the series is installed (6.1 from bookworm, 6.12 from
#      bookworm-security), linux-source-$KSERIES of the same upload, and
#      qemu-system-x86, busybox-static, cpio, ndctl, daxctl, libfuse3-dev
#      (static libfuse3 for the guest's hello_ll), kmod, xz-utils, rsync,
#      patch, gcc, make, e2fsprogs (mkfs.ext4 for the benchmark guest).
#   2. apt-get download linux-image-$KVER (the same version as the headers)
#      into $FAMFS_KCACHE/image/ and dpkg -x it to $KIMG_DIR (vmlinuz and the
#      .ko files the guest needs). The host's own kernel is not touched
#      (Debian's 6.12 headers depend on the image package, which apt then
#      installs too; nothing boots it).
# Environment: FAMFS_KCACHE (default /var/cache/famfs-kernel), FAMFS_KVERS,
#   FAMFS_KVER, FAMFS_KSERIES.
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

	# Headers first: they decide the kernels. One per supported series
	# (FAMFS_KSERIES), the newest the package lists have, unless one of the
	# series is installed already or FAMFS_KVERS names the kernels.
	local want=() have s k p
	if [ -z "${FAMFS_KVERS:-}${FAMFS_KVER:-}" ]; then
		for s in $FAMFS_KSERIES; do
			have=0
			for k in $KVERS; do [ "$(famfs_kver_series "$k")" = "$s" ] && have=1; done
			[ "$have" = 1 ] && continue
			p=$(FAMFS_KSERIES=$s famfs_wanted_headers)
			if [ -z "$p" ] && [ "$CHECK_ONLY" = 0 ]; then
				apt_update_once
				p=$(FAMFS_KSERIES=$s famfs_wanted_headers)
			fi
			[ -n "$p" ] || die "no linux-headers-$s.*-amd64 in the package lists"
			want+=("$p")
		done
	else
		for k in $KVERS; do want+=("linux-headers-$k"); done
	fi
	[ ${#want[@]} -eq 0 ] || ensure_packages "${want[@]}"
	famfs_kernels_detect
	[ -n "$KVERS" ] || { [ "$CHECK_ONLY" = 1 ] && exit 1; die "no linux-headers-*-amd64 after install"; }

	ensure_packages qemu-system-x86 busybox-static cpio ndctl daxctl libfuse3-dev kmod \
		xz-utils rsync patch gcc make e2fsprogs
	for k in $KVERS; do
		famfs_kernel_env "$k"
		# The source of the same upload as the headers (private headers and
		# fs/fuse must match the ABI); the installed one if it is that.
		if [ "$KSRC_PKGVER" != "$KPKGVER" ] && [ -n "$KPKGVER" ]; then
			if [ "$CHECK_ONLY" = 1 ]; then
				log "missing: $KSRC_PKG=$KPKGVER (installed: ${KSRC_PKGVER:-none})"
				MISSING=1
			else
				log "installing $KSRC_PKG=$KPKGVER"
				apt_retry env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
					--no-install-recommends "$KSRC_PKG=$KPKGVER" ||
					die "apt-get install $KSRC_PKG=$KPKGVER failed"
				famfs_kernel_env "$k"
			fi
		fi
		[ "$CHECK_ONLY" = 1 ] || [ -f "$KSRC_TARXZ" ] || die "$KSRC_TARXZ missing after installing $KSRC_PKG"
		ensure_image
		[ "$CHECK_ONLY" = 1 ] || log "ready: KVER=$KVER ($KPKGVER), image in $KIMG_DIR"
	done

	if [ "$CHECK_ONLY" = 1 ]; then
		[ "$MISSING" = 0 ] && log "all present (KVERS=$KVERS)"
		exit "$MISSING"
	fi
}

main "$@"
