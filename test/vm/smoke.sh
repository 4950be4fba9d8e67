#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# smoke.sh - guest test: the test bed itself works (pmem/DAX, famfs.ko,
# persistence and sharing of the emulated NVDIMM). Runs inside the guest
# under `sh -e` (guest-init.sh); selected with famfs.test=smoke.
#
# Usage (kernel command line, via run-vm.sh --test smoke --arg KEY=VALUE):
#   famfs.case=fsdax   (default) ndctl create-namespace -m fsdax -> /dev/pmem0,
#                      check DAX; a libfuse hello_ll file system on the
#                      kernel's FUSE before, with and after famfs.ko loaded;
#                      write "FAMFS-MARKER <nonce>" at MARK_BLK of /dev/pmem0
#   famfs.case=verify  (later boot, same backing file) read the marker back
#   famfs.case=share   two guests at once on one backing file: verify the
#                      marker, then famfs.role=master writes PING <nonce> and
#                      waits for PONG <nonce>, famfs.role=client waits for the
#                      PING and answers PONG (all via O_DIRECT-free dd +
#                      drop_caches, so reads hit the shared memory)
#   famfs.case=devdax  ndctl create-namespace -m devdax -> /dev/dax0.0, show
#                      daxctl's view
#   famfs.nonce=STRING marker text (required by fsdax/verify/share)
#   famfs.share_timeout=SEC  how long share waits for the peer (default 120)

MARK_BLK=65536 # 4 KiB blocks: 256 MiB into /dev/pmem0
PING_BLK=$((MARK_BLK + 1))
PONG_BLK=$((MARK_BLK + 2))
CASE=${FAMFS_CASE:-fsdax}
# shellcheck source=test/vm/lib.sh
. "${0%/*}/lib.sh"
NONCE=${FAMFS_NONCE:-}

# Read the first line of 4 KiB block BLK of /dev/pmem0, bypassing the page
# cache (another host may have written it).
pmem_read() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/pmem0 bs=4096 skip="$1" count=1 2>/dev/null | head -n 1 | tr -d '\000'
}

pmem_write() { # BLK TEXT
	printf '%s\n' "$2" | dd of=/dev/pmem0 bs=4096 seek="$1" count=1 \
		conv=sync,notrunc,fsync 2>/dev/null
}

make_namespace() { # MODE
	say "ndctl create-namespace -f -e namespace0.0 -m $1"
	ndctl create-namespace -f -e namespace0.0 -m "$1"
}

check_fsdax() {
	wait_for /dev/pmem0 10
	dax=$(cat /sys/block/pmem0/queue/dax)
	[ "$dax" = 1 ] || fail "/sys/block/pmem0/queue/dax is $dax, want 1"
	ndctl list -N | grep -q '"mode":"fsdax"' || fail "namespace0.0 is not fsdax: $(ndctl list -N)"
	say "/dev/pmem0: $(($(cat /sys/block/pmem0/size) / 2048)) MiB, dax=1, mode fsdax"
}

# hello_up / hello_read / hello_down: libfuse's hello_ll on the kernel's
# own FUSE (/dev/fuse) at /mnt/fuse.
hello_up() {
	mkdir -p /mnt/fuse
	hello_ll -f -s /mnt/fuse &
	HELLO_PID=$!
	poll 10 "grep -q ' /mnt/fuse fuse' /proc/mounts" ||
		{ kill $HELLO_PID; fail "hello_ll did not mount /mnt/fuse"; }
}

hello_read() { # WHEN
	got=$(cat /mnt/fuse/hello)
	[ "$got" = "Hello World!" ] || fail "read '$got' from /mnt/fuse/hello ($1)"
	say "FUSE mount ($1): read '$got'"
}

hello_down() {
	umount /mnt/fuse
	wait $HELLO_PID
}

# famfs.ko loads while the kernel's FUSE is loaded and in use (a FUSE mount
# up), registers only its own names, and goes away again under it.
famfs_beside_fuse() {
	hello_up
	hello_read "famfs.ko not loaded"
	[ -d /sys/module/fuse ] && say "fuse: $(grep '^fuse ' /proc/modules || echo built in)"
	modprobe famfs # and famfs_dax, whose symbols it uses
	say "famfs.ko loaded while a FUSE mount is up: taint '$(cat /sys/module/famfs/taint)'"
	wait_for /dev/famfs 5
	grep -q '	famfs$' /proc/filesystems || fail "no file system type famfs"
	grep -q '	fuse$' /proc/filesystems || fail "the kernel's fuse type is gone"
	[ -c /dev/fuse ] || fail "/dev/fuse is gone"
	[ -d /sys/fs/famfs ] || fail "no /sys/fs/famfs"
	[ "$(stat -c %a /dev/famfs)" = 600 ] || fail "/dev/famfs is mode $(stat -c %a /dev/famfs)"
	say "/dev/famfs $(stat -c '%t:%T' /dev/famfs) (misc, dynamic minor), /dev/fuse $(stat -c '%t:%T' /dev/fuse)"
	hello_read "famfs.ko loaded"
	hello_down
	hello_up
	hello_read "mounted after famfs.ko"
	rmmod famfs
	hello_read "famfs.ko unloaded"
	hello_down
}

need_nonce() { [ -n "$NONCE" ] || fail "famfs.nonce= not given"; }

verify_marker() {
	need_nonce
	got=$(pmem_read $MARK_BLK)
	[ "$got" = "FAMFS-MARKER $NONCE" ] || fail "marker block $MARK_BLK holds '$got', want 'FAMFS-MARKER $NONCE'"
	say "marker from the earlier boot read back: '$got'"
}

# Poll block BLK until it holds TEXT (the peer guest writes it).
wait_block() { # BLK TEXT SECONDS
	i=0
	while [ "$(pmem_read "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -le $(($3 * 5)) ] || fail "block $1 never became '$2' (has '$(pmem_read "$1")')"
		sleep 0.2
	done
}

case $CASE in
fsdax)
	need_nonce
	make_namespace fsdax
	check_fsdax
	famfs_beside_fuse
	# Our binaries, if the initramfs has them: their libraries must load
	# (the loader's "cannot open shared object" exits 127).
	for b in famfs famfs_fused; do
		command -v $b >/dev/null || continue
		rc=0; $b --help >/dev/null 2>&1 || rc=$?
		[ $rc -ne 127 ] || fail "$b does not start (missing library?)"
		say "$b starts (--help exit $rc)"
	done
	pmem_write $MARK_BLK "FAMFS-MARKER $NONCE"
	got=$(pmem_read $MARK_BLK)
	[ "$got" = "FAMFS-MARKER $NONCE" ] || fail "marker readback '$got'"
	say "wrote marker 'FAMFS-MARKER $NONCE' at block $MARK_BLK"
	;;
verify)
	check_fsdax
	verify_marker
	;;
share)
	check_fsdax
	verify_marker
	t=${FAMFS_SHARE_TIMEOUT:-120}
	case ${FAMFS_ROLE:-} in
	master)
		pmem_write $PONG_BLK "" # no stale answer; the client answers only after PING
		pmem_write $PING_BLK "PING $NONCE"
		say "wrote PING $NONCE, waiting for the client's PONG"
		wait_block $PONG_BLK "PONG $NONCE" "$t"
		say "client answered: $(pmem_read $PONG_BLK)"
		;;
	client)
		say "waiting for the master's PING $NONCE"
		wait_block $PING_BLK "PING $NONCE" "$t"
		pmem_write $PONG_BLK "PONG $NONCE"
		say "saw PING, wrote PONG $NONCE"
		;;
	*) fail "famfs.role must be master or client" ;;
	esac
	;;
devdax)
	make_namespace devdax
	wait_for /dev/dax0.0 10
	[ -c /dev/dax0.0 ] || fail "/dev/dax0.0 is not a character device"
	size=$(cat /sys/bus/dax/devices/dax0.0/size)
	[ "$size" -gt 0 ] || fail "dax0.0 size $size"
	say "daxctl list:"
	daxctl list
	say "ndctl list -N:"
	ndctl list -N
	daxctl list | grep -q '"chardev":"dax0.0"' || fail "daxctl does not list dax0.0"
	say "/dev/dax0.0: $((size / 1048576)) MiB, align $(cat /sys/bus/dax/devices/dax0.0/align 2>/dev/null || echo ?)"
	;;
*)
	fail "unknown famfs.case=$CASE"
	;;
esac
say "ok"
