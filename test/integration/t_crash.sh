#!/usr/bin/env bash
# A server killed in the middle of a copy leaves the device consistent: the
# log holds whole entries only, fsck is clean, a remount shows every file that
# was logged, and their bytes are the ones written.
. "$(dirname "$0")/lib.sh"
need_fuse
need_dir /usr/include
IMG=$T/famfs.img
M=$T/m

step "copy in the background, then kill -9 the server"
expect 0 "$FAMFS" mkfs --size 8G "$IMG"
mount_famfs "$IMG" "$M" || fail "mount"
pid=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.pid").decode())' "$M")
"$FAMFS" cp -r /usr/include "$M/inc" >/dev/null 2>&1 &
cp_pid=$!
for _ in $(seq 200); do # until a few hundred files are in, at most 10 s
	[ "$(find "$M/inc" -type f 2>/dev/null | wc -l)" -ge 300 ] && break
	sleep 0.05
done
kill -9 "$pid"
wait "$cp_pid" 2>/dev/null
umount -l "$M" 2>/dev/null
MOUNTS=()

step "fsck is clean after the crash"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"
logged=$(printf '%s\n' "$OUT" | awk '/^  files/ { print $2 }')
[ "${logged:-0}" -gt 0 ] || fail "nothing was logged before the kill"
echo "    $logged files logged before the kill"

step "remount: the logged files are there and readable"
mount_famfs "$IMG" "$M" || fail "remount"
n=$(find "$M/inc" -type f | wc -l)
[ "$n" = "$logged" ] || fail "$n files visible, $logged logged"
# Files that were fully written before the kill match their source; the one
# being written may be short of data, but never of its size.
complete=0
while IFS= read -r f; do
	src=/usr/include/${f#"$M/inc/"}
	[ "$(stat -c %s "$f")" = "$(stat -L -c %s "$src")" ] || fail "$f has the wrong size"
	cmp -s "$f" "$src" && complete=$((complete + 1))
done < <(find "$M/inc" -type f)
[ $complete -ge $((logged - 1)) ] || fail "only $complete of $logged files are complete"
expect 0 "$FAMFS" mkdir "$M/after-crash" # the master can append again

finish
