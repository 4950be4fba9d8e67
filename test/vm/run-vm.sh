#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh - boot one famfs test guest under qemu (TCG) with an emulated
# NVDIMM backed by a host file, and report the guest test's verdict.
#
# Usage: test/vm/run-vm.sh --image FILE [options]
#   --image FILE     backing file of the NVDIMM (created sparse if missing);
#                    give two guests the same FILE to share the memory;
#                    "none": no NVDIMM (needs --cxl). Given twice: two
#                    NVDIMMs, in this order (region0, region1 in the guest)
#   --size SIZE      NVDIMM size (default 1G; multiple of 2M)
#   --cxl FILE       add an emulated CXL type-3 memory device (qemu 7.2
#                    cxl-type3, persistent memdev) backed by FILE (created
#                    sparse if missing); q35 machine, second empty root
#                    port, fixed serial, 6.12's pci=nomsi and -hypervisor
#                    (docs/kernel.md, "CXL test bed"). Given twice: two
#                    devices, each on a host bridge of its own (mem0 under
#                    the first), and three fixed memory windows: one per
#                    host bridge (decoder0.0, decoder0.1: a region per
#                    device) and one interleaving both (decoder0.2: one
#                    region over both devices); each device's serial is
#                    derived from its FILE's name, so that any host and
#                    any order gives a device the same one
#   --cxl-size SIZE  their size (default 256M; multiple of 256M)
#   --lsa FILE       the label storage area of one device (default
#                    FILE.lsa; with two devices always FILE.lsa); hosts
#                    sharing the memory share this file too
#   --kver KVER      the Debian kernel to boot (default: the first of
#                    scripts/kernel-env.sh's KVERS): its cached vmlinuz and
#                    build/vm/KVER/initramfs.cpio.gz
#   --initrd FILE    initramfs (default build/vm/KVER/initramfs.cpio.gz)
#   --kernel FILE    kernel (default the cached vmlinuz-KVER)
#   --test NAME      guest runs /tests/NAME.sh (famfs.test=NAME; default smoke)
#   --arg KEY=VAL    pass famfs.KEY=VAL to the guest test (repeatable),
#                    e.g. --arg role=master --arg case=verify
#   --append STR     extra kernel command line
#   --log FILE       console log (default build/vm/NAME.log)
#   --name NAME      label for messages and the default log (default: test)
#   --timeout SEC    kill qemu after SEC seconds (default 300); the guest's
#                    own watchdog fires 15 s earlier and dumps its state
#   --mem SIZE       guest RAM (default 2G)
#   --maxmem SIZE    RAM + NVDIMM limit (default 8G)
#   -v, --verbose    stream the console while it runs ("[NAME] " prefix)
#   --interactive    console on this terminal, a shell after the test
#                    (famfs.shell=1), no timeout; Ctrl-A X quits qemu
# Exit status: 0 only if the console shows "FAMFS-VM-RESULT: PASS";
#   1 the test failed, 2 no verdict (panic, crash), 124 timeout.
# On anything but PASS the whole console log is printed; on PASS, the test's
# own output. Never waits longer than --timeout (+5 s to kill).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${BUILD:-$REPO/build}"

die() { echo "run-vm: error: $*" >&2; exit 2; }

IMAGES=() CXLS=() SIZE=1G CXL_SIZE=256M LSA="" INITRD="" KERNEL="" KVER_ARG="" TEST=smoke
ARGS=() APPEND="" LOG="" NAME="" TIMEOUT=300 MEM=2G MAXMEM=8G VERBOSE=0 INTERACTIVE=0

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--image) IMAGES+=("$2"); shift ;;
		--size) SIZE=$2; shift ;;
		--cxl) CXLS+=("$2"); shift ;;
		--cxl-size) CXL_SIZE=$2; shift ;;
		--lsa) LSA=$2; shift ;;
		--initrd) INITRD=$2; shift ;;
		--kernel) KERNEL=$2; shift ;;
		--kver) KVER_ARG=$2; shift ;;
		--test) TEST=$2; shift ;;
		--arg) ARGS+=("famfs.$2"); shift ;;
		--append) APPEND="$APPEND $2"; shift ;;
		--log) LOG=$2; shift ;;
		--name) NAME=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--mem) MEM=$2; shift ;;
		--maxmem) MAXMEM=$2; shift ;;
		-v | --verbose) VERBOSE=1 ;;
		--interactive) INTERACTIVE=1 ;;
		-h | --help) sed -n '3,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
		*) die "unknown option $1 (try --help)" ;;
		esac
		shift
	done
	[ ${#IMAGES[@]} -gt 0 ] || die "--image FILE is required"
	[ ${#IMAGES[@]} -le 2 ] || die "at most two --image"
	[ ${#CXLS[@]} -le 2 ] || die "at most two --cxl"
	IMAGE=${IMAGES[0]}
	[ "$IMAGE" != none ] || [ ${#IMAGES[@]} -eq 1 ] || die "--image none with another --image"
	[ "$IMAGE" != none ] || [ ${#CXLS[@]} -gt 0 ] || die "--image none needs --cxl FILE"
	[ ${#CXLS[@]} -le 1 ] || [ -z "$LSA" ] || die "--lsa goes with one --cxl"
	CXL=${CXLS[0]:-}
	[ -z "$CXL" ] || LSA=${LSA:-$CXL.lsa}
	NAME=${NAME:-$TEST}
	LOG=${LOG:-$BUILD/vm/$NAME.log}
}

setup() {
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (package qemu-system-x86)"
	command -v timeout >/dev/null || die "timeout not found (coreutils)"
	# shellcheck source=scripts/kernel-env.sh
	source "$REPO/scripts/kernel-env.sh"
	famfs_kernel_env "$KVER_ARG"
	if [ -z "$KERNEL" ]; then
		famfs_require_image || exit 2
		KERNEL=$KIMG_VMLINUZ
	fi
	INITRD=${INITRD:-$BUILD/vm/$KVER/initramfs.cpio.gz}
	[ -r "$KERNEL" ] || die "kernel $KERNEL not readable"
	[ -r "$INITRD" ] || die "initramfs $INITRD not found (run test/vm/mkinitramfs.sh)"
	mkdir -p "$(dirname "$LOG")"
	local f l
	if [ "$IMAGE" != none ]; then
		for f in "${IMAGES[@]}"; do
			mkdir -p "$(dirname "$f")"
			[ -e "$f" ] || truncate -s "$SIZE" "$f" || die "cannot create $f"
		done
	fi
	for f in ${CXLS[@]+"${CXLS[@]}"}; do
		l=$f.lsa
		[ ${#CXLS[@]} -gt 1 ] || l=$LSA
		mkdir -p "$(dirname "$f")" "$(dirname "$l")"
		[ -e "$f" ] || truncate -s "$CXL_SIZE" "$f" || die "cannot create $f"
		# 256 MiB of label space is what the measured recipe used; sparse.
		[ -e "$l" ] || truncate -s 256M "$l" || die "cannot create $l"
	done
}

# cxl_serial FILE: a non-zero serial number for the CXL device backed by
# FILE, the same on every host and in every order (6.1 derives the
# interleave-set cookie of a region's labels from its devices' serials).
cxl_serial() {
	printf '0x%x' $(($(basename "$1" | cksum | cut -d' ' -f1) | 0x100))
}

# The qemu arguments of two CXL type-3 devices (docs/kernel.md, "CXL test
# bed"): each on its own host bridge with a second, empty root port (6.1
# commits no HDM decoder of a host bridge with one port); a window per host
# bridge, and a third interleaving both host bridges (4 KiB granularity).
cxl2_args() {
	local i b f
	for i in 0 1; do
		b=$((12 + 40 * i)) f=${CXLS[$i]}
		qemu+=(-object "memory-backend-file,id=cxl-mem$i,share=on,mem-path=$f,size=$CXL_SIZE"
			-object "memory-backend-file,id=cxl-lsa$i,share=on,mem-path=$f.lsa,size=256M"
			-device "pxb-cxl,bus_nr=$b,bus=pcie.0,id=cxl.$((i + 1))"
			-device "cxl-rp,port=0,bus=cxl.$((i + 1)),id=root_port$((b + 1)),chassis=$i,slot=$((2 * i + 2))"
			-device "cxl-type3,bus=root_port$((b + 1)),memdev=cxl-mem$i,id=cxl-pmem$i,sn=$(cxl_serial "$f"),lsa=cxl-lsa$i"
			-device "cxl-rp,port=1,bus=cxl.$((i + 1)),id=root_port$((b + 2)),chassis=$i,slot=$((2 * i + 3))")
	done
	qemu+=(-M "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G,cxl-fmw.1.targets.0=cxl.2,cxl-fmw.1.size=4G,cxl-fmw.2.targets.0=cxl.1,cxl-fmw.2.targets.1=cxl.2,cxl-fmw.2.size=8G,cxl-fmw.2.interleave-granularity=4k")
}

# Print the guest test's own output: from "running <script>" to the verdict.
print_test_output() {
	sed -n '/^famfs-guest: running /,/^FAMFS-VM-RESULT:/p' "$LOG" | sed "s/^/[$NAME] /"
}

main() {
	parse_args "$@"
	setup
	local guest_to=""
	[ "$TIMEOUT" -gt 45 ] && guest_to="famfs.timeout=$((TIMEOUT - 15))"
	local cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 no_timer_check famfs.test=$TEST $guest_to ${ARGS[*]}$APPEND"

	# shellcheck disable=SC2054 # the commas belong to qemu's option values
	local qemu=(qemu-system-x86_64 -accel tcg -smp 1) machine=pc,nvdimm=on cpu=qemu64,+rdrand
	if [ -n "$CXL" ]; then
		# CXL (docs/kernel.md): q35 with cxl=on; a second, empty root port
		# (6.1 then commits the host bridge's HDM decoder); a non-zero
		# serial (6.1 derives the interleave-set cookie of the labels from
		# it); 6.12's cxl_pci needs pci=nomsi, its region commit a CPU
		# without the hypervisor bit.
		machine=q35,cxl=on
		[ "$IMAGE" = none ] || machine=$machine,nvdimm=on
		cpu=$cpu,-hypervisor
		cmdline="$cmdline pci=nomsi"
	fi
	qemu+=(-cpu "$cpu" -machine "$machine" -m "$MEM,slots=4,maxmem=$MAXMEM")
	if [ "$IMAGE" != none ]; then
		local i=1 f
		for f in "${IMAGES[@]}"; do
			qemu+=(-object "memory-backend-file,id=mem$i,share=on,mem-path=$f,size=$SIZE,align=2M"
				-device "nvdimm,id=nv$i,memdev=mem$i")
			i=$((i + 1))
		done
	fi
	if [ ${#CXLS[@]} -gt 1 ]; then
		cxl2_args
	elif [ -n "$CXL" ]; then
		qemu+=(-object "memory-backend-file,id=cxl-mem1,share=on,mem-path=$CXL,size=$CXL_SIZE"
			-object "memory-backend-file,id=cxl-lsa1,share=on,mem-path=$LSA,size=256M"
			-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
			-device cxl-rp,port=0,bus=cxl.1,id=root_port13,chassis=0,slot=2
			-device cxl-type3,bus=root_port13,memdev=cxl-mem1,id=cxl-pmem0,sn=0x1,lsa=cxl-lsa1
			-device cxl-rp,port=1,bus=cxl.1,id=root_port14,chassis=0,slot=3
			-M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G)
	fi
	qemu+=(-nographic -nodefaults -serial stdio -monitor none -no-reboot
		-kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline")

	if [ "$INTERACTIVE" = 1 ]; then
		qemu=("${qemu[@]/#stdio/mon:stdio}")
		qemu[${#qemu[@]} - 1]="$cmdline famfs.shell=1"
		exec "${qemu[@]}"
	fi

	echo "run-vm[$NAME]: booting (image ${IMAGES[*]}${CXL:+, cxl ${CXLS[*]}}, log $LOG, timeout ${TIMEOUT}s)" >&2
	echo "run-vm[$NAME]: append: $cmdline" >&2
	local start=$SECONDS rc=0
	set +e
	if [ "$VERBOSE" = 1 ]; then
		timeout -k 5 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$LOG" | sed -u "s/^/[$NAME] /"
	else
		timeout -k 5 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' >"$LOG"
	fi
	rc=${PIPESTATUS[0]}
	set -e
	local took=$((SECONDS - start))

	if grep -a -q '^FAMFS-VM-RESULT: PASS$' "$LOG"; then
		[ "$VERBOSE" = 1 ] || print_test_output
		echo "run-vm[$NAME]: PASS (${took}s)" >&2
		return 0
	fi
	local verdict status
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		verdict="TIMEOUT after ${TIMEOUT}s"; status=124
	elif grep -a -q '^FAMFS-VM-RESULT: FAIL' "$LOG"; then
		verdict=$(grep -a '^FAMFS-VM-RESULT: FAIL' "$LOG" | head -1); status=1
	else
		verdict="no verdict (qemu exit $rc: panic or crash?)"; status=2
	fi
	if [ "$VERBOSE" = 0 ]; then
		echo "run-vm[$NAME]: ---- guest console ($LOG) ----" >&2
		sed "s/^/[$NAME] /" "$LOG" >&2
		echo "run-vm[$NAME]: ---- end of console ----" >&2
	fi
	echo "run-vm[$NAME]: FAIL: $verdict (${took}s)" >&2
	return "$status"
}

main "$@"
