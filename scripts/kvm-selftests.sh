#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KVM's own selftests (tools/testing/selftests/kvm) from Debian's
# linux-source-6.1, for the CI VM.
#
#   kvm-selftests.sh [build]    extract the sources needed into
#                               build/kvm-selftests/src (never into the
#                               repository), make their uapi headers
#                               ("make headers"), build the x86_64 programs
#                               of selftests/kvm-selftests/tests.txt out of
#                               tree (-j2), strip them into
#                               build/kvm-selftests/bin. Cached: nothing is
#                               redone while the tarball, the build
#                               function below, the compiler and the names
#                               in tests.txt stay the same.
#   kvm-selftests.sh expected [SERIAL.TXT]
#                               entries for expected-hvx.txt: the goal
#                               tests that failed on hvx in that VM log
#                               (default build/vm/kvmst-6.1/out/serial.txt),
#                               each with the end of its output as reason
#   kvm-selftests.sh vm [6.1]   build, then one CI VM boot running only
#                               the table
#                               (kvm_selftests) on that kernel; TAP on
#                               stdout and in build/vm/kvmst-SERIES/results.tap
#
# The programs are linked dynamically: run-vm.sh copies the libraries the
# host's ldd names into the initramfs (libc once, ~130 KiB a program,
# instead of ~1 MiB a program linked -static: 9 MiB in all, not 66).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

out=build/kvm-selftests
list=selftests/kvm-selftests/tests.txt

build() {
	local tarball name src key progs p
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] ||
		{ echo "kvm-selftests: install linux-source-6.1 (make deps)" >&2; return 1; }
	name=$(basename "$tarball" | sed 's/\.tar\..*//')
	# The programs to build: every NAME of tests.txt with a timeout.
	progs=$(awk '!/^[[:space:]]*(#|$)/ && $2 != 0 && $3 != "excluded" { print $1 }' "$list")
	# Timeouts and arguments are the runner's: only the names count here.
	key=$( { stat -c "%n %s %Y" "$tarball"; echo "$progs"; declare -f build; gcc --version | head -n 1; } |
		sha256sum | cut -d' ' -f1)
	if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$key" ]; then
		echo "kvm-selftests: up to date ($(echo "$progs" | wc -l) programs in $out/bin)"
		return 0
	fi
	rm -rf "$out"
	mkdir -p "$out/src"
	src=$out/src
	# What "make headers" and the selftests need: no drivers, fs, net,
	# sound, Documentation, other architectures (160 MiB instead of 1.4 GiB).
	tar -xf "$tarball" -C "$src" --strip-components=1 \
		--exclude="$name/drivers" --exclude="$name/Documentation" \
		--exclude="$name/sound" --exclude="$name/fs" --exclude="$name/net" \
		--exclude="$name/firmware" --exclude="$name/crypto" \
		--exclude="$name/samples" --exclude="$name/security" \
		--exclude="$name/lib" --exclude="$name/arch/[a-wy-z]*" \
		--exclude="$name/arch/xtensa"
	make -s -C "$src" -j2 headers
	# Two workarounds for Debian's 6.1.y tree, where backports outran the
	# selftests' headers: <asm/kvm.h> uses __DECLARE_FLEX_ARRAY, which
	# tools/include's <linux/types.h> does not bring in (steal_time.c
	# fails), and dirty_log_test.c uses TEST_ASSERT_EQ, which 6.1's
	# test_util.h lacks (ASSERT_EQ is the same check).
	# libgcc_s is linked in by name (--no-as-needed) so that ldd, and so
	# run-vm.sh, sees it: glibc's pthread_cancel() dlopen()s it, and
	# xapic_ipi_test aborts without it.
	make -s -C "$src/tools/testing/selftests/kvm" -j2 \
		OUTPUT="$top/$out/obj" LDLIBS="-ldl -Wl,--no-as-needed -lgcc_s" \
		EXTRA_CFLAGS="-include $top/$src/usr/include/linux/stddef.h -DTEST_ASSERT_EQ=ASSERT_EQ" \
		$(for p in $progs; do printf '%s ' "$top/$out/obj/$p"; done)
	mkdir -p "$out/bin"
	for p in $progs; do
		strip -o "$out/bin/${p##*/}" "$out/obj/$p"
	done
	echo "$key" >"$out/.stamp"
	echo "kvm-selftests: built $(echo "$progs" | wc -l) programs into $out/bin"
}

case ${1:-build} in
build)
	build
	;;
vm)
	series=${2:-6.1}
	build
	# shellcheck source=scripts/vm-lib.sh
	source scripts/vm-lib.sh
	kver=$(scripts/kver.sh "$series")
	[ -n "$kver" ] || { echo "kvm-selftests: no $series kernel installed" >&2; exit 1; }
	scripts/build-module.sh "$kver"
	make -s userspace selftests
	name=kvmst-$series
	HVX_KVMST=1 vm_run "$name" "$kver" corei7_haswell_4770 "${VM_TIMEOUT:-3000}" \
		"hvxsuite=full hvxtests=kvm_selftests${VM_APPEND:+ $VM_APPEND}"
	vm_verdict "$name" poweroff kvm_selftests | tee "build/vm/$name/results.tap"
	grep -h '^HVX-TEST-TIME kvm_selftests' "build/vm/$name/out/serial.txt" |
		awk '{ printf "# kvm_selftests took %.0f s of VM time\n", $4 - $3 }'
	! grep '^not ok' "build/vm/$name/results.tap" | grep -qv '# TODO'
	;;
expected)
	# Entries for expected-hvx.txt from a VM's serial log: goal tests that
	# failed on hvx, with the end of their output as the reason to edit.
	log=${2:-build/vm/kvmst-6.1/out/serial.txt}
	tr -d '\r' <"$log" | awk -v list="$list" '
		BEGIN {
			while ((getline l <list) > 0)
				if (l !~ /^[ \t]*(#|$)/) { split(l, f); class[f[1]] = f[3] }
		}
		/^# hvx [^ ]+: (fail|timeout) / {
			t = $3; sub(/:$/, "", t); cur = (class[t] == "goal") ? t : ""
			if (cur != "") { order[++n] = cur; why[cur] = $4 == "timeout" ? "timeout" : "" }
			next
		}
		cur != "" && /^#   / {
			l = $0; sub(/^#   +/, "", l)
			if (l ~ /KVM_CREATE_IRQCHIP/) why[cur] = "KVM_CREATE_IRQCHIP: no in-kernel irqchip yet"
			else if (why[cur] == "") why[cur] = l
			next
		}
		{ cur = "" }
		END { for (i = 1; i <= n; i++) printf "%-40s %s\n", order[i], why[order[i]] }'
	;;
*)
	echo "usage: kvm-selftests.sh [build | vm [6.1|6.12] | expected [SERIAL.TXT]]" >&2
	exit 1
	;;
esac
