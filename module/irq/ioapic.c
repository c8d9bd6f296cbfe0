// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the 24-pin IOAPIC of KVM_CREATE_IRQCHIP.
 *
 * What KVM's in-kernel IOAPIC is: version 0x11 (no EOI register: a level
 * interrupt's remote IRR is cleared by the local APICs' EOI broadcast, or
 * by switching the entry to edge), ID and arbitration registers, and 24
 * redirection entries behind IOREGSEL (offset 0x00) and IOWIN (0x10) at
 * 0xfec00000 (Intel 82093AA IOAPIC datasheet, order number 290566).  The
 * state is kept in the uapi struct kvm_ioapic_state itself so that
 * KVM_GET/SET_IRQCHIP is a copy with KVM's meaning of every field.
 *
 * Locking: one spinlock, taken with interrupts saved; it is held across
 * hvx_lapic_deliver() (so local APIC locks nest inside it), which is why
 * the local APIC must call hvx_ioapic_eoi() without holding its own lock.
 * The acknowledge notifiers of an EOI run with the lock dropped, before
 * remote IRR is cleared and the input looked at again (as KVM).
 */
#include <linux/bitfield.h>
#include <linux/bitops.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "bus.h"
#include "hvx.h"
#include "irq/irq.h"
#include "irq/irqchip_src.h"

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_SIZE		0x100
#define IOAPIC_PINS		KVM_IOAPIC_NUM_PINS
#define IOAPIC_VERSION		0x11

/* Registers: the MMIO offsets, then the indirect ones behind IOREGSEL. */
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_RTE		0x10	/* two registers per entry */

/* A redirection table entry. */
#define RTE_VECTOR		GENMASK_ULL(7, 0)
#define RTE_DELIVERY_MODE	GENMASK_ULL(10, 8)
#define RTE_DEST_LOGICAL	BIT_ULL(11)
#define RTE_DELIVERY_STATUS	BIT_ULL(12)
#define RTE_REMOTE_IRR		BIT_ULL(14)
#define RTE_LEVEL		BIT_ULL(15)
#define RTE_MASKED		BIT_ULL(16)
#define RTE_DEST		GENMASK_ULL(63, 56)
/* Read-only to the guest: all other bits are stored as written (KVM). */
#define RTE_READ_ONLY		(RTE_DELIVERY_STATUS | RTE_REMOTE_IRR)

/*
 * A level interrupt still asserted at this many EOIs in a row is not
 * delivered again at once but after IOAPIC_EOI_DELAY: real hardware does
 * not re-deliver during the EOI broadcast, and a guest that never quiets
 * its device then makes slow progress instead of none (as KVM).
 */
#define IOAPIC_EOI_STORM	10000
#define IOAPIC_EOI_DELAY	(HZ / 100)

/**
 * struct hvx_ioapic - the IOAPIC
 * @lock:	protects everything below but @work.
 * @vm:		the VM, for delivery.
 * @st:		base, IOREGSEL, ID, the pin levels (irr) and the table.
 * @irr_delivered: edge pins whose asserted level was delivered (not
 *		reported as pending by KVM_GET_IRQCHIP).
 * @src_level:	by source, the pins it asserts.
 * @eoi_count:	successive EOIs of each level pin that found it asserted.
 * @eoi_work:	the deferred re-delivery after an EOI storm.
 * @dev:	the MMIO bus device.
 */
struct hvx_ioapic {
	spinlock_t lock;	/* see above */
	struct hvx_vm *vm;
	struct kvm_ioapic_state st;
	u32 irr_delivered;
	u32 src_level[HVX_IRQ_NR_SRC];
	u16 eoi_count[IOAPIC_PINS];
	struct delayed_work eoi_work;
	struct hvx_io_device dev;
};

/*
 * Sends pin @pin's interrupt to the local APICs if its entry lets it:
 * not masked, and for a level entry not waiting for an EOI (remote IRR).
 * Returns as hvx_lapic_deliver(), or -1 when the entry held it back.
 */
static int ioapic_deliver(struct hvx_ioapic *io, unsigned int pin)
{
	u64 *rte = &io->st.redirtbl[pin].bits;
	struct hvx_apic_irq irq;
	int ret;

	if ((*rte & RTE_MASKED) ||
	    ((*rte & RTE_LEVEL) && (*rte & RTE_REMOTE_IRR)))
		return -1;

	irq = (struct hvx_apic_irq) {
		.dest = FIELD_GET(RTE_DEST, *rte),
		.vector = FIELD_GET(RTE_VECTOR, *rte),
		.delivery_mode = FIELD_GET(RTE_DELIVERY_MODE, *rte),
		.dest_logical = !!(*rte & RTE_DEST_LOGICAL),
		.level = true,
		.trig_level = !!(*rte & RTE_LEVEL),
		.shorthand = HVX_APIC_SH_NONE,
	};
	if (!irq.trig_level)
		io->irr_delivered |= BIT(pin);
	ret = hvx_lapic_deliver(io->vm, NULL, &irq);
	/*
	 * Remote IRR until the EOI.  As KVM, also when no APIC was
	 * addressed (-1); not when the addressed ones all refused it (0).
	 */
	if (ret && irq.trig_level)
		*rte |= RTE_REMOTE_IRR;
	return ret;
}

/*
 * Pin @pin's input goes to @level (polarity is not emulated: 1 is
 * asserted, as KVM).  An edge pin delivers on a rising edge; a level pin
 * whenever it is asserted and its entry allows.
 */
static int ioapic_input(struct hvx_ioapic *io, unsigned int pin, bool level)
{
	u32 bit = BIT(pin);

	if (!level) {
		io->st.irr &= ~bit;
		return 1;
	}
	if (!(io->st.redirtbl[pin].bits & RTE_LEVEL)) {
		/* As KVM 6.1: even a coalesced edge shows as pending. */
		io->irr_delivered &= ~bit;
		if (io->st.irr & bit)
			return 0;	/* no edge: coalesced */
	}
	io->st.irr |= bit;
	return ioapic_deliver(io, pin);
}

/**
 * hvx_ioapic_set_irq_src() - drives an IOAPIC input from one source
 * @ioapic:	the IOAPIC.
 * @pin:	0-23.
 * @src:	HVX_IRQ_SRC_*: the input's level is the OR of its sources'.
 * @level:	asserted (non-zero) or not.
 *
 * Any context.
 *
 * Return: as KVM_IRQ_LINE_STATUS: what hvx_lapic_deliver() returned (the
 * number of APICs that took it, or -1), 0 when coalesced, -1 when masked
 * or held back by remote IRR, 1 for a de-assert; -EINVAL for a bad @pin
 * or @src.
 */
int hvx_ioapic_set_irq_src(struct hvx_ioapic *ioapic, unsigned int pin,
			   unsigned int src, int level)
{
	unsigned long flags;
	unsigned int i;
	u32 any = 0;
	int ret;

	if (pin >= IOAPIC_PINS || src >= HVX_IRQ_NR_SRC)
		return -EINVAL;
	spin_lock_irqsave(&ioapic->lock, flags);
	if (level)
		ioapic->src_level[src] |= BIT(pin);
	else
		ioapic->src_level[src] &= ~BIT(pin);
	for (i = 0; i < HVX_IRQ_NR_SRC; i++)
		any |= ioapic->src_level[i];
	ret = ioapic_input(ioapic, pin, any & BIT(pin));
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return ret;
}

/* Re-delivers the asserted level pins held back by an EOI storm. */
static void ioapic_eoi_work(struct work_struct *work)
{
	struct hvx_ioapic *io = container_of(to_delayed_work(work),
					     struct hvx_ioapic, eoi_work);
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 rte = io->st.redirtbl[pin].bits;

		if ((rte & RTE_LEVEL) && !(rte & RTE_REMOTE_IRR) &&
		    (io->st.irr & BIT(pin)))
			ioapic_deliver(io, pin);
	}
	spin_unlock_irqrestore(&io->lock, flags);
}

/* Pin @pin is a level entry with @vector. */
static bool ioapic_eoi_match(const struct hvx_ioapic *io, unsigned int pin,
			     u8 vector)
{
	u64 rte = io->st.redirtbl[pin].bits;

	return FIELD_GET(RTE_VECTOR, rte) == vector && (rte & RTE_LEVEL);
}

/**
 * hvx_ioapic_eoi() - a local APIC broadcast the EOI of a level interrupt
 * @vm:		the VM.
 * @vector:	the vector whose ISR bit the EOI cleared (its TMR bit set).
 *
 * Runs the acknowledge notifiers of every level entry with @vector, then
 * clears their remote IRR and delivers again those whose input is still
 * asserted.  The caller holds no local APIC lock (delivery takes them).
 * irqs off.
 */
void hvx_ioapic_eoi(struct hvx_vm *vm, u8 vector)
{
	/* Pairs with the release that publishes the irqchip. */
	struct hvx_irqchip *chip = smp_load_acquire(&vm->irqchip);
	unsigned long flags, pins = 0;
	struct hvx_ioapic *io;
	unsigned int pin;

	if (!chip || !chip->ioapic)
		return;
	io = chip->ioapic;
	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < IOAPIC_PINS; pin++)
		if (ioapic_eoi_match(io, pin, vector))
			pins |= BIT(pin);
	spin_unlock_irqrestore(&io->lock, flags);
	if (!pins)
		return;

	/* A resampling irqfd de-asserts its line here. */
	for_each_set_bit(pin, &pins, IOAPIC_PINS)
		hvx_irqchip_acked(vm, KVM_IRQCHIP_IOAPIC, pin);

	spin_lock_irqsave(&io->lock, flags);
	for_each_set_bit(pin, &pins, IOAPIC_PINS) {
		u64 *rte = &io->st.redirtbl[pin].bits;

		if (!ioapic_eoi_match(io, pin, vector))
			continue;	/* rewritten meanwhile */
		*rte &= ~RTE_REMOTE_IRR;
		if ((*rte & RTE_MASKED) || !(io->st.irr & BIT(pin))) {
			io->eoi_count[pin] = 0;
			continue;
		}
		if (++io->eoi_count[pin] == IOAPIC_EOI_STORM) {
			io->eoi_count[pin] = 0;
			schedule_delayed_work(&io->eoi_work, IOAPIC_EOI_DELAY);
		} else {
			ioapic_deliver(io, pin);
		}
	}
	spin_unlock_irqrestore(&io->lock, flags);
}

/* The redirection entry IOREGSEL selects, or -1 for another register. */
static int ioapic_rte_index(const struct hvx_ioapic *io)
{
	u32 index = (io->st.ioregsel - IOAPIC_REG_RTE) >> 1;

	if (index >= IOAPIC_PINS)
		return -1;
	return array_index_nospec(index, IOAPIC_PINS);
}

static u32 ioapic_read_window(const struct hvx_ioapic *io)
{
	u64 rte = ~0ULL;	/* past the table: all ones, as KVM */
	int index;

	switch (io->st.ioregsel) {
	case IOAPIC_REG_VER:
		return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (io->st.id & 0xf) << 24;
	}
	index = ioapic_rte_index(io);
	if (index >= 0)
		rte = io->st.redirtbl[index].bits;
	return (io->st.ioregsel & 1) ? upper_32_bits(rte) : lower_32_bits(rte);
}

static void ioapic_write_window(struct hvx_ioapic *io, u32 val)
{
	u64 old, rte;
	int index;

	switch (io->st.ioregsel) {
	case IOAPIC_REG_ID:
		io->st.id = (val >> 24) & 0xf;
		return;
	case IOAPIC_REG_VER:
	case IOAPIC_REG_ARB:
		return;
	}
	index = ioapic_rte_index(io);
	if (index < 0)
		return;

	old = io->st.redirtbl[index].bits;
	if (io->st.ioregsel & 1)
		rte = ((u64)val << 32) | lower_32_bits(old);
	else
		rte = (old & ~0xffffffffULL) | val;
	rte = (rte & ~RTE_READ_ONLY) | (old & RTE_READ_ONLY);
	/*
	 * Switching an entry to edge clears remote IRR: OSes (Linux, Xen)
	 * use that as an EOI on IOAPICs without the EOI register.
	 */
	if (!(rte & RTE_LEVEL))
		rte &= ~RTE_REMOTE_IRR;
	io->st.redirtbl[index].bits = rte;

	/* An asserted level input waiting for this entry to allow it. */
	if ((rte & RTE_LEVEL) && !(rte & (RTE_MASKED | RTE_REMOTE_IRR)) &&
	    (io->st.irr & BIT(index)))
		ioapic_deliver(io, index);
}

/*
 * 32-bit registers at offsets 0x00 and 0x10; any other offset reads 0 and
 * ignores writes.  As KVM, narrower accesses see the low bytes, an 8-byte
 * read the register zero-extended, an 8-byte write its low half.
 */
static int ioapic_mmio_read(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
			    u64 addr, unsigned int len, void *val)
{
	struct hvx_ioapic *io = container_of(dev, struct hvx_ioapic, dev);
	unsigned long flags;
	u64 data = 0;

	spin_lock_irqsave(&io->lock, flags);
	if (addr - io->st.base_address >= IOAPIC_SIZE) {
		/* Moved by KVM_SET_IRQCHIP: not here any more. */
		spin_unlock_irqrestore(&io->lock, flags);
		return -EOPNOTSUPP;
	}
	switch (addr & 0xff) {
	case IOAPIC_IOREGSEL:
		data = io->st.ioregsel;
		break;
	case IOAPIC_IOWIN:
		data = ioapic_read_window(io);
		break;
	}
	spin_unlock_irqrestore(&io->lock, flags);

	memset(val, 0, len);
	if (len <= sizeof(data))
		memcpy(val, &data, len);
	return 0;
}

static int ioapic_mmio_write(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
			     u64 addr, unsigned int len, const void *val)
{
	struct hvx_ioapic *io = container_of(dev, struct hvx_ioapic, dev);
	unsigned long flags;
	u32 data;

	switch (len) {
	case 8:
	case 4:
		data = *(const u32 *)val;
		break;
	case 2:
		data = *(const u16 *)val;
		break;
	case 1:
		data = *(const u8 *)val;
		break;
	default:
		return 0;
	}

	spin_lock_irqsave(&io->lock, flags);
	if (addr - io->st.base_address >= IOAPIC_SIZE) {
		spin_unlock_irqrestore(&io->lock, flags);
		return -EOPNOTSUPP;
	}
	switch (addr & 0xff) {
	case IOAPIC_IOREGSEL:
		io->st.ioregsel = data & 0xff;
		break;
	case IOAPIC_IOWIN:
		ioapic_write_window(io, data);
		break;
	}
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

static const struct hvx_io_device_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

/**
 * hvx_ioapic_create() - the IOAPIC of a new in-kernel irqchip
 * @vm:	the VM; its MMIO bus gets 0xfec00000-0xfec000ff.
 *
 * Reset state, as KVM: every entry masked (all other bits 0), ID 0,
 * IOREGSEL 0, no input asserted.  May sleep.
 *
 * Return: the IOAPIC, or an ERR_PTR() (-ENOMEM, or the bus's error).
 */
struct hvx_ioapic *hvx_ioapic_create(struct hvx_vm *vm)
{
	struct hvx_ioapic *io;
	unsigned int pin;
	int ret;

	io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	if (!io)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&io->lock);
	INIT_DELAYED_WORK(&io->eoi_work, ioapic_eoi_work);
	io->vm = vm;
	io->st.base_address = IOAPIC_BASE;
	for (pin = 0; pin < IOAPIC_PINS; pin++)
		io->st.redirtbl[pin].bits = RTE_MASKED;
	io->dev.ops = &ioapic_mmio_ops;

	ret = hvx_bus_register(vm, HVX_BUS_MMIO, IOAPIC_BASE, IOAPIC_SIZE,
			       &io->dev);
	if (ret) {
		kfree(io);
		return ERR_PTR(ret);
	}
	return io;
}

/**
 * hvx_ioapic_destroy() - removes the IOAPIC from the bus and frees it
 * @ioapic: the IOAPIC, or NULL.
 *
 * Nothing may call into it any more (no vCPU runs, no irqfd is left).
 */
void hvx_ioapic_destroy(struct hvx_ioapic *ioapic)
{
	if (!ioapic)
		return;
	hvx_bus_unregister(ioapic->vm, HVX_BUS_MMIO, &ioapic->dev);
	cancel_delayed_work_sync(&ioapic->eoi_work);
	kfree(ioapic);
}

/**
 * hvx_ioapic_get() - KVM_GET_IRQCHIP of chip 2
 * @ioapic:	the IOAPIC.
 * @s:		filled with its state; irr holds the asserted inputs but
 *		the edge ones already delivered, as KVM reports it.
 *
 * Return: 0.
 */
int hvx_ioapic_get(struct hvx_ioapic *ioapic, struct kvm_ioapic_state *s)
{
	unsigned long flags;

	spin_lock_irqsave(&ioapic->lock, flags);
	*s = ioapic->st;
	s->irr &= ~ioapic->irr_delivered;
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return 0;
}

/**
 * hvx_ioapic_set() - KVM_SET_IRQCHIP of chip 2
 * @ioapic:	the IOAPIC.
 * @s:		the new state, taken as given as KVM does (a base_address
 *		other than 0xfec00000 takes the IOAPIC off the bus); the
 *		pins set in irr (0-23) are asserted anew, so that the ones
 *		their entries allow are delivered.
 *
 * Return: 0.
 */
int hvx_ioapic_set(struct hvx_ioapic *ioapic, const struct kvm_ioapic_state *s)
{
	unsigned long flags, irr = s->irr;
	unsigned int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	ioapic->st = *s;
	ioapic->st.irr = 0;
	ioapic->irr_delivered = 0;
	for_each_set_bit(pin, &irr, IOAPIC_PINS)
		ioapic_input(ioapic, pin, true);
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return 0;
}
