#!/usr/bin/env bash
# The test library's own promise: every mount a test made through
# mount_famfs is unmounted when the test exits, also when `famfs mount`
# mounted and then failed (a sanitizer's exit code after the server
# started), so no test leaves a mount behind. A test script (bash, lib.sh)
# is run with a `famfs` that mounts and then exits 3; once it has exited,
# nothing may be mounted on its mount point (one in this test's directory).
. "$(dirname "$0")/lib.sh"
need_fuse
M=$T/m
mkdir -p "$M"
# Whatever the child leaves is this test's to clean up.
at_exit 'is_mounted "$M" && umount -l "$M"'

# child BODY: run BODY in a test script of its own (lib.sh sourced), with
# FAMFS a wrapper that runs the real famfs and then exits $EXIT_AFTER if
# set, else with famfs's status.
cat >"$T/famfs-then-fail" <<'WRAP'
#!/bin/sh
"$REAL_FAMFS" "$@"
rc=$?
exit "${EXIT_AFTER:-$rc}"
WRAP
chmod +x "$T/famfs-then-fail"
child() {
	REAL_FAMFS=$FAMFS MP=$M BUILD=$BUILD bash -c '
		. "$1/lib.sh"
		"$FAMFS" mkfs --size 4G "$T/img" >/dev/null || exit 90
		FAMFS=$2
		'"$1"'
		finish' child "$(dirname "$0")" "$T/famfs-then-fail"
}

step "famfs mount mounts, then exits 3: mount_famfs fails, the mount is undone at exit"
expect 0 child 'EXIT_AFTER=3 mount_famfs "$T/img" "$MP" && exit 91
	is_mounted "$MP" || exit 92'
is_mounted "$M" && fail "the test exited with $M still mounted"

step "a mount that succeeds is undone at exit"
expect 0 child 'mount_famfs "$T/img" "$MP" || exit 93
	is_mounted "$MP" || exit 94'
is_mounted "$M" && fail "the test exited with $M still mounted"

step "a mount that fails mounts nothing and records nothing"
expect 0 child 'mount_famfs "$T/none.img" "$MP" && exit 95
	[ ${#MOUNTS[@]} = 0 ] || exit 96'
is_mounted "$M" && fail "$M is mounted"
finish
