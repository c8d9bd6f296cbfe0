// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the local APIC, one per vCPU (KVM_CREATE_IRQCHIP):
 * processor priority, acceptance of interrupt messages, the vCPU's side
 * (which interrupt it takes, CR8) and the APIC's life (reset, create,
 * KVM_GET/SET_LAPIC).  The register page, the ownership rules and the
 * other lapic files: lapic.h.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/lapic.h"

/*
 * Version register: an integrated APIC (0x14, as KVM) with six LVT
 * entries (no CMCI), and no EOI-broadcast suppression (the in-kernel
 * IOAPIC has no EOI register).
 */
#define LAPIC_VERSION		(0x14 | ((LAPIC_NR_LVT - 1) << 16))
#define LAPIC_LVT_EXTINT	(HVX_APIC_DM_EXTINT << 8)

static_assert(KVM_APIC_REG_SIZE <= PAGE_SIZE);

/* ------------------------------------------------------------- priority */

/*
 * PPR (SDM 11.8.3.1): TPR when its priority class is at least that of
 * the highest in-service vector, else that class with sub-class 0.
 */
static u32 lapic_ppr(struct hvx_lapic *apic)
{
	u32 tpr = lapic_get(apic, APIC_TASKPRI) & 0xff;
	int isr = lapic_highest(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr;

	if ((tpr & 0xf0) >= (isrv & 0xf0))
		return tpr;
	return isrv & 0xf0;
}

u32 lapic_update_ppr(struct hvx_lapic *apic)
{
	u32 ppr = lapic_ppr(apic);

	lapic_set(apic, APIC_PROCPRI, ppr);
	return ppr;
}

/* The highest IRR vector whose class is above the PPR's, or -1. */
static int lapic_pending_vector(struct hvx_lapic *apic)
{
	int irr;

	if (!lapic_hw_enabled(apic))
		return -1;
	irr = lapic_highest(apic, APIC_IRR);
	if (irr < 0 || (u32)(irr & 0xf0) <= lapic_ppr(apic))
		return -1;
	return irr;
}

/* ---------------------------------------------------------- acceptance */

/*
 * One APIC accepts an interrupt message (SDM 11.6.1, KVM's
 * __apic_accept_irq): returns 1 if it did, else 0.  Any CPU.
 */
int lapic_accept(struct hvx_lapic *apic, u8 mode, u8 vector, bool level,
		 bool trig_level)
{
	struct hvx_vcpu *vcpu = apic->vcpu;

	switch (mode) {
	case HVX_APIC_DM_FIXED:
	case HVX_APIC_DM_LOWEST:
		/* A level-triggered de-assert carries no interrupt. */
		if (trig_level && !level)
			return 0;
		if (!lapic_enabled(apic))
			return 0;
		/* The TMR bit before the IRR bit: the owner reads them so. */
		if (lapic_test_vec(apic, APIC_TMR, vector) != trig_level) {
			if (trig_level)
				set_bit(vector & 31,
					lapic_vec_word(apic, APIC_TMR, vector));
			else
				clear_bit(vector & 31,
					  lapic_vec_word(apic, APIC_TMR, vector));
		}
		set_bit(vector & 31, lapic_vec_word(apic, APIC_IRR, vector));
		hvx_vcpu_request(vcpu, HVX_REQ_EVENT);
		return 1;
	case HVX_APIC_DM_NMI:
		atomic_inc(&vcpu->nmi_queued);
		hvx_vcpu_request(vcpu, HVX_REQ_NMI);
		return 1;
	case HVX_APIC_DM_INIT:
		/* INIT level de-assert: ignored, as by P4 and later CPUs. */
		if (trig_level && !level)
			return 0;
		hvx_vcpu_request(vcpu, HVX_REQ_INIT);
		return 1;
	case HVX_APIC_DM_SIPI:
		WRITE_ONCE(vcpu->sipi_vector, vector);
		/* The vector before the request that makes the vCPU read it. */
		smp_wmb();
		hvx_vcpu_request(vcpu, HVX_REQ_SIPI);
		return 1;
	default:
		/*
		 * SMI (no SMM), ExtINT (the PIC's, taken through LVT0, see
		 * lapic_pic()) and the reserved modes are not accepted.
		 */
		return 0;
	}
}

/* An LVT entry fires (SDM 11.5.1): the timer, or LINT0/LINT1. */
void lapic_local_deliver(struct hvx_lapic *apic, unsigned int lvt)
{
	u32 val = lapic_get(apic, lvt);

	if (!lapic_hw_enabled(apic) || (val & APIC_LVT_MASKED))
		return;
	lapic_accept(apic, (val & APIC_MODE_MASK) >> 8, val & APIC_VECTOR_MASK,
		     true, val & APIC_LVT_LEVEL_TRIGGER);
}

/* ------------------------------------------------- interrupt acceptance */

/*
 * The PIC, when this vCPU takes its interrupts: the BSP (vCPU 0) whose
 * APIC is hardware-disabled or whose LINT0 is unmasked ExtINT (SDM
 * 11.5.1, virtual-wire mode).
 */
static bool lapic_accepts_extint(struct hvx_lapic *apic)
{
	u32 lvt0 = lapic_get(apic, APIC_LVT0);

	return !lapic_hw_enabled(apic) ||
	       (!(lvt0 & APIC_LVT_MASKED) &&
		(lvt0 & APIC_MODE_MASK) == LAPIC_LVT_EXTINT);
}

bool hvx_lapic_accepts_extint(struct hvx_vcpu *vcpu)
{
	return !vcpu->lapic || lapic_accepts_extint(vcpu->lapic);
}

static struct hvx_pic *lapic_pic(struct hvx_lapic *apic)
{
	struct hvx_irqchip *chip = apic->vcpu->vm->irqchip;

	if (apic->vcpu->id != 0 || !chip || !lapic_accepts_extint(apic))
		return NULL;
	return READ_ONCE(chip->pic);
}

/**
 * hvx_lapic_has_irq() - whether an interrupt waits for RFLAGS.IF
 * @vcpu: the vCPU (own thread, irqs off).
 *
 * Return: true if the PIC's output reaches the vCPU and is asserted, or
 * an IRR vector is above the processor priority.
 */
bool hvx_lapic_has_irq(struct hvx_vcpu *vcpu)
{
	struct hvx_lapic *apic = vcpu->lapic;
	struct hvx_pic *pic;

	if (!apic)
		return false;
	pic = lapic_pic(apic);
	if (pic && hvx_pic_has_irq(pic))
		return true;
	return lapic_pending_vector(apic) >= 0;
}

/**
 * hvx_lapic_take_irq() - acknowledge the interrupt (INTA)
 * @vcpu: the vCPU (own thread, irqs off).
 *
 * The PIC's interrupt first (as KVM), else the highest IRR vector above
 * the PPR moves to ISR (SDM 11.8.4).
 *
 * Return: the vector, or -1 if none is deliverable.
 */
int hvx_lapic_take_irq(struct hvx_vcpu *vcpu)
{
	struct hvx_lapic *apic = vcpu->lapic;
	struct hvx_pic *pic;
	unsigned int reg;
	int vec;

	if (!apic)
		return -1;
	pic = lapic_pic(apic);
	if (pic && hvx_pic_has_irq(pic)) {
		vec = hvx_pic_take_irq(pic);
		if (vec >= 0)
			return vec;
	}
	vec = lapic_pending_vector(apic);
	if (vec < 0)
		return -1;
	clear_bit(vec & 31, lapic_vec_word(apic, APIC_IRR, vec));
	reg = APIC_ISR + ((vec >> 5) << 4);
	lapic_set(apic, reg, lapic_get(apic, reg) | BIT(vec & 31));
	lapic_update_ppr(apic);
	return vec;
}

/**
 * hvx_lapic_sync() - deliver what the timer did while the vCPU was away
 * @vcpu: the vCPU (own thread).
 */
void hvx_lapic_sync(struct hvx_vcpu *vcpu)
{
	struct hvx_lapic *apic = vcpu->lapic;

	if (apic && atomic_xchg(&apic->timer_pending, 0))
		lapic_timer_expired(apic);
}

/**
 * hvx_lapic_get_cr8() - CR8, the task priority class
 * @vcpu: the vCPU.
 *
 * Return: TPR[7:4].
 */
u8 hvx_lapic_get_cr8(struct hvx_vcpu *vcpu)
{
	return vcpu->lapic ? (lapic_get(vcpu->lapic, APIC_TASKPRI) >> 4) & 0xf
			   : 0;
}

/**
 * hvx_lapic_set_cr8() - MOV to CR8
 * @vcpu: the vCPU.
 * @cr8: the value (bits 3:0).
 *
 * TPR[7:4] = CR8[3:0], TPR[3:0] = 0 (SDM 11.8.6.1).
 */
void hvx_lapic_set_cr8(struct hvx_vcpu *vcpu, u8 cr8)
{
	struct hvx_lapic *apic = vcpu->lapic;

	if (!apic)
		return;
	lapic_set(apic, APIC_TASKPRI, (cr8 & 0xf) << 4);
	lapic_update_ppr(apic);
}

/**
 * hvx_lapic_set_tsc_offset() - the guest TSC's offset from the host's
 * @vcpu: the vCPU.
 * @offset: guest TSC minus host TSC.
 */
void hvx_lapic_set_tsc_offset(struct hvx_vcpu *vcpu, u64 offset)
{
	struct hvx_lapic *apic = vcpu->lapic;

	if (!apic)
		return;
	WRITE_ONCE(apic->tsc_offset, offset);
	/* Only an armed timer: one that fired waits in timer_pending. */
	if (apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE &&
	    hrtimer_cancel(&apic->timer))
		lapic_timer_start_deadline(apic);
}

/* ---------------------------------------------------------------- state */

static void lapic_do_reset(struct hvx_lapic *apic, bool init)
{
	struct hvx_vcpu *vcpu = apic->vcpu;
	int i;

	lapic_timer_stop(apic);
	if (!init) {
		lapic_set_base(apic, APIC_DEFAULT_PHYS_BASE |
			       MSR_IA32_APICBASE_ENABLE |
			       (vcpu->id ? 0 : MSR_IA32_APICBASE_BSP), true);
		/* At RESET even when the APIC was enabled before. */
		lapic_set(apic, APIC_ID, vcpu->id << 24);
	}
	lapic_set(apic, APIC_LVR, LAPIC_VERSION);
	for (i = 0; i < LAPIC_NR_LVT; i++)
		lapic_set(apic, LAPIC_LVT(i), APIC_LVT_MASKED);
	/*
	 * The BSP's LINT0 comes up as unmasked ExtINT, so that a guest that
	 * never programs its APIC gets the PIC's interrupts (KVM's default
	 * KVM_X86_QUIRK_LINT0_REENABLED).
	 */
	if (vcpu->id == 0)
		lapic_set(apic, APIC_LVT0, LAPIC_LVT_EXTINT);
	lapic_set(apic, APIC_DFR, APIC_DFR_FLAT);
	lapic_set(apic, APIC_SPIV, 0xff);
	lapic_set(apic, APIC_TASKPRI, 0);
	if (!lapic_x2apic(apic))
		lapic_set(apic, APIC_LDR, 0);
	lapic_set(apic, APIC_ESR, 0);
	lapic_set(apic, APIC_ICR, 0);
	lapic_set(apic, APIC_ICR2, 0);
	lapic_set(apic, APIC_TDCR, 0);
	lapic_set(apic, APIC_TMICT, 0);
	lapic_set(apic, APIC_TMCCT, 0);
	for (i = 0; i < 8; i++) {
		lapic_set(apic, APIC_IRR + 0x10 * i, 0);
		lapic_set(apic, APIC_ISR + 0x10 * i, 0);
		lapic_set(apic, APIC_TMR + 0x10 * i, 0);
	}
	apic->timer_mode = 0;
	lapic_update_divide(apic);
	lapic_update_ppr(apic);
}

/**
 * hvx_lapic_reset() - the APIC state after RESET or INIT
 * @vcpu: the vCPU.
 * @init: INIT (keeps IA32_APIC_BASE, the APIC ID and, in x2APIC mode, the
 *	LDR), else power-on reset (SDM 11.4.7.3).
 */
void hvx_lapic_reset(struct hvx_vcpu *vcpu, bool init)
{
	if (vcpu->lapic)
		lapic_do_reset(vcpu->lapic, init);
}

/**
 * hvx_lapic_create() - give a vCPU its local APIC
 * @vcpu: the vCPU, not yet visible to other vCPUs.
 *
 * Return: 0, or -ENOMEM.
 */
int hvx_lapic_create(struct hvx_vcpu *vcpu)
{
	struct hvx_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fn;
	lapic_do_reset(apic, false);
	/* Published whole: senders find it through vcpu->lapic. */
	smp_store_release(&vcpu->lapic, apic);
	return 0;
}

/**
 * hvx_lapic_destroy() - free a vCPU's local APIC
 * @vcpu: the vCPU; no other vCPU delivers to it any more.
 */
void hvx_lapic_destroy(struct hvx_vcpu *vcpu)
{
	struct hvx_lapic *apic = vcpu->lapic;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	vcpu->lapic = NULL;
	free_page((unsigned long)apic->regs);
	kfree(apic);
}

/**
 * hvx_lapic_get_state() - KVM_GET_LAPIC
 * @vcpu: the vCPU.
 * @s: the register page to fill.
 *
 * As KVM without KVM_CAP_X2APIC_API: in x2APIC mode the ID register holds
 * the x2APIC ID shifted as an xAPIC ID.  TMCCT is the current count.
 *
 * Return: 0, or -ENXIO without a local APIC.
 */
int hvx_lapic_get_state(struct hvx_vcpu *vcpu, struct kvm_lapic_state *s)
{
	struct hvx_lapic *apic = vcpu->lapic;
	u32 *id = (u32 *)(s->regs + APIC_ID);
	u32 *tmcct = (u32 *)(s->regs + APIC_TMCCT);

	if (!apic)
		return -ENXIO;
	memcpy(s->regs, apic->regs, sizeof(s->regs));
	if (lapic_x2apic(apic))
		*id <<= 24;
	*tmcct = lapic_tmcct(apic);
	return 0;
}

/**
 * hvx_lapic_set_state() - KVM_SET_LAPIC
 * @vcpu: the vCPU.
 * @s: the register page.
 *
 * As KVM: the page is taken as it is (IA32_APIC_BASE, set through the
 * MSR, decides the mode), except the version, PPR and, in x2APIC mode,
 * the ID (from the xAPIC-format ID register) and the LDR (from that ID).
 * The timer restarts from the restored registers, its first period from
 * TMCCT; a one-shot count restored at 0 stays expired.
 *
 * Return: 0, or -ENXIO without a local APIC.
 */
int hvx_lapic_set_state(struct hvx_vcpu *vcpu, const struct kvm_lapic_state *s)
{
	struct hvx_lapic *apic = vcpu->lapic;
	u32 tmcct, id, mode;

	if (!apic)
		return -ENXIO;
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
	memcpy(apic->regs, s->regs, sizeof(s->regs));
	if (lapic_x2apic(apic)) {
		id = lapic_get(apic, APIC_ID) >> 24;
		lapic_set(apic, APIC_ID, id);
		lapic_set(apic, APIC_LDR, lapic_x2apic_ldr(id));
	}
	lapic_set(apic, APIC_LVR, LAPIC_VERSION);
	lapic_update_ppr(apic);
	lapic_update_divide(apic);

	/* A deadline survives only a restore that stays in TSC-deadline mode. */
	mode = lapic_lvtt_mode(apic);
	if (mode != APIC_LVT_TIMER_TSCDEADLINE ||
	    apic->timer_mode != APIC_LVT_TIMER_TSCDEADLINE)
		apic->deadline = 0;
	apic->timer_mode = mode;
	apic->counting = false;
	apic->period_ns = 0;
	tmcct = lapic_get(apic, APIC_TMCCT);
	lapic_set(apic, APIC_TMCCT, 0);
	if (mode == APIC_LVT_TIMER_TSCDEADLINE)
		lapic_timer_start_deadline(apic);
	else if (tmcct || mode == APIC_LVT_TIMER_PERIODIC)
		lapic_timer_start_count(apic, tmcct);
	else
		apic->period_ns = lapic_period_ns(apic);
	return 0;
}
