#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hvx_run_test: hvx-run boots its guests on $HVX_TEST_DEVICE (default
# /dev/hvx; the suite runs it again as hvx_run_test@kvm on /dev/kvm).
# Run from the CI VM payload directory, which holds hvx-run, the test
# guests (hvx-run-flat.bin, hvx-run-multiboot.elf), the busybox initramfs
# (hvx-run-initramfs.cpio) and, where the CI run affords a nested Linux
# boot, the VM's own kernel as vmlinuz. TAP output.
#
#   flat       a real-mode binary: string I/O, PIC, PIT interrupts, HLT,
#              debug-exit status 67
#   multiboot  an ELF multiboot kernel: magic, command line, memory size,
#              cli; hlt as power-off (status 0)
#   errors     a missing kernel file and a bad size fail with a message
#   linux      the VM's kernel + busybox initramfs to userspace: no APIC,
#              TSC rate from CPUID, a 1 s sleep on PIT interrupts, a line
#              of console input, poweroff -f (status 0)
#
# HVX_RUN_LINUX_TIMEOUT (seconds, default 1500) bounds the Linux boot.

dev=${HVX_TEST_DEVICE:-/dev/hvx}
cd "$(dirname "$0")" || exit 1
run=./hvx-run
n=0
failed=0
tmp=/tmp/hvx-run-test.$$
mkdir -p "$tmp"

ok() {		# ok COND DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

# diag FILE [LINES]: the end of a guest's output as TAP comments, marked
# "# guest| " so that the suite's kernel-log check (vm_verdict) does not
# take the nested guest's messages for the CI VM's.
diag() {
	tail -n "${2:-25}" "$1" | tr -d '\r' | sed 's/^/# guest| /'
}

has() {		# has FILE LINE-REGEX
	tr -d '\r' <"$1" | grep -q -E "$2"
}

echo "TAP version 13"
echo "1..8"
echo "# device $dev"

# flat: status (0x21 << 1) | 1 = 67, ten timer interrupts seen.
timeout 120 $run --device "$dev" --kernel hvx-run-flat.bin --flat 0x10000 \
	--debug-exit 0x501 </dev/null >"$tmp/flat" 2>&1
st=$?
has "$tmp/flat" '^HVX-FLAT-TICKS 10$' && [ $st -eq 67 ]
r=$?
[ $r -eq 0 ] || { echo "# exit status $st"; diag "$tmp/flat"; }
ok $r "flat: real-mode binary, string OUT, PIC+PIT interrupts, debug-exit status 67"

# multiboot: 64 MiB => mem_upper = 63 MiB in KiB; command line after name.
timeout 120 $run --device "$dev" -m 64M --kernel hvx-run-multiboot.elf \
	--append "hello multiboot" </dev/null >"$tmp/mb" 2>&1
st=$?
has "$tmp/mb" '^HVX-MB-CMDLINE hvx-run-multiboot.elf hello multiboot$' &&
	has "$tmp/mb" '^HVX-MB-MEM-UPPER-KIB 64512$' && [ $st -eq 0 ]
r=$?
[ $r -eq 0 ] || { echo "# exit status $st"; diag "$tmp/mb"; }
ok $r "multiboot: ELF kernel gets magic, cmdline and memory size; cli;hlt is power-off"

# errors
$run --device "$dev" --kernel /nonexistent </dev/null >"$tmp/e1" 2>&1
st=$?
[ $st -eq 1 ] && grep -q "cannot open kernel '/nonexistent'" "$tmp/e1"
r=$?
[ $r -eq 0 ] || diag "$tmp/e1"
ok $r "errors: a missing kernel file fails with status 1 and says so"

$run --device "$dev" -m 12Q --kernel hvx-run-flat.bin --flat 0 </dev/null \
	>"$tmp/e2" 2>&1
st=$?
[ $st -eq 2 ] && grep -q "bad memory size '12Q'" "$tmp/e2"
r=$?
[ $r -eq 0 ] || diag "$tmp/e2"
ok $r "errors: a bad memory size fails with status 2 and says so"

$run --device "$dev" --kernel hvx-run-initramfs.cpio </dev/null \
	>"$tmp/e3" 2>&1
st=$?
[ $st -eq 1 ] && grep -q "neither a bzImage nor a multiboot kernel" "$tmp/e3"
r=$?
[ $r -eq 0 ] || diag "$tmp/e3"
ok $r "errors: a file that is no kernel fails with status 1 and says so"

# linux
skip_linux() {
	for t in "boots to userspace and powers off" "no APIC; TSC rate from CPUID" "timer and console input"; do
		n=$((n + 1))
		echo "ok $n linux: $t # SKIP $1"
	done
	rm -rf "$tmp"
	[ $failed -eq 0 ]
	exit
}
[ -f vmlinuz ] ||
	skip_linux "no vmlinuz in this payload (the nested Linux boot runs in the 6.12 CI VM only)"
# The capabilities a Linux guest needs are checked before its memory
# size: with 2 MiB, hvx-run stops at one or the other without booting.
$run --device "$dev" --kernel vmlinuz -m 2M </dev/null >"$tmp/cap" 2>&1
if grep -q "lacks KVM_CAP_EXT_CPUID" "$tmp/cap"; then
	skip_linux "$dev lacks KVM_CAP_EXT_CPUID (KVM_SET_CPUID2), which a Linux guest needs"
fi
start=$(cut -d. -f1 /proc/uptime)
# The guest reads a line that starts with hvx-input-: offer it every second.
(while sleep 1; do echo "hvx-input-42" || exit 0; done) |
	timeout "${HVX_RUN_LINUX_TIMEOUT:-1500}" $run --device "$dev" -m 160M \
		--kernel vmlinuz --initrd hvx-run-initramfs.cpio \
		--append "earlyprintk=serial,ttyS0,115200 console=ttyS0 noapic nolapic acpi=off loglevel=4 panic=-1" \
		>"$tmp/linux" 2>&1
st=$?
echo "# linux boot took $(( $(cut -d. -f1 /proc/uptime) - start )) s, exit status $st"
tr -d '\r' <"$tmp/linux" | grep '^HVX-GUEST' | sed 's/^/# guest| /'
has "$tmp/linux" '^HVX-GUEST-UP ' && has "$tmp/linux" '^HVX-GUEST-DONE$' &&
	[ $st -eq 0 ]
r=$?
[ $r -eq 0 ] || diag "$tmp/linux" 60
ok $r "linux: boots to userspace and powers off (status 0)"

has "$tmp/linux" '^HVX-GUEST-APIC no$' &&
	has "$tmp/linux" '^HVX-GUEST-TSC tsc: Detected [0-9.]+ MHz' &&
	has "$tmp/linux" '^HVX-GUEST-TSC-KNOWN-FREQ yes$' &&
	has "$tmp/linux" '^HVX-GUEST-CPUS 1$'
r=$?
[ $r -eq 0 ] || tr -d '\r' <"$tmp/linux" | grep -E '^HVX-GUEST|tsc' | sed 's/^/# /'
ok $r "linux: one CPU, no APIC; TSC rate from CPUID leaf 0x15 (no calibration)"

# sleep 1 in the guest: its uptime advanced by about a second.
sleep=$(tr -d '\r' <"$tmp/linux" | sed -n 's/^HVX-GUEST-SLEEP //p')
set -- $sleep
r=1
if [ $# -eq 2 ]; then
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(b - a >= 0.99 && b - a < 5) }'
	r=$?
fi
has "$tmp/linux" '^HVX-GUEST-INPUT hvx-input-42$' || r=1
[ $r -eq 0 ] || tr -d '\r' <"$tmp/linux" | grep -E '^HVX-GUEST' | sed 's/^/# /'
ok $r "linux: PIT timer interrupts (sleep 1) and console input over the UART's IRQ 4"

rm -rf "$tmp"
[ $failed -eq 0 ]
