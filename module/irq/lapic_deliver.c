// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: interrupt messages to local APICs (SDM Vol. 3A, 11.6):
 * which APICs a destination addresses (physical, logical flat and
 * cluster, x2APIC, shorthands), delivery to them (lowest priority by
 * vector hashing), and IPIs from the ICR.  Any CPU: a target's mode and
 * IDs are read with READ_ONCE (lapic.h).
 */
#include <linux/bitmap.h>
#include <linux/minmax.h>
#include <asm/apicdef.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/lapic.h"

#define LAPIC_XAPIC_BROADCAST	0xffU
#define LAPIC_X2APIC_BROADCAST	0xffffffffU
#define LAPIC_ICR_DEST_SHIFT	24

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
void lapic_send_ipi(struct hvx_lapic *apic, u32 low, u32 high)
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
