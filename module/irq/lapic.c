// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the local APIC, one per vCPU (KVM_CREATE_IRQCHIP).
 *
 * The state is a 4 KiB page laid out as the xAPIC MMIO page (Intel SDM
 * Vol. 3A, 11.4.1, Table 11-1); its first 1 KiB is struct kvm_lapic_state.
 * The semantics follow KVM's in-kernel APIC, which is what the ABI
 * (KVM_GET/SET_LAPIC) and the guests tested against it expect.
 *
 * Ownership: the vCPU's own thread (vCPU mutex held) is the only writer of
 * the page, except for IRR and TMR bits, which other vCPUs and the IOAPIC
 * set with atomic bit operations while the owner runs, and of the timer's
 * expiry flag, which the hrtimer callback sets.  Senders read a target's
 * IA32_APIC_BASE, ID, LDR, DFR and SVR with READ_ONCE; the owner writes
 * them with WRITE_ONCE (every register goes through lapic_get/lapic_set).
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "hvx.h"
#include "irq/irq.h"

/*
 * Version register: an integrated APIC (0x14, as KVM) with six LVT
 * entries (timer, thermal, performance, LINT0, LINT1, error: no CMCI),
 * and no EOI-broadcast suppression (the in-kernel IOAPIC has no EOI
 * register).
 */
#define LAPIC_NR_LVT		6
#define LAPIC_VERSION		(0x14 | ((LAPIC_NR_LVT - 1) << 16))

/* The timer counts at 1 GHz (KVM's APIC_BUS_CYCLE_NS). */
#define LAPIC_BUS_CYCLE_NS	1
/* The shortest periodic timer, as KVM's min_timer_period_us. */
#define LAPIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

#define LAPIC_TIMER_MODE_MASK	(3 << 17)
#define LAPIC_XAPIC_BROADCAST	0xffU
#define LAPIC_X2APIC_BROADCAST	0xffffffffU
#define LAPIC_LVT_EXTINT	(HVX_APIC_DM_EXTINT << 8)
#define LAPIC_ICR_DEST_SHIFT	24

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

#define LAPIC_LVT(i)		(APIC_LVTT + 0x10 * (i))

/**
 * struct hvx_lapic - one vCPU's local APIC
 * @regs:	the register page (xAPIC MMIO layout).
 * @vcpu:	the vCPU.
 * @base:	IA32_APIC_BASE.
 * @tsc_offset:	guest TSC minus host TSC.
 * @timer:	the hrtimer behind all three timer modes.
 * @timer_pending: the hrtimer expired; hvx_lapic_sync() delivers it.
 * @timer_mode:	LVT timer mode the timer state was set up for.
 * @divide:	the divide configuration as a divisor (1-128).
 * @counting:	one-shot or periodic count in progress.
 * @period_ns:	the period of the count (TMICT in ns, clamped if periodic).
 * @target:	when the count reaches zero.
 * @deadline:	IA32_TSC_DEADLINE (guest TSC); 0 when disarmed.
 */
struct hvx_lapic {
	void *regs;
	struct hvx_vcpu *vcpu;
	u64 base;
	u64 tsc_offset;
	struct hrtimer timer;
	atomic_t timer_pending;
	u32 timer_mode;
	u32 divide;
	bool counting;
	u64 period_ns;
	ktime_t target;
	u64 deadline;
};

static_assert(KVM_APIC_REG_SIZE <= PAGE_SIZE);

/* ------------------------------------------------------------ registers */

static u32 lapic_get(struct hvx_lapic *apic, unsigned int reg)
{
	return READ_ONCE(*(u32 *)(apic->regs + reg));
}

static void lapic_set(struct hvx_lapic *apic, unsigned int reg, u32 val)
{
	WRITE_ONCE(*(u32 *)(apic->regs + reg), val);
}

/* IRR, ISR and TMR: 256 bits, 32 per 16-byte register. */
static unsigned long *lapic_vec_word(struct hvx_lapic *apic,
				     unsigned int reg, u8 vec)
{
	return (unsigned long *)(apic->regs + reg + ((vec >> 5) << 4));
}

static bool lapic_test_vec(struct hvx_lapic *apic, unsigned int reg, u8 vec)
{
	return lapic_get(apic, reg + ((vec >> 5) << 4)) & BIT(vec & 31);
}

static int lapic_highest(struct hvx_lapic *apic, unsigned int reg)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = lapic_get(apic, reg + 0x10 * i);

		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static bool lapic_hw_enabled(struct hvx_lapic *apic)
{
	return READ_ONCE(apic->base) & MSR_IA32_APICBASE_ENABLE;
}

static bool lapic_x2apic(struct hvx_lapic *apic)
{
	return READ_ONCE(apic->base) & X2APIC_ENABLE;
}

static bool lapic_sw_enabled(struct hvx_lapic *apic)
{
	return lapic_get(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static bool lapic_enabled(struct hvx_lapic *apic)
{
	return lapic_hw_enabled(apic) && lapic_sw_enabled(apic);
}

/* The x2APIC logical ID: cluster in 31:16, one bit of 16 in 15:0. */
static u32 lapic_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

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

static u32 lapic_update_ppr(struct hvx_lapic *apic)
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
static int lapic_accept(struct hvx_lapic *apic, u8 mode, u8 vector,
			bool level, bool trig_level)
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
static void lapic_local_deliver(struct hvx_lapic *apic, unsigned int lvt)
{
	u32 val = lapic_get(apic, lvt);

	if (!lapic_hw_enabled(apic) || (val & APIC_LVT_MASKED))
		return;
	lapic_accept(apic, (val & APIC_MODE_MASK) >> 8, val & APIC_VECTOR_MASK,
		     true, val & APIC_LVT_LEVEL_TRIGGER);
}

/* ---------------------------------------------------------------- timer */

static u32 lapic_lvtt_mode(struct hvx_lapic *apic)
{
	return lapic_get(apic, APIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

static void lapic_update_divide(struct hvx_lapic *apic)
{
	u32 tdcr = lapic_get(apic, APIC_TDCR);
	u32 shift = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;

	/* Divide by 2^(1 + bits 3,1:0); 1011b divides by 1 (SDM 11.5.4). */
	apic->divide = 1U << (shift & 7);
}

static u64 lapic_count_to_ns(struct hvx_lapic *apic, u32 count)
{
	return (u64)count * LAPIC_BUS_CYCLE_NS * apic->divide;
}

/* The period of the count in TMICT, no shorter than the periodic floor. */
static u64 lapic_period_ns(struct hvx_lapic *apic)
{
	u64 ns = lapic_count_to_ns(apic, lapic_get(apic, APIC_TMICT));

	if (ns && apic->timer_mode == APIC_LVT_TIMER_PERIODIC)
		ns = max_t(u64, ns, LAPIC_MIN_PERIOD_NS);
	return ns;
}

static void lapic_timer_arm(struct hvx_lapic *apic)
{
	hrtimer_start(&apic->timer, apic->target, HRTIMER_MODE_ABS_HARD);
}

/* Stops the hrtimer and forgets an expiry not yet delivered. */
static void lapic_timer_cancel(struct hvx_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
}

static void lapic_timer_stop(struct hvx_lapic *apic)
{
	lapic_timer_cancel(apic);
	apic->counting = false;
	apic->period_ns = 0;
	apic->deadline = 0;
}

/*
 * The count reached zero (or the deadline passed), seen by the owner:
 * the LVT timer interrupt, then the next period or the disarm.
 */
static void lapic_timer_expired(struct hvx_lapic *apic)
{
	ktime_t now;

	lapic_local_deliver(apic, APIC_LVTT);
	if (apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE) {
		apic->deadline = 0;
		return;
	}
	if (!apic->counting)
		return;
	if (apic->timer_mode != APIC_LVT_TIMER_PERIODIC) {
		apic->counting = false;
		return;
	}
	/*
	 * Periods missed while the vCPU did not run coalesce into the one
	 * interrupt just delivered: the next one is a period from now.
	 */
	now = ktime_get();
	apic->target = ktime_add_ns(apic->target, apic->period_ns);
	if (ktime_before(apic->target, now))
		apic->target = ktime_add_ns(now, apic->period_ns);
	lapic_timer_arm(apic);
}

static enum hrtimer_restart lapic_timer_fn(struct hrtimer *timer)
{
	struct hvx_lapic *apic = container_of(timer, struct hvx_lapic, timer);

	atomic_set(&apic->timer_pending, 1);
	hvx_vcpu_request(apic->vcpu, HVX_REQ_EVENT);
	return HRTIMER_NORESTART;
}

/*
 * Starts a one-shot or periodic count: the first period @count ticks (a
 * restored TMCCT), or a whole period if @count is 0.
 */
static void lapic_timer_start_count(struct hvx_lapic *apic, u32 count)
{
	u64 first;

	apic->period_ns = lapic_period_ns(apic);
	apic->counting = false;
	if (!apic->period_ns)
		return;
	first = lapic_count_to_ns(apic, count);
	if (!first || first > apic->period_ns)
		first = apic->period_ns;
	apic->counting = true;
	apic->target = ktime_add_ns(ktime_get(), first);
	lapic_timer_arm(apic);
}

/* Arms the TSC-deadline timer from @deadline (guest TSC, SDM 11.5.4.1). */
static void lapic_timer_start_deadline(struct hvx_lapic *apic)
{
	unsigned long flags;
	u64 tsc, ns;
	ktime_t now;

	if (!apic->deadline || !tsc_khz)
		return;
	local_irq_save(flags);
	now = ktime_get();
	tsc = rdtsc() + READ_ONCE(apic->tsc_offset);
	if (apic->deadline <= tsc) {
		local_irq_restore(flags);
		lapic_timer_expired(apic);
		return;
	}
	ns = mul_u64_u32_div(apic->deadline - tsc, USEC_PER_SEC, tsc_khz);
	/* A deadline centuries away stays one. */
	ns = min_t(u64, ns, KTIME_MAX / 2);
	apic->target = ktime_add_ns(now, ns);
	lapic_timer_arm(apic);
	local_irq_restore(flags);
}

/* TMCCT (SDM 11.5.4): the count left, from the time left. */
static u32 lapic_tmcct(struct hvx_lapic *apic)
{
	s64 left;
	u64 ns;

	if (apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE || !apic->counting ||
	    !lapic_get(apic, APIC_TMICT))
		return 0;
	left = ktime_to_ns(ktime_sub(apic->target, ktime_get()));
	if (left >= 0) {
		ns = min_t(u64, left, apic->period_ns);
	} else if (apic->timer_mode == APIC_LVT_TIMER_PERIODIC) {
		/* The expiry is not synced yet; the count goes on. */
		div64_u64_rem(-left, apic->period_ns, &ns);
		ns = apic->period_ns - ns;
	} else {
		return 0;
	}
	return div64_u64(ns, (u64)LAPIC_BUS_CYCLE_NS * apic->divide);
}

/* The LVT timer mode changed: a switch to or from TSC deadline stops it. */
static void lapic_update_lvtt(struct hvx_lapic *apic)
{
	u32 mode = lapic_lvtt_mode(apic);
	bool was_deadline = apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE;
	bool is_deadline = mode == APIC_LVT_TIMER_TSCDEADLINE;

	if (mode == apic->timer_mode)
		return;
	if (is_deadline != was_deadline) {
		lapic_timer_stop(apic);
		lapic_set(apic, APIC_TMICT, 0);
	}
	apic->timer_mode = mode;
	if (mode == APIC_LVT_TIMER_PERIODIC && apic->period_ns)
		apic->period_ns = max_t(u64, apic->period_ns,
					LAPIC_MIN_PERIOD_NS);
}

/* TDCR changed while counting: the time left scales with the divisor. */
static void lapic_rescale_count(struct hvx_lapic *apic, u32 old_divide)
{
	ktime_t now = ktime_get();
	s64 left;

	apic->period_ns = lapic_period_ns(apic);
	/* Expired already: hvx_lapic_sync() re-arms a periodic count. */
	if (!hrtimer_cancel(&apic->timer))
		return;
	left = ktime_to_ns(ktime_sub(apic->target, now));
	if (left < 0)
		left = 0;
	left = mul_u64_u32_div(left, apic->divide, old_divide);
	apic->target = ktime_add_ns(now, left);
	lapic_timer_arm(apic);
}

/* ------------------------------------------------------------ delivery */

/*
 * The message destination address as @target sees it: an IOAPIC or MSI
 * broadcast (0xff) reaches x2APIC-mode APICs too (KVM's default).
 */
static u32 lapic_mda(struct hvx_lapic *target, bool ipi, u32 dest)
{
	if (!ipi && dest == LAPIC_XAPIC_BROADCAST && lapic_x2apic(target))
		return LAPIC_X2APIC_BROADCAST;
	return dest;
}

static bool lapic_is_broadcast(struct hvx_lapic *apic, u32 mda)
{
	return mda == (lapic_x2apic(apic) ? LAPIC_X2APIC_BROADCAST :
					    LAPIC_XAPIC_BROADCAST);
}

/* SDM 11.6.2.1: physical destination. */
static bool lapic_match_physical(struct hvx_lapic *apic, u32 mda)
{
	if (lapic_is_broadcast(apic, mda))
		return true;
	/* x2APIC IDs are the vCPU ids, as KVM's. */
	if (lapic_x2apic(apic) || mda > 0xff)
		return mda == apic->vcpu->id;
	return mda == lapic_get(apic, APIC_ID) >> 24;
}

/* SDM 11.6.2.2 and 11.12.10: logical destination, flat or cluster. */
static bool lapic_match_logical(struct hvx_lapic *apic, u32 mda)
{
	u32 ldr = lapic_get(apic, APIC_LDR);

	if (lapic_is_broadcast(apic, mda))
		return true;
	if (lapic_x2apic(apic))
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	ldr >>= 24;
	switch (lapic_get(apic, APIC_DFR)) {
	case APIC_DFR_FLAT:
		return ldr & mda;
	case APIC_DFR_CLUSTER:
		return (ldr >> 4) == (mda >> 4) && (ldr & mda & 0xf);
	default:
		return false;
	}
}

static bool lapic_match(struct hvx_lapic *target, struct hvx_lapic *src,
			const struct hvx_apic_irq *irq)
{
	u32 mda;

	switch (irq->shorthand) {
	case HVX_APIC_SH_SELF:
		return target == src;
	case HVX_APIC_SH_ALL:
		return true;
	case HVX_APIC_SH_OTHERS:
		return target != src;
	}
	mda = lapic_mda(target, !!src, irq->dest);
	if (irq->dest_logical)
		return lapic_match_logical(target, mda);
	return lapic_match_physical(target, mda);
}

static struct hvx_lapic *lapic_of(struct hvx_vm *vm, unsigned int i)
{
	struct hvx_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

	return vcpu ? READ_ONCE(vcpu->lapic) : NULL;
}

/**
 * hvx_lapic_deliver() - send an interrupt message to the local APICs
 * @vm: the VM.
 * @src: the sending vCPU (IPI), or NULL (IOAPIC, MSI).
 * @irq: the message.
 *
 * APICs that are hardware-disabled receive nothing (as KVM).  Lowest
 * priority goes to one of the addressed, software-enabled APICs, chosen
 * by the vector (vector modulo their number: KVM's "vector hashing"),
 * which spreads vectors over the CPUs without reading other vCPUs' PPR.
 *
 * Return: the number of APICs that accepted it, -1 if none was addressed.
 */
int hvx_lapic_deliver(struct hvx_vm *vm, struct hvx_vcpu *src,
		      const struct hvx_apic_irq *irq)
{
	struct hvx_lapic *from = src ? src->lapic : NULL;
	bool lowest = irq->delivery_mode == HVX_APIC_DM_LOWEST;
	DECLARE_BITMAP(cand, HVX_MAX_VCPUS);
	unsigned int i, n, nr_cand = 0;
	struct hvx_lapic *apic;
	int r = -1;

	/* vcpus[] is indexed by vCPU id, which need not be dense. */
	bitmap_zero(cand, HVX_MAX_VCPUS);
	for (i = 0; i < HVX_MAX_VCPUS; i++) {
		apic = lapic_of(vm, i);
		if (!apic || !lapic_hw_enabled(apic) ||
		    !lapic_match(apic, from, irq))
			continue;
		if (!lowest) {
			r = max(r, 0);
			r += lapic_accept(apic, irq->delivery_mode,
					  irq->vector, irq->level,
					  irq->trig_level);
		} else if (lapic_sw_enabled(apic)) {
			__set_bit(i, cand);
			nr_cand++;
		}
	}
	if (!nr_cand)
		return r;
	n = irq->vector % nr_cand;
	for_each_set_bit(i, cand, HVX_MAX_VCPUS) {
		if (n--)
			continue;
		apic = lapic_of(vm, i);
		return lapic_accept(apic, irq->delivery_mode, irq->vector,
				    irq->level, irq->trig_level);
	}
	return r;
}

/* An IPI from the ICR (SDM 11.6.1): delivered at once, never busy. */
static void lapic_send_ipi(struct hvx_lapic *apic, u32 low, u32 high)
{
	struct hvx_apic_irq irq = {
		.vector = low & APIC_VECTOR_MASK,
		.delivery_mode = (low & APIC_MODE_MASK) >> 8,
		.dest_logical = low & APIC_DEST_LOGICAL,
		.level = low & APIC_INT_ASSERT,
		.trig_level = low & APIC_INT_LEVELTRIG,
		.shorthand = (low >> 18) & 3,
		.dest = lapic_x2apic(apic) ? high : high >> LAPIC_ICR_DEST_SHIFT,
	};

	hvx_lapic_deliver(apic->vcpu->vm, apic->vcpu, &irq);
}

/* -------------------------------------------------- register accesses */

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
		hvx_ioapic_eoi(apic->vcpu->vm, vec);
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
static int lapic_set_base(struct hvx_lapic *apic, u64 val, bool host)
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

/* ------------------------------------------------- interrupt acceptance */

/*
 * The PIC, when this vCPU takes its interrupts: the BSP (vCPU 0) whose
 * APIC is hardware-disabled or whose LINT0 is unmasked ExtINT (SDM
 * 11.5.1, virtual-wire mode).
 */
static struct hvx_pic *lapic_pic(struct hvx_lapic *apic)
{
	struct hvx_irqchip *chip = apic->vcpu->vm->irqchip;
	u32 lvt0;

	if (apic->vcpu->id != 0 || !chip)
		return NULL;
	lvt0 = lapic_get(apic, APIC_LVT0);
	if (lapic_hw_enabled(apic) &&
	    ((lvt0 & APIC_LVT_MASKED) ||
	     (lvt0 & APIC_MODE_MASK) != LAPIC_LVT_EXTINT))
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
