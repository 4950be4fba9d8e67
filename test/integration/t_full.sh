#!/usr/bin/env bash
# A full device and a full log during famfs cp: a clear error, every file
# already copied complete, nothing half-logged, fsck clean.
. "$(dirname "$0")/lib.sh"
need_fuse
SRC=/usr/include/linux
need_dir "$SRC"

# check_copied DIR: every file under DIR equals its source under $SRC.
check_copied() {
	local f n=0
	while IFS= read -r f; do
		cmp -s "$SRC/${f#"$1"/}" "$f" || fail "$f differs from its source"
		n=$((n + 1))
	done < <(find "$1" -type f)
	echo "    $n complete files"
}

step "full device: 64 MiB image, 27 allocation units"
IMG=$T/small.img
expect 0 "$FAMFS" mkfs --allow-small --size 64M "$IMG"
mount_famfs "$IMG" "$T/m" || fail "mount"
expect 1 "$FAMFS" cp -r "$SRC" "$T/m/linux" && contains "no space left on the device" &&
	contains "stopped: the file system is full"
check_copied "$T/m/linux"
expect 0 "$FAMFS" fsck "$T/m" && contains "clean" && contains "free +0 bytes" &&
	contains "the device fills first"
# df: no block left; df -i: log entries (inodes) still free.
expect 0 python3 -c 'import os, sys; v = os.statvfs(sys.argv[1]); print(v.f_bfree, v.f_ffree > 0)' "$T/m" &&
	contains "^0 True$"
expect 1 "$FAMFS" creat -s 1 "$T/m/one-more" && contains "no space left on the device"
[ ! -e "$T/m/one-more" ] || fail "a file that got no space exists"
expect 0 "$FAMFS" umount "$T/m"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"

step "full log: 5 free entries left"
IMG=$T/log.img
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
expect 0 "$FILL" "$IMG" 15415 0 && contains "^15415$"
mount_famfs "$IMG" "$T/l" || fail "mount"
expect 1 "$FAMFS" cp -r "$SRC" "$T/l/linux" && contains "the log is full" &&
	contains "need as many log entries, only 5 free"
check_copied "$T/l/linux"
expect 0 "$FAMFS" fsck "$T/l" && contains "clean" && contains "15420 used, 0 free" &&
	contains "0 log entries free"
# df -i: every inode (log entry) used while blocks are free.
expect 0 python3 -c 'import os, sys; v = os.statvfs(sys.argv[1]); print(v.f_files, v.f_ffree, v.f_bfree > 0)' "$T/l" &&
	contains "^15420 0 True$"
expect 1 mkdir "$T/l/more"
expect 1 "$FAMFS" mkdir "$T/l/more" && contains "the log is full"
expect 0 "$FAMFS" umount "$T/l"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"

finish
