#!/usr/bin/env bash
# 4 KiB allocation units (issue 13) through real mounts: the user's commands
# (mkfs --alloc-unit 4K --size 2G, famfs cp -r /usr/share/doc, fsck), every
# file byte-identical but the paths over the format's 79 bytes, used space
# within 1.2 x the data rounded to 4 KiB plus metadata, the placement rule
# checked by an independent reader (each file's map from getxattr, its bytes
# read straight from the image at those offsets), plain cp/dd/redirection
# (pending files crossing 2 MiB are promoted to whole regions), striped
# files, and a second host that sees it all.
. "$(dirname "$0")/lib.sh"
need_fuse
SRC=/usr/share/doc
need_dir "$SRC"
IMG=$T/small.img
M=$T/m
C=$T/c

step "famfs mkfs --alloc-unit 4K --size 2G (no --allow-small: 4K units take 1 GiB and up)"
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 2G "$IMG" &&
	contains "2.00 GiB, log 16.00 MiB \(30840 entries\), 4 KiB allocation units"
expect 1 "$FAMFS" mkfs --alloc-unit 4K --size 512M "$T/tiny.img" && contains "at least 1 GiB"
step "mkfs notes a log that small files would fill before the device"
expect 0 "$FAMFS" mkfs --alloc-unit 4K -l 8M --size 4G "$T/note.img" &&
	contains "note: the log holds 15420 entries, one per 272.0. KiB of device"
expect 0 "$FAMFS" mkfs --alloc-unit 4K --size 4G "$T/dflt.img"
! printf '%s\n' "$OUT" | grep -q "note:" || fail "a default log is noted: $OUT"
expect 2 "$FAMFS" mkfs --alloc-unit 64K --size 2G "$T/odd.img" && contains "4K or 2M"
mount_famfs "$IMG" "$M" || fail "mount failed"

step "famfs cp -r $SRC"
"$FAMFS" cp -r "$SRC" "$M/doc" 2>"$T/cp.err"
rc=$?
# Only paths over 79 bytes may be refused (and dangling links skipped).
if grep -vE "File name too long|dangling symbolic link|loops back" "$T/cp.err" | grep -q .; then
	fail "unexpected famfs cp errors (exit $rc):"
	sed 's/^/    | /' "$T/cp.err" | head -20 >&2
fi

step "every file byte-identical, placed by the rule, read back from the image itself"
expect 0 python3 - "$SRC" "$M" "$IMG" <<'PY'
import os, sys
src, mnt, img = sys.argv[1:]
K4, R = 4096, 2 << 20
fd = os.open(img, os.O_RDONLY)
n = refused = large = 0
data4k = 0
for root, dirs, files in os.walk(src, followlinks=True):
    for name in files:
        s = os.path.join(root, name)
        rel = "doc/" + os.path.relpath(s, src)
        if not os.path.exists(s):
            continue                                  # dangling link: famfs cp skips it
        d = os.path.join(mnt, rel)
        if len(rel.encode()) > 79:
            assert not os.path.exists(d), "%s: a path over 79 bytes exists" % rel
            refused += 1
            continue
        want = open(s, "rb").read()
        got = open(d, "rb").read()
        assert got == want, "%s differs" % rel
        # The map the server hands the kernel, and the bytes at its offsets in the image.
        ext = []
        for line in os.getxattr(d, "user.famfs.map").decode().splitlines():
            f = line.split()
            if f[0] == "extent":
                ext.append((int(f[5], 16), int(f[7], 16)))
        assert ext, "%s: no extents" % rel
        size = len(want)
        total = sum(l for _, l in ext)
        assert total == max(K4, (size + K4 - 1) // K4 * K4), \
            "%s: %d bytes of extents for %d bytes" % (rel, total, size)
        for i, (o, l) in enumerate(ext):
            assert o % K4 == 0 and l % K4 == 0, "%s: extent not 4 KiB-aligned" % rel
            if size >= R:
                assert o % R == 0, "%s: extent %d at %#x, not 2 MiB-aligned" % (rel, i, o)
                assert i == len(ext) - 1 or l % R == 0, "%s: extent %d not whole 2 MiB" % (rel, i)
        if size >= R:
            large += 1
        direct = b"".join(os.pread(fd, l, o) for o, l in ext)[:size]
        assert direct == want, "%s: the image's bytes at its extents differ" % rel
        data4k += total
        n += 1
print(n, refused, large, data4k)
PY
read -r NCOPIED NREFUSED NLARGE DATA4K <<<"$OUT"
echo "    $NCOPIED files identical ($NLARGE of 2 MiB or more), $NREFUSED paths over 79 bytes refused"
[ "${NCOPIED:-0}" -gt 1000 ] || fail "only ${NCOPIED:-0} files copied"
[ "$(grep -c "File name too long" "$T/cp.err")" = "${NREFUSED:-x}" ] ||
	fail "famfs cp refused $(grep -c "File name too long" "$T/cp.err") paths, $NREFUSED are over 79 bytes"

step "fsck clean; used <= 1.2 x (data rounded to 4 KiB) + metadata"
expect 0 "$FAMFS" fsck "$M" && contains "clean" && contains "4 KiB allocation units" &&
	contains "placement +$NLARGE of $NLARGE files of 2 MiB or more 2 MiB-aligned"
cap=$(awk '/Device capacity:/ { print $3 }' <<<"$OUT")
free=$(awk '/Free space:/ { print $3 }' <<<"$OUT")
loglen=$(awk '/log_len:/ { print $2 }' <<<"$OUT")
meta=$((2097152 + loglen))
used=$((cap - free))
echo "    used $used bytes: metadata $meta, files $((used - meta)); data rounded to 4 KiB $DATA4K"
awk -v u="$used" -v m="$meta" -v d="$DATA4K" 'BEGIN { exit !(u <= 1.2 * d + m) }' ||
	fail "used $used > 1.2 x $DATA4K + $meta"

step "statfs reports both limits: 4 KiB blocks and log entries as inodes"
expect 0 python3 - "$M" "$cap" "$free" <<'PY'
import os, sys
sv = os.statvfs(sys.argv[1])
cap, free = int(sys.argv[2]), int(sys.argv[3])
assert sv.f_frsize == 4096 and sv.f_bsize == 4096, (sv.f_frsize, sv.f_bsize)
assert sv.f_blocks * 4096 == cap, (sv.f_blocks, cap)
assert sv.f_bfree * 4096 == free, (sv.f_bfree, free)
assert sv.f_files == 30840, sv.f_files            # the 16 MiB default log
assert 0 < sv.f_ffree < 30840 - 7000, sv.f_ffree  # one entry per file and directory
print(sv.f_blocks, sv.f_bfree, sv.f_files, sv.f_ffree)
PY

step "plain cp, dd and a redirection: pending files, promoted when they reach 2 MiB"
head -c $((7 * 1048576 + 3)) /dev/urandom >"$T/big.src"
head -c 2097152 /dev/urandom >"$T/two.src"
head -c 2097151 /dev/urandom >"$T/under.src"
expect 0 cp "$T/big.src" "$M/big"
expect 0 dd if="$T/two.src" of="$M/two" bs=64k status=none
expect 0 dd if="$T/under.src" of="$M/under" bs=1M status=none
echo "a line" >"$M/line"
expect 0 "$FAMFS" creat -s 5M --seed 3 "$M/sized"
expect 0 "$FAMFS" creat -s 20M --stripe 4,2M,4 "$M/striped"
expect 0 cmp "$T/big.src" "$M/big"
expect 0 cmp "$T/two.src" "$M/two"
expect 0 cmp "$T/under.src" "$M/under"
expect 0 "$FAMFS" verify -S 3 -f "$M/sized"
expect 0 python3 - "$M" <<'PY'
import os, sys
R, K4 = 2 << 20, 4096
def extents(p):
    e = []
    for line in os.getxattr(p, "user.famfs.map").decode().splitlines():
        f = line.split()
        if f[0] in ("extent", "strip"):
            e.append((int(f[5], 16), int(f[7], 16)))
    return e
for name in ("big", "two", "sized"):
    e = extents(os.path.join(sys.argv[1], name))
    size = os.stat(os.path.join(sys.argv[1], name)).st_size
    assert all(o % R == 0 for o, _ in e), "%s not 2 MiB-aligned: %s" % (name, e)
    assert all(l % R == 0 for _, l in e[:-1]), "%s: %s" % (name, e)
    assert sum(l for _, l in e) == (size + K4 - 1) // K4 * K4, "%s: %s" % (name, e)
for name in ("under", "line"):
    e = extents(os.path.join(sys.argv[1], name))
    size = os.stat(os.path.join(sys.argv[1], name)).st_size
    assert sum(l for _, l in e) == (size + K4 - 1) // K4 * K4, "%s: %s" % (name, e)
s = extents(os.path.join(sys.argv[1], "striped"))
assert len(s) == 4 and all(o % R == 0 and l == 6 * R // 2 for o, l in s), s
PY
expect 0 "$FAMFS" fsck "$M" && contains "clean"

step "a second host sees every file"
FAMFS_SYSTEM_UUID_FILE=$T/hostB mount_famfs "$IMG" "$C" || fail "client mount failed"
expect 0 diff -r "$M" "$C"
expect 0 "$FAMFS" umount "$C"
expect 0 "$FAMFS" umount "$M"

step "fsck of the image, getmap, and the shadow YAML of 4 KiB extents"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean"
"$FAMFS" logplay --dry-run --yaml "$IMG" >"$T/all.yaml" || fail "logplay --yaml"
expect 0 "$YAMLCHECK" <"$T/all.yaml" && contains "^$((NCOPIED + 6)) documents$"
grep -q "path: line" "$T/all.yaml" || fail "no YAML document for 'line'"
grep -A12 "path: line$" "$T/all.yaml" | grep -qE "length: 0x1000$" ||
	fail "the 7-byte file's extent is not one 4 KiB page in the YAML"

step "a remount serves the same bytes"
mount_famfs "$IMG" "$M" || fail "remount failed"
expect 0 cmp "$T/big.src" "$M/big"
expect 0 "$FAMFS" getmap "$M/line" && contains "extent 0 dev 0 offset 0x[0-9a-f]*000 len 0x1000"
expect 0 diff -r "$SRC/dpkg" "$M/doc/dpkg"

finish
