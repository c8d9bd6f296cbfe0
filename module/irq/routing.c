// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the GSI routing of the VM's in-kernel irqchip.
 *
 * KVM's default routing, which KVM_CREATE_IRQCHIP installs (irqchip.c):
 * GSIs 0-15 to IOAPIC pin = GSI and to PIC input = GSI, GSIs 16-23 to the
 * IOAPIC only.  KVM_SET_GSI_ROUTING replaces the table: a GSI has at most
 * one route per irqchip (PIC master, PIC slave, IOAPIC), or a single MSI
 * route.  Interrupt sources (KVM_IRQ_LINE, irqfds) set a GSI with
 * hvx_irq_set(), which walks the GSI's routes under RCU; an MSI route, as
 * KVM_SIGNAL_MSI, is a message to the local APICs.  The guest's
 * acknowledge of an irqchip input is told to the notifiers of the GSI the
 * table maps the input to (irqchip_src.h).
 *
 * Semantics are KVM's (Documentation/virt/kvm/api.rst; virt/kvm/irqchip.c,
 * arch/x86/kvm/irq_comm.c).
 */
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/irqchip_src.h"
#include "irq/routing.h"

#define HVX_PIC_PINS		8	/* per chip */
#define HVX_LEGACY_GSIS		16	/* routed to both PIC and IOAPIC */
#define HVX_NR_IRQCHIPS		3	/* PIC master, PIC slave, IOAPIC */

/* The MSI message (Intel SDM Vol. 3A, 11.11 "Message Signalled Interrupts"). */
#define MSI_ADDR_DEST_ID	GENMASK(19, 12)
#define MSI_ADDR_REDIR_HINT	BIT(3)
#define MSI_ADDR_DEST_LOGICAL	BIT(2)
#define MSI_DATA_VECTOR		GENMASK(7, 0)
#define MSI_DATA_DELIVERY_MODE	GENMASK(10, 8)
#define MSI_DATA_LEVEL_TRIG	BIT(15)

/**
 * struct hvx_route - one route of a GSI
 * @type:	KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI.
 * @irqchip:	KVM_IRQCHIP_* of an irqchip route.
 * @pin:	its input: 0-15 on the PIC pair (slave pins + 8), 0-23 on
 *		the IOAPIC.
 * @address_lo: the message address of an MSI route (low half).
 * @address_hi: its high half.
 * @data:	the MSI data.
 * @next:	index of the GSI's next route, or -1.
 */
struct hvx_route {
	u32 type;
	u32 irqchip;
	u32 pin;
	u32 address_lo;
	u32 address_hi;
	u32 data;
	int next;
};

/**
 * struct hvx_routing - a routing table, replaced as a whole under RCU
 * @nr_gsi:	one more than the highest GSI with a route (at least 1).
 * @chip_gsi:	by irqchip and input, the GSI routed to it (the last one
 *		listed, as KVM), or -1: whom an acknowledge concerns.
 * @head:	by GSI, the index of its first route in @route, or -1.
 * @route:	the routes, in the order KVM_SET_GSI_ROUTING listed them.
 */
struct hvx_routing {
	u32 nr_gsi;
	s16 chip_gsi[HVX_NR_IRQCHIPS][KVM_IOAPIC_NUM_PINS];
	int *head;
	struct hvx_route route[];
};

/*
 * Checks one userspace route as KVM does (flags, type, irqchip and pin)
 * and fills @r from it.  Returns 0 or -EINVAL.
 */
static int hvx_route_from_user(struct hvx_route *r,
			       const struct kvm_irq_routing_entry *ue)
{
	u32 pins;

	memset(r, 0, sizeof(*r));
	r->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (ue->flags)
			return -EINVAL;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			pins = HVX_PIC_PINS;
			break;
		case KVM_IRQCHIP_IOAPIC:
			pins = KVM_IOAPIC_NUM_PINS;
			break;
		default:
			return -EINVAL;
		}
		if (ue->u.irqchip.pin >= pins)
			return -EINVAL;
		r->irqchip = ue->u.irqchip.irqchip;
		r->pin = ue->u.irqchip.pin;
		if (r->irqchip == KVM_IRQCHIP_PIC_SLAVE)
			r->pin += HVX_PIC_PINS;
		return 0;
	case KVM_IRQ_ROUTING_MSI:
		/*
		 * KVM_MSI_VALID_DEVID is accepted and the device ID ignored,
		 * as KVM on x86 does (it does not report KVM_CAP_MSI_DEVID).
		 */
		if (ue->flags & ~KVM_MSI_VALID_DEVID)
			return -EINVAL;
		r->address_lo = ue->u.msi.address_lo;
		r->address_hi = ue->u.msi.address_hi;
		r->data = ue->u.msi.data;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Builds a table from @nr userspace routes, checking all of them first.
 * Returns the table or an ERR_PTR() (-EINVAL for a bad route, -ENOMEM).
 * May sleep.
 */
struct hvx_routing *hvx_routing_build(const struct kvm_irq_routing_entry *ue,
				      u32 nr)
{
	struct hvx_routing *rt;
	u32 i, nr_gsi = 0;
	size_t size;
	int ret, j;

	for (i = 0; i < nr; i++) {
		if (ue[i].gsi >= HVX_MAX_IRQ_ROUTES)
			return ERR_PTR(-EINVAL);
		nr_gsi = max(nr_gsi, ue[i].gsi + 1);
	}
	nr_gsi = max(nr_gsi, 1U);

	size = size_add(struct_size(rt, route, nr),
			array_size(nr_gsi, sizeof(*rt->head)));
	rt = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!rt)
		return ERR_PTR(-ENOMEM);
	rt->nr_gsi = nr_gsi;
	rt->head = (int *)&rt->route[nr];
	for (i = 0; i < nr_gsi; i++)
		rt->head[i] = -1;
	memset(rt->chip_gsi, 0xff, sizeof(rt->chip_gsi));

	/* Backwards, so that each GSI's list keeps the order given. */
	for (i = nr; i-- > 0; ) {
		u32 gsi = array_index_nospec(ue[i].gsi, nr_gsi);
		struct hvx_route *r = &rt->route[i];

		ret = hvx_route_from_user(r, &ue[i]);
		if (ret)
			goto err_free;
		/*
		 * As KVM: one route per irqchip for a GSI, and an MSI route
		 * is the GSI's only one.
		 */
		for (j = rt->head[gsi]; j >= 0; j = rt->route[j].next) {
			const struct hvx_route *o = &rt->route[j];

			if (o->type != KVM_IRQ_ROUTING_IRQCHIP ||
			    r->type != KVM_IRQ_ROUTING_IRQCHIP ||
			    o->irqchip == r->irqchip) {
				ret = -EINVAL;
				goto err_free;
			}
		}
		r->next = rt->head[gsi];
		rt->head[gsi] = i;
		/* Backwards: the first seen is the last listed. */
		if (r->type == KVM_IRQ_ROUTING_IRQCHIP &&
		    rt->chip_gsi[r->irqchip][r->pin] < 0)
			rt->chip_gsi[r->irqchip][r->pin] = gsi;
	}
	return rt;

err_free:
	kvfree(rt);
	return ERR_PTR(ret);
}

/* KVM's default table (irq_comm.c default_routing). */
struct hvx_routing *hvx_routing_default(void)
{
	struct kvm_irq_routing_entry *ue;
	struct hvx_routing *rt;
	u32 gsi, n = 0;

	ue = kcalloc(KVM_IOAPIC_NUM_PINS + HVX_LEGACY_GSIS, sizeof(*ue),
		     GFP_KERNEL);
	if (!ue)
		return ERR_PTR(-ENOMEM);
	for (gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		ue[n].u.irqchip.pin = gsi;
		n++;
		if (gsi >= HVX_LEGACY_GSIS)
			continue;
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = gsi < HVX_PIC_PINS ?
			KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		ue[n].u.irqchip.pin = gsi % HVX_PIC_PINS;
		n++;
	}
	rt = hvx_routing_build(ue, n);
	kfree(ue);
	return rt;
}

/**
 * hvx_irq_msi() - sends an MSI message to the local APICs
 * @vm:		the VM.
 * @address_lo:	the address (0xfeeXXXXX: destination ID in bits 19:12,
 *		redirection hint bit 3, destination mode bit 2).
 * @address_hi:	ignored, as KVM without KVM_CAP_X2APIC_API.
 * @data:	vector bits 7:0, delivery mode bits 10:8, trigger mode
 *		bit 15 (bit 14, the level, is taken as asserted, as KVM).
 *
 * A redirection hint makes a fixed interrupt go to one APIC of the
 * destination set, as lowest priority does (what KVM does with it).
 * Any context.
 *
 * Return: as hvx_lapic_deliver(): how many APICs took it, -1 for none (or
 * without an in-kernel irqchip).
 */
int hvx_irq_msi(struct hvx_vm *vm, u32 address_lo, u32 address_hi, u32 data)
{
	struct hvx_apic_irq irq = {
		.dest = FIELD_GET(MSI_ADDR_DEST_ID, address_lo),
		.vector = FIELD_GET(MSI_DATA_VECTOR, data),
		.delivery_mode = FIELD_GET(MSI_DATA_DELIVERY_MODE, data),
		.dest_logical = !!(address_lo & MSI_ADDR_DEST_LOGICAL),
		.level = true,
		.trig_level = !!(data & MSI_DATA_LEVEL_TRIG),
		.shorthand = HVX_APIC_SH_NONE,
	};

	if (!hvx_irqchip_get(vm))
		return -1;
	if ((address_lo & MSI_ADDR_REDIR_HINT) &&
	    irq.delivery_mode == HVX_APIC_DM_FIXED)
		irq.delivery_mode = HVX_APIC_DM_LOWEST;
	return hvx_lapic_deliver(vm, NULL, &irq);
}

static int hvx_route_set(struct hvx_vm *vm, struct hvx_irqchip *chip,
			 const struct hvx_route *r, unsigned int src, int level)
{
	if (r->type == KVM_IRQ_ROUTING_MSI)
		return level ? hvx_irq_msi(vm, r->address_lo, r->address_hi,
					   r->data) : -1;
	if (r->irqchip == KVM_IRQCHIP_IOAPIC)
		return hvx_ioapic_set_irq_src(chip->ioapic, r->pin, src, level);
	return hvx_pic_set_irq_src(chip->pic, r->pin, src, level);
}

/**
 * hvx_irq_set_src() - sets a GSI to a level through the routing table
 * @vm:		the VM.
 * @gsi:	the GSI.
 * @src:	the source (HVX_IRQ_SRC_*) driving it: irqchip inputs are the
 *		OR of their sources' levels.
 * @level:	asserted (non-zero) or not.
 *
 * Every route of @gsi is set.  As KVM's kvm_set_irq(), the results of the
 * routes that did not ignore it are added up.  Any context.
 *
 * Return: as KVM_IRQ_LINE_STATUS: > 0 delivered (the sum), 0 coalesced,
 * -1 when every route ignored it (masked), or @gsi has no route, or the VM
 * has no in-kernel irqchip; -EINVAL for a bad @src.
 */
int hvx_irq_set_src(struct hvx_vm *vm, u32 gsi, unsigned int src, int level)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);
	const struct hvx_routing *rt;
	int i, r, ret = -1;

	if (src >= HVX_IRQ_NR_SRC)
		return -EINVAL;
	if (!chip)
		return -1;
	level = !!level;
	rcu_read_lock();
	rt = rcu_dereference(chip->routing);
	if (gsi < rt->nr_gsi) {
		gsi = array_index_nospec(gsi, rt->nr_gsi);
		for (i = rt->head[gsi]; i >= 0; i = rt->route[i].next) {
			r = hvx_route_set(vm, chip, &rt->route[i], src, level);
			if (r >= 0)
				ret = max(ret, 0) + r;
		}
	}
	rcu_read_unlock();
	return ret;
}

/**
 * hvx_irq_set() - sets a GSI to a level, as the userspace source
 * @vm:		the VM.
 * @gsi:	the GSI.
 * @level:	asserted (non-zero) or not.
 *
 * KVM_IRQ_LINE and irqfds drive GSIs with this.  Any context.
 *
 * Return: as hvx_irq_set_src().
 */
int hvx_irq_set(struct hvx_vm *vm, u32 gsi, int level)
{
	return hvx_irq_set_src(vm, gsi, HVX_IRQ_SRC_USER, level);
}

/**
 * hvx_irqchip_acked() - the guest acknowledged an irqchip input
 * @vm:		the VM.
 * @irqchip:	KVM_IRQCHIP_*.
 * @pin:	the input (PIC slave inputs are 8-15).
 *
 * Runs the acknowledge notifiers of the GSI routed to the input.  Called
 * by the PIC and the IOAPIC without their locks.  Any context.
 */
void hvx_irqchip_acked(struct hvx_vm *vm, unsigned int irqchip,
		       unsigned int pin)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);
	const struct hvx_routing *rt;
	struct hvx_irqchip_state *st;
	struct hvx_irq_ack *ack;
	int gsi;

	if (!chip || irqchip >= HVX_NR_IRQCHIPS || pin >= KVM_IOAPIC_NUM_PINS)
		return;
	st = container_of(chip, struct hvx_irqchip_state, chip);
	rcu_read_lock();
	if (hlist_empty(&st->acks))
		goto out;
	rt = rcu_dereference(chip->routing);
	gsi = rt->chip_gsi[irqchip][pin];
	if (gsi < 0)
		goto out;
	hlist_for_each_entry_rcu(ack, &st->acks, link)
		if (ack->gsi == gsi)
			ack->acked(ack);
out:
	rcu_read_unlock();
}

/**
 * hvx_irqchip_register_ack() - adds an acknowledge notifier
 * @vm:		the VM.
 * @ack:	the notifier, @gsi and @acked set.
 *
 * May sleep.
 *
 * Return: 0, or -ENXIO when the VM has no in-kernel irqchip.
 */
int hvx_irqchip_register_ack(struct hvx_vm *vm, struct hvx_irq_ack *ack)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);
	struct hvx_irqchip_state *st;

	if (!chip)
		return -ENXIO;
	st = container_of(chip, struct hvx_irqchip_state, chip);
	mutex_lock(&st->lock);
	hlist_add_head_rcu(&ack->link, &st->acks);
	mutex_unlock(&st->lock);
	return 0;
}

/**
 * hvx_irqchip_unregister_ack() - removes an acknowledge notifier
 * @vm:		the VM.
 * @ack:	a notifier hvx_irqchip_register_ack() added.
 *
 * On return its callback no longer runs.  May sleep.
 */
void hvx_irqchip_unregister_ack(struct hvx_vm *vm, struct hvx_irq_ack *ack)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);
	struct hvx_irqchip_state *st;

	if (!chip)
		return;
	st = container_of(chip, struct hvx_irqchip_state, chip);
	mutex_lock(&st->lock);
	hlist_del_rcu(&ack->link);
	mutex_unlock(&st->lock);
	synchronize_rcu();
}
