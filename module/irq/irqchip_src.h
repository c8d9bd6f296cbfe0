/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx x86 platform: interrupt sources and acknowledge notifiers of the
 * in-kernel irqchip, for resampling irqfds (module/irqfd.c).
 *
 * Sources: the level of a PIC or IOAPIC input is the OR of the levels its
 * sources drive (KVM's irq_source_id).  KVM_IRQ_LINE and plain irqfds are
 * HVX_IRQ_SRC_USER (what hvx_irq_set() drives); a resampling irqfd asserts
 * its GSI as HVX_IRQ_SRC_RESAMPLE and de-asserts it when the guest
 * acknowledges the interrupt, so that it does not hide the user's level.
 *
 * Acknowledge notifiers: called when the guest ends an interrupt of an
 * irqchip input the routing table maps to the notifier's GSI (an IOAPIC
 * EOI broadcast of its vector, a PIC EOI, automatic EOI or poll), before
 * the irqchip looks at the input's level again, as KVM's
 * kvm_notify_acked_irq().  No irqchip lock is held; the callback may call
 * hvx_irq_set()/hvx_irq_set_src(); it must not sleep (irqs may be off).
 */
#ifndef HVX_IRQ_IRQCHIP_SRC_H
#define HVX_IRQ_IRQCHIP_SRC_H

#include <linux/list.h>
#include <linux/types.h>

struct hvx_vm;
struct hvx_pic;
struct hvx_ioapic;

enum {
	HVX_IRQ_SRC_USER,
	HVX_IRQ_SRC_RESAMPLE,
	HVX_IRQ_NR_SRC
};

/* hvx_irq_set() for source @src (HVX_IRQ_SRC_*); -EINVAL for another. */
int hvx_irq_set_src(struct hvx_vm *vm, u32 gsi, unsigned int src, int level);

/**
 * struct hvx_irq_ack - an acknowledge notifier
 * @link:	in the irqchip's list (RCU).
 * @gsi:	the GSI it watches.
 * @acked:	called on each acknowledge (see above).
 */
struct hvx_irq_ack {
	struct hlist_node link;
	u32 gsi;
	void (*acked)(struct hvx_irq_ack *ack);
};

/*
 * Adds @ack (its @gsi and @acked set); -ENXIO without an in-kernel
 * irqchip.  Removing it waits until no callback runs.  Both may sleep.
 */
int hvx_irqchip_register_ack(struct hvx_vm *vm, struct hvx_irq_ack *ack);
void hvx_irqchip_unregister_ack(struct hvx_vm *vm, struct hvx_irq_ack *ack);

/* Between the irqchip's files. */
int hvx_pic_set_irq_src(struct hvx_pic *pic, unsigned int irq,
			unsigned int src, int level);
int hvx_ioapic_set_irq_src(struct hvx_ioapic *ioapic, unsigned int pin,
			   unsigned int src, int level);
/* Input @pin of @irqchip (KVM_IRQCHIP_*; PIC slave pins are 8-15). */
void hvx_irqchip_acked(struct hvx_vm *vm, unsigned int irqchip,
		       unsigned int pin);

#endif /* HVX_IRQ_IRQCHIP_SRC_H */
