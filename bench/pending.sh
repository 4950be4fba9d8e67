#!/usr/bin/env bash
# Benchmarks of allocate-on-write and of the client follow loop (not tests;
# every figure comes with a baseline measured in the same run):
#  1. cp -r and tar x of a small-file tree (/usr/include/linux and
#     x86_64-linux-gnu, ~1,200 files) into tmpfs, libfuse's passthrough_ll
#     over tmpfs, and famfs (image on tmpfs): files/s and MiB/s;
#  2. 512 MiB sequential write (dd, 1 MiB blocks) into a new file
#     (allocate on write) vs into a file famfs creat sized first: MiB/s,
#     best of 3, and the ratio (target >= 0.9);
#  3. the follow loop: how long a file committed on the master takes to
#     appear on a client, and the client server's CPU while idle, adaptive
#     polling (default) vs the old fixed 20 ms poll.
# Usage: bench/pending.sh [BUILD]   (root, /dev/fuse)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-bench.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do
		"$FAMFS" umount "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	umount "$T/tmpfs" 2>/dev/null || umount -l "$T/tmpfs" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmpfs" "$T/pt" "$T/famfs" "$T/client"
mount -t tmpfs -o size=12G tmpfs "$T/tmpfs"
mounts+=("$T/client" "$T/famfs" "$T/pt")

passthrough_ll "$T/pt"
"$FAMFS" mkfs --size 16G "$T/tmpfs/famfs.img" >/dev/null
"$FAMFS" mount "$T/tmpfs/famfs.img" "$T/famfs"

SRC=$T/tmpfs/src
mkdir -p "$SRC"
cp -rL /usr/include/linux /usr/include/x86_64-linux-gnu "$SRC/" 2>/dev/null || true
tar -C "$SRC" -cf "$T/tmpfs/src.tar" .
nfiles=$(find "$SRC" -type f | wc -l)
mib=$(du -sb "$SRC" | awk '{ printf "%.2f", $1 / 1048576 }')
secs() { # secs CMD...: wall seconds of CMD
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	awk -v n=$((e - s)) 'BEGIN { printf "%.3f", n / 1e9 }'
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mibs() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.1f", m / s }'; }

echo "== small-file tree: $nfiles files, $mib MiB (files/s, MiB/s; best of 2)"
for how in "cp -r" "tar x"; do
	line="$how"
	declare -A best=()
	for dst in tmpfs pt famfs; do
		case $dst in tmpfs) d=$T/tmpfs ;; pt) d=$T/pt ;; famfs) d=$T/famfs ;; esac
		b=999
		for r in 1 2; do
			out="$d/${how// /_}$r"
			if [ "$how" = "cp -r" ]; then
				s=$(secs cp -r "$SRC" "$out")
			else
				mkdir -p "$out"
				s=$(secs tar -C "$out" -xf "$T/tmpfs/src.tar")
			fi
			b=$(awk -v a="$b" -v c="$s" 'BEGIN { print (c < a ? c : a) }')
		done
		best[$dst]=$b
		line="$line   $dst $(rate "$nfiles" "$b") files/s $(mibs "$mib" "$b") MiB/s"
	done
	echo "$line   famfs/passthrough_ll $(ratio "${best[pt]}" "${best[famfs]}")x  famfs/tmpfs $(ratio "${best[tmpfs]}" "${best[famfs]}")x"
	unset best
done
diff -r "$SRC" "$T/famfs/cp_-r1" >/dev/null && diff -r "$SRC" "$T/famfs/tar_x1" >/dev/null ||
	echo "   (!) the famfs copies differ from the source"

echo "== 512 MiB sequential write, 1 MiB blocks (MiB/s, best of 3)"
aow=0
pre=0
for r in 1 2 3; do
	s=$(secs dd if=/dev/zero of="$T/famfs/aow$r" bs=1M count=512)
	aow=$(awk -v a="$aow" -v m="$(mibs 512 "$s")" 'BEGIN { print (m > a ? m : a) }')
	"$FAMFS" creat -s 512M "$T/famfs/pre$r"
	s=$(secs dd if=/dev/zero of="$T/famfs/pre$r" bs=1M count=512 conv=notrunc)
	pre=$(awk -v a="$pre" -v m="$(mibs 512 "$s")" 'BEGIN { print (m > a ? m : a) }')
done
echo "allocate-on-write $aow   pre-sized (famfs creat -s 512M) $pre   ratio $(ratio "$aow" "$pre")x (target >= 0.9)"

echo "== follow loop: new file on the master -> visible on a client (ms), idle CPU of the client's server"
follow() { # follow OPTS LABEL
	FAMFS_SYSTEM_UUID_FILE=$T/hostB "$FAMFS" mount -o "$1" "$T/tmpfs/famfs.img" "$T/client" 2>/dev/null
	python3 - "$T/famfs" "$T/client" "$2" <<'PY'
import os, random, statistics, sys, time
m, c, label = sys.argv[1:]
pid = int(os.getxattr(c, "user.famfs.pid"))
hz = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
d = "/follow-%d" % random.randrange(1 << 30)
os.mkdir(m + d)
lat = []
for i in range(40):
    while not os.path.isdir(c + d):
        time.sleep(0.001)
    time.sleep(random.uniform(0.02, 0.08))  # idle between files, off the poll phase
    p = "%s/f%03d" % (d, i)
    t = time.perf_counter()
    with open(m + p, "wb") as f:
        f.write(b"x" * 100)
    while not os.path.exists(c + p):
        time.sleep(0.0002)
    lat.append((time.perf_counter() - t) * 1e3)
time.sleep(1)
c0, t0 = cpu(), time.perf_counter()
time.sleep(10)
idle = (cpu() - c0) / (time.perf_counter() - t0) * 100
print("%-34s median %5.1f ms  p90 %5.1f ms   idle CPU %.2f %% of one core"
      % (label, statistics.median(lat), sorted(lat)[35], idle))
PY
	"$FAMFS" umount "$T/client"
}
follow "poll_ms=20,poll_min_us=20000" "fixed 20 ms poll (the old loop)"
follow "poll_ms=4" "adaptive 0.5-4 ms (default)"
