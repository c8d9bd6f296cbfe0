#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvm_selftests: KVM's own x86_64 selftests (built by
# scripts/kvm-selftests.sh from Debian's linux-source-6.1) in the CI VM,
# each against kvm_intel and then against hvx (/dev/kvm a symlink to
# /dev/hvx, kvm_intel unloaded), with a per-test timeout. Prints one table
# of the results and TAP: two lines per test ("NAME on kvm", "NAME on hvx"),
# one "# SKIP" line per excluded test. The suite (selftests/vm/suite.sh)
# runs it as the test kvm_selftests; it reads, next to itself:
#   kvm-selftests/tests.txt          the tests, timeouts, classes, arguments
#   kvm-selftests/expected-hvx.txt   goal tests hvx is known to fail, why
#   kvm-selftests/NAME               the programs (basename of NAME)
#
# TAP directives (Documentation/testing.rst, "KVM's selftests"):
#   on kvm: pass "ok"; skip "ok # SKIP"; fail or timeout
#           "not ok # TODO kvm: fail" (KVM in Bochs; never an hvx failure)
#   on hvx, tests of class goal:
#     pass                      "ok"  (listed in expected-hvx.txt: "not ok
#                               ... passes now: remove it from the list")
#     skip                      "ok # SKIP" (listed: "not ok", as above)
#     fail, listed              "not ok # TODO expected: REASON"
#     fail, not listed          "not ok" if it passes on kvm (a regression),
#                               "not ok # TODO" if kvm failed or skipped too
#   on hvx, other classes:      "ok", "ok # SKIP" or "not ok # TODO not a
#                               goal (CLASS)"
# Environment: KVMST_ONLY=a,b runs only these tests (basenames);
# KVMST_CLASSES=goal,nested runs only the tests of these classes (the
# others: "ok # SKIP", make check's choice for time);
# KVMST_DEVICES="kvm hvx" (the default) chooses the devices and their order
# (KVMST_DEVICES=hvx: only hvx);
# KVMST_VERBOSE=1 prints every test's output, not only the end of a failing
# one's.

here=$(cd "$(dirname "$0")" && pwd)
dir=$here/kvm-selftests
hvx_ko=${HVX_KO:-$here/hvx.ko}
work=/tmp/kvmst
devices=${KVMST_DEVICES-kvm hvx}
rm -rf "$work"
mkdir -p "$work"

# The table to run: NAME TIMEOUT CLASS ARGS..., comments and blanks gone.
grep -v '^[[:space:]]*#' "$dir/tests.txt" | grep -v '^[[:space:]]*$' >"$work/tests"
cp "$work/tests" "$work/tests.all"
if [ -n "${KVMST_ONLY:-}" ]; then
	for t in $(echo "$KVMST_ONLY" | tr , ' '); do
		awk -v t="$t" '{ n = $1; sub(/.*\//, "", n) } n == t' "$work/tests"
	done >"$work/tests.only"
	mv "$work/tests.only" "$work/tests"
fi

kmsg() {
	echo "hvx-selftest: $*" >/dev/kmsg 2>/dev/null
}

# kvm_load, kvm_unload (selftests/vm/modules.sh)
. "$here/modules.sh"

# use_device kvm|hvx: the device the tests open as /dev/kvm.
use_device() {
	[ -L /dev/kvm ] && rm -f /dev/kvm
	if [ "$1" = kvm ]; then
		[ -d /sys/module/hvx ] && rmmod hvx
		kvm_load
	else
		kvm_unload
		[ -d /sys/module/hvx ] || insmod "$hvx_ko"
		[ -e /dev/kvm ] && rm -f /dev/kvm
		ln -s /dev/hvx /dev/kvm
	fi
	[ -c /dev/kvm ]
}

device_off() {
	[ -L /dev/kvm ] && rm -f /dev/kvm
	kvm_unload
	[ -d /sys/module/hvx ] && rmmod hvx
	return 0
}

# Progress goes to the console only (the serial log), not into the TAP
# output the suite hands back; the table has the results.
if [ -w /dev/console ]; then exec 3>/dev/console; else exec 3>&2; fi

# tail_of FILE: the end of a test's output, as TAP comments.
tail_of() {
	grep -v '^[[:space:]]*$' "$1" | tail -n 4 | cut -c1-200 | sed 's/^/#   /'
}

# run_device DEV: every test against DEV; DEV.res gets one line per test:
# NAME RESULT EXIT SECONDS (RESULT: pass, fail, skip, timeout, excluded).
run_device() {
	dev=$1
	mkdir -p "$work/$dev"
	: >"$work/$dev.res"
	nodev=
	if ! use_device "$dev"; then
		# Every test would skip: a result of its own, never a pass.
		nodev=yes
		echo "# kvm_selftests: no /dev/kvm for $dev"
		ls -l /dev/kvm /dev/hvx 2>&1 | sed 's/^/# /'
	fi
	kmsg "KVM selftests against $dev begin"
	while read -r name timeout class args; do
		base=${name##*/}
		if [ "$class" = excluded ] || [ "$timeout" -eq 0 ]; then
			echo "$name excluded - 0" >>"$work/$dev.res"
			continue
		fi
		if [ -n "${KVMST_CLASSES:-}" ]; then
			case ",$KVMST_CLASSES," in
			*",$class,"*) ;;
			*) continue ;;	# not run: no result, "SKIP not run"
			esac
		fi
		if [ -n "$nodev" ]; then
			echo "$name nodev - 0" >>"$work/$dev.res"
			continue
		fi
		out=$work/$dev/$base.out
		read -r up0 _ </proc/uptime
		# shellcheck disable=SC2086 # the arguments are words
		timeout -k 5 "$timeout" "$dir/$base" $args >"$out" 2>&1 </dev/null
		rc=$?
		read -r up1 _ </proc/uptime
		secs=$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.1f", b - a }')
		case $rc in
		0) res=pass ;;
		4) res=skip ;;
		*) res=fail
		   awk -v s="$secs" -v t="$timeout" 'BEGIN { exit !(s + 0 >= t + 0) }' &&
			   res=timeout ;;
		esac
		echo "$name $res $rc $secs" >>"$work/$dev.res"
		{
			echo "# $dev $name: $res (exit $rc, ${secs} s)"
			if [ -n "${KVMST_VERBOSE:-}" ]; then
				sed 's/^/#   /' "$out"
			elif [ "$res" = fail ] || [ "$res" = timeout ]; then
				tail_of "$out"
			fi
		} >&3
	done <"$work/tests"
	kmsg "KVM selftests against $dev end"
	device_off
}

for d in $devices; do
	run_device "$d"
done
for d in kvm hvx; do
	[ -f "$work/$d.res" ] || : >"$work/$d.res"
done

# The expected-failures list: NAME REASON..., the reason up to the end of
# the line.
grep -v '^[[:space:]]*#' "$dir/expected-hvx.txt" 2>/dev/null |
	grep -v '^[[:space:]]*$' >"$work/expected"

# The table and the TAP lines, from the tests, the list and both results.
awk -v kernel="$(uname -r)" -v regressions="$work/regressions" '
FILENAME == ARGV[1] { class[$1] = $3; order[++n] = $1
	if ($3 == "excluded") { r = $0; sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", r); why[$1] = r }
	next }
FILENAME == ARGV[2] { r = $0; sub(/^[^ \t]+[ \t]+/, "", r); expect[$1] = r; next }
FILENAME == ARGV[3] { kres[$1] = $2; krc[$1] = $3; ks[$1] = $4; next }
FILENAME == ARGV[4] { hres[$1] = $2; hrc[$1] = $3; hs[$1] = $4; next }
FILENAME == ARGV[5] { known[$1] = 1; next }
function res(r, rc, s) {
	if (r == "") return "-"
	return sprintf("%-7s%5.1fs", r == "fail" ? "fail:" rc : r, s)
}
function tap(ok, desc, dir) {
	tapn++
	line[tapn] = sprintf("%s %d %s%s", ok ? "ok" : "not ok", tapn, desc, dir == "" ? "" : " # " dir)
}
END {
	for (name in expect)
		if (!(name in known))
			bad_list = bad_list " " name
	printf "# KVM selftests (Debian linux-source-6.1, x86_64) on %s\n", kernel
	printf "# %-44s %-8s %-13s %-13s %s\n", "test", "class", "kvm_intel", "hvx", "hvx verdict"
	for (i = 1; i <= n; i++) {
		t = order[i]; c = class[t]; k = kres[t]; h = hres[t]
		if (c == "excluded") {
			printf "# %-44s %-8s %s\n", t, c, why[t]
			tap(1, t, "SKIP excluded: " why[t])
			continue
		}
		# kvm_intel
		if (k == "pass") { tap(1, t " on kvm", ""); kp++ }
		else if (k == "skip") { tap(1, t " on kvm", "SKIP the test skipped itself"); kk++ }
		else if (k == "") tap(1, t " on kvm", "SKIP not run on kvm")
		else if (k == "nodev") { tap(0, t " on kvm", "TODO kvm: no /dev/kvm"); kf++ }
		else { tap(0, t " on kvm", "TODO kvm: " (k == "timeout" ? "timeout" : "fail (exit " krc[t] ")")); kf++ }
		# hvx
		listed = (t in expect)
		if (h == "") { v = "not run"; tap(1, t " on hvx", "SKIP not run on hvx") }
		else if (h == "nodev") { v = "no /dev/kvm: hvx did not load"; tap(0, t " on hvx (no /dev/kvm: hvx did not load)", "") }
		else if (c != "goal") {
			v = "not a goal (" c ")"
			if (h == "pass") tap(1, t " on hvx", "")
			else if (h == "skip") tap(1, t " on hvx", "SKIP not a goal (" c "), skipped itself")
			else tap(0, t " on hvx", "TODO not a goal (" c "): " h)
		} else if (listed && (h == "fail" || h == "timeout")) {
			v = "expected: " expect[t]; he++
			tap(0, t " on hvx", "TODO expected: " expect[t])
		} else if (listed) {
			v = "NOW " toupper(h) "ES: remove from expected-hvx.txt"; hn++
			tap(0, t " on hvx", "")
			line[tapn] = line[tapn] " (" h "es now: remove it from expected-hvx.txt)"
		} else if (h == "pass") { v = "ok"; hp++; tap(1, t " on hvx", "") }
		else if (h == "skip") { v = "ok (skipped itself)"; hk++; tap(1, t " on hvx", "SKIP the test skipped itself") }
		else if (k == "pass") {
			v = "REGRESSION: passes on kvm_intel, not in expected-hvx.txt"; hr++
			print t >regressions
			tap(0, t " on hvx", "")
			line[tapn] = line[tapn] " (" h ": passes on kvm_intel; not in expected-hvx.txt)"
		} else {
			v = "fails, kvm: " (k == "" ? "not run" : k); hf++
			tap(0, t " on hvx", "TODO hvx: " h ", kvm: " (k == "" ? "not run" : k))
		}
		printf "# %-44s %-8s %-13s %-13s %s\n", t, c, res(k, krc[t], ks[t]), res(h, hrc[t], hs[t]), v
	}
	printf "# kvm_intel: %d pass, %d skip, %d fail or timeout\n", kp, kk, kf
	printf "# hvx, goal tests: %d pass, %d skip, %d expected failures, %d regressions, %d listed but no longer failing, %d failing where kvm_intel fails too\n", hp, hk, he, hr, hn, hf
	if (bad_list != "") {
		tap(0, "expected-hvx.txt names only tests of tests.txt", "")
		printf "# not in tests.txt:%s\n", bad_list
	} else
		tap(1, "expected-hvx.txt names only tests of tests.txt", "")
	printf "1..%d\n", tapn
	for (i = 1; i <= tapn; i++) print line[i]
}' "$work/tests" "$work/expected" "$work/kvm.res" "$work/hvx.res" "$work/tests.all"
# What a regression printed last.
[ -f "$work/regressions" ] && while read -r t; do
	echo "# hvx $t:"
	tail_of "$work/hvx/${t##*/}.out"
done <"$work/regressions"
exit 0
