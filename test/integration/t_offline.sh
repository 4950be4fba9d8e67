#!/usr/bin/env bash
# The offline CLI on a sparse 4 GiB image: mkfs, fsck, logplay, and how they
# fail on corrupt or foreign input.
. "$(dirname "$0")/lib.sh"
IMG=$T/famfs.img
ENTRY0=$((0x200000 + 48)) # byte offset of log slot 0
CRAFT=$(dirname "$0")/../tools/famfs_craft.py

step "mkfs creates a sparse image"
expect 0 "$FAMFS" mkfs --size 4G "$IMG" && contains "4.00 GiB, log 8.00 MiB \(15420 entries\)"
[ "$(stat -c %s "$IMG")" = 4294967296 ] || fail "image size $(stat -c %s "$IMG")"
[ "$(du -k "$IMG" | cut -f1)" -lt 65536 ] || fail "image is not sparse"

step "fsck of a new file system is clean"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean" && contains "0 used, 15420 free of 15420"

step "mkfs refuses an existing famfs without -f"
expect 1 "$FAMFS" mkfs "$IMG" && contains "already holds a famfs file system; use -f"

step "mkfs refuses a famfs mastered by another host without -f"
expect 1 env FAMFS_SYSTEM_UUID_FILE="$T/hostB" "$FAMFS" mkfs "$IMG" &&
	contains "master is another host"

step "mkfs -f overwrites"
expect 0 "$FAMFS" mkfs -f "$IMG"

step "mkfs.famfs is famfs mkfs"
ln -s "$FAMFS" "$T/mkfs.famfs"
expect 1 "$T/mkfs.famfs" "$IMG" && contains "already holds"

step "devices under 4 GiB are refused unless --allow-small"
expect 1 "$FAMFS" mkfs --size 1G "$T/small.img" && contains "at least 4 GiB"
expect 0 "$FAMFS" mkfs -f --allow-small --size 1G "$T/small.img"
expect 1 "$FAMFS" mkfs -f --allow-small --size 10M "$T/tiny-dev.img" &&
	contains "is 10.00 MiB: no room for a 8.00 MiB log and any data"

step "log length must be a power of two >= 8M"
expect 2 "$FAMFS" mkfs -f -l 12M "$IMG"
expect 2 "$FAMFS" mkfs -f -l 4M "$IMG"
expect 0 "$FAMFS" mkfs -f -l 16M "$IMG" && contains "30840 entries"
expect 0 "$FAMFS" fsck "$IMG" && contains "0 used, 30840 free of 30840"
expect 0 "$FAMFS" mkfs -f "$IMG"

step "hundreds of entries: fsck clean, logplay lists them all"
expect 0 "$FILL" "$IMG" 20 400 100000 && contains "^420$"
expect 0 "$FAMFS" fsck "$IMG" && contains "clean" && contains "files +400" &&
	contains "420 used, 15000 free"
expect 0 "$FAMFS" logplay --dry-run "$IMG" &&
	contains "420 entries: 20 directories and 400 files created, 0 skipped"
[ "$(printf '%s\n' "$OUT" | grep -Ec '^ +[0-9]+  (mkdir|file) ')" = 420 ] ||
	fail "logplay did not list 420 entries"
expect 0 "$FAMFS" fsck -v "$IMG" && contains "419  file  d0019/f000399 100000 bytes"

step "logplay --yaml prints one shadow document per file"
expect 0 "$FAMFS" logplay --dry-run --yaml "$IMG"
[ "$(printf '%s\n' "$OUT" | grep -c '^file:')" = 400 ] || fail "expected 400 YAML documents"
contains "simple_ext_list"

step "a name that is not UTF-8: logplay --yaml leaves that file out, says so, and the rest reads back"
cp --sparse=always "$IMG" "$T/utf.img"
"$CRAFT" "$T/utf.img" entry file --path $'\xff\xfe' --size 1 --extent 0xc0000000,0x200000 >/dev/null
"$CRAFT" "$T/utf.img" entry file --path $'r\xc3\xa9pertoire-\xe2\x9c\x93' --size 1 \
	--extent 0xc0200000,0x200000 >/dev/null
timeout 20 "$FAMFS" logplay --dry-run --yaml "$T/utf.img" >"$T/utf.yaml" 2>"$T/utf.err"
rc=$?
[ $rc = 1 ] || fail "logplay --yaml exited $rc, expected 1"
grep -q 'entry 420: path "\\xff\\xfe" is not valid UTF-8: YAML cannot carry it' "$T/utf.err" ||
	fail "no message naming the entry: $(cat "$T/utf.err")"
grep -q "1 file left out of the YAML" "$T/utf.err" || fail "no summary: $(cat "$T/utf.err")"
expect 0 "$YAMLCHECK" -v <"$T/utf.yaml" && contains "^401 documents$" &&
	contains $'^r\xc3\xa9pertoire-\xe2\x9c\x93$'
expect 1 "$FAMFS" logplay --shadow "$T/utf.shadow" "$T/utf.img" &&
	contains "1 file left out of the shadow tree"
[ ! -e "$T/utf.shadow/root/"$'\xff\xfe' ] || fail "a shadow file was written for the refused name"
expect 0 "$YAMLCHECK" <"$T/utf.shadow/root/"$'r\xc3\xa9pertoire-\xe2\x9c\x93' &&
	contains "^1 documents$"

# Names are bytes: the log can hold ESC, newlines, C1 controls and bidi
# marks. Printed raw they would recolour or clear root's terminal, or fake
# a line of a listing; every name printed goes through one escape.
step "names with terminal controls: logplay -n, fsck -v, problems and shadow -v print them escaped"
cp --sparse=always "$IMG" "$T/esc.img"
"$CRAFT" "$T/esc.img" entry mkdir --path $'red\x1b[31mdir' >/dev/null
"$CRAFT" "$T/esc.img" entry file --path $'x\n   777  mkdir fake' --size 1 \
	--extent 0xc0000000,0x200000 >/dev/null
"$CRAFT" "$T/esc.img" entry file --path $'csi\xc2\x9b2J\xe2\x80\xaetxt.exe' --size 1 \
	--extent 0xc0200000,0x200000 >/dev/null
# A file of the directory's name: ENT_EXISTS names it in its detail.
"$CRAFT" "$T/esc.img" entry file --path $'red\x1b[31mdir' --size 1 \
	--extent 0xc0400000,0x200000 >/dev/null
for cmd in "logplay -n" "fsck -v" "logplay -v --shadow $T/esc.shadow --daxdev"; do
	# shellcheck disable=SC2086
	OUT=$("$FAMFS" $cmd "$T/esc.img" 2>&1)
	for raw in $'\x1b' $'\xc2\x9b' $'\xe2\x80\xae'; do
		printf '%s' "$OUT" | grep -q "$raw" &&
			fail "$cmd printed a raw $(printf '%s' "$raw" | od -An -tx1 | tr -d ' ')"
	done
	printf '%s\n' "$OUT" | grep -q '^ *777  mkdir fake' && fail "$cmd printed a fake entry line"
	contains 'red\\x1b\[31mdir' && contains 'x\\x0a   777  mkdir fake' &&
		contains 'csi\\xc2\\x9b2J\\xe2\\x80\\xaetxt\.exe'
done
expect 1 "$FAMFS" fsck "$T/esc.img" && contains 'ENT_EXISTS.*"red\\x1b\[31mdir" created by entry 420'
[ -d "$T/esc.shadow/root/"$'red\x1b[31mdir' ] || fail "the shadow tree lacks the directory"

step "logplay needs --dry-run on a device"
expect 2 "$FAMFS" logplay "$IMG"

step "one flipped byte in entry 137: fsck names it and exits 1"
cp --sparse=always "$IMG" "$T/flip.img"
off=$((ENTRY0 + 137 * 544 + 40))
printf '\x7f' | dd of="$T/flip.img" bs=1 seek=$off conv=notrunc status=none
expect 1 "$FAMFS" fsck "$T/flip.img" && contains "entry 137: ENT_CRC" && contains "1 problem found"
expect 1 "$FAMFS" logplay --dry-run "$T/flip.img" && contains "stopped at a bad entry: entry 137"

step "an extent moved into the log: fsck reports ENT_META and keeps checking"
cp --sparse=always "$IMG" "$T/meta.img"
python3 - "$T/meta.img" "$ENTRY0" <<'PY'
import struct, sys, zlib
path, base = sys.argv[1], int(sys.argv[2])
slot = base + 30 * 544              # entry 30 is a file (20 mkdirs first)
with open(path, "r+b") as f:
    f.seek(slot); e = bytearray(f.read(544))
    struct.pack_into("<Q", e, 16 + 120 + 8, 0x400000)   # first extent offset: inside the log
    struct.pack_into("<Q", e, 536, zlib.crc32(bytes(e[:536])))
    f.seek(slot); f.write(e)
PY
expect 1 "$FAMFS" fsck "$T/meta.img" && contains "entry 30: ENT_META"

step "two files sharing space: fsck reports ENT_OVERLAP naming both, and replay stops there"
cp --sparse=always "$IMG" "$T/dup.img"
"$CRAFT" "$T/dup.img" copy-extents 20 21 # entry 21 gets entry 20's extent
expect 1 "$FAMFS" fsck "$T/dup.img" && contains "entry 21: ENT_OVERLAP.*shared with entry 20" &&
	contains "replay stops +at entry 21"
expect 1 "$FAMFS" logplay --dry-run "$T/dup.img" &&
	contains "stopped at a bad entry: entry 21: ENT_OVERLAP"

step "DELETE and INVALID carry no namespace change: fsck clean, replay goes on"
cp --sparse=always "$IMG" "$T/ign.img"
"$CRAFT" "$T/ign.img" entry delete >/dev/null
"$CRAFT" "$T/ign.img" entry invalid >/dev/null
"$CRAFT" "$T/ign.img" entry mkdir --path after-ignored >/dev/null
expect 0 "$FAMFS" fsck "$T/ign.img" && contains "clean" && contains "ignored +2 entries"
expect 0 "$FAMFS" logplay --dry-run "$T/ign.img" && contains "mkdir after-ignored" &&
	contains "423 entries: 21 directories and 400 files created, 0 skipped, 2 ignored"

step "version 47: type 3 is INVALID, ignored"
cp --sparse=always "$IMG" "$T/v47.img"
"$CRAFT" "$T/v47.img" version 47
"$CRAFT" "$T/v47.img" entry 3 >/dev/null
expect 0 "$FAMFS" fsck "$T/v47.img" && contains "clean" && contains "ignored +1 entries"
expect 0 "$FAMFS" logplay --dry-run "$T/v47.img"

step "ADD_DAXDEV out of order and unknown types: fsck and replay both stop there"
cp --sparse=always "$IMG" "$T/dax.img"
"$CRAFT" "$T/dax.img" entry daxdev --index 2 --size 0x100000000 >/dev/null
expect 1 "$FAMFS" fsck "$T/dax.img" && contains "entry 420: ENT_DAXDEV" &&
	contains "replay stops +at entry 420"
expect 1 "$FAMFS" logplay --dry-run "$T/dax.img" &&
	contains "stopped at a bad entry: entry 420: ENT_DAXDEV"
cp --sparse=always "$IMG" "$T/type7.img"
"$CRAFT" "$T/type7.img" entry 7 >/dev/null
expect 1 "$FAMFS" fsck "$T/type7.img" && contains "entry 420: ENT_TYPE"
expect 1 "$FAMFS" logplay --dry-run "$T/type7.img" && contains "entry 420: ENT_TYPE"

step "daxdev.size (outside the crc) claiming 1 PiB: fsck is bounded by the real device"
cp --sparse=always "$IMG" "$T/huge.img"
"$CRAFT" "$T/huge.img" daxdev-size $((1 << 50))
expect 1 timeout 10 "$FAMFS" fsck "$T/huge.img" && contains "SB_DEVSIZE.*exceeds device size" &&
	contains "capacity +4.00 GiB" && contains "files +400"
expect 1 "$FAMFS" logplay --dry-run "$T/huge.img" && contains "SB_DEVSIZE"

step "4 KiB allocation units: 2 MiB-unit extents are valid 4 KiB-unit extents"
cp --sparse=always "$IMG" "$T/4k.img"
"$CRAFT" "$T/4k.img" alloc-unit 4096
expect 0 "$FAMFS" fsck "$T/4k.img" && contains "clean" && contains "4 KiB allocation units"
expect 0 "$FAMFS" logplay --dry-run "$T/4k.img"
"$CRAFT" "$T/4k.img" alloc-unit 65536
expect 1 "$FAMFS" fsck "$T/4k.img" && contains "SB_ALLOC_UNIT"

step "zeroed superblock: clear error"
cp --sparse=always "$IMG" "$T/zero.img"
dd if=/dev/zero of="$T/zero.img" bs=4096 count=1 conv=notrunc status=none
expect 1 "$FAMFS" fsck "$T/zero.img" && contains "SB_MAGIC"
expect 1 "$FAMFS" logplay --dry-run "$T/zero.img" && contains "SB_MAGIC"

step "corrupt superblock crc: clear error"
cp --sparse=always "$IMG" "$T/crc.img"
printf '\x01' | dd of="$T/crc.img" bs=1 seek=50 conv=notrunc status=none
expect 1 "$FAMFS" fsck "$T/crc.img" && contains "SB_CRC"

step "truncated image: clear error"
head -c 100 "$IMG" >"$T/tiny.img"
expect 1 "$FAMFS" fsck "$T/tiny.img" && contains "too small"
cp --sparse=always "$IMG" "$T/cut.img"
truncate -s 1M "$T/cut.img"
expect 1 "$FAMFS" fsck "$T/cut.img" && contains "SB_DEVSIZE.*exceeds device size 1048576"
cp --sparse=always "$IMG" "$T/short.img"
truncate -s 6M "$T/short.img"   # superblock intact, log cut short
expect 1 "$FAMFS" fsck "$T/short.img" && contains "SB_DEVSIZE"

step "errors name the device"
expect 2 "$FAMFS" fsck "$T/missing.img" && contains "missing.img: No such file"
expect 1 "$FAMFS" mkfs "$T/missing.img" && contains "give --size"

step "every subcommand has --help"
for c in mkfs fsck logplay; do
	expect 0 "$FAMFS" "$c" --help && contains "^Usage: famfs $c"
done
expect 0 "$FAMFS" --help && contains "Commands:"
expect 2 "$FAMFS" nosuchcommand

finish
