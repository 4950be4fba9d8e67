#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh - the qemu test bed end to end: fetch, build, initramfs, boot the
# smoke cases, verify. Exit 0 only if every case passed.
#
# Usage: test/vm/vmtest.sh [--no-fetch] [--sequential] [-v]
#   --no-fetch     don't run scripts/fetch-kernel.sh (everything is there)
#   --sequential   never run two guests at once (the share case is replaced
#                  by a plain second-boot verify)
#   -v             stream guest consoles
# Environment: BUILD (default <repo>/build), FAMFS_KCACHE, FAMFS_KVER,
#   FAMFS_VM_TIMEOUT (per guest, default 300), FAMFS_VM_BINS / _FILES /
#   _PAYLOAD / _TESTS / _MODULES (passed on to mkinitramfs.sh).
#
# Cases (test/vm/smoke.sh):
#   fsdax   image A: fsdax namespace, DAX check, FUSE mount with our fuse.ko
#           and the stock one, write a marker      } in parallel
#   devdax  image B: devdax namespace, daxctl view  }
#   host    the marker is in image A's backing file (host side)
#   share   image A, two guests at once: both read the marker (second boot),
#           master/client ping-pong through the shared memory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export BUILD="${BUILD:-$REPO/build}"
VM="$BUILD/vm"
TIMEOUT="${FAMFS_VM_TIMEOUT:-300}"
FETCH=1 SEQUENTIAL=0 VFLAG=()

while [ $# -gt 0 ]; do
	case $1 in
	--no-fetch) FETCH=0 ;;
	--sequential) SEQUENTIAL=1 ;;
	-v) VFLAG=(-v) ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) echo "vmtest: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

T0=$SECONDS
step() { echo "vmtest: [$((SECONDS - T0))s] $*" >&2; }
die() { echo "vmtest: error: $*" >&2; exit 1; }

PASSED=0 FAILED=0 FAILED_NAMES=""
record() { # NAME RC
	if [ "$2" -eq 0 ]; then PASSED=$((PASSED + 1)); else
		FAILED=$((FAILED + 1)); FAILED_NAMES="$FAILED_NAMES $1"; fi
}

# Static libfuse3 example filesystem for the guest's FUSE mount.
build_hello() {
	local src=/usr/share/doc/libfuse3-dev/examples/hello_ll.c out=$VM/hello_ll
	[ -f "$src" ] || die "$src missing (package libfuse3-dev)"
	[ -f /usr/lib/x86_64-linux-gnu/libfuse3.a ] || die "libfuse3.a missing (package libfuse3-dev)"
	[ "$out" -nt "$src" ] && return 0
	mkdir -p "$VM"
	# glibc warns that static dlopen needs its own version at run time:
	# irrelevant, hello_ll never loads a module.
	${CC:-gcc} -O2 -Wall -I/usr/include/fuse3 "$src" -static -s -o "$out" \
		-l:libfuse3.a -lpthread -ldl 2>"$VM/hello_ll.log" ||
		{ cat "$VM/hello_ll.log" >&2; die "building hello_ll failed"; }
}

vm() { # NAME IMAGE ARGS... -> run-vm.sh
	local name=$1 image=$2
	shift 2
	"$HERE/run-vm.sh" --name "$name" --image "$image" --timeout "$TIMEOUT" \
		--test smoke ${VFLAG[@]+"${VFLAG[@]}"} "$@"
}

main() {
	if [ "$FETCH" = 1 ]; then
		step "fetch-kernel"
		"$REPO/scripts/fetch-kernel.sh"
	fi
	step "make -C kmod (fuse.ko + stock)"
	make -s -C "$REPO/kmod" BUILD="$BUILD"
	step "hello_ll"
	build_hello
	step "initramfs"
	local extra=() b
	for b in famfs famfs_fused; do # our binaries, once they exist
		[ -x "$BUILD/$b" ] && extra+=(-b "$BUILD/$b")
	done
	"$HERE/mkinitramfs.sh" -o "$VM/initramfs.cpio.gz" -t "$HERE/smoke.sh" \
		-b "$VM/hello_ll" ${extra[@]+"${extra[@]}"}

	local img_a=$VM/pmem-a.img img_b=$VM/pmem-b.img nonce rc
	nonce="$(date +%s)-$$-$RANDOM"
	# A fresh image each run: the cases must not depend on earlier runs.
	rm -f "$img_a" "$img_b"

	if [ "$SEQUENTIAL" = 1 ]; then
		step "boot: fsdax"
		rc=0; vm fsdax "$img_a" --arg case=fsdax --arg nonce="$nonce" || rc=$?; record fsdax $rc
		step "boot: devdax"
		rc=0; vm devdax "$img_b" --arg case=devdax || rc=$?; record devdax $rc
	else
		step "boot: fsdax + devdax (two guests in parallel)"
		vm fsdax "$img_a" --arg case=fsdax --arg nonce="$nonce" &
		local p1=$!
		vm devdax "$img_b" --arg case=devdax &
		local p2=$!
		rc=0; wait $p1 || rc=$?; record fsdax $rc
		rc=0; wait $p2 || rc=$?; record devdax $rc
	fi

	step "host: marker in $img_a"
	local off
	off=$(grep -a -b -o -m1 "FAMFS-MARKER $nonce" "$img_a" | cut -d: -f1 || true)
	if [ -n "$off" ]; then
		echo "vmtest: host sees 'FAMFS-MARKER $nonce' at byte $off of $(basename "$img_a")" >&2
		record host 0
	else
		echo "vmtest: FAIL: marker not found in $img_a" >&2
		record host 1
	fi

	if [ "$SEQUENTIAL" = 1 ]; then
		step "boot: verify (second boot, same image)"
		rc=0; vm verify "$img_a" --arg case=verify --arg nonce="$nonce" || rc=$?; record verify $rc
	else
		step "boot: share (two guests at once on $(basename "$img_a"))"
		vm share-master "$img_a" --arg case=share --arg role=master --arg nonce="$nonce" &
		local m=$!
		vm share-client "$img_a" --arg case=share --arg role=client --arg nonce="$nonce" &
		local c=$!
		rc=0; wait $m || rc=$?; record share-master $rc
		rc=0; wait $c || rc=$?; record share-client $rc
	fi

	step "done"
	[ "$FAILED" -eq 0 ] || echo "vmtest: failed:$FAILED_NAMES (logs in $VM/*.log)" >&2
	echo "vmtest: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main
