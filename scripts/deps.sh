#!/usr/bin/env bash
# Installs the Debian 12 packages famfs needs to build and test user space,
# if any are missing. Usage: scripts/deps.sh [--kernel]
#   --kernel  also what the kernel side and its qemu tests need: for each
#             supported kernel series (6.1, 6.12) the newest headers
#             (scripts/kernel-env.sh --wanted) and linux-source-<series>;
#             scripts/fetch-kernel.sh then caches the matching images
#   --deb     also what building and checking the Debian packages needs
# Runs apt-get as root (directly, or through sudo). Does nothing when all
# packages are present.
set -euo pipefail

pkgs=(gcc make pkg-config libfuse3-dev fuse3 libcmocka-dev libdaxctl-dev libndctl-dev
	libyaml-dev libmount-dev uuid-dev zlib1g-dev libisal-dev python3 clang-14 libfuzzer-14-dev libclang-rt-14-dev
	help2man)
# --deb: building the Debian packages (make deb, in make check).
if [ "${1:-}" = "--deb" ] || [ "${1:-}" = "--kernel" ]; then
	pkgs+=(debhelper dh-dkms dkms dpkg-dev lintian help2man bash-completion bsdutils)
fi
if [ "${1:-}" = "--kernel" ]; then
	pkgs+=(linux-source-6.1 linux-source-6.12 qemu-system-x86 busybox-static cpio ndctl daxctl
		kmod xz-utils rsync patch e2fsprogs)
	here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	wanted=$("$here/kernel-env.sh" --wanted)
	if [ "$(echo "$wanted" | grep -c .)" -lt 2 ]; then
		# the package lists do not know 6.12 (bookworm-security) yet
		if [ "$(id -u)" = 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
		wanted=$("$here/kernel-env.sh" --wanted)
	fi
	# shellcheck disable=SC2206 # one package a line
	pkgs+=($wanted)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "famfs: installing missing Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "famfs: not root and no sudo; install them with: apt-get install ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
