#!/usr/bin/env bash
# famfs mkfs (and devadd) never overwrite a device that is in use or that is
# not memory, -f or not: a loop device (a block device without DAX) is
# refused, and so is one that carries a mounted ext4, which stays intact
# (e2fsck clean).
# The pmem and devdax cases run in the qemu guests (test/vm: famfs-evil,
# dax-drv).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (losetup, mount)"
for t in losetup mkfs.ext4 e2fsck; do
	command -v $t >/dev/null || skip "no $t"
done
grep -qw ext4 /proc/filesystems || skip "the kernel has no ext4"

truncate -s 256M "$T/backing"
LOOP=$(losetup -f --show "$T/backing" 2>/dev/null) || skip "no free loop device"
at_exit "losetup -d $LOOP"

step "a block device without DAX (a loop device) is refused, even with -f"
expect 1 "$FAMFS" mkfs -f --allow-small "$LOOP" && contains "no DAX"
expect 1 "$FAMFS" mkfs --allow-small "$LOOP" && contains "no DAX"

step "a loop device carrying a mounted ext4: refused as in use, the ext4 stays clean"
mkfs.ext4 -q -F "$LOOP" || fail "mkfs.ext4 $LOOP"
mkdir -p "$T/ext4"
mount -t ext4 "$LOOP" "$T/ext4" || fail "mount -t ext4 $LOOP"
at_exit "mountpoint -q $T/ext4 && umount $T/ext4"
echo data >"$T/ext4/file"
sync
expect 1 "$FAMFS" mkfs -f --allow-small "$LOOP" && contains "in use"
expect 1 "$FAMFS" mkfs -f -k "$LOOP" && contains "in use"
step "nor as one device of several, nor added to a file system (devadd)"
truncate -s 256M "$T/second"
expect 1 "$FAMFS" mkfs -f --allow-small "$T/second" "$LOOP" && contains "in use"
expect 0 "$FAMFS" mkfs --size 4G "$T/primary"
expect 1 "$FAMFS" devadd -f --allow-small "$T/primary" "$LOOP" && contains "in use"
[ "$(cat "$T/ext4/file")" = data ] || fail "the ext4 file changed"
umount "$T/ext4" || fail "umount $T/ext4"
expect 0 e2fsck -fn "$LOOP"

step "an image file still works"
expect 0 "$FAMFS" mkfs --size 256M --allow-small "$T/img" && contains "\(file\)"
finish
