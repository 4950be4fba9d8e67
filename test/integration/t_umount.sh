#!/usr/bin/env bash
# umount(8) of a famfs leaves the device free when it returns: the existing
# famfs tools' scripts run `umount MNT; famfs mkfs -f DEV` (or mount it again)
# and must never find the device still in use by a server that has not yet
# exited. umount(8) finds /sbin/umount.famfs through the helper=famfs that
# famfs_fused records in libmount's utab when it mounts (through famfs mount
# or run by itself), and /sbin/umount.fuse.famfs by the mount's type (for
# umount -l/-f); both wait for the server.
#
# The helpers are put where umount(8) looks without installing anything on
# the host: the test runs in a private mount namespace whose /usr/sbin (/sbin
# is a link to it) is an overlay adding umount.famfs, umount.fuse.famfs and
# mount.famfs, links to $BUILD/famfs, as make install and the package put
# them in /sbin.
if [ -z "${FAMFS_T_UMOUNT_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		echo "  SKIP: needs root and unshare(1) for a private mount namespace" >&2
		exit 77
	fi
	FAMFS_T_UMOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_fuse
IMG=$T/famfs.img
M=$T/m
mkdir -p "$M" "$T/sbin"
for h in umount.famfs umount.fuse.famfs mount.famfs; do ln -s "$FAMFS" "$T/sbin/$h"; done
sbin=$(realpath /sbin)
mount -t overlay overlay -o "lowerdir=$T/sbin:$sbin" "$sbin" 2>"$T/overlay.err" ||
	skip "no overlay file system for a private /sbin: $(cat "$T/overlay.err")"
at_exit umount -l "$sbin"
[ -x /sbin/umount.famfs ] || fail "the overlay does not show umount.famfs"
expect 0 "$FAMFS" mkfs --size 4G "$IMG"

# Until the device is free again (at most 10 s): unmounted, mkfs -f works.
settle() {
	local _
	for _ in $(seq 100); do
		mountpoint -q "$M" && umount -i -l "$M"
		"$FAMFS" mkfs -f "$IMG" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "the device stayed in use for 10 s"
}

# N rounds of: mount (famfs mount ARGS), unmount with UMOUNT..., mkfs -f at
# once. Prints how many mkfs refused the device as in use.
rounds() { # N "MOUNT ARGS" UMOUNT...
	local n=$1 margs=$2 refused=0 i
	shift 2
	for i in $(seq "$n"); do
		# shellcheck disable=SC2086
		"$FAMFS" mount $margs "$IMG" "$M" >/dev/null || { fail "mount $i"; break; }
		"$@" "$M" || fail "$* failed"
		if ! "$FAMFS" mkfs -f "$IMG" >"$T/mkfs.out" 2>&1; then
			grep -q "in use by famfs on this host" "$T/mkfs.out" || fail "mkfs: $(cat "$T/mkfs.out")"
			refused=$((refused + 1))
			settle
		fi
	done
	echo "$refused"
}

step "baseline, same run: umount -i (no helper, as umount(8) without umount.famfs)"
base=$(rounds 10 "" umount -i)
echo "    umount -i; famfs mkfs -f: $base of 10 refused (device still in use)"

step "umount: 10 rounds of umount MNT; famfs mkfs -f DEV, none refused"
got=$(rounds 10 "" umount)
echo "    umount; famfs mkfs -f: $got of 10 refused"
[ "$got" = 0 ] || fail "$got of 10 mkfs -f refused right after umount"

step "the helper runs: umount -v says so, -l goes through umount.fuse.famfs or umount.famfs"
"$FAMFS" mount "$IMG" "$M" >/dev/null || fail "mount"
expect 0 umount -v "$M" && contains "umount\.famfs: .*$M unmounted \(its server has exited\)"
settle
"$FAMFS" mount "$IMG" "$M" >/dev/null || fail "mount"
expect 0 umount -l -v "$M" && contains "umount\.(fuse\.)?famfs: .*$M unmounted \(lazy"
settle

step "famfs_fused run by itself (no famfs mount) records helper=famfs: plain umount waits"
"$BUILD/famfs_fused" "$IMG" "$M" || fail "famfs_fused $IMG $M"
expect 0 findmnt --mtab -n -o OPTIONS "$M" && contains "helper=famfs"
expect 0 umount -v "$M" && contains "umount\.famfs: .*$M unmounted \(its server has exited\)"
expect 0 "$FAMFS" mkfs -f "$IMG" || settle
"$BUILD/famfs_fused" -o ro "$IMG" "$M" || fail "famfs_fused -o ro $IMG $M"
expect 0 umount -v "$M" && contains "umount\.famfs: .*$M unmounted \(its server has exited\)"
expect 0 "$FAMFS" mkfs -f "$IMG" || settle

# Without famfs.ko libfuse unmounts through umount(8), which drops the
# entry; through /dev/famfs the server does it (vm row famfs-rules).
step "famfs_fused killed (SIGTERM, SIGINT) unmounts and leaves no utab entry"
utab_has() { [ -f /run/mount/utab ] && grep -q "TARGET=$(realpath "$M") " /run/mount/utab; }
for sig in TERM INT; do
	"$BUILD/famfs_fused" "$IMG" "$M" || fail "famfs_fused $IMG $M"
	utab_has || fail "SIG$sig: no utab entry for $M after the mount"
	pid=$(pgrep -f -x "$BUILD/famfs_fused $IMG $M")
	[ -n "$pid" ] || fail "SIG$sig: no server process for $M"
	kill -"$sig" $pid
	for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -0 $pid 2>/dev/null && fail "SIG$sig: the server is still running after 10 s"
	mountpoint -q "$M" && fail "SIG$sig: the server left $M mounted"
	utab_has && fail "SIG$sig: a stale utab entry for $M: $(grep "TARGET=$(realpath "$M") " /run/mount/utab)"
	expect 0 "$FAMFS" mkfs -f "$IMG" || settle
done

step "a mount point with a blank (escaped in mountinfo): the helper still waits"
S="$T/with blank"
mkdir -p "$S"
"$FAMFS" mount "$IMG" "$S" >/dev/null || fail "mount on a path with a blank"
expect 0 umount -v "$S" && contains "umount\.famfs: .*with blank unmounted \(its server has exited\)"
expect 0 "$FAMFS" mkfs -f "$IMG" || settle

step "a client mount, and mount -t famfs (mount.famfs): umount leaves the device free"
got=$(FAMFS_SYSTEM_UUID_FILE=$T/hostB rounds 3 "-r" umount)
[ "$got" = 0 ] || fail "client mounts: $got of 3 mkfs -f refused"
for i in 1 2 3; do
	expect 0 mount -t famfs "$IMG" "$M"
	expect 0 umount "$M"
	expect 0 "$FAMFS" mkfs -f "$IMG" || settle
done

step "umount.famfs on a mount that is not a famfs (a stale utab entry) just unmounts it"
mkdir -p "$T/tmpfs"
mount -t tmpfs none "$T/tmpfs"
at_exit 'mountpoint -q "$T/tmpfs" && umount -i "$T/tmpfs"'
expect 0 /sbin/umount.famfs "$T/tmpfs" -n -v && contains "unmounted \(not a famfs mount\)"
mountpoint -q "$T/tmpfs" && fail "umount.famfs left a tmpfs mounted"
expect 1 /sbin/umount.famfs && contains "Usage: umount.famfs MOUNTPOINT"
expect 0 /sbin/umount.fuse.famfs --help && contains "helper=famfs"
finish
