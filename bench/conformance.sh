#!/usr/bin/env bash
# GET_FMAP round trips per second through famfs_fused, with
# test/conformance/fmap_harness playing the kernel over a socketpair,
# against GETATTR round trips on the same channel in the same run (not a
# test). Usage: bench/conformance.sh [BUILD] [N]   (root, /dev/fuse: the
# image is built through a mount)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-20000}
FAMFS=$BUILD/famfs
T=$(mktemp -d /tmp/famfs-bench-rt.XXXXXX)
export FAMFS_SYSTEM_UUID_FILE=$T/hostA
cleanup() {
	mountpoint -q "$T/m" 2>/dev/null && { umount "$T/m" 2>/dev/null || umount -l "$T/m"; }
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/m"
"$FAMFS" mkfs --size 4G "$T/img" >/dev/null
"$FAMFS" mount "$T/img" "$T/m"
# Sizes only: the bench does not look at the data.
"$FAMFS" creat --stripe 4,2M,8 -s 512M "$T/m/big-striped"  # unrolled: 256 extents, 6176 bytes
"$FAMFS" creat --stripe 4,2M,8 -s 40M "$T/m/small-striped" # striped: 152 bytes
"$FAMFS" creat -s 4M "$T/m/simple"                         # one extent: 56 bytes
"$FAMFS" umount "$T/m"
printf 'big-striped\tseed:1:%d\tstriped\nsmall-striped\tseed:1:%d\tstriped\nsimple\tseed:1:%d\n' \
	$((512 << 20)) $((40 << 20)) $((4 << 20)) >"$T/manifest"
"$BUILD/test/fmap_harness" --bench "$N" "$T/img" "$T/manifest"
