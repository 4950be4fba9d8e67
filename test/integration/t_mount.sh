#!/usr/bin/env bash
# The main job through real FUSE mounts: copy a real system directory in,
# read it back byte for byte (read and mmap), remount, fixed-size rules,
# and fsck through the mount.
. "$(dirname "$0")/lib.sh"
need_fuse
IMG=$T/famfs.img
M=$T/m

# A real directory with thousands of files that fits 4 GiB at 2 MiB a file.
SRC=""
for d in /usr/share/zoneinfo /usr/lib/python3.11 /usr/share/perl /usr/include; do
	n=$(count_files "$d")
	if [ "$n" -ge 1000 ] && [ "$n" -le 1900 ]; then
		SRC=$d
		break
	fi
done
[ -n "$SRC" ] || skip "no system directory with 1000-1900 files to copy"
NFILES=$(count_files "$SRC")
export SRC

step "mkfs and mount a sparse 4 GiB image"
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount failed"
[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.role").decode())' "$M")" = master ] ||
	fail "the mount is not the master"

step "a striped file (before the copy fills most buckets)"
expect 0 "$FAMFS" creat -s 40M --stripe 4,2M,8 "$M/striped"
expect 0 "$FAMFS" getmap "$M/striped" && contains "interleave nstrips 4 chunk 0x200000"

step "famfs cp -r $SRC ($NFILES files)"
expect 0 "$FAMFS" cp -r "$SRC" "$M/tree"
expect 0 diff -r "$SRC" "$M/tree"
[ "$(find "$M/tree" -type f | wc -l)" = "$NFILES" ] || fail "file count differs"

step "modes are kept"
src_modes=$(cd "$SRC" && find -L . -printf '%m %p\n' | sort | md5sum)
dst_modes=$(cd "$M/tree" && find . -printf '%m %p\n' | sort | md5sum)
[ "$src_modes" = "$dst_modes" ] || fail "modes differ"

step "mkdir -p, plain mkdir(2), creat with a fill pattern"
expect 0 "$FAMFS" mkdir -p "$M/a/b/c"
expect 0 mkdir "$M/c"
expect 0 "$FAMFS" creat -s 64M --seed 7 "$M/big"
[ "$(stat -c %s "$M/big")" = 67108864 ] || fail "big has the wrong size"

step "read and mmap give the bytes written"
expect 0 python3 - "$M/big" "$M/tree" <<'PY'
import mmap, os, struct, sys
big, tree = sys.argv[1], sys.argv[2]
with open(big, "rb") as f:
    data = f.read()
    mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
want = b"".join(struct.pack("<Q", 7 * (i + 1)) for i in range(len(data) // 8))
assert data == want, "read() differs from the pattern"
assert mm[:] == want, "mmap differs from the pattern"
# and mmap of every copied file equals the source
for root, _, files in os.walk(tree):
    for n in files:
        p = os.path.join(root, n)
        src = os.path.join(os.environ["SRC"], os.path.relpath(p, tree))
        with open(src, "rb") as s, open(p, "rb") as d:
            a = s.read()
            if a:
                m = mmap.mmap(d.fileno(), 0, prot=mmap.PROT_READ)
                assert m[:] == a, p
                m.close()
print("ok")
PY

step "mmap writes land and read back"
expect 0 python3 - "$M/striped" <<'PY'
import mmap, os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    for off in range(0, len(m), 1 << 20):
        m[off:off + 16] = b"famfs-%09d!" % off
    m.flush()
    m.close()
with open(p, "rb") as f:
    d = f.read()
for off in range(0, len(d), 1 << 20):
    assert d[off:off + 16] == b"famfs-%09d!" % off, off
PY

step "sizes are fixed: writes past EOF, truncate, O_TRUNC; nothing is deleted"
expect 0 python3 - "$M/big" <<'PY'
import errno, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_WRONLY)
def fails(fn, code):
    try:
        fn()
    except OSError as e:
        assert e.errno == code, (fn, e)
    else:
        raise AssertionError("no error from %r" % fn)
fails(lambda: os.pwrite(fd, b"x", 64 << 20), errno.EFBIG)
assert os.pwrite(fd, b"abcdef", (64 << 20) - 3) == 3       # cut short at EOF
fails(lambda: os.ftruncate(fd, 1), errno.EPERM)
fails(lambda: os.ftruncate(fd, 128 << 20), errno.EPERM)
os.ftruncate(fd, 64 << 20)                                 # same size: fine
fails(lambda: os.posix_fallocate(fd, 0, 128 << 20), errno.EPERM)
fails(lambda: os.open(p, os.O_WRONLY | os.O_TRUNC), errno.EPERM)
fails(lambda: os.unlink(p), errno.EPERM)
fails(lambda: os.rename(p, p + ".x"), errno.EPERM)
fails(lambda: os.symlink("x", os.path.dirname(p) + "/ln"), errno.EPERM)
os.close(fd)
PY
[ "$(stat -c %s "$M/big")" = 67108864 ] || fail "big changed size"

step "standard syscalls create files: fallocate(1) on a new file, touch, plain cp(1)"
expect 0 fallocate -l 3M "$M/viafallocate"
[ "$(stat -c %s "$M/viafallocate")" = 3145728 ] || fail "fallocate -l did not size the file"
expect 0 touch "$M/empty"
[ -f "$M/empty" ] && [ "$(stat -c %s "$M/empty")" = 0 ] || fail "touch did not leave an empty file"
expect 0 cp /etc/os-release "$M/plain-cp" && expect 0 cmp /etc/os-release "$M/plain-cp"
expect 1 "$FAMFS" cp /etc/os-release "$M/big" && contains "exists"

step "cp like cp(1): new name, several sources into a directory, -r into an existing directory"
expect 0 "$FAMFS" cp /etc/os-release "$M/renamed"
expect 0 cmp /etc/os-release "$M/renamed"
expect 0 "$FAMFS" cp /etc/os-release /etc/hostname "$M/a"
expect 0 cmp /etc/hostname "$M/a/hostname"
expect 1 "$FAMFS" cp /etc/os-release /etc/hostname "$M/renamed" && contains "is not a directory"
expect 1 "$FAMFS" cp /usr/include/linux "$M/x" && contains "is a directory \(use -r\)"
expect 0 "$FAMFS" cp -r /usr/include/linux/netfilter "$M/a"
expect 0 diff -r /usr/include/linux/netfilter "$M/a/netfilter"
expect 1 "$FAMFS" cp /etc/os-release "$T/not-famfs" && contains "not inside a mounted famfs"

step "cp around 1 MiB, where it stops writing through the creating descriptor and reopens"
for n in 1048575 1048576 1048577; do
	head -c $n /dev/urandom >"$T/n$n"
	expect 0 "$FAMFS" cp "$T/n$n" "$M/n$n"
	expect 0 cmp "$T/n$n" "$M/n$n"
done

step "bad paths are refused, not truncated"
long=$(printf 'x%.0s' $(seq 1 80))
expect 1 "$FAMFS" creat -s 1M "$M/$long" && contains "File name too long"
expect 1 "$FAMFS" mkdir "$M/a/$(printf 'y%.0s' $(seq 1 78))" && contains "too long"
expect 0 "$FAMFS" mkdir "$M/a/$(printf 'y%.0s' $(seq 1 77))" # exactly 79 bytes

step "fsck through the mount and on the device while mounted"
expect 0 "$FAMFS" fsck "$M" && contains "clean"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"

step "umount, remount: same tree and data"
expect 0 "$FAMFS" umount "$M"
mountpoint -q "$M" && fail "still mounted"
mount_famfs "$IMG" "$M" || fail "remount failed"
expect 0 diff -r "$SRC" "$M/tree"
expect 0 python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(1 << 20)
assert d == b"".join(struct.pack("<Q", 7 * (i + 1)) for i in range(len(d) // 8))' "$M/big"
expect 0 "$FAMFS" fsck "$M" && contains "clean"

step "page-cache data path (what kernels before 6.6 get): read, mmap, write"
expect 0 "$FAMFS" umount "$M"
mount_famfs -o cache=page "$IMG" "$M" || fail "mount -o cache=page failed"
expect 0 sh -c "python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], \"user.famfs.stats\").decode())' $M"
contains "data server-page-cache"
expect 0 diff -r "$SRC" "$M/tree"
expect 0 python3 - "$M/striped" <<'PY'
import mmap, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    for off in range(0, len(m), 1 << 20):
        assert m[off:off + 16] == b"famfs-%09d!" % off, off   # written earlier, direct I/O
        m[off + 16:off + 32] = b"page-cache-mmap!"
    m.close()
with open(p, "rb") as f:
    d = f.read()
for off in range(0, len(d), 1 << 20):
    assert d[off + 16:off + 32] == b"page-cache-mmap!", off
PY

step "-o threads=N: a bad count is refused; one request handler serves 8 copying threads"
IMG1=$T/one.img
M1=$T/m1
mkdir -p "$M1"
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 1G "$IMG1"
expect 1 "$FAMFS" mount -o threads=4x "$IMG1" "$M1" && contains "threads must be 1..256"
mountpoint -q "$M1" && fail "mounted with a bad thread count"
mount_famfs -o threads=1 "$IMG1" "$M1" || fail "mount -o threads=1 failed"
expect 0 timeout 120 "$FAMFS" cp -r -t 8 "$SRC" "$M1/tree"
expect 0 diff -r "$SRC" "$M1/tree"
# libfuse starts handlers as requests pile up: after the copy, the main
# thread, the one handler and the notifier.
n=$(ps -L -o tid= -p "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.pid").decode())' "$M1")" | wc -l)
[ "$n" -le 3 ] || fail "the server runs $n threads: more than 1 handler"
expect 0 "$FAMFS" umount "$M1"

step "names with terminal controls: cp -v, mkdir -v, creat and errors print them escaped, create them as they are"
mkdir -p "$T/esc"$'/d\x1b[2J' && printf 'x' >"$T/esc"$'/d\x1b[2J/f\nfake line'
OUT=$("$FAMFS" cp -rv "$T/esc" "$M/esc" 2>&1; "$FAMFS" mkdir -pv "$M/esc/"$'m\x1b]0;t\x07' 2>&1
	"$FAMFS" creat -v -s 1 "$M/esc/"$'c\xc2\x9b' 2>&1; "$FAMFS" creat -s 1 "$M/nodir/"$'e\x1bx' 2>&1)
printf '%s' "$OUT" | grep -q $'[\x1b\x07]' && fail "a raw control character was printed: $OUT"
printf '%s' "$OUT" | grep -q $'\xc2\x9b' && fail "a raw C1 control was printed: $OUT"
printf '%s\n' "$OUT" | grep -q '^fake line' && fail "a name faked a line: $OUT"
contains 'd\\x1b\[2J/f\\x0afake line' && contains 'm\\x1b\]0;t\\x07' && contains 'c\\xc2\\x9b' &&
	contains 'e\\x1bx'
expect 0 cmp "$T/esc"$'/d\x1b[2J/f\nfake line' "$M/esc/"$'d\x1b[2J/f\nfake line'
[ -d "$M/esc/"$'m\x1b]0;t\x07' ] || fail "mkdir did not create the name as given"

step "plain umount(8) stops the server too"
expect 0 umount "$M"
expect 0 "$FAMFS" mount "$IMG" "$M" # the device is free again
expect 0 "$FAMFS" umount "$M"

finish
