# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading kvm_intel in the CI VM, for the suite (run.sh) and
# KVM's selftests (kvm_selftests): sourced from the payload directory.
# run-vm.sh stores the modules under /lib/modules-extra with their load
# order, dependencies first. POSIX sh.

# kvm_load: kvm_intel and what it needs, each unless loaded.
kvm_load() {
	for m in $(cat /lib/modules-extra/load-order); do
		[ -d "/sys/module/$m" ] || insmod "/lib/modules-extra/$m.ko"
	done
}

# kvm_unload: the same, in reverse order, each if loaded.
kvm_unload() {
	for m in $(sed '1!G;h;$!d' /lib/modules-extra/load-order); do
		[ -d "/sys/module/$m" ] && rmmod "$m"
	done
}
