#!/usr/bin/env bash
# The existing famfs CLI's verbs and options, driven the way its users'
# scripts (and its own smoke tests) drive them: mkfs.famfs -f -k / --loglen,
# famfs mount -v/-r/-R/-t, creat -r -S / -M / -m -u -g / -N -B -C, verify,
# cp (several sources, wildcards, -r, -t, -m -u -g, -c, overwrite), mkdir
# -p -m -u -g, flush, chkread, mkmeta, logplay (-n, -v, -r/-m, --shadow,
# -S/-s, --daxdev), fsck (-h, lines scripts grep, paths inside a mount),
# mount.famfs, --help/-?/--version. Each step checks what the command did
# (contents, modes, owners, files, exit status and message), not only that
# it exited 0. Written from docs/user-guide.md's table of equivalents.
. "$(dirname "$0")/lib.sh"
need_fuse
need_dir /usr/include/linux/netfilter
command -v script >/dev/null || skip "no script(1) (bsdutils) for a terminal"
CLI=("$FAMFS")
MKFS=("$BUILD/mkfs.famfs")
DEV=$T/famfs.img
MPT=$T/mnt
mkdir -p "$MPT"
# mkfs.famfs is famfs under that name (as make install and the package do it).
ln -sf "$FAMFS" "$BUILD/mkfs.famfs"
ln -sf "$FAMFS" "$T/mount.famfs"

# ok/ko CMD...: CMD must succeed / fail (exit 1 or 2), output in $OUT.
ok() { expect 0 "$@"; }
ko() {
	OUT=$("$@" 2>&1)
	local rc=$?
	[ "$rc" = 1 ] || [ "$rc" = 2 ] || {
		fail "'$*' exited $rc, expected a failure; output:"
		printf '%s\n' "$OUT" | sed 's/^/    | /' >&2
	}
}
stat_is() { # PATH MODE UID GID
	local got
	got=$(stat -c '%a %u %g' "$1")
	[ "$got" = "$2 $3 $4" ] || fail "$1: mode/uid/gid $got, expected $2 $3 $4"
}
mounted() { grep -q " $MPT " /proc/mounts; }
remount() {
	ok umount "$MPT"
	mounted && fail "still mounted after umount"
	ok "${CLI[@]}" mount "$DEV" "$MPT"
}

step "prepare: mkfs.famfs --loglen, -f -k kills the superblock, mkfs again, mount"
truncate -s 8G "$DEV"
ok "${MKFS[@]}" --loglen 16m "$DEV" && contains "log 16.00 MiB"
ko "${MKFS[@]}" "$DEV" && contains "already holds a famfs"
ko "${MKFS[@]}" -k "$DEV" && contains "needs -f"
ok "${MKFS[@]}" -f -k "$DEV"
ko "${CLI[@]}" fsck "$DEV" && contains "SB_MAGIC"
ok "${MKFS[@]}" -v -l 16M "$DEV" && contains "log at 0x200000"
ok "${CLI[@]}" mount -v "$DEV" "$MPT" && contains "master"
MOUNTS+=("$MPT")
ok grep -q famfs /proc/mounts
ok grep -q "$(realpath "$DEV")" /proc/mounts
ok test -f "$MPT/.meta/.superblock"
ok test -f "$MPT/.meta/.log"

step "help and version: -h, -?, famfs -h CMD, --help, --version"
ko "${CLI[@]}" --
ok "${CLI[@]}" -h && contains "verify"
ok "${CLI[@]}" -h mount && contains "Usage: famfs mount"
for c in creat verify cp mkdir flush chkread mkmeta logplay getmap mount umount; do
	ok "${CLI[@]}" "$c" -h && contains "Usage: famfs $c"
	ok "${CLI[@]}" "$c" '-?' && contains "Usage: famfs $c"
done
ok "${CLI[@]}" fsck '-?' && contains "Usage: famfs fsck"
ok "${CLI[@]}" fsck --help && contains "human"
ok "${CLI[@]}" --version && contains "^famfs [0-9]"
ok "$BUILD/famfs_fused" --version && contains "^famfs_fused [0-9].*libfuse 3"
ok "$BUILD/famfs_fused" --help && contains "Usage: famfs_fused"

step "creat: usage errors, -r -S, sizes with suffixes, an existing file"
ko "${CLI[@]}" creat
ko "${CLI[@]}" creat -r -S 1 "$MPT/nosize" && contains "give its size"
ko "${CLI[@]}" creat -S -s 10 "$MPT/badf"
ko "${CLI[@]}" creat "$MPT/.meta" && contains "directory"
ko "${CLI[@]}" creat -S 1 -r -m "$MPT/zork,4K,1" && contains "mode"
ko "${CLI[@]}" creat -t 1000 -M "$MPT/zork,4K,1" && contains "threads"
ko "${CLI[@]}" creat -v -s 4K /tmp/notfamfs && contains "not inside a mounted famfs"
ko "${CLI[@]}" creat -r -s 0 -S 1 "$MPT/emptyfile"
ok "${CLI[@]}" creat -r -s 4096 -S 1 "$MPT/test1"
[ "$(stat -c %s "$MPT/test1")" = 4096 ] || fail "test1 is not 4096 bytes"
ok python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); assert d==b"".join(struct.pack("<Q",i+1) for i in range(512))' "$MPT/test1"
ok "${CLI[@]}" creat -r -s 4096 -S 2 "$MPT/test2"
ok "${CLI[@]}" creat -r -s 4096 -S 3 "$MPT/test3"
ok "${CLI[@]}" creat -s 100m "$MPT/memfile1" && [ "$(stat -c %s "$MPT/memfile1")" = 104857600 ] || fail "-s 100m"
ok "${CLI[@]}" creat -s 10000k "$MPT/memfile2" && [ "$(stat -c %s "$MPT/memfile2")" = 10240000 ] || fail "-s 10000k"
ok "${CLI[@]}" creat -r -s 4096 -S 99 "$MPT/test1"   # re-fill, same size
ok "${CLI[@]}" verify -S 99 -f "$MPT/test1"
ok "${CLI[@]}" creat -s 4096 "$MPT/test1"            # same size: fine, contents kept
ok "${CLI[@]}" verify -S 99 -f "$MPT/test1"
ko "${CLI[@]}" creat -s 8192 "$MPT/test1" && contains "another size"
ok "${CLI[@]}" creat -r -s 4096 -S 1 "$MPT/test1"
ok "${CLI[@]}" creat -r "$MPT/test2" && contains "seed [0-9]+"   # a random seed, printed
seed=$(printf '%s\n' "$OUT" | sed -n 's/.*seed \([0-9]*\).*/\1/p')
ok "${CLI[@]}" verify -S "$seed" -f "$MPT/test2"
ok "${CLI[@]}" creat -r -S 2 "$MPT/test2"

step "creat --multi with threads, partly seeded; errors do not stop the others"
ko "${CLI[@]}" creat -v --multi "$MPT/goodfile,4k" --multi "/tmp/badfile,4M"
ok test -f "$MPT/goodfile"
ko "${CLI[@]}" creat -S 1 -r -s 2048 "$MPT/goodfile" && contains "another size"
ok "${CLI[@]}" creat -S 1 -r "$MPT/goodfile"
ko "${CLI[@]}" creat -t 0 --multi "$MPT/goodfile,2K,1" && contains "another size"
ko "${CLI[@]}" creat -t -1 "$MPT/goodfile,2K,1"
ko "${CLI[@]}" creat -S 1 -r -M "$MPT/notcreated,22" && contains "multi"
ko "${CLI[@]}" creat -M "$MPT/notcreated"
ko "${CLI[@]}" creat -M "$MPT/notcr,22,22,22" && contains "too many"
[ ! -e "$MPT/notcreated" ] && [ ! -e "$MPT/notcr" ] || fail "a refused --multi created a file"
ok "${CLI[@]}" creat -t 4 -M "$MPT/seeded,2M,42" -M "$MPT/notseeded,2M" -M "$MPT/m3,3M,43" -M "$MPT/m4,1,44"
ok "${CLI[@]}" verify --multi "$MPT/seeded,42" -m "$MPT/m3,43" -m "$MPT/m4,44"
[ "$(stat -c %s "$MPT/m4")" = 1 ] || fail "m4 is not 1 byte"
ok "${CLI[@]}" creat -t0 -v -M "$MPT/seeded,0,45" -M "$MPT/m3,0,46"   # 0: its size
ok "${CLI[@]}" verify -m "$MPT/seeded,45" -m "$MPT/m3,46"

step "verify: seeds, names the first bad offset, --quiet, --threadct"
ko "${CLI[@]}" verify
ko "${CLI[@]}" verify -f "$MPT/test1" && contains "seed"
ko "${CLI[@]}" verify -S 1 -f badfile
ok "${CLI[@]}" verify -S 1 -f "$MPT/test1"
ok "${CLI[@]}" verify --quiet -S 3 -f "$MPT/test3"
ko "${CLI[@]}" verify -S 99 -f "$MPT/test1" && contains "mismatch at offset 0 "
ko "${CLI[@]}" verify -q -S 99 -f "$MPT/test1"
[ -z "$OUT" ] || fail "verify -q printed: $OUT"
ok "${CLI[@]}" verify -m "$MPT/test1,1"
ko "${CLI[@]}" verify -m "$MPT/test1,2"
ko "${CLI[@]}" verify --multi "$MPT/test1"
ko "${CLI[@]}" verify --multi "$MPT/test1,1,extra"
ok "${CLI[@]}" verify --multi "$MPT/test1,1" --multi "$MPT/test2,2" --multi "$MPT/test3,3"
ko "${CLI[@]}" verify --multi "$MPT/test1,9" --multi "$MPT/test2,2" --multi "$MPT/test3,3"
ko "${CLI[@]}" verify --threadct -1 --multi "$MPT/test1,1"
ko "${CLI[@]}" verify --threadct 257 --multi "$MPT/test1,1"
ok "${CLI[@]}" verify --threadct 256 --multi "$MPT/test1,1" --multi "$MPT/test2,2"
# one byte changed in the middle: verify names that offset
printf 'X' | dd of="$MPT/test3" bs=1 seek=3001 conv=notrunc status=none
ko "${CLI[@]}" verify -S 3 -f "$MPT/test3" && contains "offset 3001 \(0xbb9\)"
ok "${CLI[@]}" creat -r -S 3 "$MPT/test3"

step "creat and mkdir -m -u -g: logged at creation, kept over a remount"
ok "${CLI[@]}" creat -s 0x100000 -r -m 600 -u 4242 -g 4343 "$MPT/testmode0"
stat_is "$MPT/testmode0" 600 4242 4343
ok "${CLI[@]}" mkdir -p -m 600 -u 4242 -g 4343 "$MPT/z/y/x/w"
stat_is "$MPT/z/y/x/w" 600 4242 4343
stat_is "$MPT/z" 755 4242 4343
ko "${CLI[@]}" mkdir
ko "${CLI[@]}" cp --gid=-1 && contains "not a group"
ko "${CLI[@]}" cp --uid=-1 && contains "not a user"

step "logplay on a mount, chkread, -rc / -rm, flush"
ok "${CLI[@]}" logplay "$MPT"
ok "${CLI[@]}" logplay -n "$MPT" && contains "test1"
ok "${CLI[@]}" chkread -l "$MPT/.meta/.log"
ok "${CLI[@]}" chkread -s "$MPT/.meta/.superblock"
ko "${CLI[@]}" chkread
ko "${CLI[@]}" chkread -s "$MPT/badfilexx"
ko "${CLI[@]}" chkread -s "$MPT/test1" && contains "SB_MAGIC"
ko "${CLI[@]}" chkread -l "$MPT/test1"
ok "${CLI[@]}" logplay -rc "$MPT" && contains "ignored"
ko "${CLI[@]}" logplay -rm "$MPT" && contains "exclude"
ko "${CLI[@]}" logplay
ok "${CLI[@]}" flush '-?'
ko "${CLI[@]}" flush
ko "${CLI[@]}" flush /bogus/file
mapfile -t files < <(find "$MPT" -type f)
ok "${CLI[@]}" flush "${files[@]}"
mapfile -t all < <(find "$MPT")
ko "${CLI[@]}" flush -vv "${all[@]}" && contains "not a regular file" && contains "test1: 4.00 KiB"

step "umount and mount: files, modes and owners are back; mkmeta; logplay -m / -vr"
remount
ok "${CLI[@]}" mkmeta "$DEV"
ko "${CLI[@]}" mkmeta
ko "${CLI[@]}" mkmeta /tmp/nonexistent
ok "${CLI[@]}" logplay -m "$MPT"
ok "${CLI[@]}" logplay -vr "$MPT" && contains "file +test1 4096 bytes"
for n in 1 2 3; do ok "${CLI[@]}" verify -S $n -f "$MPT/test$n"; done
stat_is "$MPT/testmode0" 600 4242 4343
stat_is "$MPT/z/y/x/w" 600 4242 4343

step "fsck: -h (human), the lines scripts grep, any path in the mount, -m/-r/-B"
ko "${CLI[@]}" fsck
ok "${CLI[@]}" fsck "$MPT"
contains "^  Device capacity: 8589934592$" && contains "^  log_len: 16777216$" && contains "^  Free space: [0-9]+$"
ok "${CLI[@]}" fsck --human "$MPT" && contains "Device capacity: 8.00 GiB" && contains "log_len: 16.00 MiB"
ok "${CLI[@]}" fsck -hv "$MPT" && contains "Free space: [0-9.]+ GiB" && contains "file +test1"
ok "${CLI[@]}" fsck "$MPT/z/y" && contains "clean"
ok "${CLI[@]}" fsck "$MPT/test1" && contains "clean"
ok "${CLI[@]}" fsck -m "$MPT"
ok "${CLI[@]}" fsck -r "$MPT"
ko "${CLI[@]}" fsck -rm "$MPT"
ok "${CLI[@]}" fsck -h -B 7 "$MPT"
ok "${CLI[@]}" fsck --force "$DEV"
ko "${CLI[@]}" fsck /boguspath
ko "${CLI[@]}" fsck bogusrelpath

step "cp: into a file and a directory, -v, overwrite of the same size only, bad sources"
ok "${CLI[@]}" creat -v -r -S 42 -s 0x800000 "$MPT/bigtest0"
ok "${CLI[@]}" cp -vvv "$MPT/bigtest0" "$MPT/bigtest0_cp" && contains "bigtest0_cp"
ok "${CLI[@]}" verify -S 42 -f "$MPT/bigtest0_cp"
ok "${CLI[@]}" mkdir "$MPT/subdir"
ko "${CLI[@]}" mkdir "$MPT/subdir"
ko "${CLI[@]}" mkdir "$MPT/bigtest0"
for i in 0 1 2 3; do ok "${CLI[@]}" cp "$MPT/bigtest0" "$MPT/subdir/bigtest0_cp$i"; done
ok "${CLI[@]}" creat -r -S 7 "$MPT/subdir/bigtest0_cp0"
ok "${CLI[@]}" cp "$MPT/bigtest0" "$MPT/subdir/bigtest0_cp0"   # same size: written over
ok "${CLI[@]}" verify -S 42 -f "$MPT/subdir/bigtest0_cp0"
ko "${CLI[@]}" cp "$MPT/test1" "$MPT/subdir/bigtest0_cp0" && contains "another size"
ok "${CLI[@]}" verify -S 42 -f "$MPT/subdir/bigtest0_cp0"
ko "${CLI[@]}" cp /tmp/nonexistent_file "$MPT/"
ko "${CLI[@]}" cp /dev/zero "$MPT/" && contains "not a regular file"
[ ! -e "$MPT/zero" ] || fail "cp /dev/zero left a file"
ok "${CLI[@]}" mkdir "$MPT/dirtarg"
ok "${CLI[@]}" cp "$MPT/bigtest0" "$MPT/dirtarg"
ok "${CLI[@]}" verify -S 42 -f "$MPT/dirtarg/bigtest0"

step "mkdir: relative paths, -p, no escape through .."
( cd "$MPT/.." && ok "${CLI[@]}" mkdir "mnt/foo" && ok "${CLI[@]}" mkdir "./mnt/foo/foo" &&
	ok "${CLI[@]}" mkdir "mnt/foo/foo/./bar" && ok "${CLI[@]}" mkdir "./mnt/foo/foo//bar/baz" &&
	ko "${CLI[@]}" mkdir "./mnt/./foo/foo//bar/baz" && exit $FAILED ) || FAILED=1
ok test -d "$MPT/foo/foo/bar/baz"
ko "${CLI[@]}" mkdir "$MPT"
ok "${CLI[@]}" mkdir -p "$MPT"
ok "${CLI[@]}" mkdir -p "$MPT/A/B/C"
ok "${CLI[@]}" mkdir -pv "$MPT/A/B/C/w/x/y/z" && contains "created directory '.*/A/B/C/w'"
ko "${CLI[@]}" mkdir -pv "$MPT/bigtest0/foo/bar/baz/bing"
ko "${CLI[@]}" mkdir -pvvv "$MPT/a/y/../../../.." && contains '"\.\." is not allowed'
[ ! -e "$MPT/a" ] || fail "mkdir -p a/y/../../../.. created a"

step "cp: wildcards (shell and quoted) with -m -u -g, a directory among them, -r, -c"
DEST=A/B/C/w/x/y/z
ok "${CLI[@]}" cp -m 600 -u 4242 -g 4343 "$MPT/subdir/"* "$MPT/$DEST"
for i in 0 1 2 3; do ok "${CLI[@]}" verify -S 42 -f "$MPT/$DEST/bigtest0_cp$i"; done
stat_is "$MPT/$DEST/bigtest0_cp0" 600 4242 4343
ok "${CLI[@]}" cp "$MPT/subdir/*" "$MPT/dirtarg"   # quoted: famfs cp expands it
for i in 0 1 2 3; do ok cmp "$MPT/subdir/bigtest0_cp$i" "$MPT/dirtarg/bigtest0_cp$i"; done
ok "${CLI[@]}" mkdir "$MPT/dirtarg2"
ok "${CLI[@]}" mkdir "$MPT/dirtarg/foo"
ko "${CLI[@]}" cp "$MPT/dirtarg/"* "$MPT/dirtarg2" && contains "is a directory"
ok "${CLI[@]}" verify -S 42 -f "$MPT/dirtarg2/bigtest0_cp3"
ok "${CLI[@]}" mkdir "$MPT/smalldir" "$MPT/smalldir2"
ok "${CLI[@]}" cp "$MPT/dirtarg/bigtest0_cp0" "$MPT/dirtarg/bigtest0_cp1" "$MPT/smalldir"
ko "${CLI[@]}" cp -r "$MPT/smalldir" "$MPT/bigtest0"
ko "${CLI[@]}" cp "$MPT/smalldir/"* "$MPT/bigtest0" && contains "not a directory"
ok "${CLI[@]}" cp -rv "$MPT/smalldir/"* "$MPT/smalldir2"
ok "${CLI[@]}" cp -c -rv "$MPT/smalldir/"* "$MPT/smalldir2" && contains "="
ok diff -r "$MPT/smalldir" "$MPT/smalldir2"
printf 'deface' | dd of="$MPT/smalldir2/bigtest0_cp1" bs=1 seek=5000 conv=notrunc status=none
ko diff -r "$MPT/smalldir" "$MPT/smalldir2"
ko "${CLI[@]}" cp -c -r "$MPT/smalldir/"* "$MPT/smalldir2" && contains "offset 5000"
ok "${CLI[@]}" cp -r "$MPT/A" "$MPT/A-prime"
ok diff -r "$MPT/A" "$MPT/A-prime"
( cd "$MPT/.." && ok "${CLI[@]}" cp -r "mnt/A" "mnt/A-double-prime" && exit $FAILED ) || FAILED=1
ok diff -r "$MPT/A" "$MPT/A-double-prime"
ko "${CLI[@]}" cp -r "$MPT/A" "$MPT/bar/foo"
ko "${CLI[@]}" cp -r "$MPT/A" "$MPT/bigtest0/foo"
ok "${CLI[@]}" cp "$MPT/$DEST/"* "$MPT"
ok cmp "$MPT/bigtest0_cp2" "$MPT/bigtest0"

step "cp -t 8 of a real tree (parallel), byte for byte, modes kept; -t 8 -N -B stripes"
SRC=/usr/include/linux/netfilter
ok "${CLI[@]}" cp -r -t 8 "$SRC" "$MPT/par"
ok diff -r "$SRC" "$MPT/par"
[ "$(cd "$SRC" && find -L . -printf '%m %p\n' | sort | md5sum)" = \
	"$(cd "$MPT/par" && find . -printf '%m %p\n' | sort | md5sum)" ] || fail "modes differ"
ok "${CLI[@]}" creat -N 3 -B 8 -s 20M "$MPT/striped"
ok "${CLI[@]}" getmap "$MPT/striped" && contains "nstrips 3 chunk 0x200000"
ok "${CLI[@]}" cp -t 4 -N 2 -B 4 -C 4M "$MPT/striped" "$MPT/striped_copy"
ok "${CLI[@]}" getmap "$MPT/striped_copy" && contains "nstrips 2 chunk 0x400000"
ok "${CLI[@]}" creat -M "$MPT/striped,0,5" -M "$MPT/striped_copy,0,6"
ok "${CLI[@]}" verify -m "$MPT/striped,5" -m "$MPT/striped_copy,6"
ko "${CLI[@]}" creat -vv -B 100 -C 2m -N 3 -s 2m "$MPT/toomanybuckets" && contains "64 buckets"
ko "${CLI[@]}" creat -B 10 -C 2000000 -N 3 -s 2m "$MPT/badchunksz" && contains "power of two"
ok "${CLI[@]}" fsck -h -B 8 "$MPT"

step "the progress bar: on a terminal (files, bytes, rate, ETA), not in a pipe"
# Shown from the start ($FAMFS_CP_PROGRESS_DELAY=0, not half a second), so a
# short copy is enough to see it.
mkdir -p "$T/many"
for i in $(seq 40); do truncate -s 4M "$T/many/f$i"; done
export FAMFS_CP_PROGRESS_DELAY=0
ok "${CLI[@]}" cp -r -t 1 "$T/many" "$MPT/many1"
printf '%s\n' "$OUT" | grep -q "files" && fail "progress shown without a terminal: $OUT"
OUT=$(script -qec "$FAMFS cp -r -t 1 $T/many $MPT/many2" /dev/null 2>&1)
printf '%s' "$OUT" | grep -Eq '\[[#.]{20}\] +[0-9]+%  [0-9]+/40 files  .*/s  ETA [0-9]+:[0-9]{2}' ||
	fail "no progress bar on a terminal: $OUT"
printf '%s' "$OUT" | grep -Eq '40/40 files.* in [0-9]+:[0-9]{2}' || fail "no final progress line: $OUT"
OUT=$(script -qec "$FAMFS cp -r -v -t 1 $T/many $MPT/many3" /dev/null 2>&1)
printf '%s' "$OUT" | grep -q "ETA" && fail "progress shown with -v: $OUT"
unset FAMFS_CP_PROGRESS_DELAY
ok cmp "$T/many/f40" "$MPT/many2/f40"
[ "$(find "$MPT/many2" -type f | wc -l)" = 40 ] || fail "many2: files missing"

step "logplay --shadow: the YAML tree; -Ss DIR MPT; --daxdev; errors"
SR=$T/smoke.shadow
mkdir -p "$SR/root"
ok "${CLI[@]}" logplay --shadow "$SR" "$MPT" && contains "shadow tree in $SR/root"
ok grep -q "^  path: subdir/bigtest0_cp1$" "$SR/root/subdir/bigtest0_cp1"
ok grep -q "^  size: 8388608$" "$SR/root/subdir/bigtest0_cp1"
ok test -d "$SR/root/z/y/x/w"
stat_is "$SR/root/z/y/x/w" 600 4242 4343
ok grep -q "striped_ext_list" "$SR/root/striped"
ok "${CLI[@]}" logplay -Ss "$T/s2" "$MPT"
ok diff -r "$SR/root" "$T/s2/root"
ok "${CLI[@]}" logplay -sS "$T/s3" "$MPT"
ko "${CLI[@]}" logplay --shadow -d /dev/bogodax
ko "${CLI[@]}" logplay --shadow "$T/nope/frob" --daxdev "$DEV" -vv
ko "${CLI[@]}" logplay --daxdev "$DEV" -vv "$T/s4" && contains "goes with --shadow"
ok "${CLI[@]}" logplay --shadow "$T/s4" --daxdev "$DEV" -vv && contains "subdir/bigtest0_cp1"
ok "${CLI[@]}" logplay --shadow "$T/s4" --daxdev "$DEV" -vv
ok diff -r "$SR/root" "$T/s4/root"
ko "${CLI[@]}" logplay --shadow "$T/s5" --shadow "$T/s5" --daxdev "$DEV" && contains "twice"
ok "${CLI[@]}" logplay --shadow "$T/s6" --shadowtest "$MPT" -vv && contains "ignored"

step "mount: twice fails, -R, argument checks, -rm, -r, -t, options that mean nothing here"
ko "${CLI[@]}" mount -vvv "$DEV" "$MPT"
ok "${CLI[@]}" mount -R "$DEV" "$MPT"
ok "${CLI[@]}" verify -S 1 -f "$MPT/test1"
ok umount "$MPT"
ok "${CLI[@]}" mount '-?'
ko "${CLI[@]}" mount
ko "${CLI[@]}" mount a b c
ko "${CLI[@]}" mount baddev "$MPT"
ko "${CLI[@]}" mount "$DEV" badmpt
mounted && fail "a bad mount left something mounted"
ko "${CLI[@]}" mount -rm -vvv "$DEV" "$MPT" && contains "exclude"
ok "${CLI[@]}" mount -r -vvv "$DEV" "$MPT" && contains "client"
ko "${CLI[@]}" creat -s 1M "$MPT/ro" && contains "read-only"
ok umount "$MPT"
ok "${CLI[@]}" mount -f -u -p -t 7 -S /tmp/x "$DEV" "$MPT" && contains "option -u ignored"
contains "option -S \(and its argument\) ignored"
ok grep -q "$MPT" /proc/mounts

step "mount.famfs (mount(8)'s helper): ro, famfs options, mount(8)-only options dropped"
ok umount "$MPT"
ok "$T/mount.famfs" "$DEV" "$MPT" -o rw,nofail,defaults,noatime,x-systemd.automount,poll_ms=50 -v
contains "famfs mount -v -o noatime,poll_ms=50 "
ok "${CLI[@]}" verify -S 1 -f "$MPT/test1"
ok umount "$MPT"
ok "$T/mount.famfs" "$DEV" "$MPT" -o ro,_netdev
ok grep -q " $MPT [^ ]* ro," /proc/mounts
ok umount "$MPT"
ok "$T/mount.famfs" "$DEV" "$MPT" -f -o ro && contains "not run"
mounted && fail "mount.famfs -f mounted"

# Their `logplay --shadow DIR --shadowtest` round-trips every FILE entry
# through their YAML and compares the whole entry (famfs_shadow_rule.py is
# that rule, our own code). Our default images keep file times in padding
# words their YAML does not carry; mkfs --compat images keep none.
step "their shadow YAML round trip: a cp -a image fails it, a mkfs --compat image passes"
RULE=$(dirname "$0")/../tools/famfs_shadow_rule.py
for kind in default compat; do
	img=$T/$kind.img mnt=$T/$kind
	mkdir -p "$mnt"
	ok "${CLI[@]}" mkfs $([ $kind = compat ] && echo --compat) --size 4G "$img"
	[ $kind = compat ] && contains "compat \(no file times"
	ok "${CLI[@]}" mount "$img" "$mnt"
	MOUNTS+=("$mnt")
	ok cp -a /usr/include/linux/netfilter "$mnt/tree"
	ok "${CLI[@]}" creat -s 1M "$mnt/c"
	ok "${CLI[@]}" creat -N 2 -B 4 -s 8M "$mnt/striped"
	ok touch "$mnt/empty"
	ok mkdir "$mnt/d"
	ok chmod 700 "$mnt/d" # directories: an update their replay skips, in both kinds
	ok touch -d @1000000000 "$mnt/c"
	if [ $kind = compat ]; then
		ko chmod 600 "$mnt/c" && contains "Operation not permitted"
		ko chown 4242 "$mnt/c"
		[ "$(stat -c %Y "$mnt/c")" = 0 ] || fail "compat: a file has a time: $(stat -c %Y "$mnt/c")"
		[ "$(stat -c %a "$mnt/tree/ipset")" = "$(stat -c %a /usr/include/linux/netfilter/ipset)" ] ||
			fail "compat: cp -a lost a directory's mode"
		# Names their YAML cannot carry are refused when created.
		ko touch "$mnt/bad"$'\xff' && contains "Invalid or incomplete multibyte"
		ko mkdir "$mnt/bad-dir"$'\xc3'
		ko "${CLI[@]}" creat -s 1M "$mnt/bad-creat"$'\xed\xa0\x80'
		ok touch "$mnt/good-é"
	else
		ok touch "$mnt/bad"$'\xff' # kept (printed escaped), not a compat image
		ok chmod 600 "$mnt/c"
		[ "$(stat -c %Y "$mnt/c")" = 1000000000 ] || fail "a file's time is not kept"
	fi
	ok diff -r /usr/include/linux/netfilter "$mnt/tree"
	ok umount "$mnt"
	files=$(python3 -c 'import struct,sys
f=open(sys.argv[1],"rb"); f.seek(0x200000); h=f.read(48); n=struct.unpack_from("<Q",h,40)[0]; c=0
for i in range(n):
    f.seek(0x200000+48+544*i); c += struct.unpack_from("<I", f.read(16), 8)[0] == 0
print(c)' "$img")
	if [ $kind = compat ]; then
		ok python3 "$RULE" "$img" && contains "^0 of $files file entries fail"
		ok "${CLI[@]}" fsck "$img" && contains "compat +file entries without times"
	else
		# Every file entry carries a time, and the chmod an attribute update.
		ko python3 "$RULE" "$img" -v && contains "^$files of $files file entries fail" &&
			contains "padding @108 \(mtime_sec\)" && contains "c: differs from the document of an earlier entry"
	fi
done
# fsck holds a compat image to its promise.
ok "$(dirname "$0")/../tools/famfs_craft.py" "$T/compat.img" entry file --path timed --size 1 \
	--extent 0xc0000000,0x200000 --mtime 7
ko "${CLI[@]}" fsck "$T/compat.img" && contains "ENT_COMPAT.*a file entry with a time"
ko python3 "$RULE" "$T/compat.img" && contains "timed: does not read back the same"
finish
