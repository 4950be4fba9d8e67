#!/usr/bin/env bash
# Generates the man pages (section 8) from the programs' own --help, with
# help2man, so they never disagree with the programs:
#   famfs.8, famfs-COMMAND.8 for each subcommand, mkfs.famfs.8,
#   mount.famfs.8, umount.famfs.8 (and umount.fuse.famfs.8, which sources
#   it), famfs_fused.8
# Usage: scripts/man.sh BUILD VERSION   (writes BUILD/man/*.8)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
VERSION=$2
OUT=$BUILD/man
FAMFS=$BUILD/famfs
mkdir -p "$OUT"
command -v help2man >/dev/null || { echo "man.sh: help2man missing (scripts/deps.sh)" >&2; exit 1; }
# mount.famfs and umount.famfs are famfs under those names.
ln -sf famfs "$BUILD/mount.famfs"
ln -sf famfs "$BUILD/umount.famfs"

# The subcommands and their one-line summaries, from `famfs --help`.
mapfile -t CMDS < <("$FAMFS" --help | awk '/^Run /{exit} f && NF {print $1} /Commands:/{f=1}')
summary() { # CMD: its summary, lower-cased first letter, no final period
	"$FAMFS" --help | awk -v c="$1" '$1 == c { $1 = ""; sub(/^ +/, ""); print; exit }' |
		sed 's/\.$//; s/^\(.\)/\L\1/'
}
see_also() { # the SEE ALSO section, every page but @1
	local refs=() c
	for c in famfs "${CMDS[@]/#/famfs-}" mkfs.famfs mount.famfs umount.famfs famfs_fused; do
		[ "$c" = "$1" ] || refs+=("\\fB$c\\fR(8)")
	done
	printf '[SEE ALSO]\n'
	printf '%s,\n' "${refs[@]}"
	printf '\\fBmount\\fR(8), \\fBfstab\\fR(5)\n.PP\n'
	printf 'The user guide: /usr/share/doc/famfs/user-guide.md.gz (installed) or docs/user-guide.md.\n'
}
gen() { # PAGE-NAME PROGRAM NAME-LINE [help2man options]
	local page=$1 prog=$2 name=$3
	shift 3
	see_also "$page" >"$OUT/$page.h2m"
	help2man -N -s 8 -m "famfs" -S "famfs $VERSION" --version-string="$VERSION" \
		-n "$name" -i "$OUT/$page.h2m" "$@" "$prog" >"$OUT/$page.8.tmp"
	# help2man names a page after the first word of PROGRAM: "famfs cp" is famfs-cp.
	local title=${page^^}
	sed -e "s/^\.TH [^ ]* /.TH ${title//./\\.} /" \
		-e "/^\.SH NAME/{n;s/^.* \\\\- /${page//./\\.} \\\\- /}" "$OUT/$page.8.tmp" >"$OUT/$page.8"
	rm -f "$OUT/$page.8.tmp" "$OUT/$page.h2m"
}

gen famfs "$FAMFS" "share fabric-attached memory between hosts as files"
for c in "${CMDS[@]}"; do
	gen "famfs-$c" "$FAMFS $c" "$(summary "$c")"
done
gen mkfs.famfs "$FAMFS mkfs" "create a famfs file system (famfs mkfs)"
gen mount.famfs "$BUILD/mount.famfs" "mount(8) helper for famfs file systems"
gen umount.famfs "$BUILD/umount.famfs" "umount(8) helper for famfs file systems"
printf '.so man8/umount.famfs.8\n' >"$OUT/umount.fuse.famfs.8"
gen famfs_fused "$BUILD/famfs_fused" "the famfs FUSE server"
echo "man.sh: $(ls "$OUT"/*.8 | wc -l) pages in $OUT"
