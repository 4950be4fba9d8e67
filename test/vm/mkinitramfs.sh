#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - build the gzip'd cpio initramfs for the famfs qemu guests.
#
# Usage: test/vm/mkinitramfs.sh [options]
#   -o FILE        output (default build/vm/initramfs.cpio.gz)
#   -t FILE        guest test script, installed as /tests/<basename>
#                  (repeatable; default test/vm/smoke.sh). The guest runs
#                  /tests/$famfs.test.sh (see guest-init.sh).
#   -b SRC[:DST]   host binary plus the shared libraries ldd lists
#                  (repeatable; DST default /usr/bin/<basename>)
#   -f SRC[:DST]   plain file (repeatable; DST default /famfs/<basename>)
#   -p DIR         payload directory, copied to /payload (real files to put
#                  into famfs)
#   -m MODULE      extra kernel module of the image, loaded with its deps
#                  (repeatable)
#   -K KVER        the kernel (default: the first of scripts/kernel-env.sh's
#                  KVERS); its modules come from the cached linux-image
#   -k FILE        famfs.ko -> /famfs/famfs.ko, and famfs_dax.ko from the same
#                  directory -> /famfs/famfs_dax.ko; both also in
#                  /lib/modules/$KVER/extra (modprobe famfs) (default
#                  build/kmod/$KVER/famfs.ko; "none": without either)
# Environment (space-separated lists, added to the options above):
#   FAMFS_VM_TESTS, FAMFS_VM_BINS, FAMFS_VM_FILES, FAMFS_VM_PAYLOAD,
#   FAMFS_VM_MODULES; FAMFS_KO (as -k), FAMFS_DAX_KO (famfs_dax.ko, default
#   next to famfs.ko); BUILD (default <repo>/build);
#   FAMFS_KCACHE, FAMFS_KVER.
#
# Guest layout: busybox applets in /bin /sbin /usr/bin /usr/sbin, /init =
# guest-init.sh, modules in /lib/modules/$KVER (depmod'ed, debug info
# stripped; the kernel's FUSE and ext4 among them, or built in),
# ndctl + daxctl + cxl with their libraries, /famfs/famfs{,_dax}.ko,
# /tests/* (and lib.sh, which they source), /payload/. Needs:
# busybox-static, cpio, kmod, ndctl, daxctl and the extracted linux-image
# (scripts/fetch-kernel.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${BUILD:-$REPO/build}"

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (package $2; run scripts/fetch-kernel.sh)"; }

# Modules the guest always needs: NVDIMM/ACPI NFIT, pmem block, device-dax.
# The kernel's FUSE (6.1: fuse.ko, 6.12: built in), ext4 (and its crc32c) for
# the benchmark, CXL memory (test/vm/dax.sh).
BASE_MODULES=(libnvdimm nfit nd_pmem nd_btt nd_e820 dax_pmem device_dax fuse ext4 crc32c_generic
	cxl_acpi cxl_pci cxl_mem cxl_pmem dax_hmem)

OUT="$BUILD/vm/initramfs.cpio.gz"
TESTS=() BINS=() FILES=() PAYLOAD="" MODULES=()
FAMFS_KO="${FAMFS_KO:-}" # -k, or from the environment (test/deb: the DKMS-built module)
KVER_ARG=""

parse_args() {
	local opt
	while getopts "o:t:b:f:p:m:k:K:h" opt; do
		case $opt in
		o) OUT=$OPTARG ;;
		t) TESTS+=("$OPTARG") ;;
		b) BINS+=("$OPTARG") ;;
		f) FILES+=("$OPTARG") ;;
		p) PAYLOAD=$OPTARG ;;
		m) MODULES+=("$OPTARG") ;;
		k) FAMFS_KO=$OPTARG ;;
		K) KVER_ARG=$OPTARG ;;
		h) sed -n '3,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
		*) die "bad option (try -h)" ;;
		esac
	done
	# shellcheck disable=SC2206 # word splitting intended for the env lists
	TESTS+=(${FAMFS_VM_TESTS:-}) BINS+=(${FAMFS_VM_BINS:-}) \
		FILES+=(${FAMFS_VM_FILES:-}) MODULES+=(${FAMFS_VM_MODULES:-})
	PAYLOAD="${PAYLOAD:-${FAMFS_VM_PAYLOAD:-}}"
	[ ${#TESTS[@]} -gt 0 ] || TESTS=("$HERE/smoke.sh")
}

# add_file SRC DST: copy one file (following symlinks) into the stage.
add_file() {
	local src=$1 dst=$2
	[ -e "$src" ] || die "$src not found"
	mkdir -p "$STAGE/$(dirname "$dst")"
	cp -L "$src" "$STAGE/$dst"
}

# add_binary SRC [DST]: copy an executable and every library ldd lists
# (at the path ldd prints, plus the loader), and libgcc_s beside glibc:
# glibc loads it at run time (never in ldd's list) to unwind a thread that
# pthread_cancel() or pthread_exit() ends, and aborts without it ("libgcc_s.so.1
# must be installed for pthread_cancel to work": libfuse's multi-threaded
# loop cancels its workers when a server exits). Static binaries need nothing.
add_binary() {
	local src=$1 dst=${2:-/usr/bin/$(basename "$1")} lib
	[ -x "$src" ] || die "binary $src not found or not executable"
	add_file "$src" "$dst"
	# "libfoo.so => /lib/.../libfoo.so (0x...)" and "/lib64/ld-linux... (0x...)"
	for lib in $(ldd "$src" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p'); do
		[ -e "$STAGE/$lib" ] || add_file "$lib" "$lib"
		case $lib in
		*/libc.so.6)
			lib=${lib%/*}/libgcc_s.so.1
			[ -e "$STAGE/$lib" ] || [ ! -e "$lib" ] || add_file "$lib" "$lib"
			;;
		esac
	done
}

add_busybox() {
	local bb applet
	bb=$(command -v busybox) || die "busybox not found (package busybox-static)"
	ldd "$bb" >/dev/null 2>&1 && die "$bb is dynamically linked; install busybox-static"
	add_file "$bb" /bin/busybox
	for applet in $(busybox --list-full); do
		[ -e "$STAGE/$applet" ] || ln -s /bin/busybox "$STAGE/$applet" 2>/dev/null ||
			{ mkdir -p "$STAGE/$(dirname "$applet")"; ln -s /bin/busybox "$STAGE/$applet"; }
	done
}

# find_module NAME: path of NAME.ko in the image (module names use _ or -);
# nothing if it is built into the kernel.
find_module() {
	local name=$1 alt=${1//_/-} f
	f=$(cd "$KIMG_MODDIR" && find kernel \( -name "$name.ko*" -o -name "$alt.ko*" \) -print -quit)
	if [ -z "$f" ]; then
		grep -q -e "/$name.ko\$" -e "/$alt.ko\$" "$KIMG_MODDIR/modules.builtin" 2>/dev/null ||
			die "module $name not in $KIMG_MODDIR"
		return 0
	fi
	echo "$f"
}

# add_modules NAME...: copy modules and, recursively, what they depend on.
add_modules() {
	local todo=("$@") done=" " name rel dep
	while [ ${#todo[@]} -gt 0 ]; do
		name=${todo[0]}; todo=("${todo[@]:1}")
		case $done in *" $name "*) continue ;; esac
		done="$done$name "
		rel=$(find_module "$name")
		[ -n "$rel" ] || continue # built in
		mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$rel")"
		case $rel in
		*.ko.xz) # 6.12 ships them compressed: busybox modprobe wants .ko
			xz -dc "$KIMG_MODDIR/$rel" >"$STAGE/lib/modules/$KVER/${rel%.xz}"
			objcopy --strip-debug "$STAGE/lib/modules/$KVER/${rel%.xz}" ;;
		*) objcopy --strip-debug "$KIMG_MODDIR/$rel" "$STAGE/lib/modules/$KVER/$rel" ;;
		esac
		for dep in $(modinfo -F depends "$KIMG_MODDIR/$rel" | tr ',' ' '); do
			todo+=("$dep")
		done
	done
	local f
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -f "$KIMG_MODDIR/$f" ] && cp "$KIMG_MODDIR/$f" "$STAGE/lib/modules/$KVER/"
	done
	depmod -b "$STAGE" "$KVER" || die "depmod -b $STAGE $KVER failed"
}

# add_famfs_ko SRC: famfs.ko and famfs_dax.ko ($FAMFS_DAX_KO, default next
# to SRC) into /famfs/ and into the module tree (extra/), so that
# `modprobe famfs` loads famfs_dax first, as on a real host.
add_famfs_ko() {
	local ko name
	[ "$1" = none ] && return 0
	for ko in "$1" "${FAMFS_DAX_KO:-$(dirname "$1")/famfs_dax.ko}"; do
		[ -f "$ko" ] || die "$ko not found (run: make -C kmod KVER=$KVER)"
		name=famfs.ko
		[ "$ko" = "$1" ] || name=famfs_dax.ko
		mkdir -p "$STAGE/famfs" "$STAGE/lib/modules/$KVER/extra"
		objcopy --strip-debug "$ko" "$STAGE/famfs/$name"
		cp "$STAGE/famfs/$name" "$STAGE/lib/modules/$KVER/extra/"
	done
	depmod -b "$STAGE" "$KVER" || die "depmod -b $STAGE $KVER failed"
}

# split SRC[:DST] into SRC and DST (DST defaults to $2/<basename>).
split_spec() { SPEC_SRC=${1%%:*}; SPEC_DST=${1#*:}; [ "$SPEC_DST" != "$1" ] || SPEC_DST="$2/$(basename "$1")"; }

main() {
	parse_args "$@"
	need cpio cpio; need depmod kmod; need modinfo kmod; need objcopy binutils
	need gzip gzip; need xz xz-utils; need ndctl ndctl; need daxctl daxctl; need cxl ndctl
	# shellcheck source=scripts/kernel-env.sh
	source "$REPO/scripts/kernel-env.sh"
	famfs_kernel_env "$KVER_ARG"
	famfs_require_image || exit 1

	mkdir -p "$(dirname "$OUT")"
	STAGE=$(mktemp -d "$(dirname "$OUT")/.stage.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,run,mnt,root,famfs,tests,payload}

	add_busybox
	add_binary /usr/bin/ndctl
	add_binary /usr/bin/daxctl
	add_modules "${BASE_MODULES[@]}" "${MODULES[@]}"
	add_famfs_ko "${FAMFS_KO:-$BUILD/kmod/$KVER/famfs.ko}"
	add_binary /usr/bin/cxl

	local spec
	for spec in "${BINS[@]}"; do split_spec "$spec" /usr/bin; add_binary "$SPEC_SRC" "$SPEC_DST"; done
	for spec in "${FILES[@]}"; do split_spec "$spec" /famfs; add_file "$SPEC_SRC" "$SPEC_DST"; done
	for spec in "${TESTS[@]}"; do add_file "$spec" "/tests/$(basename "$spec")"; chmod +x "$STAGE/tests/$(basename "$spec")"; done
	# the shared helpers the test scripts source
	add_file "$HERE/lib.sh" /tests/lib.sh
	if [ -n "$PAYLOAD" ]; then
		[ -d "$PAYLOAD" ] || die "payload directory $PAYLOAD not found"
		cp -a "$PAYLOAD"/. "$STAGE/payload/"
	fi

	add_file "$HERE/guest-init.sh" /init
	chmod 755 "$STAGE/init"
	# The kernel opens /dev/console before /init runs (devtmpfs comes later).
	mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || true
	ln -s /proc/mounts "$STAGE/etc/mtab"
	echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
	echo "root:x:0:" >"$STAGE/etc/group"
	echo "$KVER" >"$STAGE/etc/famfs-kver"

	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -1 >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	echo "mkinitramfs: $OUT ($(du -k "$OUT" | cut -f1) KiB, KVER=$KVER)" >&2
}

main "$@"
