#!/usr/bin/env bash
# 4 KiB vs 2 MiB allocation units (issue 13), measured in the same run (not a
# test): space used for a real tree copied with famfs cp (default
# /usr/share/doc); the create rate of large files; sequential read, mmap and
# write bandwidth of a large file (with a 4 KiB tail in the 4K fs). Rounds
# alternate between the two file systems; medians, and the ratio 4K/2M.
# Usage: bench/units.sh [BUILD] [SOURCE_DIR]   (root, /dev/fuse)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
SRC=${2:-/usr/share/doc}
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-bench.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
ROUNDS=${ROUNDS:-9}
NFILES=${NFILES:-200}
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { "$FAMFS" umount "$m" >/dev/null 2>&1 || umount -l "$m"; }
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do umount "$T/tmpfs" 2>/dev/null && break; sleep 0.5; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmpfs"
# Images in tmpfs: only written pages take memory (the 2M fs's units are holes).
mount -t tmpfs -o size=80G tmpfs "$T/tmpfs"

# CPU time (ns) the server of mount $1 has used, all threads (schedstat: exact, not in ticks).
xattr() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2"; }
srv_pid() { xattr "$1" user.famfs.pid; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

mkfs_mount() { # UNIT SIZE NAME
	"$FAMFS" mkfs --alloc-unit "$1" --size "$2" "$T/tmpfs/$3.img" >/dev/null
	mkdir -p "$T/$3"
	"$FAMFS" mount "$T/tmpfs/$3.img" "$T/$3"
	mounts+=("$T/$3")
}
fsck_bytes() { # MOUNT -> "used_by_files meta"
	"$FAMFS" fsck "$1" | awk '/Device capacity:/ { c = $3 } /Free space:/ { f = $3 } /log_len:/ { l = $2 }
		END { print c - f - 2097152 - l, 2097152 + l }'
}

files=$(find -L "$SRC" -type f 2>/dev/null | wc -l)
echo "== space: famfs cp -r $SRC ($files files) into a 4K-unit and a 2M-unit file system"
mkfs_mount 4K 2G doc4k
mkfs_mount 2M 16G doc2m
for u in 4k 2m; do
	t0=$(date +%s.%N)
	"$FAMFS" cp -r "$SRC" "$T/doc$u/doc" 2>/dev/null || true
	t1=$(date +%s.%N)
	read -r used meta <<<"$(fsck_bytes "$T/doc$u")"
	eval "used_$u=$used meta_$u=$meta secs_$u=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
done
read -r data data4k n <<<"$(find "$T/doc4k/doc" -type f -printf '%s\n' |
	awk '{ s += $1; r += ($1 ? int(($1 + 4095) / 4096) : 1) * 4096; n++ } END { print s, r, n }')"
printf "  data %s in %s files (rounded to 4 KiB: %s)\n" "$(mib "$data")" "$n" "$(mib "$data4k")"
printf "  4K units: %s allocated to files (%.3fx the data, %.3fx rounded to 4 KiB) + %s metadata; copy %.1f s\n" \
	"$(mib "$used_4k")" "$(ratio "$used_4k" "$data")" "$(ratio "$used_4k" "$data4k")" "$(mib "$meta_4k")" "$secs_4k"
printf "  2M units: %s allocated to files (%.1fx the data) + %s metadata; copy %.1f s\n" \
	"$(mib "$used_2m")" "$(ratio "$used_2m" "$data")" "$(mib "$meta_2m")" "$secs_2m"
printf "  space 2M/4K: %sx\n" "$(ratio "$used_2m" "$used_4k")"
for m in "$T/doc4k" "$T/doc2m"; do "$FAMFS" umount "$m"; done
rm -f "$T/tmpfs/doc4k.img" "$T/tmpfs/doc2m.img"

mkfs_mount 4K 64G u4k
mkfs_mount 2M 64G u2m
echo "== create rate of large files: open(O_CREAT)+fallocate+close, $NFILES files a round, $ROUNDS rounds each"
echo "   (files/s of wall time, and the server's CPU time per file: less disturbed by a busy machine)"
pid4=$(srv_pid "$T/u4k") pid2=$(srv_pid "$T/u2m")

# alternate FN DIV FMT: ROUNDS rounds, each running `FN UNIT ROUND` (it prints
# one figure) on the 4K then the 2M file system. Sets r4/r2 (the figures),
# m4/m2 (their medians) and u4/u2: the medians of the server's CPU time per
# run, in ns / DIV, printed with FMT.
alternate() {
	local r u pid before v cpu c4="" c2=""
	r4="" r2=""
	for r in $(seq "$ROUNDS"); do
		for u in 4k 2m; do
			pid=$pid2
			[ $u = 4k ] && pid=$pid4
			before=$(cpu_ns "$pid")
			v=$("$1" $u "$r")
			cpu=$(awk -v a="$before" -v b="$(cpu_ns "$pid")" -v d="$2" -v f="$3" 'BEGIN { printf f, (b - a) / d }')
			if [ $u = 4k ]; then r4="$r4 $v" c4="$c4 $cpu"; else r2="$r2 $v" c2="$c2 $cpu"; fi
		done
	done
	m4=$(echo "$r4" | median) m2=$(echo "$r2" | median)
	u4=$(echo "$c4" | median) u2=$(echo "$c2" | median)
}
create() { # UNIT ROUND: files/s of NFILES creates of $size bytes
	mkdir -p "$T/u$1/c$size-$2"
	"$BUILD/bench/create_rate" "$T/u$1/c$size-$2" "$NFILES" "$size"
}
for size in $((8 << 20)) $(((8 << 20) + 12345)); do
	alternate create $((NFILES * 1000)) %.1f # server CPU in us per file
	printf "  %9d bytes: 4K %6.0f/s  2M %6.0f/s  4K/2M %sx;  server CPU per file 4K %s us  2M %s us  (2M/4K %sx)\n" \
		"$size" "$m4" "$m2" "$(ratio "$m4" "$m2")" "$u4" "$u2" "$(ratio "$u2" "$u4")"
	echo "      rounds: 4K$r4 / 2M$r2 files/s"
done

size=$(((1 << 30) + 12345))
echo "== sequential bandwidth of a $size-byte file (1 GiB and a 4 KiB-unit tail), 1 MiB blocks, $ROUNDS rounds (MiB/s)"
for u in 4k 2m; do
	"$FAMFS" creat -s "$size" "$T/u$u/big"
	"$BUILD/bench/seqio" write "$T/u$u/big" $((1 << 20)) 1 >/dev/null
done
"$FAMFS" getmap "$T/u4k/big" | sed 's/^/  4K map: /'
seq_op() { "$BUILD/bench/seqio" "$op" "$T/u$1/big" $((1 << 20)) 1; } # UNIT ROUND: MiB/s
for op in read mmap write; do
	alternate seq_op 1000000 %.0f # server CPU in ms per GiB
	printf "  %-5s 4K %6.0f  2M %6.0f MiB/s  4K/2M %sx;  server CPU per GiB 4K %s ms  2M %s ms  (2M/4K %sx)\n" \
		"$op" "$m4" "$m2" "$(ratio "$m4" "$m2")" "$u4" "$u2" "$(ratio "$u2" "$u4")"
	echo "      rounds: 4K$r4 / 2M$r2 MiB/s"
done
stats=$(xattr "$T/u4k" user.famfs.stats | grep -E '^(fmap|data) ' | tr '\n' ' ' || true)
echo "  data path: $stats(without famfs.ko the server moves the data: READ/WRITE upcalls)"
