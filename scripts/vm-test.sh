#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make vm-test KSERIES=6.1 T=load_test,sys_ioctl_test: the quick loop. One
# CI VM boot on one kernel, running only the selftests named (all of them
# if T is empty, without the final reboot).
#
# Environment:
#   SUITE=kvm        run the KVM-API guest tests against /dev/kvm only
#                    (hvxsuite=kvm; results named NAME@kvm); T defaults to
#                    all of them. Default SUITE=full.
#   VM_APPEND=...    more kernel command-line words, e.g.
#                    "HVX_TEST_SPIN_SECONDS=2" (reaches the tests' env)
#   VM_TIMEOUT=SEC   wall-clock limit of the Bochs run (default 2400)
set -uo pipefail
source "$(dirname "$0")/vm-lib.sh"
cd "$HVX_TOP" || exit 1

series=$1
suite=${SUITE:-full}
case $suite in
kvm) all=$HVX_GUEST_TESTS ;;
*) all=$HVX_SELFTESTS ;;
esac
tests=${2:-$(echo $all | tr ' ' ,)}
kver=$(scripts/kver.sh "$series")
[ -n "$kver" ] || { echo "vm-test: no $series kernel installed" >&2; exit 1; }
if ! scripts/build-module.sh "$kver"; then
	# hvx.ko is not used against /dev/kvm: go on without it.
	[ "$suite" = kvm ] || exit 1
	echo "vm-test: hvx.ko does not build; SUITE=kvm goes on without it" >&2
fi
make -s userspace selftests || exit 1
name="test-$series"
names=$(echo "$tests" | tr , ' ')
if [ "$suite" = kvm ]; then
	name="kvm-$series"
	names=$(for t in $names; do printf '%s@kvm ' "${t%@kvm}"; done)
fi
echo "vm-test: booting $kver with $tests (hvxsuite=$suite)"
vm_run "$name" "$kver" corei7_haswell_4770 "${VM_TIMEOUT:-2400}" \
	"hvxsuite=$suite hvxtests=$tests${VM_APPEND:+ $VM_APPEND}"
# shellcheck disable=SC2086
vm_verdict "$name" poweroff $names | tee "build/vm/$name/results.tap"
! grep -q '^not ok' "build/vm/$name/results.tap"
