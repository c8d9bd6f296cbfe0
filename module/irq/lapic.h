/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx x86 platform: the local APIC's state and the calls between its
 * files (private to module/irq/lapic*.c; irq.h is the interface to the
 * rest of hvx).
 *
 *   lapic.c          priority, acceptance of interrupt messages, the
 *                    vCPU's side (INTA, CR8), reset and KVM_GET/SET_LAPIC
 *   lapic_timer.c    the APIC timer: one-shot, periodic, TSC deadline
 *   lapic_deliver.c  destinations (physical, logical, shorthands) and
 *                    delivery to the addressed APICs, IPIs
 *   lapic_regs.c     the register interface: xAPIC MMIO page, x2APIC and
 *                    APIC base MSRs
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
#ifndef HVX_IRQ_LAPIC_H
#define HVX_IRQ_LAPIC_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/types.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

struct hvx_vcpu;

/* Six LVT entries: timer, thermal, performance, LINT0, LINT1, error. */
#define LAPIC_NR_LVT		6
#define LAPIC_LVT(i)		(APIC_LVTT + 0x10 * (i))
#define LAPIC_TIMER_MODE_MASK	(3 << 17)

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

/* Register access; see the ownership rules above. */
static inline u32 lapic_get(struct hvx_lapic *apic, unsigned int reg)
{
	return READ_ONCE(*(u32 *)(apic->regs + reg));
}

static inline void lapic_set(struct hvx_lapic *apic, unsigned int reg,
			     u32 val)
{
	WRITE_ONCE(*(u32 *)(apic->regs + reg), val);
}

/* IRR, ISR and TMR: 256 bits, 32 per 16-byte register. */
static inline unsigned long *lapic_vec_word(struct hvx_lapic *apic,
					    unsigned int reg, u8 vec)
{
	return (unsigned long *)(apic->regs + reg + ((vec >> 5) << 4));
}

static inline bool lapic_test_vec(struct hvx_lapic *apic, unsigned int reg,
				  u8 vec)
{
	return lapic_get(apic, reg + ((vec >> 5) << 4)) & BIT(vec & 31);
}

static inline int lapic_highest(struct hvx_lapic *apic, unsigned int reg)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = lapic_get(apic, reg + 0x10 * i);

		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static inline bool lapic_hw_enabled(struct hvx_lapic *apic)
{
	return READ_ONCE(apic->base) & MSR_IA32_APICBASE_ENABLE;
}

static inline bool lapic_x2apic(struct hvx_lapic *apic)
{
	return READ_ONCE(apic->base) & X2APIC_ENABLE;
}

static inline bool lapic_sw_enabled(struct hvx_lapic *apic)
{
	return lapic_get(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static inline bool lapic_enabled(struct hvx_lapic *apic)
{
	return lapic_hw_enabled(apic) && lapic_sw_enabled(apic);
}

/* The x2APIC logical ID: cluster in 31:16, one bit of 16 in 15:0. */
static inline u32 lapic_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

/* lapic.c */
u32 lapic_update_ppr(struct hvx_lapic *apic);
int lapic_accept(struct hvx_lapic *apic, u8 mode, u8 vector, bool level,
		 bool trig_level);
void lapic_local_deliver(struct hvx_lapic *apic, unsigned int lvt);

/* lapic_timer.c: the owner's thread, except lapic_timer_fn. */
u32 lapic_lvtt_mode(struct hvx_lapic *apic);
void lapic_update_divide(struct hvx_lapic *apic);
u64 lapic_period_ns(struct hvx_lapic *apic);
void lapic_timer_cancel(struct hvx_lapic *apic);
void lapic_timer_stop(struct hvx_lapic *apic);
void lapic_timer_expired(struct hvx_lapic *apic);
enum hrtimer_restart lapic_timer_fn(struct hrtimer *timer);
void lapic_timer_start_count(struct hvx_lapic *apic, u32 count);
void lapic_timer_start_deadline(struct hvx_lapic *apic);
u32 lapic_tmcct(struct hvx_lapic *apic);
void lapic_update_lvtt(struct hvx_lapic *apic);
void lapic_rescale_count(struct hvx_lapic *apic, u32 old_divide);

/* lapic_deliver.c */
void lapic_send_ipi(struct hvx_lapic *apic, u32 low, u32 high);

/* lapic_regs.c */
int lapic_set_base(struct hvx_lapic *apic, u64 val, bool host);

#endif
