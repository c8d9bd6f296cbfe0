#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build hvx for Debian's 6.12 kernel, boot it in the CI VM (Bochs
# with an emulated VT-x CPU) and show, live, the VM's console while hvx
# loads, enters VMX root on both CPUs, answers hvx-info, runs small guests
# (smoke_test: a real-mode guest doing port I/O, HLT, CPUID), boots the VM's
# own kernel with a busybox initramfs under hvx-run (its console shows
# inline) and unloads. 6.12: its payload carries the kernel for hvx-run.
set -euo pipefail
source "$(dirname "$0")/vm-lib.sh"
cd "$HVX_TOP"

kver=$(scripts/kver.sh 6.12)
scripts/build-module.sh "$kver"
make -s userspace selftests
echo "demo: booting Debian $kver in Bochs (2 emulated VT-x CPUs); this takes a few minutes"
rm -f build/vm/demo/out/serial.log
vm_run demo "$kver" corei7_haswell_4770 2400 "hvxsuite=demo" &
pid=$!
# -F: run-vm.sh creates the serial log anew once Bochs starts. tail exits 1
# when the file was missing at its start, which says nothing about the demo.
tail -n +1 -F --pid=$pid build/vm/demo/out/serial.log 2>/dev/null || true
st=0
wait $pid || st=$?

# The verdict: how the VM ended and what the payload said of itself.
out=build/vm/demo/out
payload=$(tr -d '\r' <"$out/serial.log" 2>/dev/null |
	sed -n 's/^RUN-VM: payload exit \([0-9]*\).*/\1/p' | tail -n 1)
failed=$(tr -d '\r' <"$out/serial.log" 2>/dev/null |
	sed -n 's/^DEMO-FAILED //p' | tr '\n' ' ')
echo
tail -n 1 build/vm/demo/run-vm.log
if [ "$st" -eq 0 ] && [ "${payload:-none}" = 0 ]; then
	echo "demo: ok (hvx loaded, ran guests and a nested Linux, unloaded)"
	exit 0
fi
grep 'before the guest printed anything' build/vm/demo/run-vm.log || true
echo "demo: FAILED: VM end $(cat "$out/end" 2>/dev/null || echo none)," \
	"payload exit ${payload:-none}${failed:+, failed steps: $failed}" >&2
echo "demo: logs in $out (serial.log, bochs.log, bochs.out)" >&2
exit 1
