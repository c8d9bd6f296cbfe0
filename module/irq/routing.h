/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx x86 platform: what irqchip.c and routing.c share (private to them;
 * irq.h is the interface to the rest of hvx, irqchip_src.h the one of
 * interrupt sources and acknowledge notifiers).
 *
 *   irqchip.c   the irqchip's life (KVM_CREATE_IRQCHIP, VM teardown) and
 *               the VM ioctls of the in-kernel irqchip
 *   routing.c   the GSI routing table, MSI messages, setting a GSI and
 *               the acknowledge notifiers
 *
 * struct hvx_routing is routing.c's own: irqchip.c only passes it on.
 */
#ifndef HVX_IRQ_ROUTING_H
#define HVX_IRQ_ROUTING_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "irq/irq.h"

struct hvx_vm;
struct hvx_routing;
struct kvm_irq_routing_entry;

/* KVM_MAX_IRQ_ROUTES on x86 (what KVM_CAP_IRQ_ROUTING reports). */
#define HVX_MAX_IRQ_ROUTES	4096

/**
 * struct hvx_irqchip_state - the irqchip of a VM, with what only irqchip.c
 * and routing.c use
 * @chip:	what the other files see.
 * @lock:	serializes table replacement and changes of @acks.
 * @acks:	the acknowledge notifiers (RCU).
 */
struct hvx_irqchip_state {
	struct hvx_irqchip chip;
	struct mutex lock;	/* see above */
	struct hlist_head acks;
};

/* irqchip.c: the VM's irqchip (acquire), or NULL without one. */
struct hvx_irqchip *hvx_irqchip_get(struct hvx_vm *vm);

/*
 * routing.c: a table from @nr userspace routes (KVM_SET_GSI_ROUTING) and
 * KVM's default one (KVM_CREATE_IRQCHIP); an ERR_PTR() on error.
 */
struct hvx_routing *hvx_routing_build(const struct kvm_irq_routing_entry *ue,
				      u32 nr);
struct hvx_routing *hvx_routing_default(void);

#endif /* HVX_IRQ_ROUTING_H */
