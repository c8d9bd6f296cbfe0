// SPDX-License-Identifier: GPL-2.0
/*
 * The split irqchip (KVM_CAP_SPLIT_IRQCHIP): local APICs in the kernel,
 * the PIC and the IOAPIC in the VMM, as QEMU's kernel-irqchip=split.
 *
 * - enabling it: once, before the first vCPU and not after
 *   KVM_CREATE_IRQCHIP (EEXIST, as KVM), nor KVM_CREATE_IRQCHIP after it; no PIC/IOAPIC
 *   state (KVM_GET_IRQCHIP: ENXIO), MSI routes only, no resampling irqfd;
 *   the vCPUs get local APICs;
 * - the VMM's IOAPIC as MSI routes: an edge-triggered one is delivered
 *   and ends in the guest; a level-triggered one in the IOAPIC's
 *   reserved routes is delivered and its EOI comes back to the VMM as
 *   KVM_EXIT_IOAPIC_EOI with the vector;
 * - the VMM's PIC: KVM_INTERRUPT is taken through LINT0 (unmasked ExtINT
 *   at reset), wakes a vCPU halted in the kernel, and is not taken while
 *   LVT0 is masked.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "test_run.h"
#include "util.h"

#define RUN_TIMEOUT	10.0

/* Routes the VMM's IOAPIC reserves (QEMU: its 24 pins). */
#define IOAPIC_PINS	24
#define GSI_EDGE	5
#define GSI_LEVEL	6

#define VEC_EDGE	0x61
#define VEC_LEVEL	0x62
#define VEC_EXTINT	0x30
#define VEC_MASKED	0x31
#define VEC_WAKE	0x32

/* MSI data (Intel SDM Vol. 3A, 11.11.2): level-triggered, asserted. */
#define MSI_DATA_LEVEL	(BIT(15) | BIT(14))

/* ---------------------------------------------------------- guest side */

static u32 count[256];

static void handler_eoi(struct guest_regs *regs)
{
	count[regs->vector]++;
	xapic_eoi();
}

/* The PIC's interrupts: its EOI would be the VMM's; none needed here. */
static void handler_count(struct guest_regs *regs)
{
	count[regs->vector]++;
}

static void wait_count(u8 vector, u32 n)
{
	guest_wait_at_least(&count[vector], n);
}

static void guest_msis(u64 arg)
{
	guest_set_handler(VEC_EDGE, handler_eoi);
	guest_set_handler(VEC_LEVEL, handler_eoi);
	guest_xapic_enable();
	guest_report(1);
	wait_count(VEC_EDGE, 1);
	guest_report(2);
	wait_count(VEC_LEVEL, 1);
	guest_report(3);
}

static void guest_extint(u64 arg)
{
	guest_set_handler(VEC_EXTINT, handler_count);
	guest_set_handler(VEC_MASKED, handler_count);
	guest_set_handler(VEC_WAKE, handler_count);
	guest_xapic_enable();
	/* LVT0 as at reset on the BSP: unmasked ExtINT. */
	guest_report(1);
	wait_count(VEC_EXTINT, 1);
	guest_report(2);
	/* Halted in the kernel until the VMM's next one. */
	wait_count(VEC_WAKE, 1);
	/* Masked: LINT0 does not take the next one. */
	xapic_write(APIC_LVT0, APIC_LVT_MASKED | APIC_DM_EXTINT);
	guest_report(3);
	guest_spin_tsc(2000000);
	guest_report(count[VEC_MASKED]);
}

/* ----------------------------------------------------------- host side */

FIXTURE(split) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_SETUP(split)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(split)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

static int enable_split(struct kvm_vm *vm, u64 pins)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args = { pins },
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

#define NO_SPLIT()							\
	({								\
		bool __no = !kvm_check_cap(KVM_CAP_SPLIT_IRQCHIP);	\
		if (__no)						\
			SKIP(, "%s: no KVM_CAP_SPLIT_IRQCHIP",		\
			     test_device());				\
		__no;							\
	})

/* A split-irqchip VM with a C guest's memory and vCPU 0 at @fn. */
static struct kvm_vm *split_guest(struct __test_metadata *_metadata,
				  struct kvm_vcpu **vcpu, void (*fn)(u64))
{
	struct kvm_vm *vm = vm_create();

	EXPECT_EQ(0, enable_split(vm, IOAPIC_PINS))
		TH_LOG("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s",
		       strerror(errno));
	vm_setup_c_guest(vm);
	*vcpu = vcpu_create(vm, 0);
	vcpu_setup_c(*vcpu, fn, 0);
	return vm;
}

#define EXPECT_REPORT(vcpu, value)	\
	run_report_within(_metadata, vcpu, value, RUN_TIMEOUT, __LINE__)

static struct kvm_irq_routing *msi_routes(void)
{
	struct kvm_irq_routing *rt;

	rt = calloc(1, sizeof(*rt) + 2 * sizeof(rt->entries[0]));
	rt->nr = 2;
	rt->entries[0].gsi = GSI_EDGE;
	rt->entries[0].type = KVM_IRQ_ROUTING_MSI;
	rt->entries[0].u.msi.address_lo = APIC_DEFAULT_GPA;	/* APIC ID 0 */
	rt->entries[0].u.msi.data = VEC_EDGE;
	rt->entries[1].gsi = GSI_LEVEL;
	rt->entries[1].type = KVM_IRQ_ROUTING_MSI;
	rt->entries[1].u.msi.address_lo = APIC_DEFAULT_GPA;
	rt->entries[1].u.msi.data = VEC_LEVEL | MSI_DATA_LEVEL;
	return rt;
}

TEST_F(split, enable_rules)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irqfd irqfd = { .gsi = GSI_LEVEL };
	struct kvm_irq_routing *rt;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int efd, rfd;

	if (NO_SPLIT())
		return;
	self->vm = vm_create();
	ASSERT_EQ(0, enable_split(self->vm, IOAPIC_PINS));
	EXPECT_EQ(-1, enable_split(self->vm, IOAPIC_PINS));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_CREATE_IRQCHIP, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* The PIC and the IOAPIC are the VMM's. */
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_GET_IRQCHIP, &chip));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_SET_IRQCHIP, &chip));
	EXPECT_EQ(ENXIO, errno);

	/* MSI routes only. */
	rt = msi_routes();
	EXPECT_EQ(0, __vm_ioctl(self->vm, KVM_SET_GSI_ROUTING, rt));
	rt->entries[1].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt->entries[1].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt->entries[1].u.irqchip.pin = 3;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_SET_GSI_ROUTING, rt));
	EXPECT_EQ(EINVAL, errno);
	free(rt);

	/* A resampling irqfd needs the in-kernel IOAPIC; a plain one works. */
	efd = eventfd(0, EFD_CLOEXEC);
	rfd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, rfd);
	irqfd.fd = efd;
	irqfd.resamplefd = rfd;
	irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_IRQFD, &irqfd));
	EXPECT_EQ(EINVAL, errno);
	irqfd.flags = 0;
	EXPECT_EQ(0, __vm_ioctl(self->vm, KVM_IRQFD, &irqfd));
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	EXPECT_EQ(0, __vm_ioctl(self->vm, KVM_IRQFD, &irqfd));
	close(efd);
	close(rfd);

	/* The vCPUs have local APICs. */
	vcpu = vcpu_create(self->vm, 0);
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic));

	/* Not after a vCPU, not after KVM_CREATE_IRQCHIP: EEXIST both. */
	vm = vm_create();
	vcpu_create(vm, 0);
	EXPECT_EQ(-1, enable_split(vm, IOAPIC_PINS));
	EXPECT_EQ(EEXIST, errno);
	vm_free(vm);
	vm = vm_create();
	ASSERT_EQ(0, __vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL));
	EXPECT_EQ(-1, enable_split(vm, IOAPIC_PINS));
	EXPECT_EQ(EEXIST, errno);
	vm_free(vm);
}

/*
 * The VMM's IOAPIC: an edge MSI ends in the guest; a level one's EOI is
 * KVM_EXIT_IOAPIC_EOI with its vector, before the guest goes on.
 */
TEST_F(split, ioapic_msi_and_eoi_exit)
{
	struct kvm_irq_routing *rt;
	struct kvm_run *run;
	int r;

	if (NO_SPLIT())
		return;
	self->vm = split_guest(_metadata, &self->vcpu, guest_msis);
	run = self->vcpu->run;
	rt = msi_routes();
	ASSERT_EQ(0, __vm_ioctl(self->vm, KVM_SET_GSI_ROUTING, rt));
	free(rt);

	EXPECT_REPORT(self->vcpu, 1);
	vm_irq_line(self->vm, GSI_EDGE, 1);
	vm_irq_line(self->vm, GSI_EDGE, 0);
	EXPECT_REPORT(self->vcpu, 2);

	vm_irq_line(self->vm, GSI_LEVEL, 1);
	r = vcpu_run_ucall(self->vcpu, NULL, RUN_TIMEOUT);
	EXPECT_EQ((int)UCALL_NONE, r);
	ASSERT_EQ((u32)KVM_EXIT_IOAPIC_EOI, run->exit_reason)
		TH_LOG("%s", r < 0 ? strerror(errno) :
		       vcpu_guest_str(self->vcpu));
	EXPECT_EQ(VEC_LEVEL, run->eoi.vector);
	/* The VMM's IOAPIC would look at its line again now. */
	vm_irq_line(self->vm, GSI_LEVEL, 0);
	EXPECT_REPORT(self->vcpu, 3);
}

/* The VMM's PIC: KVM_INTERRUPT through LINT0. */
TEST_F(split, pic_extint)
{
	struct kvm_interrupt irq = { .irq = VEC_EXTINT };
	int r;

	if (NO_SPLIT())
		return;
	self->vm = split_guest(_metadata, &self->vcpu, guest_extint);

	EXPECT_REPORT(self->vcpu, 1);
	ASSERT_EQ(0, __vcpu_ioctl(self->vcpu, KVM_INTERRUPT, &irq))
		TH_LOG("KVM_INTERRUPT: %s", strerror(errno));
	EXPECT_REPORT(self->vcpu, 2);

	/* Halted with nothing to take: KVM_RUN waits (and times out). */
	r = vcpu_run_ucall(self->vcpu, NULL, 0.5);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	irq.irq = VEC_WAKE;
	ASSERT_EQ(0, __vcpu_ioctl(self->vcpu, KVM_INTERRUPT, &irq));
	EXPECT_REPORT(self->vcpu, 3);

	/* LVT0 masked: the guest, interruptible, does not take it. */
	irq.irq = VEC_MASKED;
	ASSERT_EQ(0, __vcpu_ioctl(self->vcpu, KVM_INTERRUPT, &irq));
	EXPECT_REPORT(self->vcpu, 0);
}

TEST_HARNESS_MAIN
