#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh - the kernel tests end to end, on every supported Debian kernel
# (scripts/kernel-env.sh: 6.1 and 6.12): fetch, build famfs.ko per kernel,
# the user-space binaries and the guest helpers, one initramfs per kernel,
# boot the guests, verify, and print one table: a row per guest case.
# Exit 0 only if every case passed on every kernel.
#
# Usage: test/vm/vmtest.sh [--no-fetch] [--kernel KVER]... [--case NAME]...
#                          [--bench] [-v]
#   --no-fetch     don't run scripts/fetch-kernel.sh (everything is there)
#   --kernel KVER  only this kernel (repeatable; default every one of KVERS)
#   --case NAME    only the rounds holding this case (repeatable)
#   --bench        only the benchmark boot per kernel (not a test): a famfs
#                  file vs ext4 -o dax on the same pmem vs the FUSE upcall
#                  path, 4 KiB and 1 MiB, read()/write() and mmap; and
#                  cp -r / tar x of small files into each (famfs: every
#                  file committed); prints tables per kernel
#                  (test/vm/bench.awk)
#   --bench-dax    only the devdax benchmark boots per kernel (not a test):
#                  famfs on famfs_dax vs raw mmap of /dev/dax0.0 on
#                  device_dax, 4 KiB and 1 MiB; rebinding time per GiB on a
#                  FAMFS_VM_BIND_GB (default 64; 0: skip) GiB NVDIMM
#   -v             stream guest consoles
# Environment: BUILD (default <repo>/build), FAMFS_KCACHE, FAMFS_KVERS,
#   FAMFS_VM_TIMEOUT (per guest, default 300), FAMFS_VM_BENCH_MB (default 64),
#   FAMFS_VM_BINS / _FILES / _TESTS / _MODULES (passed on to mkinitramfs.sh).
#
# The cases are the CASES table below, one line each. A round's guests boot
# at the same time (at most two: the machine has two cores; guests of one
# round that share an image are two hosts on one memory device); rounds run
# one after the other, on each kernel.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export BUILD="${BUILD:-$REPO/build}"
VM="$BUILD/vm"
TIMEOUT="${FAMFS_VM_TIMEOUT:-300}"
FETCH=1 BENCH=0 BENCH_DAX=0 VFLAG=() ONLY_KVERS=() ONLY_CASES=()

# round  case           image test   device       guest arguments (famfs.KEY=VALUE;
#                                                 "nonce": a per-kernel tag; kernel:ARG:
#                                                 ARG on the kernel command line;
#                                                 timeout:SEC: this guest's timeout;
#                                                 after:CASE: needs CASE's round first)
CASES=(
	"1 famfs-master     A     famfs  pmem-fsdax   case=master"
	"1 famfs-devdax     B     famfs  pmem-devdax  case=devdax"
	"2 famfs-master2    A     famfs  pmem-fsdax   case=master2 nonce after:famfs-master"
	"2 famfs-client     A     famfs  pmem-fsdax   case=client nonce after:famfs-master"
	"3 smoke-fsdax      C     smoke  pmem-fsdax   case=fsdax nonce"
	"3 smoke-devdax     D     smoke  pmem-devdax  case=devdax"
	"4 share-master     C     smoke  pmem-fsdax   case=share role=master nonce"
	"4 share-client     C     smoke  pmem-fsdax   case=share role=client nonce"
	"5 famfs-rules      E     famfs  pmem-fsdax   case=rules"
	"5 famfs-nsattack   F     famfs  pmem-fsdax   case=nsattack kernel:memmap=256M!1536M"
	"6 famfs-evil       G     famfs  pmem-fsdax   case=evil"
	"6 famfs-stock      H     famfs  pmem-fsdax   case=stock"
	"7 dax-drv          J     dax    pmem-devdax  case=drv"
	"7 dax-cxl-fsdax    cxl:K dax    cxl-fsdax    case=cxl-fsdax"
	"8 dax-pmem         L     dax    pmem-devdax  case=pmem"
	"8 dax-cxl-setup    cxl:I dax    cxl-devdax   case=cxl-setup"
	"9 dax-cxl-master   cxl:I dax    cxl-devdax   case=cxl-master nonce"
	"9 dax-cxl-client   cxl:I dax    cxl-devdax   case=cxl-client nonce"
	"10 famfs-units     M     famfs  pmem-fsdax   case=units"
	"10 dax-hmem        N     dax    hmem-devdax  case=hmem kernel:memmap=256M%1536M+0xefffffff"
	"11 famfs-detach    P     famfs  pmem+memmap-fsdax case=detach kernel:memmap=256M!1536M kernel:slub_debug=FZP timeout:600"
	"12 pmem2-fsdax      MA+MB     multidev pmem2-fsdax  case=pmem2-fsdax"
	"12 cxl2-devdax      cxl:MC+MD multidev cxl2-devdax  case=cxl2-devdax"
	"13 pmem2-fsdax-peer MB+MA     multidev pmem2-fsdax  case=pmem2-fsdax-peer after:pmem2-fsdax"
	"13 cxl2-devdax-peer cxl:MD+MC multidev cxl2-devdax  case=cxl2-devdax-peer after:cxl2-devdax"
	"14 pmem2-devdax     ME+MF     multidev pmem2-devdax case=pmem2-devdax"
	"14 cxl2i-devdax     cxl:MG+MH multidev cxl2i-devdax case=cxl2i-devdax nonce"
	"15 devadd-master    MA+MB     multidev pmem2-fsdax  case=devadd-master nonce after:pmem2-fsdax"
	"15 devadd-client    MB+MA     multidev pmem2-fsdax  case=devadd-client nonce after:pmem2-fsdax"
)
# An image "cxl:X" is an emulated CXL memory device (run-vm.sh --cxl: its
# backing file img-X and label area img-X.lsa) instead of an NVDIMM. "X+Y"
# (or "cxl:X+Y"): two devices, in this order (test/vm/multidev.sh).
CXL_SIZE=512M
# Host-side checks after a case passed: post_<case with - as _> IMAGE NONCE.
post_smoke_fsdax() {
	grep -a -q -m1 "FAMFS-MARKER $2" "$1" ||
		{ echo "vmtest: FAIL: marker not found in $1" >&2; return 1; }
}
# The interleaved region spread one famfs file over both backing files.
post_cxl2i_devdax() {
	local spec=${1##*/img-} x f
	for x in ${spec//+/ }; do
		f=${1%/img-*}/img-$x
		grep -a -q -m1 "FAMFS-IL $2" "$f" ||
			{ echo "vmtest: FAIL: interleaved marker not found in $f" >&2; return 1; }
	done
}

while [ $# -gt 0 ]; do
	case $1 in
	--no-fetch) FETCH=0 ;;
	--kernel) ONLY_KVERS+=("$2"); shift ;;
	--case) ONLY_CASES+=("$2"); shift ;;
	--bench) BENCH=1 ;;
	--bench-dax) BENCH_DAX=1 ;;
	-v) VFLAG=(-v) ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) echo "vmtest: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

T0=$SECONDS
step() { echo "vmtest: [$((SECONDS - T0))s] $*" >&2; }
die() { echo "vmtest: error: $*" >&2; exit 1; }

PASSED=0 FAILED=0 FAILED_NAMES="" ROWS=()

# Static guest programs: libfuse's hello_ll (an ordinary FUSE file system),
# vmtool, daxtool (our test helpers) and evilfs (a famfs server that lies).
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
	local t
	for t in vmtool evilfs; do
		if ! [ "$VM/$t" -nt "$HERE/$t.c" ] || ! [ "$VM/$t" -nt "$REPO/fmap/famfs_kabi.h" ]; then
			${CC:-gcc} -O2 -Wall -Wextra -Werror -I"$REPO/fmap" -static -s -o "$VM/$t" \
				"$HERE/$t.c" || die "building $t failed"
		fi
	done
	if ! [ "$VM/daxtool" -nt "$HERE/daxtool.c" ]; then
		${CC:-gcc} -O2 -Wall -Wextra -Werror -static -s -o "$VM/daxtool" "$HERE/daxtool.c" ||
			die "building daxtool failed"
	fi
}

# Real files to put into famfs: kernel uapi headers in a few directories,
# and a kernel image (8 MiB: 2 MiB PMD faults).
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

initramfs() { # KVER
	"$HERE/mkinitramfs.sh" -K "$1" -o "$VM/$1/initramfs.cpio.gz" \
		-t "$HERE/smoke.sh" -t "$HERE/famfs.sh" -t "$HERE/dax.sh" -t "$HERE/multidev.sh" \
		-b "$VM/hello_ll" -b "$VM/vmtool" -b "$VM/evilfs" -b "$VM/daxtool" \
		-b "$BUILD/test/tools/famfs_mdfile" \
		-b "$BUILD/famfs" -b "$BUILD/famfs_fused" -b /sbin/mkfs.ext4 \
		-b "$BUILD/famfs:/usr/sbin/mount.famfs" -b /sbin/dmsetup -m dm_mod -m kmem \
		-p "$VM/payload"
}

# The guest's summary line: FAMFS-ROW device data-path READ WRITE GET_FMAP
row_of() { # LOG
	grep -a '^FAMFS-ROW ' "$1" 2>/dev/null | tail -1 | cut -d' ' -f2- || true
}

# run_round KVER ROUND NONCE: boot the round's guests at once, record them.
# NONCE (the same for every round of a kernel) tags what guests leave on
# an image for later rounds.
run_round() {
	local kver=$1 round=$2 nonce=$3 line r name img test dev args a pids=() names=() \
		devs=() imgs=() i rc row verdict
	for line in "${CASES[@]}"; do
		read -r r name img test dev args <<<"$line"
		[ "$r" = "$round" ] || continue
		local gargs=() tmo=$TIMEOUT
		for a in $args; do
			case $a in
			nonce) gargs+=(--arg "nonce=$nonce") ;;
			kernel:*) gargs+=(--append " ${a#kernel:}") ;;
			timeout:*) tmo=$((${a#timeout:} > TIMEOUT ? ${a#timeout:} : TIMEOUT)) ;;
			after:*) ;;
			*) gargs+=(--arg "$a") ;;
			esac
		done
		mkdir -p "$VM/$kver"
		local imgargs=() x
		case $img in
		cxl:*)
			img=${img#cxl:}
			imgargs=(--image none --cxl-size "$CXL_SIZE")
			for x in ${img//+/ }; do imgargs+=(--cxl "$VM/$kver/img-$x"); done ;;
		*) for x in ${img//+/ }; do imgargs+=(--image "$VM/$kver/img-$x"); done ;;
		esac
		"$HERE/run-vm.sh" --kver "$kver" --name "$kver-$name" --log "$VM/$kver/$name.log" \
			"${imgargs[@]}" --timeout "$tmo" --test "$test" \
			${VFLAG[@]+"${VFLAG[@]}"} "${gargs[@]}" &
		pids+=($!) names+=("$name") devs+=("$dev") imgs+=("$VM/$kver/img-$img")
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	step "$kver: round $round: ${names[*]}"
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		local post="post_${names[$i]//-/_}"
		if [ $rc -eq 0 ] && declare -F "$post" >/dev/null; then
			"$post" "${imgs[$i]}" "$nonce" || rc=1
		fi
		if [ $rc -eq 0 ]; then verdict=PASS; PASSED=$((PASSED + 1)); else
			verdict=FAIL; FAILED=$((FAILED + 1)); FAILED_NAMES="$FAILED_NAMES $kver/${names[$i]}"; fi
		row=$(row_of "$VM/$kver/${names[$i]}.log")
		[ -n "$row" ] || row="${devs[$i]} - - - -"
		ROWS+=("$kver ${names[$i]} $row $verdict")
	done
}

# The rounds to run: all, or those holding a --case; a case with the
# argument "after:NAME" needs NAME's round (what it leaves on the images) too.
rounds() {
	local line r name want=() c args a
	for line in "${CASES[@]}"; do
		read -r r name _ _ _ args <<<"$line"
		for c in ${ONLY_CASES[@]+"${ONLY_CASES[@]}"}; do
			[ "$c" = "$name" ] || continue
			for a in $args; do
				case $a in after:*) ONLY_CASES+=("${a#after:}") ;; esac
			done
		done
	done
	for line in "${CASES[@]}"; do
		read -r r name _ <<<"$line"
		if [ ${#ONLY_CASES[@]} -gt 0 ]; then
			for c in "${ONLY_CASES[@]}"; do [ "$c" = "$name" ] && want+=("$r"); done
		else
			want+=("$r")
		fi
	done
	printf '%s\n' "${want[@]}" | sort -un
}

table() {
	{
		echo "kernel case device data-path READ WRITE GET_FMAP verdict"
		printf '%s\n' "${ROWS[@]}"
	} | column -t
}

bench() { # KVER
	local kver=$1 img=$VM/$1/img-bench log=$VM/$1/bench.log
	rm -f "$img"
	step "$kver: boot: famfs-bench (${FAMFS_VM_BENCH_MB:-64} MiB file)"
	"$HERE/run-vm.sh" --kver "$kver" --name "$kver-bench" --log "$log" --image "$img" \
		--timeout 900 --test famfs --arg case=bench --arg bench_mb="${FAMFS_VM_BENCH_MB:-64}" \
		${VFLAG[@]+"${VFLAG[@]}"} >/dev/null || die "the bench guest failed ($log)"
	rm -f "$img"
	echo "== $kver"
	awk -f "$HERE/bench.awk" "$log"
}

bench_dax() { # KVER
	local kver=$1 gb=${FAMFS_VM_BIND_GB:-64} log=$VM/$1/dax-bench.log
	rm -f "$VM/$kver/img-bench" "$VM/$kver/img-bind"
	step "$kver: boot: dax-bench (${FAMFS_VM_BENCH_MB:-64} MiB file)"
	"$HERE/run-vm.sh" --kver "$kver" --name "$kver-dax-bench" --log "$log" \
		--image "$VM/$kver/img-bench" --timeout 900 --test dax --arg case=bench \
		--arg bench_mb="${FAMFS_VM_BENCH_MB:-64}" ${VFLAG[@]+"${VFLAG[@]}"} >/dev/null ||
		die "the dax-bench guest failed ($log)"
	# The memmap of a --map=mem namespace (64 bytes per 4 KiB) lives in
	# guest RAM: 1 GiB of it per 64 GiB of device.
	: >"$VM/$kver/dax-bind.log"
	if [ "$gb" -gt 0 ]; then
		step "$kver: boot: dax-bench-bind (${gb} GiB NVDIMM)"
		"$HERE/run-vm.sh" --kver "$kver" --name "$kver-dax-bind" --log "$VM/$kver/dax-bind.log" \
			--image "$VM/$kver/img-bind" --size "${gb}G" --mem $((2 + gb / 48))G \
			--maxmem $((gb + 8))G --timeout 1800 --test dax --arg case=bench-bind \
			${VFLAG[@]+"${VFLAG[@]}"} >/dev/null ||
			die "the dax-bind guest failed ($VM/$kver/dax-bind.log)"
	fi
	rm -f "$VM/$kver/img-bench" "$VM/$kver/img-bind"
	echo "== $kver"
	cat "$log" "$VM/$kver/dax-bind.log" | tr -d '\r' | awk -f "$HERE/dax-bench.awk"
}

main() {
	local k r nonce
	if [ "$FETCH" = 1 ]; then
		step "fetch-kernel"
		"$REPO/scripts/fetch-kernel.sh"
	fi
	# shellcheck source=scripts/kernel-env.sh
	source "$REPO/scripts/kernel-env.sh"
	local kvers=($KVERS)
	[ ${#ONLY_KVERS[@]} -eq 0 ] || kvers=("${ONLY_KVERS[@]}")
	[ ${#kvers[@]} -gt 0 ] || die "no kernel: run scripts/fetch-kernel.sh"
	for k in "${kvers[@]}"; do
		step "make -C kmod KVER=$k (famfs.ko)"
		make -s -C "$REPO/kmod" BUILD="$BUILD" KVER="$k"
	done
	step "user space (famfs, famfs_fused), hello_ll, vmtool, payload"
	make -s -C "$REPO" BUILD="$BUILD" "$BUILD/famfs" "$BUILD/famfs_fused" \
		"$BUILD/test/tools/famfs_mdfile"
	build_static
	build_payload
	for k in "${kvers[@]}"; do
		step "initramfs for $k"
		initramfs "$k"
	done

	if [ "$BENCH" = 1 ] || [ "$BENCH_DAX" = 1 ]; then
		for k in "${kvers[@]}"; do
			[ "$BENCH" = 0 ] || bench "$k"
			[ "$BENCH_DAX" = 0 ] || bench_dax "$k"
		done
		step "done"
		return 0
	fi
	for k in "${kvers[@]}"; do
		rm -f "$VM/$k"/img-* # fresh images: no case depends on an earlier run
		nonce="$(date +%s)-$$-$RANDOM"
		for r in $(rounds); do run_round "$k" "$r" "$nonce"; done
	done

	step "done"
	table
	[ "$FAILED" -eq 0 ] || echo "vmtest: failed:$FAILED_NAMES (logs in $VM/<kernel>/<case>.log)" >&2
	echo "vmtest: $PASSED passed, $FAILED failed ($((SECONDS - T0)) s)"
	[ "$FAILED" -eq 0 ]
}

main
