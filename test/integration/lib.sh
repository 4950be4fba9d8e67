# Shared helpers for integration tests (sourced). Each test runs in its own
# scratch directory $T with its own host identity; failures name the step.

set -u
: "${BUILD:?BUILD must point at the build directory}"
FAMFS="$BUILD/famfs"
FILL="$BUILD/test/tools/famfs_fill"
T=$(mktemp -d /tmp/famfs-it.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE="$T/hostA"
STEP=""
FAILED=0

cleanup_scratch() { rm -rf "$T"; }

step() { STEP="$*"; }

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
	cleanup_scratch
	exit $FAILED
}
