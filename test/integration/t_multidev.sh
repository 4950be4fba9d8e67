#!/usr/bin/env bash
# One famfs over several devices, on image files: mkfs over existing images,
# fsck from any member (whole and per device; a missing, duplicated,
# foreign or unlisted secondary named by index and uuid), devadd, famfs
# daxdev list/resolve/refresh, other host identities finding the devices by
# uuid (through this host's cache, and under other names with a cache of
# their own), readers that know no secondaries refusing one, and the
# server serving files on every device (plain and striped), to a second
# host identity too; a device missing at mount refuses the mount.
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

step "the server serves every device: plain files on each, striped over both, read back byte for byte"
"$FAMFS" mkfs -f "$A" "$B" >/dev/null || fail "mkfs -f"
UA=$(uuid_of "$A" 64) UB=$(uuid_of "$B" 64)
mount_famfs "$A" "$T/m" || fail "mount"
head -c 5000000 /dev/urandom >"$T/src1"
head -c 3000000 /dev/urandom >"$T/src2"
# the device with the most free bytes takes each plain file (device 0 has the log)
expect 0 "$FAMFS" cp "$T/src1" "$T/m/p1"
expect 0 cp "$T/src2" "$T/m/p2"
expect 0 "$FAMFS" cp "$T/src1" "$T/m/p3"
expect 0 "$FAMFS" getmap "$T/m/p1" && contains "extent 0 dev 1 "
expect 0 "$FAMFS" getmap "$T/m/p3" && contains "extent 0 dev 0 "
expect 0 "$FAMFS" creat -s 8M -N 2 -B 2 -S 7 "$T/m/s1" &&
	expect 0 "$FAMFS" getmap "$T/m/s1" && contains "strip 0 dev [01] " && contains "strip 1 dev [01] " &&
	! printf '%s\n' "$OUT" | grep -q "strip 0 dev \(.\) .*strip 1 dev \1 " || fail "strips share a device: $OUT"
mkdir -p "$T/srcdir"
head -c 9000000 /dev/urandom >"$T/srcdir/big"
head -c 4000 /dev/urandom >"$T/srcdir/small"
expect 0 "$FAMFS" cp -r -N 2 -B 2 -C 2M "$T/srcdir" "$T/m/sd"
expect 0 "$FAMFS" getmap "$T/m/sd/big" && contains "strip 1 dev"
expect 1 "$FAMFS" creat -s 8M -N 3 -B 3 "$T/m/s3" && contains "Invalid argument|strips"
check_all() { # MOUNT: every file byte for byte
	cmp "$T/src1" "$1/p1" && cmp "$T/src2" "$1/p2" && cmp "$T/src1" "$1/p3" &&
		cmp "$T/srcdir/big" "$1/sd/big" && cmp "$T/srcdir/small" "$1/sd/small" &&
		"$FAMFS" verify -q -S 7 "$1/s1" >/dev/null || fail "$1: a file differs"
}
check_all "$T/m"
# statfs: the whole (two 4 GiB devices in 2 MiB units); each device in fsck and user.famfs.devices
expect 0 stat -f -c '%S %b' "$T/m" && contains "^2097152 4096$"
expect 0 python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.devices").decode())' "$T/m" &&
	contains "^0 $UA 4294967296 [0-9]+ [0-9]+ file $A$" && contains "^1 $UB 4294967296 [0-9]+ [0-9]+ file $B$"
FREE=$(stat -f -c '%f' "$T/m")
USED=$(printf '%s\n' "$OUT" | awk '{ u += $4 } END { print u / 2097152 }')
[ $((FREE + USED)) = 4096 ] || fail "statfs free $FREE + the devices' used $USED is not 4096 units"
expect 0 "$FAMFS" fsck "$T/m" && contains "devices +2" && contains clean &&
	contains "device 0 +$UA $A" && contains "device 1 +$UB $B"
expect 1 "$FAMFS" devadd "$A" "$C" && contains "mounted read-write on this host"
expect 1 "$FAMFS" devadd "$B" "$C" && contains "mounted read-write on this host"

step "remount: the same files from both devices"
umount "$T/m"
mount_famfs "$A" "$T/m" || fail "remount"
check_all "$T/m"

step "a second host identity mounts the primary with no other argument and reads everything"
mkdir -p "$T/c"
FAMFS_SYSTEM_UUID_FILE=$T/hostB mount_famfs "$A" "$T/c" 2>/dev/null || fail "client mount"
check_all "$T/c"
expect 0 "$FAMFS" cp "$T/src2" "$T/m/p4"
for i in $(seq 100); do cmp -s "$T/src2" "$T/c/p4" && break; sleep 0.1; done
cmp "$T/src2" "$T/c/p4" || fail "the client does not read a file created after its mount"
umount "$T/c"
umount "$T/m"

step "a device missing at mount: refused, naming its index and uuid"
mv "$B" "$T/b.moved"
expect 1 "$FAMFS" mount "$A" "$T/m" && contains "DEV_MISSING.*device 1 \(uuid $UB" &&
	contains "not mounted"
is_mounted "$T/m" && { MOUNTS+=("$T/m"); fail "mounted without device 1"; }
expect 1 env FAMFS_SYSTEM_UUID_FILE="$T/hostB" "$FAMFS" mount "$A" "$T/m" &&
	contains "DEV_MISSING.*device 1 \(uuid $UB"
is_mounted "$T/m" && { MOUNTS+=("$T/m"); fail "a client mounted without device 1"; }
mv "$T/b.moved" "$B"

step "devadd on the mounted master: new files on the new device at once; a following client reads them"
G=$T/g.img
truncate -s 4G "$G"
mount_famfs "$A" "$T/m" || fail "mount"
FAMFS_SYSTEM_UUID_FILE=$T/hostB mount_famfs "$A" "$T/c" 2>/dev/null || fail "client mount"
expect 1 env FAMFS_SYSTEM_UUID_FILE="$T/hostB" "$FAMFS" devadd "$T/c" "$G" && contains "only the master"
expect 1 "$FAMFS" devadd "$T/m" "$T/m/p1" && contains "not added: a file in a famfs is no device"
expect 1 python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.famfs.devadd", ("0 " + sys.argv[2]).encode())' "$T/m" "$T/m/p1" && contains "Invalid argument"
expect 0 "$FAMFS" devadd "$T/m" "$G" && contains "$G is device 2 of $T/m \(mounted\)"
UG=$(uuid_of "$G" 64)
expect 0 python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.devices").decode())' "$T/m" &&
	contains "^2 $UG 4294967296 2097152 .* file $G$"
expect 0 "$FAMFS" creat -s 12M -N 3 -B 3 -S 11 "$T/m/s4" && expect 0 "$FAMFS" getmap "$T/m/s4" &&
	contains "strip 0 dev 2 "
expect 0 "$FAMFS" cp "$T/src1" "$T/m/p5"
expect 0 "$FAMFS" getmap "$T/m/p5" && contains "extent 0 dev 2 "
for i in $(seq 100); do cmp -s "$T/src1" "$T/c/p5" && break; sleep 0.1; done
cmp "$T/src1" "$T/c/p5" || fail "the client does not read a file on the new device"
"$FAMFS" verify -q -S 11 "$T/c/s4" || fail "the client does not read a file striped onto the new device"
expect 0 python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.devices").decode())' "$T/c" &&
	contains "^2 $UG .* file $G$"
check_all "$T/c"
umount "$T/c"
umount "$T/m"
expect 0 "$FAMFS" fsck "$A" && contains "devices +3" && contains clean

step "a client whose host does not find an added device stops at its entry, then resumes once taught it"
mkdir -p "$T/hostD"
truncate -s 4G "$T/h.img"
mount_famfs "$A" "$T/m" || fail "mount"
export FAMFS_DEVICE_CACHE=$T/hostD/devices
"$FAMFS" daxdev refresh "$A" "$B" "$G" >/dev/null || fail "refresh"
FAMFS_SYSTEM_UUID_FILE=$T/hostB mount_famfs "$A" "$T/c" 2>/dev/null || fail "client mount"
export FAMFS_DEVICE_CACHE=$T/devices
expect 0 "$FAMFS" devadd "$T/m" "$T/h.img" && contains "is device 3 of"
expect 0 "$FAMFS" cp "$T/src1" "$T/m/p7"
expect 0 "$FAMFS" getmap "$T/m/p7" && contains "extent 0 dev 3 "
expect 0 python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.logplay").decode())' "$T/c" &&
	contains "stopped at bad entry"
[ -e "$T/c/p7" ] && fail "the client shows a file on a device it has not found"
cmp -s "$T/src1" "$T/c/p5" || fail "the client no longer serves what it had"
FAMFS_DEVICE_CACHE=$T/hostD/devices "$FAMFS" daxdev refresh "$T/h.img" >/dev/null || fail "refresh h"
for i in $(seq 200); do [ -e "$T/c/p7" ] && break; sleep 0.1; done
cmp "$T/src1" "$T/c/p7" || fail "the client did not resume once the device was found"
umount "$T/c"
umount "$T/m"

step "a device that vanishes under a mount fails exactly the files that touch it (EIO), nothing else"
mount_famfs "$A" "$T/m" || fail "mount"
truncate -s 0 "$B" # the server's mapping of device 1 now faults (SIGBUS -> EIO)
n1=0 n0=0
for f in p1 p2 p3 p4 p5 s1 s4 sd/big sd/small; do
	on1=0
	"$FAMFS" getmap "$T/m/$f" | grep -Eq "(extent|strip) [0-9]+ dev 1 " && on1=1
	if cat "$T/m/$f" >/dev/null 2>"$T/cat.err"; then
		[ $on1 = 0 ] || fail "$f has data on the vanished device 1 and reads"
		n0=$((n0 + 1))
	else
		[ $on1 = 1 ] || fail "$f is not on device 1 and fails: $(cat "$T/cat.err")"
		grep -q "Input/output error" "$T/cat.err" || fail "$f: not EIO: $(cat "$T/cat.err")"
		n1=$((n1 + 1))
	fi
done
[ $n0 -gt 0 ] && [ $n1 -gt 0 ] || fail "want files on each side: $n0 read, $n1 failed"
expect 0 ls "$T/m/sd"
umount "$T/m"
truncate -s 4G "$B"

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

step "an ADD_DAXDEV entry claiming 1 PiB: bitmaps sized by the real device, DEV_SIZE, no memory blow-up"
export FAMFS_DEVICE_CACHE=$T/big/devices
mkdir -p "$T/big"
truncate -s 4G "$T/big/p.img" "$T/big/s.img"
"$FAMFS" mkfs --alloc-unit 4K "$T/big/p.img" "$T/big/s.img" >/dev/null || fail "mkfs 4K"
US=$(uuid_of "$T/big/s.img" 64)
"$CRAFT" "$T/big/p.img" counters 0 0
"$CRAFT" "$T/big/p.img" entry daxdev --index 1 --uuid "$US" --size $((1 << 50)) >/dev/null
# 1 PiB in 4 KiB units would be a 32 GiB bitmap: kept under 1 GiB of address space
expect 1 bash -c 'ulimit -v 1048576; exec "$@"' _ "$FAMFS" fsck "$T/big/p.img" &&
	contains "DEV_SIZE.*device 1 \(uuid $US, 1125899906842624 bytes\)"
# the server maps both 4 GiB images whole: 16 GiB of address space, still under 32
expect 1 bash -c 'ulimit -v 16777216; exec "$@"' _ "$FAMFS" mount "$T/big/p.img" "$T/m" &&
	contains "DEV_SIZE.*device 1 \(uuid $US"
is_mounted "$T/m" && { MOUNTS+=("$T/m"); fail "mounted with a device smaller than its entry"; }
export FAMFS_DEVICE_CACHE=$T/devices

step "mkfs -f -k of a secondary makes the host forget it"
expect 0 "$FAMFS" mkfs -f -k "$D"
expect 0 "$FAMFS" daxdev list && ! printf '%s\n' "$OUT" | grep -q " $D\$" || fail "$D still cached"
expect 1 "$FAMFS" fsck "$A" && contains "DEV_MISSING.*device 3"

finish
