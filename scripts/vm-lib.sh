# SPDX-License-Identifier: GPL-2.0
# Shared by check.sh, demo.sh and vm-test.sh: build a payload for the CI VM,
# boot it, and turn its serial log into TAP lines. Source it from bash.

HVX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# HVX_GUEST_TESTS, HVX_ONLY_IN_FULL and HVX_SELFTESTS_HVX: the suite's
# own lists. HVX_SELFTESTS_KVM: the NAME@kvm runs the full suite adds
# unless hvxkvm=no; HVX_SELFTESTS: both, in the suite's order.
# shellcheck source=../selftests/vm/tests.sh
. "$HVX_TOP/selftests/vm/tests.sh"
HVX_SELFTESTS_KVM="$(for t in $HVX_GUEST_TESTS; do
	case " $HVX_ONLY_IN_FULL " in *" $t "*) continue ;; esac
	printf '%s@kvm ' "$t"
done)"
HVX_SELFTESTS_KVM=${HVX_SELFTESTS_KVM% }
HVX_SELFTESTS="$HVX_SELFTESTS_HVX $HVX_SELFTESTS_KVM"

# The kernel log lines that fail a run, wherever they appear after the
# suite started.
HVX_BAD_KERNEL_LINES='WARNING:|BUG:|Oops|general protection fault|Kernel panic|soft lockup|hard LOCKUP|hung_task|hung task|blocked for more than|rcu_.*detected stall|self-detected stall|Call Trace|UBSAN|KASAN|refcount_t:|list_add corruption|list_del corruption|Poison overwritten|Redzone|Object padding'

# vm_payload KVER DIR: hvx.ko for KVER, the selftests, the tools, run.sh.
vm_payload() {
	local kver=$1 dir=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$HVX_TOP/build/mod-$kver/hvx.ko" "$dir/"
	cp "$HVX_TOP"/build/selftests/* "$HVX_TOP"/build/bin/* "$dir/"
	cp "$HVX_TOP/selftests/vm/suite.sh" "$dir/run.sh"
	cp "$HVX_TOP/selftests/vm/tests.sh" "$HVX_TOP/selftests/vm/modules.sh" \
		"$dir/"
	# KVM's own selftests (scripts/kvm-selftests.sh), for the VM that runs
	# them (HVX_KVMST=1): run as the test kvm_selftests.
	if [ -n "${HVX_KVMST:-}" ]; then
		cp "$HVX_TOP/selftests/kvm-selftests/run.sh" "$dir/kvm_selftests"
		mkdir -p "$dir/kvm-selftests"
		cp "$HVX_TOP"/build/kvm-selftests/bin/* \
			"$HVX_TOP"/selftests/kvm-selftests/*.txt "$dir/kvm-selftests/"
	fi
	# hvx_run_test boots the VM's own kernel nested, on 6.12 only: a
	# nested boot in Bochs takes minutes (Documentation/hvx-run.rst).
	# qemu_test runs Debian's QEMU there too: the binary (run-vm.sh adds
	# its libraries) and the firmware it loads for -kernel on a pc machine.
	case $kver in
	6.12*)
		cp "/boot/vmlinuz-$kver" "$dir/vmlinuz"
		mkdir -p "$dir/qemu"
		cp /usr/bin/qemu-system-x86_64 /usr/share/seabios/bios-256k.bin \
			/usr/share/qemu/linuxboot_dma.bin \
			/usr/share/qemu/kvmvapic.bin "$dir/qemu/"
		;;
	esac
}

# vm_run NAME KVER MODEL TIMEOUT APPEND: boot one CI VM on a payload built
# for KVER; everything lands in build/vm/NAME/. HVX_KVMST=1 in the
# environment adds KVM's selftests to the payload.
vm_run() {
	local name=$1 kver=$2 model=$3 timeout=$4 append=$5
	local dir="$HVX_TOP/build/vm/$name" pid st
	mkdir -p "$dir/out"
	rm -f "$dir/out/serial.log"
	vm_payload "$kver" "$dir/payload"
	"$HVX_TOP/selftests/vm/run-vm.sh" --kernel "$kver" --cpu "$model" \
		--cpus 2 --timeout "$timeout" --payload "$dir/payload" \
		--out "$dir/out" --modules "kvm_intel" --append "$append" \
		>"$dir/run-vm.log" 2>&1 &
	pid=$!
	vm_stamp "$dir/out/serial.log" "$pid" >"$dir/wall.txt" &
	wait "$pid"
	st=$?
	wait
	return $st
}

# vm_stamp SERIAL_LOG PID: while PID runs, each suite and test marker line
# of the serial log, prefixed with the wall-clock seconds since the start
# (the guest's clock follows its instruction count, not the CI's clock).
vm_stamp() {
	local t0=$SECONDS line
	tail -n +1 -F --pid="$2" "$1" 2>/dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			HVX-SUITE-START*|HVX-TEST-START*|HVX-TEST-TIME*|HVX-REBOOT*|RUN-VM:*)
				echo "$((SECONDS - t0)) $line" ;;
			esac
		done
}

# vm_walltimes NAME: one comment line per test of a VM run, its wall-clock
# and VM seconds (from vm_stamp's record), then the whole run's.
vm_walltimes() {
	local wall="$HVX_TOP/build/vm/$1/wall.txt"
	[ -s "$wall" ] || return 0
	awk -v name="$1" '
		$2 == "HVX-TEST-START" { start[$3] = $1 }
		$2 == "HVX-TEST-TIME" && ($3 in start) {
			printf "# %s: %-22s %5d s wall %4d s VM\n", name, $3,
				$1 - start[$3], $5 - $4
		}
		{ last = $1 }
		END { printf "# %s: the whole run %d s wall\n", name, last }
	' "$wall"
}

# vm_smoke KVER: start Bochs for a few seconds with the bochsrc run-vm.sh
# generates (no modules, an empty payload): a Bochs that cannot run on this
# host fails here, in seconds, with what it said, instead of after the
# build as a suite that never started.
vm_smoke() {
	local kver=$1 dir="$HVX_TOP/build/vm/smoke"
	rm -rf "$dir/payload"
	mkdir -p "$dir/payload"
	printf '#!/bin/sh\necho smoke\n' >"$dir/payload/run.sh"
	chmod 755 "$dir/payload/run.sh"
	"$HVX_TOP/selftests/vm/run-vm.sh" --kernel "$kver" \
		--cpu corei7_haswell_4770 --cpus 2 --smoke 3 \
		--payload "$dir/payload" --out "$dir/out" 2>&1
}

# vm_verdict NAME EXPECTED_END TESTS...: print TAP lines ("ok - ..." /
# "not ok - ...") for one VM run: each selftest result, the kernel log, and
# how the VM ended (poweroff, or reboot for the full suite).
vm_verdict() {
	local name=$1 expect_end=$2
	shift 2
	local out="$HVX_TOP/build/vm/$name/out"
	local log="$out/serial.txt" end t
	end=$(cat "$out/end" 2>/dev/null || echo none)
	# The serial console ends lines with CR LF.
	tr -d '\r' <"$out/serial.log" >"$log" 2>/dev/null

	if ! grep -q '^HVX-SUITE-START' "$log" 2>/dev/null; then
		# run-vm.sh names a Bochs that died at start in one line.
		local early
		early=$(grep -m1 'before the guest printed anything' \
			"$HVX_TOP/build/vm/$name/run-vm.log" 2>/dev/null)
		echo "not ok - $name: the suite never started (VM end: $end)${early:+: ${early#run-vm.sh: }}"
		tail -n 30 "$HVX_TOP/build/vm/$name/run-vm.log" "$log" 2>/dev/null | sed 's/^/# /'
		return
	fi

	# Each test's results from the block after the last test; if the VM
	# never got there (a timeout, a crash in a later test), from the live
	# output between HVX-TEST-START and HVX-TEST-TIME.
	local src
	for t in "$@"; do
		src=tap
		grep -qx "HVX-TAP-BEGIN $t" "$log" || src=live
		awk -v name="$name" -v t="$t" -v src="$src" '
			src == "tap" && $0 == "HVX-TAP-BEGIN " t { on = 1; seen = 1; next }
			src == "tap" && on && index($0, "HVX-TAP-END " t " ") == 1 { on = 0; rc = $3; next }
			src == "live" && $0 == "HVX-TEST-START " t { on = 1; started = 1; n = plan = failed = nd = 0; next }
			src == "live" && on && index($0, "HVX-TEST-TIME " t " ") == 1 { on = 0; seen = 1; rc = $5; next }
			!on { next }
			/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0 }
			/^(not )?ok [0-9]+/ {
				n++
				ok = ($1 == "ok")
				sub(/^(not )?ok [0-9]+ /, "")
				printf "%s - %s: %s: %s\n", ok ? "ok" : "not ok", name, t, $0
				if (!ok) failed++
				next
			}
			/^#/ { diag[++nd] = $0 }
			END {
				if (!seen) {
					printf "not ok - %s: %s: no results (%s)\n", name, t,
						started ? "it was running when the VM ended" : "the VM died or the test hung"
					for (i = 1; started && i <= nd && i <= 30; i++) print diag[nd - (nd > 30 ? 30 : nd) + i]
					exit
				}
				if (n < plan || plan == 0)
					printf "not ok - %s: %s: %d of %d results (the test crashed)\n", name, t, n, plan
				else if (rc != 0 && rc != 4 && !failed)
					printf "not ok - %s: %s: exit status %s\n", name, t, rc
				if (failed || n < plan || t == "kvm_selftests")
					for (i = 1; i <= nd; i++) print diag[i]
			}' "$log"
	done

	# The kernel log from the start of the suite to the end of the VM.
	# run_test's nmi_backtrace asks for backtraces (sysrq l): their "Call
	# Trace" lines, between its begin and end markers, are expected.
	local bad kernlog
	kernlog=$(sed -n '/^HVX-SUITE-START/,$p' "$log" | awk '
		/hvx-selftest: expected NMI backtraces begin/ { on = 1; n = 0; next }
		on && /hvx-selftest: expected NMI backtraces end/ {
			for (i = 1; i <= n; i++)
				if (buf[i] !~ /Call Trace/)
					print buf[i]
			on = 0
			next
		}
		on { buf[++n] = $0; next }
		/^# guest\| / { next }	# a nested guest (hvx_run_test)
		{ print }
		END { for (i = 1; on && i <= n; i++) print buf[i] }')
	bad=$(echo "$kernlog" | grep -E "$HVX_BAD_KERNEL_LINES")
	if [ -z "$bad" ]; then
		echo "ok - $name: kernel log has no warning, oops, lockup or stall"
	else
		echo "not ok - $name: kernel log has warnings or errors"
		echo "$bad" | head -n 20 | sed 's/^/# /'
		# What a reader needs to debug it: the test that was running
		# when the first one came (from the live console) and that
		# report whole (from the kernel log the suite dumps at the end).
		echo "$kernlog" | awk -v re="$HVX_BAD_KERNEL_LINES" '
			/^HVX-TEST-START / { t = $2 }
			/^HVX-DMESG-BEGIN/ { exit }
			$0 ~ re { print "# the first came while " (t ? t : "no test") " ran"; exit }'
		echo "$kernlog" | sed -n '/^HVX-DMESG-BEGIN/,/^HVX-DMESG-END/p' |
			grep -E -A 40 -m 1 "$HVX_BAD_KERNEL_LINES" | sed 's/^/# | /'
	fi

	if [ "$expect_end" = reboot ]; then
		if [ "$end" = reboot ] && grep -q '^HVX-REBOOT$' "$log" &&
		   grep -q 'reboot: Restarting system' "$log"; then
			echo "ok - $name: reboot -f with hvx loaded and /dev/hvx open resets the machine"
		else
			echo "not ok - $name: reboot -f with hvx loaded and /dev/hvx open did not reset the machine (VM end: $end)"
			tail -n 20 "$log" | sed 's/^/# /'
		fi
	elif [ "$end" = "$expect_end" ]; then
		echo "ok - $name: VM ended by $end"
	else
		echo "not ok - $name: VM ended by $end, expected $expect_end"
		tail -n 20 "$log" | sed 's/^/# /'
	fi
}
