#!/usr/bin/env bash
# Builds the Debian packages (debian/) with dpkg-buildpackage from a copy of
# the working tree, so that what it writes beside the source stays in
# BUILD/deb: BUILD/deb/famfs_VERSION_amd64.deb (and the .buildinfo and
# .changes). Usage: scripts/build-deb.sh [BUILD]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
VERSION=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
[ "$VERSION" = "$(cat "$REPO/VERSION")" ] ||
	{ echo "build-deb: debian/changelog says $VERSION, VERSION says $(cat "$REPO/VERSION")" >&2; exit 1; }
OUT=$BUILD/deb
SRC=$OUT/famfs-$VERSION
rm -rf "$OUT"
mkdir -p "$SRC"
# The tree as it is (committed or not), without build output and git.
tar -C "$REPO" --exclude=./build --exclude=./.git --exclude="./$(realpath --relative-to="$REPO" "$BUILD" 2>/dev/null || echo build)" \
	-cf - . | tar -C "$SRC" -xf -
cd "$SRC"
export DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}"
if ! dpkg-buildpackage -us -uc >"$OUT/build.log" 2>&1; then
	tail -40 "$OUT/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (whole log: $OUT/build.log)" >&2
	exit 1
fi
cd "$OUT"
rm -rf "$SRC"
ls -1 "$OUT"/*.deb
