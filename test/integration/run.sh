#!/usr/bin/env bash
# Runs every test/integration/t_*.sh against the binaries in BUILD (default
# build/). Usage: test/integration/run.sh [BUILD] [TEST...]
#
# A test passes (exit 0), fails (any other status) or is skipped: it could
# not run here (not root, no /dev/fuse, missing input), printed SKIP and
# exited 77. Skips are reported as such, never as passes; with CI set in the
# environment a skip fails the run, because CI must run everything.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export BUILD=$(cd "${1:-build}" && pwd)
shift || true
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$here"/t_*.sh)
failed=() skipped=()
for t in "${tests[@]}"; do
	[ -f "$t" ] || t=$here/$t
	name=$(basename "$t" .sh)
	start=$(date +%s.%N)
	bash "$t"
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
	case $rc in
	0) printf "== %-28s PASS (%ss)\n" "$name" "$secs" ;;
	77)
		printf "== %-28s SKIP (%ss)\n" "$name" "$secs"
		skipped+=("$name")
		;;
	*)
		printf "== %-28s FAIL (exit %d, %ss)\n" "$name" "$rc" "$secs"
		failed+=("$name")
		;;
	esac
done
ran=$((${#tests[@]} - ${#skipped[@]}))
if [ ${#failed[@]} -gt 0 ]; then
	echo "integration: ${#failed[@]} of $ran failed: ${failed[*]}" \
		"${skipped[*]:+(skipped: ${skipped[*]})}"
	exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
	echo "integration: $ran passed, ${#skipped[@]} SKIPPED: ${skipped[*]}"
	if [ -n "${CI:-}" ]; then
		echo "integration: CI is set: a skipped test is a failure here"
		exit 1
	fi
	exit 0
fi
echo "integration: all $ran passed"
