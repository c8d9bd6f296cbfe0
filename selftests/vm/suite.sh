#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The in-VM test suite. The CI VM's init runs it as /payload/run.sh; the
# host (scripts/vm-verdict.sh) reads its results from the serial log.
#
# Kernel command-line words choose what runs:
#   hvxsuite=full    every selftest, the KVM-API guest tests twice (against
#                    /dev/hvx, then as NAME@kvm against /dev/kvm), then
#                    reboot with hvx loaded and /dev/hvx open (the host
#                    checks that the VM reset)
#   hvxkvm=no        with hvxsuite=full: no NAME@kvm runs (make check
#                    compares with KVM on one kernel)
#   hvxkvmst=yes     with hvxsuite=full: KVM's own selftests too, against
#                    both devices (the test kvm_selftests, last)
#   hvxskip=a,b      with hvxsuite=full: not these tests (make check runs
#                    them on the other kernel)
#   hvxsuite=probe   only probe_test (CPU models that cannot run hvx)
#   hvxsuite=kvm     the KVM-API guest tests against /dev/kvm only, each
#                    named NAME@kvm (checks that they test what KVM does)
#   hvxsuite=demo    load hvx and show it working
#   hvxsuite=bench   the benchmark (make bench): bench against /dev/hvx, then
#                    /dev/kvm, then their comparison between HVX-BENCH-BEGIN
#                    and HVX-BENCH-END, then the kernel log
#   hvxtests=a,b     run only these selftests (with hvxsuite=full: no reboot);
#                    NAME@kvm runs NAME against /dev/kvm
# Other NAME=value words (e.g. HVX_TEST_SPIN_SECONDS=2) reach the tests as
# environment variables: the kernel hands them to init.
#   HVX_TRACE=N      debugging: every hvx tracepoint on during each test
#                    against /dev/hvx, and the last N lines of the trace
#                    printed after it between HVX-TRACE-BEGIN <test> and
#                    HVX-TRACE-END (tests that use tracefs themselves, such
#                    as trace_test, change the event settings)
#
# The KVM-API guest tests get HVX_TEST_DEVICE=/dev/hvx with hvx loaded and
# kvm_intel unloaded, or HVX_TEST_DEVICE=/dev/kvm with kvm_intel loaded
# (from /lib/modules-extra) and hvx unloaded.
#
# Output protocol, one marker per line:
#   HVX-SUITE-START <suite> <kernel>
#   HVX-TEST-START <test> ... HVX-TEST-TIME <test> <uptime before> <uptime
#                   after> <exit status>   (live, as each test runs: the
#                   kernel's warnings may come in between)
#   HVX-TAP-BEGIN <test> ... HVX-TAP-END <test> <exit status>   (all of
#                   them again after the last test, with the console quiet)
#   HVX-DMESG-BEGIN ... HVX-DMESG-END   (kernel log since the suite started)
#   HVX-REBOOT                          (about to reboot)

cd /payload || exit 1
export HVX_KO=/payload/hvx.ko

# The test lists (selftests/vm/tests.sh, shared with the host's
# scripts/vm-lib.sh).
. /payload/tests.sh
guest_tests=$HVX_GUEST_TESTS
hvx_only_in_full=$HVX_ONLY_IN_FULL

suite=full
tests=""
with_kvm=yes
with_kvmst=no
skip=""
for word in $(cat /proc/cmdline); do
	case "$word" in
	hvxsuite=*) suite=${word#hvxsuite=} ;;
	hvxtests=*) tests=$(echo "${word#hvxtests=}" | tr , ' ') ;;
	hvxkvm=no) with_kvm=no ;;
	hvxkvmst=yes) with_kvmst=yes ;;
	hvxskip=*) skip=$(echo "${word#hvxskip=}" | tr , ' ') ;;
	esac
done
reboot_after=no
if [ -z "$tests" ]; then
	case "$suite" in
	full) tests=$HVX_SELFTESTS_HVX
	      for t in $guest_tests; do
		      [ "$with_kvm" = yes ] || break
		      case " $hvx_only_in_full " in
		      *" $t "*) ;;
		      *) tests="$tests $t@kvm" ;;
		      esac
	      done
	      [ "$with_kvmst" = yes ] && tests="$tests kvm_selftests"
	      kept=""
	      for t in $tests; do
		      case " $skip " in *" $t "*) ;; *) kept="$kept $t" ;; esac
	      done
	      tests=$kept
	      reboot_after=yes ;;
	probe) tests="probe_test" ;;
	kvm) tests=$guest_tests ;;
	esac
fi
if [ "$suite" = kvm ]; then
	t_kvm=""
	for t in $tests; do t_kvm="$t_kvm ${t%@kvm}@kvm"; done
	tests=$t_kvm
fi

is_guest_test() {
	case " $guest_tests " in *" $1 "*) return 0 ;; esac
	return 1
}

# kvm_load, kvm_unload (selftests/vm/modules.sh)
. /payload/modules.sh

hvx_unload() {
	[ -d /sys/module/hvx ] && rmmod hvx
}

tracefs=/sys/kernel/tracing
trace_start() {
	[ -n "${HVX_TRACE:-}" ] && [ -w $tracefs/events/hvx/enable ] || return 0
	: >$tracefs/trace
	echo 1 >$tracefs/events/hvx/enable
}

trace_dump() {
	[ -n "${HVX_TRACE:-}" ] && [ -r $tracefs/trace ] || return 0
	echo "HVX-TRACE-BEGIN $1"
	grep -v '^#' $tracefs/trace | tail -n "$HVX_TRACE"
	echo "HVX-TRACE-END"
	[ -w $tracefs/events/hvx/enable ] && echo 0 >$tracefs/events/hvx/enable
	: >$tracefs/trace
}

# Judge the kernel log from here on: boot-time messages are not ours.
dmesg -c >/dev/null
# Console: warnings and worse only, so that they show even if the VM dies.
dmesg -n 5
echo "HVX-SUITE-START $suite $(uname -r)"

if [ "$suite" = demo ]; then
	# The payload's exit status tells the host whether the demo worked:
	# the name of each step that failed is printed as "DEMO-FAILED step".
	demo_rc=0
	demo_failed() { echo "DEMO-FAILED $1"; demo_rc=1; }
	echo "\$ insmod hvx.ko"
	insmod hvx.ko || { demo_failed insmod; exit 1; }
	echo "\$ dmesg | grep hvx"
	dmesg | grep hvx
	echo "\$ ls -l /dev/hvx"
	ls -l /dev/hvx
	echo "\$ cat /sys/class/misc/hvx/vmx_root"
	cat /sys/class/misc/hvx/vmx_root
	echo "\$ hvx-info"
	./hvx-info || demo_failed hvx-info
	echo "\$ smoke_test    # guests: port I/O, HLT, CPUID, a signal, a triple fault"
	./smoke_test || demo_failed smoke_test
	if [ -f vmlinuz ]; then
		echo "\$ hvx-run -m 160M --kernel /boot/vmlinuz-\$(uname -r) --initrd initramfs.cpio --append ..."
		echo "  (a nested boot of this VM's own kernel on /dev/hvx: minutes in Bochs)"
		./hvx-run -m 160M --irqchip=user --kernel vmlinuz \
			--initrd hvx-run-initramfs.cpio \
			--append "console=ttyS0 noapic nolapic acpi=off loglevel=4" \
			</dev/null
		st=$?
		echo "hvx-run: exit status $st"
		[ $st -eq 0 ] || demo_failed hvx-run
	fi
	echo "\$ rmmod hvx"
	if rmmod hvx; then echo "hvx unloaded"; else demo_failed rmmod; fi
	exit $demo_rc
fi

# linux_boot DEVICE [SMP]: VM-uptime seconds for hvx-run to boot the
# payload's kernel (this VM's own) with the busybox initramfs to user space
# and power off, or "error". Without SMP: one vCPU, the PIC and PIT in
# hvx-run (--irqchip=user); with it, SMP vCPUs and the in-kernel irqchip,
# the kernel finding them in the MP table.
linux_boot() {
	[ -f vmlinuz ] || { echo error; return; }
	if [ -n "${2:-}" ]; then
		opts="-m 256M --smp $2 --irqchip=kernel"
		cmdline="console=ttyS0 loglevel=4 hvxguest=poweroff"
	else
		opts="-m 160M --irqchip=user"
		cmdline="console=ttyS0 noapic nolapic acpi=off loglevel=4 hvxguest=poweroff"
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086 # opts are words
	if ./hvx-run --device "$1" $opts --kernel vmlinuz \
		--initrd hvx-run-initramfs.cpio --append "$cmdline" \
		</dev/null >/tmp/linux-boot.txt 2>&1 &&
	   grep -q '^HVX-GUEST-UP' /tmp/linux-boot.txt; then
		t1=$(cut -d' ' -f1 /proc/uptime)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
	else
		echo error
	fi
}

if [ "$suite" = bench ]; then
	# Each run reports its own errors: hvx.ko failing to load, or to
	# unload (then kvm_intel cannot), shows as a device it cannot open.
	insmod hvx.ko
	./bench -d /dev/hvx -o /tmp/bench-hvx.txt
	boot_hvx=$(linux_boot /dev/hvx)
	smp_hvx=$(linux_boot /dev/hvx 2)
	hvx_unload
	kvm_load
	./bench -d /dev/kvm -o /tmp/bench-kvm.txt
	boot_kvm=$(linux_boot /dev/kvm)
	smp_kvm=$(linux_boot /dev/kvm 2)
	kvm_unload
	dmesg -n 1
	echo "HVX-BENCH-BEGIN"
	./bench -C /tmp/bench-hvx.txt /tmp/bench-kvm.txt
	# The same launcher (hvx-run) on both devices.
	boot_line() {	# boot_line NAME HVX KVM
		awk -v n="$1" -v h="$2" -v k="$3" 'BEGIN {
			r = (h + 0 > 0 && k + 0 > 0) ? sprintf("%.3f", h / k) : "n/a"
			printf "BENCH %s hvx=%s kvm=%s ratio=%s\n", n, h, k, r
		}'
	}
	boot_line linux_boot_to_userspace_s "$boot_hvx" "$boot_kvm"
	boot_line linux_smp2_boot_to_userspace_s "$smp_hvx" "$smp_kvm"
	echo "HVX-BENCH-END"
	echo "HVX-DMESG-BEGIN"
	dmesg
	echo "HVX-DMESG-END"
	exit 0
fi

for t in $tests; do
	bin=${t%@kvm}
	dev=/dev/hvx
	if [ "$bin" != "$t" ]; then
		hvx_unload
		kvm_load
		dev=/dev/kvm
	else
		kvm_unload
		if is_guest_test "$bin" && [ ! -d /sys/module/hvx ]; then
			insmod hvx.ko
		fi
	fi
	[ "$dev" = /dev/hvx ] && trace_start
	read -r up0 _ </proc/uptime
	echo "HVX-TEST-START $t"
	{ HVX_TEST_DEVICE=$dev "./$bin" 2>&1; echo $? >"/tmp/$t.rc"; } |
		tee "/tmp/$t.tap"
	read -r up1 _ </proc/uptime
	echo "HVX-TEST-TIME $t $up0 $up1 $(cat "/tmp/$t.rc" 2>/dev/null || echo none)"
	[ "$dev" = /dev/hvx ] && trace_dump "$t"
done
# Leave VMX to nobody (the reboot below loads hvx again).
kvm_unload
hvx_unload

# The results again, in one piece, with the console quiet.
dmesg -n 1
for t in $tests; do
	echo "HVX-TAP-BEGIN $t"
	cat "/tmp/$t.tap"
	echo "HVX-TAP-END $t $(cat "/tmp/$t.rc" 2>/dev/null || echo none)"
done
echo "HVX-DMESG-BEGIN"
dmesg
echo "HVX-DMESG-END"
dmesg -n 5

if [ "$reboot_after" = yes ]; then
	# A CPU left in VMX root blocks INIT: with hvx loaded and a file open,
	# the reboot must still reset the machine.
	if insmod hvx.ko && exec 3</dev/hvx; then
		echo "HVX-REBOOT"
		# reboot -f does not wait for the console: let it drain first.
		sleep 3
		reboot -f
	fi
	echo "HVX-REBOOT-SETUP-FAILED"
fi
exit 0
