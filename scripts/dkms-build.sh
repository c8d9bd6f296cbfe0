#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-build.sh KVER: "dkms add" and "dkms build" hvx (dkms.conf) for
# kernel KVER from a copy of the source tree, as a user of a dev box would,
# without touching the host's DKMS state: the DKMS and source trees are
# temporary, and /var/lib/dkms (where DKMS creates its module-signing key)
# is a tmpfs in a private mount namespace. Checks that hvx.ko was built for
# KVER. Log: build/dkms-KVER.log.
set -uo pipefail
kver=${1:?usage: dkms-build.sh KVER}
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/hvx-$version" "$tmp/tree"
cp -r "$top/Kbuild" "$top/module" "$top/uapi" "$top/dkms.conf" \
	"$tmp/src/hvx-$version/"

# shellcheck disable=SC2016
unshare -m bash -c '
	set -e
	mount -t tmpfs tmpfs /var/lib/dkms
	opts=(-m hvx -v "$2" --dkmstree "$1/tree" --sourcetree "$1/src")
	dkms add "${opts[@]}"
	dkms build "${opts[@]}" -k "$3"
	dkms status "${opts[@]}" -k "$3"
' sh "$tmp" "$version" "$kver" >"$top/build/dkms-$kver.log" 2>&1
st=$?
cat "$top/build/dkms-$kver.log"
[ $st -eq 0 ] || exit 1
ko=$(find "$tmp/tree/hvx/$version/$kver" -name 'hvx.ko*' | head -n 1)
[ -n "$ko" ] || { echo "dkms-build: no hvx.ko in the DKMS tree"; exit 1; }
magic=$(modinfo -F vermagic "$ko")
echo "dkms-build: $(basename "$ko"): vermagic $magic"
[ "${magic%% *}" = "$kver" ]
