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
"$FAMFS" umount "$M"
MOUNTS=()

# The append publishes next_seqnum and next_index with one 16-byte store;
# persistent memory keeps 8-byte pieces on power loss, so either counter
# may be one ahead of the other. The entry is flushed before that store.
step "counters torn by a power loss: fsck says so, a client serves the log, the master's mount repairs them"
CRAFT=$(dirname "$0")/../tools/famfs_craft.py
# The entry being published: written and flushed (a crafted MKDIR), then the
# counters as a lost half leaves them: next_seqnum alone (the entry not yet
# published), or next_index alone (published).
used=$("$CRAFT" "$IMG" entry mkdir --path torn-publication)
for torn in "$((used + 1)) $used" "$used $((used + 1))"; do
	# shellcheck disable=SC2086
	"$CRAFT" "$IMG" counters $torn
	dirs=$([ "${torn#* }" -gt "$used" ] && echo 1 || echo 0)
	expect 1 "$FAMFS" fsck "$IMG" && contains "LOG_TORN" && contains "1 problem found"
	FAMFS_SYSTEM_UUID_FILE=$T/hostB mount_famfs "$IMG" "$M" || fail "client mount of a torn log"
	n=$(find "$M/inc" -type f | wc -l)
	[ "$n" = "$logged" ] || fail "torn ($torn): the client shows $n files, $logged logged"
	[ "$(find "$M" -maxdepth 1 -name torn-publication | wc -l)" = "$dirs" ] ||
		fail "torn ($torn): the entry being published is not shown $dirs times"
	"$FAMFS" umount "$M"
	expect 1 "$FAMFS" fsck "$IMG" && contains "LOG_TORN" # a client does not write
	mount_famfs "$IMG" "$M" 2>"$T/master.err" || fail "master mount of a torn log"
	grep -q "counters .*repaired" "$T/master.err" || fail "the master did not say it repaired: $(cat "$T/master.err")"
	"$FAMFS" umount "$M"
	MOUNTS=()
	expect 0 "$FAMFS" fsck "$IMG" && contains "clean"
done
mount_famfs "$IMG" "$M" || fail "mount after the repair"
expect 0 "$FAMFS" mkdir "$M/after-repair"
[ -d "$M/torn-publication" ] || fail "the published entry is gone"
expect 0 "$FAMFS" fsck "$M" && contains "clean"

finish
