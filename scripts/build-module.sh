#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build hvx.ko for kernel KVER in build/mod-KVER/ (a copy of the sources, so
# that builds for several kernels do not share objects), with W=1 and sparse
# (C=2). The build log is build/mod-KVER/build.log; the exit status is
# non-zero if the build failed or printed any warning.
set -u
kver=${1:?usage: build-module.sh KVER}
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/mod-$kver"
rm -rf "$out"
mkdir -p "$out"
cp -r "$top/Kbuild" "$top/module" "$top/uapi" "$out/"
make -C "/lib/modules/$kver/build" M="$out" W=1 C=2 modules >"$out/build.log" 2>&1
status=$?
if [ $status -ne 0 ] || [ ! -f "$out/hvx.ko" ]; then
	cat "$out/build.log"
	exit 1
fi
# Any compiler, sparse or modpost warning fails the build.
if grep -Ei '(warning|error)[: ]' "$out/build.log"; then
	exit 1
fi
exit 0
