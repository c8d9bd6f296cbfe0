#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract the kselftest headers and checkpatch.pl from Debian's
# linux-source-6.1 package into DIR (they are used from there, never copied
# into the repository).
set -e
dir=${1:?usage: linux-tools.sh DIR}
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "linux-tools: install linux-source-6.1" >&2; exit 1; }
top=$(basename "$tarball" | sed 's/\.tar\..*//')
mkdir -p "$dir"
tar -xf "$tarball" -C "$dir" --strip-components=1 \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
touch "$dir/.done"
