#!/usr/bin/env bash
# The server side of the famfs kernel protocol, proved without a famfs
# kernel: test/conformance/fmap_harness plays the kernel over a socketpair
# against famfs_fused on an image holding real files, decodes every GET_FMAP
# reply with fmap/ (the kernel module's decoder), and checks that every
# 2 MiB offset of every file resolves, through the map, to the bytes of the
# file it was copied from. Striped and unrolled encodings, the size retry,
# GET_DAXDEV, kernels without the flag, garbage requests, the writer lock.
. "$(dirname "$0")/lib.sh"
need_fuse
HARNESS=$BUILD/test/fmap_harness
IMG=$T/famfs.img
M=$T/m
SRC=/usr/include/linux
MAN=$T/manifest

[ -x "$HARNESS" ] || { fail "no $HARNESS (make)"; finish; }
need_dir "$SRC"

step "mkfs and mount a sparse 4 GiB image"
expect 0 "$FAMFS" mkfs --size 4G "$IMG"
mount_famfs "$IMG" "$M" || { fail "mount failed"; finish; }

# Striped files first, while the buckets are empty. 512 MiB in 2 MiB chunks
# unrolls to 256 extents: 32 + 256 * 24 = 6176 bytes, more than PAGE_SIZE.
step "striped and seeded files"
expect 0 "$FAMFS" creat --stripe 4,2M,8 -s 512M --seed 11 "$M/big-striped"
expect 0 "$FAMFS" creat --stripe 3,4M,8 -s 20983765 --seed 5 "$M/small-striped"
expect 0 "$FAMFS" mkdir -p "$M/a/b"
expect 0 "$FAMFS" creat -s 5000001 --seed 3 "$M/a/b/simple-seeded"
expect 0 "$FAMFS" creat -s 0 "$M/empty"
: >"$T/empty.src"

step "famfs cp -r $SRC ($(count_files "$SRC") files)"
expect 0 "$FAMFS" cp -r "$SRC" "$M/linux"

step "unmount (the harness starts its own servers)"
expect 0 "$FAMFS" umount "$M"
expect 0 "$FAMFS" fsck "$IMG"
BEFORE=$(printf '%s\n' "$OUT" | grep -E '^  (files|log slots)')

step "manifest: famfs path, source"
{
	printf 'big-striped\tseed:11:%d\tstriped\n' $((512 << 20))
	printf 'small-striped\tseed:5:20983765\tstriped\n'
	printf 'a/b/simple-seeded\tseed:3:5000001\n'
	printf 'empty\t%s\n' "$T/empty.src"
	(cd "$SRC" && find -L . -type f | sort) | while read -r f; do
		printf 'linux/%s\t%s\n' "${f#./}" "$SRC/${f#./}"
	done
} >"$MAN"

step "fmap_harness plays the kernel ($(wc -l <"$MAN") files)"
"$HARNESS" "$IMG" "$MAN" >"$T/harness.out" 2>&1
rc=$?
if [ $rc != 0 ]; then
	fail "fmap_harness exited $rc:"
	grep -v '^PASS' "$T/harness.out" | sed 's/^/    | /' >&2
else
	echo "    $(tail -1 "$T/harness.out")"
fi

step "the harness left the image as it was: fsck clean, same files and log slots"
expect 0 "$FAMFS" fsck "$IMG"
[ "$(printf '%s\n' "$OUT" | grep -E '^  (files|log slots)')" = "$BEFORE" ] ||
	fail "fsck counts changed: before '$BEFORE', after: $OUT"
finish
