#!/usr/bin/env bash
# Access control as seen by an unprivileged user the test creates: it cannot
# read root's 0600 file, write a 0644 one, create in root's directories, read
# the metadata (.meta), read the image, or gain privileges from a set-user-ID
# binary stored in famfs (famfs mount is always nosuid,nodev). Each denial is
# paired with an allowed operation, so a user who cannot reach the mount at
# all cannot make the test pass.
. "$(dirname "$0")/lib.sh"
need_fuse
command -v useradd >/dev/null && command -v setpriv >/dev/null || skip "needs useradd and setpriv"
IMG=$T/famfs.img
M=$T/m
# Only the files' own modes protect them: the scratch directory is open.
chmod 0755 "$T"

step "create an unprivileged user"
U=famfs-t$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$U" || fail "useradd $U"
at_exit "userdel $U 2>/dev/null"
uid=$(id -u "$U") gid=$(id -g "$U")
[ -n "$uid" ] && [ "$uid" != 0 ] || { fail "no uid for $U"; finish; }
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }

step "mkfs creates the image 0600"
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
[ "$(stat -c %a "$IMG")" = 600 ] || fail "image mode $(stat -c %a "$IMG"), expected 600"

step "root's files, directory and a set-user-ID binary"
mount_famfs "$IMG" "$M" || { fail "mount"; finish; }
expect 0 "$FAMFS" creat -s 4096 -m 0600 --seed 1 "$M/secret"
expect 0 "$FAMFS" creat -s 4096 -m 0644 --seed 2 "$M/public"
expect 0 "$FAMFS" mkdir "$M/rootdir"
cp /usr/bin/id "$T/suid-id" && chmod 4755 "$T/suid-id"
expect 0 "$FAMFS" cp "$T/suid-id" "$M/suid-id"
[ "$(stat -c '%a %U' "$M/suid-id")" = "4755 root" ] || fail "suid-id is $(stat -c '%a %U' "$M/suid-id")"
grep -E " $M fuse\.famfs [^ ]*nosuid" /proc/mounts | grep -q nodev ||
	fail "not mounted nosuid,nodev: $(grep " $M " /proc/mounts)"

# denied PATTERN CMD...: as the user, CMD fails and says PATTERN.
denied() {
	local want=$1
	shift
	OUT=$(as_user "$@" 2>&1 >/dev/null) && { fail "'$*' succeeded as $U"; return; }
	printf '%s\n' "$OUT" | grep -q "$want" || fail "'$*' as $U: expected '$want', got: $OUT"
}

step "the user reaches the mount: reads the 0644 file, lists the root"
expect 0 as_user cmp "$M/public" "$M/public"
expect 0 as_user ls "$M" && contains "public"

step "cannot read root's 0600 file"
denied "Permission denied" cat "$M/secret"

step "cannot write the 0644 file"
denied "Permission denied" dd if=/dev/zero of="$M/public" bs=1 count=1 conv=notrunc status=none

step "cannot create in root's directories"
denied "Permission denied" touch "$M/mine"
denied "Permission denied" mkdir "$M/rootdir/mine"
denied "Permission denied" "$FAMFS" creat -s 1M "$M/rootdir/mine2"
[ ! -e "$M/mine" ] && [ ! -e "$M/rootdir/mine" ] && [ ! -e "$M/rootdir/mine2" ] ||
	fail "the user created something"

step "cannot read the metadata: .meta is as readable as the device (0600 root)"
denied "Permission denied" cat "$M/.meta/.log"
denied "Permission denied" cat "$M/.meta/.superblock"
denied "Permission denied" "$FAMFS" fsck "$M"
expect 0 "$FAMFS" fsck "$M" && contains "clean" # root still can

step "cannot read the image"
denied "Permission denied" head -c 1 "$IMG"
denied "Permission denied" "$FAMFS" fsck "$IMG"

step "a set-user-ID root binary in famfs gives no privileges"
expect 0 as_user "$M/suid-id" -u
[ "$OUT" = "$uid" ] || fail "suid-id ran with euid $OUT, expected $uid"

step "even when asked for: famfs mount -o suid,dev still mounts nosuid,nodev"
expect 0 "$FAMFS" umount "$M"
mount_famfs -o suid,dev "$IMG" "$M" || fail "mount -o suid,dev"
expect 0 as_user "$M/suid-id" -u
[ "$OUT" = "$uid" ] || fail "suid-id ran with euid $OUT under -o suid, expected $uid"

finish
