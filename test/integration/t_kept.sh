#!/usr/bin/env bash
# When is my file kept? A new (pending) file's fate as a shell user meets it
# (docs/user-guide.md, "When is my file kept?"): a reader, bystander or
# pipeline never discards another's file, a killed writer's file goes; a
# full device loses nothing acknowledged and a lost file is reported by
# write, fsync and close; other pending files give back speculative space
# before ENOSPC, a failed grow keeps nothing; readers never decide the
# commit; a failed sizing leaves no empty file; data is on the media before
# the commit (pmem: a device flush first). And the attributes the server
# sets like Linux: set-group-ID directories, clamped times, set-ID bits
# dropped on write, inode numbers equal on every host.
. "$(dirname "$0")/lib.sh"
need_fuse
command -v setpriv >/dev/null && command -v runuser >/dev/null || skip "needs setpriv and runuser"
id nobody >/dev/null 2>&1 || skip "needs the user nobody"
PY3=/usr/bin/python3 # what nobody may run (not a python under /root)
[ -x "$PY3" ] || skip "needs $PY3"
chmod 755 "$T" # nobody reaches the mounts
IMG=$T/famfs.img
M=$T/m
C=$T/c
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
py() { python3 - "$@"; }

server_stat() { # server_stat MOUNT NAME: a counter of user.famfs.server
	python3 -c 'import os,sys
for l in os.getxattr(sys.argv[1], "user.famfs.server").decode().splitlines():
    k, v = l.split()
    if k == sys.argv[2]: print(v)' "$1" "$2" 2>/dev/null
}
# settle MOUNT: close() returns before the RELEASE that commits or discards
# a file reaches the server: wait (30 s at most) until nothing is pending.
settle() {
	local i
	for i in $(seq 3000); do
		[ "$(server_stat "$1" pending_files)" = 0 ] && return 0
		sleep 0.01
	done
	fail "files still pending after 30 s: $(server_stat "$1" pending_files)"
	return 1
}
# logged DEVICE NAME: the log of DEVICE has a FILE entry for NAME (relative path).
logged() { "$FAMFS" logplay -n "$1" | grep -Eq "^ *[0-9]+  file  $2 "; }
# gone PATH: the name disappears (its dentry is dropped after the RELEASE), 10 s at most.
gone() {
	local i
	for i in $(seq 1000); do
		[ -e "$1" ] || return 0
		sleep 0.01
	done
	return 1
}
# wait_open FILE PID: until PID or one of its children has FILE open (10 s).
wait_open() {
	local i p f
	for i in $(seq 1000); do
		for p in "$2" $(cat /proc/"$2"/task/*/children 2>/dev/null); do
			for f in /proc/"$p"/fd/*; do
				[ "$(readlink "$f" 2>/dev/null)" = "$1" ] && return 0
			done
		done
		sleep 0.01
	done
	return 1
}
# on_client PATH: wait (5 s) until the client mount shows PATH (relative).
on_client() {
	local i
	for i in $(seq 500); do
		[ -e "$C/$1" ] && return 0
		sleep 0.01
	done
	fail "$1 never appeared on the client"
	return 1
}

expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
mount_famfs "$IMG" "$C" 2>/dev/null || fail "client mount"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA

step "a bystander killed while reading another's new file does not discard it (runuser -u nobody, kill)"
bash -c '
	exec 3>"$1/by-a"
	echo data >&3
	runuser -u nobody -- tail -f "$1/by-a" >/dev/null 2>&1 &
	r=$!
	'"$(declare -f wait_open)"'
	wait_open "$1/by-a" $r || echo "tail never opened it" >&2
	kill $r
	wait $r
	exec 3>&-
' sh "$M"
settle "$M"
logged "$IMG" by-a || fail "root's file was discarded by nobody's tail"
[ "$(cat "$M/by-a" 2>/dev/null)" = data ] || fail "by-a: '$(cat "$M/by-a" 2>&1)'"

step "the same with setpriv and SIGKILL; a reader's fsync commits nothing"
exec 3>"$M/by-a2"
echo data >&3
"${NOBODY[@]}" tail -f "$M/by-a2" >/dev/null 2>&1 &
r=$!
wait_open "$M/by-a2" $r || fail "tail never opened it"
expect 0 "${NOBODY[@]}" "$PY3" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M/by-a2"
echo more >&3 || fail "the owner's write after a reader's fsync failed"
{ kill -9 $r && wait $r; } 2>/dev/null # (no "Killed" notice)
exec 3>&-
settle "$M"
[ "$(cat "$M/by-a2" 2>/dev/null)" = "$(printf 'data\nmore')" ] || fail "by-a2: '$(cat "$M/by-a2" 2>&1)'"

step "a reader that outlives the writer: committed at the writer's close, its death changes nothing"
exec 3>"$M/by-a3"
echo data >&3
"${NOBODY[@]}" tail -f "$M/by-a3" 3>&- >/dev/null 2>&1 & # read-only, no copy of the writer's descriptor
r=$!
wait_open "$M/by-a3" $r || fail "tail never opened it"
exec 3>&-
settle "$M"
logged "$IMG" by-a3 || fail "not committed while a reader holds it"
{ kill -9 $r && wait $r; } 2>/dev/null
[ "$(cat "$M/by-a3" 2>/dev/null)" = data ] || fail "by-a3: '$(cat "$M/by-a3" 2>&1)'"

step "a killed background job sharing the descriptor does not discard it: sh -c 'echo hello; sleep 100 & kill \$!; wait' > f"
sh -c 'echo hello; sleep 100 & kill $!; wait' >"$M/by-b"
settle "$M"
logged "$IMG" by-b || fail "the file was discarded"
[ "$(cat "$M/by-b" 2>/dev/null)" = hello ] || fail "by-b: '$(cat "$M/by-b" 2>&1)'"

step "SIGPIPE is the normal end of a pipeline: (yes | head -1) 2>f, yes | tee f | head -1"
(yes | head -1) 2>"$M/by-c" >/dev/null
yes | tee "$M/by-tee" | head -1 >/dev/null
settle "$M"
logged "$IMG" by-c || fail "by-c was discarded"
logged "$IMG" by-tee || fail "by-tee (tee died of SIGPIPE) was discarded"
expect 0 py "$M/by-tee" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
assert len(d) >= 2 and d == b"y\n" * (len(d) // 2), (len(d), d[:16])
print("ok")
PY

step "a writer killed mid-file is still discarded (kill -9 of dd)"
dd if=/dev/zero of="$M/by-dd" bs=64k count=100000 status=none &
w=$!
for i in $(seq 1000); do
	[ "$(stat -c %s "$M/by-dd" 2>/dev/null || echo 0)" -gt 1048576 ] && break
	sleep 0.01
done
{ kill -9 $w && wait $w; } 2>/dev/null
settle "$M"
logged "$IMG" by-dd && fail "a killed writer's file was committed"
gone "$M/by-dd" || fail "a killed writer's file is still there"

step "readers never decide the commit: the last writer's close commits while a reader holds the file"
expect 0 py "$M" "$C" "$FAMFS" "$IMG" <<'PY'
import os, subprocess, sys, time
m, c, famfs, img = sys.argv[1:]
p = m + "/r4"
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"A" * 1000)
go, ready = os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:  # another user: reads and holds it
    os.close(fd)  # not the writer's description
    os.close(go[1])  # the parent's exit ends the wait below
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    r = os.open(p, os.O_RDONLY)
    os.fsync(r)  # syncs data only: commits nothing
    os.write(ready[1], b"x")
    os.read(go[0], 1)
    os._exit(0 if os.pread(r, 2000, 0) == b"A" * 1000 + b"B" * 1000 else 1)
os.read(ready[0], 1)
os.write(fd, b"B" * 1000)  # still pending: the owner goes on writing
os.close(fd)  # the last writable description: committed now
for _ in range(3000):
    if os.path.exists(c + "/r4"):
        break
    time.sleep(0.01)
assert os.path.exists(c + "/r4"), "not committed while a reader holds it"
assert open(c + "/r4", "rb").read() == b"A" * 1000 + b"B" * 1000
out = subprocess.run([famfs, "logplay", "-n", img], capture_output=True, text=True).stdout
assert " r4 2000 bytes" in out, out
os.write(go[1], b"x")
_, st = os.waitpid(pid, 0)
assert st == 0, "the reader saw other bytes"
print("ok")
PY

step "a full device: dd's acknowledged bytes are kept after close"
SMALL=$T/small.img
expect 0 "$FAMFS" mkfs --allow-small --size 64M "$SMALL"
mount_famfs "$SMALL" "$T/s" || fail "mount small"
head -c $((100 << 20)) /dev/urandom >"$T/rand"
expect 1 dd if="$T/rand" of="$T/s/full" bs=1M && contains "No space left on device"
acked=$(printf '%s\n' "$OUT" | sed -n 's/^\([0-9][0-9]*\) bytes.*copied.*/\1/p')
settle "$T/s"
echo "    dd: $acked bytes acknowledged"
logged "$SMALL" full || fail "the full device's file was discarded"
[ "$(stat -c %s "$T/s/full" 2>/dev/null)" = "$acked" ] || fail "size $(stat -c %s "$T/s/full" 2>&1), acknowledged $acked"
expect 0 cmp -n "$acked" "$T/rand" "$T/s/full"
expect 0 "$FAMFS" fsck "$T/s" && contains "clean"

step "a failed sizing leaves no empty file: famfs creat -s 2G, famfs cp, truncate -s on a nearly full device"
expect 0 "$FAMFS" umount "$T/s"
expect 0 "$FAMFS" mkfs -f --allow-small --size 64M "$SMALL"
mount_famfs "$SMALL" "$T/s" || fail "mount small"
expect 0 "$FAMFS" creat -s 50M "$T/s/big" # 2 of 27 units left
expect 1 "$FAMFS" creat -s 2G "$T/s/x" && contains "no space left on the device"
head -c $((5 << 20)) "$T/rand" >"$T/five"
expect 1 "$FAMFS" cp "$T/five" "$T/s/cp-target" && contains "o space left"
expect 1 truncate -s 10G "$T/s/tr"
settle "$T/s"
for f in x cp-target tr; do
	logged "$SMALL" $f && fail "$f: a file whose sizing failed was committed"
	gone "$T/s/$f" || fail "$f: a file whose sizing failed is still there"
done
expect 0 "$FAMFS" fsck "$T/s" && contains "clean"

step "ENOSPC from a program: write fails and loses nothing, fsync and close succeed"
expect 0 "$FAMFS" umount "$T/s"
expect 0 "$FAMFS" mkfs -f --allow-small --size 64M "$SMALL"
mount_famfs "$SMALL" "$T/s" || fail "mount small"
expect 0 py "$T/s/nospc" "$T/rand" <<'PY'
import errno, os, sys
p, src = sys.argv[1:]
data = open(src, "rb").read()
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
done = 0
while True:
    try:
        n = os.write(fd, data[done:done + (1 << 20)])
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
        break
    done += n
try:
    os.write(fd, b"x" * 4096)
except OSError as e:
    assert e.errno == errno.ENOSPC, e
os.fsync(fd)  # commits what was acknowledged
os.close(fd)
assert open(p, "rb").read() == data[:done], "the acknowledged bytes differ"
print("ok", done)
PY
expect 0 "$FAMFS" umount "$T/s"

step "lost data is told by write, fsync and close (EIO: the image cut under -o dataio=map), and the file goes"
CUT=$T/cut.img
expect 0 "$FAMFS" mkfs --size 4G "$CUT"
mount_famfs -o dataio=map "$CUT" "$T/cut" || fail "mount -o dataio=map"
expect 0 py "$T/cut/lost" "$CUT" <<'PY'
import errno, os, sys
p, img = sys.argv[1:]
def eio(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        assert e.errno == errno.EIO, (fn, e)
    else:
        raise AssertionError((fn, "no EIO"))
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
fd2 = os.open(p, os.O_WRONLY)
os.write(fd, b"a" * (2 << 20))  # its first unit, at 10 MiB: below the cut
os.truncate(img, 12 << 20)       # everything past the first data unit is gone
eio(os.write, fd, b"b" * 4096)   # its second unit: SIGBUS under the server's store
eio(os.write, fd, b"c")
eio(os.write, fd2, b"d")
eio(os.fsync, fd)
eio(os.close, fd2)
assert os.path.exists(p), "discarded while a writer still has it open"
eio(os.close, fd)
print("ok")
PY
settle "$T/cut"
gone "$T/cut/lost" || fail "a file that lost data is still there"
umount -l "$T/cut"

step "pending files give back speculative space before ENOSPC: two writers of 300 MiB, a third writes the rest"
GIG=$T/gig.img
expect 0 "$FAMFS" mkfs --allow-small --size 1G "$GIG"
mount_famfs "$GIG" "$T/g" || fail "mount 1G"
expect 0 py "$T/g" <<'PY'
import os, sys
g = sys.argv[1]
free = lambda: os.statvfs(g).f_bavail * os.statvfs(g).f_frsize
F = free()
mib = b"w" * (1 << 20)
a = os.open(g + "/w1", os.O_CREAT | os.O_WRONLY, 0o644)
b = os.open(g + "/w2", os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(300):
    os.write(a, mib)
    os.write(b, mib)
print("    two writers of 300 MiB, still open: %d MiB free" % (free() >> 20))
rest = F - (600 << 20)
c = os.open(g + "/w3", os.O_CREAT | os.O_WRONLY, 0o644)
done = 0
while done < rest:
    done += os.write(c, mib[:min(len(mib), rest - done)])
for x in (a, b, c):
    os.close(x)
print("    a third wrote the remaining %d MiB" % (rest >> 20))
PY
settle "$T/g"
[ "$(stat -c %s "$T/g/w3" 2>/dev/null)" -gt $((300 << 20)) ] 2>/dev/null || fail "w3: $(stat -c %s "$T/g/w3" 2>&1)"
expect 0 "$FAMFS" fsck "$T/g" && contains "clean"

step "a failed ftruncate(10G) or fallocate(KEEP_SIZE, 10G) keeps no space; the never-written file goes"
expect 0 "$FAMFS" umount "$T/g"
expect 0 "$FAMFS" mkfs -f --allow-small --size 1G "$GIG"
mount_famfs "$GIG" "$T/g" || fail "mount 1G"
expect 0 py "$T/g" <<'PY'
import errno, os, sys
g = sys.argv[1]
free = lambda: os.statvfs(g).f_bavail * os.statvfs(g).f_frsize
def nospc(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        assert e.errno == errno.ENOSPC, (fn, e)
    else:
        raise AssertionError((fn, "no ENOSPC"))
fd = os.open(g + "/huge", os.O_CREAT | os.O_WRONLY, 0o644)
before = free()
nospc(os.ftruncate, fd, 10 << 30)
assert free() == before, "a failed ftruncate(10G) kept %d MiB" % ((before - free()) >> 20)
nospc(os.posix_fallocate, fd, 0, 10 << 30)
assert free() == before, "a failed fallocate kept %d MiB" % ((before - free()) >> 20)
os.close(fd)  # never written, its sizing failed: discarded
print("ok")
PY
settle "$T/g"
logged "$GIG" huge && fail "huge, never written, its sizing failed, was committed"
gone "$T/g/huge" || fail "huge, never written, its sizing failed, is still there"
expect 0 "$FAMFS" umount "$T/g"

step "a file growing alone speculates at most a quarter of the free space: the rest stays for others"
expect 0 "$FAMFS" mkfs -f --allow-small --size 1G "$GIG"
mount_famfs "$GIG" "$T/g" || fail "mount 1G"
# Each grow takes need + min(what the file holds, 1 GiB, (free - need) / 4):
# after it, what the file holds beyond its bytes is at most a third of what
# stays free (plus the unit being filled). Without the limit a file of
# 300 MiB takes 300 MiB more while 420 MiB stay free.
expect 0 py "$T/g" <<'PY'
import os, sys
g = sys.argv[1]
st = lambda: os.statvfs(g)
free = lambda: st().f_bavail * st().f_frsize
F = free()
chunk = b"s" * (2 << 20)
fd = os.open(g + "/alone", os.O_CREAT | os.O_WRONLY, 0o644)
written = worst = 0
while written < 640 << 20:
    written += os.write(fd, chunk)
    held, left = F - free(), free()
    extra = held - written
    worst = max(worst, extra * 3 - left)
    assert extra <= left // 3 + (2 << 20), \
        "at %d MiB written the file holds %d MiB more, %d MiB stay free" % (
            written >> 20, extra >> 20, left >> 20)
os.close(fd)
print("    640 MiB written alone: speculation within a third of what stays free (worst margin %d MiB)" % (-worst >> 20))
PY
settle "$T/g"
expect 0 "$FAMFS" umount "$T/g"

step "set-group-ID directories: group and S_ISGID inherited, S_ISGID of a new file kept only for the group"
expect 0 mkdir "$M/sg"
expect 0 chown root:4242 "$M/sg"
expect 0 chmod 2777 "$M/sg"
touch "$M/sg/root-file" || fail "touch"
mkdir "$M/sg/sub" || fail "mkdir"
expect 0 "${NOBODY[@]}" "$PY3" -c 'import os, sys; os.umask(0); os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o2775))' "$M/sg/outsider"
expect 0 setpriv --reuid=nobody --regid=nogroup --groups=4242 "$PY3" -c 'import os, sys; os.umask(0); os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o2775))' "$M/sg/member"
expect 0 "$FAMFS" mkdir "$M/sg/famfs-dir"
expect 0 "$FAMFS" creat -s 1M "$M/sg/famfs-creat"
expect 0 "$FAMFS" cp /etc/os-release "$M/sg/famfs-cp"
settle "$M"
check_sg() { # check_sg ROOT: the modes and groups under ROOT/sg
	local want="root-file 4242 0 sub 4242 1 outsider 4242 0 member 4242 1 famfs-dir 4242 1 famfs-creat 4242 0 famfs-cp 4242 0"
	local got="" f
	for f in root-file sub outsider member famfs-dir famfs-creat famfs-cp; do
		got="$got $f $(stat -c %g "$1/sg/$f" 2>/dev/null) $(($(stat -c '0%a' "$1/sg/$f" 2>/dev/null || echo 0) >> 10 & 1))"
	done
	[ "${got# }" = "$want" ] || fail "$1: name gid setgid: got '${got# }', want '$want'"
}
check_sg "$M"
on_client sg/famfs-cp && check_sg "$C"

step "times outside the log's range are clamped, never wrapped: touch -d 1960-01-01 / 2200-01-01"
expect 0 "$FAMFS" creat -s 1M "$M/t-logged"
touch -d 1960-01-01 "$M/t-old" "$M/t-logged" || fail "touch 1960"
touch -d 2200-01-01 "$M/t-new" || fail "touch 2200"
settle "$M"
check_times() { # check_times ROOT
	[ "$(stat -c %Y "$1/t-old")" = 0 ] || fail "$1/t-old: $(stat -c %y "$1/t-old")"
	[ "$(stat -c %Y "$1/t-logged")" = 0 ] || fail "$1/t-logged: $(stat -c %y "$1/t-logged")"
	[ "$(stat -c %Y "$1/t-new")" = 4294967295 ] || fail "$1/t-new: $(stat -c %y "$1/t-new")"
}
check_times "$M"
on_client t-new && on_client t-old && check_times "$C"

step "set-ID bits are dropped when a task without CAP_FSETID writes (S_ISGID kept only for its group when not group-executable), logged for every host"
expect 0 "$FAMFS" creat -s 1M "$M/suid"
expect 0 chmod 6777 "$M/suid"
expect 0 "$FAMFS" creat -s 1M "$M/sgid-nox"
expect 0 chmod 2666 "$M/sgid-nox"
for f in sgid-member sgid-x-member; do
	expect 0 "$FAMFS" creat -s 1M "$M/$f"
	expect 0 chown root:4242 "$M/$f"
done
expect 0 chmod 2666 "$M/sgid-member"
expect 0 chmod 2777 "$M/sgid-x-member"
expect 0 "$FAMFS" creat -s 1M "$M/suid-root"
expect 0 chmod 6777 "$M/suid-root"
expect 0 python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"root", 0)' "$M/suid-root"
nobody_write() { "${NOBODY[@]}" "$PY3" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"x", 0); os.close(fd)' "$1"; }
expect 0 nobody_write "$M/suid"
expect 0 nobody_write "$M/sgid-nox"
for f in sgid-member sgid-x-member; do
	expect 0 setpriv --reuid=nobody --regid=nogroup --groups=4242 "$PY3" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"x", 0); os.close(fd)' "$M/$f"
done
expect 0 python3 -c 'import os, sys, subprocess
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.fchmod(fd, 0o6777)
subprocess.run(sys.argv[2:] + [sys.argv[1]], check=True)  # nobody writes it, pending
os.close(fd)' "$M/suid-pending2" "${NOBODY[@]}" "$PY3" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.write(fd, b"x")'
settle "$M"
check_modes() { # check_modes ROOT
	local got="" f
	for f in suid sgid-nox sgid-member sgid-x-member suid-root suid-pending2; do
		got="$got $f $(stat -c %a "$1/$f" 2>/dev/null)"
	done
	[ "${got# }" = "suid 777 sgid-nox 666 sgid-member 2666 sgid-x-member 777 suid-root 6777 suid-pending2 777" ] ||
		fail "$1: $got"
}
check_modes "$M"
on_client suid-pending2 && check_modes "$C"

step "inode numbers are the same on every host: create A, create B, close B, close A"
expect 0 py "$M" <<'PY'
import os, sys
m = sys.argv[1]
a = os.open(m + "/ino-a", os.O_CREAT | os.O_WRONLY, 0o644)
b = os.open(m + "/ino-b", os.O_CREAT | os.O_WRONLY, 0o644)
os.close(b)
os.close(a)
print("ok")
PY
settle "$M"
on_client ino-a
for f in ino-a ino-b sg sg/sub by-a r4; do
	[ "$(stat -c %i "$M/$f")" = "$(stat -c %i "$C/$f" 2>/dev/null)" ] ||
		fail "$f: inode $(stat -c %i "$M/$f") on the master, $(stat -c %i "$C/$f" 2>&1) on the client"
done
stat -c '%i %n' "$M/ino-a" "$M/ino-b" >"$T/inodes"

step "after a remount (with -o cache=page): the same inode numbers, times and modes; set-ID bits dropped through the page cache"
expect 0 "$FAMFS" umount "$M"
mount_famfs -o cache=page "$IMG" "$M" || fail "remount"
[ "$(stat -c '%i %n' "$M/ino-a" "$M/ino-b")" = "$(cat "$T/inodes")" ] || fail "inode numbers changed at remount"
check_times "$M"
check_modes "$M"
check_sg "$M"
expect 0 "$FAMFS" creat -s 1M "$M/suid-page"
expect 0 chmod 4777 "$M/suid-page"
expect 0 nobody_write "$M/suid-page"
[ "$(stat -c %a "$M/suid-page")" = 777 ] || fail "suid-page: $(stat -c %a "$M/suid-page") after a write through the page cache"

step "pmem (a loop device): the data is flushed to the media before the commit's log entry"
if ! command -v strace >/dev/null; then
	echo "  SKIP (step): no strace" >&2
elif ! "$FAMFS" mkfs -f --allow-small --size 64M "$SMALL" >/dev/null ||
	! LOOP=$(losetup -f --show "$SMALL" 2>/dev/null); then
	echo "  SKIP (step): no loop device for the pmem (block device) path" >&2
else
	# mkfs refuses a block device without DAX; the server still serves one
	at_exit losetup -d "$LOOP"
	mount_famfs "$LOOP" "$T/pm" || fail "mount the loop device"
	pid=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.pid").decode())' "$T/pm")
	strace -f -qq -p "$pid" -e trace=pwrite64,fdatasync -o "$T/strace" &
	spid=$!
	sleep 1 # strace attaches to every thread of the server
	head -c 3000000 "$T/rand" >"$T/pm/f" || fail "write"
	settle "$T/pm"
	kill $spid
	wait $spid 2>/dev/null
	# The log is the 8 MiB after the 2 MiB superblock; file data lies past it.
	expect 0 python3 - "$T/strace" <<'PY'
import re, sys
last_data, synced, log_seen = None, False, False
for l in open(sys.argv[1]):
    if "fdatasync(" in l and last_data is not None:
        synced = True
    m = re.search(r"pwrite64\(\d+, .*, (\d+), (\d+)(\)| <unfinished)", l)
    if not m:
        continue
    off = int(m.group(2))
    if off >= 10 << 20:
        last_data, synced = off, False
    elif off >= 2 << 20 and last_data is not None:
        assert synced, "log entry written with no device flush after the data"
        log_seen = True
assert log_seen, "no log append seen"
print("ok")
PY
	expect 0 cmp -n 3000000 "$T/rand" "$T/pm/f"
	expect 0 "$FAMFS" umount "$T/pm"
fi

expect 0 "$FAMFS" fsck "$M" && contains "clean"
finish
