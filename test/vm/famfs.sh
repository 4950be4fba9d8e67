#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# famfs.sh - guest test: famfs on famfs.ko (kmod/, beside the kernel's own
# FUSE) with the emulated NVDIMM. Runs inside the guest under `sh -e` (guest-init.sh); selected with
# famfs.test=famfs. The payload (real files) is in /payload.
#
# Usage (kernel command line, via run-vm.sh --test famfs --arg KEY=VALUE):
#   famfs.case=master   fsdax namespace; an ordinary FUSE file system (the
#                       kernel's FUSE) before, during and after famfs.ko;
#                       mkfs, mount (type famfs), famfs cp the payload; data
#                       through read(), mmap and on the device; server
#                       counters (no READ/WRITE, one GET_FMAP per file, no
#                       GET_DAXDEV; two with famfs_fmap_bufsize=4); writes
#                       through write() and mmap; fixed-size rules; a striped
#                       file (interleaved and unrolled maps); files used
#                       before they had a map; PTE/PMD faults (ftrace); a
#                       read-only mount; -o nofmap and the stock path (the
#                       kernel's FUSE: server data path); a memory failure
#                       fails the failed range, not the neighbours
#   famfs.case=devdax   devdax namespace: mkfs/fsck/mount/cp/verify/remount on
#                       /dev/dax0.0 kept on device_dax (famfs mount --devdax)
#                       with famfs.ko (the kernel refuses the character
#                       device: the server serves its data) and without it
#                       (kernel mode on famfs_dax: test/vm/dax.sh)
#   famfs.case=rules    the rules famfs.ko enforces whatever the server says:
#                       size changes refused before any upcall, punch hole /
#                       zero range refused, set-id bits never honoured,
#                       nosuid,nodev, eviction waits for a pinned DAX page
#                       (and says so) at umount, but drop_caches and a tmpfs
#                       mount do not; a DAX write without CAP_FSETID strips
#                       set-id bits; the last release writes back what a
#                       shared mapping dirtied; removing the pmem namespace
#                       while mounted unmaps every file (SIGBUS), I/O gets EIO
#   famfs.case=nsattack uid 1000 with its own user and mount namespace
#                       bind-mounts /dev/pmem1 (memmap=) over /dev/pmem0 and
#                       opens a famfs file first: it reads the right bytes
#   famfs.case=stock    famfs.ko not loaded: the kernel's FUSE, type
#                       fuse.famfs, the server moves the data, famfs mount
#                       says so and warns; mount.famfs loads famfs.ko
#   famfs.case=evil     a lying server (evilfs): a mapped file keeps its size
#                       and mapping when attribute replies halve it; set-id
#                       bits from the server never show; fmaps naming an
#                       unregistered device or leaving the device fail;
#                       two mounts of one device: DAX for the first only; a
#                       CREATE answering with a mapped file under atomic
#                       O_TRUNC, a NOTIFY_STORE past its end: size kept;
#                       fadvise(WILLNEED) before the map: FUSE path; a
#                       fallocate racing the switch to the map; writeback
#                       before a commit at RELEASE; read-only fds and block
#                       devices; one owner per device (ext4, device-mapper,
#                       famfs mkfs, both orders); mkfs without DAX
#   famfs.case=detach   /dev/pmem0 and legacy /dev/pmem1 (memmap=): both
#                       removed at once, 20 rounds, while a file striped over
#                       them is evicted with a page pinned
#   famfs.rounds=N      detach rounds (default 20)
#   famfs.case=master2  second boot of the master's image: files persisted;
#                       appends a directory while a client is mounted
#   famfs.case=client   another host on the same memory: mounts read-only,
#                       reads everything byte-identical with no data upcalls,
#                       refuses writes, sees the master's append
#   famfs.case=units    4 KiB allocation units (issue 13): small files packed,
#                       large ones 2 MiB-aligned with a 4 KiB tail; every
#                       byte through read(), mmap and on the device with no
#                       READ/WRITE; PMD faults on a large file's aligned
#                       body, PTE faults in its tail and in small files;
#                       famfs_pte_extents=0 (a kernel that needs 2 MiB):
#                       the server serves what that kernel cannot map
#   famfs.case=bench    numbers, not a test: a famfs file on famfs.ko vs the
#                       same file through the FUSE upcall path vs a file on
#                       ext4 -o dax on the same pmem
#   famfs.nonce=STRING  tags the mailbox messages (master2/client)
#   famfs.peer=none     master2/client without the other guest running
#   famfs.bench_mb=N    bench file size (default 64)
# master2 and client talk through a mailbox: the last 4 KiB block of
# /dev/pmem0 (O_DIRECT), which famfs never allocates on a mostly empty device.

CASE=${FAMFS_CASE:-master}
# shellcheck source=test/vm/lib.sh
. "${0%/*}/lib.sh"
NONCE=${FAMFS_NONCE:-x}
PMEM=/dev/pmem0
FUSE_MAGIC=65735546
FAMFS_MAGIC=87b282fd
# How the server moves data when the kernel does not map (-o cache=auto):
# direct I/O where the kernel can still mmap such files (6.6+).
case $(uname -r) in
6.1.*) SERVER_DATA=server-page-cache ;;
*) SERVER_DATA=server-direct-io ;;
esac

fail_context() { dmesg | grep -i -e famfs -e fuse | tail -20; }

# fsdax with --map=mem: the struct pages of the device live in each guest's
# RAM. With the default (map=dev) they live on the device itself, and two
# hosts sharing it would share (and corrupt) one struct page array.
make_namespace() { # MODE
	map=
	[ "$1" = fsdax ] && map=--map=mem
	say "ndctl create-namespace -f -e namespace0.0 -m $1 $map"
	ndctl create-namespace -f -e namespace0.0 -m "$1" $map >/dev/null
}

check_fsdax() {
	wait_for $PMEM 10
	[ "$(cat /sys/block/pmem0/queue/dax)" = 1 ] || fail "/dev/pmem0 is not DAX capable"
}

# load_famfs [PARAM=VALUE...]: make sure famfs.ko is loaded (beside FUSE)
load_famfs() {
	if ! grep -q '^famfs ' /proc/modules; then
		modprobe famfs "$@" # and famfs_dax, whose symbols it uses
		say "loaded famfs.ko ($(md5sum /famfs/famfs.ko | cut -c1-8))"
	fi
	wait_for /dev/famfs 5
}

# unload_famfs: famfs mounts go through the kernel's FUSE (/dev/fuse) again
unload_famfs() {
	if grep -q '^famfs ' /proc/modules; then rmmod famfs; fi
	[ ! -e /dev/famfs ] || fail "/dev/famfs still there after rmmod famfs"
}

famfs_param() { echo "$2" >/sys/module/famfs/parameters/"$1"; }

fmount() { # [-r] DEVICE
	mkdir -p $MNT
	famfs mount "$@" $MNT
	grep -q -e " $MNT famfs " -e " $MNT fuse.famfs " /proc/mounts ||
		fail "famfs mount $* did not mount"
}

fumount() { famfs umount $MNT; }

server_counter() { vmtool xattr $MNT user.famfs.server | sed -n "s/^$1 //p"; }

stats_line() {
	echo "$(vmtool xattr $MNT user.famfs.stats | grep -e '^fmap' -e '^data' \
		-e '^READ ' -e '^WRITE ' -e '^OPEN ' -e '^GET' | tr '\n' ' ')"
}

expect_fstype() { # HEX
	t=$(vmtool fstype $MNT)
	[ "$t" = "$1" ] || fail "statfs f_type of $MNT is 0x$t, want 0x$1"
	say "statfs f_type 0x$t"
}

# An ordinary FUSE file system (libfuse's hello_ll) on the kernel's own FUSE.
hello() {
	mkdir -p /mnt/hello
	hello_ll -f -s /mnt/hello &
	pid=$!
	poll 10 "grep -q ' /mnt/hello fuse' /proc/mounts" || fail "hello_ll did not mount"
	got=$(cat /mnt/hello/hello)
	t=$(vmtool fstype /mnt/hello)
	umount /mnt/hello
	wait $pid || true
	[ "$got" = "Hello World!" ] || fail "hello_ll read '$got'"
	[ "$t" = $FUSE_MAGIC ] || fail "hello_ll statfs f_type 0x$t, want 0x$FUSE_MAGIC"
	say "ordinary FUSE file system: read '$got', f_type 0x$t"
}

# mailbox between master2 and client (see the header)
mbox_get() { vmtool mbox $PMEM get; }
mbox_put() { vmtool mbox $PMEM put "$1 $NONCE"; }
# On any failure, tell the other guest so that it stops waiting.
mbox_fail_on_exit() {
	[ "${FAMFS_PEER:-}" = none ] && return 0
	trap 'rc=$?; [ $rc -eq 0 ] || vmtool mbox $PMEM put "FAIL $NONCE"; exit $rc' EXIT
}

# ------------------------------------------------------------------ cases

case_master() {
	make_namespace fsdax
	check_fsdax
	N=$(nfiles /payload)
	BIG=/payload/boot/vmlinuz
	SMALL=/payload/linux/can.h

	hello
	load_famfs
	hello

	identity $MASTER_UUID
	famfs mkfs -f --allow-small $PMEM
	famfs fsck $PMEM >/dev/null
	fmount $PMEM
	[ "$(vmtool xattr $MNT user.famfs.role)" = master ] || fail "not the master"
	expect_mode enabled kernel-dax
	expect_fstype $FAMFS_MAGIC

	say "famfs cp -r: $N files, $(du -sk /payload | cut -f1) KiB"
	t0=$(date +%s)
	famfs cp -r /payload/* $MNT/
	say "copied in $(($(date +%s) - t0)) s: $(stats_line)"
	# famfs cp writes files under 1 MiB through the descriptor that created
	# them (the server's WRITE); larger ones through a reopened one (the
	# map). A fresh mount shows what the kernel does with all of them.
	expect_counter READ 0
	expect_counter GET_DAXDEV 0
	fumount
	fmount $PMEM
	expect_counter GET_FMAP 0
	grep " $MNT " /proc/mounts | grep -q 'famfs.*nosuid,nodev' || fail "not famfs,nosuid,nodev: $(grep " $MNT " /proc/mounts)"
	say "an ordinary FUSE file system beside the famfs mount"
	hello

	say "1. data through read(), mmap and on the device (getmap offsets, O_DIRECT)"
	vmtool verify $PMEM /payload $MNT
	f=$MNT/linux/can.h
	famfs getmap $f | head -3
	expect_counter READ 0
	expect_counter WRITE 0
	expect_counter GET_FMAP "$N"
	say "2. counters after all data I/O: $(stats_line)"
	row pmem-fsdax

	say "3. writes through write() and mmap land on the device"
	famfs creat -s 6M $MNT/wtest
	vmtool fill $MNT/wtest 1 write
	vmtool check $MNT/wtest 1 $PMEM
	vmtool fill $MNT/wtest 2 mmap
	vmtool check $MNT/wtest 2 $PMEM
	say "3. fixed sizes"
	vmtool sizes $MNT/wtest
	vmtool fill $MNT/wtest 3 write
	vmtool check $MNT/wtest 3 $PMEM
	expect_counter WRITE 0
	expect_counter READ 0
	expect_counter GET_FMAP $((N + 1))

	say "striped file: the kernel resolves an interleaved fmap, and an unrolled one"
	famfs creat -s 16M --stripe 4,2M,4 $MNT/striped
	famfs getmap $MNT/striped | head -3
	vmtool fill $MNT/striped 5 write
	vmtool check $MNT/striped 5 $PMEM
	expect_counter GET_FMAP $((N + 2))
	expect_counter WRITE 0
	fumount
	fmount -o fmap=unrolled $PMEM
	vmtool check $MNT/striped 5 $PMEM
	expect_counter GET_FMAP 1
	expect_counter READ 0
	fumount
	fmount $PMEM

	say "files used before they had a map (CREATE is not OPEN)"
	vmtool pending $MNT 11
	vmtool check $MNT/pending-dax 11 $PMEM
	vmtool check $MNT/pending-fuse 12 $PMEM

	say "allocate on write: written through the server while pending, read through DAX once committed"
	c0=$(server_counter commit_invalidations)
	w0=$(counter WRITE)
	mkdir $MNT/aow
	dd if=$BIG of=$MNT/aow/vmlinuz bs=64k 2>/dev/null
	w1=$(counter WRITE)
	[ "$w1" -gt "$w0" ] || fail "a pending file's writes: WRITE $w0 -> $w1, want more (server path)"
	# close() returns before the kernel's RELEASE reaches the server: wait
	# for the commit and the dentry invalidation that follows it.
	poll 10 '! [ "$(server_counter commit_invalidations)" -le "$c0" ]' ||
		fail "the server did not commit $MNT/aow/vmlinuz within 10 s"
	g0=$(counter GET_FMAP)
	r0=$(counter READ)
	vmtool verify $PMEM /payload/boot $MNT/aow
	expect_counter READ "$r0"
	expect_counter GET_FMAP $((g0 + 1))
	say "  $(stats_line)"

	say "faults: read faults map read-only, write faults writable; 2 MiB PMD faults"
	tracing_on
	vmtool touch $MNT/linux/can.h w 4096
	vmtool touch $MNT/boot/vmlinuz r 4096
	vmtool touch $MNT/wtest w 2097152
	tracing_off
	grep -c dax_ /tmp/trace | sed 's/^/famfs[master]: fs_dax trace events: /'
	# wtest: each 2 MiB read fault (no WRITE flag) is followed by a write
	# fault at the same address: the read mapped the PMD read-only.
	expect_rw_faults
	say "  PTE: a read fault, then a write fault on the same page; PMD: $pr read-only and $pw writable 2 MiB mappings"
	vmtool check $MNT/wtest 3 $PMEM
	vmtool verify - /payload/linux $MNT/linux >/dev/null

	say "2. retry path: famfs_fmap_bufsize=4 forces the 4-byte size reply on every GET_FMAP"
	fumount
	famfs_param famfs_fmap_bufsize 4
	fmount $PMEM
	vmtool verify $PMEM /payload $MNT
	expect_counter GET_FMAP $((2 * N))
	expect_counter READ 0
	expect_counter WRITE 0
	say "  $(stats_line)"
	famfs_param famfs_fmap_bufsize 4096
	fumount

	say "3. a read-only mount refuses writes"
	fmount -r $PMEM
	vmtool rofile $MNT/wtest
	if famfs creat -s 2M $MNT/nope 2>/dev/null; then fail "creat on a read-only mount worked"; fi
	fumount

	say "famfs mode only if the server accepts it: -o nofmap on famfs.ko"
	fmount -o nofmap $PMEM
	expect_mode offered-declined $SERVER_DATA
	expect_fstype $FAMFS_MAGIC
	vmtool verify - /payload/linux/can $MNT/linux/can
	expect_counter GET_FMAP 0
	r=$(counter READ)
	[ "$r" -gt 0 ] || fail "nofmap: READ $r, want > 0"
	fumount

	say "5. the same binaries without famfs.ko: the kernel's FUSE (the server's data path)"
	unload_famfs
	fmount $PMEM
	grep -q " $MNT fuse.famfs " /proc/mounts || fail "not a FUSE mount: $(grep " $MNT " /proc/mounts)"
	expect_mode not-offered $SERVER_DATA
	expect_fstype $FUSE_MAGIC
	vmtool verify $PMEM /payload $MNT
	vmtool check $MNT/wtest 3 $PMEM
	famfs cp $SMALL $MNT/stock-copy.h
	cmp $SMALL $MNT/stock-copy.h
	r=$(counter READ)
	w=$(counter WRITE)
	[ "$r" -gt 0 ] && [ "$w" -gt 0 ] || fail "stock module: READ $r WRITE $w, want both > 0"
	expect_counter GET_FMAP 0
	say "  $(stats_line)"
	fumount

	say "memory failure: the poisoned page fails with EIO, not hang; its neighbours work"
	load_famfs
	fmount $PMEM
	cmp $BIG $MNT/boot/vmlinuz
	vmtool poison $MNT/boot/vmlinuz
	vmtool verify - /payload/linux $MNT/linux >/dev/null ||
		fail "files next to the failed page do not read back"
	vmtool check $MNT/wtest 3 $PMEM
	fumount
	dmesg | grep 'famfs: device 0: memory failure' || fail "no memory failure message"
	say "all master checks passed"
}

case_devdax() {
	make_namespace devdax
	wait_for /dev/dax0.0 10
	DAX=/dev/dax0.0
	load_famfs
	identity $MASTER_UUID
	famfs mkfs -f --allow-small $DAX
	famfs fsck $DAX >/dev/null
	# --devdax: stay on device_dax (without it famfs mount moves the device
	# to famfs_dax, and the kernel maps it: test/vm/dax.sh case=pmem)
	fmount --devdax $DAX
	expect_mode enabled kernel-maps-server-data
	famfs cp -r /payload/* $MNT/
	vmtool verify $DAX /payload $MNT
	dmesg | grep -q 'famfs: device 0: dax0.0: not bound to famfs_dax' ||
		fail "no refusal message for the character device"
	dmesg | grep -q 'famfs: device 0: served by the server' ||
		fail "the server did not take the character device's data"
	w=$(counter WRITE)
	[ "$w" -gt 0 ] || fail "devdax: WRITE $w, want > 0 (FUSE data path)"
	say "famfs.ko: files on /dev/dax0.0 use the server's data path: $(stats_line)"
	row pmem-devdax
	fumount
	fmount --devdax $DAX
	vmtool verify $DAX /payload $MNT
	famfs fsck $MNT >/dev/null
	fumount
	famfs fsck $DAX >/dev/null
	unload_famfs
	fmount $DAX
	expect_mode not-offered $SERVER_DATA
	vmtool verify $DAX /payload $MNT
	fumount
	say "all devdax checks passed"
}

case_master2() {
	mbox_fail_on_exit
	check_fsdax
	N=$(nfiles /payload)
	load_famfs
	identity $MASTER_UUID
	fmount $PMEM
	[ "$(vmtool xattr $MNT user.famfs.role)" = master ] || fail "not the master"
	vmtool verify $PMEM /payload $MNT
	vmtool check $MNT/wtest 3 $PMEM
	vmtool check $MNT/striped 5 $PMEM
	say "the first boot's files persisted"
	if [ "${FAMFS_PEER:-}" != none ]; then mbox_wait MOUNTED 240; fi
	famfs mkdir $MNT/late
	expect_counter READ 0
	expect_counter WRITE 0
	row pmem-fsdax
	famfs cp -r /payload/linux/can/* $MNT/late/
	say "appended $MNT/late ($(nfiles $MNT/late) files)"
	if [ "${FAMFS_PEER:-}" != none ]; then
		mbox_put APPENDED
		mbox_wait DONE 240
	fi
	expect_counter READ 0
	fumount
	say "all master2 checks passed"
}

case_client() {
	mbox_fail_on_exit
	check_fsdax
	N=$(nfiles /payload)
	load_famfs
	identity $CLIENT_UUID
	fmount $PMEM
	role=$(vmtool xattr $MNT user.famfs.role)
	[ "$role" = client ] || fail "role '$role', want client"
	if [ "${FAMFS_PEER:-}" != none ]; then mbox_put MOUNTED; fi
	expect_mode enabled kernel-dax
	vmtool verify $PMEM /payload $MNT
	vmtool check $MNT/wtest 3 $PMEM
	vmtool check $MNT/striped 5 $PMEM
	expect_counter READ 0
	expect_counter WRITE 0
	expect_counter GET_FMAP $((N + 2))
	say "4. the master's files, byte-identical on this host: $(stats_line)"
	vmtool check $MNT/pending-dax 11 $PMEM
	vmtool check $MNT/pending-fuse 12 $PMEM
	vmtool rofile $MNT/wtest
	if [ "${FAMFS_PEER:-}" != none ]; then mbox_wait APPENDED 240; fi
	want=$(nfiles /payload/linux/can)
	poll 30 '[ "$(find $MNT/late -type f 2>/dev/null | wc -l)" -ge "$want" ]' ||
		fail "the master's append did not show up"
	say "the master's append showed up after ~$((POLLED / 10)) s"
	vmtool verify $PMEM /payload/linux/can $MNT/late
	expect_counter READ 0
	expect_counter WRITE 0
	row pmem-fsdax
	if [ "${FAMFS_PEER:-}" != none ]; then mbox_put DONE; fi
	fumount
	say "all client checks passed"
}

# The rules a server cannot bend, each checked where the kernel enforces it.
case_rules() {
	make_namespace fsdax
	check_fsdax
	load_famfs
	identity $MASTER_UUID
	famfs mkfs -f --allow-small $PMEM
	fmount $PMEM
	famfs creat -s 8M $MNT/f
	vmtool fill $MNT/f 7 write
	vmtool check $MNT/f 7 $PMEM
	expect_counter WRITE 0

	say "sizes: the kernel refuses before any upcall (only the same-size truncate is a SETATTR)"
	s0=$(counter SETATTR) a0=$(counter FALLOCATE) o0=$(counter OPEN)
	vmtool sizes $MNT/f
	expect_counter SETATTR $((s0 + 1))
	expect_counter OPEN $((o0 + 2)) # O_RDWR and O_APPEND; not O_TRUNC
	expect_counter FALLOCATE "$a0"
	[ "$(stat -c %s $MNT/f)" = 8388608 ] || fail "the size changed: $(stat -c %s $MNT/f)"

	say "set-id bits are never honoured; the mount is nosuid,nodev"
	famfs creat -m 6755 -s 2M $MNT/setid
	m=$(stat -c %a $MNT/setid)
	[ "$m" = 755 ] || fail "a 6755 file shows mode $m, want 755"
	grep " $MNT " /proc/mounts | grep -q 'nosuid,nodev' || fail "not nosuid,nodev"
	say "  famfs creat -m 6755: mode $m"
	row pmem-fsdax

	say "dropping the map waits for a pinned DAX page (eviction at umount), and says so"
	famfs_param famfs_pin_report_secs 1
	vmtool pin $MNT/f $MNT 3
	famfs_param famfs_pin_report_secs 30
	grep -q " $MNT " /proc/mounts && fail "still mounted"
	# the server lets go of the device (one DAX holder per host) when it exits
	poll 10 '! pidof famfs_fused >/dev/null' || fail "the server did not exit after umount"
	dmesg | grep 'famfs: inode [0-9]*: eviction waits for a DAX page' | tail -1 ||
		fail "no message while eviction waited for the pinned page"

	fmount $PMEM
	section "a pinned page holds neither drop_caches nor a tmpfs mount" rules_pin_reclaim
	section "a write by a user without CAP_FSETID strips set-id bits" rules_setid_write
	section "the last release writes back what a shared mapping dirtied" rules_release_writeback
	section "a server killed by a signal unmounts and leaves no utab entry" rules_signal_utab
	sections_done

	say "removing the pmem namespace while mounted: every mapping goes (SIGBUS), I/O fails with EIO"
	remove_under_map $MNT/f $PMEM
	dmesg | grep -q 'famfs: device 0: removed: its files are unmapped' || fail "famfs was not told"
	say "  $(tr '\n' ' ' </tmp/held)"
	umount $MNT
	say "all rules checks passed"
}

# famfs_fused records helper=famfs in libmount's utab for the mount it makes;
# umount(8) drops the entry when it unmounts. A server that unmounts its own
# mount on SIGTERM (through /dev/famfs: umount2, not umount(8)) must drop it
# too, or the next mount at that place inherits helper=famfs.
rules_signal_utab() {
	local before after
	fumount
	# Entries left by earlier unmounts that bypassed libmount (vmtool's
	# umount2) are counted, not judged: only this mount's entry matters.
	before=$(grep -c "TARGET=$MNT " /run/mount/utab || true)
	famfs_fused $PMEM $MNT
	grep -q " $MNT famfs " /proc/mounts || fail "not mounted through famfs.ko"
	after=$(grep -c "TARGET=$MNT " /run/mount/utab || true)
	[ "$after" = $((before + 1)) ] || fail "utab entries for $MNT: $before before the mount, $after after"
	kill -TERM "$(pidof famfs_fused)"
	poll 10 '! pidof famfs_fused >/dev/null' || fail "the server did not exit on SIGTERM"
	grep -q " $MNT " /proc/mounts && fail "the server left $MNT mounted"
	after=$(grep -c "TARGET=$MNT " /run/mount/utab || true)
	[ "$after" = "$before" ] || fail "the server left its utab entry: $after entries for $MNT, $before before"
	say "  SIGTERM: unmounted, its utab entry gone"
	fmount $PMEM
}

# A page of a closed file pinned for 60 s (vmsplice into a pipe a child
# keeps): reclaim of the inode must not wait for it. drop_caches evicts
# unused inodes through the dentry and inode shrinkers; on 6.1 the shrinker
# runs under shrinker_rwsem, which every mount and umount of the host takes
# too (tmpfs here). The pinned inode stays cached; umount waits (root's).
rules_pin_reclaim() {
	famfs creat -s 2M $MNT/pinned
	# to a file: the child that holds the pipe keeps the output open
	vmtool pinbg $MNT/pinned 60 >/tmp/pinbg.out
	cat /tmp/pinbg.out
	holder=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' /tmp/pinbg.out)
	[ -n "$holder" ] || fail "no pid from pinbg"
	mkdir -p /mnt/tmpfs-probe
	t0=$(date +%s)
	# a few passes: a dentry used lately survives the first
	(for i in 1 2 3; do echo 2 >/proc/sys/vm/drop_caches; done) &
	dc=$!
	sleep 2 # drop_caches is in the shrinkers (6.1: under shrinker_rwsem) by now
	(mount -t tmpfs none /mnt/tmpfs-probe) &
	tm=$!
	stuck=""
	poll 15 '! kill -0 "$dc" 2>/dev/null' || stuck="drop_caches"
	poll 15 '! kill -0 "$tm" 2>/dev/null' || stuck="$stuck tmpfs-mount"
	took=$(($(date +%s) - t0))
	kill "$holder" # the pipe goes: the page is released
	wait "$dc" "$tm" || true
	umount /mnt/tmpfs-probe 2>/dev/null || true
	[ -z "$stuck" ] || fail "still running 15 s later while a famfs page was pinned: $stuck"
	say "  drop_caches and a tmpfs mount finished in $took s with a page of a closed famfs file pinned"
}

# Linux strips set-user-ID (and group-executable set-group-ID) bits when a
# task without CAP_FSETID writes a file: famfs.ko's DAX write path sends
# the SETATTR that does it (the server logs the new mode; the kernel never
# shows set-id bits of a famfs file, so the log tells).
rules_setid_write() {
	famfs creat -m 6777 -s 2M $MNT/setid-user
	famfs creat -m 6777 -s 2M $MNT/setid-root
	s0=$(counter SETATTR) w0=$(counter WRITE)
	vmtool writeas 65534 $MNT/setid-user
	vmtool writeas 0 $MNT/setid-root
	expect_counter WRITE "$w0" # both writes went through the map
	expect_counter SETATTR $((s0 + 1))
	mu=$(famfs logplay -n $MNT | grep ' file  setid-user ' | tail -1 | awk '{print $6}')
	mr=$(famfs logplay -n $MNT | grep ' file  setid-root ' | tail -1 | awk '{print $6}')
	[ "$mu" = 0777 ] || fail "after a write by uid 65534 the log says mode $mu, want 0777"
	[ "$mr" = 6777 ] || fail "after a write by root (CAP_FSETID) the log says mode $mr, want 6777"
	say "  uid 65534's write: mode 6777 -> $mu (one SETATTR); root's: $mr"
	# chown drops set-user-ID, and set-group-ID with group execute, even
	# root's (chown_common); the kernel shows neither bit, so the server must.
	famfs creat -m 6755 -s 2M $MNT/chown-x
	famfs creat -m 6745 -s 2M $MNT/chown-nox
	chown 65534 $MNT/chown-x
	chown 65534:65534 $MNT/chown-nox
	mx=$(famfs logplay -n $MNT | grep ' file  chown-x ' | tail -1 | awk '{print $6}')
	mn=$(famfs logplay -n $MNT | grep ' file  chown-nox ' | tail -1 | awk '{print $6}')
	[ "$mx" = 0755 ] || fail "after root's chown of a 6755 file the log says mode $mx, want 0755"
	[ "$mn" = 2745 ] || fail "after root's chown of a 6745 file the log says mode $mn, want 2745"
	say "  root's chown: 6755 -> $mx, 6745 -> $mn"
}

# Data written through a shared mapping is on the media when the file's
# last reference goes: famfs.ko writes back the file's dirty DAX entries
# (fs_dax dax_writeback_one events) in the call that releases it, before
# the server hears of the release. Periodic writeback is off meanwhile, so
# nothing else writes them back first.
release_wb_count() {
	awk '/vmtool: last release begin/ {b = 1} /vmtool: last release end/ {e = 1}
	     /dax_writeback_one:/ { if (b && !e) n++ } END { print n + 0 }' /tmp/trace
}

rules_release_writeback() {
	wb0=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	famfs creat -s 4M $MNT/wb
	seed=30
	for order in close-first unmap-first; do
		seed=$((seed + 1))
		trace_events fs_dax/dax_writeback_range fs_dax/dax_writeback_one
		vmtool relwb $MNT/wb $seed $order
		tracing_off
		n=$(release_wb_count)
		[ "$n" -ge 1 ] || { cat /tmp/trace; fail "$order: no dax_writeback_one in the call that released the file"; }
		vmtool check $MNT/wb $seed $PMEM
		say "  $order: $n dirty DAX entries written back by the last release"
	done
	echo "$wb0" >/proc/sys/vm/dirty_writeback_centisecs
}

# The namespace attack on path lookups: a user with namespaces of its own
# puts another DAX device (/dev/pmem1: legacy e820 pmem, memmap= on the
# kernel command line) where /dev/pmem0 was, then opens a famfs file first.
case_nsattack() {
	make_namespace fsdax
	check_fsdax
	wait_for /dev/pmem1 10
	[ "$(cat /sys/block/pmem1/queue/dax)" = 1 ] || fail "/dev/pmem1 is not DAX capable"
	load_famfs
	identity $MASTER_UUID
	famfs mkfs -f --allow-small $PMEM
	fmount $PMEM
	famfs cp /payload/boot/vmlinuz $MNT/v
	fumount
	fmount $PMEM # nothing cached: the attacker's open is the file's first
	expect_counter GET_FMAP 0
	vmtool nsattack $MNT/v /payload/boot/vmlinuz $PMEM /dev/pmem1
	expect_counter GET_FMAP 1
	expect_counter READ 0
	row pmem-fsdax
	fumount
	say "all nsattack checks passed"
}

# A server that lies (evilfs, the raw protocol on /dev/famfs): famfs.ko
# keeps the rules whatever the replies say.
evil() { # MODE [MNT]
	_m=${2:-$MNT}
	mkdir -p "$_m"
	evilfs "$_m" $PMEM 8388608 "$1" 2>>/tmp/evil.err
	grep -q " $_m famfs " /proc/mounts || fail "evilfs $1 did not mount on $_m"
}

# Unmount and wait until the server is gone: its connection (and the
# device's DAX holder slot, one per host) is released when it exits.
evil_umount() { # [MNT]
	umount "${1:-$MNT}"
	poll 10 '! pidof evilfs >/dev/null' || fail "evilfs still running after umount"
}

size_is() { # FILE BYTES WHAT
	_s=$(stat -c %s "$1")
	[ "$_s" = "$2" ] || fail "$3: $1 has size $_s, want $2"
}

case_evil() {
	make_namespace fsdax
	check_fsdax
	load_famfs
	say "an attribute reply that halves a mapped file's size"
	evil lie
	vmtool liesize $MNT/f 8388608
	dmesg | grep -q 'famfs: inode 2: server says size 4194304' || fail "no message about the lie"
	evil_umount
	say "set-id bits in every attribute reply"
	evil setid
	m=$(stat -c %a $MNT/f)
	[ "$m" = 644 ] || [ "$m" = 755 ] || fail "the server's 6755 shows as $m"
	say "  mode $m"
	evil_umount
	say "an fmap naming device index 1, which nobody registered"
	evil unreg
	if (exec 3<$MNT/f) 2>/dev/null; then fail "a file on an unregistered device opened"; fi
	dmesg | grep -q 'famfs: inode 2: fmap names device 1, which is not registered' ||
		fail "no message about the unregistered device"
	evil_umount
	say "an fmap extent past the end of the device"
	evil beyond
	if (exec 3<$MNT/f) 2>/dev/null; then fail "a file past the device's end opened"; fi
	dmesg | grep -q 'famfs: inode 2: extent .* beyond device 0' || fail "no message about the extent"
	evil_umount

	say "two mounts of one device on one host: DAX for the first only, the second's server moves the data"
	: >/tmp/evil.err
	evil share
	evil share /mnt/b
	vmtool touch $MNT/f r 4096
	vmtool touch /mnt/b/f r 4096
	cmp $MNT/f /mnt/b/f || fail "the two mounts read different bytes"
	grep -q 'the kernel refused the device: server data' /tmp/evil.err ||
		fail "the second mount's registration was not refused: $(cat /tmp/evil.err)"
	dmesg | grep 'famfs: device 0: pmem0 is mapped by another famfs mount' | tail -1 ||
		fail "no message about the second mount"
	umount /mnt/b
	evil_umount

	say "a CREATE that answers with the mapped file, atomic O_TRUNC offered: its size stays"
	evil create
	exec 3<$MNT/f
	vmtool touch $MNT/f r 4096
	: >$MNT/g
	size_is $MNT/f 8388608 "after O_CREAT|O_TRUNC answered with it"
	vmtool touch $MNT/f r 4096
	exec 3<&-
	evil_umount

	say "NOTIFY_STORE past the end of a mapped file is refused"
	: >/tmp/evil.err
	evil store
	exec 3<$MNT/f
	vmtool touch $MNT/f r 4096
	stat -f $MNT >/dev/null
	size_is $MNT/f 8388608 "after a NOTIFY_STORE past its end"
	grep -q 'NOTIFY_STORE refused' /tmp/evil.err || fail "NOTIFY_STORE: $(cat /tmp/evil.err)"
	exec 3<&-
	evil_umount

	say "fadvise(WILLNEED) of a file opened before its map commits it to the FUSE path"
	evil late
	out=$(vmtool fadvise $MNT/f)
	echo "$out"
	[ "${out##*: }" = fuse ] || fail "a file read ahead into the page cache switched to DAX: $out"
	evil_umount

	section "fallocate racing the open that maps the file" evil_fallocrace
	section "dirty DAX lines are written back before the release that commits" evil_commit
	section "a device registered from a read-only fd" evil_rofd
	section "a read-only block device (blockdev --setro)" evil_setro
	section "one DAX user per device: famfs first" excl_famfs_first
	section "one DAX user per device: ext4 or device-mapper first" excl_other_first
	section "famfs mkfs refuses a block device without DAX" mkfs_nodax
	sections_done
	echo "FAMFS-ROW pmem-fsdax kernel-dax - - -"
	say "all evil-server checks passed"
}

# What a failed section may leave behind: mounts, a server, a dm device, a
# read-only flag. Each section of the evil case starts from a clean device.
evil_reset() {
	for m in $MNT /mnt/b /mnt/ext4; do
		! grep -q " $m " /proc/mounts || umount $m || umount -l $m
	done
	poll 10 '! pidof evilfs famfs_fused >/dev/null' || true
	dmsetup --noudevsync remove famfs-lin 2>/dev/null || true
	blockdev --setrw $PMEM
	: >/tmp/evil.err
}

# fallocate's size rule is checked under the inode lock: a second open's
# GET_FMAP (delayed by the server) switches the file to its map while a
# fallocate past its end waits for that lock; the reply must not grow it.
evil_fallocrace() {
	evil_reset
	evil fallocrace
	vmtool fallocrace $MNT/f /tmp/evilfs-getfmap
	size_is $MNT/f 8388608 "after a fallocate that raced the switch to the map"
	evil_umount
}

# A server that commits a file at its RELEASE ("evilfs: RELEASE" in the
# trace): the file's dirty DAX lines are written back before that.
evil_commit() {
	evil_reset
	evil commit
	for order in close-first unmap-first; do
		trace_events fs_dax/dax_writeback_one
		vmtool relwb $MNT/f 41 $order
		poll 10 "grep -q 'evilfs: RELEASE nodeid 2' $TRACE/trace" ||
			fail "$order: no RELEASE reached the server"
		tracing_off
		n=$(awk '/evilfs: RELEASE nodeid 2/ { exit } /dax_writeback_one:/ { n++ } END { print n + 0 }' /tmp/trace)
		[ "$n" -ge 1 ] || { cat /tmp/trace; fail "$order: no writeback before the RELEASE that commits"; }
		say "  $order: $n dirty DAX entries written back before the server's RELEASE"
	done
	evil_umount
}

# fmap/famfs_kabi.h: an fd not open for writing is accepted on a read-write
# mount; writes to its files fail with EROFS (write) or SIGBUS (a store).
evil_rofd() {
	evil_reset
	evil rofd
	vmtool rowrite $MNT/f
	evil_umount
}

# A block device marked read-only (BLKROSET) is read-only to famfs.ko too,
# whatever fd the server registers it with.
evil_setro() {
	evil_reset
	blockdev --setro $PMEM
	evil share
	rc=0
	vmtool rowrite $MNT/f || rc=$?
	evil_umount
	blockdev --setrw $PMEM
	[ $rc = 0 ] || fail "writes reached a read-only block device"
	# made read-only under a shared writable mapping: the write fault fails
	evil share
	rc=0
	vmtool rolate $MNT/f $PMEM || rc=$?
	evil_umount
	blockdev --setrw $PMEM
	[ $rc = 0 ] || fail "writes reached a block device made read-only under a mapping"
}

# famfs holds the device: nothing else may claim it (one owner per page).
excl_famfs_first() {
	evil_reset
	identity $MASTER_UUID
	famfs mkfs -f --allow-small $PMEM >/dev/null
	fmount $PMEM
	modprobe dm_mod
	famfs creat -s 2M $MNT/kept
	vmtool fill $MNT/kept 51 write
	if mkfs.ext4 -q -F $PMEM >/tmp/other.err 2>&1; then
		fail "mkfs.ext4 -F formatted a device a famfs mount uses"
	fi
	say "  mkfs.ext4 -F: $(tail -1 /tmp/other.err)"
	mkdir -p /mnt/ext4
	if mount -t ext4 -o dax $PMEM /mnt/ext4 2>/tmp/other.err; then
		umount /mnt/ext4
		fail "ext4 mounted a device a famfs mount uses"
	fi
	grep -qi busy /tmp/other.err || fail "mount -t ext4: $(cat /tmp/other.err), want busy"
	say "  mount -t ext4: $(cat /tmp/other.err)"
	if dmsetup --noudevsync create famfs-lin --table "0 $(blockdev --getsz $PMEM) linear $PMEM 0" 2>/tmp/other.err; then
		dmsetup --noudevsync remove famfs-lin
		fail "device-mapper took a device a famfs mount uses"
	fi
	say "  dmsetup create linear: $(tail -1 /tmp/other.err)"
	vmtool check $MNT/kept 51 $PMEM
	fumount
	famfs fsck $PMEM >/dev/null
	# famfs.ko's own claim, whatever the server did (evilfs opens it plainly)
	evil share
	if mkfs.ext4 -q -F $PMEM >/tmp/other.err 2>&1; then
		fail "mkfs.ext4 -F formatted a device famfs.ko maps for a server that did not claim it"
	fi
	if mount -t ext4 -o dax $PMEM /mnt/ext4 2>/tmp/other.err; then
		umount /mnt/ext4
		fail "ext4 mounted a device famfs.ko maps"
	fi
	say "  under evilfs: mkfs.ext4 and mount -t ext4 refused"
	evil_umount
}

# Another owner holds the device first: famfs neither mounts nor registers it,
# and famfs mkfs -f does not overwrite it.
excl_other_first() {
	evil_reset
	identity $MASTER_UUID
	mkfs.ext4 -q -F $PMEM
	mkdir -p /mnt/ext4
	mount -t ext4 -o dax $PMEM /mnt/ext4
	echo ext4-data >/mnt/ext4/file
	modprobe dm_mod
	rc=0
	famfs mkfs -f --allow-small $PMEM 2>/tmp/other.err || rc=$?
	[ $rc = 1 ] || fail "famfs mkfs -f on a mounted ext4: exit $rc, want 1"
	grep -q 'in use' /tmp/other.err || fail "famfs mkfs -f on a mounted ext4: $(cat /tmp/other.err)"
	say "  famfs mkfs -f: $(cat /tmp/other.err)"
	evil share
	poll 10 '! pidof evilfs >/dev/null' || fail "famfs.ko registered a device ext4 has mounted"
	umount $MNT
	grep -q 'REGISTER: Device or resource busy' /tmp/evil.err ||
		fail "the registration of a device ext4 holds: $(cat /tmp/evil.err)"
	say "  registration while ext4 holds it: $(tail -1 /tmp/evil.err)"
	[ "$(cat /mnt/ext4/file)" = ext4-data ] || fail "the ext4 file changed"
	umount /mnt/ext4

	famfs mkfs -f --allow-small $PMEM >/dev/null
	dmsetup --noudevsync create famfs-lin --table "0 $(blockdev --getsz $PMEM) linear $PMEM 0"
	rc=0
	famfs mount $PMEM $MNT 2>/tmp/other.err || rc=$?
	if [ $rc = 0 ]; then
		fumount
		dmsetup --noudevsync remove famfs-lin
		fail "famfs mounted a device that device-mapper holds"
	fi
	grep -q 'in use' /tmp/other.err || fail "famfs mount under device-mapper: $(cat /tmp/other.err)"
	say "  famfs mount under device-mapper: $(tail -1 /tmp/other.err)"
	dmsetup --noudevsync remove famfs-lin
	fmount $PMEM
	fumount
}

# A pmem namespace in raw mode is a block device without DAX.
mkfs_nodax() {
	evil_reset
	identity $MASTER_UUID
	ndctl create-namespace -f -e namespace0.0 -m raw >/dev/null
	wait_for $PMEM 10
	[ "$(cat /sys/block/pmem0/queue/dax)" = 0 ] || fail "a raw namespace has DAX"
	rc=0
	famfs mkfs -f --allow-small $PMEM 2>/tmp/other.err || rc=$?
	[ $rc = 1 ] || fail "famfs mkfs on a block device without DAX: exit $rc, want 1"
	grep -q 'DAX' /tmp/other.err || fail "famfs mkfs without DAX: $(cat /tmp/other.err)"
	say "  $(cat /tmp/other.err)"
	make_namespace fsdax
	check_fsdax
}

# Numbers, not a test (vmtest --bench): the same MB MiB on the same pmem in
# this guest, as a famfs file (famfs.ko, kernel DAX), through the FUSE
# upcall path (famfs.ko unloaded: the kernel's FUSE, the server moves the
# data), and as a file on ext4 -o dax (mkfs.ext4 on the same /dev/pmem0).
# Without famfs.ko the same binaries mount through the kernel's FUSE
# (/dev/fuse, type fuse.famfs) and the server moves the data.
case_stock() {
	make_namespace fsdax
	check_fsdax
	N=$(nfiles /payload)
	[ ! -e /dev/famfs ] || fail "/dev/famfs exists without famfs.ko"
	identity $MASTER_UUID
	famfs mkfs -f --allow-small $PMEM
	fmount $PMEM
	grep -q " $MNT fuse.famfs " /proc/mounts || fail "not a FUSE mount: $(grep " $MNT " /proc/mounts)"
	expect_fstype $FUSE_MAGIC
	expect_mode not-offered $SERVER_DATA
	famfs cp -r /payload/* $MNT/
	fumount
	fmount $PMEM
	vmtool verify $PMEM /payload $MNT
	r=$(counter READ)
	[ "$r" -gt 0 ] || fail "READ $r, want > 0"
	expect_counter GET_FMAP 0
	row pmem-fsdax
	fumount

	say "famfs mount says which data path it got, and that famfs.ko is installed but not loaded"
	famfs mount $PMEM $MNT >/tmp/mount.out 2>&1
	cat /tmp/mount.out
	grep -q 'data path: server' /tmp/mount.out || fail "no data path in famfs mount's output"
	grep -q 'installed but not loaded' /tmp/mount.out || fail "no warning about the module"
	fumount
	say "mount -t famfs (mount.famfs): the kernel loads famfs.ko for the type (fs-famfs)"
	[ ! -e /sys/module/famfs ] || fail "famfs.ko is loaded already"
	mount.famfs $PMEM $MNT >/tmp/mount.out 2>&1
	cat /tmp/mount.out
	[ -e /sys/module/famfs ] || fail "mount -t famfs did not load famfs.ko"
	grep -q " $MNT famfs " /proc/mounts || fail "not a famfs.ko mount: $(grep " $MNT " /proc/mounts)"
	grep -q 'data path: kernel DAX' /tmp/mount.out || fail "famfs mount does not say kernel DAX"
	vmtool verify $PMEM /payload/linux/can $MNT/linux/can
	expect_counter READ 0
	fumount
	say "all stock checks passed"
}

# Two devices unbound at once while a file striped over both is being
# evicted with a page pinned: every walker of the removals must be done
# with the file before its eviction lets it go (20 rounds; slub_debug on
# the command line poisons freed objects, so a use after free shows).
# The walkers run at nice 19 and the unmount at 0: when the pin goes, the
# eviction runs first, as far as the walkers let it.
case_detach() {
	make_namespace fsdax
	check_fsdax
	wait_for /dev/pmem1 10
	[ "$(cat /sys/block/pmem1/queue/dax)" = 1 ] || fail "/dev/pmem1 is not DAX capable"
	load_famfs
	famfs_param famfs_pin_report_secs 1
	nd0=$(basename "$(readlink -f /sys/block/pmem0/device)")
	nd1=$(basename "$(readlink -f /sys/block/pmem1/device)")
	say "devices: 0 = /dev/pmem0 ($nd0), 1 = /dev/pmem1 ($nd1)"
	rounds=${FAMFS_ROUNDS:-20}
	r=1
	while [ $r -le "$rounds" ]; do
		: >/tmp/evil.err
		mkdir -p $MNT
		evilfs $MNT $PMEM 8388608 stripe2 /dev/pmem1 2>>/tmp/evil.err
		grep -q " $MNT famfs " /proc/mounts || fail "round $r: evilfs did not mount"
		vmtool touch $MNT/f r 4096 >/dev/null
		vmtool touch $MNT/g r 4096 >/dev/null
		vmtool pinbg $MNT/f 5 >/dev/null
		w0=$(dmesg | grep -c 'eviction waits for a DAX page' || true)
		umount $MNT &
		um=$!
		poll 10 '[ "$(dmesg | grep -c "eviction waits for a DAX page")" -gt "$w0" ]' ||
			fail "round $r: the unmount did not wait for the pinned page"
		sh -c "renice -n 19 -p \$\$ >/dev/null; echo $nd1 >/sys/bus/nd/drivers/nd_pmem/unbind" &
		u1=$!
		sh -c "renice -n 19 -p \$\$ >/dev/null; echo $nd0 >/sys/bus/nd/drivers/nd_pmem/unbind" &
		u0=$!
		wait_bg $u0 30
		wait_bg $u1 30
		wait_bg $um 30
		echo 2 >/proc/sys/vm/drop_caches
		poll 10 '! pidof evilfs >/dev/null' || fail "round $r: evilfs still running"
		echo "$nd0" >/sys/bus/nd/drivers/nd_pmem/bind
		echo "$nd1" >/sys/bus/nd/drivers/nd_pmem/bind
		wait_for /dev/pmem0 10
		wait_for /dev/pmem1 10
		say "round $r: both devices removed under a pinned striped file being evicted"
		r=$((r + 1))
	done
	dmesg | grep -E -q 'WARNING:|BUG:|Oops|general protection|Poison overwritten|Redzone' &&
		fail "the kernel complained: $(dmesg | grep -E -m3 'WARNING:|BUG:|Oops|Poison|Redzone')"
	echo "FAMFS-ROW pmem+memmap-fsdax kernel-dax - - -"
	say "all detach checks passed"
}

# Hundredths of a second since boot.
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# tools_bench CONFIG DIR: plain tools writing the small-file payload into
# DIR: cp -r, then tar x of the same tree, four copies each, to the end of
# sync (and, on famfs, until every file is committed). Prints "BENCH-TOOLS
# CONFIG cp|tar FILES CENTISECONDS".
tools_bench() {
	n=$(($(nfiles /payload/linux) * 4))
	t0=$(uptime_cs)
	for i in 1 2 3 4; do cp -r /payload/linux "$2/cp$i"; done
	tools_settle "$2"
	echo "BENCH-TOOLS $1 cp $n $(($(uptime_cs) - t0))"
	t0=$(uptime_cs)
	for i in 1 2 3 4; do mkdir "$2/tar$i" && tar -x -f /tmp/payload.tar -C "$2/tar$i"; done
	tools_settle "$2"
	echo "BENCH-TOOLS $1 tar $n $(($(uptime_cs) - t0))"
	(cd /payload/linux && find . -type f) | while read -r f; do
		cmp -s "/payload/linux/$f" "$2/cp4/$f" || fail "$1: cp -r wrote other bytes: $f"
		cmp -s "/payload/linux/$f" "$2/tar4/linux/$f" || fail "$1: tar x wrote other bytes: $f"
	done
}

# tools_settle DIR: sync; on a famfs mount, until nothing is pending.
tools_settle() {
	sync
	case $1 in
	$MNT*) poll 60 '[ "$(server_counter pending_files)" = 0 ]' || fail "files still pending" ;;
	esac
}

case_bench() {
	MB=${FAMFS_BENCH_MB:-64}
	make_namespace fsdax
	check_fsdax
	modprobe crc32c_generic 2>/dev/null || true
	modprobe ext4 2>/dev/null || true
	mkdir -p /mnt/ext4
	identity $MASTER_UUID
	tar -c -f /tmp/payload.tar -C /payload linux
	# famfs and ext4 take turns, three times (the host's load drifts: the
	# table keeps each one's best); the upcall path once. Plain tools on a
	# famfs of 4 KiB units (small files).
	for r in 1 2 3; do
		load_famfs
		famfs mkfs -f --allow-small $PMEM >/dev/null
		fmount $PMEM
		famfs creat -s ${MB}M $MNT/bench
		echo "BENCH-CONFIG famfs"
		vmtool bench $MNT/bench "$MB"
		say "$(stats_line)"
		fumount
		famfs mkfs -f --allow-small --alloc-unit 4K $PMEM >/dev/null
		fmount $PMEM
		tools_bench famfs $MNT
		say "$(stats_line)"
		fumount
		if [ $r = 1 ]; then
			unload_famfs
			famfs mkfs -f --allow-small $PMEM >/dev/null
			fmount $PMEM
			famfs creat -s ${MB}M $MNT/bench
			echo "BENCH-CONFIG fuse"
			vmtool bench $MNT/bench "$MB"
			say "$(stats_line)"
			fumount
			famfs mkfs -f --allow-small --alloc-unit 4K $PMEM >/dev/null
			fmount $PMEM
			tools_bench fuse $MNT
			fumount
		fi
		mkfs.ext4 -q -F -b 4096 -E nodiscard $PMEM
		mount -t ext4 -o dax $PMEM /mnt/ext4
		grep -q ' /mnt/ext4 ext4 .*dax' /proc/mounts ||
			fail "ext4 is not mounted -o dax: $(grep ext4 /proc/mounts)"
		dd if=/dev/zero of=/mnt/ext4/bench bs=1M count="$MB" 2>/dev/null
		sync
		echo "BENCH-CONFIG ext4-dax"
		vmtool bench /mnt/ext4/bench "$MB"
		tools_bench ext4-dax /mnt/ext4
		umount /mnt/ext4
	done
}

# Issue 13: a file system of 4 KiB allocation units.
case_units() {
	make_namespace fsdax
	check_fsdax
	load_famfs
	identity $MASTER_UUID
	U=/tmp/units
	mkdir -p $U
	cp -r /payload/linux/can /payload/linux/usb $U/
	cp /payload/boot/vmlinuz $U/
	head -c $((6 * 1048576 + 12345)) /payload/boot/vmlinuz >$U/tail     # 3 regions + a 4 KiB-page tail
	head -c $((4 * 1048576)) /payload/boot/vmlinuz >$U/whole            # whole regions only
	N=$(nfiles $U)
	famfs mkfs -f --allow-small --alloc-unit 4K $PMEM
	fmount $PMEM
	expect_mode enabled kernel-dax
	famfs cp -r $U/* $MNT/
	famfs fsck $MNT | grep -e 'allocation units' -e used -e placement
	famfs fsck $MNT | grep -q 'placement .*3 of 3 files of 2 MiB or more 2 MiB-aligned' ||
		fail "large files not 2 MiB-aligned: $(famfs fsck $MNT | grep placement)"
	famfs getmap $MNT/tail | sed "s/^/famfs[$CASE]:   tail: /"
	famfs getmap $MNT/can/raw.h | sed "s/^/famfs[$CASE]:   can\/raw.h: /"
	fumount

	say "1. every byte through read(), mmap and on the device; no data upcalls"
	fmount $PMEM
	vmtool verify $PMEM $U $MNT
	expect_counter READ 0
	expect_counter WRITE 0
	expect_counter GET_FMAP "$N"
	expect_counter GET_DAXDEV 0
	[ "$(server_counter fmap_align_refused)" = 0 ] || fail "the server refused maps to famfs.ko"
	row pmem-fsdax

	say "2. faults: PMD on the large file's aligned body, PTE in its tail and in small files"
	tracing_on
	vmtool touch $MNT/tail r 4096
	tracing_off
	pmd=$(grep 'dax_pmd_fault_done:' /tmp/trace | grep -c NOPAGE || true)
	fb=$(grep 'dax_pmd_fault_done:' /tmp/trace | grep -c FALLBACK || true)
	pte=$(grep 'dax_pte_fault_done:' /tmp/trace | grep -c NOPAGE || true)
	[ "$pmd" -ge 3 ] && [ "$pte" -ge 1 ] && [ "$pte" -le 4 ] ||
		{ cat /tmp/trace; fail "tail: $pmd PMD faults, $pte PTE faults; want >= 3 and 1..4"; }
	say "  tail (6 MiB + 12345): $pmd PMD faults, $pte PTE faults in the 4 KiB-page tail ($fb PMD fallbacks)"
	tracing_on
	vmtool touch $MNT/can/raw.h r 4096
	vmtool touch $MNT/usb/ch9.h r 4096
	tracing_off
	pmd=$(grep 'dax_pmd_fault_done:' /tmp/trace | grep -c NOPAGE || true)
	pte=$(grep 'dax_pte_fault_done:' /tmp/trace | grep -c NOPAGE || true)
	[ "$pmd" = 0 ] && [ "$pte" -ge 2 ] ||
		{ cat /tmp/trace; fail "small files: $pmd PMD faults, $pte PTE faults; want 0 and >= 2"; }
	say "  small packed files: $pte PTE faults, no PMD"
	vmtool touch $MNT/vmlinuz r 4096
	expect_counter READ 0
	fumount

	say "3. famfs_pte_extents=0, a kernel that needs 2 MiB: the server serves what it cannot map"
	famfs_param famfs_pte_extents N
	fmount $PMEM
	vmtool verify $PMEM $U $MNT
	r=$(counter READ)
	refused=$(server_counter fmap_align_refused)
	[ "$r" -gt 0 ] && [ "$refused" -gt 0 ] ||
		fail "2 MiB kernel: READ $r, fmap_align_refused $refused; want both > 0"
	r0=$(counter READ)
	cmp $U/whole $MNT/whole
	expect_counter READ "$r0" # whole regions: still mapped by the kernel
	say "  $refused maps refused (READ $r): $(stats_line)"
	fumount
	famfs_param famfs_pte_extents Y
	say "all 4 KiB-unit checks passed"
}

case $CASE in
master) case_master ;;
units) case_units ;;
devdax) case_devdax ;;
master2) case_master2 ;;
rules) case_rules ;;
nsattack) case_nsattack ;;
evil) case_evil ;;
detach) case_detach ;;
stock) case_stock ;;
client) case_client ;;
bench) case_bench ;;
*) fail "unknown famfs.case=$CASE" ;;
esac
say ok
