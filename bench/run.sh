#!/usr/bin/env bash
# Runs every benchmark (not tests; numbers for the record). Usage: bench/run.sh [BUILD]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
echo "### log (library, image on /tmp)"
"$BUILD/bench/bench_log"
for b in "$BUILD"/bench/bench_*; do
	[ "$(basename "$b")" = bench_log ] || { echo "### $(basename "$b")"; "$b"; }
done
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then
	echo "### FUSE mount"
	bash "$here/fuse.sh" "$BUILD"
	echo "### famfs cp of small files (parallel)"
	bash "$here/cp.sh" "$BUILD"
	echo "### allocate on write, commit at close; the follow loop"
	bash "$here/pending.sh" "$BUILD"
	echo "### GET_FMAP round trips (fmap_harness plays the kernel)"
	bash "$here/conformance.sh" "$BUILD"
	echo "### 4 KiB vs 2 MiB allocation units: space, create rate, bandwidth"
	bash "$here/units.sh" "$BUILD"
	echo "### several devices: a striped file vs one device; mount and catch-up with 1, 2, 8 devices"
	bash "$here/multidev.sh" "$BUILD"
	echo "### many small files: memory, mount, fsck, lookup and readdir at scale (bench/scale.sh alone: 1M)"
	bash "$here/scale.sh" "$BUILD" 100000
fi
