#!/usr/bin/env bash
# The main job on a file-backed device, end to end (`make demo`):
#   mkfs an image under /tmp, mount it as the master, copy /usr/share/doc in
#   with famfs cp and again with plain cp -a,
#   compare byte for byte, create and write a fixed-size file, check the file
#   system, mount it again as a second (read-only) host, watch a new file
#   appear there, copy the tree into a 4 KiB-unit file system too and compare
#   the space each allocation unit needs, and print a summary. Needs root and
#   /dev/fuse.
# Usage: scripts/demo.sh [BUILD] [SOURCE_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=${2:-/usr/share/doc}
FAMFS=$BUILD/famfs
D=/tmp/famfs-demo
IMG=$D/famfs.img
M=$D/master
C=$D/client

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run() { printf '  $ %s\n' "$*"; "$@"; }
cleanup() {
	for m in "$C" "$M" "${M4:-}"; do [ -n "$m" ] && mountpoint -q "$m" 2>/dev/null && "$FAMFS" umount "$m"; done
	return 0
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "demo: needs root and /dev/fuse (FUSE mounts)" >&2
	exit 1
fi
cleanup
rm -rf "$D"
mkdir -p "$M" "$C"

# famfs gives every file at least one 2 MiB unit: size the image from the source.
files=$(find -L "$SRC" -type f 2>/dev/null | wc -l)
dirs=$(find -L "$SRC" -type d 2>/dev/null | wc -l)
bytes=$(find -L "$SRC" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
# Two copies (famfs cp, then plain cp -a): twice the units; cp -a also logs
# one or two attribute updates per directory.
gib=$(awk -v f="$files" 'BEGIN { g = int((2 * f * 2 * 1.1 + 1024 + 64) / 1024) + 1; print (g < 4 ? 4 : g) }')
loglen=8M
[ $((2 * files + 4 * dirs + 64)) -gt 15420 ] && loglen=16M
[ $((2 * files + 4 * dirs + 64)) -gt 30840 ] && loglen=32M

say "1. Create a famfs on a ${gib} GiB sparse image file (this host becomes the master)"
run "$FAMFS" mkfs --size "${gib}G" -l "$loglen" "$IMG"

say "2. Mount it (read-write: this is the master)"
run "$FAMFS" mount "$IMG" "$M"

say "3. Copy $SRC in: $files files, $dirs directories, $((bytes / 1048576)) MiB"
start=$(date +%s%N)
run "$FAMFS" cp -r "$SRC" "$M/doc" 2> >(tee "$D/cp.err" >&2) || true
ns=$(($(date +%s%N) - start))
sleep 0.1 # let tee finish
refused=$(grep -c "File name too long" "$D/cp.err" || true)
other=$(grep -vc "File name too long" "$D/cp.err" || true)
[ "$refused" -gt 0 ] &&
	echo "  $refused files refused: their paths exceed famfs's 79-byte limit (a format rule; never truncated)"

say "4. Compare every byte: diff -r $SRC $M/doc"
printf "  \$ diff -r %s %s\n" "$SRC" "$M/doc"
diff -r "$SRC" "$M/doc" >"$D/diff.out" 2>&1 || true
# The only differences allowed are the refused files, each "Only in" the source.
unexpected=$( (grep -v "^Only in $SRC" "$D/diff.out" || true) | wc -l)
only=$(grep -c "^Only in $SRC" "$D/diff.out" || true)
if [ "$unexpected" = 0 ] && [ "$only" = "$refused" ] && [ "$other" = 0 ]; then
	same="identical ($refused refused paths aside)"
else
	same="DIFFERENT (see $D/diff.out and $D/cp.err)"
fi
echo "  $same"

say "4b. Copy it again with plain cp -a (allocate on write, commit at close)"
start=$(date +%s%N)
run cp -a "$SRC" "$M/doc-a" 2>"$D/cpa.err" || true
ans=$(($(date +%s%N) - start))
links=$(find "$SRC" -type l | wc -l)
a_long=$(grep -c "File name too long" "$D/cpa.err" || true)
a_link=$(grep -c "cannot create symbolic link" "$D/cpa.err" || true)
a_other=$(grep -vcE "File name too long|cannot create symbolic link|preserving times for .*: Operation not permitted" "$D/cpa.err" || true)
echo "  $a_link symbolic links refused (famfs has none; famfs cp follows them), $a_long paths over 79 bytes refused"
a_meta=$(python3 - "$SRC" "$M/doc-a" <<'PY'
import os, sys
src, dst = sys.argv[1:]
n = bad = 0
for root, dirs, files in os.walk(dst):
    for x in dirs + files:
        d = os.path.join(root, x)
        s = os.path.join(src, os.path.relpath(d, dst))
        a, b = os.lstat(s), os.lstat(d)
        n += 1
        if (a.st_mode, a.st_uid, a.st_gid, a.st_mtime_ns) != (b.st_mode, b.st_uid, b.st_gid, b.st_mtime_ns) or \
           (os.path.isfile(d) and open(s, "rb").read() != open(d, "rb").read()):
            bad += 1
print("%d of %d copied files and directories identical in bytes, mode, owner and mtime" % (n - bad, n))
PY
)
echo "  $a_meta"
case "$a_meta" in "0 of 0"*) cpa="FAILED" ;; *) cpa=$(echo "$a_meta" | awk '$1 == $3 { print "identical" } $1 != $3 { print "DIFFERENT" }') ;; esac
[ "$a_other" = 0 ] || cpa="$cpa, $a_other unexpected errors (see $D/cpa.err)"

say "5. Directories with famfs mkdir and plain mkdir(2); a 1 GiB file created, then written"
run "$FAMFS" mkdir -p "$M/a/b"
run mkdir "$M/c"
run "$FAMFS" creat -s 1G "$M/big"
run dd if=/dev/urandom of="$D/big.src" bs=1M count=1024 status=none
start=$(date +%s%N)
run dd if="$D/big.src" of="$M/big" bs=1M conv=notrunc,fsync status=none
wns=$(($(date +%s%N) - start))
run cmp "$D/big.src" "$M/big"

say "6. Check the file system through the mount"
run "$FAMFS" fsck "$M"

say "7. A second host (another identity) mounts the same device read-only"
FAMFS_SYSTEM_UUID_FILE=$D/hostB run "$FAMFS" mount "$IMG" "$C"
if diff -r "$M" "$C" >"$D/client.diff" 2>&1; then view=identical; else view="DIFFERENT (see $D/client.diff)"; fi
echo "  client's tree vs master's: $view"
touch "$C/x" 2>/dev/null && echo "  client write unexpectedly succeeded" || echo "  client write refused: read-only, as it should be"
"$FAMFS" creat -s 4M "$M/hello-client"
start=$(date +%s%N)
while [ ! -e "$C/hello-client" ]; do sleep 0.005; done
follow_ms=$((($(date +%s%N) - start) / 1000000))
echo "  a file created on the master appeared on the client after ${follow_ms} ms"

slots=$("$FAMFS" fsck "$M" | awk '/log slots/ { print $3 " used of " $8 }')

# Bytes allocated to files in a mounted famfs: capacity - free - superblock - log.
files_bytes() {
	"$FAMFS" fsck "$1" | awk '/Device capacity:/ { c = $3 } /Free space:/ { f = $3 } /log_len:/ { l = $2 }
		END { print c - f - 2097152 - l }'
}
say "8. The same tree in a file system of 4 KiB allocation units (mkfs --alloc-unit 4K)"
IMG4=$D/famfs4k.img
M4=$D/m4k
mkdir -p "$M4"
gib4=$(awk -v b="$bytes" -v f="$files" 'BEGIN { g = int((b * 1.2 + f * 4096 + 64 * 1048576) / 1073741824) + 1; print (g < 1 ? 1 : g) }')
run "$FAMFS" mkfs --alloc-unit 4K --size "${gib4}G" "$IMG4"
run "$FAMFS" mount "$IMG4" "$M4"
run "$FAMFS" cp -r "$SRC" "$M4/doc" 2>/dev/null || true
if diff -r "$M/doc" "$M4/doc" >"$D/units.diff" 2>&1; then units_same=identical; else units_same="DIFFERENT (see $D/units.diff)"; fi
used4k=$(files_bytes "$M4")
# What the copy of the tree alone takes with 2 MiB units (the 2 MiB file system holds more).
need2m=$(find "$M/doc" -type f -printf '%s\n' | awk '{ s += ($1 ? int(($1 + 2097151) / 2097152) : 1) * 2097152 } END { print s + 0 }')
run "$FAMFS" fsck "$M4"
"$FAMFS" umount "$M4"
space=$(awk -v a="$need2m" -v b="$used4k" -v d="$(find "$M/doc" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" \
	'BEGIN { printf "%.1f MiB of data: 2 MiB units %.1f MiB, 4 KiB units %.1f MiB (%.0fx less)", d / 1048576, a / 1048576, b / 1048576, a / b }')
echo "  $space; the 4 KiB-unit copy is $units_same"
say "Summary"
cat <<EOF
  files copied        $(find "$M/doc" -type f | wc -l) of $files, $(find "$M/doc" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') bytes ($refused refused: path over 79 bytes)
  copy throughput     $(awk -v b="$bytes" -v n="$ns" 'BEGIN { printf "%.0f MiB/s, %.0f files/s", b / 1048576 / (n / 1e9), '"$files"' / (n / 1e9) }') (famfs cp)
  plain cp -a         $cpa; $(awk -v b="$bytes" -v n="$ans" 'BEGIN { printf "%.0f MiB/s, %.0f files/s", b / 1048576 / (n / 1e9), '"$files"' / (n / 1e9) }'); $a_link symlinks and $a_long long paths refused
  1 GiB write         $(awk -v n="$wns" 'BEGIN { printf "%.0f MiB/s", 1024 / (n / 1e9) }')
  byte-for-byte       $same
  log slots           $slots
  client vs master    $view; new files visible on the client in ${follow_ms} ms
  space per unit      $space
EOF
say "Unmount"
cleanup
echo "  done; the image stays at $IMG"
case "$same $view $cpa $units_same" in *DIFFERENT* | *FAILED*) exit 1 ;; esac
