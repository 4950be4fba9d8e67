#!/usr/bin/env bash
# Many requests at once on one server, to let ThreadSanitizer (make tsan)
# see the server's locking: parallel creates, writes into new files (one of
# them by several threads at once), opens, reads, stats, readdirs, chmods and
# fsyncs on the master, while a client follows. Under plain builds it is a
# concurrency test: every file ends up whole and fsck is clean.
. "$(dirname "$0")/lib.sh"
need_fuse
IMG=$T/famfs.img
M=$T/m
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
mount_famfs "$IMG" "$T/c" 2>/dev/null || fail "client mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
expect 0 "$FAMFS" creat -s 4M --seed 9 "$M/base"

step "parallel requests for a few seconds"
expect 0 python3 - "$M" "$T/c" <<'PY'
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
expect 0 "$FAMFS" logplay "$T/c"
expect 0 diff -r "$M" "$T/c"
expect 0 "$FAMFS" fsck "$M" && contains "clean"
finish
