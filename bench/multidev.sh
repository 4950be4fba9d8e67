#!/usr/bin/env bash
# One famfs over several devices, measured in the same run (not a test), on
# image files in tmpfs through the server's data path (famfs.ko, where it is
# loaded, maps the files instead: the vm guests measure that path):
#  - a file striped over two devices vs the same-size file on one device:
#    sequential read, mmap and write bandwidth, rounds alternating between
#    the two files; medians and the ratio striped/one (target >= 0.95);
#  - mount and client catch-up time of a file system of 1, 2 and 8 devices
#    holding the same files: the master's mount (replay, every device found
#    by uuid and opened), a second identity's mount (the same, read-only),
#    and that client's catch-up: from the end of the master's creation of
#    200 more files until the client shows the last one (its follow loop);
#    medians, and each against one device.
# Usage: bench/multidev.sh [BUILD]   (root, /dev/fuse)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-bench.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA FAMFS_DEVICE_CACHE=$T/devices
ROUNDS=${ROUNDS:-7}
SIZE_MB=${SIZE_MB:-256}
NFILES=${NFILES:-1000}
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do umount "$T/tmpfs" 2>/dev/null && break; sleep 0.5; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmpfs"
mount -t tmpfs -o size=40G tmpfs "$T/tmpfs"

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

mkfs_n() { # NAME N [MKFS OPTIONS]: a file system over N 4 GiB images
	local imgs=() i name=$1 n=$2
	shift 2
	for i in $(seq "$n"); do
		truncate -s 4G "$T/tmpfs/$name-$i.img"
		imgs+=("$T/tmpfs/$name-$i.img")
	done
	"$FAMFS" mkfs "$@" "${imgs[@]}" >/dev/null
}

echo "== a ${SIZE_MB} MiB file striped over two devices vs on one device (2 MiB chunks): MiB/s, medians of $ROUNDS rounds"
mkfs_n st 2
mkdir -p "$T/m"
"$FAMFS" mount "$T/tmpfs/st-1.img" "$T/m" >/dev/null
mounts+=("$T/m")
"$FAMFS" creat -s "${SIZE_MB}M" -N 2 -B 2 "$T/m/striped" >/dev/null
"$FAMFS" creat -s "${SIZE_MB}M" "$T/m/one" >/dev/null
"$FAMFS" getmap "$T/m/striped" | grep -q "strip 1 dev" || { echo "striped file not striped" >&2; exit 1; }
devs=$("$FAMFS" getmap "$T/m/one" | awk '/^extent/ { print $4 }' | sort -u | wc -l)
[ "$devs" = 1 ] || { echo "the one-device file spans $devs devices" >&2; exit 1; }
for f in striped one; do "$BUILD/bench/seqio" write "$T/m/$f" $((1 << 20)) 1 >/dev/null; done
for op in read mmap write; do
	s=() o=()
	for r in $(seq "$ROUNDS"); do
		s+=("$("$BUILD/bench/seqio" "$op" "$T/m/striped" $((1 << 20)) 1)")
		o+=("$("$BUILD/bench/seqio" "$op" "$T/m/one" $((1 << 20)) 1)")
	done
	ms=$(echo "${s[*]}" | median) mo=$(echo "${o[*]}" | median)
	printf "  %-5s striped %8.1f  one device %8.1f  ratio %s\n" "$op" "$ms" "$mo" "$(ratio "$ms" "$mo")"
done
umount "$T/m"
mounts=()
rm -f "$T/tmpfs"/st-*.img

echo "== mount and client catch-up with 1, 2 and 8 devices, $NFILES files each (ms, medians of $ROUNDS rounds)"
declare -A base
for n in 1 2 8; do
	# 4 KiB units: small files take 4 KiB, so the log, not the space, is what grows
	mkfs_n d$n "$n" --alloc-unit 4K
	mkdir -p "$T/m$n" "$T/c$n"
	mounts+=("$T/m$n" "$T/c$n")
	"$FAMFS" mount "$T/tmpfs/d$n-1.img" "$T/m$n" >/dev/null
	args=()
	for i in $(seq "$NFILES"); do args+=(-M "$T/m$n/f$i,4096"); done
	"$FAMFS" creat "${args[@]}" >/dev/null
	umount "$T/m$n"
	mt=() ct=() ft=()
	for r in $(seq "$ROUNDS"); do
		t0=$(date +%s%N)
		"$FAMFS" mount "$T/tmpfs/d$n-1.img" "$T/m$n" >/dev/null
		mt+=("$(ms_since "$t0")")
		t0=$(date +%s%N)
		FAMFS_SYSTEM_UUID_FILE=$T/hostB "$FAMFS" mount "$T/tmpfs/d$n-1.img" "$T/c$n" >/dev/null 2>&1
		ct+=("$(ms_since "$t0")")
		# new files on the master: how long until the client shows the last one
		args=()
		for i in $(seq 200); do args+=(-M "$T/m$n/r$r-$i,4096"); done
		"$FAMFS" creat -t 1 "${args[@]}" >/dev/null
		t0=$(date +%s%N)
		for _ in $(seq 5000); do [ -e "$T/c$n/r$r-200" ] && break; sleep 0.002; done
		[ -e "$T/c$n/r$r-200" ] || { echo "the client did not catch up" >&2; exit 1; }
		ft+=("$(ms_since "$t0")")
		umount "$T/c$n"
		umount "$T/m$n"
	done
	m=$(echo "${mt[*]}" | median) c=$(echo "${ct[*]}" | median) f=$(echo "${ft[*]}" | median)
	[ "$n" = 1 ] && base=([m]=$m [c]=$c [f]=$f)
	printf "  %d device(s): master mount %7.1f (%sx)  client mount %7.1f (%sx)  client catch-up after 200 new files %6.1f (%sx)\n" \
		"$n" "$m" "$(ratio "$m" "${base[m]}")" "$c" "$(ratio "$c" "${base[c]}")" "$f" "$(ratio "$f" "${base[f]}")"
	rm -f "$T/tmpfs/d$n"-*.img
done
