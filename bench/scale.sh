#!/usr/bin/env bash
# A famfs with many small files (not a test): one 4 KiB-unit file system
# grown to FILES tiny files (default 1,000,000) in three steps (FILES/10,
# FILES/2, FILES), with the log and device sized for it. After each step:
#
#   cp         famfs cp -r -t 8 of the step's files (1,000 per directory)
#   mount      famfs mount: the whole log replayed (per log entry)
#   RSS        the server's resident memory, per file: the master after that
#              mount, a client (another host identity) after its mount, and
#              the catch-up client below once it has replayed everything
#   ls -R      of the whole tree, on a fresh mount
#   new file   how long a file created on the master takes to appear on the
#              client
#   catch-up   a client that has seen nothing replays the whole log at once
#              (its log region is filled under it; per entry, its CPU time
#              until the kernel notices it sends are sent too)
#   fsck       offline (the image) with its peak RSS, and through the mount
#
# with the targets in a row under the header. Then a directory of 100,000
# files against one of 10,000 (lookup and readdir per entry must stay
# flat), and the plain tools (cp -r, tar x of a small-file tree) into famfs
# against libfuse's passthrough_ll, in the same run, alternating, RUNS
# times (the median ratio: the machine may be noisy).
#
# The source files are hard links to one tiny file on tmpfs (1M links cost
# ~200 MB, not 1M pages); famfs gets a file of its own for each.
# Usage: bench/scale.sh [BUILD [FILES]]   (root, /dev/fuse; `make bench` runs it
# with 100,000 files; BIGDIR=N sizes the large-directory row)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:-build}" && pwd)
FILES=${2:-1000000}
BIGDIR=${BIGDIR:-100000}
THREADS=${THREADS:-8}
RUNS=${RUNS:-5}
PER_DIR=1000
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-scale.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
mounts=()
cleanup() {
	local m
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { "$FAMFS" umount "$m" >/dev/null 2>&1 || umount -l "$m" 2>/dev/null || true; }
	done
	umount "$T/tmpfs" 2>/dev/null || umount -l "$T/tmpfs" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "scale.sh: needs root and /dev/fuse" >&2; exit 77; }
mkdir -p "$T/tmpfs" "$T/m" "$T/c" "$T/z" "$T/pt"
mounts+=("$T/c" "$T/z" "$T/m" "$T/pt")
mount -t tmpfs -o size=20G,nr_inodes=0 tmpfs "$T/tmpfs"
IMG=$T/tmpfs/famfs.img
SRC=$T/tmpfs/src

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 1e6 }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? ns / n / 1e3 : 0) }'; } # us each
xattr() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2"; }
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' /proc/"$1"/status; } # PID FIELD
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; } # all threads
mount_m() { "$FAMFS" mount "$IMG" "$T/m" >/dev/null; }
# mount_timed: mount_m, setting mwall and mcpu (ns): wall time, and the CPU time of
# famfs mount and the server until it daemonizes (the replay happens before).
mount_timed() {
	local w u sy
	read -r w u sy < <(/usr/bin/time -f '%e %U %S' "$FAMFS" mount "$IMG" "$T/m" 2>&1 >/dev/null | tail -1)
	mwall=$(awk -v w="$w" 'BEGIN { printf "%.0f", w * 1e9 }')
	mcpu=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.0f", (u + s) * 1e9 }')
}
# umount MNT, and wait for its server to exit (freeing a large namespace takes a while,
# and the device's writer lock is held until then).
umount_wait() {
	local pid
	pid=$(xattr "$1" user.famfs.pid)
	"$FAMFS" umount "$1"
	while [ -e /proc/"$pid" ]; do sleep 0.05; done
}
mount_c() { FAMFS_SYSTEM_UUID_FILE=$T/hostB "$FAMFS" mount "$IMG" "$T/c" >/dev/null 2>&1; }
log_used() { od -An -t u8 -j $((2 * 1048576 + 40)) -N 8 "$IMG" | tr -d ' '; } # next_index

# The log: one entry per file and directory, with room for the large
# directories and 10% to spare, rounded up to a power of two (mkfs -l).
entries=$((FILES + FILES / PER_DIR + BIGDIR * 11 / 10 + 10000))
LOG=8
while [ $((LOG << 20)) -lt $((entries * 544 * 11 / 10 + 48)) ]; do LOG=$((LOG * 2)); done
"$FAMFS" mkfs --alloc-unit 4K -l ${LOG}M -s 256G "$IMG" >/dev/null
cp --sparse=always "$IMG" "$T/tmpfs/empty.img" # the same file system before any entry
# What a mount costs without entries (process, FUSE mount): best of 3.
mount0_ns=999999999999 mount0_cpu=999999999999
for _ in 1 2 3; do
	mount_timed
	umount_wait "$T/m"
	[ "$mwall" -lt "$mount0_ns" ] && mount0_ns=$mwall
	[ "$mcpu" -lt "$mount0_cpu" ] && mount0_cpu=$mcpu
done

# Source: step k in $SRC/bk, PER_DIR names a directory, all links to one file.
make_src() { # DIR FILES
	python3 - "$1" "$2" "$PER_DIR" <<'PY'
import os, sys
d, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d)
one = os.path.join(os.path.dirname(d), "one")
if not os.path.exists(one):
    with open(one, "w") as f:
        f.write("famfs scale\n")
for i in range(n):
    if i % per == 0:
        sub = os.path.join(d, "d%05d" % (i // per))
        os.mkdir(sub)
    os.link(one, os.path.join(sub, "f%05d" % (i % per)))
PY
}
steps=($((FILES / 10)) $((FILES / 2)) "$FILES")

echo "== $FILES tiny files in one famfs: 4 KiB units, 256 GiB image on tmpfs, ${LOG} MiB log ($(((LOG << 20) / 544)) entries)"
echo "   famfs cp -r -t $THREADS, $PER_DIR files a directory; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
hdr='%9s | %18s | %22s | %31s | %16s | %8s | %22s | %7s | %8s | %12s\n'
details=()
# shellcheck disable=SC2059 # the format is ours
printf "$hdr" files "cp (this step)" "mount: wall, CPU/entry" "RSS master/client/catch-up" \
	"ls -R: wall, CPU" "new file" "catch-up: wall, CPU/entry" "fsck" "fsck RSS" "fsck via mount"
# shellcheck disable=SC2059
printf "$hdr" target "" "<= 1 us" "<= 250 B each" "linear" "" "<= 1 us" "linear" \
	"<= bound" "<= 2x"
have=0
bstep=0
for total in "${steps[@]}"; do
	n=$((total - have))
	bstep=$((bstep + 1))
	make_src "$SRC/b$bstep" "$n"

	# cp: a mounted master, this step's files.
	mount_m
	s=$(now)
	"$FAMFS" cp -r -t "$THREADS" "$SRC/b$bstep" "$T/m/b$bstep"
	e=$(now)
	cp_col="$(secs "$s" "$e") s $(awk -v n="$n" -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')/s"
	umount_wait "$T/m"
	rm -rf "$SRC/b$bstep"
	have=$total
	used=$(log_used)

	# mount (replay) and the master's RSS after it.
	mount_timed
	mount_ns=$mwall mount_cpu=$mcpu
	mpid=$(xattr "$T/m" user.famfs.pid)
	mrss=$(rss_kb "$mpid" VmRSS) manon=$(rss_kb "$mpid" RssAnon)

	# ls -R on this fresh mount.
	c=$(cpu_ns "$mpid")
	s=$(now)
	ls -R "$T/m" >/dev/null
	e=$(now)
	ls_ns=$((e - s)) ls_cpu=$(($(cpu_ns "$mpid") - c))

	# A client on the same image: its RSS, and how soon it sees a new file.
	mount_c
	cpid=$(xattr "$T/c" user.famfs.pid)
	crss=$(rss_kb "$cpid" VmRSS) canon=$(rss_kb "$cpid" RssAnon)
	newfile=$(python3 - "$T/m" "$T/c" "$bstep" <<'PY'
import os, statistics, sys, time
m, c, step = sys.argv[1:]
d = "/new%s" % step
os.mkdir(m + d)
while not os.path.isdir(c + d):
    time.sleep(0.001)
lat = []
for i in range(15):
    time.sleep(0.03)
    p = "%s/f%02d" % (d, i)
    t = time.perf_counter()
    with open(m + p, "wb") as f:
        f.write(b"x" * 16)
    while not os.path.exists(c + p):
        time.sleep(0.0002)
    lat.append((time.perf_counter() - t) * 1e3)
print("%.1f" % statistics.median(lat))
PY
	)
	umount_wait "$T/c"
	used=$(log_used)

	# Catch-up from zero: a client of the empty file system whose log region
	# is then filled (entries first, the header that publishes them last).
	cp --sparse=always "$T/tmpfs/empty.img" "$T/tmpfs/z.img"
	FAMFS_SYSTEM_UUID_FILE=$T/hostB "$FAMFS" mount "$T/tmpfs/z.img" "$T/z" >/dev/null 2>&1
	zpid=$(xattr "$T/z" user.famfs.pid)
	read -r catch_ns catch_cpu < <(python3 - "$IMG" "$T/tmpfs/z.img" "$T/z" "$used" "$zpid" <<'PY'
import glob, os, sys, time
src, dst, mnt, used, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def cpu():  # the server's CPU time, all threads, ns
    return sum(int(open(f).read().split()[0]) for f in glob.glob("/proc/%s/task/*/schedstat" % pid))
off, hdr = 2 << 20, 48
fs, fd = os.open(src, os.O_RDONLY), os.open(dst, os.O_WRONLY)
left, pos = used * 544, off + hdr
while left:
    b = os.pread(fs, min(left, 8 << 20), pos)
    os.pwrite(fd, b, pos)
    pos += len(b)
    left -= len(b)
h = os.pread(fs, hdr, off)
c = cpu()
t = time.perf_counter_ns()
os.pwrite(fd, h, off)
while True:
    r = os.getxattr(mnt, "user.famfs.logplay").decode()
    if "%d entries replayed" % used in r:
        break
    if "bad entry" in r:
        sys.exit("catch-up stopped: " + r)
w = time.perf_counter_ns() - t
# The notices the catch-up queued are sent by another thread: count its CPU
# time too, until the server is idle again (polls cost microseconds).
last = cpu()
for _ in range(100):
    time.sleep(0.05)
    now = cpu()
    if now - last < 1000000:
        break
    last = now
print(w, now - c)
PY
	)
	zrss=$(rss_kb "$zpid" VmRSS)
	umount_wait "$T/z"
	rm -f "$T/tmpfs/z.img"

	# fsck offline (peak RSS) and through the mount.
	read -r fo fo_kb < <(/usr/bin/time -f '%e %M' "$FAMFS" fsck "$IMG" 2>&1 >/dev/null | tail -1)
	s=$(now)
	"$FAMFS" fsck "$T/m" >/dev/null
	e=$(now)
	fm=$(secs "$s" "$e")
	umount_wait "$T/m"

	bound_mb=$(awk -v u="$used" 'BEGIN { printf "%.0f", (u * 544 + 256 * 2^30 / 4096 / 8) / 1e6 }')
	# shellcheck disable=SC2059
	printf "$hdr" "$total" "$cp_col" \
		"$(ms 0 "$mount_ns") ms $(per $((mount_cpu - mount0_cpu)) "$used") us" \
		"$((mrss / 1024))/$((crss / 1024))/$((zrss / 1024)) MB $((mrss * 1024 / total))/$((crss * 1024 / total))/$((zrss * 1024 / total)) B" \
		"$(secs 0 $ls_ns) s $(secs 0 $ls_cpu) s" "$newfile ms" \
		"$(ms 0 "$catch_ns") ms $(per "$catch_cpu" "$used") us" \
		"$fo s" "$((fo_kb / 1024)) MB" "$fm s $(ratio "$fm" "$fo")x"

	details+=("$total files: $used log entries; RSS master $((mrss / 1024)) MB (anon $((manon / 1024))), client $((crss / 1024)) MB (anon $((canon / 1024))), client after catch-up $((zrss / 1024)) MB; fsck RSS bound (log in use + bitmap) $bound_mb MB")
done
printf '%s\n' "${details[@]}"
echo "(mount CPU per entry: CPU time of famfs mount and the server until it serves, less the"
echo " $(per "$mount0_cpu" 1000) ms of a mount of the empty file system; ls -R and catch-up: wall time and the server's CPU time)"
echo "targets: mount and catch-up <= 1 us per log entry; RSS <= 250 B per file (master and clients);"
echo "         fsck via mount <= 2x offline; fsck RSS <= log in use + bitmap; every column linear in files"

# Lookup and readdir per entry: a directory of BIGDIR files against one a tenth of it.
SMALLDIR=$((BIGDIR / 10))
echo "== one directory of $BIGDIR files against one of $SMALLDIR (fresh mount each; us per entry)"
python3 - "$SRC/big" "$BIGDIR" "$SRC/small" "$SMALLDIR" <<'PY'
import os, sys
one = os.path.join(os.path.dirname(sys.argv[1]), "one")
for d, n in ((sys.argv[1], int(sys.argv[2])), (sys.argv[3], int(sys.argv[4]))):
    os.makedirs(d)
    for i in range(n):
        os.link(one, os.path.join(d, "f%06d" % i))
PY
mount_m
"$FAMFS" cp -r -t "$THREADS" "$SRC/big" "$T/m/big"
"$FAMFS" cp -r -t "$THREADS" "$SRC/small" "$T/m/small"
umount_wait "$T/m"
dirbench() { # lookup|readdir: "us-per-entry-small us-per-entry-big"
	mount_m
	python3 - "$T/m" "$1" "$BIGDIR" "$SMALLDIR" <<'PY'
import os, sys, time
m, what, nbig, nsmall = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = []
os.listdir(m)  # the first requests of a mount pay for starting it
for d, n in (("small", nsmall), ("big", nbig)):
    p = os.path.join(m, d)
    t = time.perf_counter_ns()
    if what == "lookup":  # every name once, in an order unlike creation
        for i in range(n):
            os.stat("%s/f%06d" % (p, (i * 7919) % n))
        got = n
    else:
        got = len(os.listdir(p))
    out.append((time.perf_counter_ns() - t) / got / 1e3)
print("%.2f %.2f" % tuple(out))
PY
	umount_wait "$T/m"
}
read -r l1 l2 < <(dirbench lookup)
read -r r1 r2 < <(dirbench readdir)
printf "  lookup  %6s us in %d files, %6s us in %d files: %sx (target: flat, <= 1.2x)\n" "$l1" "$SMALLDIR" "$l2" "$BIGDIR" "$(ratio "$l2" "$l1")"
printf "  readdir %6s us in %d files, %6s us in %d files: %sx (target: flat, <= 1.2x)\n" "$r1" "$SMALLDIR" "$r2" "$BIGDIR" "$(ratio "$r2" "$r1")"
rm -rf "$SRC"

# Plain tools into famfs (4 KiB units, the server's data path) and into
# passthrough_ll over tmpfs, alternating, RUNS times each: every run's
# ratio and their median.
TREE=$T/tmpfs/tree
mkdir -p "$TREE"
cp -rL /usr/include/linux /usr/include/x86_64-linux-gnu "$TREE/" 2>/dev/null || true
tar -C "$TREE" -cf "$T/tmpfs/tree.tar" .
tfiles=$(find "$TREE" -type f | wc -l)
echo "== plain tools, small-file tree of $tfiles files: files/s, $RUNS runs each, alternating (target: famfs >= 1.0x passthrough_ll, median)"
"$FAMFS" mkfs -f --alloc-unit 4K -s 64G "$T/tmpfs/p.img" >/dev/null
"$FAMFS" mount "$T/tmpfs/p.img" "$T/m" >/dev/null
# passthrough_ll keeps a descriptor per file it has seen: room for every run's.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
passthrough_ll "$T/pt"
run_tool() { # HOW DEST: nanoseconds
	local s e
	s=$(now)
	if [ "$1" = cp ]; then cp -r "$TREE" "$2"; else mkdir "$2" && tar -C "$2" -xf "$T/tmpfs/tree.tar"; fi
	e=$(now)
	echo $((e - s))
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for how in cp tar; do
	fr=() pr=() rr=()
	for r in $(seq "$RUNS"); do
		f=$(run_tool $how "$T/m/$how$r")
		p=$(run_tool $how "$T/pt/$how$r")
		fr+=("$(awk -v n="$tfiles" -v t="$f" 'BEGIN { printf "%.0f", n / (t / 1e9) }')")
		pr+=("$(awk -v n="$tfiles" -v t="$p" 'BEGIN { printf "%.0f", n / (t / 1e9) }')")
		rr+=("$(ratio "$p" "$f")")
	done
	label="cp -r"
	[ $how = tar ] && label="tar x"
	printf "  %-6s famfs %6s/s  passthrough_ll %6s/s (medians)  famfs/passthrough_ll %sx median (runs: %s)\n" \
		"$label" "$(median "${fr[@]}")" "$(median "${pr[@]}")" "$(median "${rr[@]}")" "${rr[*]}"
done
diff -r "$TREE" "$T/m/cp1" >/dev/null && diff -r "$TREE" "$T/m/tar1" >/dev/null ||
	echo "   (!) the famfs copies differ from the source"
