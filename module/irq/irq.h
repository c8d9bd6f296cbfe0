/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx x86 platform: the in-kernel interrupt controllers (KVM_CREATE_IRQCHIP).
 *
 * A local APIC per vCPU (lapic*.c), and per VM a master/slave 8259 PIC pair
 * (pic.c), one 24-pin IOAPIC (ioapic.c), and the GSI routing that connects
 * them to interrupt sources (routing.c), made and driven from userspace by
 * the VM ioctls (irqchip.c: KVM_CREATE_IRQCHIP, KVM_IRQ_LINE,
 * KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_GET/SET_IRQCHIP).  None of it is
 * VT-x: the backend asks the local APIC for the interrupt to inject and
 * tells it what the guest did (CR8, APIC MSRs, EOI through MMIO) with the
 * calls below.
 *
 * Context rules: every function here may be called with preemption
 * disabled; the ones marked "irqs off" also with interrupts disabled.
 * None sleeps, except create/destroy and the ioctl entry points.
 */
#ifndef HVX_IRQ_IRQ_H
#define HVX_IRQ_IRQ_H

#include <linux/kvm.h>
#include <linux/types.h>

struct hvx_vm;
struct hvx_vcpu;

/* -------------------------------------------------------------- lapic*.c */

/* Delivery modes of the ICR, IOAPIC redirection entries and MSIs. */
#define HVX_APIC_DM_FIXED	0
#define HVX_APIC_DM_LOWEST	1
#define HVX_APIC_DM_SMI		2
#define HVX_APIC_DM_NMI		4
#define HVX_APIC_DM_INIT	5
#define HVX_APIC_DM_SIPI	6
#define HVX_APIC_DM_EXTINT	7

/* Destination shorthands (ICR bits 19:18). */
#define HVX_APIC_SH_NONE	0
#define HVX_APIC_SH_SELF	1
#define HVX_APIC_SH_ALL		2
#define HVX_APIC_SH_OTHERS	3

/**
 * struct hvx_apic_irq - one interrupt message to local APICs
 * @dest:	destination (an APIC ID, or a logical destination); in
 *		x2APIC mode 32 bits, else 8.  0xff (0xffffffff in x2APIC
 *		physical mode) is broadcast.
 * @vector:	the vector (for SIPI, the start page).
 * @delivery_mode: HVX_APIC_DM_*.
 * @dest_logical: logical destination mode.
 * @level:	assert (true) or deassert (INIT level de-assert).
 * @trig_level:	level-triggered (the target's TMR bit gets set, and its
 *		EOI is broadcast to the IOAPIC).
 * @shorthand:	HVX_APIC_SH_*.
 */
struct hvx_apic_irq {
	u32 dest;
	u8 vector;
	u8 delivery_mode;
	bool dest_logical;
	bool level;
	bool trig_level;
	u8 shorthand;
};

int hvx_lapic_create(struct hvx_vcpu *vcpu);	/* sets vcpu->lapic */
void hvx_lapic_destroy(struct hvx_vcpu *vcpu);	/* timer cancelled first */
/* Power-on reset (@init false) or INIT (@init true) of the APIC state. */
void hvx_lapic_reset(struct hvx_vcpu *vcpu, bool init);

/*
 * Delivers @irq from @src (NULL for the IOAPIC, MSIs, KVM_SIGNAL_MSI) to
 * the APICs it addresses: sets IRR (and TMR), or posts NMI/INIT/SIPI as a
 * vCPU request, and kicks each target.  Returns how many APICs accepted
 * it, or -1 when none was addressed.  irqs off.
 */
int hvx_lapic_deliver(struct hvx_vm *vm, struct hvx_vcpu *src,
		      const struct hvx_apic_irq *irq);

/*
 * LINT0 takes the PIC's interrupts (ExtINT): the APIC is hardware-disabled
 * or its LVT0 is unmasked ExtINT (SDM 11.5.1).  True without an APIC.
 */
bool hvx_lapic_accepts_extint(struct hvx_vcpu *vcpu);
/*
 * The interrupt the vCPU would take now if its RFLAGS.IF allowed it: the
 * PIC's (ExtINT, when LVT0 or a disabled APIC accepts it) or the highest
 * IRR vector above the processor priority.  irqs off; own vCPU thread.
 */
bool hvx_lapic_has_irq(struct hvx_vcpu *vcpu);
/* Takes it (INTA: IRR to ISR, or the PIC's acknowledge); -1 if none. */
int hvx_lapic_take_irq(struct hvx_vcpu *vcpu);

/*
 * Work the vCPU thread must do before the guest runs: a timer that expired
 * (its vector into IRR, the next period armed).  Called on HVX_REQ_EVENT,
 * irqs enabled, own vCPU thread.
 */
void hvx_lapic_sync(struct hvx_vcpu *vcpu);

/*
 * The guest TSC is the host TSC plus @offset (the VMCS TSC offset): the
 * backend says so whenever it sets the offset, for IA32_TSC_DEADLINE; an
 * armed deadline is re-armed.  Does nothing without an APIC.  Own thread.
 */
void hvx_lapic_set_tsc_offset(struct hvx_vcpu *vcpu, u64 offset);

/* CR8 is TPR[7:4]. */
u8 hvx_lapic_get_cr8(struct hvx_vcpu *vcpu);
void hvx_lapic_set_cr8(struct hvx_vcpu *vcpu, u8 cr8);

/*
 * The APIC's MSRs: IA32_APIC_BASE, the x2APIC range 0x800-0x8ff and
 * IA32_TSC_DEADLINE.  Returns 0, 1 to raise #GP in the guest (or, from
 * the host, to fail KVM_SET_MSRS), or -ENOENT for an MSR not the APIC's.
 */
int hvx_lapic_get_msr(struct hvx_vcpu *vcpu, u32 msr, u64 *data, bool host);
int hvx_lapic_set_msr(struct hvx_vcpu *vcpu, u32 msr, u64 data, bool host);

/*
 * A guest access to the xAPIC page (at the vCPU's APIC base, while the
 * APIC is enabled in xAPIC mode).  Returns 0 when handled, -ENODEV when
 * @gpa is not the vCPU's APIC page.
 */
int hvx_lapic_mmio(struct hvx_vcpu *vcpu, u64 gpa, unsigned int len,
		   void *data, bool write);

/* KVM_GET_LAPIC / KVM_SET_LAPIC (the 1 KiB register page, KVM's layout). */
int hvx_lapic_get_state(struct hvx_vcpu *vcpu, struct kvm_lapic_state *s);
int hvx_lapic_set_state(struct hvx_vcpu *vcpu, const struct kvm_lapic_state *s);

/* --------------------------------------------------------------- pic.c */

struct hvx_pic;
struct hvx_pic *hvx_pic_create(struct hvx_vm *vm);	/* PIO bus devices */
void hvx_pic_destroy(struct hvx_pic *pic);
bool hvx_pic_has_irq(struct hvx_pic *pic);	/* INTR asserted; irqs off */
int hvx_pic_take_irq(struct hvx_pic *pic);	/* INTA: the vector; irqs off */
int hvx_pic_get(struct hvx_pic *pic, unsigned int chip,
		struct kvm_pic_state *s);
int hvx_pic_set(struct hvx_pic *pic, unsigned int chip,
		const struct kvm_pic_state *s);

/* ------------------------------------------------------------- ioapic.c */

struct hvx_ioapic;
struct hvx_ioapic *hvx_ioapic_create(struct hvx_vm *vm); /* MMIO bus device */
void hvx_ioapic_destroy(struct hvx_ioapic *ioapic);
/* A local APIC's EOI of level-triggered @vector (EOI broadcast); irqs off. */
void hvx_ioapic_eoi(struct hvx_vm *vm, u8 vector);
int hvx_ioapic_get(struct hvx_ioapic *ioapic, struct kvm_ioapic_state *s);
int hvx_ioapic_set(struct hvx_ioapic *ioapic, const struct kvm_ioapic_state *s);

/* ------------------------------------------------ irqchip.c, routing.c */

/**
 * struct hvx_irqchip - a VM's in-kernel interrupt controllers
 * @pic:	the 8259 pair; NULL when @split.
 * @ioapic:	the IOAPIC; NULL when @split.
 * @routing:	the GSI routing table (RCU; private to irqchip.c and
 *		routing.c).
 * @split:	KVM_CAP_SPLIT_IRQCHIP: only the local APICs are in the
 *		kernel; the VMM has the PIC and the IOAPIC, routes only
 *		MSIs, and takes the EOIs of level-triggered interrupts
 *		(KVM_EXIT_IOAPIC_EOI).
 */
struct hvx_irqchip {
	struct hvx_pic *pic;
	struct hvx_ioapic *ioapic;
	void __rcu *routing;
	bool split;
};

/*
 * KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) with @nr_ioapic_pins (args[0]):
 * local APICs for the vCPUs to come, no PIC or IOAPIC.  -EEXIST with an
 * irqchip or a vCPU (as KVM), -EINVAL with more pins than routes.
 */
int hvx_irqchip_enable_split(struct hvx_vm *vm, u64 nr_ioapic_pins);
/* True for a split irqchip: the VMM's PIC may use KVM_INTERRUPT. */
bool hvx_irqchip_split(struct hvx_vm *vm);
/*
 * The local APIC of @vcpu ended a level-triggered interrupt: to the
 * IOAPIC, or with a split irqchip to the VMM's (a KVM_EXIT_IOAPIC_EOI
 * before the vCPU runs on).  The vCPU's own thread; irqs off.
 */
void hvx_irqchip_eoi(struct hvx_vcpu *vcpu, u8 vector);

/*
 * The VM ioctls of the interrupt controllers: KVM_CREATE_IRQCHIP,
 * KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_GET_IRQCHIP, KVM_SET_IRQCHIP,
 * KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI.  Returns -ENOTTY for any other.
 */
long hvx_irqchip_ioctl(struct hvx_vm *vm, unsigned int ioctl,
		       void __user *argp);
void hvx_irqchip_destroy(struct hvx_vm *vm);	/* VM teardown, no vCPUs */

/*
 * Sets GSI @gsi to @level through the routing table (every route of it:
 * PIC pin, IOAPIC pin, MSI).  Returns as KVM_IRQ_LINE_STATUS: > 0
 * delivered, 0 coalesced, -1 when the GSI has no route or every route
 * ignored it.  Any context (irqfd calls it from an eventfd wakeup).
 */
int hvx_irq_set(struct hvx_vm *vm, u32 gsi, int level);
/* KVM_SIGNAL_MSI and MSI routes: an MSI message to the local APICs. */
int hvx_irq_msi(struct hvx_vm *vm, u32 address_lo, u32 address_hi, u32 data);

#endif /* HVX_IRQ_IRQ_H */
