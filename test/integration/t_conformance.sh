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

# Issue 13: a 4 KiB-unit image. A kernel that says it maps 4 KiB-aligned
# extents (GET_FMAP align_shift 12) gets every map; one that says nothing
# (2 MiB, every kernel before) gets ENODATA for exactly the maps it would
# reject, and the server's READ serves those files.
step "4 KiB units: packed small files, large ones with 4 KiB tails, whole-region ones"
IMG4=$T/famfs4k.img
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 2G "$IMG4"
mount_famfs "$IMG4" "$M" || { fail "mount failed"; finish; }
expect 0 "$FAMFS" creat --stripe 4,2M,8 -s 40M --seed 11 "$M/striped"
expect 0 "$FAMFS" creat -s 5000001 --seed 3 "$M/tail"
expect 0 "$FAMFS" creat -s 4194304 --seed 4 "$M/whole"
expect 0 "$FAMFS" creat -s 0 "$M/empty"
head -c 3333333 /dev/urandom >"$T/pending.src"
expect 0 cp "$T/pending.src" "$M/pending" # allocate on write, promoted at 2 MiB
expect 0 "$FAMFS" cp -r "$SRC" "$M/linux"
expect 0 "$FAMFS" umount "$M"
{
	printf 'striped\tseed:11:%d\tstriped\n' $((40 << 20))
	printf 'tail\tseed:3:5000001\n'
	printf 'whole\tseed:4:4194304\n'
	printf 'empty\t%s\n' "$T/empty.src"
	printf 'pending\t%s\n' "$T/pending.src"
	(cd "$SRC" && find -L . -type f | sort) | while read -r f; do
		printf 'linux/%s\t%s\n' "${f#./}" "$SRC/${f#./}"
	done
} >"$MAN"
"$HARNESS" "$IMG4" "$MAN" >"$T/harness4k.out" 2>&1
rc=$?
if [ $rc != 0 ]; then
	fail "fmap_harness on the 4 KiB-unit image exited $rc:"
	grep -v '^PASS' "$T/harness4k.out" | sed 's/^/    | /' >&2
else
	echo "    $(tail -1 "$T/harness4k.out")"
fi
expect 0 "$FAMFS" fsck "$IMG4" && contains "clean"
finish
