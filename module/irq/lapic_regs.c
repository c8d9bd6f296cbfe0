// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the local APIC's register interface: reads and
 * writes of the registers (SDM Vol. 3A, Table 11-1) through the xAPIC MMIO
 * page and the x2APIC MSRs, and IA32_APIC_BASE.  The vCPU's own thread.
 */
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/lapic.h"

/* x2APIC ICR bits that must be zero (KVM's X2APIC_ICR_RESERVED_BITS). */
#define LAPIC_X2APIC_ICR_RSVD	(GENMASK_ULL(31, 20) | GENMASK_ULL(17, 16) | \
				 BIT_ULL(13))

/* Writable bits of the LVT entries (SDM Figure 11-8), by index. */
#define LAPIC_LVT_BASIC		(APIC_LVT_MASKED | APIC_SEND_PENDING | \
				 APIC_VECTOR_MASK)
#define LAPIC_LVT_LINT		(LAPIC_LVT_BASIC | APIC_MODE_MASK | \
				 APIC_INPUT_POLARITY | APIC_LVT_REMOTE_IRR | \
				 APIC_LVT_LEVEL_TRIGGER)
static const u32 lapic_lvt_mask[LAPIC_NR_LVT] = {
	LAPIC_LVT_BASIC | LAPIC_TIMER_MODE_MASK,	/* timer */
	LAPIC_LVT_BASIC | APIC_MODE_MASK,		/* thermal */
	LAPIC_LVT_BASIC | APIC_MODE_MASK,		/* performance */
	LAPIC_LVT_LINT,					/* LINT0 */
	LAPIC_LVT_LINT,					/* LINT1 */
	LAPIC_LVT_BASIC,				/* error */
};

/* EOI (SDM 11.8.5): the highest in-service vector is done. */
static void lapic_eoi(struct hvx_lapic *apic)
{
	int vec = lapic_highest(apic, APIC_ISR);
	unsigned int reg;

	if (vec < 0)
		return;
	reg = APIC_ISR + ((vec >> 5) << 4);
	lapic_set(apic, reg, lapic_get(apic, reg) & ~BIT(vec & 31));
	lapic_update_ppr(apic);
	if (lapic_test_vec(apic, APIC_TMR, vec))
		hvx_irqchip_eoi(apic->vcpu, vec);
}

/* Registers readable in the current mode (KVM's readable mask). */
static bool lapic_readable(struct hvx_lapic *apic, unsigned int reg)
{
	switch (reg) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	case APIC_ARBPRI:
	case APIC_DFR:
	case APIC_ICR2:
		return !lapic_x2apic(apic);
	}
	/* ISR, TMR and IRR: 0x100-0x270. */
	return reg >= APIC_ISR && reg < APIC_IRR + 0x80 && !(reg & 0xf);
}

/*
 * Reads @len bytes at @offset within a 32-bit register.  Returns 1 (and
 * fills nothing) for an access that crosses the register or a register
 * that cannot be read, as KVM.
 */
static int lapic_reg_read(struct hvx_lapic *apic, unsigned int offset,
			  unsigned int len, void *data)
{
	unsigned int reg = offset & ~0xfU, align = offset & 0xf;
	u32 val;

	if (align + len > 4 || offset > 0x3f0 || !lapic_readable(apic, reg))
		return 1;
	switch (reg) {
	case APIC_ARBPRI:
		val = 0;
		break;
	case APIC_TMCCT:
		val = lapic_tmcct(apic);
		break;
	case APIC_PROCPRI:
		val = lapic_update_ppr(apic);
		break;
	default:
		val = lapic_get(apic, reg);
		break;
	}
	if (len == 1 || len == 2 || len == 4)
		memcpy(data, (u8 *)&val + align, len);
	return 0;
}

static void lapic_write_svr(struct hvx_lapic *apic, u32 val)
{
	int i;

	/* Vector, APIC enable, focus-processor checking; no EOI suppression. */
	lapic_set(apic, APIC_SPIV, val & 0x3ff);
	if (val & APIC_SPIV_APIC_ENABLED)
		return;
	/* Software disable masks every LVT entry (SDM 11.4.7.2). */
	for (i = 0; i < LAPIC_NR_LVT; i++)
		lapic_set(apic, LAPIC_LVT(i),
			  lapic_get(apic, LAPIC_LVT(i)) | APIC_LVT_MASKED);
	lapic_update_lvtt(apic);
	atomic_set(&apic->timer_pending, 0);
}

/*
 * Writes register @reg (16-byte aligned).  Returns 1 for a register that
 * cannot be written in this mode or a reserved value where KVM refuses
 * one (#GP for x2APIC MSRs; xAPIC MMIO writes just drop), else 0.
 */
static int lapic_reg_write(struct hvx_lapic *apic, unsigned int reg, u32 val)
{
	bool x2apic = lapic_x2apic(apic);
	u32 old_divide;

	switch (reg) {
	case APIC_ID:
		if (x2apic)
			return 1;
		lapic_set(apic, APIC_ID, val & (0xffU << 24));
		return 0;
	case APIC_TASKPRI:
		lapic_set(apic, APIC_TASKPRI, val & 0xff);
		lapic_update_ppr(apic);
		return 0;
	case APIC_EOI:
		lapic_eoi(apic);
		return 0;
	case APIC_LDR:
		if (x2apic)
			return 1;
		lapic_set(apic, APIC_LDR, val & APIC_LDR_MASK);
		return 0;
	case APIC_DFR:
		if (x2apic)
			return 1;
		/* Only the model (bits 31:28) is writable. */
		lapic_set(apic, APIC_DFR, val | 0x0fffffff);
		return 0;
	case APIC_SPIV:
		lapic_write_svr(apic, val);
		return 0;
	case APIC_ICR:
		/* xAPIC only: the x2APIC ICR is one 64-bit MSR. */
		val &= ~APIC_ICR_BUSY;
		lapic_send_ipi(apic, val, lapic_get(apic, APIC_ICR2));
		lapic_set(apic, APIC_ICR, val);
		return 0;
	case APIC_ICR2:
		if (x2apic)
			return 1;
		lapic_set(apic, APIC_ICR2, val & (0xffU << 24));
		return 0;
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
		if (!lapic_sw_enabled(apic))
			val |= APIC_LVT_MASKED;
		lapic_set(apic, reg, val & lapic_lvt_mask[(reg - APIC_LVTT) >> 4]);
		if (reg == APIC_LVTT)
			lapic_update_lvtt(apic);
		return 0;
	case APIC_TMICT:
		/* Ignored in TSC-deadline mode (SDM 11.5.4.1). */
		if (apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE)
			return 0;
		lapic_timer_cancel(apic);
		lapic_set(apic, APIC_TMICT, val);
		lapic_timer_start_count(apic, 0);
		return 0;
	case APIC_TDCR:
		old_divide = apic->divide;
		lapic_set(apic, APIC_TDCR, val & 0xb);
		lapic_update_divide(apic);
		if (apic->divide != old_divide && apic->counting)
			lapic_rescale_count(apic, old_divide);
		return 0;
	case APIC_ESR:
		/*
		 * hvx detects no APIC errors (as KVM): ESR stays 0, and the
		 * write that would latch new errors has none to latch.
		 */
		return x2apic && val;
	case APIC_SELF_IPI:
		if (!x2apic || (val & ~APIC_VECTOR_MASK))
			return 1;
		lapic_send_ipi(apic, (HVX_APIC_SH_SELF << 18) | val, 0);
		return 0;
	default:
		/* Read-only, reserved, or LVT CMCI (not implemented). */
		return 1;
	}
}

/* ---------------------------------------------------------------- MSRs */

/*
 * IA32_APIC_BASE (SDM 11.4.4, 11.12.5): disabled, xAPIC and x2APIC, with
 * the guest's transitions as SDM Figure 11-27 allows them.
 */
int lapic_set_base(struct hvx_lapic *apic, u64 val, bool host)
{
	u64 rsvd = (~0ULL << boot_cpu_data.x86_phys_bits) | 0x2ff;
	u64 old = apic->base;
	struct hvx_vcpu *vcpu = apic->vcpu;

	if ((val & rsvd) ||
	    (val & (MSR_IA32_APICBASE_ENABLE | X2APIC_ENABLE)) == X2APIC_ENABLE)
		return 1;
	if (!host) {
		/* x2APIC to xAPIC, and disabled to x2APIC, go through a step. */
		if ((old & X2APIC_ENABLE) && !(val & X2APIC_ENABLE) &&
		    (val & MSR_IA32_APICBASE_ENABLE))
			return 1;
		if (!(old & MSR_IA32_APICBASE_ENABLE) && (val & X2APIC_ENABLE))
			return 1;
		/* The BSP flag is the platform's to set. */
		if ((old ^ val) & MSR_IA32_APICBASE_BSP)
			return 1;
	}
	WRITE_ONCE(apic->base, val);
	if (((old ^ val) & MSR_IA32_APICBASE_ENABLE) &&
	    (val & MSR_IA32_APICBASE_ENABLE))
		lapic_set(apic, APIC_ID, vcpu->id << 24);
	if (((old ^ val) & X2APIC_ENABLE) && (val & X2APIC_ENABLE)) {
		lapic_set(apic, APIC_ID, vcpu->id);
		lapic_set(apic, APIC_LDR, lapic_x2apic_ldr(vcpu->id));
	}
	return 0;
}

/*
 * The register behind x2APIC MSR @msr: 0 with *@reg set, -ENOENT for an
 * MSR outside the x2APIC range, 1 (#GP) when the APIC is not in x2APIC
 * mode.
 */
static int lapic_x2apic_reg(struct hvx_lapic *apic, u32 msr,
			    unsigned int *reg)
{
	if (msr < APIC_BASE_MSR || msr > APIC_BASE_MSR + 0xff)
		return -ENOENT;
	if (!lapic_x2apic(apic))
		return 1;
	*reg = (msr - APIC_BASE_MSR) << 4;
	return 0;
}

/**
 * hvx_lapic_get_msr() - read one of the APIC's MSRs
 * @vcpu: the vCPU.
 * @msr: the MSR.
 * @data: its value.
 * @host: the VMM reads it (KVM_GET_MSRS).
 *
 * Return: 0, 1 for #GP (x2APIC register not readable, or not in x2APIC
 * mode), -ENOENT for an MSR not the APIC's.
 */
int hvx_lapic_get_msr(struct hvx_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct hvx_lapic *apic = vcpu->lapic;
	unsigned int reg;
	u32 low = 0;
	int r;

	if (!apic)
		return -ENOENT;
	if (msr == MSR_IA32_APICBASE) {
		*data = apic->base;
		return 0;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		*data = lapic_hw_enabled(apic) &&
			apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE ?
			apic->deadline : 0;
		return 0;
	}
	r = lapic_x2apic_reg(apic, msr, &reg);
	if (r)
		return r;
	if (reg == APIC_ICR) {
		*data = (u64)lapic_get(apic, APIC_ICR2) << 32 |
			lapic_get(apic, APIC_ICR);
		return 0;
	}
	if (lapic_reg_read(apic, reg, 4, &low))
		return 1;
	*data = low;
	return 0;
}

/**
 * hvx_lapic_set_msr() - write one of the APIC's MSRs
 * @vcpu: the vCPU.
 * @msr: the MSR.
 * @data: the value.
 * @host: the VMM writes it (KVM_SET_MSRS, KVM_SET_SREGS): any APIC mode
 *	transition and the BSP flag are allowed.
 *
 * Return: 0, 1 for #GP (or a failed KVM_SET_MSRS), -ENOENT for an MSR not
 * the APIC's.
 */
int hvx_lapic_set_msr(struct hvx_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct hvx_lapic *apic = vcpu->lapic;
	unsigned int reg;
	int r;

	if (!apic)
		return -ENOENT;
	if (msr == MSR_IA32_APICBASE)
		return lapic_set_base(apic, data, host);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		/* Ignored unless the timer is in TSC-deadline mode (as KVM). */
		if (!lapic_hw_enabled(apic) ||
		    apic->timer_mode != APIC_LVT_TIMER_TSCDEADLINE)
			return 0;
		hrtimer_cancel(&apic->timer);
		/* An expiry the vCPU has not seen yet is still delivered. */
		if (atomic_xchg(&apic->timer_pending, 0))
			lapic_local_deliver(apic, APIC_LVTT);
		apic->deadline = data;
		lapic_timer_start_deadline(apic);
		return 0;
	}
	r = lapic_x2apic_reg(apic, msr, &reg);
	if (r)
		return r;
	if (reg == APIC_ICR) {
		if (data & LAPIC_X2APIC_ICR_RSVD)
			return 1;
		data &= ~(u64)APIC_ICR_BUSY;
		lapic_send_ipi(apic, (u32)data, (u32)(data >> 32));
		lapic_set(apic, APIC_ICR2, data >> 32);
		lapic_set(apic, APIC_ICR, data);
		return 0;
	}
	/* Bits 63:32 are reserved in every other x2APIC register. */
	if (data >> 32)
		return 1;
	return lapic_reg_write(apic, reg, (u32)data);
}

/* ---------------------------------------------------------------- MMIO */

/**
 * hvx_lapic_mmio() - a guest access to the xAPIC page
 * @vcpu: the vCPU.
 * @gpa: the address accessed.
 * @len: its size in bytes.
 * @data: the data written, or where the data read goes.
 * @write: a store.
 *
 * As KVM: reads of 1, 2 or 4 bytes within one register; writes only of 4
 * bytes at a register's start (others are dropped); unreadable registers
 * read as 0.  While the APIC is hardware-disabled or in x2APIC
 * mode the page still answers (reads all ones, writes dropped: KVM's
 * default KVM_X86_QUIRK_LAPIC_MMIO_HOLE).
 *
 * Return: 0 when handled, -ENODEV when @gpa is not in the APIC page.
 */
int hvx_lapic_mmio(struct hvx_vcpu *vcpu, u64 gpa, unsigned int len,
		   void *data, bool write)
{
	struct hvx_lapic *apic = vcpu->lapic;
	u64 page, base;
	unsigned int offset;
	u32 val;

	if (!apic)
		return -ENODEV;
	base = READ_ONCE(apic->base);
	page = base & ~0xfffULL;
	if (gpa < page || gpa - page >= PAGE_SIZE)
		return -ENODEV;
	offset = gpa - page;
	if (!(base & MSR_IA32_APICBASE_ENABLE) || (base & X2APIC_ENABLE)) {
		if (!write)
			memset(data, 0xff, len);
		return 0;
	}
	if (!write) {
		memset(data, 0, len);
		lapic_reg_read(apic, offset, len, data);
		return 0;
	}
	if (len != 4 || (offset & 0xf))
		return 0;
	memcpy(&val, data, 4);
	lapic_reg_write(apic, offset, val);
	return 0;
}
