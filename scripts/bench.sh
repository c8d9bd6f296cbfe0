#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the benchmark of DESIGN.md §6. hvx.ko built from the current
# tree for Debian's 6.1 kernel, then one CI VM boot (Bochs,
# corei7_haswell_4770, 1 emulated CPU) that runs the same KVM-API client
# (selftests/hvx/bench.c) against /dev/hvx, then /dev/kvm (kvm_intel), and
# prints the comparison: the table, the ratios hvx/kvm and, last, lines such
# as "BENCH cpuid_exit_us hvx=.. kvm=.. ratio=..". Times are emulated time
# (Bochs, clock: sync=none): repeatable path lengths, not hardware figures.
# The targets are printed, never judged.
#
# Results: build/vm/bench/bench.txt (the comparison), build/vm/bench/out/
# (serial.txt is the VM's console, bochs.log Bochs's log).
#
# Exit status: 0 when every figure was measured on both devices and the
# kernel logged no warning; 1 otherwise (the figures that were measured are
# printed all the same).
#
# Environment:
#   VM_APPEND=...    more kernel command-line words; HVX_BENCH_* words reach
#                    the bench as environment variables, e.g.
#                    "HVX_BENCH_VMS=64 HVX_BENCH_MODE=protected" (see
#                    "bench -h" for all of them)
#   VM_TIMEOUT=SEC   wall-clock limit of the Bochs run (default 3600)
#   BENCH_CPUS=N     emulated CPUs (default 1: boots about twice as fast)
set -uo pipefail
source "$(dirname "$0")/vm-lib.sh"
cd "$HVX_TOP" || exit 1

kver=$(scripts/kver.sh 6.1)
[ -n "$kver" ] || { echo "bench: no Debian 6.1 kernel with headers installed (make deps)" >&2; exit 1; }
scripts/build-module.sh "$kver" || { echo "bench: hvx.ko does not build for $kver" >&2; exit 1; }
make -s build/selftests/bench build/bin/hvx-run \
	build/selftests/hvx-run-initramfs.cpio || exit 1

dir=build/vm/bench
rm -rf "$dir/payload"
mkdir -p "$dir/payload"
cp "build/mod-$kver/hvx.ko" build/selftests/bench "$dir/payload/"
# The Linux boot lines: hvx-run boots this kernel nested on each device,
# with one vCPU and the userspace PIC, then with two and the irqchip.
cp build/bin/hvx-run build/selftests/hvx-run-initramfs.cpio "$dir/payload/"
cp "/boot/vmlinuz-$kver" "$dir/payload/vmlinuz"
cp selftests/vm/suite.sh "$dir/payload/run.sh"
cp selftests/vm/tests.sh "$dir/payload/"
rm -f "$dir/bench.txt"

rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "bench: hvx $rev; booting Debian $kver in Bochs (${BENCH_CPUS:-1} emulated CPU); this takes several minutes"
start=$(date +%s)
selftests/vm/run-vm.sh --kernel "$kver" --cpu corei7_haswell_4770 \
	--cpus "${BENCH_CPUS:-1}" --timeout "${VM_TIMEOUT:-3600}" \
	--payload "$dir/payload" --out "$dir/out" --modules kvm_intel \
	--append "hvxsuite=bench${VM_APPEND:+ $VM_APPEND}" >"$dir/run-vm.log" 2>&1
grep "before the guest printed anything" "$dir/run-vm.log"
tail -n 1 "$dir/run-vm.log"
echo "bench: the VM ran for $(( $(date +%s) - start )) s"

log=$dir/out/serial.txt
tr -d '\r' <"$dir/out/serial.log" >"$log" 2>/dev/null
sed -n '/^HVX-BENCH-BEGIN$/,/^HVX-BENCH-END$/p' "$log" | sed '1d;$d' >"$dir/bench.txt"
status=0
if [ -s "$dir/bench.txt" ]; then
	sed -i "1i $(date -u '+%Y-%m-%d %H:%M UTC'): hvx $rev; Bochs corei7_haswell_4770 x${BENCH_CPUS:-1}, emulated time" "$dir/bench.txt"
	echo
	cat "$dir/bench.txt"
	echo
	grep -q '^BENCH .*=error' "$dir/bench.txt" && status=1
else
	echo "bench: no results; the end of the console ($log):"
	tail -n 40 "$log"
	status=1
fi

bad=$(sed -n '/^HVX-SUITE-START/,$p' "$log" | grep -E "$HVX_BAD_KERNEL_LINES")
if [ -n "$bad" ]; then
	echo "bench: the kernel logged warnings or errors:"
	echo "$bad" | head -n 40 | sed 's/^/  /'
	status=1
fi
echo "bench: results in $dir/bench.txt; console in $log"
exit $status
