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
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
