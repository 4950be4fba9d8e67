#!/usr/bin/env bash
# Pending files under concurrent I/O and the rules around their space
# (review-server findings, each a reproducer that failed before its fix):
# commit while reads are in flight (a use-after-free: run under `make asan`),
# O_TRUNC and ftruncate of a pending file, discard of a striped pending file,
# new space never showing earlier bytes (a killed server's pending data),
# 1 MiB requests over 4 KiB stripe chunks, a refused write past a striped
# file's allocation, the dentry dropped after an fsync-commit, a late stripe refused,
# and a fault in the log (SIGBUS) as EIO on master and client.
. "$(dirname "$0")/lib.sh"
need_fuse
IMG=$T/famfs.img
M=$T/m
py() { python3 - "$@"; }
server_pid() { python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.pid").decode())' "$1"; }
alive() { # alive MOUNT PID: the server still runs and answers
	kill -0 "$2" 2>/dev/null && stat "$1" >/dev/null 2>&1
}

expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"
PID=$(server_pid "$M")

step "finding 1: fsync commits a pending file while reads of it are in flight"
# Each round: a 4 MiB pending file, 6 threads reading it in 1 MiB requests,
# fsync (commit) under them. Before the fix the commit freed the pending
# state under the readers (ASan: heap-use-after-free in fused_pending_io_done).
expect 0 timeout 120 python3 - "$M" <<'PY'
import os, sys, threading, time
m = sys.argv[1]
buf = b"x" * (1 << 20)
end = time.time() + 15
for it in range(150):
    if time.time() > end:
        break
    path = "%s/r%d" % (m, it)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    for i in range(4):
        os.pwrite(fd, buf, i << 20)
    stop = False
    def r():
        rfd = os.open(path, os.O_RDONLY)
        while not stop:
            d = os.pread(rfd, 1 << 20, 0)
            assert d == buf, "read %d bytes, not the data" % len(d)
        os.close(rfd)
    ts = [threading.Thread(target=r) for _ in range(6)]
    for t in ts:
        t.start()
    time.sleep(0.002)
    os.fsync(fd)
    stop = True
    for t in ts:
        t.join()
    os.close(fd)
print("ok", it + 1, "rounds")
PY
alive "$M" "$PID" || fail "the server died"

step "finding 2: O_TRUNC on a pending file truncates it"
expect 0 py "$M/t1" <<'PY'
import os, sys
p = sys.argv[1]
a = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(a, b"A" * 100)
b = os.open(p, os.O_WRONLY | os.O_TRUNC)
os.write(b, b"hi\n")
os.close(b)
os.close(a)
d = open(p, "rb").read()
assert d == b"hi\n", d[:20]
print("ok")
PY

step "finding 3: bytes cut off by ftruncate read as zeros when the file grows again"
expect 0 py "$M/t3" <<'PY'
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"SECRET" * 100)
os.ftruncate(fd, 0)
os.ftruncate(fd, 600)
d = os.pread(fd, 600, 0)
assert d == bytes(600), ("pending", d[:12])
os.pwrite(fd, b"Z", 1000)  # a write past a cut-off range: the gap reads as zeros too
os.close(fd)
d = open(p, "rb").read()
assert d == bytes(1000) + b"Z", ("committed", len(d), d[:12])
print("ok")
PY

step "finding 5: new space never shows a killed server's pending bytes"
expect 0 py "$M" <<'PY'
import os, sys
m = sys.argv[1]
for k in range(3):  # pending, never closed: several units of a marker
    fd = os.open("%s/k%d" % (m, k), os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"PRIVATE-" * (3 << 17))
print("ok")
os.kill(int(os.getxattr(m, "user.famfs.pid")), 9)
PY
sleep 0.3
umount "$M" 2>/dev/null || umount -l "$M"
mount_famfs "$IMG" "$M" || fail "remount after the kill"
PID=$(server_pid "$M")
expect 0 py "$M" <<'PY'
import os, sys
m = sys.argv[1]
bad = []
# a sparse write (dd seek=): the hole reads as zeros, pending and committed
fd = os.open(m + "/new", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"!", 8192)
if os.pread(fd, 8192, 0) != bytes(8192):
    bad.append("hole of a pending file: %r" % os.pread(fd, 16, 0))
# a size set, nothing written: reads zeros
fd2 = os.open(m + "/sized", os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd2, 3 << 20)
if os.pread(fd2, 3 << 20, 0) != bytes(3 << 20):
    bad.append("ftruncate'd pending file shows old bytes")
os.close(fd2)
os.close(fd)
if open(m + "/new", "rb").read() != bytes(8192) + b"!":
    bad.append("committed sparse file shows old bytes")
if open(m + "/sized", "rb").read() != bytes(3 << 20):
    bad.append("committed sized file shows old bytes")
# fallocate commits at once (famfs creat/cp): its unwritten bytes are zeros
fd = os.open(m + "/falloc", os.O_CREAT | os.O_RDWR, 0o644)
os.posix_fallocate(fd, 0, 4 << 20)
if os.pread(fd, 4 << 20, 0) != bytes(4 << 20):
    bad.append("fallocate'd file shows old bytes")
os.close(fd)
assert not bad, bad
print("ok")
PY
alive "$M" "$PID" || fail "the server died"

step "finding 4: a discarded striped pending file leaves nothing of its data on the device"
expect 0 py "$M/st2" <<'PY'
import os, signal, sys, time
p = sys.argv[1]
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    os.setxattr(p, "user.famfs.stripe", b"2,2M,4")
    os.ftruncate(fd, 8 << 20)                          # placed striped, still pending
    os.pwrite(fd, b"STRIPED-SECRET--" * (3 << 16), 0)  # 3 MiB: spans 2 chunks
    os.kill(os.getpid(), signal.SIGKILL)               # its writer killed: discarded
os.waitpid(pid, 0)
# close() returns before the kernel's RELEASE reaches the server: wait for it.
end = time.time() + 10
while os.path.exists(p) and time.time() < end:
    time.sleep(0.01)
assert not os.path.exists(p), "a killed writer's file was kept"
print("ok")
PY
sync
expect 0 py "$IMG" <<'PY'
import os, sys
# scan the image's data (SEEK_DATA/SEEK_HOLE: it is sparse) for the marker
fd = os.open(sys.argv[1], os.O_RDONLY)
size, off, hits = os.fstat(fd).st_size, 0, 0
while off < size:
    try:
        off = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, off, os.SEEK_HOLE)
    while off < end:
        n = min(end - off, 8 << 20)
        hits += os.pread(fd, n, off).count(b"STRIPED-SECRET--")
        off += n
assert hits == 0, "%d copies of the discarded file's marker left on the device" % hits
print("ok")
PY

step "finding 7: a write past a striped file's allocation fails (EFBIG) and loses nothing; fsync commits what was acknowledged"
expect 0 py "$M/f7" <<'PY'
import errno, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
os.setxattr(p, "user.famfs.stripe", b"2,2M,4")
os.ftruncate(fd, 8 << 20)
fd2 = os.open(p, os.O_RDWR)
os.pwrite(fd, b"data", 0)
try:
    os.pwrite(fd, b"x", 8 << 20)
except OSError as e:
    assert e.errno == errno.EFBIG, e
else:
    raise AssertionError("write past a striped file's allocation succeeded")
os.fsync(fd)  # nothing was lost: committed at its size
assert os.pread(fd2, 4, 0) == b"data"  # the other descriptor still works
os.close(fd)
os.close(fd2)
assert os.path.getsize(p) == 8 << 20 and open(p, "rb").read(4) == b"data"
print("ok")
PY
alive "$M" "$PID" || fail "the server died"
expect 0 "$FAMFS" fsck "$M" && contains "clean"

step "finding 10: the last release of a file committed by fsync still invalidates what the kernel holds of it"
expect 0 py "$M" <<'PY'
import os, sys
m = sys.argv[1]
def invals():
    for l in os.getxattr(m, "user.famfs.server").decode().splitlines():
        k, v = l.split()
        if k == "commit_invalidations":
            return int(v)
before = invals()
fd = os.open(m + "/f10", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x" * 5000)
os.fsync(fd)  # committed here
os.close(fd)  # the last release: the inode must leave the FUSE data path
# close() returns before the kernel's RELEASE reaches the server: wait for it.
import time
end = time.time() + 10
while invals() == before and time.time() < end:
    time.sleep(0.01)
assert invals() == before + 1, (before, invals())
print("ok")
PY

step "the mtime a commit sets is what stat shows after the last close (the kernel's attributes are dropped)"
expect 0 py "$M" <<'PY'
import os, sys, time
m = sys.argv[1]
p = m + "/mtime"
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x" * 100)
os.fstat(fd)          # the kernel caches the attributes: the creation's mtime
time.sleep(1.2)
closing = time.time()
os.close(fd)          # the last release commits, with the time of the commit
end = time.time() + 10
while os.stat(p).st_mtime < closing - 0.05 and time.time() < end:
    time.sleep(0.01)  # the RELEASE comes after close() returns
assert os.stat(p).st_mtime >= closing - 0.05, (os.stat(p).st_mtime, closing)
print("ok")
PY

step "finding 14: user.famfs.stripe after the first write is refused (EBUSY), not ignored"
expect 0 py "$M/f14" <<'PY'
import errno, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x")
try:
    os.setxattr(p, "user.famfs.stripe", b"2,2M,4")
except OSError as e:
    assert e.errno == errno.EBUSY, e
else:
    raise AssertionError("a stripe set after the first write was accepted")
os.close(fd)
print("ok")
PY

step "finding 6: 1 MiB reads and writes over 4 KiB stripe chunks (4 KiB units)"
IMG4=$T/famfs4k.img
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 2G "$IMG4"
mount_famfs "$IMG4" "$T/m4" || fail "mount 4K"
expect 0 py "$T/m4" <<'PY'
import os, sys
m = sys.argv[1]
data = os.urandom(1 << 20)
# committed at once by fallocate
p = m + "/logged"
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.setxattr(p, "user.famfs.stripe", b"4,4K,8")
os.posix_fallocate(fd, 0, 8 << 20)
assert os.pwrite(fd, data, 1 << 20) == len(data)
assert os.pread(fd, 1 << 20, 1 << 20) == data
os.close(fd)
# pending (sized by ftruncate): written, read, committed at close
p = m + "/pending"
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.setxattr(p, "user.famfs.stripe", b"4,4K,8")
os.ftruncate(fd, 8 << 20)
assert os.pwrite(fd, data, 3 << 20) == len(data)
assert os.pread(fd, 1 << 20, 3 << 20) == data
os.close(fd)
d = open(p, "rb").read()
assert len(d) == 8 << 20 and d[3 << 20:4 << 20] == data, "committed striped file differs"
assert d[:3 << 20] == bytes(3 << 20), "unwritten bytes are not zeros"
print("ok")
PY
expect 0 "$FAMFS" fsck "$T/m4" && contains "clean"

step "finding 12/9: a fault in the log: mknod fails with EIO and leaves nothing; the master lives"
CUT=$T/cut.img
expect 0 "$FAMFS" mkfs --size 4G "$CUT"
mount_famfs "$CUT" "$T/c" || fail "mount cut"
cpid=$(server_pid "$T/c")
for i in 1 2 3 4 5 6 7 8 9; do mkdir "$T/c/d$i"; done # slot 9+: past the log's first page
truncate -s $((2 * 1048576 + 4096)) "$CUT"          # the slots after it: SIGBUS
expect 0 py "$T/c/n" <<'PY'
import errno, os, stat, sys
try:
    os.mknod(sys.argv[1], stat.S_IFREG | 0o644)
except OSError as e:
    assert e.errno == errno.EIO, e
else:
    raise AssertionError("mknod succeeded with the log cut")
assert not os.path.exists(sys.argv[1]), "a failed mknod left its file"
print("ok")
PY
alive "$T/c" "$cpid" || fail "the master died of SIGBUS in the log"
umount -l "$T/c"

step "finding 12: a fault in the log header on a client is EIO; the client lives"
CUT2=$T/cut2.img
expect 0 "$FAMFS" mkfs --size 4G "$CUT2"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
mount_famfs "$CUT2" "$T/cl" || fail "client mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
clpid=$(server_pid "$T/cl")
truncate -s 1M "$CUT2" # header and log gone: the follow thread's next poll faults
sleep 0.5
expect 0 py "$T/cl" <<'PY'
import errno, os, sys
try:
    os.getxattr(sys.argv[1], "user.famfs.logplay")
except OSError as e:
    assert e.errno == errno.EIO, e
else:
    raise AssertionError("logplay read a log that is not there")
print("ok")
PY
alive "$T/cl" "$clpid" || fail "the client died of SIGBUS in the log header"
umount -l "$T/cl"

step "commit notifications vs creates: 24 threads creating small files in one directory"
# Each last close commits and invalidates the file's dentry, which takes the
# directory's inode lock; a create in that directory holds it while it waits
# for the server. Sent from request handlers (before notify.c), 16 RELEASEs
# waiting for the lock and creates waiting for a handler deadlocked the mount.
DL=$T/dl.img
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 4G "$DL"
mount_famfs "$DL" "$T/dl" || fail "mount dl"
mkdir "$T/dl/d"
if expect 0 timeout 60 python3 - "$T/dl/d" <<'PY'
import os, sys, threading
d = sys.argv[1]
def w(t):
    for i in range(150):
        fd = os.open("%s/t%d-%d" % (d, t, i), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, b"x" * 100)
        os.close(fd)
ts = [threading.Thread(target=w, args=(t,)) for t in range(24)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok")
PY
then # (a deadlocked mount would hang ls too)
	n=$(ls "$T/dl/d" | wc -l)
	[ "$n" = 3600 ] || fail "$n files, want 3600"
fi
finish
