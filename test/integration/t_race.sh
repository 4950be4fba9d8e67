#!/usr/bin/env bash
# Many requests at once on one server, to let ThreadSanitizer (make tsan)
# see the server's locking: parallel creates, writes into new files (one of
# them by several threads at once), opens, reads, stats, readdirs, chmods and
# fsyncs on the master, while a client follows. Under plain builds it is a
# concurrency test: every file ends up whole and fsck is clean. Run with 2 MiB
# and with 4 KiB allocation units (where the shared file, written by several
# threads and read meanwhile, is moved to whole regions when it reaches 2 MiB).
. "$(dirname "$0")/lib.sh"
need_fuse

for UNIT in 2M 4K; do
IMG=$T/famfs-$UNIT.img
M=$T/m-$UNIT
C=$T/c-$UNIT
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
step "$UNIT units: mkfs, master and client"
expect 0 "$FAMFS" mkfs --alloc-unit $UNIT --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
mount_famfs "$IMG" "$C" 2>/dev/null || fail "client mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
expect 0 "$FAMFS" creat -s 4M --seed 9 "$M/base"

step "$UNIT units: parallel requests for a few seconds"
expect 0 python3 - "$M" "$C" <<'PY'
import os, sys, threading, time
m, c = sys.argv[1:]
stop = time.time() + 4
errors = []
def guard(fn):
    def run(*a):
        try:
            fn(*a)
        except Exception as e:
            errors.append(repr(e))
    return run
@guard
def creator(k):
    i = 0
    while time.time() < stop and i < 300:  # 4 x 300 files of 2 MiB units fit 4 GiB
        p = "%s/w%d-%d" % (m, k, i)
        with open(p, "wb") as f:
            f.write(os.urandom(1000) * (1 + i % 300))
            if i % 5 == 0:
                os.fchmod(f.fileno(), 0o600)
            if i % 7 == 0:
                f.flush(); os.fsync(f.fileno())
        i += 1
@guard
def shared(k, fd):
    for r in range(200):
        os.pwrite(fd, bytes([k]) * 4096, (r * 8 + k) * 4096)
@guard
def shared_reader():
    # reads of the pending file while it grows (and, with 4 KiB units, moves):
    # each 4 KiB piece holds zeros or its writer's byte (a read may see a
    # write half done), and a byte once written never reads as 0 again
    seen = {}
    while time.time() < stop:
        try:
            with open(m + "/shared", "rb") as f:
                d = f.read()
        except FileNotFoundError:
            continue
        for o in range(0, len(d), 4096):
            k = (o // 4096) % 8
            piece = d[o:o + 4096]
            assert set(piece) <= {0, k}, o
            if k == 0:
                continue  # writer 0 writes zeros
            n = piece.count(k)
            assert n >= seen.get(o, 0), ("written bytes read as zeros again", o)
            seen[o] = n
@guard
def reader():
    while time.time() < stop:
        with open(m + "/base", "rb") as f:
            f.read()
        os.listdir(m)
        for n in os.listdir(c):
            try:
                os.stat(c + "/" + n)
            except FileNotFoundError:
                pass
fd = os.open(m + "/shared", os.O_CREAT | os.O_WRONLY, 0o644)
ts = [threading.Thread(target=creator, args=(k,)) for k in range(4)]
ts += [threading.Thread(target=shared, args=(k, fd)) for k in range(8)]
ts += [threading.Thread(target=reader) for k in range(2)]
ts += [threading.Thread(target=shared_reader)]
[t.start() for t in ts]
[t.join() for t in ts]
os.close(fd)
assert not errors, errors[:3]
data = open(m + "/shared", "rb").read()
for r in range(200):
    for k in range(8):
        o = (r * 8 + k) * 4096
        assert data[o:o + 4096] == bytes([k]) * 4096, (r, k)
print("ok")
PY
expect 0 "$FAMFS" logplay "$C"
expect 0 diff -r "$M" "$C"
expect 0 "$FAMFS" fsck "$M" && contains "clean"
unmount_all
done
finish
