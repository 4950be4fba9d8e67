# Shared helpers for integration tests (sourced). Each test runs in its own
# scratch directory $T with its own host identity; failures name the step.

set -u
: "${BUILD:?BUILD must point at the build directory}"
FAMFS="$BUILD/famfs"
FILL="$BUILD/test/tools/famfs_fill"
YAMLCHECK="$BUILD/test/tools/famfs_yaml_check"
T=$(mktemp -d /tmp/famfs-it.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE="$T/hostA"
# This test's own device cache (famfs daxdev), never the host's.
export FAMFS_DEVICE_CACHE="$T/devices"
STEP=""
FAILED=0

cleanup_scratch() { rm -rf "$T"; }

STEP_START=$(date +%s%N)
# step NAME: start a named step; slow steps (over 2 s) are reported.
step() {
	local now ms
	now=$(date +%s%N)
	ms=$(((now - STEP_START) / 1000000))
	[ -n "$STEP" ] && [ $ms -gt 2000 ] && echo "    (${ms} ms: $STEP)"
	STEP="$*"
	STEP_START=$now
}

fail() {
	echo "  FAIL: $STEP: $*" >&2
	FAILED=1
}

# expect RC CMD...: run CMD, capture output in $OUT, check its exit status.
expect() {
	local want=$1 rc
	shift
	OUT=$("$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "'$*' exited $rc, expected $want; output:"
		printf '%s\n' "$OUT" | sed 's/^/    | /' >&2
		return 1
	fi
	return 0
}

# contains PATTERN: $OUT matches the extended regex PATTERN.
contains() {
	if ! printf '%s\n' "$OUT" | grep -Eq -- "$1"; then
		fail "output lacks /$1/; output:"
		printf '%s\n' "$OUT" | sed 's/^/    | /' >&2
		return 1
	fi
	return 0
}

finish() {
	exit $FAILED
}

# is_mounted DIR: something is mounted on DIR (an absolute path without
# blanks): mountpoint(1), or a mountinfo line naming it, for a FUSE mount
# whose server is gone (mountpoint cannot stat its root).
is_mounted() {
	mountpoint -q "$1" 2>/dev/null ||
		awk -v d="${1%/}" '$5 == d { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# Mounts made by a test are unmounted on exit, even when it fails. A mount
# is recorded whenever the mount point is mounted after famfs mount, whatever
# its exit status: a mount that succeeded but whose command then failed (a
# sanitizer's exit code, a failure after the server started) is unmounted too.
MOUNTS=()
mount_famfs() { # mount_famfs [famfs mount options] DEVICE MOUNTPOINT
	local mp=${*: -1} rc=0
	mkdir -p "$mp"
	"$FAMFS" mount "$@" || rc=$?
	is_mounted "$mp" && MOUNTS+=("$mp")
	[ "$rc" = 0 ]
}
unmount_all() {
	local mp
	for mp in "${MOUNTS[@]}"; do
		is_mounted "$mp" && { umount "$mp" 2>/dev/null || umount -l "$mp"; }
	done
	MOUNTS=()
}
# at_exit CMD...: also run CMD when the test exits (after unmounting).
EXIT_HOOKS=()
at_exit() { EXIT_HOOKS+=("$*"); }
run_exit_hooks() {
	local h
	for h in "${EXIT_HOOKS[@]}"; do eval "$h"; done
}
trap 'unmount_all; run_exit_hooks; cleanup_scratch' EXIT

# skip REASON: this test cannot run here. Exit 77 is "skipped", never "passed":
# run.sh reports it as SKIP, and with CI set a skip fails `make check`.
skip() {
	echo "  SKIP: $*" >&2
	exit 77
}

need_fuse() {
	[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
}

# need_dir DIR...: the input trees a test copies must exist.
need_dir() {
	local d
	for d in "$@"; do
		[ -d "$d" ] || skip "no $d to copy"
	done
}

# Number of regular files under DIR, following symbolic links as famfs cp does.
count_files() { find -L "$1" -type f 2>/dev/null | wc -l; }
