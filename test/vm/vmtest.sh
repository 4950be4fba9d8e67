#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh - the kernel tests end to end: fetch, build fuse.ko (famfs and
# stock), the user-space binaries and the guest helpers, the initramfs, boot
# the guests, verify. Exit 0 only if every case passed.
#
# Usage: test/vm/vmtest.sh [--no-fetch] [--sequential] [--no-smoke] [--bench] [-v]
#   --no-fetch     don't run scripts/fetch-kernel.sh (everything is there)
#   --sequential   never run two guests at once (the client then boots after
#                  the master's append instead of during it)
#   --no-smoke     skip the test bed's own smoke cases (test/vm/smoke.sh)
#   --bench        only the benchmark boot (not a test): famfs on our fuse.ko
#                  vs the stock one vs raw devdax mmap; prints a table
#   -v             stream guest consoles
# Environment: BUILD (default <repo>/build), FAMFS_KCACHE, FAMFS_KVER,
#   FAMFS_VM_TIMEOUT (per guest, default 300), FAMFS_VM_BENCH_MB (default 64),
#   FAMFS_VM_BINS / _FILES / _TESTS / _MODULES (passed on to mkinitramfs.sh).
#
# famfs cases (test/vm/famfs.sh), two rounds of two guests:
#   1. master   image A: fsdax; everything a single host can prove  } in
#      devdax   image B: devdax; the user-space devdax path          } parallel
#   2. master2  image A again: persistence, then an append ...       } at the
#      client   ... seen by a second host mounted read-only          } same time
# smoke cases (test/vm/smoke.sh): the test bed itself (fsdax, devdax, sharing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export BUILD="${BUILD:-$REPO/build}"
VM="$BUILD/vm"
TIMEOUT="${FAMFS_VM_TIMEOUT:-300}"
FETCH=1 SEQUENTIAL=0 SMOKE=1 BENCH=0 VFLAG=()

while [ $# -gt 0 ]; do
	case $1 in
	--no-fetch) FETCH=0 ;;
	--sequential) SEQUENTIAL=1 ;;
	--no-smoke) SMOKE=0 ;;
	--bench) BENCH=1 ;;
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

# Static guest programs: libfuse's hello_ll (an ordinary FUSE file system)
# and vmtool (our test helper).
build_static() {
	local src=/usr/share/doc/libfuse3-dev/examples/hello_ll.c
	mkdir -p "$VM"
	[ -f "$src" ] || die "$src missing (package libfuse3-dev)"
	[ -f /usr/lib/x86_64-linux-gnu/libfuse3.a ] || die "libfuse3.a missing (package libfuse3-dev)"
	if ! [ "$VM/hello_ll" -nt "$src" ]; then
		# glibc warns that static dlopen needs its own version at run time:
		# irrelevant, hello_ll never loads a module.
		${CC:-gcc} -O2 -Wall -I/usr/include/fuse3 "$src" -static -s -o "$VM/hello_ll" \
			-l:libfuse3.a -lpthread -ldl 2>"$VM/hello_ll.log" ||
			{ cat "$VM/hello_ll.log" >&2; die "building hello_ll failed"; }
	fi
	if ! [ "$VM/vmtool" -nt "$HERE/vmtool.c" ]; then
		${CC:-gcc} -O2 -Wall -Wextra -Werror -static -s -o "$VM/vmtool" "$HERE/vmtool.c" ||
			die "building vmtool failed"
	fi
}

# Real files to put into famfs: kernel uapi headers in a few directories,
# and the guest's own kernel image (8 MiB: 2 MiB PMD faults).
build_payload() {
	local p=$VM/payload d
	rm -rf "$p"
	mkdir -p "$p/linux" "$p/boot"
	for d in can usb netfilter_ipv4 netfilter_ipv6 dvb; do
		cp -r "/usr/include/linux/$d" "$p/linux/"
	done
	cp /usr/include/linux/c*.h "$p/linux/"
	# shellcheck source=scripts/kernel-env.sh
	(source "$REPO/scripts/kernel-env.sh" && cp "$KIMG_VMLINUZ" "$p/boot/vmlinuz")
	find "$p" -type f -empty -delete
	chmod -R u+rw,go+r "$p"
	echo "vmtest: payload: $(find "$p" -type f | wc -l) files, $(du -sk "$p" | cut -f1) KiB" >&2
}

vm() { # NAME IMAGE TEST ARGS... -> run-vm.sh
	local name=$1 image=$2 test=$3
	shift 3
	"$HERE/run-vm.sh" --name "$name" --image "$image" --timeout "$TIMEOUT" \
		--test "$test" ${VFLAG[@]+"${VFLAG[@]}"} "$@"
}

# pair NAME1 NAME2 -- ARGS1... -- ARGS2...: two guests, at once unless
# --sequential (then in order), and record both.
pair() {
	local n1=$1 n2=$2 a1=() a2=() rc
	shift 2
	[ "$1" = -- ] || die "pair: usage"
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a1+=("$1"); shift; done
	shift
	a2=("$@")
	if [ "$SEQUENTIAL" = 1 ]; then
		step "boot: $n1"
		rc=0; vm "$n1" "${a1[@]}" || rc=$?; record "$n1" $rc
		step "boot: $n2"
		rc=0; vm "$n2" "${a2[@]}" || rc=$?; record "$n2" $rc
	else
		step "boot: $n1 + $n2 (two guests at once)"
		vm "$n1" "${a1[@]}" &
		local p1=$!
		vm "$n2" "${a2[@]}" &
		local p2=$!
		rc=0; wait $p1 || rc=$?; record "$n1" $rc
		rc=0; wait $p2 || rc=$?; record "$n2" $rc
	fi
}

famfs_rounds() {
	local img_a=$VM/famfs-a.img img_b=$VM/famfs-b.img nonce peer=()
	nonce="$(date +%s)-$$-$RANDOM"
	rm -f "$img_a" "$img_b" # fresh images: no case depends on an earlier run
	pair famfs-master famfs-devdax \
		-- "$img_a" famfs --arg case=master \
		-- "$img_b" famfs --arg case=devdax
	if ! [[ " $FAILED_NAMES " = *" famfs-master "* ]]; then
		# The client mounts while the master appends: concurrent hosts.
		[ "$SEQUENTIAL" = 1 ] && peer=(--arg peer=none)
		pair famfs-master2 famfs-client \
			-- "$img_a" famfs --arg case=master2 --arg nonce="$nonce" ${peer[@]+"${peer[@]}"} \
			-- "$img_a" famfs --arg case=client --arg nonce="$nonce" ${peer[@]+"${peer[@]}"}
	else
		echo "vmtest: skipping master2/client: the master's image is not usable" >&2
	fi
}

smoke_rounds() {
	local img=$VM/pmem-a.img img_b=$VM/pmem-b.img nonce rc off
	nonce="$(date +%s)-$$-$RANDOM"
	rm -f "$img" "$img_b"
	pair fsdax devdax \
		-- "$img" smoke --arg case=fsdax --arg nonce="$nonce" \
		-- "$img_b" smoke --arg case=devdax
	off=$(grep -a -b -o -m1 "FAMFS-MARKER $nonce" "$img" | cut -d: -f1 || true)
	if [ -n "$off" ]; then record host 0; else
		echo "vmtest: FAIL: marker not found in $img" >&2; record host 1; fi
	if [ "$SEQUENTIAL" = 1 ]; then
		rc=0; vm verify "$img" smoke --arg case=verify --arg nonce="$nonce" || rc=$?
		record verify $rc
	else
		pair share-master share-client \
			-- "$img" smoke --arg case=share --arg role=master --arg nonce="$nonce" \
			-- "$img" smoke --arg case=share --arg role=client --arg nonce="$nonce"
	fi
}

bench() {
	local img=$VM/famfs-bench.img log=$VM/famfs-bench.log
	rm -f "$img"
	step "boot: famfs-bench (${FAMFS_VM_BENCH_MB:-64} MiB file)"
	vm famfs-bench "$img" famfs --log "$log" --arg case=bench \
		--arg bench_mb="${FAMFS_VM_BENCH_MB:-64}" >/dev/null || die "the bench guest failed"
	rm -f "$img"
	awk '
		/^BENCH-CONFIG/ { cfg = $2; next }
		/^BENCH / { v[cfg, $3 "-" $4] = $5 }
		function r(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2fx", a / b) : "-" }
		END {
			n = split("io-seq-read io-rand-read io-seq-write io-rand-write mmap-seq-read mmap-rand-read mmap-seq-write mmap-rand-write", k, " ")
			printf "%-15s %9s %11s %12s %10s | %8s %8s %8s\n", "MiB/s, 4 KiB", "famfs", "stock-page", "stock-direct", "raw-devdax", "/raw", "/s-page", "/s-dir"
			for (i = 1; i <= n; i++) {
				a = v["famfs", k[i]]; p = v["stock-page", k[i]]; d = v["stock-direct", k[i]]
				x = v["raw-devdax", "mmap-" substr(k[i], index(k[i], "-") + 1)]
				printf "%-15s %9s %11s %12s %10s | %8s %8s %8s\n", k[i], a, p, d, x, r(a, x), r(a, p), r(a, d)
			}
			print "famfs: our fuse.ko (kernel DAX); stock-page/-direct: the same file on the stock"
			print "fuse.ko, server data path with the page cache / -o cache=direct; raw-devdax: mmap"
			print "of /dev/dax0.0 (same memory, devdax mode). Each pass opens/maps afresh: best of 3."
		}' "$log"
}

main() {
	if [ "$FETCH" = 1 ]; then
		step "fetch-kernel"
		"$REPO/scripts/fetch-kernel.sh"
	fi
	step "make -C kmod (fuse.ko + stock)"
	make -s -C "$REPO/kmod" BUILD="$BUILD"
	step "user space (famfs, famfs_fused), hello_ll, vmtool, payload"
	make -s -C "$REPO" BUILD="$BUILD" "$BUILD/famfs" "$BUILD/famfs_fused"
	build_static
	build_payload
	step "initramfs"
	"$HERE/mkinitramfs.sh" -o "$VM/initramfs.cpio.gz" -t "$HERE/smoke.sh" -t "$HERE/famfs.sh" \
		-b "$VM/hello_ll" -b "$VM/vmtool" -b "$BUILD/famfs" -b "$BUILD/famfs_fused" \
		-p "$VM/payload"

	if [ "$BENCH" = 1 ]; then
		bench
		step "done"
		return 0
	fi
	famfs_rounds
	[ "$SMOKE" = 1 ] && smoke_rounds

	step "done"
	[ "$FAILED" -eq 0 ] || echo "vmtest: failed:$FAILED_NAMES (logs in $VM/*.log)" >&2
	echo "vmtest: $PASSED passed, $FAILED failed ($((SECONDS - T0)) s)"
	[ "$FAILED" -eq 0 ]
}

main
