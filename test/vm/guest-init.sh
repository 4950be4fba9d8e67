#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest-init.sh - /init of the famfs qemu guest (busybox sh).
#
# Usage: installed as /init by mkinitramfs.sh; configured by the kernel
# command line (values cannot contain spaces):
#   famfs.test=NAME      run /tests/NAME.sh (or /tests/NAME); default smoke
#   famfs.KEY=VALUE      exported to the test as FAMFS_KEY=VALUE (KEY upper-
#                        cased, '.' and '-' become '_'), e.g. famfs.role=master
#                        -> FAMFS_ROLE=master
#   famfs.trace=1        run the test with sh -x
#   famfs.timeout=SEC    guest-side watchdog: FAIL and power off after SEC
#   famfs.allow_warn=1   don't fail the run on kernel WARNING/BUG/Oops lines
#   famfs.shell=1        drop to a shell after the test instead of powering off
# The test runs under `sh -e` with cwd /tmp. Afterwards the init prints
#   FAMFS-VM-RESULT: PASS          or
#   FAMFS-VM-RESULT: FAIL rc=N
# on the console (the host's run-vm.sh greps for it) and powers off.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
exec </dev/console >/dev/console 2>&1

result() { # RC
	# Keep kernel messages from splitting the sentinel line.
	echo 1 >/proc/sys/kernel/printk
	echo
	if [ "$1" -eq 0 ]; then
		echo "FAMFS-VM-RESULT: PASS"
	else
		echo "FAMFS-VM-RESULT: FAIL rc=$1"
	fi
	sync
	if [ "${FAMFS_SHELL:-0}" = 1 ]; then
		setsid cttyhack sh
	fi
	poweroff -f
	sleep 5
}

# famfs.key=value -> FAMFS_KEY=value
# shellcheck disable=SC2013 # words, not lines
for tok in $(cat /proc/cmdline); do
	case $tok in
	famfs.*=*)
		key=${tok%%=*}
		key=$(echo "${key#famfs.}" | tr 'a-z.-' 'A-Z__')
		export "FAMFS_$key=${tok#*=}"
		;;
	esac
done
FAMFS_TEST=${FAMFS_TEST:-smoke}
FAMFS_KVER=$(uname -r)
export FAMFS_TEST FAMFS_KVER

echo "famfs-guest: kernel $(uname -r), test=$FAMFS_TEST"
env | grep '^FAMFS_' | sort | sed 's/^/famfs-guest:   /'

if [ -n "${FAMFS_TIMEOUT:-}" ]; then
	(
		sleep "$FAMFS_TIMEOUT"
		echo "famfs-guest: watchdog: test still running after ${FAMFS_TIMEOUT}s"
		ps
		dmesg | tail -40
		result 124
	) &
fi

# NVDIMM (ACPI NFIT) + pmem + device-dax, and the kernel's FUSE (6.1: a
# module; 6.12: built in). Nothing else loads them: no udev.
for m in nfit nd_pmem nd_btt dax_pmem device_dax nd_e820 fuse; do
	modprobe "$m" || echo "famfs-guest: warning: modprobe $m failed"
done

script=/tests/$FAMFS_TEST.sh
[ -f "$script" ] || script=/tests/$FAMFS_TEST
if [ ! -f "$script" ]; then
	echo "famfs-guest: no test script /tests/$FAMFS_TEST.sh; have: $(ls /tests)"
	result 127
fi

echo "famfs-guest: running $script"
flags=-e
[ "${FAMFS_TRACE:-0}" = 1 ] && flags=-ex
cd /tmp || result 1
sh $flags "$script"
rc=$?
echo "famfs-guest: $script exited with $rc"

# A kernel warning or oops during the test fails it even if the script
# did not notice (the test bed exists to exercise a kernel module).
if [ "${FAMFS_ALLOW_WARN:-0}" != 1 ] &&
	dmesg | grep -E -q 'WARNING:|BUG:|Oops|general protection fault|Call Trace:'; then
	echo "famfs-guest: kernel warnings/oops in dmesg:"
	dmesg | grep -E -B5 -A30 'WARNING:|BUG:|Oops|general protection fault' | head -120
	[ "$rc" -eq 0 ] && rc=98
fi
if [ "$rc" -ne 0 ]; then
	echo "famfs-guest: last kernel messages:"
	dmesg | tail -30
fi
result "$rc"
