#!/usr/bin/env bash
# Master and clients: a second "host" (another identity) mounts read-only,
# sees the identical tree, cannot write, and follows the master's log by
# itself. Mount errors: no famfs, device busy, corrupt log.
. "$(dirname "$0")/lib.sh"
need_fuse
need_dir /usr/include/linux
IMG=$T/famfs.img
M=$T/master
C=$T/client
HOSTB=$T/hostB
CRAFT=$(dirname "$0")/../tools/famfs_craft.py

step "master mounts and copies files"
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || fail "master mount failed"
expect 0 "$FAMFS" cp -r /usr/include/linux "$M/linux"
expect 0 "$FAMFS" creat -s 8M --seed 3 "$M/data"

step "a second mount read-write on this host is refused"
mkdir -p "$T/again"
expect 1 "$FAMFS" mount "$IMG" "$T/again" && contains "already mounted read-write"

step "a client (another identity) mounts read-only and sees the identical tree"
export FAMFS_SYSTEM_UUID_FILE=$HOSTB
mount_famfs "$IMG" "$C" 2>"$T/client.err" || fail "client mount failed"
grep -q "not the master: mounting read-only" "$T/client.err" || fail "no read-only notice"
[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.role").decode())' "$C")" = client ] ||
	fail "the client mount is not a client"
expect 0 diff -r "$M" "$C"
expect 0 cmp "$M/data" "$C/data"
cp "$M/data" "$T/data.copy"

step "every mutation on the client fails with EROFS"
expect 0 python3 - "$C" <<'PY'
import errno, os, sys
c = sys.argv[1]
def erofs(fn):
    try:
        fn()
    except OSError as e:
        assert e.errno == errno.EROFS, (fn, e)
    else:
        raise AssertionError("no error")
erofs(lambda: os.open(c + "/new", os.O_CREAT | os.O_WRONLY, 0o644))
erofs(lambda: os.mkdir(c + "/newdir"))
erofs(lambda: os.open(c + "/data", os.O_WRONLY))
erofs(lambda: os.truncate(c + "/data", 0))
erofs(lambda: os.unlink(c + "/data"))
erofs(lambda: os.setxattr(c + "/data", "user.x", b"1"))
PY
expect 1 "$FAMFS" creat -s 1M "$C/x" && contains "read-only"
expect 1 "$FAMFS" mkdir "$C/y" && contains "read-only"

step "files the master creates appear on the client within 1 s, with no command on the client"
unset FAMFS_SYSTEM_UUID_FILE
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
for i in 1 2 3 4 5; do
	"$FAMFS" mkdir -p "$M/new$i" && "$FAMFS" creat -s 1M --seed $i "$M/new$i/f" || fail "master create"
	start=$(date +%s%N)
	while [ ! -f "$C/new$i/f" ]; do
		if [ $(($(date +%s%N) - start)) -gt 1000000000 ]; then
			fail "new$i/f not visible on the client after 1 s"
			break
		fi
		sleep 0.01
	done
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "    new$i/f visible on the client after ${ms} ms"
	cmp "$M/new$i/f" "$C/new$i/f" || fail "new$i/f differs on the client"
done
ls "$C" >/dev/null
[ "$(ls "$C" | wc -l)" = "$(ls "$M" | wc -l)" ] || fail "client readdir differs"

step "the client keeps no miss and no stale attribute: names it missed appear, a directory and a mode follow"
expect 0 python3 - "$M" "$C" <<'PY'
import os, stat, sys, time
m, c = sys.argv[1:]
def wait(what, cond, limit=5.0):  # the follow interval is milliseconds; the machine may be loaded
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > limit:
            sys.exit("%s: not seen on the client after %.0f s" % (what, limit))
        time.sleep(0.002)
    return (time.monotonic() - t) * 1e3
os.mkdir(m + "/neg")
wait("neg", lambda: os.path.isdir(c + "/neg"))
nlink = os.stat(c + "/neg").st_nlink  # the directory's attributes, cached now
for name in ("f", "d"):
    for _ in range(3):  # looked up and missed: a kept miss would hide the name
        assert not os.path.exists(c + "/neg/" + name), name
with open(m + "/neg/f", "w") as f:
    f.write("x")
os.mkdir(m + "/neg/d")
print("    neg/f visible on the client after %.1f ms" % wait("neg/f", lambda: os.path.exists(c + "/neg/f")))
wait("neg/d", lambda: os.path.isdir(c + "/neg/d"))
wait("neg's new link count", lambda: os.stat(c + "/neg").st_nlink == nlink + 1)
assert stat.S_IMODE(os.stat(c + "/neg/f").st_mode) != 0o600  # its attributes, cached now
os.chmod(m + "/neg/f", 0o600)
wait("neg/f's new mode", lambda: stat.S_IMODE(os.stat(c + "/neg/f").st_mode) == 0o600)
PY
echo "$OUT"

step "famfs logplay MOUNTPOINT forces a catch-up"
expect 0 "$FAMFS" logplay "$C" && contains "entries replayed"

step "fsck through the client mount"
expect 0 "$FAMFS" fsck "$C" && contains "clean"

step "mount errors: no famfs, missing device, an allocation unit other than 2M/4K"
truncate -s 64M "$T/blank.img"
expect 1 "$FAMFS" mount "$T/blank.img" "$T/again" && contains "no famfs file system"
cp --sparse=always "$IMG" "$T/64k.img"
"$CRAFT" "$T/64k.img" alloc-unit 65536
expect 1 "$FAMFS" mount -r "$T/64k.img" "$T/again" &&
	contains "SB_ALLOC_UNIT.*alloc_unit 0x10000"
mountpoint -q "$T/again" && { fail "a 64 KiB-unit image was mounted"; umount "$T/again"; }
expect 1 "$FAMFS" mount "$T/nothere.img" "$T/again" && contains "No such file"

step "mkfs -f refuses while any famfs server on this host has the device open"
expect 1 "$FAMFS" mkfs -f "$IMG" && contains "in use by famfs on this host"
expect 0 "$FAMFS" umount "$M" # only the client (read-only, another identity) is left
expect 1 "$FAMFS" mkfs -f "$IMG" && contains "in use by famfs on this host"
expect 0 "$FAMFS" umount "$C"
mount_famfs -r "$IMG" "$C" || fail "read-only mount on the master host"
expect 1 "$FAMFS" mkfs -f "$IMG" && contains "in use by famfs on this host"
expect 0 cmp "$C/data" "$T/data.copy" # the client still serves the same bytes
expect 0 "$FAMFS" umount "$C"

step "a corrupt log mounts read-only up to the bad entry, and says so"
cp --sparse=always "$IMG" "$T/bad.img"
bad=5
printf '\x55' | dd of="$T/bad.img" bs=1 seek=$((0x200000 + 48 + bad * 544 + 30)) conv=notrunc status=none
mkdir -p "$T/badm"
"$FAMFS" mount "$T/bad.img" "$T/badm" 2>"$T/bad.err" && MOUNTS+=("$T/badm") || fail "mount of a corrupt log failed"
grep -q "log replay stopped at a bad entry: entry $bad: ENT_CRC" "$T/bad.err" || fail "no bad-entry message: $(cat "$T/bad.err")"
grep -q "read-only" "$T/bad.err" || fail "not read-only"
[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.role").decode())' "$T/badm")" = client ] ||
	fail "a corrupt log was mounted read-write"
expect 1 "$FAMFS" fsck "$T/bad.img" && contains "entry $bad: ENT_CRC"
expect 1 "$FAMFS" logplay "$T/badm" && contains "stopped at bad entry $bad"

step "a file whose extents are another file's stops replay: read-only, no second name on those bytes"
expect 0 "$FAMFS" umount "$T/badm"
cp --sparse=always "$IMG" "$T/dup.img"
slot=$("$CRAFT" "$T/dup.img" entry file --path public-copy --mode 0644 --extents-of data)
"$FAMFS" mount "$T/dup.img" "$T/badm" 2>"$T/dup.err" && MOUNTS+=("$T/badm") || fail "mount"
grep -q "log replay stopped at a bad entry: entry $slot: ENT_OVERLAP.*shared with entry" "$T/dup.err" ||
	fail "no overlap message: $(cat "$T/dup.err")"
[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.role").decode())' "$T/badm")" = client ] ||
	fail "overlapping extents were mounted read-write"
[ ! -e "$T/badm/public-copy" ] || fail "the overlapping file is served"
expect 0 cmp "$T/badm/data" "$T/data.copy"
expect 1 "$FAMFS" fsck "$T/dup.img" && contains "entry $slot: ENT_OVERLAP"

finish
