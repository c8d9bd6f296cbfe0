// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel interrupt controllers (KVM_CREATE_IRQCHIP): the VM and vCPU
 * ioctls of the irqchip (creation rules, KVM_GET/SET_IRQCHIP for the two
 * 8259s and the IOAPIC, KVM_GET/SET_LAPIC, KVM_GET/SET_MP_STATE), then
 * long-mode C guests that take interrupts through their IDT: the local APIC
 * timer (one-shot, periodic, TSC-deadline), self-IPIs and their priority,
 * the IOAPIC (edge and level pins driven by KVM_IRQ_LINE, remote IRR and
 * EOI), HLT blocking inside KVM_RUN, the task priority (CR8 and the TPR
 * register), the 8259 through LVT0 (ExtINT) and KVM_SIGNAL_MSI; and two
 * a hostile guest could use: a 1 ns periodic timer, an interrupt storm.
 *
 * Everything here is one vCPU, APIC ID 0, in xAPIC mode at 0xfee00000;
 * the IOAPIC is at 0xfec00000.  The APIC timer is taken to count at 1 GHz
 * before the divider, as KVM's does (KVM_CAP_X86_APIC_BUS_CYCLES_NS's
 * default).  Without KVM_CAP_IRQCHIP every test skips.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "test_run.h"
#include "util.h"

/* Watchdog on each KVM_RUN: a lost interrupt leaves the guest in HLT. */
#define RUN_TIMEOUT	10.0

/* IOAPIC pins above the 8259s' 16 inputs: KVM_IRQ_LINE reaches only them. */
#define PIN_EDGE	17
#define PIN_LEVEL	18
#define PIN_HLT		19
#define PIN_STORM	20

#define VEC_TIMER	0x40
#define VEC_EDGE	0x61
#define VEC_LEVEL	0x62
#define VEC_HLT		0x63
#define VEC_MSI		0x64
#define VEC_STORM	0x65
#define PIC_BASE	0x30
#define PIC_IRQ		3

/* 20 ms and 5 ms of the 1 GHz APIC timer clock, divided by 1. */
#define ONESHOT_COUNT	20000000U
#define PERIODIC_COUNT	5000000U
#define PERIODIC_TICKS	10
/* The shortest periodic timer period, as KVM's min_timer_period_us. */
#define MIN_PERIOD_S	0.0002
/* Level interrupts the storm guest takes before it masks the pin. */
#define STORM_IRQS	2000

/* ---------------------------------------------------------- guest side */

/* Per-vector counts, the vectors in the order taken, and their TSC. */
static u32 count[256];
static u8 order[16];
static u32 nr_order;
static u64 tsc_at[16];
/* Host <-> guest handshakes of the threaded tests. */
static u32 phase, go;

static void log_irq(u8 vector)
{
	u32 n = nr_order;

	if (n < ARRAY_SIZE(order)) {
		order[n] = vector;
		tsc_at[n] = guest_rdtsc();
	}
	nr_order = n + 1;
	count[vector]++;
}

/* Count, then EOI the local APIC. */
static void handler_eoi(struct guest_regs *regs)
{
	log_irq(regs->vector);
	xapic_eoi();
}

/* Count only (the PIC's interrupts: no local APIC EOI, an 8259 one). */
static void handler_pic(struct guest_regs *regs)
{
	log_irq(regs->vector);
	guest_outb(0x20, 0x20);		/* non-specific EOI */
}

/* Wait with IF=1 (in HLT) until count[vector] reaches n. */
static void wait_count(u8 vector, u32 n)
{
	guest_wait_at_least(&count[vector], n);
}

static void guest_reports_cr8(u64 arg)
{
	guest_report(guest_get_cr8());
	guest_report(xapic_read(APIC_SPIV));
	guest_report(xapic_read(APIC_LVTERR));
}

/*
 * One-shot: the interrupt comes once, not before 20 ms (host-timed between
 * the two reports), the current count is 0 after; no second one as long
 * again later.
 */
static void guest_timer_oneshot(u64 arg)
{
	u64 t0, dt;
	u32 ccr;

	guest_set_handler(VEC_TIMER, handler_eoi);
	guest_xapic_enable();
	xapic_write(APIC_TDCR, APIC_TDCR_1);
	xapic_write(APIC_LVTT, VEC_TIMER | APIC_LVTT_ONESHOT);
	guest_report(1);
	xapic_write(APIC_TMICT, ONESHOT_COUNT);
	t0 = guest_rdtsc();
	ccr = xapic_read(APIC_TMCCT);
	GUEST_ASSERT_NE(ccr, 0);
	GUEST_ASSERT_LE(ccr, ONESHOT_COUNT);
	GUEST_ASSERT_EQ(xapic_read(APIC_TMICT), ONESHOT_COUNT);
	GUEST_ASSERT_EQ(count[VEC_TIMER], 0);
	wait_count(VEC_TIMER, 1);
	dt = tsc_at[0] - t0;
	GUEST_ASSERT_EQ(xapic_read(APIC_TMCCT), 0);
	/* As long again (the TSC calibrated by the timer): no second one. */
	guest_spin_tsc(dt);
	GUEST_ASSERT_EQ(count[VEC_TIMER], 1);
	guest_report(2);
}

/*
 * Periodic: PERIODIC_TICKS interrupts, not before PERIODIC_TICKS periods
 * (host-timed); the count reloads; TMICT = 0 stops it.
 */
static void guest_timer_periodic(u64 arg)
{
	u64 period;
	u32 n;

	guest_set_handler(VEC_TIMER, handler_eoi);
	guest_xapic_enable();
	xapic_write(APIC_TDCR, APIC_TDCR_1);
	xapic_write(APIC_LVTT, VEC_TIMER | APIC_LVTT_PERIODIC);
	guest_report(1);
	xapic_write(APIC_TMICT, PERIODIC_COUNT);
	wait_count(VEC_TIMER, PERIODIC_TICKS);
	guest_report(2);
	n = count[VEC_TIMER];
	GUEST_ASSERT_LE(n, PERIODIC_TICKS + 1);
	/* Each period is about as long as the others (TSC). */
	period = (tsc_at[PERIODIC_TICKS - 1] - tsc_at[1]) /
		 (PERIODIC_TICKS - 2);
	GUEST_ASSERT_NE(period, 0);
	/* Still running: the count reloaded. */
	GUEST_ASSERT_NE(xapic_read(APIC_TMCCT), 0);
	xapic_write(APIC_TMICT, 0);
	GUEST_ASSERT_EQ(xapic_read(APIC_TMCCT), 0);
	n = count[VEC_TIMER];
	guest_spin_tsc(3 * period);
	GUEST_ASSERT_EQ(count[VEC_TIMER], n);
	guest_report(count[VEC_TIMER]);
}

/*
 * TSC-deadline mode: the interrupt comes at or after the deadline, which
 * then reads 0; TMICT is ignored; a deadline of 0 disarms; one in the
 * past fires at once.  @delta: TSC ticks to the deadline.
 */
static void guest_tsc_deadline(u64 delta)
{
	u64 deadline;

	guest_set_handler(VEC_TIMER, handler_eoi);
	guest_xapic_enable();
	xapic_write(APIC_LVTT, VEC_TIMER | APIC_LVTT_TSCDEADLINE);
	GUEST_ASSERT_EQ(xapic_read(APIC_LVTT), VEC_TIMER | APIC_LVTT_TSCDEADLINE);
	xapic_write(APIC_TMICT, 12345);
	GUEST_ASSERT_EQ(xapic_read(APIC_TMICT), 0);

	deadline = guest_rdtsc() + delta;
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), deadline);
	wait_count(VEC_TIMER, 1);
	GUEST_ASSERT_GE(tsc_at[0], deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);

	deadline = guest_rdtsc() + delta;
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	guest_spin_tsc(2 * delta);
	GUEST_ASSERT_EQ(count[VEC_TIMER], 1);

	guest_wrmsr(MSR_IA32_TSC_DEADLINE, guest_rdtsc() - delta);
	wait_count(VEC_TIMER, 2);
	guest_report(count[VEC_TIMER]);
}

/*
 * Self-IPIs: with IF=0 the vector waits in IRR, and is in ISR while its
 * handler runs; the shorthand and the own APIC ID both work; of two
 * pending, the higher priority class goes first.
 */
static u32 isr_in_handler, irr_in_handler;

static void handler_self(struct guest_regs *regs)
{
	isr_in_handler = xapic_vector_set(APIC_ISR, regs->vector);
	irr_in_handler = xapic_vector_set(APIC_IRR, regs->vector);
	handler_eoi(regs);
}

static void guest_self_ipi(u64 arg)
{
	guest_set_handler(0x50, handler_self);
	guest_set_handler(0x51, handler_eoi);
	guest_set_handler(0x52, handler_eoi);
	guest_set_handler(0x72, handler_eoi);
	guest_xapic_enable();

	guest_xapic_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | 0x50);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, 0x50));
	GUEST_ASSERT_EQ(count[0x50], 0);
	wait_count(0x50, 1);
	GUEST_ASSERT_EQ(count[0x50], 1);
	GUEST_ASSERT_EQ(isr_in_handler, 1);
	GUEST_ASSERT_EQ(irr_in_handler, 0);
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, 0x50));
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, 0x50));

	guest_xapic_ipi(guest_apic_id(), APIC_DM_FIXED | 0x51);
	wait_count(0x51, 1);
	GUEST_ASSERT_EQ(count[0x51], 1);

	nr_order = 0;
	guest_xapic_ipi(0, APIC_DEST_SELF | 0x52);
	guest_xapic_ipi(0, APIC_DEST_SELF | 0x72);
	while (nr_order < 2)
		guest_sti_hlt();
	guest_cli();
	GUEST_ASSERT_EQ(nr_order, 2);
	GUEST_ASSERT_EQ(order[0], 0x72);
	GUEST_ASSERT_EQ(order[1], 0x52);
	GUEST_ASSERT_EQ(xapic_read(APIC_ESR), 0);
}

/*
 * IOAPIC edge pin @pin, with the host's pulses timed by phase/go:
 * 1: the guest halts, a pulse wakes it (one interrupt, no remote IRR);
 * 2: the pin masked, a pulse is lost (not delivered at unmask).
 */
static void guest_ioapic_edge(u64 pin)
{
	u64 rte = VEC_EDGE | IOAPIC_RTE_DEST(0);

	guest_set_handler(VEC_EDGE, handler_eoi);
	guest_xapic_enable();
	GUEST_ASSERT_EQ(ioapic_get_rte(pin) & IOAPIC_RTE_MASKED,
			IOAPIC_RTE_MASKED);
	ioapic_set_rte(pin, rte);
	GUEST_ASSERT_EQ(ioapic_get_rte(pin), rte);
	phase = 1;
	wait_count(VEC_EDGE, 1);
	GUEST_ASSERT_EQ(ioapic_get_rte(pin), rte);

	ioapic_set_rte(pin, rte | IOAPIC_RTE_MASKED);
	phase = 2;
	/* IF=1 while spinning, for the host's sake (no interrupt comes). */
	guest_sti();
	while (!go)
		guest_pause();
	guest_cli();
	ioapic_set_rte(pin, rte);
	guest_spin_tsc(1000000);
	GUEST_ASSERT_EQ(count[VEC_EDGE], 1);
	guest_report(count[VEC_EDGE]);
}

/*
 * IOAPIC level pin @pin (reports: 1 = assert it, 3 = deassert it): the
 * handler sees remote IRR and TMR set; its EOI with the line still
 * asserted delivers it again; after the host deasserts it, the third EOI
 * ends it and clears remote IRR.
 */
static u32 level_pin, remote_irr_seen, tmr_seen;

static void handler_level(struct guest_regs *regs)
{
	u32 n;

	log_irq(regs->vector);
	n = count[regs->vector];
	if (ioapic_get_rte(level_pin) & IOAPIC_RTE_REMOTE_IRR)
		remote_irr_seen++;
	if (xapic_vector_set(APIC_TMR, regs->vector))
		tmr_seen++;
	if (n == 3)
		guest_report(3);
	xapic_eoi();
}

static void guest_ioapic_level(u64 pin)
{
	u64 rte = VEC_LEVEL | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DEST(0);

	level_pin = pin;
	guest_set_handler(VEC_LEVEL, handler_level);
	guest_xapic_enable();
	ioapic_set_rte(pin, rte);
	guest_report(1);
	wait_count(VEC_LEVEL, 3);
	guest_spin_tsc(1000000);
	GUEST_ASSERT_EQ(count[VEC_LEVEL], 3);
	GUEST_ASSERT_EQ(remote_irr_seen, 3);
	GUEST_ASSERT_EQ(tmr_seen, 3);
	GUEST_ASSERT_EQ(ioapic_get_rte(pin) & IOAPIC_RTE_REMOTE_IRR, 0);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, VEC_LEVEL));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, VEC_LEVEL));
}

/* HLT with IF=1 and nothing to wake it, until an IOAPIC edge on @pin. */
static void guest_hlt_wait(u64 pin)
{
	guest_set_handler(VEC_HLT, handler_eoi);
	guest_xapic_enable();
	ioapic_set_rte(pin, VEC_HLT | IOAPIC_RTE_DEST(0));
	guest_report(1);
	wait_count(VEC_HLT, 1);
	guest_report(count[VEC_HLT]);
}

/*
 * CR8 and TPR: an interrupt whose priority class is not above the TPR's
 * waits in IRR (even with IF=1) until the TPR is lowered; a higher one
 * goes through; CR8 is TPR[7:4] both ways.  (A delivery that never comes
 * leaves the guest in HLT: the host's watchdog fails the test.)
 */
static void guest_tpr(u64 arg)
{
	guest_set_handler(0x50, handler_eoi);
	guest_set_handler(0x60, handler_eoi);
	guest_set_handler(0x70, handler_eoi);
	guest_xapic_enable();

	guest_set_cr8(5);
	GUEST_ASSERT_EQ(xapic_read(APIC_TASKPRI) & 0xff, 0x50);
	guest_sti();
	guest_xapic_ipi(0, APIC_DEST_SELF | 0x50);
	guest_spin_tsc(100000);
	GUEST_ASSERT_EQ(count[0x50], 0);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, 0x50));
	guest_xapic_ipi(0, APIC_DEST_SELF | 0x60);
	wait_count(0x60, 1);
	GUEST_ASSERT_EQ(count[0x60], 1);
	GUEST_ASSERT_EQ(count[0x50], 0);
	guest_set_cr8(4);
	wait_count(0x50, 1);

	xapic_write(APIC_TASKPRI, 0x70);
	GUEST_ASSERT_EQ(guest_get_cr8(), 7);
	guest_xapic_ipi(0, APIC_DEST_SELF | 0x70);
	guest_spin_tsc(100000);
	GUEST_ASSERT_EQ(count[0x70], 0);
	GUEST_ASSERT_EQ(xapic_read(APIC_PROCPRI) & 0xf0, 0x70);
	xapic_write(APIC_TASKPRI, 0);
	wait_count(0x70, 1);
	GUEST_ASSERT_EQ(guest_get_cr8(), 0);
}

/*
 * The 8259 pair, programmed by the guest (vectors PIC_BASE..+7, +8..+15),
 * reaching the CPU through LVT0 in ExtINT mode (reports: 1 = pulse
 * PIC_IRQ; 2 = raise it, 3 = lower it): the PIC's vector, no local APIC
 * ISR bit; masked in IMR it waits in IRR until unmasked.
 */
static void guest_pic(u64 arg)
{
	guest_set_handler(PIC_BASE + PIC_IRQ, handler_pic);
	guest_xapic_enable();
	xapic_write(APIC_LVT0, APIC_DM_EXTINT);
	/* ICW1-4: edge, cascade, vector base, slave on IR2, 8086 mode. */
	guest_outb(0x20, 0x11);
	guest_outb(0x21, PIC_BASE);
	guest_outb(0x21, 0x04);
	guest_outb(0x21, 0x01);
	guest_outb(0xa0, 0x11);
	guest_outb(0xa1, PIC_BASE + 8);
	guest_outb(0xa1, 0x02);
	guest_outb(0xa1, 0x01);
	guest_outb(0xa1, 0xff);
	guest_outb(0x21, 0xff & ~BIT(PIC_IRQ));
	GUEST_ASSERT_EQ(guest_inb(0x21), 0xff & ~BIT(PIC_IRQ));

	guest_report(1);
	wait_count(PIC_BASE + PIC_IRQ, 1);
	GUEST_ASSERT_EQ(order[0], PIC_BASE + PIC_IRQ);
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, PIC_BASE + PIC_IRQ));
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, PIC_BASE + PIC_IRQ));

	guest_outb(0x21, 0xff);
	guest_report(2);
	guest_spin_tsc(1000000);
	GUEST_ASSERT_EQ(count[PIC_BASE + PIC_IRQ], 1);
	/* OCW3: read IRR. */
	guest_outb(0x20, 0x0a);
	GUEST_ASSERT_EQ(guest_inb(0x20) & BIT(PIC_IRQ), BIT(PIC_IRQ));
	guest_outb(0x21, 0xff & ~BIT(PIC_IRQ));
	wait_count(PIC_BASE + PIC_IRQ, 2);
	guest_report(3);
	guest_report(count[PIC_BASE + PIC_IRQ]);
}

/*
 * The shortest period a guest can ask for (TMICT 1, divide by 1: 1 ns),
 * with IF=1 until the host says stop; then the timer is stopped and the
 * number of interrupts reported.  The host stays in charge: the period is
 * clamped (KVM: min_timer_period_us, 200 us).
 */
static void guest_timer_min_period(u64 arg)
{
	guest_set_handler(VEC_TIMER, handler_eoi);
	guest_xapic_enable();
	xapic_write(APIC_TDCR, APIC_TDCR_1);
	xapic_write(APIC_LVTT, VEC_TIMER | APIC_LVTT_PERIODIC);
	xapic_write(APIC_TMICT, 1);
	phase = 1;
	guest_sti();
	while (!go)
		guest_pause();
	guest_cli();
	xapic_write(APIC_TMICT, 0);
	guest_report(count[VEC_TIMER]);
}

/*
 * An interrupt storm: a level pin the host holds asserted is delivered
 * again at every EOI; after STORM_IRQS of them the handler masks the pin
 * (then no more come).  Reports 1 (assert it now), then the count.
 */
static u32 storm_pin;

static void handler_storm(struct guest_regs *regs)
{
	log_irq(regs->vector);
	if (count[regs->vector] == STORM_IRQS)
		ioapic_set_rte(storm_pin, ioapic_get_rte(storm_pin) |
			       IOAPIC_RTE_MASKED);
	xapic_eoi();
}

static void guest_ioapic_storm(u64 pin)
{
	storm_pin = pin;
	guest_set_handler(VEC_STORM, handler_storm);
	guest_xapic_enable();
	ioapic_set_rte(pin, VEC_STORM | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DEST(0));
	guest_report(1);
	wait_count(VEC_STORM, STORM_IRQS);
	guest_spin_tsc(1000000);
	guest_report(count[VEC_STORM]);
}

/* KVM_SIGNAL_MSI (report 1 = send it now). */
static void guest_msi(u64 arg)
{
	guest_set_handler(VEC_MSI, handler_eoi);
	guest_xapic_enable();
	guest_report(1);
	wait_count(VEC_MSI, 1);
	guest_report(count[VEC_MSI]);
}

/* ----------------------------------------------------------- host side */

FIXTURE(irqchip) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_SETUP(irqchip)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(irqchip)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

/* Skip (returning true) when the device lacks @cap. */
static bool skip_without(struct __test_metadata *_metadata, long cap,
			 const char *name)
{
	if (kvm_check_cap(cap))
		return false;
	SKIP(return true, "%s: no %s", test_device(), name);
}

#define NO_IRQCHIP() \
	skip_without(_metadata, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP")

/* A VM with the irqchip and vCPU 0 at @fn(@arg). */
static struct kvm_vm *c_guest(struct kvm_vcpu **vcpu, void (*fn)(u64),
			      u64 arg)
{
	struct kvm_vm *vm = vm_create_irqchip();

	*vcpu = vcpu_create(vm, 0);
	vcpu_setup_c(*vcpu, fn, arg);
	return vm;
}

#define EXPECT_REPORT(vcpu, value)	\
	run_report_within(_metadata, vcpu, value, RUN_TIMEOUT, __LINE__)
#define EXPECT_DONE(vcpu)		\
	run_done_within(_metadata, vcpu, RUN_TIMEOUT, __LINE__)

static u32 reg(const struct kvm_lapic_state *s, unsigned int off)
{
	u32 v;

	memcpy(&v, &s->regs[off], sizeof(v));
	return v;
}

static void set_reg(struct kvm_lapic_state *s, unsigned int off, u32 v)
{
	memcpy(&s->regs[off], &v, sizeof(v));
}

/*
 * KVM_CREATE_IRQCHIP: once per VM (-EEXIST after), and only before the
 * first vCPU (-EINVAL); the irqchip ioctls need it (-ENXIO).
 */
TEST_F(irqchip, create)
{
	struct kvm_irq_level line = { .irq = 4, .level = 1 };
	struct kvm_irqchip chip = { .chip_id = 0 };
	struct kvm_vm *vm;

	if (NO_IRQCHIP())
		return;
	vm = vm_create();
	EXPECT_EQ(-1, __vm_ioctl(vm, KVM_IRQ_LINE, &line));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, __vm_ioctl(vm, KVM_GET_IRQCHIP, &chip));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, __vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(-1, __vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, __vm_ioctl(vm, KVM_IRQ_LINE, &line));
	line.level = 0;
	EXPECT_EQ(0, __vm_ioctl(vm, KVM_IRQ_LINE, &line));
	EXPECT_EQ(0, __vm_ioctl(vm, KVM_GET_IRQCHIP, &chip));
	vm_free(vm);

	self->vm = vm_create();
	vcpu_create(self->vm, 0);
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * KVM_SET_VAPIC_ADDR: only with an in-kernel APIC (-EINVAL without); 0
 * (no vAPIC page, what QEMU sets at every APIC reset) is taken by both
 * devices.  hvx has no vAPIC page: it refuses an address, KVM takes one
 * inside a slot.
 */
TEST_F(irqchip, vapic_addr)
{
	struct kvm_vapic_addr va = { .vapic_addr = 0 };
	struct kvm_vcpu *vcpu;

	if (NO_IRQCHIP())
		return;
	self->vm = vm_create();
	vm_setup_memory(self->vm);
	vcpu = vcpu_create(self->vm, 0);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va));
	EXPECT_EQ(EINVAL, errno);
	vm_free(self->vm);

	self->vm = vm_create_irqchip();
	vcpu = vcpu_create(self->vm, 0);
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va));
	va.vapic_addr = GUEST_DATA;
	if (test_device_is_hvx()) {
		EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va));
		EXPECT_EQ(EINVAL, errno);
	} else {
		EXPECT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va));
	}
}

/*
 * KVM_GET/SET_IRQCHIP: the master and slave 8259 and the IOAPIC come back
 * as set; chip 3 does not exist.  The IOAPIC's pins start masked.
 */
TEST_F(irqchip, get_set_irqchip)
{
	struct kvm_irqchip chip, back;
	unsigned int i;

	if (NO_IRQCHIP())
		return;
	self->vm = vm_create();
	vm_ioctl(self->vm, KVM_CREATE_IRQCHIP, 0);

	for (i = 0; i < 2; i++) {
		struct kvm_pic_state *pic = &chip.chip.pic;

		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		vm_ioctl(self->vm, KVM_GET_IRQCHIP, &chip);
		EXPECT_EQ(i, (unsigned int)chip.chip_id);
		pic->imr = i ? 0xa5 : 0x5a;
		pic->irq_base = i ? 0x78 : 0x70;
		pic->priority_add = 3;
		pic->auto_eoi = 0;
		pic->special_fully_nested_mode = 0;
		pic->init4 = 1;
		pic->elcr = i ? 0x0c : 0x08;
		vm_ioctl(self->vm, KVM_SET_IRQCHIP, &chip);
		memset(&back, 0, sizeof(back));
		back.chip_id = i;
		vm_ioctl(self->vm, KVM_GET_IRQCHIP, &back);
		EXPECT_EQ(pic->imr, back.chip.pic.imr);
		EXPECT_EQ(pic->irq_base, back.chip.pic.irq_base);
		EXPECT_EQ(pic->priority_add, back.chip.pic.priority_add);
		EXPECT_EQ(pic->init4, back.chip.pic.init4);
		EXPECT_EQ(pic->elcr, back.chip.pic.elcr);
		EXPECT_EQ(0, memcmp(pic, &back.chip.pic, sizeof(*pic))) {
			TH_LOG("PIC %u state differs after KVM_SET_IRQCHIP", i);
		}
	}

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_ioctl(self->vm, KVM_GET_IRQCHIP, &chip);
	EXPECT_EQ(IOAPIC_DEFAULT_GPA, chip.chip.ioapic.base_address);
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		EXPECT_NE(0ULL, chip.chip.ioapic.redirtbl[i].bits &
			  IOAPIC_RTE_MASKED) TH_LOG("pin %u not masked", i);
	chip.chip.ioapic.id = 2;
	chip.chip.ioapic.redirtbl[3].bits = IOAPIC_RTE_MASKED | 0x41;
	chip.chip.ioapic.redirtbl[9].bits = IOAPIC_RTE_MASKED |
		IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOW_ACTIVE | 0x49 |
		IOAPIC_RTE_DEST(1);
	chip.chip.ioapic.redirtbl[23].bits = IOAPIC_RTE_MASKED |
		IOAPIC_RTE_LOGICAL | APIC_DM_LOWEST | 0x57 |
		IOAPIC_RTE_DEST(0x0f);
	vm_ioctl(self->vm, KVM_SET_IRQCHIP, &chip);
	memset(&back, 0, sizeof(back));
	back.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_ioctl(self->vm, KVM_GET_IRQCHIP, &back);
	EXPECT_EQ(2U, back.chip.ioapic.id);
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		EXPECT_EQ(chip.chip.ioapic.redirtbl[i].bits,
			  back.chip.ioapic.redirtbl[i].bits) TH_LOG("pin %u", i);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = 3;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_GET_IRQCHIP, &chip));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_SET_IRQCHIP, &chip));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * KVM_GET/SET_LAPIC: the reset state (APIC ID = vCPU ID, version 0x14,
 * spurious vector 0xff with the APIC software-disabled, LVTs masked but
 * the BSP's LINT0), then registers set come back and the guest sees them
 * (CR8 from the TPR).
 */
TEST_F(irqchip, get_set_lapic)
{
	struct kvm_lapic_state s, back;
	struct kvm_vcpu *ap;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_reports_cr8, 0);
	ap = vcpu_create(self->vm, 1);

	vcpu_ioctl(ap, KVM_GET_LAPIC, &s);
	EXPECT_EQ(1U << 24, reg(&s, APIC_ID));
	EXPECT_EQ(0x14U, reg(&s, APIC_LVR) & 0xff);
	EXPECT_LE(3U, reg(&s, APIC_LVR) >> 16 & 0xff);
	EXPECT_EQ(0xffU, reg(&s, APIC_SPIV));
	EXPECT_EQ(0U, reg(&s, APIC_TASKPRI));
	EXPECT_EQ(APIC_LVT_MASKED, reg(&s, APIC_LVTT) & APIC_LVT_MASKED);
	EXPECT_EQ(APIC_LVT_MASKED, reg(&s, APIC_LVT0) & APIC_LVT_MASKED);
	EXPECT_EQ(APIC_LVT_MASKED, reg(&s, APIC_LVT1) & APIC_LVT_MASKED);
	EXPECT_EQ(APIC_LVT_MASKED, reg(&s, APIC_LVTERR) & APIC_LVT_MASKED);
	EXPECT_EQ(MSR_IA32_APICBASE_ENABLE | APIC_DEFAULT_GPA,
		  vcpu_get_msr(ap, MSR_IA32_APICBASE));

	vcpu_ioctl(self->vcpu, KVM_GET_LAPIC, &s);
	EXPECT_EQ(0U, reg(&s, APIC_ID));
	EXPECT_EQ(MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_BSP |
		  APIC_DEFAULT_GPA, vcpu_get_msr(self->vcpu, MSR_IA32_APICBASE));
	TH_LOG("BSP LVT0 at reset: %#x", reg(&s, APIC_LVT0));
	set_reg(&s, APIC_TASKPRI, 0x40);
	set_reg(&s, APIC_SPIV, APIC_SPIV_ENABLED | 0xef);
	set_reg(&s, APIC_LVTT, APIC_LVTT_PERIODIC | 0x30);
	set_reg(&s, APIC_LVT0, APIC_LVT_MASKED | APIC_DM_EXTINT);
	set_reg(&s, APIC_LVTERR, 0x33);
	set_reg(&s, APIC_TDCR, APIC_TDCR_16);
	set_reg(&s, APIC_LDR, 0x03000000);
	vcpu_ioctl(self->vcpu, KVM_SET_LAPIC, &s);
	vcpu_ioctl(self->vcpu, KVM_GET_LAPIC, &back);
	EXPECT_EQ(0x40U, reg(&back, APIC_TASKPRI));
	EXPECT_EQ(APIC_SPIV_ENABLED | 0xef, reg(&back, APIC_SPIV));
	EXPECT_EQ(APIC_LVTT_PERIODIC | 0x30, reg(&back, APIC_LVTT));
	EXPECT_EQ(APIC_LVT_MASKED | APIC_DM_EXTINT, reg(&back, APIC_LVT0));
	EXPECT_EQ(0x33U, reg(&back, APIC_LVTERR));
	EXPECT_EQ((u32)APIC_TDCR_16, reg(&back, APIC_TDCR));
	EXPECT_EQ(0x03000000U, reg(&back, APIC_LDR));
	EXPECT_EQ(0U, reg(&back, APIC_ID));

	EXPECT_EQ(4U, EXPECT_REPORT(self->vcpu, -1));
	EXPECT_EQ(APIC_SPIV_ENABLED | 0xef, EXPECT_REPORT(self->vcpu, -1));
	EXPECT_EQ(0x33U, EXPECT_REPORT(self->vcpu, -1));
	EXPECT_DONE(self->vcpu);
}

/*
 * KVM_GET/SET_MP_STATE with an irqchip: the BSP starts RUNNABLE, an AP
 * UNINITIALIZED; HALTED and INIT_RECEIVED are accepted and read back; an
 * unknown state is refused and changes nothing.
 */
TEST_F(irqchip, mp_state)
{
	struct kvm_mp_state mp = { .mp_state = 0x1234 };
	struct kvm_vcpu *ap;

	if (NO_IRQCHIP())
		return;
	self->vm = vm_create_irqchip();
	self->vcpu = vcpu_create(self->vm, 0);
	ap = vcpu_create(self->vm, 1);
	EXPECT_EQ((u32)KVM_MP_STATE_RUNNABLE, vcpu_get_mp_state(self->vcpu));
	EXPECT_EQ((u32)KVM_MP_STATE_UNINITIALIZED, vcpu_get_mp_state(ap));
	vcpu_set_mp_state(self->vcpu, KVM_MP_STATE_HALTED);
	EXPECT_EQ((u32)KVM_MP_STATE_HALTED, vcpu_get_mp_state(self->vcpu));
	vcpu_set_mp_state(self->vcpu, KVM_MP_STATE_RUNNABLE);
	EXPECT_EQ((u32)KVM_MP_STATE_RUNNABLE, vcpu_get_mp_state(self->vcpu));
	vcpu_set_mp_state(ap, KVM_MP_STATE_INIT_RECEIVED);
	EXPECT_EQ((u32)KVM_MP_STATE_INIT_RECEIVED, vcpu_get_mp_state(ap));
	EXPECT_EQ(-1, __vcpu_ioctl(ap, KVM_SET_MP_STATE, &mp));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ((u32)KVM_MP_STATE_INIT_RECEIVED, vcpu_get_mp_state(ap));
}

/* The one-shot timer: once, not early (host-timed), not again. */
TEST_F(irqchip, timer_oneshot)
{
	double t0, dt;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_timer_oneshot, 0);
	EXPECT_REPORT(self->vcpu, 1);
	t0 = now_seconds();
	EXPECT_REPORT(self->vcpu, 2);
	dt = now_seconds() - t0;
	EXPECT_DONE(self->vcpu);
	EXPECT_EQ(1U, GUEST_VAR(self->vm, count[VEC_TIMER]));
	/* Twice the 20 ms (the interrupt, then as long again), 5 % slack. */
	EXPECT_LE(2 * 0.020 * 0.95, dt) TH_LOG("took %.4f s", dt);
	EXPECT_GT(5.0, dt) TH_LOG("took %.4f s", dt);
	TH_LOG("one-shot 20 ms timer and as long again: %.4f s", dt);
}

/* The periodic timer: 10 periods of 5 ms, reload, stopped by TMICT 0. */
TEST_F(irqchip, timer_periodic)
{
	double t0, dt;
	u32 n;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_timer_periodic, 0);
	EXPECT_REPORT(self->vcpu, 1);
	t0 = now_seconds();
	EXPECT_REPORT(self->vcpu, 2);
	dt = now_seconds() - t0;
	n = EXPECT_REPORT(self->vcpu, -1);
	EXPECT_DONE(self->vcpu);
	EXPECT_LE((u32)PERIODIC_TICKS, n);
	EXPECT_GE((u32)PERIODIC_TICKS + 1, n);
	EXPECT_LE(PERIODIC_TICKS * 0.005 * 0.95, dt) TH_LOG("took %.4f s", dt);
	EXPECT_GT(5.0, dt);
	TH_LOG("%d periods of 5 ms: %.4f s", PERIODIC_TICKS, dt);
}

/* TSC-deadline mode (CPUID.1:ECX[24], which the VMM sets). */
TEST_F(irqchip, tsc_deadline)
{
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;
	bool has;

	if (NO_IRQCHIP())
		return;
	cpuid = kvm_cpuid_copy();
	e = cpuid_find(cpuid, 1, 0);
	has = kvm_check_cap(KVM_CAP_TSC_DEADLINE_TIMER) ||
	      (e && (e->ecx & BIT(24)));
	if (!has || !e) {
		free(cpuid);
		SKIP(return, "%s: no TSC-deadline timer", test_device());
	}
	e->ecx |= BIT(24);
	self->vm = c_guest(&self->vcpu, guest_tsc_deadline, 10000000);
	vcpu_set_cpuid(self->vcpu, cpuid);
	free(cpuid);
	EXPECT_EQ(2U, EXPECT_REPORT(self->vcpu, -1));
	EXPECT_DONE(self->vcpu);
}

TEST_F(irqchip, self_ipi)
{
	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_self_ipi, 0);
	EXPECT_DONE(self->vcpu);
}

static bool wait_guest_u32(struct kvm_vm *vm, u32 *var, u32 value,
			   double seconds)
{
	double end = now_seconds() + seconds;

	while (READ_ONCE(*(u32 *)gpa_to_hva(vm, (uintptr_t)var)) != value) {
		if (now_seconds() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/*
 * An IOAPIC edge pin: KVM_IRQ_LINE pulses from this thread while the vCPU
 * thread is in KVM_RUN with the guest halted wake it; a pulse on the
 * masked pin is lost.
 */
TEST_F(irqchip, ioapic_edge)
{
	struct vcpu_thread t;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_ioapic_edge, PIN_EDGE);
	vcpu_thread_start(&t, self->vcpu);
	EXPECT_TRUE(wait_guest_u32(self->vm, &phase, 1, RUN_TIMEOUT));
	usleep(50000);
	vm_irq_line(self->vm, PIN_EDGE, 1);
	vm_irq_line(self->vm, PIN_EDGE, 0);
	EXPECT_TRUE(wait_guest_u32(self->vm, &phase, 2, RUN_TIMEOUT));
	vm_irq_line(self->vm, PIN_EDGE, 1);
	vm_irq_line(self->vm, PIN_EDGE, 0);
	GUEST_VAR(self->vm, go) = 1;
	EXPECT_EQ(0, vcpu_threads_join(&t, 1, RUN_TIMEOUT));
	EXPECT_EQ((int)UCALL_DONE, t.end) TH_LOG("%s", t.desc);
	EXPECT_EQ(1, t.nr_values);
	EXPECT_EQ(1U, t.values[0]);
	EXPECT_EQ(1U, GUEST_VAR(self->vm, count[VEC_EDGE]));
}

/* An IOAPIC level pin: remote IRR, re-delivery at EOI while asserted. */
TEST_F(irqchip, ioapic_level)
{
	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_ioapic_level, PIN_LEVEL);
	EXPECT_REPORT(self->vcpu, 1);
	vm_irq_line(self->vm, PIN_LEVEL, 1);
	EXPECT_REPORT(self->vcpu, 3);
	vm_irq_line(self->vm, PIN_LEVEL, 0);
	EXPECT_DONE(self->vcpu);
	EXPECT_EQ(3U, GUEST_VAR(self->vm, count[VEC_LEVEL]));
}

/*
 * HLT with an in-kernel APIC stays in KVM_RUN (no KVM_EXIT_HLT) until a
 * signal (EINTR, KVM_EXIT_INTR, mp_state HALTED, RIP past the HLT); an
 * interrupt then wakes it.
 */
TEST_F(irqchip, hlt_blocks)
{
	struct kvm_regs regs;
	double t0, dt;
	int r;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_hlt_wait, PIN_HLT);
	EXPECT_REPORT(self->vcpu, 1);
	t0 = now_seconds();
	r = vcpu_run_timeout(self->vcpu, 0.3);
	dt = now_seconds() - t0;
	ASSERT_EQ(-1, r) TH_LOG("KVM_RUN returned: %s", vcpu_guest_str(self->vcpu));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ((u32)KVM_EXIT_INTR, self->vcpu->run->exit_reason);
	EXPECT_LE(0.29, dt);
	EXPECT_EQ((u32)KVM_MP_STATE_HALTED, vcpu_get_mp_state(self->vcpu));
	vcpu_regs_get(self->vcpu, &regs);
	EXPECT_EQ(0xf4, ((u8 *)gpa_to_hva(self->vm, regs.rip))[-1])
		TH_LOG("rip %#llx is not past a HLT", regs.rip);

	vm_irq_line(self->vm, PIN_HLT, 1);
	vm_irq_line(self->vm, PIN_HLT, 0);
	EXPECT_REPORT(self->vcpu, 1);
	EXPECT_EQ((u32)KVM_MP_STATE_RUNNABLE, vcpu_get_mp_state(self->vcpu));
	EXPECT_DONE(self->vcpu);
}

TEST_F(irqchip, tpr)
{
	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_tpr, 0);
	EXPECT_DONE(self->vcpu);
}

/* The 8259 through LVT0 (ExtINT), driven by KVM_IRQ_LINE 0-15. */
TEST_F(irqchip, pic_extint)
{
	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_pic, 0);
	EXPECT_REPORT(self->vcpu, 1);
	vm_irq_line(self->vm, PIC_IRQ, 1);
	vm_irq_line(self->vm, PIC_IRQ, 0);
	EXPECT_REPORT(self->vcpu, 2);
	vm_irq_line(self->vm, PIC_IRQ, 1);
	EXPECT_REPORT(self->vcpu, 3);
	vm_irq_line(self->vm, PIC_IRQ, 0);
	EXPECT_REPORT(self->vcpu, 2);
	EXPECT_DONE(self->vcpu);
}

/*
 * A guest asking for a 1 ns periodic timer for half a second of host time:
 * it gets interrupts, but no more than the 200 us minimum period allows
 * (with slack for a coarse host clock), and the host keeps running (the
 * CI VM's kernel log is checked for lockups and stalls).
 */
TEST_F(irqchip, timer_min_period)
{
	struct vcpu_thread t;
	double t0, dt;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_timer_min_period, 0);
	vcpu_thread_start(&t, self->vcpu);
	ASSERT_TRUE(wait_guest_u32(self->vm, &phase, 1, RUN_TIMEOUT));
	t0 = now_seconds();
	usleep(500000);
	GUEST_VAR(self->vm, go) = 1;
	EXPECT_EQ(0, vcpu_threads_join(&t, 1, RUN_TIMEOUT));
	dt = now_seconds() - t0;
	ASSERT_EQ((int)UCALL_DONE, t.end) TH_LOG("%s", t.desc);
	ASSERT_EQ(1, t.nr_values);
	EXPECT_LT(0U, t.values[0]);
	EXPECT_GE(dt / MIN_PERIOD_S * 1.5 + 20, (double)t.values[0])
		TH_LOG("%u interrupts in %.3f s", t.values[0], dt);
	TH_LOG("%u timer interrupts in %.3f s (period asked: 1 ns)",
	       t.values[0], dt);
}

/*
 * An interrupt storm on an IOAPIC pin: a level line that stays asserted
 * comes back at each EOI, STORM_IRQS times, until the guest masks it;
 * then none.  Deasserted and unmasked by nobody, it stays quiet.
 */
TEST_F(irqchip, ioapic_storm)
{
	u32 n;

	if (NO_IRQCHIP())
		return;
	self->vm = c_guest(&self->vcpu, guest_ioapic_storm, PIN_STORM);
	EXPECT_REPORT(self->vcpu, 1);
	vm_irq_line(self->vm, PIN_STORM, 1);
	n = EXPECT_REPORT(self->vcpu, -1);
	EXPECT_EQ((u32)STORM_IRQS, n);
	vm_irq_line(self->vm, PIN_STORM, 0);
	EXPECT_DONE(self->vcpu);
}

/* KVM_SIGNAL_MSI: fixed, physical destination APIC ID 0. */
TEST_F(irqchip, signal_msi)
{
	struct kvm_msi msi = {
		.address_lo = APIC_DEFAULT_GPA | 0 << 12,
		.data = VEC_MSI,
	};
	int r;

	if (NO_IRQCHIP())
		return;
	if (skip_without(_metadata, KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"))
		return;
	self->vm = c_guest(&self->vcpu, guest_msi, 0);
	EXPECT_REPORT(self->vcpu, 1);
	r = __vm_ioctl(self->vm, KVM_SIGNAL_MSI, &msi);
	EXPECT_LT(0, r) TH_LOG("KVM_SIGNAL_MSI: %d (%s)", r, strerror(errno));
	EXPECT_REPORT(self->vcpu, 1);
	EXPECT_DONE(self->vcpu);

	/* To an APIC ID no vCPU has: nothing accepts it. */
	msi.address_lo = APIC_DEFAULT_GPA | 7 << 12;
	r = __vm_ioctl(self->vm, KVM_SIGNAL_MSI, &msi);
	TH_LOG("KVM_SIGNAL_MSI to APIC ID 7: %d (errno %d)", r, r < 0 ? errno : 0);
	EXPECT_GE(0, r);
	msi.flags = 0x80;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_SIGNAL_MSI, &msi));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
