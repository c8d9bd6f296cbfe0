#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make vm-test KSERIES=6.1 T=load_test,sys_ioctl_test: the quick loop. One
# CI VM boot on one kernel, running only the selftests named (all of them
# if T is empty, without the final reboot).
set -uo pipefail
source "$(dirname "$0")/vm-lib.sh"
cd "$HVX_TOP" || exit 1

series=$1
tests=${2:-$(echo $HVX_SELFTESTS | tr ' ' ,)}
kver=$(scripts/kver.sh "$series")
[ -n "$kver" ] || { echo "vm-test: no $series kernel installed" >&2; exit 1; }
scripts/build-module.sh "$kver" || exit 1
make -s userspace selftests || exit 1
name="test-$series"
echo "vm-test: booting $kver with $tests"
vm_run "$name" "$kver" corei7_haswell_4770 2400 "hvxsuite=full hvxtests=$tests"
# shellcheck disable=SC2046
vm_verdict "$name" poweroff $(echo "$tests" | tr , ' ') | tee "build/vm/$name/results.tap"
! grep -q '^not ok' "build/vm/$name/results.tap"
