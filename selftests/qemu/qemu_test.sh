#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# qemu_test: Debian's own QEMU (qemu-system-x86_64, unmodified) boots the
# CI VM's kernel with the busybox initramfs of hvx-run's tests on
# $HVX_TEST_DEVICE (default /dev/hvx; the suite runs it again as
# qemu_test@kvm on /dev/kvm). QEMU opens /dev/kvm by name: for /dev/hvx
# the test points /dev/kvm at it (kvm_intel is unloaded then) and removes
# the link afterwards. Run from the CI VM payload directory, which holds
# the VM's kernel as vmlinuz, hvx-run-initramfs.cpio and qemu/ (QEMU and
# the firmware it loads: scripts/vm-lib.sh). TAP output; without QEMU or
# the kernel in the payload, every case is skipped.
#
# Each case boots to the initramfs's userspace (HVX-GUEST-UP), checks the
# CPU count the guest prints, and ends by the guest's poweroff (QEMU's
# exit status 0). The cases are the interrupt-controller models QEMU
# offers (-accel kvm,kernel-irqchip=off|split|on); a case that fails shows
# QEMU's own message, as a user would see it.
#
# QEMU_TEST_CASES (default "off:1") lists irqchip:cpus pairs, separated
# by spaces or commas.  On hvx,
# "split:2" stops at KVM_SET_VAPIC_ADDR and "on:2" at the in-kernel PIT
# QEMU asks for (both not implemented yet; on kvm_intel both boot);
# QEMU_TEST_TIMEOUT (seconds, default 1200) bounds each boot.

dev=${HVX_TEST_DEVICE:-/dev/hvx}
cd "$(dirname "$0")" || exit 1
qemu=./qemu/qemu-system-x86_64
# Commas too: a kernel command-line word (make vm-test VM_APPEND=...).
cases=$(echo "${QEMU_TEST_CASES:-off:1}" | tr , ' ')
limit=${QEMU_TEST_TIMEOUT:-1200}
tmp=/tmp/qemu-test.$$
mkdir -p "$tmp"
n=0
failed=0
link=no

set -- $cases
echo "TAP version 13"
echo "1..$#"

ok() {		# ok COND DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

# diag FILE: the end of QEMU's output as TAP comments, marked "# guest| "
# so that the suite's kernel-log check does not take the nested guest's
# messages for the CI VM's.
diag() {
	tail -n 25 "$1" | tr -d '\r' | sed 's/^/# guest| /'
}

skip_all() {
	for c in $cases; do
		n=$((n + 1))
		echo "ok $n # SKIP $1"
	done
	exit 4
}

[ -x "$qemu" ] || skip_all "no QEMU in the payload"
[ -f vmlinuz ] || skip_all "no kernel in the payload"
[ -c "$dev" ] || skip_all "$dev missing"

if [ "$dev" != /dev/kvm ]; then
	if [ -e /dev/kvm ]; then
		echo "# /dev/kvm exists: unload kvm_intel to run QEMU on $dev"
		skip_all "/dev/kvm is taken"
	fi
	ln -s "$dev" /dev/kvm || skip_all "cannot link /dev/kvm to $dev"
	link=yes
fi

cleanup() {
	[ "$link" = yes ] && rm -f /dev/kvm
	rm -rf "$tmp"
}
trap cleanup EXIT

for c in $cases; do
	chip=${c%:*}
	cpus=${c#*:}
	out="$tmp/$chip-$cpus.txt"
	append="console=ttyS0 loglevel=4 hvxguest=cpus"
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout "$limit" "$qemu" -L qemu -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot \
		-accel "kvm,kernel-irqchip=$chip" -machine pc \
		-smp "$cpus" -m 256M -kernel vmlinuz \
		-initrd hvx-run-initramfs.cpio -append "$append" \
		</dev/null >"$out" 2>&1
	st=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	got=$(tr -d '\r' <"$out" | sed -n 's/^HVX-GUEST-CPUS //p' | head -n 1)
	desc="kernel-irqchip=$chip -smp $cpus on $dev: userspace, $cpus CPUs, poweroff ($secs s)"
	if grep -q '^HVX-GUEST-UP' "$out" && [ "$got" = "$cpus" ] &&
	   grep -q '^HVX-GUEST-DONE' "$out" && [ "$st" -eq 0 ]; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		echo "# exit status $st, guest CPUs '${got:-none}'"
		diag "$out"
	fi
done

[ "$failed" -eq 0 ]
