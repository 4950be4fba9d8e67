#!/usr/bin/env bash
# The Debian packages, end to end (make deb-test, in make check):
#  1. build them (scripts/build-deb.sh: dpkg-buildpackage on a copy of the tree)
#  2. dpkg-deb -c: the files a user needs are there (programs, /sbin helpers,
#     a man page per command, bash completion, docs); lintian: no error and
#     no warning (accepted ones are lintian overrides in debian/, each with
#     its reason)
#  3. install famfs on this machine, run mkfs/mount/cp/umount from the
#     installed paths, mount -t famfs (with ro and famfs options), an
#     /etc/fstab line with mount -a, umount(8) through umount.famfs, man and
#     bash completion; then purge it and check nothing is left.
#  4. famfs-dkms: install it (DKMS builds the module for every installed
#     6.1/6.12 kernel), the kernel-header hook rebuilds it, one qemu guest
#     per kernel passes with it (test/vm), purge.
# Usage: test/deb/run.sh [BUILD]   (root; installs and purges the package)
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(mkdir -p "${1:-$REPO/build}" && cd "${1:-$REPO/build}" && pwd)
DEB=$BUILD/deb
VERSION=$(cat "$REPO/VERSION")
T=$(mktemp -d /tmp/famfs-deb.XXXXXX)
FAILED=0 STEP=""
step() { STEP=$*; echo "deb-test: $*"; }
fail() { echo "  FAIL: $STEP: $*" >&2; FAILED=1; }
skip() { echo "  SKIP: $*" >&2; exit 77; }
run() { # CMD...: must succeed; output in $OUT
	OUT=$("$@" 2>&1) || { fail "'$*' failed: $(printf '%s' "$OUT" | tail -5)"; return 1; }
}
# apt-get, not dpkg: it waits for the dpkg lock (another apt run on the
# machine) instead of failing.
apt_get() { # install DEB | purge PKG
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=900 \
		--no-install-recommends "$@"
}
[ "$(id -u)" = 0 ] || skip "needs root (installs the package)"
[ -c /dev/fuse ] || skip "needs /dev/fuse"

INSTALLED=0 FSTAB_SAVED=0 DKMS_INSTALLED=0
cleanup() {
	local m
	for m in "$T/m1" "$T/m2" "$T/m3"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	if [ "$FSTAB_SAVED" = 1 ]; then
		grep -v "famfs-deb-test $T" /etc/fstab >"$T/fstab.now" && cat "$T/fstab.now" >/etc/fstab
	fi
	[ "$INSTALLED" = 1 ] && apt_get purge famfs >/dev/null 2>&1
	[ "$DKMS_INSTALLED" = 1 ] && apt_get purge famfs-dkms >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# famfs-dkms: installed, dkms builds famfs (and famfs_dax) for every
# installed kernel of the supported series; the kernel-header hook builds
# them again for a kernel (what a kernel install or upgrade runs); one guest
# per kernel of the qemu test bed passes with the DKMS-built module; purged,
# nothing is left.
dkms_test() {
	local DPKG=$DEB/famfs-dkms_${VERSION}_all.deb k m f kvers=() mods=(famfs) vm_rc
	[ -d "$REPO/kmod/dax" ] && mods=(famfs_dax famfs)
	step "famfs-dkms: dpkg-deb -c"
	dpkg-deb -c "$DPKG" | awk '{print $6}' | sed 's|^\./|/|' >"$T/dkms-contents"
	for f in /usr/src/famfs-$VERSION/dkms.conf /usr/src/famfs-$VERSION/dkms-build.sh \
		/usr/src/famfs-$VERSION/kmod/Makefile /usr/src/famfs-$VERSION/fmap/fmap.c \
		/usr/src/famfs-$VERSION/scripts/kernel-env.sh /usr/lib/modules-load.d/famfs.conf; do
		grep -qxF "$f" "$T/dkms-contents" || fail "famfs-dkms: missing $f"
	done
	read -ra kvers <<<"$("$REPO/scripts/kernel-env.sh" --list)"
	[ ${#kvers[@]} -ge 2 ] || fail "kernel headers of both series needed (scripts/deps.sh --kernel): ${kvers[*]}"
	step "famfs-dkms: install; dkms builds ${mods[*]} for ${kvers[*]}"
	run apt_get install "$DPKG" || return 1
	DKMS_INSTALLED=1
	for k in "${kvers[@]}"; do
		dkms status -m famfs -v "$VERSION" -k "$k" | grep -q ': installed' ||
			fail "dkms status for $k: $(dkms status -m famfs -k "$k")"
		for m in "${mods[@]}"; do
			f=$(ls /lib/modules/"$k"/updates/dkms/"$m".ko* 2>/dev/null | head -1)
			[ -n "$f" ] || { fail "no $m.ko for $k"; continue; }
			[ "$(modinfo -F vermagic "$f" | cut -d' ' -f1)" = "$k" ] || fail "$f: vermagic $(modinfo -F vermagic "$f")"
			modinfo -k "$k" -n "$m" >/dev/null 2>&1 || fail "modinfo -k $k $m: depmod does not know it"
		done
	done
	grep -qx famfs /usr/lib/modules-load.d/famfs.conf || fail "modules-load.d/famfs.conf"
	k=${kvers[0]}
	step "famfs-dkms: a kernel (re)installed: the header hook builds famfs for $k again"
	run dkms remove -m famfs -v "$VERSION" -k "$k"
	ls /lib/modules/"$k"/updates/dkms/famfs.ko* >/dev/null 2>&1 && fail "dkms remove left famfs.ko for $k"
	run /etc/kernel/header_postinst.d/dkms "$k"
	dkms status -m famfs -v "$VERSION" -k "$k" | grep -q ': installed' || fail "the hook did not build famfs for $k"
	step "famfs-dkms: one guest per kernel with the DKMS-built module (test/vm)"
	for k in "${kvers[@]}"; do
		for m in famfs famfs_dax; do
			f=$(ls /lib/modules/"$k"/updates/dkms/$m.ko* | head -1)
			case $f in *.xz) xz -dc "$f" >"$T/$m-$k.ko" ;; *) cp "$f" "$T/$m-$k.ko" ;; esac
		done
		vm_rc=0
		FAMFS_KO=$T/famfs-$k.ko FAMFS_DAX_KO=$T/famfs_dax-$k.ko BUILD=$BUILD \
			bash "$REPO/test/vm/vmtest.sh" --no-fetch --kernel "$k" \
			--case "${FAMFS_DEB_VM_CASE:-famfs-master}" >"$T/vm-$k.log" 2>&1 || vm_rc=$?
		tail -4 "$T/vm-$k.log" | sed 's/^/  | /'
		[ $vm_rc = 0 ] || fail "the $k guest with the DKMS-built famfs.ko failed (log above)"
		# The guest says which famfs.ko it loaded: md5 of the debug-stripped file.
		objcopy --strip-debug "$T/famfs-$k.ko" "$T/famfs-$k.stripped.ko"
		m=$(md5sum "$T/famfs-$k.stripped.ko" | cut -c1-8)
		grep -aq "loaded famfs.ko ($m)" "$BUILD/vm/$k/${FAMFS_DEB_VM_CASE:-famfs-master}.log" ||
			fail "the $k guest did not load the DKMS-built famfs.ko ($m): $(grep -a 'loaded famfs.ko' \
				"$BUILD/vm/$k/${FAMFS_DEB_VM_CASE:-famfs-master}.log" | head -1)"
	done
	step "famfs-dkms: purge"
	run apt_get purge famfs-dkms
	DKMS_INSTALLED=0
	for k in "${kvers[@]}"; do
		ls /lib/modules/"$k"/updates/dkms/famfs*.ko* >/dev/null 2>&1 && fail "modules for $k left after purge"
	done
	[ -z "$(dkms status -m famfs 2>/dev/null)" ] || fail "dkms still lists famfs: $(dkms status -m famfs)"
	[ ! -e /usr/src/famfs-$VERSION ] || fail "/usr/src/famfs-$VERSION left after purge"
}

step "build the packages"
bash "$REPO/scripts/build-deb.sh" "$BUILD" >"$T/build.out" 2>&1 || { cat "$T/build.out" >&2; fail "make deb failed"; exit 1; }
PKG=$DEB/famfs_${VERSION}_amd64.deb
[ -f "$PKG" ] || { fail "no $PKG"; exit 1; }

step "dpkg-deb -c: what famfs holds"
dpkg-deb -c "$PKG" | awk '{print $6 ($7 == "->" ? " -> " $8 : "")}' | sed 's|^\./|/|' >"$T/contents"
want=(/usr/bin/famfs /usr/bin/famfs_fused "/sbin/mkfs.famfs -> /usr/bin/famfs"
	"/sbin/mount.famfs -> /usr/bin/famfs" "/sbin/umount.famfs -> /usr/bin/famfs"
	"/sbin/umount.fuse.famfs -> /usr/bin/famfs" /usr/share/bash-completion/completions/famfs
	/usr/share/doc/famfs/copyright /usr/share/doc/famfs/user-guide.md.gz
	/usr/share/man/man8/famfs.8.gz /usr/share/man/man8/mkfs.famfs.8.gz
	/usr/share/man/man8/mount.famfs.8.gz /usr/share/man/man8/umount.famfs.8.gz
	"/usr/share/man/man8/umount.fuse.famfs.8.gz -> umount.famfs.8.gz"
	/usr/share/man/man8/famfs_fused.8.gz)
# a man page for every subcommand the packaged famfs --help lists
dpkg-deb -x "$PKG" "$T/x"
for c in $("$T/x/usr/bin/famfs" --help | awk '/^Run /{exit} f && NF {print $1} /Commands:/{f=1}'); do
	want+=("/usr/share/man/man8/famfs-$c.8.gz")
done
for w in "${want[@]}"; do grep -qxF "$w" "$T/contents" || fail "missing $w"; done
grep -qE '^/usr/share/doc/famfs/README\.md(\.gz)?$' "$T/contents" || fail "missing README.md"
echo "  $(wc -l <"$T/contents") entries, ${#want[@]} checked"

step "lintian (errors and warnings fail; accepted tags are overrides in debian/)"
lintian --fail-on error,warning --show-overrides "$DEB"/famfs_${VERSION}_amd64.changes >"$T/lintian" 2>&1
rc=$?
grep -v "running with root privileges" "$T/lintian" | sed 's/^/  | /'
[ $rc = 0 ] || fail "lintian exited $rc"
echo "  lintian: $(grep -c '^E:' "$T/lintian") errors, $(grep -c '^W:' "$T/lintian") warnings," \
	"$(grep -c '^O:' "$T/lintian") overridden"

# Installing and purging a package is one at a time on a machine.
exec 9>/run/lock/famfs-deb-test.lock
flock -w 900 9 || { fail "another deb-test holds the lock"; exit 1; }

step "install famfs"
if dpkg-query -W -f='${Status}' famfs 2>/dev/null | grep -q "install ok installed"; then
	echo "  (famfs was installed already: replaced, and purged at the end)"
fi
run apt_get install "$PKG" || exit 1
INSTALLED=1
run /usr/bin/famfs --version && [ "$OUT" = "famfs $VERSION" ] || fail "famfs --version: $OUT"
run /usr/bin/famfs_fused --version
run man -w famfs-cp && [[ $OUT == /usr/share/man/man8/famfs-cp.8.gz ]] || fail "man -w famfs-cp: $OUT"
run man -w mount.famfs
OUT=$(bash -c 'source /usr/share/bash-completion/bash_completion
	COMP_WORDS=(famfs cr); COMP_CWORD=1; COMP_LINE="famfs cr"; COMP_POINT=8
	_completion_loader famfs; _famfs; echo "${COMPREPLY[*]}"' 2>&1)
[ "$OUT" = creat ] || fail "bash completion of 'famfs cr': '$OUT'"

step "the installed programs: mkfs.famfs, famfs mount, cp, umount"
export FAMFS_SYSTEM_UUID_FILE=$T/host
IMG=$T/famfs.img
mkdir -p "$T/m1" "$T/m2" "$T/m3"
run /sbin/mkfs.famfs --size 4G "$IMG"
run /usr/bin/famfs mount "$IMG" "$T/m1"
run /usr/bin/famfs cp -r -t 4 /usr/share/doc/famfs "$T/m1/doc"
run diff -r /usr/share/doc/famfs "$T/m1/doc"
run /usr/bin/famfs creat -s 3M -S 9 "$T/m1/seeded"
run /usr/bin/famfs umount "$T/m1"
mountpoint -q "$T/m1" && fail "still mounted after famfs umount"

step "mount -t famfs (mount.famfs), ro and famfs options"
run mount -t famfs "$IMG" "$T/m2"
run findmnt -n -o FSTYPE,OPTIONS "$T/m2" && [[ $OUT == fuse.famfs*rw* || $OUT == famfs*rw* ]] ||
	fail "findmnt: $OUT"
run diff -r /usr/share/doc/famfs "$T/m2/doc"
run umount "$T/m2"
run mount -t famfs -o ro,poll_ms=50,noatime "$IMG" "$T/m2"
run findmnt -n -o OPTIONS "$T/m2" && [[ $OUT == ro,* ]] || fail "not read-only: $OUT"
[ "$(getfattr --only-values -n user.famfs.role "$T/m2" 2>/dev/null ||
	python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.famfs.role").decode())' "$T/m2")" = client ] ||
	fail "a ro mount is not a client"
run /usr/bin/famfs verify -S 9 -f "$T/m2/seeded"
run umount "$T/m2"

step "an /etc/fstab line and mount -a"
cp /etc/fstab "$T/fstab.orig"
FSTAB_SAVED=1
printf '%s %s famfs defaults,nofail 0 0 # famfs-deb-test %s\n' "$IMG" "$T/m3" "$T" >>/etc/fstab
run mount -a -t famfs
run findmnt -n -o SOURCE,FSTYPE "$T/m3" && [[ $OUT == *famfs* ]] || fail "mount -a did not mount it: $OUT"
run diff -r /usr/share/doc/famfs "$T/m3/doc"
run mount -a -t famfs # mounted already: nothing to do
[ "$(findmnt -n "$T/m3" | wc -l)" = 1 ] || fail "mount -a mounted it twice"
run umount "$T/m3"
run mount "$T/m3" # by its mount point, from fstab
run /usr/bin/famfs verify -S 9 -f "$T/m3/seeded"
run umount "$T/m3"
grep -v "famfs-deb-test $T" /etc/fstab >"$T/fstab.now" && cat "$T/fstab.now" >/etc/fstab
FSTAB_SAVED=0
cmp -s /etc/fstab "$T/fstab.orig" || fail "/etc/fstab not restored"

step "umount(8) runs the installed umount.famfs: the device is free when it returns"
run /sbin/mkfs.famfs --size 4G "$T/free.img"
for i in 1 2 3 4 5; do
	run mount -t famfs "$T/free.img" "$T/m2"
	run umount -v "$T/m2" && [[ $OUT == *umount.famfs:*unmounted* ]] ||
		fail "round $i: umount -v did not run umount.famfs: $OUT"
	run /sbin/mkfs.famfs -f "$T/free.img"
done
run man -w umount.famfs

step "purge famfs"
run apt_get purge famfs
INSTALLED=0
for f in /usr/bin/famfs /usr/bin/famfs_fused /sbin/mount.famfs /sbin/mkfs.famfs /sbin/umount.famfs \
	/usr/share/man/man8/famfs.8.gz /usr/share/bash-completion/completions/famfs /usr/share/doc/famfs; do
	[ -e "$f" ] || [ -L "$f" ] && fail "$f left after purge"
done
dkms_test || true
if [ $FAILED = 0 ]; then
	echo "deb-test: 1 passed, 0 failed"
else
	echo "deb-test: 0 passed, 1 failed"
fi
exit $FAILED
