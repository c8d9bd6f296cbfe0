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
#              debug-exit status 67; with the userspace PIC
#              (--irqchip=user), then with the device's (--irqchip=kernel)
#   multiboot  an ELF multiboot kernel: magic, command line, memory size,
#              cli; hlt as power-off (status 0), both irqchip models
#   errors     a missing kernel file, a bad size, a bad --smp count and
#              --smp 2 with the userspace PIC fail with a message
#   linux      the VM's kernel + busybox initramfs to userspace with
#              --irqchip=user: no APIC, TSC rate from CPUID, a 1 s sleep on
#              PIT interrupts, a line of console input, poweroff -f
#              (status 0)
#   linux-smp  the same kernel with --smp 2 and --smp 4 and the in-kernel
#              irqchip, "console=ttyS0" its whole command line: N CPUs in
#              /proc/cpuinfo, local APIC timer interrupts (LOC) on each,
#              the UART on an IO-APIC line, a 1 s sleep,
#              poweroff -f (status 0), a clean guest kernel log
#
# The in-kernel irqchip cases are skipped when the device lacks
# KVM_CAP_IRQCHIP. HVX_RUN_LINUX_TIMEOUT (seconds, default 1500) bounds
# each Linux boot; HVX_RUN_SMP (default "2": each nested boot costs minutes
# of CI time; e.g. "2 4" for more) lists the SMP boots.
# HVX_RUN_LINUX_DEVICES (default "/dev/hvx /dev/kvm") lists the devices
# on which the Linux boots run: make check boots Linux nested on /dev/hvx
# only (make bench boots it on both and compares the times).

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

smp_list=${HVX_RUN_SMP-2}
set -- $smp_list
echo "TAP version 13"
echo "1..$((13 + 5 * $#))"
echo "# device $dev"

# Does the device offer the in-kernel irqchip? hvx-run says so by name.
$run --device "$dev" --irqchip=kernel --kernel /nonexistent </dev/null \
	>"$tmp/irqchip" 2>&1
irqchip_skip=
if grep -q "lacks KVM_CAP_" "$tmp/irqchip"; then
	irqchip_skip="$dev lacks $(grep -o 'KVM_CAP_[A-Z_]*' "$tmp/irqchip" | head -n1)"
fi

skip() {	# skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

# flat: status (0x21 << 1) | 1 = 67, ten timer interrupts seen.
flat() {	# flat MODE
	timeout 120 $run --device "$dev" --irqchip="$1" \
		--kernel hvx-run-flat.bin --flat 0x10000 \
		--debug-exit 0x501 </dev/null >"$tmp/flat" 2>&1
	st=$?
	has "$tmp/flat" '^HVX-FLAT-TICKS 10$' && [ $st -eq 67 ]
	r=$?
	[ $r -eq 0 ] || { echo "# exit status $st"; diag "$tmp/flat"; }
}
flat user
ok $r "flat: real-mode binary, string OUT, PIC+PIT interrupts, debug-exit status 67 (--irqchip=user)"
d="flat: the device's PIC, the PIT over KVM_IRQ_LINE, debug-exit status 67 (--irqchip=kernel)"
if [ -n "$irqchip_skip" ]; then
	skip "$d" "$irqchip_skip"
else
	flat kernel
	ok $r "$d"
fi

# multiboot: 64 MiB => mem_upper = 63 MiB in KiB; command line after name.
multiboot() {	# multiboot MODE
	timeout 120 $run --device "$dev" --irqchip="$1" -m 64M \
		--kernel hvx-run-multiboot.elf \
		--append "hello multiboot" </dev/null >"$tmp/mb" 2>&1
	st=$?
	has "$tmp/mb" '^HVX-MB-CMDLINE hvx-run-multiboot.elf hello multiboot$' &&
		has "$tmp/mb" '^HVX-MB-MEM-UPPER-KIB 64512$' && [ $st -eq 0 ]
	r=$?
	[ $r -eq 0 ] || { echo "# exit status $st"; diag "$tmp/mb"; }
}
multiboot user
ok $r "multiboot: ELF kernel gets magic, cmdline and memory size; cli;hlt is power-off (--irqchip=user)"
d="multiboot: cli;hlt is power-off with the vCPU halted in the kernel (--irqchip=kernel)"
if [ -n "$irqchip_skip" ]; then
	skip "$d" "$irqchip_skip"
else
	multiboot kernel
	ok $r "$d"
fi

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

$run --device "$dev" --smp 65 --kernel hvx-run-flat.bin --flat 0 </dev/null \
	>"$tmp/e4" 2>&1
st=$?
[ $st -eq 2 ] && grep -q -- "--smp 65: 1 to 64 vCPUs" "$tmp/e4"
r=$?
[ $r -eq 0 ] || diag "$tmp/e4"
ok $r "errors: --smp 65 fails with status 2 and says so"

$run --device "$dev" --smp 2 --irqchip=user --kernel hvx-run-flat.bin \
	--flat 0 </dev/null >"$tmp/e5" 2>&1
st=$?
[ $st -eq 2 ] && grep -q -- "--smp 2 needs --irqchip=kernel" "$tmp/e5"
r=$?
[ $r -eq 0 ] || diag "$tmp/e5"
ok $r "errors: --smp 2 with the userspace PIC fails with status 2 and says so"

$run --device "$dev" --irqchip=bogus --kernel hvx-run-flat.bin \
	--flat 0 </dev/null >"$tmp/e6" 2>&1
st=$?
[ $st -eq 2 ] && grep -q -- "--irqchip 'bogus': kernel or user" "$tmp/e6"
r=$?
[ $r -eq 0 ] || diag "$tmp/e6"
ok $r "errors: an unknown --irqchip mode fails with status 2 and says so"

# linux
skip_smp() {	# skip_smp N REASON
	for t in "boots with the in-kernel irqchip and powers off" \
		 "$1 CPUs in /proc/cpuinfo, LOC interrupts on each" \
		 "the UART on an IO-APIC line" \
		 "sleep 1 on the local APIC timer" \
		 "no warning, oops, stall or lockup in the guest's log"; do
		skip "linux-smp $1: $t" "$2"
	done
}
skip_linux() {
	for t in "boots to userspace and powers off" "no APIC; TSC rate from CPUID" "timer and console input"; do
		skip "linux: $t" "$1"
	done
	for c in $smp_list; do
		skip_smp "$c" "$1"
	done
	rm -rf "$tmp"
	[ $failed -eq 0 ]
	exit
}
[ -f vmlinuz ] ||
	skip_linux "no vmlinuz in this payload (the nested Linux boot runs in the 6.12 CI VM only)"
case " ${HVX_RUN_LINUX_DEVICES:-/dev/hvx /dev/kvm} " in
*" $dev "*) ;;
*) skip_linux "not on $dev in this run (HVX_RUN_LINUX_DEVICES=${HVX_RUN_LINUX_DEVICES})" ;;
esac
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
		--irqchip=user --kernel vmlinuz --initrd hvx-run-initramfs.cpio \
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

# linux-smp: the same initramfs with another /init appended (the kernel
# unpacks concatenated archives in order, the later /init wins): it prints
# the CPU count, the IO-APIC and LOC lines of /proc/interrupts and a 1 s
# sleep, then powers off.
mkdir -p "$tmp/ovl"
cat >"$tmp/ovl/init" <<'INIT'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "HVX-GUEST-UP $(uname -r)"
echo "HVX-GUEST-CPUS $(grep -c ^processor /proc/cpuinfo)"
echo "HVX-GUEST-ONLINE $(cat /sys/devices/system/cpu/online)"
t0=$(cut -d' ' -f1 /proc/uptime)
sleep 1
t1=$(cut -d' ' -f1 /proc/uptime)
echo "HVX-GUEST-SLEEP $t0 $t1"
grep -E 'IO-APIC|LOC:' /proc/interrupts | tr -s ' ' | sed 's/^ */HVX-GUEST-IRQ /'
echo "HVX-GUEST-DONE"
poweroff -f
INIT
chmod 755 "$tmp/ovl/init"
(cd "$tmp/ovl" && echo init | cpio -o -H newc -R 0:0 2>/dev/null) \
	>"$tmp/ovl.cpio"
cat hvx-run-initramfs.cpio "$tmp/ovl.cpio" >"$tmp/smp.cpio"

for c in $smp_list; do
	if [ -n "$irqchip_skip" ]; then
		skip_smp "$c" "$irqchip_skip"
		continue
	fi
	start=$(cut -d. -f1 /proc/uptime)
	timeout "${HVX_RUN_LINUX_TIMEOUT:-1500}" $run --device "$dev" -m 256M \
		--smp "$c" --irqchip=kernel --kernel vmlinuz \
		--initrd "$tmp/smp.cpio" --append "console=ttyS0" \
		</dev/null >"$tmp/smp" 2>&1
	st=$?
	echo "# linux --smp $c boot took $(( $(cut -d. -f1 /proc/uptime) - start )) s, exit status $st"
	tr -d '\r' <"$tmp/smp" | grep -E '^HVX-GUEST|smpboot|x2apic|IOAPIC|MP-?table|TSC|tsc|clocksource' |
		sed 's/^/# guest| /'
	has "$tmp/smp" '^HVX-GUEST-UP ' && has "$tmp/smp" '^HVX-GUEST-DONE$' &&
		[ $st -eq 0 ]
	r=$?
	[ $r -eq 0 ] || diag "$tmp/smp" 60
	ok $r "linux-smp $c: boots with the in-kernel irqchip and powers off (status 0), cmdline console=ttyS0"

	# LOC: one count per CPU, every one of them non-zero.
	has "$tmp/smp" "^HVX-GUEST-CPUS $c\$" &&
		tr -d '\r' <"$tmp/smp" | awk -v n="$c" '
			/^HVX-GUEST-IRQ LOC: / {
				for (i = 3; i < 3 + n; i++)
					if ($i + 0 == 0) exit 1
				found = 1
			}
			END { exit !found }'
	ok $? "linux-smp $c: $c CPUs in /proc/cpuinfo, local APIC timer (LOC) interrupts on each"

	# COM1's IRQ 4 on an IO-APIC line, counted at least once. (IRQ 0 has
	# a line only when Linux needs the PIT: not with TSC-deadline or a
	# known APIC timer rate, apic_needs_pit().)
	irq_seen() {	# irq_seen IRQ NAME
		tr -d '\r' <"$tmp/smp" | awk -v n="$c" -v irq="$1:" -v name="$2" '
			$1 == "HVX-GUEST-IRQ" && $2 == irq && / IO-APIC / && $NF == name {
				for (i = 3; i < 3 + n; i++) sum += $i
				found = 1
			}
			END { exit !(found && sum > 0) }'
	}
	irq_seen 4 ttyS0
	ok $? "linux-smp $c: the UART (IRQ 4) interrupts through an IO-APIC line"

	sleep=$(tr -d '\r' <"$tmp/smp" | sed -n 's/^HVX-GUEST-SLEEP //p')
	set -- $sleep
	r=1
	if [ $# -eq 2 ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { exit !(b - a >= 0.99 && b - a < 5) }'
		r=$?
	fi
	ok $r "linux-smp $c: sleep 1 lasts a second (local APIC timer)"

	# The guest's own kernel log: no warning, oops, stall or lockup.
	bad='WARNING:|BUG:|Oops|Kernel panic|soft lockup|hard LOCKUP|rcu_.*detected stall|self-detected stall|Call Trace|<IRQ>'
	! has "$tmp/smp" "$bad"
	r=$?
	[ $r -eq 0 ] || tr -d '\r' <"$tmp/smp" | grep -E -A12 "$bad" | head -n 40 | sed 's/^/# guest| /'
	ok $r "linux-smp $c: no warning, oops, stall or lockup in the guest's kernel log"
done

rm -rf "$tmp"
[ $failed -eq 0 ]
