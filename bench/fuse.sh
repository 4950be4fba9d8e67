#!/usr/bin/env bash
# FUSE benchmarks of famfs (not a test): sequential 1 GiB read/write through
# the mount against tmpfs and libfuse's passthrough_ll over tmpfs, measured
# in the same run; file creation rate; `famfs creat` latency; client
# catch-up latency. Usage: bench/fuse.sh [BUILD]   (root, /dev/fuse)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-bench.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	umount "$T/tmpfs" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/tmpfs" "$T/pt" "$T/famfs" "$T/client"
mount -t tmpfs -o size=8G tmpfs "$T/tmpfs"
mounts+=("$T/famfs" "$T/client" "$T/pt")

passthrough_ll "$T/pt"

echo "== sequential 1 GiB, 1 MiB blocks, best of 3 (MiB/s)"
fallocate -l 1G "$T/tmpfs/plain"
fallocate -l 1G "$T/tmpfs/pt_src/f"
"$FAMFS" mkfs --size 32G "$T/tmpfs/famfs.img" >/dev/null
"$FAMFS" mount "$T/tmpfs/famfs.img" "$T/famfs"
"$FAMFS" creat -s 1G "$T/famfs/f"
for op in write read; do
	tm=$("$BUILD/bench/seqio" $op "$T/tmpfs/plain")
	pt=$("$BUILD/bench/seqio" $op "$T/pt/f")
	fa=$("$BUILD/bench/seqio" $op "$T/famfs/f")
	printf "%-6s tmpfs %6s   passthrough_ll %6s   famfs %6s   famfs/passthrough_ll %sx   famfs/tmpfs %sx\n" \
		"$op" "$tm" "$pt" "$fa" "$(ratio "$fa" "$pt")" "$(ratio "$fa" "$tm")"
done

echo "== file creation, one process: open(O_CREAT)+fallocate(4 KiB)+close (files/s)"
mkdir -p "$T/tmpfs/cr" "$T/pt/cr" "$T/famfs/cr"
tm=$("$BUILD/bench/create_rate" "$T/tmpfs/cr" 5000)
pt=$("$BUILD/bench/create_rate" "$T/pt/cr" 5000)
fa=$("$BUILD/bench/create_rate" "$T/famfs/cr" 5000)
printf "create tmpfs %6s   passthrough_ll %6s   famfs %6s   famfs/passthrough_ll %sx\n" \
	"$tm" "$pt" "$fa" "$(ratio "$fa" "$pt")"

echo "== famfs creat -s 1M latency, whole command (ms), 50 runs"
python3 - "$FAMFS" "$T/famfs" <<'PY'
import statistics, subprocess, sys, time
famfs, mnt = sys.argv[1], sys.argv[2]
def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1e3
c = [run([famfs, "creat", "-s", "1M", "%s/lat%03d" % (mnt, i)]) for i in range(50)]
b = [run([famfs, "--help"]) for i in range(50)]
print("famfs creat median %.2f ms (p90 %.2f); baseline `famfs --help` (process start) %.2f ms"
      % (statistics.median(c), sorted(c)[44], statistics.median(b)))
PY

echo "== client catch-up after a master append (ms), 50 files"
FAMFS_SYSTEM_UUID_FILE=$T/hostB "$FAMFS" mount "$T/tmpfs/famfs.img" "$T/client" 2>/dev/null
python3 - "$T/famfs" "$T/client" <<'PY'
import os, random, statistics, sys, time
m, c = sys.argv[1], sys.argv[2]
os.mkdir(m + "/follow")
lat = []
for i in range(50):
    p = "/follow/f%03d" % i
    while not os.path.isdir(c + "/follow"):
        time.sleep(0.001)
    time.sleep(random.uniform(0, 0.05))  # do not lock step with the client's polls
    t = time.perf_counter()
    fd = os.open(m + p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.posix_fallocate(fd, 0, 4096)
    os.close(fd)
    while not os.path.exists(c + p):
        time.sleep(0.0005)
    lat.append((time.perf_counter() - t) * 1e3)
print("catch-up median %.1f ms, p90 %.1f ms, max %.1f ms (adaptive polling, default -o poll_ms=4)"
      % (statistics.median(lat), sorted(lat)[44], max(lat)))
PY
