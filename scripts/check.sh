#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: host checks, then the in-VM suite once per kernel, then one
# line "N passed, N failed". Exit status 0 only if nothing failed.
#
# Host: hvx.ko builds for Debian's 6.1 and 6.12 kernels with W=1 and sparse
# (C=2) without a warning; the userspace tools and selftests build with
# -Werror; checkpatch.pl --strict is clean; the MMIO instruction decoder
# passes its unit test (make host-test); each bpftrace script compiles
# against hvx's event formats; "dkms add/build" builds hvx.ko for 6.12.
# CI VM (Bochs, 2 emulated CPUs), two at a time:
#   6.1  corei7_haswell_4770  full suite, then reboot with hvx loaded
#   6.12 corei7_haswell_4770  full suite, then reboot with hvx loaded
#   6.1  trinity_apu          (AMD, no VT-x)  probe_test: hvx refuses to load
#   6.1  core2_penryn_t9600   (VT-x, no EPT)  probe_test: hvx refuses to load
set -uo pipefail
source "$(dirname "$0")/vm-lib.sh"
cd "$HVX_TOP" || exit 1

results=build/results.tap
mkdir -p build
: >"$results"
tap() {	# tap STATUS DESCRIPTION
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi |
		tee -a "$results"
}

kver61=$(scripts/kver.sh 6.1)
kver612=$(scripts/kver.sh 6.12)
if [ -z "$kver61" ] || [ -z "$kver612" ]; then
	echo "check: Debian 6.1 and 6.12 kernels with headers are needed (make deps)" >&2
	exit 1
fi

echo "== host checks"
for k in "$kver61" "$kver612"; do
	scripts/build-module.sh "$k" >"build/build-$k.out" 2>&1
	st=$?
	sed 's/^/# /' "build/build-$k.out"
	tap $st "host: hvx.ko builds for $k with W=1 and sparse, no warnings"
done

make -s userspace selftests >build/user-build.out 2>&1
st=$?
sed 's/^/# /' build/user-build.out
tap $st "host: userspace tools and selftests build with -Wall -Wextra -Werror"

mapfile -t sources < <(git ls-files '*.c' '*.h')
perl build/linux-tools/scripts/checkpatch.pl --strict --no-tree --terse \
	--show-types -f "${sources[@]}" >build/checkpatch.out 2>&1
grep -v '^total: 0 errors, 0 warnings, 0 checks' build/checkpatch.out |
	sed 's/^/# /'
! grep -qv '^total: 0 errors, 0 warnings, 0 checks' build/checkpatch.out
tap $? "host: checkpatch.pl --strict is clean on every C file"

make -s host-test >build/host-test.out 2>&1
st=$?
grep -v '^ok ' build/host-test.out | sed 's/^/# /'
tap $st "host: MMIO decoder unit test ($(grep -c '^ok ' build/host-test.out) instructions)"

# bpftrace --emit-elf is a dry run that parses a script, type-checks every
# args->field against the events' tracefs format files, and generates the
# BPF programs, without loading them. The host has no hvx events, so it
# runs with userspace/tools/tracefs (a copy of hvx's format files, which
# trace_test checks against the real ones in the CI VM) bind-mounted on
# /sys/kernel/tracing in a private mount namespace. Any warning fails.
for bt in userspace/tools/*.bt; do
	# shellcheck disable=SC2016
	unshare -m sh -c 'mount --bind "$1" /sys/kernel/tracing &&
		bpftrace --emit-elf "$2" "$3"' sh \
		"$HVX_TOP/userspace/tools/tracefs" build/bpftrace.elf "$bt" \
		>build/bpftrace.out 2>&1
	st=$?
	grep -v 'RLIMIT_MEMLOCK' build/bpftrace.out >build/bpftrace.msg
	sed 's/^/# /' build/bpftrace.msg
	[ -s build/bpftrace.msg ] && st=1
	tap $st "host: bpftrace compiles $(basename "$bt") against hvx's event formats"
done

scripts/dkms-build.sh "$kver612" >build/dkms.out 2>&1
st=$?
sed 's/^/# /' build/dkms.out
tap $st "host: dkms add + build makes hvx.ko for $kver612 (dkms.conf)"

if grep -q '^not ok' "$results"; then
	echo "check: the build failed; not booting the CI VM"
else
	echo "== CI VM runs (Bochs; each takes minutes)"
	start=$(date +%s)
	vm_run "6.1" "$kver61" corei7_haswell_4770 3000 \
		"hvxsuite=full preempt=full slub_debug=FZPU" &
	vm_run "6.12" "$kver612" corei7_haswell_4770 3000 "hvxsuite=full" &
	wait
	vm_run "6.1-amd" "$kver61" trinity_apu 900 "hvxsuite=probe" &
	vm_run "6.1-no-ept" "$kver61" core2_penryn_t9600 900 "hvxsuite=probe" &
	wait
	echo "# CI VM runs took $(( $(date +%s) - start )) s"

	# shellcheck disable=SC2086
	{
		vm_verdict "6.1" reboot $HVX_SELFTESTS
		vm_verdict "6.12" reboot $HVX_SELFTESTS
		vm_verdict "6.1-amd" poweroff probe_test
		vm_verdict "6.1-no-ept" poweroff probe_test
	} | tee -a "$results"
fi

passed=$(grep -c '^ok ' "$results" | tr -d ' ')
skipped=$(grep -c '^ok .*# SKIP' "$results" | tr -d ' ')
failed=$(grep -c '^not ok ' "$results" | tr -d ' ')
passed=$((passed - skipped))
echo "logs: build/vm/*/out/serial.log; results: $results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
