#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS, both at once (one core each), from
# a working copy of its saved corpus, and prints execs, execs/s, coverage,
# new inputs and findings. Usage: fuzz/run.sh BUILD SECONDS
# New inputs stay in BUILD/fuzz/work/TARGET; `make fuzz-merge` folds the
# ones that add coverage into fuzz/corpus/TARGET. Crashes land in
# BUILD/fuzz/artifacts/ and make this script exit 1.
set -u
BUILD=${1:-build}
SECS=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
declare -A maxlen=([fmap]=8192 [logentry]=548)
mkdir -p "$BUILD/fuzz/artifacts"
pids=()
for t in fmap logentry; do
	work=$BUILD/fuzz/work/$t
	mkdir -p "$work"
	cp -n "$here/corpus/$t/"* "$work/" 2>/dev/null || true
	(
		s=$(date +%s)
		"$BUILD/fuzz/fuzz_$t" -max_total_time="$SECS" -max_len="${maxlen[$t]}" \
			-print_final_stats=1 -artifact_prefix="$BUILD/fuzz/artifacts/$t-" "$work" \
			>"$BUILD/fuzz/$t.log" 2>&1
		rc=$?
		echo "$(($(date +%s) - s))" >"$BUILD/fuzz/$t.secs"
		exit $rc
	) &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
for t in fmap logentry; do
	log=$BUILD/fuzz/$t.log
	stat() { awk -v k="stat::$1:" '$1 == k { print $2 }' "$log"; }
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
	printf '%-9s %12s execs in %ss, %8s exec/s, %s, corpus %s files, peak RSS %s MB\n' \
		"$t" "$(stat number_of_executed_units)" "$(cat "$BUILD/fuzz/$t.secs")" \
		"$(stat average_exec_per_sec)" \
		"${cov:-cov: ?}" "$(ls "$BUILD/fuzz/work/$t" | wc -l)" "$(stat peak_rss_mb)"
	if grep -q 'ERROR: \|CHECK failed\|SUMMARY: ' "$log"; then
		echo "  FINDING in $t:"
		grep -E 'ERROR: |CHECK failed|SUMMARY: |Test unit written' "$log" | head -5 | sed 's/^/    /'
		rc=1
	fi
done
[ $rc = 0 ] && echo "fuzz: no findings" || echo "fuzz: findings (see $BUILD/fuzz/*.log, $BUILD/fuzz/artifacts/)"
exit $rc
