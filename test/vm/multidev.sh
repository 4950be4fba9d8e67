#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# multidev.sh - guest test: one famfs over two devices of one guest (two
# emulated NVDIMMs, two emulated CXL type-3 devices), and one CXL region
# interleaving two devices. Runs inside the guest under `sh -e`
# (guest-init.sh); selected with famfs.test=multidev.
#
# mkfs and devadd on the real devices, fsck from any of them, famfs daxdev
# list/resolve/refresh finding both by uuid, the server serving both
# devices (plain files on either, files striped over both, written with
# write() and through mmap) with every device registered with famfs.ko:
# zero READ/WRITE upcalls, every file byte-identical through read(), mmap
# and on its devices at its map; a second host that names the devices the
# other way round finding them by uuid and reading the same.
#
# Usage (kernel command line, via run-vm.sh --test multidev --arg KEY=VALUE):
#   famfs.case=pmem2-fsdax   two NVDIMMs (run-vm.sh --image A --image B),
#                       fsdax namespaces /dev/pmem0 and /dev/pmem1, this host
#                       the master: famfs mkfs of one device then famfs
#                       devadd of the other, unmounted; famfs mkfs of both;
#                       fsck from each; daxdev list, resolve (from an empty
#                       cache: by scanning) and refresh; famfs mount of the
#                       primary: the payload and two files striped over
#                       both devices, remounted, byte-identical with READ 0
#                       and WRITE 0 (famfs.ko maps both devices); a file on
#                       device 1 made by the library alone
#                       (test/tools/famfs_mdfile) is served too; the file
#                       system stays for the peer
#   famfs.case=pmem2-fsdax-peer   the next boot, another host (identity,
#                       empty device cache) with the same NVDIMMs the other
#                       way round (run-vm.sh --image B --image A: its
#                       /dev/pmem0 is the master's /dev/pmem1): fsck from
#                       its /dev/pmem0 (a secondary) finds the primary on
#                       /dev/pmem1 by uuid and checks the whole; daxdev
#                       resolve/refresh/list; the file on device 1 reads
#                       byte-identical through this host's names; mounting
#                       the secondary is refused (SB_SECONDARY); mounting
#                       the primary as a client with no other argument:
#                       every file (plain on either device, striped over
#                       both) byte-identical with zero upcalls; then
#                       device 1's namespace removed under the mount:
#                       exactly the files with an extent on it fail (EIO,
#                       SIGBUS mapped), the rest read byte-identical
#   famfs.case=devadd-master, devadd-client  two hosts at once on the
#                       NVDIMMs of pmem2-fsdax, the client seeing them the
#                       other way round: famfs devadd on the mounted master
#                       while the client follows; the client finds the new
#                       device by uuid and reads its files with zero upcalls
#   famfs.case=pmem2-devdax  the master's checks on devdax namespaces
#                       (the server moves /dev/dax0.0 and /dev/dax1.0 to
#                       famfs_dax when mounted); /dev/dax1.0 given back to
#                       device_dax, famfs mount of
#                       /dev/dax1.0, refused (the secondary; then wiped: no
#                       famfs), gives it back to device_dax; then devdax and
#                       pmem mixed: /dev/dax0.0 with /dev/pmem1; then, both
#                       fsdax, famfs devadd of /dev/pmem1 through the
#                       mounted master of /dev/pmem0 while a client (another
#                       identity of this guest) follows: the master reads
#                       the new files with zero upcalls, the client learns
#                       the device and reads them with no remount
#   famfs.case=cxl2-devdax   the master's checks on two CXL type-3 devices
#                       (run-vm.sh --cxl A --cxl B), a pmem region each
#                       (cxl create-region -w 1) in devdax mode
#   famfs.case=cxl2-devdax-peer   the peer's checks on them, the other way
#                       round (run-vm.sh --cxl B --cxl A)
#   famfs.case=cxl2i-devdax  one CXL region interleaving both devices
#                       (cxl create-region -w 2 -g 4096 on the window over
#                       both host bridges), devdax: famfs sees one device;
#                       mkfs, mount, cp, remount, every file byte-identical
#                       through read(), mmap and the device with READ 0 and
#                       WRITE 0 (famfs.ko); a file of marker lines for the
#                       host to find in both backing files
#   famfs.nonce=STRING  the marker of cxl2i-devdax
# Every boot creates the CXL regions again (qemu resets the decoders), a
# region per device in the order of the devices' PCI addresses, so that the
# first --cxl device is region0 (dax0.0) on every host; only the master
# creates namespaces, the peer finds them in the shared label areas.

# shellcheck disable=SC2046 # set -- $(...): the words of a command's output
CASE=${FAMFS_CASE:-pmem2-fsdax}
# shellcheck source=test/vm/lib.sh
. "${0%/*}/lib.sh"
NONCE=${FAMFS_NONCE:-x}
SYS=/sys/bus/dax
# The file on device 1 and its pattern (famfs_mdfile)
ON1=on1
ON1_SIZE=5000000
ON1_SEED=4242
STRIPED_SEED=77

fail_context() {
	dmesg | grep -i -e famfs -e dax -e cxl -e nd_ | tail -20
	tail -20 /tmp/out 2>/dev/null || true
}

# run CMD...: run it with its output in /tmp/out (printed); fail if it fails
run() {
	"$@" >/tmp/out 2>&1 || { cat /tmp/out; fail "$* failed"; }
	sed 's/^/  | /' /tmp/out
}

# refused RC CMD...: CMD must exit with RC; its output in /tmp/out
refused() {
	want=$1
	shift
	rc=0
	"$@" >/tmp/out 2>&1 || rc=$?
	sed 's/^/  | /' /tmp/out
	[ $rc = "$want" ] || fail "$* exited $rc, want $want"
}

# has REGEX: the last output (/tmp/out) has a line matching REGEX
has() { grep -E -q -e "$1" /tmp/out || fail "no line matching '$1' in the output above"; }

# dev_files INDEX N: famfs fsck's last output says device INDEX holds N files
dev_files() {
	grep -A1 -E "^ *device $1 " /tmp/out | tail -1 | grep -E -q " $2 files?\$" ||
		fail "fsck does not count $2 files on device $1"
}

driver_of() {
	l=$(readlink $SYS/devices/$1/driver 2>/dev/null || true)
	if [ -n "$l" ]; then basename "$l"; else echo none; fi
}

expect_driver() { # daxX.Y DRIVER
	d=$(driver_of "$1")
	[ "$d" = "$2" ] || fail "$1 is bound to '$d', want '$2'"
}

# Kernel-mode famfs: famfs.ko and famfs_dax.ko (modprobe famfs loads both).
load_famfs() {
	grep -q '^famfs ' /proc/modules || modprobe famfs
	wait_for /dev/famfs 5
}

fmount() { # DEVICE
	mkdir -p $MNT
	famfs mount "$@" $MNT >/tmp/mount.out 2>&1 || { cat /tmp/mount.out; fail "famfs mount $* failed"; }
	sed 's/^/  | /' /tmp/mount.out
	grep -q " $MNT famfs " /proc/mounts || fail "famfs mount $* did not mount type famfs"
}

stats_line() {
	vmtool xattr $MNT user.famfs.stats | grep -e '^fmap' -e '^data' -e '^READ ' \
		-e '^WRITE ' -e '^GET' | tr '\n' ' '
}

# The payload: all of it on NVDIMMs; on CXL memory (~50 MiB/s under TCG)
# the kernel image and one directory of headers.
payload_dirs() {
	case $CASE in
	pmem*) echo boot linux ;;
	*) echo boot linux/can ;;
	esac
}

copy_payload() {
	for d in $(payload_dirs); do
		to=$MNT
		case $d in */*) to=$MNT/${d%/*} && famfs mkdir -p "$to" ;; esac
		famfs cp -r /payload/$d "$to/" >/tmp/cp.out 2>&1 ||
			{ cat /tmp/cp.out; fail "famfs cp -r /payload/$d $to/"; }
	done
}

verify_payload() { # PRIMARY
	n=0
	for d in $(payload_dirs); do
		vmtool verify "$1" /payload/$d $MNT/$d
		n=$((n + $(nfiles /payload/$d)))
	done
	NFILES=$n
}

# Zero data upcalls: the kernel maps every file (famfs.ko).
expect_kernel_dax() {
	expect_mode enabled kernel-dax
	expect_counter READ 0
	expect_counter WRITE 0
}

# Two files striped over both devices (strip 0 and 1 on different devices),
# written through the mount: one with write(), one through a shared mmap.
striped_files() {
	for f in striped-w:write striped-m:mmap; do
		famfs creat -s 8M -N 2 -B 2 $MNT/${f%:*} >/tmp/out 2>&1 ||
			{ cat /tmp/out; fail "famfs creat -N 2 ${f%:*}"; }
		vmtool xattr $MNT/${f%:*} user.famfs.map >/tmp/out
		has "^strip 0 dev [01] "
		has "^strip 1 dev [01] "
		[ "$(grep -c '^strip [01] dev 0 ' /tmp/out)" = 1 ] || fail "${f%:*}: strips not on both devices"
		vmtool fill $MNT/${f%:*} $STRIPED_SEED ${f#*:}
	done
}

# check_striped DEV0,DEV1: both striped files, through read() and on the devices
check_striped() {
	for f in striped-w striped-m; do
		vmtool check $MNT/$f $STRIPED_SEED "$1" >/tmp/out 2>&1 || { cat /tmp/out; fail "$f"; }
	done
}

# expect_devices DEV0 DEV1: user.famfs.devices: both, mapped by famfs.ko
expect_devices() {
	vmtool xattr $MNT user.famfs.devices >/tmp/out
	sed 's/^/  | /' /tmp/out
	has "^0 [0-9a-f-]+ [0-9]+ [0-9]+ [0-9]+ kernel $1\$"
	has "^1 [0-9a-f-]+ [0-9]+ [0-9]+ [0-9]+ kernel $2\$"
}

# dev_has_files INDEX: famfs fsck's last output counts files on device INDEX
dev_has_files() {
	grep -A1 -E "^ *device $1 " /tmp/out | tail -1 | grep -E -q " [1-9][0-9]* files?\$" ||
		fail "fsck counts no file on device $1"
}

# to_device_dax daxX.Y: give a device the server moved to famfs_dax back to device_dax
to_device_dax() {
	echo "$1" >$SYS/drivers/famfs_dax/unbind
	echo "$1" >$SYS/drivers/famfs_dax/remove_id 2>/dev/null || true
	echo "$1" >$SYS/drivers/device_dax/bind 2>/dev/null || echo "$1" >$SYS/drivers/device_dax/new_id
	expect_driver "$1" device_dax
}

# Not a test (numbers for the record, "BENCH-MD" lines in the guest log): a
# file striped over both devices vs a file of the same size on one device,
# through famfs.ko (read()/write() and a shared mapping, 1 MiB blocks; each
# file measured twice, alternating).
BENCH_MB=32
bench_striping() {
	famfs creat -s ${BENCH_MB}M -N 2 -B 2 $MNT/bench-striped >/dev/null
	famfs creat -s ${BENCH_MB}M $MNT/bench-one >/dev/null
	vmtool xattr $MNT/bench-one user.famfs.map >/tmp/out
	grep -q " dev 1 " /tmp/out && grep -q " dev 0 " /tmp/out && say "bench-one spans both devices"
	for r in 1 2; do
		for f in striped one; do
			daxtool bench $MNT/bench-$f $BENCH_MB 1M | sed "s/^BENCH /BENCH-MD $f /"
		done
	done
	expect_counter READ 0
	expect_counter WRITE 0
}

# ------------------------------------------------------------- devices

# pmem2_setup MODE [create]: the namespaces of the two NVDIMMs (region0,
# region1) in MODE (fsdax or devdax, --map=mem: the page map in this
# guest's RAM, never on the shared device); with "create" this host writes
# them, else it finds what the master wrote. Sets DEV0 DEV1.
pmem2_setup() {
	for r in 0 1; do
		if [ "${2:-}" = create ]; then
			say "ndctl create-namespace -f -e namespace$r.0 -m $1 --map=mem"
			ndctl create-namespace -f -e namespace$r.0 -m "$1" --map=mem >/dev/null
		fi
	done
	if [ "$1" = fsdax ]; then
		DEV0=/dev/pmem0 DEV1=/dev/pmem1
	else
		DEV0=/dev/dax0.0 DEV1=/dev/dax1.0
	fi
	wait_for $DEV0 10
	wait_for $DEV1 10
	if [ "$1" = fsdax ]; then
		for p in pmem0 pmem1; do
			[ "$(cat /sys/block/$p/queue/dax)" = 1 ] || fail "/dev/$p is not DAX capable"
		done
	fi
}

# cxl_mems: the CXL memory devices, in the order of their PCI addresses
# (the order of run-vm.sh's --cxl options)
cxl_mems() {
	cxl list -M | tr -d ' \n' | sed 's/},{/}\n{/g' |
		sed -n 's/.*"memdev":"\(mem[0-9]*\)".*"host":"\([^"]*\)".*/\2 \1/p' | sort | cut -d' ' -f2
}

cxl_modules() {
	for m in cxl_acpi cxl_pci cxl_mem cxl_pmem cxl_port dax_cxl; do
		modprobe $m 2>/dev/null || true
	done
	poll 10 '[ "$(cxl_mems | wc -l)" = 2 ]' || fail "want two CXL memory devices: $(cxl list -M 2>&1)"
	MEMS=$(cxl_mems | tr '\n' ' ')
}

# nd_regions: the nvdimm regions the CXL regions became
nd_regions() { ndctl list -R 2>/dev/null | grep -o '"dev":"region[0-9]*"' | cut -d'"' -f4 | sort; }

# cxl_namespace NDREGION [create]: its devdax namespace; prints the dax device
cxl_namespace() {
	if ! ndctl list -N -r "$1" | grep -q '"mode":"devdax"'; then
		[ "${2:-}" = create ] || fail "no devdax namespace on $1 in the label area: $(ndctl list -N)"
		ndctl create-namespace -r "$1" -m devdax --map=mem >/dev/null
	fi
	ndctl list -N -r "$1" | grep -o '"chardev":"dax[0-9.]*"' | cut -d'"' -f4
}

# cxl2_setup [create]: a pmem region per CXL device, each on the root
# decoder (window) of its host bridge, one after the other in PCI order;
# a devdax namespace each. Sets DEV0 DEV1 (the first and second device's).
cxl2_setup() {
	cxl_modules
	i=0
	for m in $MEMS; do
		done_=
		for d in decoder0.0 decoder0.1; do
			if cxl create-region -m -d $d -w 1 -t pmem "$m" >/tmp/out 2>&1; then
				done_=$d
				break
			fi
		done
		[ -n "$done_" ] || { cat /tmp/out; fail "cxl create-region of $m on decoder0.0 or 0.1"; }
		i=$((i + 1))
		poll 10 '[ "$(nd_regions | wc -l)" = $i ]' || fail "no nvdimm region for $m"
		say "cxl create-region -d $done_ -w 1 -t pmem $m: $(grep -o '"region":"[a-z0-9]*"' /tmp/out)"
	done
	set -- $(nd_regions) "${1:-}"
	DEV0=/dev/$(cxl_namespace "$1" "$3")
	DEV1=/dev/$(cxl_namespace "$2" "$3")
	wait_for $DEV0 10
	wait_for $DEV1 10
	say "CXL devdax: $DEV0 on ${MEMS%% *}, $DEV1 on ${MEMS#* }"
}

# --------------------------------------------------------------- checks

# uuids_of DEV: "FS_UUID DEV_UUID" of DEV from this host's device cache
uuids_of() {
	famfs daxdev list | awk -v p="$1" '$NF == p && ($1 == "primary" || $1 == "secondary") { print $2, $3 }'
}

# master_checks DEV0 DEV1 LABEL: this host, the master, makes the file system.
master_checks() {
	D0=$1 D1=$2 LABEL=$3
	load_famfs
	identity $MASTER_UUID
	mkdir -p /var/lib # a host's; famfs keeps its device cache in /var/lib/famfs

	say "devadd: mkfs of $D0 alone, then famfs devadd of $D1 (unmounted)"
	run famfs mkfs -f --allow-small "$D0"
	run famfs devadd --allow-small "$D0" "$D1"
	has "$D1 is device 1 of $D0"
	run famfs fsck "$D1"
	has "checking its file system from the primary $D0"
	has "^ *devices +2"
	has "clean"

	say "famfs mkfs $D0 $D1: one file system, $D0 the primary"
	run famfs mkfs -f --allow-small "$D0" "$D1"
	has "2 devices"
	has "device 1: $D1 "
	set -- $(uuids_of "$D0")
	FS=$1 U0=$2
	set -- $(uuids_of "$D1")
	[ "$1" = "$FS" ] || fail "the cache says $D1 is of file system '$1', not $FS"
	U1=$2
	say "file system $FS: device 0 $U0 ($D0), device 1 $U1 ($D1)"

	say "fsck from either device checks the whole"
	run famfs fsck "$D0"
	has "^ *devices +2"
	has "^ *device 0 +$U0 $D0"
	has "^ *device 1 +$U1 $D1"
	has clean
	run famfs fsck "$D1"
	has "checking its file system from the primary $D0"
	has "^ *device 0 +$U0 $D0"
	has clean

	say "famfs daxdev: the cache mkfs filled, then resolution by scanning from an empty one"
	run famfs daxdev list
	has "^ *primary +$FS $U0 .* $D0\$"
	has "^ *secondary +$FS $U1 .* $D1\$"
	rm -f /var/lib/famfs/devices
	run famfs daxdev list
	has "0 devices known"
	run famfs daxdev resolve "$D1"
	has "^ +0 $U0 .* $D0 \(primary\)"
	has "^ +1 $U1 .* $D1\$"
	run famfs daxdev resolve "$FS" "$U1"
	has "^$D1\$"
	rm -f /var/lib/famfs/devices
	run famfs daxdev refresh
	has "2 famfs devices found"
	run famfs daxdev list
	has "^ *primary +$FS $U0 .* $D0\$"
	has "^ *secondary +$FS $U1 .* $D1\$"

	say "famfs mount $D0: the server serves both devices: plain files on either, striped files on both"
	fmount "$D0"
	[ "$(vmtool xattr $MNT user.famfs.role)" = master ] || fail "not the master"
	copy_payload
	striped_files
	famfs umount $MNT
	fmount "$D0"
	verify_payload "$D0,$D1"
	check_striped "$D0,$D1"
	expect_kernel_dax
	expect_counter GET_FMAP $((NFILES + 2))
	expect_devices "$D0" "$D1"
	say "  $NFILES files and 2 striped byte-identical, $(stats_line)"
	run famfs fsck $MNT
	has "^ *devices +2"
	has clean
	dev_has_files 0
	dev_has_files 1
	row "$LABEL"
	# CXL memory under TCG moves ~30 MiB/s: the figures are noise there, and slow
	case $CASE in pmem*) bench_striping ;; esac
	famfs umount $MNT

	say "a file made by the library with both devices open (famfs_mdfile), then served too"
	run famfs_mdfile create "$D0" $ON1 $ON1_SIZE $ON1_SEED
	has "^$ON1: extent 0: device [01] "
	run famfs fsck "$D1"
	has clean
	fmount "$D0"
	[ "$(stat -c %s $MNT/$ON1)" = $ON1_SIZE ] || fail "$MNT/$ON1 is not served"
	verify_payload "$D0,$D1"
	expect_kernel_dax
	famfs umount $MNT
	run famfs_mdfile check "$D0" $ON1 $ON1_SEED
	say "all master checks passed"
}

# peer_checks DEV0 DEV1 LABEL: another host, the devices the other way
# round: its DEV0 is the master's device 1, its DEV1 the primary.
peer_checks() {
	E0=$1 E1=$2 LABEL=$3
	load_famfs
	identity $CLIENT_UUID
	mkdir -p /var/lib

	say "a new host: an empty device cache"
	run famfs daxdev list
	has "0 devices known"

	say "fsck from $E0 (a secondary) finds the primary on $E1 by uuid and checks the whole"
	run famfs fsck "$E0"
	has "checking its file system from the primary $E1"
	has "^ *devices +2"
	has "^ *device 0 +[0-9a-f-]+ $E1\$"
	has "^ *device 1 +[0-9a-f-]+ $E0\$"
	dev_has_files 1
	has clean
	run famfs daxdev resolve "$E0"
	has "^ +0 [0-9a-f-]+ .* $E1 \(primary\)"
	has "^ +1 [0-9a-f-]+ .* $E0\$"
	run famfs daxdev refresh
	has "2 famfs devices found"
	run famfs daxdev list
	has "^ *primary .* $E1\$"
	has "^ *secondary .* $E0\$"
	set -- $(uuids_of "$E0")
	run famfs daxdev resolve "$1" "$2"
	has "^$E0\$"

	say "the file famfs_mdfile made, through this host's names for the devices"
	run famfs_mdfile check "$E1" $ON1 $ON1_SEED
	has "^$ON1: extent 0: device (0 \($E1\)|1 \($E0\))"

	say "mounting the secondary is refused; the primary mounts as a client and serves both devices"
	mkdir -p $MNT
	refused 1 famfs mount "$E0" $MNT
	has "SB_SECONDARY"
	fmount "$E1"
	role=$(vmtool xattr $MNT user.famfs.role)
	[ "$role" = client ] || fail "role '$role', want client"
	[ "$(stat -c %s $MNT/$ON1)" = $ON1_SIZE ] || fail "$MNT/$ON1 is not served"
	# device 0 is this host's $E1, device 1 its $E0
	verify_payload "$E1,$E0"
	check_striped "$E1,$E0"
	expect_kernel_dax
	expect_counter GET_FMAP $((NFILES + 2))
	expect_devices "$E1" "$E0"
	say "  the master's $NFILES files and 2 striped byte-identical: $(stats_line)"
	row "$LABEL"
	famfs umount $MNT
	say "all peer checks passed"
}

# unbind_checks PRIMARY SECONDARY: the secondary's namespace removed while
# the file system is mounted fails exactly the files with an extent on it
# (read: EIO, a shared mapping: SIGBUS); every file wholly on the primary
# still reads byte-identical.
unbind_checks() {
	E1=$1 E0=$2
	say "device 1 ($E0) removed while mounted: exactly the files on it fail; the rest read"
	fmount "$E1"
	on1=""
	for f in $(find $MNT -type f ! -path "$MNT/.meta/*" | sort); do
		vmtool xattr "$f" user.famfs.map >/tmp/map
		if grep -q " dev 1 " /tmp/map; then
			echo "$f" >>/tmp/on1
			if ! grep -q " dev 0 " /tmp/map && [ -z "$on1" ]; then on1=$f; fi
		else
			echo "$f" >>/tmp/on0
		fi
	done
	[ -n "$on1" ] || fail "no file wholly on device 1"
	[ -s /tmp/on0 ] || fail "no file wholly on device 0"
	remove_under_map "$on1" "$E0"
	dmesg | grep -q 'famfs: device 1: removed' || fail "famfs.ko was not told of device 1's removal"
	bad=0
	while read -r f; do
		if cat "$f" >/dev/null 2>/tmp/err; then
			fail "$f has data on the removed device and reads"
			bad=$((bad + 1))
		elif ! grep -q "Input/output error" /tmp/err; then
			fail "$f: $(cat /tmp/err), want EIO"
		fi
	done </tmp/on1
	while read -r f; do
		rel=${f#$MNT/}
		if [ -f "/payload/$rel" ]; then
			cmp -s "$f" "/payload/$rel" || fail "$f (device 0 only) differs after device 1 went"
		else
			cat "$f" >/dev/null || fail "$f (device 0 only) does not read after device 1 went"
		fi
	done </tmp/on0
	say "  $(wc -l </tmp/on1) files touching device 1: EIO (and SIGBUS mapped); $(wc -l </tmp/on0) on device 0 alone: byte-identical"
	famfs umount $MNT
}

# Two hosts at once on the two NVDIMMs of pmem2-fsdax, the second seeing
# them the other way round: the master makes a famfs of its /dev/pmem0
# alone, a client on the other host mounts it (its /dev/pmem1), the master
# adds its /dev/pmem1 while both are mounted, and the client learns the
# device from the log, finds it as its own /dev/pmem0 by uuid, registers it
# with famfs.ko and reads the new files with zero upcalls, no remount. The
# hosts take turns through a mailbox at the end of the primary.
mbox_get() { vmtool mbox "$MBOX" get; }
mbox_put() { vmtool mbox "$MBOX" put "$1 $NONCE"; }
mbox_fail_on_exit() {
	trap 'rc=$?; [ $rc -eq 0 ] || vmtool mbox "$MBOX" put "FAIL $NONCE"; exit $rc' EXIT
}

# devadd_mounted DEVICE: famfs devadd of DEVICE through the master's mount
# at $MNT: device 1, registered with famfs.ko at once; then a file on it
# (after) and one striped over both devices (striped2, $STRIPED_SEED).
devadd_mounted() {
	run famfs devadd -f --allow-small $MNT "$1"
	has "$1 is device 1 of $MNT \(mounted\)"
	vmtool xattr $MNT user.famfs.devices >/tmp/out
	has "^1 [0-9a-f-]+ [0-9]+ [0-9]+ [0-9]+ kernel $1\$"
	famfs cp /payload/boot/vmlinuz $MNT/after
	vmtool xattr $MNT/after user.famfs.map >/tmp/out
	has "^extent 0 dev 1 "
	famfs creat -s 8M -N 2 -B 2 $MNT/striped2 >/dev/null
	vmtool fill $MNT/striped2 $STRIPED_SEED write
}

devadd_master() {
	pmem2_setup fsdax
	MBOX=$DEV0
	mbox_fail_on_exit
	load_famfs
	identity $MASTER_UUID
	say "the master: a famfs on $DEV0 alone, mounted, one file"
	run famfs mkfs -f --allow-small $DEV0
	fmount $DEV0
	famfs cp /payload/boot/vmlinuz $MNT/before
	mbox_put READY
	mbox_wait MOUNTED 240
	say "the client has mounted it: famfs devadd $MNT $DEV1"
	devadd_mounted $DEV1
	expect_kernel_dax
	say "  master: a file on the added device and one striped over both: $(stats_line)"
	row pmem2-fsdax
	mbox_put ADDED
	mbox_wait DONE 240
	famfs umount $MNT
	say "all devadd-master checks passed"
}

devadd_client() {
	pmem2_setup fsdax
	# this host's /dev/pmem1 is the master's /dev/pmem0: the primary
	MBOX=$DEV1
	mbox_fail_on_exit
	load_famfs
	identity $CLIENT_UUID
	mkdir -p /var/lib
	mbox_wait READY 240
	say "the client: famfs mount $DEV1 (the master's $DEV0)"
	fmount $DEV1
	[ "$(vmtool xattr $MNT user.famfs.role)" = client ] || fail "not a client"
	cmp /payload/boot/vmlinuz $MNT/before || fail "before differs"
	mbox_put MOUNTED
	mbox_wait ADDED 240
	poll 30 "[ -f $MNT/striped2 ]" || fail "the client did not learn the master's new files"
	cmp /payload/boot/vmlinuz $MNT/after || fail "after (on the added device) differs"
	# device 0 is this host's $DEV1, the added device 1 its $DEV0
	vmtool check $MNT/striped2 $STRIPED_SEED $DEV1,$DEV0 >/tmp/out 2>&1 ||
		{ cat /tmp/out; fail "striped2"; }
	expect_devices $DEV1 $DEV0
	expect_kernel_dax
	say "  the added device learnt as $DEV0 by uuid, its files read with no remount: $(stats_line)"
	row pmem2-fsdax
	mbox_put DONE
	famfs umount $MNT
	say "all devadd-client checks passed"
}

# refused_devdax_mount daxX.Y WHY: famfs mount of the devdax device (on
# device_dax, famfs.ko loaded) moves it to famfs_dax, the server refuses it
# (WHY), and the device is given back to device_dax.
refused_devdax_mount() {
	expect_driver "$1" device_dax
	mkdir -p $MNT
	refused 1 famfs mount "/dev/$1" $MNT
	has "$2"
	has "/dev/$1: bound to famfs_dax"
	expect_driver "$1" device_dax
	has "/dev/$1: given back to device_dax"
}

# devdax and pmem in one file system: /dev/dax0.0 with /dev/pmem1
mixed_checks() {
	say "devdax and pmem mixed: namespace1.0 in fsdax mode"
	ndctl create-namespace -f -e namespace1.0 -m fsdax --map=mem >/dev/null
	wait_for /dev/pmem1 10
	run famfs mkfs -f --allow-small /dev/dax0.0 /dev/pmem1
	has "device 1: /dev/pmem1 "
	run famfs fsck /dev/pmem1
	has "checking its file system from the primary /dev/dax0.0"
	has clean
	run famfs_mdfile create /dev/dax0.0 $ON1 $ON1_SIZE $ON1_SEED
	has "^$ON1: extent 0: device 1 \(/dev/pmem1\)"
	run famfs_mdfile check /dev/dax0.0 $ON1 $ON1_SEED
	run famfs fsck /dev/dax0.0
	dev_files 1 1
	has clean
}

# devadd on a mounted master while a client (another identity of this
# guest) follows the log: /dev/pmem0 alone, then /dev/pmem1 added through
# the mount. The master registers it with famfs.ko at once and a new file
# lands on it, read with zero upcalls; the client meets the ADD_DAXDEV
# entry, finds /dev/pmem1 by uuid, registers it (famfs.ko gives a device
# to one famfs mount per host: the client's server moves that mount's
# data) and reads the file byte-identical with no remount.
devadd_live_checks() {
	say "devadd on the mounted master; a client following the log learns the device"
	ndctl create-namespace -f -e namespace0.0 -m fsdax --map=mem >/dev/null
	wait_for /dev/pmem0 10
	identity $MASTER_UUID
	run famfs mkfs -f --allow-small /dev/pmem0
	fmount /dev/pmem0
	famfs cp /payload/boot/vmlinuz $MNT/before
	mkdir -p /mnt/client
	echo $CLIENT_UUID >/tmp/identity-client
	FAMFS_SYSTEM_UUID_FILE=/tmp/identity-client famfs mount /dev/pmem0 /mnt/client \
		>/tmp/out 2>&1 || { cat /tmp/out; fail "client mount"; }
	cmp /payload/boot/vmlinuz /mnt/client/before || fail "client: before differs"
	devadd_mounted /dev/pmem1
	cmp /payload/boot/vmlinuz $MNT/after || fail "master: after differs"
	vmtool check $MNT/striped2 $STRIPED_SEED /dev/pmem0,/dev/pmem1 >/tmp/out 2>&1 ||
		{ cat /tmp/out; fail "master: striped2"; }
	expect_counter READ 0
	expect_counter WRITE 0
	say "  master: files on the added device with $(stats_line)"
	poll 30 '[ -f /mnt/client/striped2 ]' || fail "the client did not learn the new files"
	cmp /payload/boot/vmlinuz /mnt/client/after || fail "client: after differs"
	vmtool check /mnt/client/striped2 $STRIPED_SEED /dev/pmem0,/dev/pmem1 >/tmp/out 2>&1 ||
		{ cat /tmp/out; fail "client: striped2"; }
	vmtool xattr /mnt/client user.famfs.devices >/tmp/out
	sed 's/^/  | /' /tmp/out
	has "^1 [0-9a-f-]+ [0-9]+ [0-9]+ [0-9]+ [a-z]+ /dev/pmem1\$"
	say "  client: the added device learnt and read, no remount"
	famfs umount /mnt/client
	famfs umount $MNT
	run famfs fsck /dev/pmem1
	has "^ *devices +2"
	has clean
}

case_cxl2i() {
	cxl_modules
	say "one region interleaving $MEMS(decoder0.2, 2 ways, 4 KiB)"
	run cxl create-region -m -d decoder0.2 -w 2 -g 4096 -t pmem $MEMS
	has '"interleave_ways":2'
	for m in $MEMS; do has "\"memdev\":\"$m\""; done
	poll 10 '[ "$(nd_regions | wc -l)" = 1 ]' || fail "no nvdimm region for the CXL region"
	DEV=/dev/$(cxl_namespace "$(nd_regions)" create)
	wait_for $DEV 10
	say "famfs sees one device: $DEV, $(($(cat $SYS/devices/${DEV#/dev/}/size) >> 20)) MiB"
	load_famfs
	identity $MASTER_UUID
	mkdir -p /var/lib
	run famfs mkfs -f --allow-small "$DEV"
	fmount "$DEV"
	expect_driver "${DEV#/dev/}" famfs_dax
	copy_payload
	# 1 MiB of marker lines: its 4 KiB granules alternate between the devices
	printf 'FAMFS-IL %s\n' "$NONCE" >/tmp/marker
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		cat /tmp/marker /tmp/marker >/tmp/m2
		mv /tmp/m2 /tmp/marker
	done
	famfs cp /tmp/marker $MNT/marker
	famfs umount $MNT
	fmount "$DEV"
	verify_payload "$DEV"
	cmp /tmp/marker $MNT/marker
	expect_kernel_dax
	expect_counter GET_FMAP $((NFILES + 1))
	say "  $((NFILES + 1)) files byte-identical: $(stats_line)"
	row cxl2i-devdax
	famfs umount $MNT
	run famfs fsck "$DEV"
	has clean
	say "all cxl2i checks passed"
}

case $CASE in
pmem2-fsdax)
	pmem2_setup fsdax create
	master_checks $DEV0 $DEV1 pmem2-fsdax
	;;
pmem2-fsdax-peer)
	pmem2_setup fsdax
	peer_checks $DEV0 $DEV1 pmem2-fsdax
	unbind_checks $DEV1 $DEV0
	;;
pmem2-devdax)
	pmem2_setup devdax create
	master_checks $DEV0 $DEV1 pmem2-devdax
	expect_driver dax0.0 famfs_dax
	# the server moved the secondary to famfs_dax too: the kernel maps both
	expect_driver dax1.0 famfs_dax
	say "famfs umount --devdax gives both devices back to device_dax"
	fmount /dev/dax0.0
	run famfs umount --devdax $MNT
	expect_driver dax0.0 device_dax
	expect_driver dax1.0 device_dax
	say "refused mounts of a device on device_dax give it back: a secondary, no famfs"
	refused_devdax_mount dax1.0 "SB_SECONDARY"
	run famfs mkfs -f -k /dev/dax1.0
	refused_devdax_mount dax1.0 "no famfs file system"
	mixed_checks
	devadd_live_checks
	;;
cxl2-devdax)
	cxl2_setup create
	master_checks $DEV0 $DEV1 cxl2-devdax
	;;
cxl2-devdax-peer)
	cxl2_setup
	peer_checks $DEV0 $DEV1 cxl2-devdax
	;;
cxl2i-devdax) case_cxl2i ;;
devadd-master) devadd_master ;;
devadd-client) devadd_client ;;
*) fail "unknown famfs.case=$CASE" ;;
esac
say ok
