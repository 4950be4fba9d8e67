#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lib.sh - what the guest test scripts (smoke.sh, famfs.sh, dax.sh) share.
# mkinitramfs.sh installs it as /tests/lib.sh; a script sources it with
#   . "${0%/*}/lib.sh"
# after setting CASE. Runs under `sh -e` (busybox sh, guest-init.sh).
#
# Output: say/fail print "NAME[CASE]: ...", NAME being the script's name
# without .sh. fail runs fail_context (a script may redefine it to dump
# what helps, e.g. the kernel's messages) and exits 1.
# The server-counter helpers (counter, expect_counter, expect_mode, row)
# read the famfs mount at $MNT; expect_counter's message uses the script's
# own stats_line.

TEST_NAME=${0##*/}
TEST_NAME=${TEST_NAME%.sh}
MNT=/mnt/famfs
TRACE=/sys/kernel/tracing
# The identities (FAMFS_SYSTEM_UUID_FILE) of the two hosts sharing a device
MASTER_UUID=6d617374-6572-4000-8000-00000000f00d
CLIENT_UUID=636c6965-6e74-4000-8000-00000000beef

say() { echo "${TEST_NAME}[$CASE]: $*"; }
fail_context() { :; }
fail() {
	echo "${TEST_NAME}[$CASE]: FAIL: $*"
	fail_context
	exit 1
}

# poll SECONDS CONDITION: evaluate the shell text CONDITION every 0.1 s
# until it is true; return 1 if it is not within SECONDS (the caller fails
# with its own message). POLLED: how many 0.1 s sleeps it took. CONDITION
# is evaluated here: it must not use the caller's positional parameters.
poll() {
	_poll_max=$(($1 * 10))
	_poll_cond=$2
	POLLED=0
	until eval "$_poll_cond"; do
		POLLED=$((POLLED + 1))
		[ $POLLED -le $_poll_max ] || return 1
		sleep 0.1
	done
}

# wait_bg PID SECONDS: the background job ends within SECONDS, else fail
wait_bg() {
	_bg=$1
	poll "$2" '! kill -0 "$_bg" 2>/dev/null' || fail "job $1 still running after $2 s"
	wait "$1"
}

wait_for() { # PATH SECONDS
	_wait_path=$1
	poll "$2" '[ -e "$_wait_path" ]' || fail "$1 did not appear within $2 s"
}

identity() { # UUID
	echo "$1" >/tmp/identity
	export FAMFS_SYSTEM_UUID_FILE=/tmp/identity
}

nfiles() { find "$1" -type f | wc -l; }

counter() { vmtool stat $MNT "$1"; }

expect_counter() { # NAME VALUE
	got=$(counter "$1")
	[ "$got" = "$2" ] || fail "server counter $1 is $got, want $2 ($(stats_line))"
}

expect_mode() { # FMAP-STATE DATA-MODE
	s=$(vmtool xattr $MNT user.famfs.stats)
	echo "$s" | grep -qx "fmap $1" || fail "server says '$(echo "$s" | grep '^fmap')', want 'fmap $1'"
	echo "$s" | grep -qx "data $2" || fail "server says '$(echo "$s" | grep '^data')', want 'data $2'"
}

# The case's line in vmtest's table: device, data path and the server's
# READ/WRITE/GET_FMAP counts of the mount at $MNT now.
row() { # DEVICE
	d=$(vmtool xattr $MNT user.famfs.stats | sed -n 's/^data //p')
	echo "FAMFS-ROW $1 $d $(counter READ) $(counter WRITE) $(counter GET_FMAP)"
}

# fs_dax fault tracing: tracing_on, the faults, tracing_off; the events are
# in /tmp/trace.
tracing_on() {
	[ -d $TRACE/events ] || mount -t tracefs nodev $TRACE
	echo 0 >$TRACE/tracing_on
	echo >$TRACE/trace
	for e in dax_pmd_fault_done dax_pte_fault_done; do
		echo 1 >$TRACE/events/fs_dax/$e/enable
	done
	echo 1 >$TRACE/tracing_on
}

tracing_off() {
	echo 0 >$TRACE/tracing_on
	cat $TRACE/trace >/tmp/trace
	echo >$TRACE/trace
	echo 0 >$TRACE/events/enable
}

# trace_events SYSTEM/EVENT...: like tracing_on, with these events only
# (test programs write their own lines to $TRACE/trace_marker).
trace_events() {
	[ -d $TRACE/events ] || mount -t tracefs nodev $TRACE
	echo 0 >$TRACE/tracing_on
	echo >$TRACE/trace
	for e in "$@"; do
		echo 1 >$TRACE/events/$e/enable
	done
	echo 1 >$TRACE/tracing_on
}

# section NAME FUNCTION: run FUNCTION (a shell function) in a subshell of
# its own under `sh -e`; a failure is recorded and the case goes on with
# its next section. sections_done fails the case if any section failed.
# So one run reports every rule that does not hold.
SECTIONS_FAILED=""
section() {
	say "== $1"
	set +e
	(
		set -e
		$2
	)
	_rc=$?
	set -e
	if [ $_rc -ne 0 ]; then
		say "== $1: FAILED (rc $_rc)"
		SECTIONS_FAILED="$SECTIONS_FAILED $1"
	else
		say "== $1: passed"
	fi
}

sections_done() {
	[ -z "$SECTIONS_FAILED" ] || fail "sections that failed:$SECTIONS_FAILED"
}

# expect_rw_faults: the faults of a test that touched a page read then
# write and 2 MiB mappings read then write (vmtool touch ... w), traced
# into /tmp/trace: a PTE write fault, a PTE read fault, and at least 3
# read-only and 3 writable PMD faults. Sets pr and pw to the PMD counts;
# fails (printing the trace) otherwise.
expect_rw_faults() {
	grep -q 'dax_pte_fault_done:.* shared [A-Z_|]*WRITE.*NOPAGE' /tmp/trace ||
		{ cat /tmp/trace; fail "no PTE write fault"; }
	grep 'dax_pte_fault_done:.* shared ' /tmp/trace | grep -v 'WRITE' | grep -q NOPAGE ||
		{ cat /tmp/trace; fail "no PTE read fault"; }
	pr=$(grep 'dax_pmd_fault_done:.* shared ' /tmp/trace | grep -v WRITE | grep -c NOPAGE || true)
	pw=$(grep -c 'dax_pmd_fault_done:.* shared WRITE.*NOPAGE' /tmp/trace || true)
	[ "$pr" -ge 3 ] && [ "$pw" -ge 3 ] ||
		{ cat /tmp/trace; fail "PMD faults: $pr read, $pw write; want 3 and 3"; }
}

# remove_under_map FILE BLOCKDEV: a process maps FILE (shared) and reads
# it, the fsdax namespace under BLOCKDEV is removed (nd_pmem drives its pfn
# device, the disk's parent), then the process touches the mapping and reads
# again: the mapping must be gone (SIGBUS) and read() fail with EIO. The
# process's report is left in /tmp/held.
remove_under_map() {
	rm -f /tmp/go
	mkfifo /tmp/go
	daxtool map-hold "$1" /tmp/go >/tmp/held &
	_pid=$!
	poll 10 "grep -q 'mapped and read' /tmp/held" || fail "map-hold did not start: $(cat /tmp/held)"
	_nd=$(basename "$(readlink -f "/sys/block/${2#/dev/}/device")")
	say "  echo $_nd >/sys/bus/nd/drivers/nd_pmem/unbind ($2)"
	echo "$_nd" >/sys/bus/nd/drivers/nd_pmem/unbind
	echo go >/tmp/go
	wait $_pid || fail "map-hold failed: $(cat /tmp/held)"
	grep -q 'mmap: SIGBUS' /tmp/held || fail "a mapping of $1 survived the removal: $(cat /tmp/held)"
	grep -q 'read: EIO' /tmp/held || fail "read of $1 after the removal: $(cat /tmp/held)"
}

# mbox_wait WORD SECONDS: wait for "WORD $NONCE" from the other guest in
# the script's mailbox (its mbox_get), failing early on "FAIL $NONCE".
mbox_wait() {
	i=0
	while :; do
		m=$(mbox_get)
		[ "$m" = "$1 $NONCE" ] && return 0
		[ "$m" = "FAIL $NONCE" ] && fail "the other guest failed"
		i=$((i + 1))
		[ $i -le $(($2 * 5)) ] || fail "no '$1' from the other guest within $2 s (mailbox: '$m')"
		sleep 0.2
	done
}
