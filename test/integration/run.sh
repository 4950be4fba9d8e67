#!/usr/bin/env bash
# Runs every test/integration/t_*.sh against the binaries in BUILD (default
# build/). Usage: test/integration/run.sh [BUILD] [TEST...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
export BUILD=$(cd "${1:-build}" && pwd)
shift || true
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$here"/t_*.sh)
failed=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s.%N)
	if bash "$t"; then
		printf "== %-28s PASS (%ss)\n" "$name" "$(awk -v s="$start" -v e="$(date +%s.%N)" "BEGIN{printf \"%.1f\", e - s}")"
	else
		printf '== %-28s FAIL\n' "$name"
		failed+=("$name")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "integration: ${#failed[@]} failed: ${failed[*]}"
	exit 1
fi
echo "integration: all ${#tests[@]} passed"
