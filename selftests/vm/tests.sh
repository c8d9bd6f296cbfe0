# SPDX-License-Identifier: GPL-2.0
#
# The in-VM suite's test lists, in one place: suite.sh reads this file in
# the CI VM (as /payload/tests.sh), scripts/vm-lib.sh on the host (to know
# which results to look for). POSIX sh, assignments only.

# The KVM-API clients: they run against /dev/hvx under their own name and,
# in the full suite, against /dev/kvm as NAME@kvm.
HVX_GUEST_TESTS="smoke_test vm_test guest_modes_test cpuid_test mmio_test memslot_test irq_test irqchip_test split_irqchip_test smp_test eventfd_test run_test concurrency_test leak_test hvx_run_test qemu_test fuzz_test"

# Guest tests the full suite runs against /dev/hvx only (NAME@kvm still
# runs by name): fuzz_test@kvm's known-guest recovery checks miss state
# kvm_intel keeps (Documentation/testing.rst).
HVX_ONLY_IN_FULL="fuzz_test"

# The full suite's order against /dev/hvx: the module's own tests, the
# guest tests, then the tracepoints.
HVX_SELFTESTS_HVX="probe_test load_test sys_ioctl_test kvm_conflict_test $HVX_GUEST_TESTS trace_test"
