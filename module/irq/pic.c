// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the cascaded pair of 8259A PICs of KVM_CREATE_IRQCHIP.
 *
 * The master's INT output goes to vCPU 0's local APIC (LINT0, ExtINT); the
 * slave's INT is the master's IR2.  Ports 0x20/0x21 (master), 0xa0/0xa1
 * (slave) and the ELCR pair 0x4d0/0x4d1 that makes inputs level-triggered.
 * The state of each chip is kept in the uapi struct kvm_pic_state itself,
 * so that KVM_GET/SET_IRQCHIP is a copy, with KVM's meaning of every field
 * (Intel 8259A datasheet, order number 231468; KVM's i8259.c).
 *
 * Locking: one spinlock, taken with interrupts saved (hvx_irq_set() may run
 * from any context).  The vCPU is told about a rising INT output after the
 * lock is dropped, and so are the acknowledge notifiers of the inputs whose
 * in-service bit was cleared (before the outputs are recomputed, as KVM).
 * The local APIC calls in here (has_irq, take_irq); this file never calls
 * the local APIC.
 */
#include <linux/bits.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "bus.h"
#include "hvx.h"
#include "irq/irq.h"
#include "irq/irqchip_src.h"

enum {
	PIC_MASTER,
	PIC_SLAVE,
	PIC_ELCR,
	PIC_NR_PORTS
};

/* The master input the slave's INT drives. */
#define PIC_CASCADE_IRQ	2
/* No request: the priority resolver's "none" (any real one is 0-7). */
#define PIC_NONE	8

/* ICW1 (A0 = 0, D4 = 1), OCW3 (A0 = 0, D4:D3 = 01), else OCW2. */
#define PIC_ICW1	0x10
#define PIC_ICW1_IC4	0x01
#define PIC_OCW3	0x08
#define PIC_OCW3_P	0x04
#define PIC_OCW3_RR	0x02
#define PIC_OCW3_RIS	0x01
#define PIC_OCW3_ESMM	0x40
#define PIC_OCW3_SMM	0x20
#define PIC_ICW4_SFNM	0x10
#define PIC_ICW4_AEOI	0x02
/* A poll read with a request pending has bit 7 set. */
#define PIC_POLL_INT	0x80

struct hvx_pic;

/* One range of ports on the PIO bus. */
struct hvx_pic_port {
	struct hvx_io_device dev;
	struct hvx_pic *pic;
	unsigned int which;	/* PIC_MASTER, PIC_SLAVE or PIC_ELCR */
};

/**
 * struct hvx_pic - the 8259A pair
 * @lock:	protects everything below.
 * @vm:		the VM (for vCPU 0).
 * @chip:	master (0) and slave (1), in KVM_GET_IRQCHIP's layout.
 * @output:	the master's INT output.
 * @raised:	@output went from 0 to 1 under the lock: vCPU 0 is told
 *		when the lock is dropped.
 * @acked:	inputs (slave's 8-15) whose in-service bit was cleared, for
 *		the acknowledge notifiers.
 * @src_level:	by source, the inputs it asserts.
 * @port:	the bus devices.
 */
struct hvx_pic {
	spinlock_t lock;	/* see above */
	struct hvx_vm *vm;
	struct kvm_pic_state chip[2];
	bool output;
	bool raised;
	u16 acked;
	u16 src_level[HVX_IRQ_NR_SRC];
	struct hvx_pic_port port[PIC_NR_PORTS];
};

static unsigned long pic_lock(struct hvx_pic *pic)
	__acquires(&pic->lock)
{
	unsigned long flags;

	spin_lock_irqsave(&pic->lock, flags);
	return flags;
}

static void pic_unlock(struct hvx_pic *pic, unsigned long flags)
	__releases(&pic->lock)
{
	bool raised = pic->raised;
	struct hvx_vcpu *vcpu;

	pic->raised = false;
	spin_unlock_irqrestore(&pic->lock, flags);

	/* Its local APIC decides whether it takes ExtINT (LVT0). */
	if (raised) {
		vcpu = READ_ONCE(pic->vm->vcpus[0]);
		if (vcpu)
			hvx_vcpu_request(vcpu, HVX_REQ_EVENT);
	}
}

/*
 * Runs the acknowledge notifiers of the inputs in @acked with the lock
 * dropped (they may drive inputs).
 */
static void pic_notify_acks(struct hvx_pic *pic, unsigned long *flags)
	__must_hold(&pic->lock)
{
	unsigned int irq;
	u16 acked;

	while ((acked = pic->acked)) {
		pic->acked = 0;
		spin_unlock_irqrestore(&pic->lock, *flags);
		for (irq = 0; irq < 16; irq++)
			if (acked & BIT(irq))
				hvx_irqchip_acked(pic->vm, irq < 8 ?
						  KVM_IRQCHIP_PIC_MASTER :
						  KVM_IRQCHIP_PIC_SLAVE, irq);
		spin_lock_irqsave(&pic->lock, *flags);
	}
}

/* Clears in-service bit @irq of chip @idx (an end of interrupt). */
static void pic_eoi(struct hvx_pic *pic, unsigned int idx, unsigned int irq)
{
	pic->chip[idx].isr &= ~BIT(irq);
	pic->acked |= BIT(irq + 8 * idx);
}

/*
 * The priority (0 highest) of the highest request in @bits, counting from
 * the level after the last rotation; PIC_NONE when @bits is empty.
 */
static unsigned int pic_priority(const struct kvm_pic_state *c, u8 bits)
{
	unsigned int prio = 0;

	if (!bits)
		return PIC_NONE;
	while (!(bits & BIT((prio + c->priority_add) & 7)))
		prio++;
	return prio;
}

/* The input the chip would present now (INT asserted), or -1. */
static int pic_request(const struct hvx_pic *pic, unsigned int idx)
{
	const struct kvm_pic_state *c = &pic->chip[idx];
	unsigned int req;
	u8 isr = c->isr;

	req = pic_priority(c, c->irr & ~c->imr);
	if (req == PIC_NONE)
		return -1;
	/*
	 * Special fully nested mode: the master lets a higher-priority slave
	 * request through while the cascade input is in service.
	 */
	if (idx == PIC_MASTER && c->special_fully_nested_mode)
		isr &= ~BIT(PIC_CASCADE_IRQ);
	/* Special mask mode: a masked level in service blocks nothing. */
	if (c->special_mask)
		isr &= ~c->imr;
	if (req >= pic_priority(c, isr))
		return -1;
	return (req + c->priority_add) & 7;
}

/*
 * Drives input @irq of chip @c to @level.  An edge-triggered input latches
 * IRR on a rising edge only; a level-triggered one (ELCR) follows the line.
 * Returns as KVM_IRQ_LINE_STATUS: -1 masked, 0 already requested, else 1.
 */
static int pic_input(struct kvm_pic_state *c, unsigned int irq, bool level)
{
	u8 bit = BIT(irq);
	int ret = 1;

	if (level) {
		if ((c->elcr & bit) || !(c->last_irr & bit)) {
			ret = !(c->irr & bit);
			c->irr |= bit;
		}
		c->last_irr |= bit;
	} else {
		if (c->elcr & bit)
			c->irr &= ~bit;
		c->last_irr &= ~bit;
	}
	return (c->imr & bit) ? -1 : ret;
}

/* Recomputes the cascade and the master's INT output after any change. */
static void pic_update(struct hvx_pic *pic)
{
	bool out;

	/* The slave's INT is a pulse on the master's IR2, as KVM does. */
	if (pic_request(pic, PIC_SLAVE) >= 0) {
		pic_input(&pic->chip[PIC_MASTER], PIC_CASCADE_IRQ, true);
		pic_input(&pic->chip[PIC_MASTER], PIC_CASCADE_IRQ, false);
	}
	out = pic_request(pic, PIC_MASTER) >= 0;
	if (out && !pic->output)
		pic->raised = true;
	pic->output = out;
}

/* The INTA cycle's effect on chip @idx: IRR to ISR (or AEOI). */
static void pic_ack(struct hvx_pic *pic, unsigned int idx, unsigned int irq)
{
	struct kvm_pic_state *c = &pic->chip[idx];

	c->isr |= BIT(irq);
	/* A level-triggered request stays until its line drops. */
	if (!(c->elcr & BIT(irq)))
		c->irr &= ~BIT(irq);
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (irq + 1) & 7;
		pic_eoi(pic, idx, irq);
	}
}

/**
 * hvx_pic_take_irq() - the INTA cycle of the interrupt the pair presents
 * @pic:	the PIC.
 *
 * Called by the local APIC that takes ExtINT, with no local APIC lock
 * held (automatic EOI runs the acknowledge notifiers).  irqs off.
 *
 * Return: the vector; when the request went away before the INTA, the
 * spurious IRQ7 vector of the master (or IRQ15 of the slave), as the
 * 8259A gives.
 */
int hvx_pic_take_irq(struct hvx_pic *pic)
{
	struct kvm_pic_state *m = &pic->chip[PIC_MASTER];
	struct kvm_pic_state *s = &pic->chip[PIC_SLAVE];
	unsigned long flags;
	int irq, vector;

	flags = pic_lock(pic);
	pic->output = false;
	irq = pic_request(pic, PIC_MASTER);
	if (irq < 0) {
		/* The request went away before INTA: spurious IRQ7. */
		vector = m->irq_base + 7;
	} else if (irq == PIC_CASCADE_IRQ) {
		pic_ack(pic, PIC_MASTER, irq);
		irq = pic_request(pic, PIC_SLAVE);
		if (irq >= 0)
			pic_ack(pic, PIC_SLAVE, irq);
		else
			irq = 7;	/* spurious IRQ15 */
		vector = s->irq_base + irq;
	} else {
		pic_ack(pic, PIC_MASTER, irq);
		vector = m->irq_base + irq;
	}
	pic_notify_acks(pic, &flags);
	pic_update(pic);
	pic_unlock(pic, flags);
	return vector & 0xff;
}

/**
 * hvx_pic_has_irq() - the master's INT output
 * @pic:	the PIC.
 *
 * Lockless; any context.
 *
 * Return: whether the pair requests an interrupt.
 */
bool hvx_pic_has_irq(struct hvx_pic *pic)
{
	return READ_ONCE(pic->output);
}

/**
 * hvx_pic_set_irq_src() - drives an input of the pair from one source
 * @pic:	the PIC.
 * @irq:	0-15 (8-15 on the slave).
 * @src:	HVX_IRQ_SRC_*: the input's level is the OR of its sources'.
 * @level:	asserted (non-zero) or not.
 *
 * Any context.
 *
 * Return: as KVM_IRQ_LINE_STATUS: -1 when the input is masked, 0 when its
 * request was already pending, else 1; -EINVAL for a bad @irq or @src.
 */
int hvx_pic_set_irq_src(struct hvx_pic *pic, unsigned int irq,
			unsigned int src, int level)
{
	unsigned long flags;
	unsigned int i;
	u16 any = 0;
	int ret;

	if (irq >= 16 || src >= HVX_IRQ_NR_SRC)
		return -EINVAL;
	flags = pic_lock(pic);
	if (level)
		pic->src_level[src] |= BIT(irq);
	else
		pic->src_level[src] &= ~BIT(irq);
	for (i = 0; i < HVX_IRQ_NR_SRC; i++)
		any |= pic->src_level[i];
	ret = pic_input(&pic->chip[irq >> 3], irq & 7, any & BIT(irq));
	pic_update(pic);
	pic_unlock(pic, flags);
	return ret;
}

/*
 * ICW1 starts the initialization sequence.  As KVM: IMR, rotation,
 * special mask and the read register are reset, edge-triggered requests
 * are dropped (with their in-service bits), level-triggered ones stay;
 * without IC4 the ICW4 modes are cleared.
 */
static void pic_icw1(struct hvx_pic *pic, unsigned int idx, u8 val)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	u8 edge = c->irr & ~c->elcr;
	unsigned int irq;

	c->init4 = val & PIC_ICW1_IC4;
	c->last_irr = 0;
	c->irr &= c->elcr;
	for (irq = 0; irq < 8; irq++)
		if (edge & BIT(irq))
			pic_eoi(pic, idx, irq);
	c->imr = 0;
	c->priority_add = 0;
	c->special_mask = 0;
	c->read_reg_select = 0;
	if (!c->init4) {
		c->special_fully_nested_mode = 0;
		c->auto_eoi = 0;
	}
	c->init_state = 1;
}

/* OCW2: end of interrupt, rotation and priority commands (bits 7:5). */
static void pic_ocw2(struct hvx_pic *pic, unsigned int idx, u8 val)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	unsigned int cmd = val >> 5, prio, irq;

	switch (cmd) {
	case 0:		/* clear / set rotate in automatic EOI mode */
	case 4:
		c->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:		/* non-specific EOI, and with rotation */
	case 5:
		prio = pic_priority(c, c->isr);
		if (prio == PIC_NONE)
			break;
		irq = (prio + c->priority_add) & 7;
		if (cmd == 5)
			c->priority_add = (irq + 1) & 7;
		pic_eoi(pic, idx, irq);
		break;
	case 3:		/* specific EOI */
		pic_eoi(pic, idx, val & 7);
		break;
	case 6:		/* set priority: the given level becomes the lowest */
		c->priority_add = (val + 1) & 7;
		break;
	case 7:		/* rotate on specific EOI */
		irq = val & 7;
		c->priority_add = (irq + 1) & 7;
		pic_eoi(pic, idx, irq);
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void pic_write(struct hvx_pic *pic, unsigned int idx, unsigned int reg,
		      u8 val)
{
	struct kvm_pic_state *c = &pic->chip[idx];

	if (reg == 0) {
		if (val & PIC_ICW1) {
			/* Single mode and LTIM are not emulated (as KVM). */
			pic_icw1(pic, idx, val);
		} else if (val & PIC_OCW3) {
			if (val & PIC_OCW3_P)
				c->poll = 1;
			if (val & PIC_OCW3_RR)
				c->read_reg_select = val & PIC_OCW3_RIS;
			if (val & PIC_OCW3_ESMM)
				c->special_mask = !!(val & PIC_OCW3_SMM);
		} else {
			pic_ocw2(pic, idx, val);
		}
		return;
	}

	switch (c->init_state) {
	case 0:		/* OCW1 */
		c->imr = val;
		break;
	case 1:		/* ICW2: the vector base */
		c->irq_base = val & 0xf8;
		c->init_state = 2;
		break;
	case 2:		/* ICW3: the cascade is fixed on IR2 */
		c->init_state = c->init4 ? 3 : 0;
		break;
	case 3:		/* ICW4 */
		c->special_fully_nested_mode = !!(val & PIC_ICW4_SFNM);
		c->auto_eoi = !!(val & PIC_ICW4_AEOI);
		c->init_state = 0;
		break;
	default:	/* a state KVM_SET_IRQCHIP left: nothing, as KVM */
		break;
	}
}

/*
 * A read after an OCW3 poll command: acknowledges the highest request as
 * KVM does (its IRR and ISR bits cleared; for the slave, the master's
 * cascade bits too) and returns it with bit 7 set, or 0x07 with none.
 */
static u8 pic_poll(struct hvx_pic *pic, unsigned int idx)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	int irq = pic_request(pic, idx);

	if (irq < 0)
		return 0x07;
	if (idx == PIC_SLAVE) {
		pic->chip[PIC_MASTER].isr &= ~BIT(PIC_CASCADE_IRQ);
		pic->chip[PIC_MASTER].irr &= ~BIT(PIC_CASCADE_IRQ);
	}
	c->irr &= ~BIT(irq);
	pic_eoi(pic, idx, irq);
	return PIC_POLL_INT | irq;
}

static u8 pic_read(struct hvx_pic *pic, unsigned int idx, unsigned int reg)
{
	struct kvm_pic_state *c = &pic->chip[idx];

	if (c->poll) {
		c->poll = 0;
		return pic_poll(pic, idx);
	}
	if (reg)
		return c->imr;
	return c->read_reg_select ? c->isr : c->irr;
}

/*
 * Byte accesses only: other sizes are ignored (reads return 0), as KVM.
 * The register is the low address bit, whatever the bus passes as @addr
 * (each range is two ports, 2-aligned).
 */
static int pic_port_read(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
			 u64 addr, unsigned int len, void *val)
{
	struct hvx_pic_port *port = container_of(dev, struct hvx_pic_port, dev);
	struct hvx_pic *pic = port->pic;
	unsigned long flags;
	u8 data;

	if (len != 1) {
		memset(val, 0, len);
		return 0;
	}
	flags = pic_lock(pic);
	if (port->which == PIC_ELCR) {
		data = pic->chip[addr & 1].elcr;
	} else {
		data = pic_read(pic, port->which, addr & 1);
		pic_notify_acks(pic, &flags);
		pic_update(pic);
	}
	pic_unlock(pic, flags);
	*(u8 *)val = data;
	return 0;
}

static int pic_port_write(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
			  u64 addr, unsigned int len, const void *val)
{
	struct hvx_pic_port *port = container_of(dev, struct hvx_pic_port, dev);
	struct hvx_pic *pic = port->pic;
	u8 data = *(const u8 *)val;
	struct kvm_pic_state *c;
	unsigned long flags;

	if (len != 1)
		return 0;
	flags = pic_lock(pic);
	if (port->which == PIC_ELCR) {
		c = &pic->chip[addr & 1];
		c->elcr = data & c->elcr_mask;
	} else {
		pic_write(pic, port->which, addr & 1, data);
		pic_notify_acks(pic, &flags);
	}
	pic_update(pic);
	pic_unlock(pic, flags);
	return 0;
}

static const struct hvx_io_device_ops pic_port_ops = {
	.read = pic_port_read,
	.write = pic_port_write,
};

static const u16 pic_port_base[PIC_NR_PORTS] = {
	[PIC_MASTER] = 0x20,
	[PIC_SLAVE] = 0xa0,
	[PIC_ELCR] = 0x4d0,
};

/**
 * hvx_pic_create() - the PIC pair of a new in-kernel irqchip
 * @vm:	the VM; its PIO bus gets the ports.
 *
 * The chips start as KVM's do: all fields 0 (no input masked, vector base
 * 0, not initialized), the ELCR masks 0xf8 and 0xde (IRQ0-2, 8 and 13 are
 * always edge-triggered).  May sleep.
 *
 * Return: the PIC, or an ERR_PTR() (-ENOMEM, or the bus's error).
 */
struct hvx_pic *hvx_pic_create(struct hvx_vm *vm)
{
	struct hvx_pic *pic;
	int i, ret;

	pic = kzalloc(sizeof(*pic), GFP_KERNEL_ACCOUNT);
	if (!pic)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&pic->lock);
	pic->vm = vm;
	pic->chip[PIC_MASTER].elcr_mask = 0xf8;
	pic->chip[PIC_SLAVE].elcr_mask = 0xde;

	for (i = 0; i < PIC_NR_PORTS; i++) {
		pic->port[i].dev.ops = &pic_port_ops;
		pic->port[i].pic = pic;
		pic->port[i].which = i;
		ret = hvx_bus_register(vm, HVX_BUS_PIO, pic_port_base[i], 2,
				       &pic->port[i].dev);
		if (ret)
			goto err_unregister;
	}
	return pic;

err_unregister:
	while (i--)
		hvx_bus_unregister(vm, HVX_BUS_PIO, &pic->port[i].dev);
	kfree(pic);
	return ERR_PTR(ret);
}

/**
 * hvx_pic_destroy() - removes the ports from the bus and frees the PIC
 * @pic: the PIC, or NULL.
 */
void hvx_pic_destroy(struct hvx_pic *pic)
{
	int i;

	if (!pic)
		return;
	for (i = 0; i < PIC_NR_PORTS; i++)
		hvx_bus_unregister(pic->vm, HVX_BUS_PIO, &pic->port[i].dev);
	kfree(pic);
}

/**
 * hvx_pic_get() - KVM_GET_IRQCHIP of chip 0 (master) or 1 (slave)
 * @pic:	the PIC.
 * @chip:	KVM_IRQCHIP_PIC_MASTER or KVM_IRQCHIP_PIC_SLAVE.
 * @s:		filled with the chip's state.
 *
 * Return: 0, or -EINVAL for another @chip.
 */
int hvx_pic_get(struct hvx_pic *pic, unsigned int chip,
		struct kvm_pic_state *s)
{
	unsigned long flags;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	flags = pic_lock(pic);
	*s = pic->chip[chip];
	pic_unlock(pic, flags);
	return 0;
}

/**
 * hvx_pic_set() - KVM_SET_IRQCHIP of chip 0 (master) or 1 (slave)
 * @pic:	the PIC.
 * @chip:	KVM_IRQCHIP_PIC_MASTER or KVM_IRQCHIP_PIC_SLAVE.
 * @s:		the new state.
 *
 * Every field is taken as given, as KVM does (elcr_mask included); the
 * emulation stays within the chip whatever the values (priorities and
 * register selects are used modulo their width).
 *
 * Return: 0, or -EINVAL for another @chip.
 */
int hvx_pic_set(struct hvx_pic *pic, unsigned int chip,
		const struct kvm_pic_state *s)
{
	unsigned long flags;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	flags = pic_lock(pic);
	pic->chip[chip] = *s;
	pic_update(pic);
	pic_unlock(pic, flags);
	return 0;
}
