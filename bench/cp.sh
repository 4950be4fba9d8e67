#!/usr/bin/env bash
# famfs cp of many small files (not a test): `famfs cp -r -t N` of a tree
# (default /usr/share/zoneinfo) into a famfs whose image is on tmpfs, against
# cp(1) of the same tree to tmpfs and to libfuse's passthrough_ll over tmpfs
# (an ordinary FUSE file system), all in the same run. cp(1) runs with -L so
# that it creates the same regular files famfs cp does (famfs follows links).
# Prints files/s, best of RUNS (default 3), and the ratios.
# Usage: bench/cp.sh [BUILD [SRC [THREADS...]]]   (root, /dev/fuse)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
SRC=${2:-/usr/share/zoneinfo}
shift $(($# > 2 ? 2 : $#))
THREADS=("$@")
[ ${#THREADS[@]} -gt 0 ] || THREADS=(1 2 4 8 16)
RUNS=${RUNS:-3}
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-benchcp.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
cleanup() {
	for m in "$T/famfs" "$T/pt"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	umount "$T/tmpfs" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmpfs" "$T/famfs" "$T/pt"
mount -t tmpfs -o size=16G tmpfs "$T/tmpfs"

NFILES=$(find -L "$SRC" -type f | wc -l)
NDIRS=$(find -L "$SRC" -type d | wc -l)
# 2 MiB per file and one log entry per file and directory.
IMG_GB=$(((NFILES * 2 + 4096) / 1024 + 1))
LOG=8M
[ $((NFILES + NDIRS)) -lt 15000 ] || LOG=64M

passthrough_ll "$T/pt"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }
best() { printf '%s\n' "$@" | sort -n | tail -1; }

# One famfs cp run: a fresh image each time (the log and space are never reused).
famfs_run() { # THREADS
	rm -f "$T/tmpfs/img"
	"$FAMFS" mkfs -s ${IMG_GB}G -l $LOG "$T/tmpfs/img" >/dev/null
	"$FAMFS" mount "$T/tmpfs/img" "$T/famfs"
	local s e
	s=$(now)
	"$FAMFS" cp -r -t "$1" "$SRC" "$T/famfs/copy"
	e=$(now)
	[ "$(find "$T/famfs/copy" -type f | wc -l)" = "$NFILES" ] || { echo "famfs cp: files missing" >&2; exit 1; }
	"$FAMFS" umount "$T/famfs"
	rate "$NFILES" "$s" "$e"
}
cp_run() { # DEST-DIR
	rm -rf "$1/copy"
	sync
	local s e
	s=$(now)
	cp -rL "$SRC" "$1/copy"
	e=$(now)
	rate "$NFILES" "$s" "$e"
}

echo "== famfs cp -r of $SRC: $NFILES files, $NDIRS directories; image on tmpfs; best of $RUNS (files/s)"
r=()
for i in $(seq "$RUNS"); do r+=("$(cp_run "$T/tmpfs")"); done
TMPFS=$(best "${r[@]}")
r=()
for i in $(seq "$RUNS"); do r+=("$(cp_run "$T/pt")"); done
PTR=$(best "${r[@]}")
printf '%-34s %10s\n' "cp -rL to tmpfs (baseline)" "$TMPFS"
printf '%-34s %10s  %sx tmpfs\n' "cp -rL to passthrough_ll (FUSE)" "$PTR" "$(ratio "$PTR" "$TMPFS")"
for t in "${THREADS[@]}"; do
	r=()
	for i in $(seq "$RUNS"); do r+=("$(famfs_run "$t")"); done
	F=$(best "${r[@]}")
	printf '%-34s %10s  %sx tmpfs  %sx passthrough_ll\n' "famfs cp -r -t $t" "$F" \
		"$(ratio "$F" "$TMPFS")" "$(ratio "$F" "$PTR")"
done
echo "(target: famfs cp -t N >= 10000 files/s; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
