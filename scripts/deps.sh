#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install (with apt) the Debian packages hvx's build, checks and CI VM need,
# when they are missing.
set -e
pkgs="make gcc libc6-dev perl sparse kmod xz-utils cpio
      linux-image-amd64 linux-headers-amd64
      linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.1
      bochs bochsbios vgabios busybox-static isolinux syslinux-common xorriso
      bpftrace dkms flex bison bc rsync"
# Installed without its recommends (a desktop's worth): qemu_test runs
# Debian's QEMU in the CI VM.
pkgs_norec="qemu-system-x86"
missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q "ok installed" || echo "$p"
	done
}
# shellcheck disable=SC2086 # package lists are words
missing=$(missing $pkgs)
# shellcheck disable=SC2086
missing_norec=$(missing $pkgs_norec)
[ -z "$missing$missing_norec" ] && exit 0
echo "deps: installing" $missing $missing_norec
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
[ -z "$missing" ] || $sudo apt-get install -y -q $missing
# shellcheck disable=SC2086
[ -z "$missing_norec" ] ||
	$sudo apt-get install -y -q --no-install-recommends $missing_norec
