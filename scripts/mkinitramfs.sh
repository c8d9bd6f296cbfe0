#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh OUT: a tiny busybox initramfs (newc cpio, uncompressed:
# decompressing costs a nested guest in Bochs more than copying) for
# hvx-run guests. Its /init mounts /proc, /sys and /dev, prints
#   HVX-GUEST-UP <kernel release>
# then, by the kernel command-line word hvxguest=WHAT:
#   test   (default) prints facts the hvx-run test checks (CPU count, no
#          APIC, the TSC rate and whether CPUID gave it, a 1 s sleep, the
#          clocksource), reads one line
#          from the console that starts with "hvx-input-" (10 s at most) and
#          echoes it, prints HVX-GUEST-DONE and powers off
#   shell  an interactive shell on the console; "poweroff -f" ends it
#   poweroff  powers off at once (make bench times the boot)
#   cpus   prints HVX-GUEST-CPUS <count> and HVX-GUEST-DONE, powers off
#          (qemu_test)
# Needs the static busybox (Debian package busybox-static) and cpio.
set -euo pipefail

out=${1:?usage: mkinitramfs.sh OUT}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkinitramfs: $busybox missing (busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "mkinitramfs: cpio missing" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "HVX-GUEST-UP $(uname -r)"
what=test
for w in $(cat /proc/cmdline); do
	case "$w" in hvxguest=*) what=${w#hvxguest=} ;; esac
done
if [ "$what" = poweroff ]; then
	poweroff -f
fi
if [ "$what" = cpus ]; then
	echo "HVX-GUEST-CPUS $(grep -c ^processor /proc/cpuinfo)"
	echo "HVX-GUEST-DONE"
	poweroff -f
fi
if [ "$what" = shell ]; then
	echo "hvx-run guest shell; 'poweroff -f' ends it"
	setsid cttyhack sh
	poweroff -f
fi
echo "HVX-GUEST-CPUS $(grep -c ^processor /proc/cpuinfo)"
if grep -qw apic /proc/cpuinfo; then echo "HVX-GUEST-APIC yes"; else echo "HVX-GUEST-APIC no"; fi
echo "HVX-GUEST-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -m1 'tsc: Detected' | sed 's/^\[[^]]*\] */HVX-GUEST-TSC /'
# Set when CPUID leaf 0x15 gave the rate (native_calibrate_tsc()).
if grep -qw tsc_known_freq /proc/cpuinfo; then echo "HVX-GUEST-TSC-KNOWN-FREQ yes"; else echo "HVX-GUEST-TSC-KNOWN-FREQ no"; fi
t0=$(cut -d' ' -f1 /proc/uptime)
sleep 1
t1=$(cut -d' ' -f1 /proc/uptime)
echo "HVX-GUEST-SLEEP $t0 $t1"
line=
end=$(( $(cut -d. -f1 /proc/uptime) + 10 ))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	read -t 2 -r l || continue
	case "$l" in hvx-input-*) line=$l; break ;; esac
done
echo "HVX-GUEST-INPUT ${line:-none}"
echo "HVX-GUEST-DONE"
poweroff -f
INIT
chmod 755 "$root/init"

# cpio_newc_entry NAME MODE RDEVMAJOR RDEVMINOR INO: a header-only "newc"
# entry, for /dev/console (the kernel opens it before /init runs) without
# needing root for mknod. The kernel accepts concatenated archives.
cpio_newc_entry() {
	local name=$1 mode=$2 rmaj=$3 rmin=$4 ino=$5 namesize pad
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}

(
	cd "$root"
	find . -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet
	cpio_newc_entry dev/console $((0020600)) 5 1 900001
	cpio_newc_entry 'TRAILER!!!' 0 0 0 0
) >"$out"
