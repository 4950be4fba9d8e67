#!/usr/bin/env bash
# Ordinary tools create files on famfs (issue 11): allocate on write, commit
# at close. cp -a, cp -r, tar x, rsync -a --inplace, dd and shell redirection
# into a mount; modes, owners and mtimes kept; the same on a client and
# after a remount; the bytes at the extents getmap reports; full device and
# full log mid-copy; a writer killed mid-file; a server killed mid-copy;
# concurrent writers; clients never see pending files; clear errors.
. "$(dirname "$0")/lib.sh"
need_fuse
for tool in rsync tar; do
	command -v $tool >/dev/null || {
		echo "  SKIP: needs $tool" >&2
		exit 77
	}
done
IMG=$T/famfs.img
M=$T/m
C=$T/c
SRC=$T/src
py() { python3 - "$@"; }

# same_meta A B: files and directories under A and B have equal type, size,
# mode, owner and mtime (nanoseconds), and equal bytes.
same_meta() {
	python3 - "$1" "$2" <<'PY'
import os, sys
a, b = sys.argv[1], sys.argv[2]
bad = []
for root, dirs, files in os.walk(a):
    for n in dirs + files:
        pa = os.path.join(root, n)
        pb = os.path.join(b, os.path.relpath(pa, a))
        try:
            sa, sb = os.lstat(pa), os.lstat(pb)
        except FileNotFoundError:
            bad.append("missing " + pb)
            continue
        for f in ("st_mode", "st_uid", "st_gid", "st_mtime_ns"):
            if getattr(sa, f) != getattr(sb, f):
                bad.append("%s: %s %r != %r" % (pb, f, getattr(sa, f), getattr(sb, f)))
        if os.path.isfile(pa):
            if sa.st_size != sb.st_size or open(pa, "rb").read() != open(pb, "rb").read():
                bad.append("%s: bytes differ" % pb)
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
PY
}

step "a source tree: real files, nested directories, odd modes and owners, MiB-sized files"
mkdir -p "$SRC"
cp -rL /usr/include/linux/netfilter "$SRC/nf" 2>/dev/null
cp -L /etc/os-release "$SRC/" 
mkdir -p "$SRC/deep/a/b/c" "$SRC/private"
head -c 3145728 /dev/urandom >"$SRC/deep/a/three-mib"
head -c 5242881 /dev/urandom >"$SRC/deep/a/b/five-mib-plus"
head -c 4097 /dev/urandom >"$SRC/deep/a/b/c/odd"
: >"$SRC/deep/empty"
chmod 0600 "$SRC/os-release"
chmod 0444 "$SRC/deep/a/three-mib"
chmod 0750 "$SRC/deep/a"
chmod 0700 "$SRC/private"
chmod 2755 "$SRC/deep/a/b"
chown 1234:5678 "$SRC/deep/a/b/c/odd" "$SRC/private"
find "$SRC" -exec touch -h -d "2021-03-04 05:06:07.123456789" {} +
touch -d "1999-12-31 23:59:59.5" "$SRC/deep/a/b/five-mib-plus"
tar -C "$SRC" --format=posix -cf "$T/src.tar" .
echo "    $(find "$SRC" -type f | wc -l) files, $(find "$SRC" -type d | wc -l) directories"

expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"

step "cp -a: bytes, modes, owners and mtimes kept"
expect 0 cp -a "$SRC" "$M/cpa"
expect 0 same_meta "$SRC" "$M/cpa"

step "cp -r: the bytes"
expect 0 cp -r "$SRC" "$M/cpr"
expect 0 diff -r "$SRC" "$M/cpr"

step "tar x of an archive made from the tree"
mkdir "$M/tarx"
expect 0 tar -C "$M/tarx" -xf "$T/src.tar"
expect 0 same_meta "$SRC" "$M/tarx"

step "rsync -a --inplace"
expect 0 rsync -a --inplace "$SRC/" "$M/rs/"
expect 0 same_meta "$SRC" "$M/rs"

step "plain rsync (temporary file, then rename): a clear EPERM"
expect 23 rsync -a "$SRC/os-release" "$M/rs-plain" && contains "Operation not permitted"

step "dd and shell redirection into new files"
expect 0 dd if="$SRC/deep/a/b/five-mib-plus" of="$M/dd.out" bs=1M status=none
expect 0 cmp "$SRC/deep/a/b/five-mib-plus" "$M/dd.out"
cat "$SRC/deep/a/three-mib" >"$M/redirected" || fail "redirection"
expect 0 cmp "$SRC/deep/a/three-mib" "$M/redirected"
expect 0 sh -c "echo hello >'$M/hello'"
[ "$(cat "$M/hello")" = hello ] || fail "hello"

step "writes at any offset: a sparse dd seek, and a write ahead of the end"
expect 0 dd if=/dev/zero of="$M/sparse" bs=1 count=1 seek=$((40 << 20)) status=none
[ "$(stat -c %s "$M/sparse")" = $(((40 << 20) + 1)) ] || fail "sparse size $(stat -c %s "$M/sparse")"

step "the bytes at the extents famfs getmap reports equal the source"
expect 0 py "$FAMFS" "$IMG" "$M/cpa" "$SRC" <<'PY'
import os, re, subprocess, sys
famfs, img, dst, src = sys.argv[1:]
n = 0
with open(img, "rb") as dev:
    for root, _, files in os.walk(dst):
        for f in files:
            p = os.path.join(root, f)
            want = open(os.path.join(src, os.path.relpath(p, dst)), "rb").read()
            out = subprocess.run([famfs, "getmap", p], capture_output=True, text=True, check=True).stdout
            got = b""
            for off, ln in re.findall(r"offset (0x[0-9a-f]+) len (0x[0-9a-f]+)", out):
                dev.seek(int(off, 16))
                got += dev.read(int(ln, 16))
            assert got[:len(want)] == want, p
            assert len(got) >= len(want) and len(got) % (2 << 20) == 0, (p, len(got))
            assert len(got) - max(len(want), 1) < (2 << 20), "%s: extents not trimmed: %d" % (p, len(got))
            n += 1
print(n, "files")
PY

step "clear errors: EPERM for rename/unlink/link of committed files, EFBIG past EOF"
expect 0 py "$M" <<'PY'
import errno, os, sys
m = sys.argv[1]
def err(code, fn, *a):
    try:
        fn(*a)
    except OSError as e:
        assert e.errno == code, (fn, a, e)
    else:
        raise AssertionError((fn, a))
err(errno.EPERM, os.rename, m + "/hello", m + "/hello2")
err(errno.EPERM, os.unlink, m + "/hello")
err(errno.EPERM, os.link, m + "/hello", m + "/hello3")
fd = os.open(m + "/hello", os.O_WRONLY)
err(errno.EFBIG, os.pwrite, fd, b"more", 6)
os.close(fd)
print("ok")
PY
expect 1 mv "$M/hello" "$M/hello4" && contains "Operation not permitted"

step "concurrent writers to different new files"
for i in 1 2 3 4 5 6; do
	dd if="$SRC/deep/a/b/five-mib-plus" of="$M/conc$i" bs=64k status=none &
done
wait
for i in 1 2 3 4 5 6; do cmp "$SRC/deep/a/b/five-mib-plus" "$M/conc$i" || fail "conc$i differs"; done

step "a client never sees a pending file; it sees the committed file whole"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
mount_famfs "$IMG" "$C" 2>/dev/null || fail "client mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
expect 0 py "$M/open-long" "$C" "$FAMFS" <<'PY'
import os, subprocess, sys, time
p, c, famfs = sys.argv[1:]
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"a" * 3000000)
subprocess.run([famfs, "logplay", c], check=True, capture_output=True)
time.sleep(0.1)
assert not os.path.exists(c + "/open-long"), "a pending file is visible on the client"
os.close(fd)
for _ in range(200):
    if os.path.exists(c + "/open-long"):
        break
    time.sleep(0.01)
assert os.path.getsize(c + "/open-long") == 3000000
print("ok")
PY
expect 0 py "$M/prealloc" "$C" "$FAMFS" <<'PY'
import os, subprocess, sys
p, c, famfs = sys.argv[1:]
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.posix_fallocate(fd, 0, 3 << 20)  # fallocate commits at once (famfs creat/cp rely on it)
out = subprocess.run([famfs, "getmap", p], capture_output=True, text=True).stdout
assert "extent" in out, "a fallocated file has no map yet: " + out
subprocess.run([famfs, "logplay", c], check=True, capture_output=True)
assert os.path.getsize(c + "/prealloc") == 3 << 20
os.close(fd)
print("ok")
PY
expect 0 same_meta "$SRC" "$C/cpa"
expect 0 same_meta "$SRC" "$C/tarx"
expect 0 diff -r "$M" "$C"

step "remount: the same bytes, modes, owners and times"
expect 0 "$FAMFS" umount "$C"
expect 0 "$FAMFS" umount "$M"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"
mount_famfs "$IMG" "$M" || fail "remount"
expect 0 same_meta "$SRC" "$M/cpa"
expect 0 same_meta "$SRC" "$M/rs"
expect 0 same_meta "$SRC" "$M/tarx"

step "a writer killed mid-file leaves nothing; one that exits without close commits"
expect 0 py "$M" <<'PY'
import os, signal, sys, time
m = sys.argv[1]
for sig in (signal.SIGKILL, signal.SIGTERM):
    pid = os.fork()
    if pid == 0:
        fd = os.open(m + "/killed%d" % sig, os.O_CREAT | os.O_WRONLY, 0o644)
        while True:
            os.write(fd, b"k" * 65536)
            time.sleep(0.001)
    time.sleep(0.3)
    os.kill(pid, sig)
    os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    fd = os.open(m + "/exited", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"e" * 100000)
    os._exit(0)  # no close: the exit closes it
os.waitpid(pid, 0)
time.sleep(0.2)
for sig in (signal.SIGKILL, signal.SIGTERM):
    assert not os.path.exists(m + "/killed%d" % sig), "a killed writer's file is there"
assert os.path.getsize(m + "/exited") == 100000
print("ok")
PY
expect 0 "$FAMFS" fsck "$M" && contains "clean"

step "a server killed mid-copy: fsck clean, every committed file intact, nothing pending on the media"
( cp -r /usr/include "$M/inc" 2>/dev/null ) &
cpid=$!
sleep 1.5
kill -9 "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.pid").decode())' "$M")"
wait $cpid
umount "$M" 2>/dev/null || umount -l "$M"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"
mount_famfs "$IMG" "$M" || fail "remount after the kill"
n=0
while IFS= read -r f; do
	cmp -s "/usr/include/${f#"$M"/inc/}" "$f" || fail "$f is not its source"
	n=$((n + 1))
done < <(find "$M/inc" -type f 2>/dev/null)
echo "    $n files committed before the kill, all intact"
expect 0 same_meta "$SRC" "$M/cpa"

step "full device mid-copy: ENOSPC, nothing half-written, fsck clean"
SMALL=$T/small.img
expect 0 "$FAMFS" mkfs --allow-small --size 64M "$SMALL"
mount_famfs "$SMALL" "$T/s" || fail "mount small"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do cp "$SRC/deep/a/b/five-mib-plus" "$T/s/f$i" 2>>"$T/s.err"; done
grep -q "No space left on device" "$T/s.err" || fail "no ENOSPC: $(cat "$T/s.err")"
for f in "$T"/s/f*; do cmp -s "$SRC/deep/a/b/five-mib-plus" "$f" || fail "$f is half-written"; done
echo "    $(ls "$T/s" | wc -l) of 12 copies fit"
expect 0 "$FAMFS" fsck "$T/s" && contains "clean"
expect 0 "$FAMFS" umount "$T/s"
expect 0 "$FAMFS" fsck "$SMALL" && contains "clean"

step "full log mid-copy: ENOSPC at create, every file there complete, fsck clean"
LOG=$T/log.img
expect 0 "$FAMFS" mkfs --size 4G "$LOG"
expect 0 "$FILL" "$LOG" 15400 0
mount_famfs "$LOG" "$T/l" || fail "mount log"
expect 1 cp -r "$SRC" "$T/l/tree" && contains "No space left on device"
while IFS= read -r f; do
	cmp -s "$SRC/${f#"$T"/l/tree/}" "$f" || fail "$f differs from its source"
done < <(find "$T/l/tree" -type f)
expect 0 "$FAMFS" fsck "$T/l" && contains "clean" && contains "15420 used, 0 free"
expect 0 "$FAMFS" umount "$T/l"

finish
