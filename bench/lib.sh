# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# What the FUSE benchmarks (fuse.sh, cp.sh, pending.sh, units.sh) share.
# The functions use BUILD (the build directory) and T (the run's scratch
# directory, with tmpfs mounted at $T/tmpfs).

# ratio A B: A / B to two decimals (0 when B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# passthrough_ll MOUNTPOINT: libfuse's own example (not our code) over
# $T/tmpfs/pt_src, mounted at MOUNTPOINT: the ordinary FUSE file system the
# benchmarks measure famfs against. Built into $BUILD/bench from the copy
# Debian ships (libfuse3-dev) the first time.
passthrough_ll() {
	local pt=$BUILD/bench/passthrough_ll ex=/usr/share/doc/libfuse3-dev/examples f
	if [ ! -x "$pt" ]; then
		mkdir -p "$BUILD/bench" "$T/ex"
		for f in passthrough_ll.c passthrough_helpers.h; do
			if [ -f "$ex/$f" ]; then cp "$ex/$f" "$T/ex/"; else zcat "$ex/$f.gz" >"$T/ex/$f"; fi
		done
		# shellcheck disable=SC2046 # pkg-config's words are separate options
		gcc -O2 -w -o "$pt" "$T/ex/passthrough_ll.c" $(pkg-config --cflags --libs fuse3)
	fi
	mkdir -p "$T/tmpfs/pt_src"
	"$pt" -o source="$T/tmpfs/pt_src" "$1"
}
