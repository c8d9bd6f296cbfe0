// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the local APIC timer (SDM Vol. 3A, 11.5.4): one-shot,
 * periodic and TSC-deadline mode on one hrtimer per APIC.  The hrtimer
 * callback only marks the expiry; the vCPU's own thread delivers it
 * (hvx_lapic_sync()) and re-arms a periodic count.
 */
#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <asm/apicdef.h>
#include <asm/tsc.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/lapic.h"

/* The timer counts at 1 GHz (KVM's APIC_BUS_CYCLE_NS). */
#define LAPIC_BUS_CYCLE_NS	1
/* The shortest periodic timer, as KVM's min_timer_period_us. */
#define LAPIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

u32 lapic_lvtt_mode(struct hvx_lapic *apic)
{
	return lapic_get(apic, APIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

void lapic_update_divide(struct hvx_lapic *apic)
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
u64 lapic_period_ns(struct hvx_lapic *apic)
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
void lapic_timer_cancel(struct hvx_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
}

void lapic_timer_stop(struct hvx_lapic *apic)
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
void lapic_timer_expired(struct hvx_lapic *apic)
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

enum hrtimer_restart lapic_timer_fn(struct hrtimer *timer)
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
void lapic_timer_start_count(struct hvx_lapic *apic, u32 count)
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
void lapic_timer_start_deadline(struct hvx_lapic *apic)
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
u32 lapic_tmcct(struct hvx_lapic *apic)
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
void lapic_update_lvtt(struct hvx_lapic *apic)
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
void lapic_rescale_count(struct hvx_lapic *apic, u32 old_divide)
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
