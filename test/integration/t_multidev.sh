#!/usr/bin/env bash
# One famfs over several devices, on image files: mkfs over existing images,
# fsck from any member (whole and per device; a missing, duplicated,
# foreign or unlisted secondary named by index and uuid), devadd, famfs
# daxdev list/resolve/refresh, other host identities finding the devices by
# uuid (through this host's cache, and under other names with a cache of
# their own), and readers that know no secondaries refusing one.
. "$(dirname "$0")/lib.sh"
need_fuse
CRAFT=$(dirname "$0")/../tools/famfs_craft.py
EXISTING=$(dirname "$0")/../tools/famfs_existing_sbcheck.py
A=$T/a.img B=$T/b.img C=$T/c.img D=$T/d.img
truncate -s 4G "$A" "$B" "$C" "$D"
uuid_of() { # IMG OFFSET: the uuid at OFFSET of IMG's superblock
	python3 -c 'import sys,uuid; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(uuid.UUID(bytes=f.read(16)))' "$1" "$2"
}

step "mkfs over two existing images: the first is the primary"
expect 0 "$FAMFS" mkfs "$A" "$B" && contains "2 devices" && contains "device 1: $B \(file\)"
FS=$(uuid_of "$A" 48)
UA=$(uuid_of "$A" 64)
UB=$(uuid_of "$B" 64)
[ "$(uuid_of "$B" 48)" = "$FS" ] || fail "the secondary names another file system"
[ "$(uuid_of "$B" 80)" = "$UA" ] || fail "the secondary does not name the primary's device uuid"
expect 0 "$FAMFS" daxdev list && contains "primary +$FS $UA .* $A" && contains "secondary +$FS $UB .* $B"

step "mkfs refuses: a member again (without -f), a device twice, an image with itself"
expect 1 "$FAMFS" mkfs "$B" && contains "is a secondary device of famfs file system $FS" &&
	contains "use -f"
expect 1 "$FAMFS" mkfs "$C" "$A" && contains "already holds a famfs"
expect 2 "$FAMFS" mkfs -f "$C" "$C" && contains "given twice"
ln "$C" "$T/c-link"
expect 2 "$FAMFS" mkfs -f "$C" "$T/c-link" && contains "given twice"
rm "$T/c-link"

step "readers that know no secondary refuse one: the existing tools' check, and mounting it"
expect 0 python3 "$EXISTING" "$A" && contains accepted
expect 1 python3 "$EXISTING" "$B" && contains "refused: invalid alloc unit in superblock: 0"
mkdir -p "$T/m"
expect 1 "$FAMFS" mount "$B" "$T/m" && contains "SB_SECONDARY" && contains "primary is device $UA"

step "fsck from the primary: the whole and each device"
expect 0 "$FAMFS" fsck "$A" && contains "capacity +8.00 GiB" && contains "devices +2" &&
	contains "device 0 +$UA $A" && contains "device 1 +$UB $B" && contains clean

step "fsck from the secondary finds the primary and checks the whole file system"
expect 0 "$FAMFS" fsck "$B" && contains "checking its file system from the primary $A" &&
	contains "devices +2" && contains clean

step "files on both devices (crafted entries): counted per device"
"$CRAFT" "$A" entry file --path f0 --size 0x400000 --extent 0x1000000,0x400000 >/dev/null
"$CRAFT" "$A" entry file --path f1 --size 0x400000 --extent 0x1000000,0x400000,1 >/dev/null
expect 0 "$FAMFS" fsck "$B" && contains "files +2 " &&
	contains "4.00 GiB capacity, 4.00 MiB allocated to files, 3.99 GiB free, 1 file$"
"$CRAFT" "$A" entry file --path f2 --size 0x200000 --extent 0x1200000,0x200000,2 >/dev/null
expect 1 "$FAMFS" fsck "$A" && contains "ENT_DEVINDEX" && contains "devindex 2, the file system has 2 devices"
"$CRAFT" "$A" entry file --path f3 --size 0x200000 --extent 0x1200000,0x200000,1 >/dev/null
expect 1 "$FAMFS" fsck "$A" && contains "ENT_OVERLAP.*strip|ENT_OVERLAP.*extent 0: \[0x1000000|ENT_DEVINDEX"

step "a server that opens the primary alone: new files on it; a file elsewhere stops its replay"
"$FAMFS" mkfs -f "$A" "$B" >/dev/null || fail "mkfs -f"
mount_famfs "$A" "$T/m" || fail "mount"
expect 0 "$FAMFS" creat -s 4M "$T/m/new"
expect 0 "$FAMFS" fsck "$T/m" && contains "devices +2" && contains "device 0 .*$A" &&
	contains "device 1 .*$B" && contains clean
expect 1 "$FAMFS" devadd "$T/m" "$C" && contains "is in a mounted famfs"
expect 1 "$FAMFS" devadd "$A" "$C" && contains "mounted read-write on this host"
expect 1 "$FAMFS" devadd "$B" "$C" && contains "mounted read-write on this host"
umount "$T/m"
expect 0 "$FAMFS" logplay -n "$A" && contains "file  new 4194304 bytes 0644 0:0 \[0x"
"$CRAFT" "$A" entry file --path on1 --size 0x400000 --extent 0x1000000,0x400000,1 >/dev/null
expect 0 "$FAMFS" logplay -n "$A" && contains "on1 .*\[dev1:0x1000000\+0x400000\]"
"$FAMFS" mount "$A" "$T/m" 2>"$T/mount.err" || fail "mount with a file on device 1"
MOUNTS+=("$T/m")
grep -q "DEV_UNSERVED" "$T/mount.err" || fail "no DEV_UNSERVED: $(cat "$T/mount.err")"
[ -f "$T/m/new" ] && [ ! -e "$T/m/on1" ] || fail "the entries before the file on device 1 are not served"
expect 1 touch "$T/m/more" && contains "Read-only"
umount "$T/m"

step "devadd: the next device, by uuid in the log; refusals"
truncate -s 4G "$T/e.img"
mkfs_fresh() { # rebuild a clean two-device file system on A and B
	"$FAMFS" mkfs -f "$A" "$B" >/dev/null || fail "mkfs -f"
	FS=$(uuid_of "$A" 48) UA=$(uuid_of "$A" 64) UB=$(uuid_of "$B" 64)
}
mkfs_fresh
expect 0 "$FAMFS" devadd "$A" "$C" && contains "$C is device 2 of $A"
UC=$(uuid_of "$C" 64)
expect 1 "$FAMFS" devadd "$A" "$C" && contains "already a device of this file system"
expect 1 "$FAMFS" devadd "$A" "$A" && contains "already a device of this file system"
"$FAMFS" mkfs --size 4G "$T/other.img" >/dev/null
expect 1 "$FAMFS" devadd "$A" "$T/other.img" && contains "holds a famfs file system; use -f"
truncate -s 64M "$T/small.img"
expect 1 "$FAMFS" devadd "$A" "$T/small.img" && contains "too small"
expect 2 "$FAMFS" devadd "$A" && contains "expected TARGET and DEVICE"
expect 0 "$FAMFS" logplay -n "$A" && contains "daxdev index 2 size 4294967296"
expect 0 "$FAMFS" fsck "$C" && contains "devices +3" && contains "device 2 +$UC $C" && contains clean

step "devadd from another identity is refused (only the master), and through a secondary works"
expect 1 env FAMFS_SYSTEM_UUID_FILE="$T/hostB" "$FAMFS" devadd "$A" "$D" && contains "only the master"
expect 0 "$FAMFS" devadd "$B" "$D" && contains "$D is device 3 of $A"

step "a missing secondary: named by index and uuid"
mv "$C" "$T/c.moved"
expect 1 "$FAMFS" fsck "$A" && contains "entry 1: DEV_MISSING.*device 2 \(uuid $UC" &&
	contains "device 2 +$UC \(not on this host\)"
expect 1 "$FAMFS" daxdev resolve "$A" && contains "DEV_MISSING"
expect 1 "$FAMFS" daxdev resolve "$FS" "$UC" && contains "no device of this host carries it"
mv "$T/c.moved" "$C"
expect 0 "$FAMFS" daxdev resolve "$FS" "$UC" && [ "$OUT" = "$C" ] || fail "resolve printed '$OUT'"

step "two devices with one uuid are refused, naming both"
cp --sparse=always "$C" "$T/c.copy"
expect 0 "$FAMFS" daxdev refresh "$T/c.copy" && contains "$T/c.copy"
expect 1 "$FAMFS" fsck "$A" && contains "DEV_DUPLICATE.*device 2.*both .* and .* carry it"
expect 1 "$FAMFS" daxdev resolve "$FS" "$UC" && contains "both"
rm "$T/c.copy"
expect 0 "$FAMFS" daxdev refresh
expect 0 "$FAMFS" fsck "$A"

step "a foreign secondary: carries the uuid but names another primary"
cp --sparse=always "$C" "$T/c.keep"
"$CRAFT" "$C" sb-bytes 80 00112233445566778899aabbccddeeff
expect 1 "$FAMFS" fsck "$A" && contains "entry 1: DEV_FOREIGN.*device 2 \(uuid $UC.*names another primary"
mv "$T/c.keep" "$C"

step "an interrupted devadd (a secondary its log does not name): reported, then reused"
truncate -s 4G "$T/f.img"
"$CRAFT" "$T/f.img" sb-from "$C"
"$CRAFT" "$T/f.img" sb-bytes 64 0123456789abcdef0123456789abcdef
expect 1 "$FAMFS" fsck "$T/f.img" && contains "DEV_UNLISTED"
expect 0 "$FAMFS" devadd "$A" "$T/f.img" && contains "device 4 of"
expect 0 "$FAMFS" fsck "$T/f.img" && contains "devices +5" && contains clean

step "another identity on this host finds the devices through this host's cache"
export FAMFS_SYSTEM_UUID_FILE=$T/hostB
expect 0 "$FAMFS" fsck "$D" && contains "from the primary $A" && contains "devices +5" && contains clean
expect 0 "$FAMFS" daxdev resolve "$FS" "$UB" && [ "$OUT" = "$B" ] || fail "resolve printed '$OUT'"

step "a host of its own: other names, its own cache, learnt from a refresh"
mkdir -p "$T/hostC"
export FAMFS_SYSTEM_UUID_FILE=$T/hostC/system_uuid FAMFS_DEVICE_CACHE=$T/hostC/devices
for x in a b c d f; do ln "$T/$x.img" "$T/hostC/dev-$x"; done
expect 2 "$FAMFS" fsck "$T/hostC/dev-b" && contains "no device of this host carries that primary"
expect 0 "$FAMFS" daxdev refresh "$T/hostC"/dev-*
expect 0 "$FAMFS" fsck "$T/hostC/dev-b" && contains "from the primary $T/hostC/dev-a" &&
	contains "device 2 +$UC $T/hostC/dev-c" && contains clean
expect 0 "$FAMFS" daxdev resolve "$T/hostC/dev-d" && contains "$T/hostC/dev-c"
expect 0 "$FAMFS" daxdev list && contains "$T/hostC/dev-c"
printf '%s\n' "$OUT" | grep -q "$T/c.img" && fail "host C's cache names host A's paths"
export FAMFS_SYSTEM_UUID_FILE=$T/hostA FAMFS_DEVICE_CACHE=$T/devices

step "image files may have any name: a newline, blanks, a trailing blank"
mkdir -p "$T/names"
export FAMFS_DEVICE_CACHE=$T/names/devices
N0="$T/names/new
line.img" N1="$T/names/two  blanks .img"
truncate -s 4G "$N0" "$N1"
expect 0 "$FAMFS" mkfs "$N0" "$N1" && contains "device 1: $T/names/two  blanks \.img \(file\)"
[ "$(grep -c . "$T/names/devices")" = 6 ] || fail "the cache is not 4 lines and 2 rows: $(cat -A "$T/names/devices")"
expect 0 "$FAMFS" daxdev list && contains "primary .* $T/names/new\\\\x0aline\.img\$" &&
	contains "secondary .* $T/names/two  blanks \.img\$" && contains "2 devices known"
expect 0 "$FAMFS" fsck "$N1" && contains "from the primary $T/names/new\\\\x0aline\.img" &&
	contains "devices +2" && contains clean
rm "$T/names/devices"
expect 2 "$FAMFS" fsck "$N1" && contains "no device of this host carries that primary"
expect 0 "$FAMFS" daxdev refresh "$N0" "$N1" && contains "2 famfs devices found"
expect 0 "$FAMFS" fsck "$N1" && contains "from the primary $T/names/new\\\\x0aline\.img" && contains clean
export FAMFS_DEVICE_CACHE=$T/devices

step "mkfs -f -k of a secondary makes the host forget it"
expect 0 "$FAMFS" mkfs -f -k "$D"
expect 0 "$FAMFS" daxdev list && ! printf '%s\n' "$OUT" | grep -q " $D\$" || fail "$D still cached"
expect 1 "$FAMFS" fsck "$A" && contains "DEV_MISSING.*device 3"

finish
