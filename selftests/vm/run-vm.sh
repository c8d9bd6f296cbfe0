#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh - the hvx CI VM: boot a Debian kernel in Bochs (which emulates
# VT-x with EPT), run a payload from an initramfs, hand back the serial log.
#
# Usage:
#   run-vm.sh --kernel KVER --cpu MODEL --payload DIR --out DIR
#             [--cpus N] [--timeout SEC] [--append "extra cmdline"]
#             [--modules "kvm kvm_intel ..."] [--smoke SEC]
#
#   --kernel KVER   boots /boot/vmlinuz-KVER; modules come from /lib/modules/KVER
#   --cpu MODEL     Bochs CPU model: corei7_haswell_4770 (VT-x + EPT, the normal
#                   one), core2_penryn_t9600 (VT-x without EPT), trinity_apu (AMD)
#   --payload DIR   copied to /payload in the guest; DIR/run.sh is run by /init
#   --out DIR       build artifacts and logs (created if missing)
#   --cpus N        number of emulated CPUs (default 2; Bochs runs about
#                   twice as fast with 1, see below)
#   --timeout SEC   wall-clock limit for the Bochs run (default 900)
#   --append STR    appended to the kernel command line
#   --modules STR   modules (space or comma separated) copied, with everything
#                   they depend on, to /lib/modules-extra/NAME.ko in the guest
#   --smoke SEC     only check that Bochs starts with the generated bochsrc:
#                   run it for SEC seconds, then stop it; exit 0 if it was
#                   still running, 1 (with the end of bochs.out) if not
#
# In the guest, /init mounts proc, sysfs, devtmpfs, debugfs and tracefs, runs
# /payload/run.sh with stdout and stderr on the serial console, prints
# "RUN-VM: payload exit N" and powers off. The payload may also end the VM
# itself with "reboot -f" (or "poweroff -f"); "vm-reboot" (or "vm-poweroff")
# does the same after waiting for the serial console to send what the payload
# wrote: a bare "reboot -f" can cut off the last few KiB of output.
#
# Modules are stored uncompressed (busybox insmod cannot read .ko.xz) under
# their canonical name (dashes turned into underscores, as lsmod shows them),
# and /lib/modules-extra/load-order lists them dependencies first, so:
#   for m in $(cat /lib/modules-extra/load-order); do
#           insmod /lib/modules-extra/$m.ko
#   done
# Dynamically linked executables in the payload get their shared libraries
# (as resolved by the host's ldd) copied into the initramfs too.
#
# Results in OUT:
#   serial.log   the guest's serial console (kernel log + payload output)
#   bochs.log    Bochs's own log (VMENTER/VMFAIL diagnostics, resets, ...)
#   bochs.out    Bochs's stdout/stderr (banner, debugger)
#   end          one word: poweroff, reboot, timeout or error
#   bochsrc, bochs.rc, boot.iso, initramfs.cpio, cmdline: everything needed to
#                rerun Bochs by hand (the command line is printed)
#
# Exit status: 0 when the VM ended by itself (guest poweroff or reboot),
# 124 on timeout, 1 for anything else (bad usage, build failure, Bochs
# error, kernel panic, triple fault). The payload's own exit status is in the
# serial log ("RUN-VM: payload exit N") and in the summary line; judging it is
# the caller's job.
#
# Notes on Bochs 2.7 as packaged by Debian:
# - It has no "nogui" display library (Bochs refuses it: "display library
#   'nogui' not available"), so the display is "rfb" (a VNC server) with
#   timeout=0 so that it does not wait for a viewer. rfb binds the first free
#   TCP port in 5900..5949, so up to 50 instances run side by side without any
#   configuration; a VNC viewer on that port shows the VGA screen. (The port is
#   bound on all interfaces: run CI on a host whose firewall keeps 59xx closed.)
# - It is built with the internal debugger, which stops before the first
#   instruction. bochs.rc holds "c" then "quit": "c" starts the machine, and
#   when the guest resets by triple fault (the kernel's reboot=t, set below)
#   control comes back to the debugger, which reads "quit": Bochs exits 0.
# - A guest poweroff goes through the emulated ACPI PM device; Bochs logs
#   ">>PANIC<< ACPI control: soft power off" and exits 1: a clean end.
# - "clock: sync=none" makes guest time follow the instruction count, so
#   timings measured inside the guest are (nearly) repeatable; wall time
#   depends on the host.
# - Speed, measured on a 2-core Xeon host: with 2 CPUs Bochs executes about
#   2.2 times slower than with 1 (6.1 to /init: ~150 s of CPU time with 2,
#   ~65 s with 1). Most of a 6.1 boot is the kernel's own decompression
#   (Debian compresses 6.1 with xz: ~120 s with 2 CPUs; 6.12 uses zstd: ~25 s).
#
# The kernel command line is "console=ttyS0,115200 loglevel=5 panic=-1
# reboot=t cryptomgr.notests" then --append (see CMDLINE below for why).

set -euo pipefail

readonly PROG=${0##*/}

# ---------------------------------------------------------------- helpers

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

usage() {
	sed -n '/^# Usage:/,/NAME.ko in the guest/s/^# \{0,1\}//p' "$0" >&2
	exit 1
}

# need_cmd CMD PACKAGE: fail with a hint when CMD is not installed.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; install the Debian package '$2'"
}

# need_file PATH PACKAGE: same for a data file.
need_file() {
	[[ -e $1 ]] || die "$1 not found; install the Debian package '$2'"
}

# Canonical module name: basename without .ko[.xz|.zst|.gz], '-' -> '_'.
mod_canon() {
	local n=${1##*/}
	n=${n%%.ko*}
	echo "${n//-/_}"
}

# ---------------------------------------------------------------- arguments

KVER='' CPU_MODEL='' PAYLOAD='' OUT='' CPUS=2 TIMEOUT=900 APPEND='' MODULES=''
SMOKE=0

[[ $# -gt 0 ]] || usage
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage ;;
	--kernel | --cpu | --payload | --out | --cpus | --timeout | --append | --modules | --smoke)
		[[ $# -ge 2 ]] || die "$1 needs a value"
		;;
	*) echo "$PROG: unknown argument '$1'" >&2; usage ;;
	esac
	case $1 in
	--kernel) KVER=$2 ;;
	--cpu) CPU_MODEL=$2 ;;
	--payload) PAYLOAD=$2 ;;
	--out) OUT=$2 ;;
	--cpus) CPUS=$2 ;;
	--timeout) TIMEOUT=$2 ;;
	--append) APPEND=$2 ;;
	--modules) MODULES=$2 ;;
	--smoke) SMOKE=$2 ;;
	esac
	shift 2
done

[[ -n $KVER && -n $CPU_MODEL && -n $PAYLOAD && -n $OUT ]] ||
	{ echo "$PROG: --kernel, --cpu, --payload and --out are required" >&2; usage; }
if ! [[ $CPUS =~ ^[0-9]+$ ]] || ((CPUS < 1 || CPUS > 14)); then
	die "--cpus must be 1..14 (Bochs's legacy-APIC limit), got '$CPUS'"
fi
if ! [[ $TIMEOUT =~ ^[0-9]+$ ]] || ((TIMEOUT == 0)); then
	die "--timeout must be a positive number of seconds, got '$TIMEOUT'"
fi
[[ $CPU_MODEL =~ ^[a-z0-9_]+$ ]] || die "bad --cpu model '$CPU_MODEL'"
[[ $SMOKE =~ ^[0-9]+$ ]] || die "--smoke must be a number of seconds, got '$SMOKE'"

KERNEL_IMAGE=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[[ -r $KERNEL_IMAGE ]] ||
	die "$KERNEL_IMAGE not found or unreadable; install linux-image-$KVER"
[[ -d $PAYLOAD ]] || die "payload directory '$PAYLOAD' not found"
[[ -f $PAYLOAD/run.sh ]] || die "payload '$PAYLOAD' has no run.sh"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PAYLOAD=$(cd "$PAYLOAD" && pwd)
# The bochsrc parser splits on commas and spaces and expands '$VAR': keep
# OUT to characters that need no quoting there.
[[ $OUT =~ ^[A-Za-z0-9_./+-]+$ ]] ||
	die "--out path '$OUT' must only contain [A-Za-z0-9_./+-] (Bochs config syntax)"

# ---------------------------------------------------------------- host tools

need_cmd bochs bochs
BOCHS_PLUGINS=/usr/lib/x86_64-linux-gnu/bochs/plugins
need_file "$BOCHS_PLUGINS/libbx_rfb_gui.so" bochs
BIOS=/usr/share/bochs/BIOS-bochs-latest
VGABIOS=/usr/share/vgabios/vgabios.bin
need_file "$BIOS" bochsbios
need_file "$VGABIOS" vgabios
BUSYBOX=/bin/busybox
need_file "$BUSYBOX" busybox-static
# The initramfs must not depend on host libraries: insist on the static one.
"$BUSYBOX" --list-full >/dev/null 2>&1 || die "$BUSYBOX does not run"
if command -v ldd >/dev/null 2>&1 && [[ $(ldd "$BUSYBOX" 2>&1 || true) == *'=>'* ]]; then
	die "$BUSYBOX is dynamically linked; install the Debian package 'busybox-static'"
fi
need_cmd cpio cpio
need_cmd xorriso xorriso
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX_C32=/usr/lib/syslinux/modules/bios/ldlinux.c32
need_file "$ISOLINUX_BIN" isolinux
need_file "$LDLINUX_C32" syslinux-common

# Everything from a previous run in OUT goes, so that nothing stale is read.
rm -rf "$OUT/rootfs" "$OUT/iso"
rm -f "$OUT"/{serial.log,bochs.log,bochs.out,end,bochsrc,bochs.rc,boot.iso,initramfs.cpio,cmdline,xorriso.log}

ROOTFS=$OUT/rootfs
mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,payload,lib/modules-extra}

# ---------------------------------------------------------------- busybox

cp "$BUSYBOX" "$ROOTFS/bin/busybox"
# --list-full gives paths such as "bin/sh" and "usr/sbin/chroot" ("linuxrc",
# the only one without a directory, is for initrd images: not needed).
while read -r applet; do
	[[ $applet == */* && $applet != bin/busybox ]] || continue
	mkdir -p "$ROOTFS/${applet%/*}"
	ln -sf /bin/busybox "$ROOTFS/$applet"
done < <("$BUSYBOX" --list-full)

# ---------------------------------------------------------------- modules

# Map canonical module name -> its modules.dep line ("path: dep dep ...").
declare -A MODDEP=()
declare -a LOAD_ORDER=()
declare -A MOD_STATE=() # "visiting" or "done", for the depth-first walk

load_modules_dep() {
	local line name
	[[ -r $MODDIR/modules.dep ]] ||
		die "$MODDIR/modules.dep missing; install linux-image-$KVER (or run depmod $KVER)"
	# mod_canon inlined: a subshell per line would cost seconds.
	while IFS= read -r line; do
		name=${line%%:*}
		name=${name##*/}
		name=${name%%.ko*}
		MODDEP[${name//-/_}]=$line
	done <"$MODDIR/modules.dep"
}

# is_builtin NAME: true if NAME is compiled into the kernel.
is_builtin() {
	[[ -r $MODDIR/modules.builtin ]] || return 1
	grep -qE "(^|/)${1//_/[-_]}\.ko\$" "$MODDIR/modules.builtin"
}

# visit NAME: append NAME's dependencies, then NAME, to LOAD_ORDER.
# modules.dep lists all (transitive) dependencies of a module; walking each
# of them depth-first gives an order in which every module follows the
# modules it needs.
visit() {
	local name=$1 line dep
	case ${MOD_STATE[$name]:-} in
	done) return 0 ;;
	visiting) die "module dependency cycle at '$name'" ;;
	esac
	line=${MODDEP[$name]:-}
	if [[ -z $line ]]; then
		if is_builtin "$name"; then
			echo "$PROG: note: module '$name' is built into $KVER, not copied" >&2
			MOD_STATE[$name]='done'
			return 0
		fi
		die "module '$name' not found in $MODDIR/modules.dep"
	fi
	MOD_STATE[$name]='visiting'
	for dep in ${line#*:}; do
		visit "$(mod_canon "$dep")"
	done
	MOD_STATE[$name]='done'
	LOAD_ORDER+=("$name")
}

# install_module NAME: copy NAME's .ko, decompressed, to /lib/modules-extra.
install_module() {
	local name=$1 path dst
	path=$MODDIR/${MODDEP[$name]%%:*}
	dst=$ROOTFS/lib/modules-extra/$name.ko
	case $path in
	*.ko.xz) need_cmd xz xz-utils; xz -dc "$path" >"$dst" ;;
	*.ko.zst) need_cmd zstd zstd; zstd -dcq "$path" >"$dst" ;;
	*.ko.gz) need_cmd gzip gzip; gzip -dc "$path" >"$dst" ;;
	*.ko) cp "$path" "$dst" ;;
	*) die "unexpected module file name '$path'" ;;
	esac
}

if [[ -n ${MODULES//[ ,]/} ]]; then
	load_modules_dep
	for m in ${MODULES//,/ }; do
		visit "$(mod_canon "$m")"
	done
	for m in "${LOAD_ORDER[@]}"; do
		install_module "$m"
	done
fi
# Always present (possibly empty) so a payload can loop over it blindly.
printf '%s\n' "${LOAD_ORDER[@]}" | sed '/^$/d' >"$ROOTFS/lib/modules-extra/load-order"

# ---------------------------------------------------------------- payload

cp -a "$PAYLOAD/." "$ROOTFS/payload/"

# Shared libraries of dynamically linked payload executables (e.g. tests built
# with a plain "gcc"): copy what the host's ldd resolves, at the same paths.
copy_libs() {
	local f deps lib
	while IFS= read -r -d '' f; do
		[[ $(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]] || continue
		deps=$(ldd "$f" 2>/dev/null) || continue # static binary, .ko, ...
		[[ $deps != *'not found'* ]] ||
			die "payload file ${f#"$ROOTFS/payload/"} needs libraries the host lacks:" \
				"$(grep 'not found' <<<"$deps" | tr -s ' \t\n' ' ')"
		while read -r lib; do
			[[ -e $ROOTFS$lib ]] && continue
			mkdir -p "$ROOTFS${lib%/*}"
			cp -L "$lib" "$ROOTFS$lib"
		done < <(grep -oE '(^|[[:space:]])/[^[:space:]]+' <<<"$deps" | tr -d '[:blank:]')
	done < <(find "$ROOTFS/payload" -type f -print0)
}
if command -v ldd >/dev/null 2>&1; then
	copy_libs
fi

# ---------------------------------------------------------------- /init

cat >"$ROOTFS/init" <<'EOF'
#!/bin/sh
# PID 1 of the hvx CI VM (written by selftests/vm/run-vm.sh).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
if grep -qw tracefs /proc/filesystems; then
	mount -t tracefs tracefs /sys/kernel/tracing
fi
exec </dev/console >/dev/console 2>&1

read -r up _ </proc/uptime
echo "RUN-VM: init started, kernel $(uname -r), uptime ${up}s"

cd /payload
if [ -x /payload/run.sh ]; then
	/payload/run.sh
else
	sh /payload/run.sh
fi
rc=$?
echo "RUN-VM: payload exit $rc"
sync
vm-poweroff
# Not reached unless poweroff failed; PID 1 must not exit (that panics).
echo o >/proc/sysrq-trigger
while :; do sleep 60; done
EOF
chmod 755 "$ROOTFS/init"

# vm-poweroff / vm-reboot: drain the serial console, then power off or reset
# at once. The kernel's own console output is synchronous, but what a process
# writes to /dev/console waits in the tty buffer (up to 4 KiB) while the 8250
# driver sends it at 115200 baud: a bare "reboot -f" right after a burst of
# output loses its tail. busybox stty sets the (unchanged) mode with
# tcsetattr(TCSADRAIN), which returns once the UART has sent everything.
# (Wrappers named reboot/poweroff in /sbin would not help: busybox sh runs
# its own applets before searching PATH.)
for cmd in poweroff reboot; do
	cat >"$ROOTFS/sbin/vm-$cmd" <<WRAPPER
#!/bin/sh
# Drain the serial console, then "$cmd -f" (see selftests/vm/run-vm.sh).
stty -F /dev/console onlcr 2>/dev/null
exec /bin/busybox $cmd -f
WRAPPER
	chmod 755 "$ROOTFS/sbin/vm-$cmd"
done

# ---------------------------------------------------------------- initramfs

# cpio_newc_entry NAME MODE RDEVMAJOR RDEVMINOR INO: one header-only entry of
# the "newc" format (Documentation/driver-api/early-userspace/buffer-format.rst).
# Used for /dev/console, which the kernel opens before /init runs: making
# the node needs no root this way. NAME padded with NULs to a 4-byte boundary.
cpio_newc_entry() {
	local name=$1 mode=$2 rmaj=$3 rmin=$4 ino=$5 namesize pad
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}

# Uncompressed: decompressing in emulation costs more than reading the extra
# bytes from the emulated CD. The kernel accepts concatenated archives.
(
	cd "$ROOTFS"
	find . -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet
	# 0020600 = S_IFCHR | 0600; /dev/console is char 5:1.
	cpio_newc_entry dev/console $((0020600)) 5 1 900001
	cpio_newc_entry 'TRAILER!!!' 0 0 0 0
) >"$OUT/initramfs.cpio"

# ---------------------------------------------------------------- boot ISO

# KERN_WARNING (4) and more urgent must reach the console: loglevel=5
# prints levels 0..4. ("quiet" would mean loglevel=4 and hide warnings.)
# panic=-1: a kernel panic reboots at once instead of hanging until the
# timeout; the panic message in serial.log makes that an error below.
# reboot=t: the kernel resets by triple fault. Bochs turns a triple fault
# into a hardware reset and, as it comes from the CPU loop, its debugger gets
# control at the reset vector: bochs.rc's "quit" ends Bochs with status 0.
# A reset through an I/O port does not stop the debugger: with the kernel's
# default here (keyboard controller, a "software" reset for Bochs) the BIOS
# runs again with IA32_FEATURE_CONTROL still locked, logs ~250000 WRMSR
# errors and only then triple-faults; with reboot=pci (0xCF9, a hardware
# reset) the BIOS dies with "Keyboard error:21", a Bochs panic.
# cryptomgr.notests: skip the crypto self-tests, 3.7 s of emulated time
# (~25 s of wall time) in 6.1's boot.
CMDLINE="console=ttyS0,115200 loglevel=5 panic=-1 reboot=t cryptomgr.notests"
[[ -n $APPEND ]] && CMDLINE+=" $APPEND"
echo "$CMDLINE" >"$OUT/cmdline"

ISODIR=$OUT/iso
mkdir -p "$ISODIR/isolinux"
cp "$ISOLINUX_BIN" "$LDLINUX_C32" "$ISODIR/isolinux/"
cp "$KERNEL_IMAGE" "$ISODIR/vmlinuz"
cp "$OUT/initramfs.cpio" "$ISODIR/initrd"
cat >"$ISODIR/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT vm
PROMPT 0
LABEL vm
  KERNEL /vmlinuz
  INITRD /initrd
  APPEND $CMDLINE
EOF
xorriso -as mkisofs -quiet -R -o "$OUT/boot.iso" \
	-b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$ISODIR" \
	>"$OUT/xorriso.log" 2>&1 || { cat "$OUT/xorriso.log" >&2; die "xorriso failed"; }
rm -rf "$ISODIR" "$ROOTFS"

# ---------------------------------------------------------------- bochsrc

cat >"$OUT/bochsrc" <<EOF
# Generated by run-vm.sh. Rerun with:
#   bochs -q -f $OUT/bochsrc -rc $OUT/bochs.rc
# fastboot: no boot-menu delay (3 s of emulated time, ~20 s of wall time).
romimage: file=$BIOS, options=fastboot
vgaromimage: file=$VGABIOS
cpu: model=$CPU_MODEL, count=$CPUS, ips=200000000, reset_on_triple_fault=1
memory: guest=512, host=512
clock: sync=none, time0=local
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata1: enabled=0
ata2: enabled=0
ata3: enabled=0
ata0-master: type=cdrom, path=$OUT/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$OUT/serial.log
# No "nogui" in Debian's build; rfb takes the first free port in 5900..5949.
display_library: rfb, options="timeout=0"
mouse: enabled=0
# Nothing to hear in CI. The dummy lowlevel driver for every sound feature:
# without it Bochs 2.7 opens ALSA's default PCM even with the speaker off,
# and on a host without a sound card its mixer thread aborts Bochs
# ("*** buffer overflow detected ***", exit 134) about 1 s after start.
sound: driver=dummy
speaker: enabled=0
log: $OUT/bochs.log
error: action=report
panic: action=fatal
EOF
printf 'c\nquit\n' >"$OUT/bochs.rc"

# ---------------------------------------------------------------- run

BOCHS_CMD=(bochs -q -f "$OUT/bochsrc" -rc "$OUT/bochs.rc")
echo "$PROG: ${BOCHS_CMD[*]}"

BOCHS_PID=
# Whatever ends this script (Ctrl-C, kill, an error) ends Bochs too.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [[ -n $BOCHS_PID ]] && kill -0 "$BOCHS_PID" 2>/dev/null; then
		kill -TERM "$BOCHS_PID" 2>/dev/null || true
		sleep 1
		kill -KILL "$BOCHS_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
# stdin from /dev/null: once bochs.rc is used up the debugger reads EOF
# instead of waiting on a terminal.
"${BOCHS_CMD[@]}" </dev/null >"$OUT/bochs.out" 2>&1 &
BOCHS_PID=$!

# bochs_end_line: the last meaningful line Bochs printed, for one-line errors.
bochs_end_line() {
	grep -v '^[[:space:]]*$' "$OUT/bochs.out" 2>/dev/null | tail -n 1 | cut -c1-200
}

if ((SMOKE > 0)); then
	for ((i = 0; i < SMOKE * 4; i++)); do
		kill -0 "$BOCHS_PID" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$BOCHS_PID" 2>/dev/null; then
		echo "$PROG: Bochs runs with the generated bochsrc (still up after ${SMOKE}s)"
		exit 0 # the EXIT trap stops it
	fi
	bochs_rc=0
	wait "$BOCHS_PID" || bochs_rc=$?
	BOCHS_PID=
	echo "$PROG: Bochs exited $bochs_rc within ${SMOKE}s of starting;" \
		"bochs.out ends: $(bochs_end_line)" >&2
	exit 1
fi

timed_out=0 init_at=
while kill -0 "$BOCHS_PID" 2>/dev/null; do
	if [[ -z $init_at ]] && grep -qs '^RUN-VM: init started' "$OUT/serial.log"; then
		init_at=$((SECONDS - start))
	fi
	if ((SECONDS - start >= TIMEOUT)); then
		timed_out=1
		echo "$PROG: TIMEOUT: Bochs still running after ${TIMEOUT}s, killing it" >&2
		kill -TERM "$BOCHS_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5; do
			kill -0 "$BOCHS_PID" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "$BOCHS_PID" 2>/dev/null || true
		break
	fi
	sleep 1
done
bochs_rc=0
wait "$BOCHS_PID" || bochs_rc=$?
BOCHS_PID=
elapsed=$((SECONDS - start))
if [[ -z $init_at ]] && grep -qs '^RUN-VM: init started' "$OUT/serial.log"; then
	init_at=$elapsed
fi

# ---------------------------------------------------------------- verdict

touch "$OUT/serial.log" "$OUT/bochs.log"
slog=$OUT/serial.log blog=$OUT/bochs.log
why=
if ((timed_out)); then
	end=timeout status=124
elif grep -q 'Kernel panic - not syncing' "$slog"; then
	end=error status=1 why="kernel panic"
elif ((bochs_rc == 1)) && grep -q 'ACPI control: soft power off' "$blog"; then
	# Guest "poweroff": kernel prints "reboot: Power down", Bochs exits 1.
	end=poweroff status=0
elif ((bochs_rc == 0)) && grep -q 'reboot: Restarting system' "$slog" &&
	awk '/bx_pc_system_c::Reset\(/ && !/^00000000000/ { f = 1 } END { exit !f }' "$blog"; then
	# Guest "reboot": the kernel prints "reboot: Restarting system" and
	# (reboot=t) triple-faults; Bochs logs "exception(): 3rd (13) exception
	# with no resolution, shutdown status is 00h, resetting" and
	# "bx_pc_system_c::Reset(HARDWARE) called" (the one at tick 0 is the
	# power-on); its debugger gets control back and runs "quit": exit 0.
	# Without the kernel's message, the reset is a crash (e.g. a triple
	# fault) that the guest did not ask for.
	end=reboot status=0
else
	end=error status=1
	if grep -q 'exception with no resolution' "$blog"; then
		why="triple fault"
	elif grep -q '>>PANIC<<' "$blog" "$OUT/bochs.out"; then
		why="Bochs panic: $(sed -n '/>>PANIC<</{s/.*>>PANIC<< *//p;q;}' "$blog" "$OUT/bochs.out")"
	else
		why="Bochs exited $bochs_rc"
	fi
	# Bochs that dies before the guest could print anything is a host
	# problem (configuration, a library, a missing device): say so in the
	# one line a user reads, with what Bochs said last.
	if ((elapsed <= 10)) && [[ ! -s $slog ]]; then
		echo "$PROG: Bochs exited $bochs_rc ${elapsed}s after starting," \
			"before the guest printed anything; bochs.out ends: $(bochs_end_line)" >&2
	fi
fi
echo "$end" >"$OUT/end"

payload=$(sed -n 's/^RUN-VM: payload exit \([0-9]*\).*/\1/p' "$slog" | tail -n 1)
echo "$PROG: $KVER $CPU_MODEL x$CPUS: $end${why:+ ($why)} after ${elapsed}s" \
	"(init at ${init_at:-never}${init_at:+s}), payload exit ${payload:-none}," \
	"logs in $OUT"
exit "$status"
