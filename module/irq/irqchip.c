// SPDX-License-Identifier: GPL-2.0
/*
 * hvx x86 platform: the VM's in-kernel irqchip and its VM ioctls.
 *
 * KVM_CREATE_IRQCHIP makes the PIC pair, the IOAPIC and KVM's default
 * routing (routing.c), KVM_CAP_SPLIT_IRQCHIP an irqchip without them
 * (the local APICs only, an empty routing table), and VM teardown frees
 * them.  The ioctls copy and
 * check their arguments and hand them on: KVM_IRQ_LINE and KVM_SIGNAL_MSI
 * to the routing table and the local APICs, KVM_GET/SET_IRQCHIP to the
 * PIC and the IOAPIC, KVM_SET_GSI_ROUTING's table to routing.c, which
 * builds it before this file replaces the old one.
 *
 * Semantics are KVM's (Documentation/virt/kvm/api.rst; virt/kvm/irqchip.c,
 * arch/x86/kvm/irq_comm.c), including the return values userspace sees.
 */
#include <linux/err.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "hvx.h"
#include "irq/irq.h"
#include "irq/routing.h"

struct hvx_irqchip *hvx_irqchip_get(struct hvx_vm *vm)
{
	/* Published once, after the controllers and the table are ready. */
	return smp_load_acquire(&vm->irqchip);
}

/* As KVM: a vCPU is too late, -EINVAL or (for the split one) -EEXIST. */
static int hvx_irqchip_check_new(struct hvx_vm *vm, bool split)
{
	lockdep_assert_held(&vm->lock);
	if (vm->irqchip)
		return -EEXIST;
	/* The local APICs are made with the vCPUs. */
	if (vm->nr_vcpus)
		return split ? -EEXIST : -EINVAL;
	return 0;
}

static void hvx_irqchip_free(struct hvx_irqchip_state *st)
{
	hvx_ioapic_destroy(st->chip.ioapic);
	hvx_pic_destroy(st->chip.pic);
	kvfree(rcu_dereference_protected(st->chip.routing, true));
	kfree(st);
}

/*
 * KVM_CREATE_IRQCHIP, or with @split KVM_CAP_SPLIT_IRQCHIP (no devices, an
 * empty routing table).  The devices are made and put on the buses
 * without vm->lock (bus registration may take its own locks), then
 * published under it if the VM still has no irqchip and no vCPU.
 */
static int hvx_irqchip_create(struct hvx_vm *vm, bool split)
{
	struct hvx_irqchip_state *st;
	struct hvx_routing *rt;
	int ret;

	mutex_lock(&vm->lock);
	ret = hvx_irqchip_check_new(vm, split);
	mutex_unlock(&vm->lock);
	if (ret)
		return ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return -ENOMEM;
	mutex_init(&st->lock);
	INIT_HLIST_HEAD(&st->acks);

	rt = split ? hvx_routing_build(NULL, 0) : hvx_routing_default();
	if (IS_ERR(rt)) {
		kfree(st);
		return PTR_ERR(rt);
	}
	RCU_INIT_POINTER(st->chip.routing, rt);
	st->chip.split = split;
	if (split)
		goto publish;

	st->chip.pic = hvx_pic_create(vm);
	if (IS_ERR(st->chip.pic)) {
		ret = PTR_ERR(st->chip.pic);
		st->chip.pic = NULL;
		goto err_free;
	}
	st->chip.ioapic = hvx_ioapic_create(vm);
	if (IS_ERR(st->chip.ioapic)) {
		ret = PTR_ERR(st->chip.ioapic);
		st->chip.ioapic = NULL;
		goto err_free;
	}

publish:
	mutex_lock(&vm->lock);
	ret = hvx_irqchip_check_new(vm, split);
	if (!ret) {
		/* Readers acquire: they see the devices and the table. */
		smp_store_release(&vm->irqchip, &st->chip);
	}
	mutex_unlock(&vm->lock);
	if (ret)
		goto err_free;
	return 0;

err_free:
	hvx_irqchip_free(st);
	return ret;
}

int hvx_irqchip_enable_split(struct hvx_vm *vm, u64 nr_ioapic_pins)
{
	/*
	 * The VMM's IOAPIC owns the first @nr_ioapic_pins routes in KVM; hvx
	 * needs no count (see hvx_irqchip_eoi()), only KVM's bound on it.
	 */
	if (nr_ioapic_pins > HVX_MAX_IRQ_ROUTES)
		return -EINVAL;
	return hvx_irqchip_create(vm, true);
}

bool hvx_irqchip_split(struct hvx_vm *vm)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);

	return chip && chip->split;
}

/*
 * With a split irqchip the EOI of every level-triggered vector goes to
 * the VMM: in split mode the level-triggered interrupts are the MSIs the
 * VMM's IOAPIC sends for its level pins (KVM tracks the vectors of those
 * routes instead, and also does not exit for a level MSI from elsewhere).
 */
void hvx_irqchip_eoi(struct hvx_vcpu *vcpu, u8 vector)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vcpu->vm);

	if (!chip)
		return;
	if (!chip->split) {
		hvx_ioapic_eoi(vcpu->vm, vector);
		return;
	}
	/* Seen before the next entry: the vCPU's own thread sets it. */
	vcpu->eoi_vector = vector;
	set_bit(HVX_REQ_EOI_EXIT, &vcpu->requests);
}

/**
 * hvx_irqchip_destroy() - frees the VM's in-kernel irqchip, if any
 * @vm: the VM, being torn down: no vCPU runs and no irqfd is left.
 *
 * The bus devices are removed first.  May sleep.
 */
void hvx_irqchip_destroy(struct hvx_vm *vm)
{
	struct hvx_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	WRITE_ONCE(vm->irqchip, NULL);
	hvx_irqchip_free(container_of(chip, struct hvx_irqchip_state, chip));
}

/* KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS: status is hvx_irq_set()'s result. */
static int hvx_irq_line(struct hvx_vm *vm, struct kvm_irq_level *line)
{
	if (!hvx_irqchip_get(vm))
		return -ENXIO;
	line->status = hvx_irq_set(vm, line->irq, line->level);
	return 0;
}

static int hvx_get_irqchip(struct hvx_vm *vm, struct kvm_irqchip *c)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);

	/* As KVM: a split irqchip has no PIC or IOAPIC state here. */
	if (!chip || chip->split)
		return -ENXIO;
	switch (c->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		return hvx_pic_get(chip->pic, c->chip_id, &c->chip.pic);
	case KVM_IRQCHIP_IOAPIC:
		return hvx_ioapic_get(chip->ioapic, &c->chip.ioapic);
	default:
		return -EINVAL;
	}
}

static int hvx_set_irqchip(struct hvx_vm *vm, const struct kvm_irqchip *c)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);

	if (!chip || chip->split)
		return -ENXIO;
	switch (c->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		return hvx_pic_set(chip->pic, c->chip_id, &c->chip.pic);
	case KVM_IRQCHIP_IOAPIC:
		return hvx_ioapic_set(chip->ioapic, &c->chip.ioapic);
	default:
		return -EINVAL;
	}
}

/* KVM_SET_GSI_ROUTING on a kernel copy of the @nr entries. */
static int hvx_set_gsi_routing(struct hvx_vm *vm,
			       const struct kvm_irq_routing_entry *ue, u32 nr)
{
	struct hvx_irqchip *chip = hvx_irqchip_get(vm);
	struct hvx_irqchip_state *st;
	struct hvx_routing *rt;
	u32 i;

	if (!chip)
		return -EINVAL;
	/* As KVM: a split irqchip routes only MSIs (no PIC or IOAPIC pins). */
	for (i = 0; chip->split && i < nr; i++)
		if (ue[i].type == KVM_IRQ_ROUTING_IRQCHIP)
			return -EINVAL;
	st = container_of(chip, struct hvx_irqchip_state, chip);
	rt = hvx_routing_build(ue, nr);
	if (IS_ERR(rt))
		return PTR_ERR(rt);

	mutex_lock(&st->lock);
	rt = rcu_replace_pointer(chip->routing, rt,
				 lockdep_is_held(&st->lock));
	mutex_unlock(&st->lock);
	/* No hvx_irq_set() still walks the old table when it is freed. */
	synchronize_rcu();
	kvfree(rt);
	return 0;
}

/* KVM_SIGNAL_MSI: as KVM, the delivery count (or -1) is the result. */
static int hvx_signal_msi(struct hvx_vm *vm, const struct kvm_msi *msi)
{
	if (!hvx_irqchip_get(vm) || (msi->flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	return hvx_irq_msi(vm, msi->address_lo, msi->address_hi, msi->data);
}

static long hvx_ioctl_irq_line(struct hvx_vm *vm, unsigned int ioctl,
			       void __user *argp)
{
	struct kvm_irq_level line;
	int ret;

	if (copy_from_user(&line, argp, sizeof(line)))
		return -EFAULT;
	ret = hvx_irq_line(vm, &line);
	if (ret)
		return ret;
	if (ioctl == KVM_IRQ_LINE_STATUS &&
	    copy_to_user(argp, &line, sizeof(line)))
		return -EFAULT;
	return 0;
}

/* The rest of the union is returned as userspace passed it, as KVM. */
static long hvx_ioctl_irqchip(struct hvx_vm *vm, unsigned int ioctl,
			      void __user *argp)
{
	struct kvm_irqchip *c;
	long ret;

	c = memdup_user(argp, sizeof(*c));
	if (IS_ERR(c))
		return PTR_ERR(c);
	if (ioctl == KVM_SET_IRQCHIP) {
		ret = hvx_set_irqchip(vm, c);
	} else {
		ret = hvx_get_irqchip(vm, c);
		if (!ret && copy_to_user(argp, c, sizeof(*c)))
			ret = -EFAULT;
	}
	kfree(c);
	return ret;
}

static long hvx_ioctl_gsi_routing(struct hvx_vm *vm, void __user *argp)
{
	struct kvm_irq_routing __user *urouting = argp;
	struct kvm_irq_routing_entry *ue = NULL;
	struct kvm_irq_routing routing;
	long ret;

	if (copy_from_user(&routing, urouting, sizeof(routing)))
		return -EFAULT;
	if (!hvx_irqchip_get(vm) || routing.nr > HVX_MAX_IRQ_ROUTES ||
	    routing.flags)
		return -EINVAL;
	if (routing.nr) {
		ue = vmemdup_user(urouting->entries,
				  array_size(routing.nr, sizeof(*ue)));
		if (IS_ERR(ue))
			return PTR_ERR(ue);
	}
	ret = hvx_set_gsi_routing(vm, ue, routing.nr);
	kvfree(ue);
	return ret;
}

/**
 * hvx_irqchip_ioctl() - the VM ioctls of the in-kernel irqchip
 * @vm:		the VM.
 * @ioctl:	KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
 *		KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_SET_GSI_ROUTING or
 *		KVM_SIGNAL_MSI.
 * @argp:	its argument in userspace.
 *
 * Errors as KVM: -EEXIST (a second KVM_CREATE_IRQCHIP), -EINVAL
 * (KVM_CREATE_IRQCHIP after a vCPU; a bad route, chip id or flags;
 * routing or MSIs without an irqchip), -ENXIO (lines and irqchip state
 * without an irqchip), -EFAULT, -ENOMEM.
 *
 * Return: 0, KVM_SIGNAL_MSI's delivery count, -errno, or -ENOTTY for an
 * ioctl not listed.
 */
long hvx_irqchip_ioctl(struct hvx_vm *vm, unsigned int ioctl,
		       void __user *argp)
{
	struct kvm_msi msi;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return hvx_irqchip_create(vm, false);
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		return hvx_ioctl_irq_line(vm, ioctl, argp);
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return hvx_ioctl_irqchip(vm, ioctl, argp);
	case KVM_SET_GSI_ROUTING:
		return hvx_ioctl_gsi_routing(vm, argp);
	case KVM_SIGNAL_MSI:
		if (copy_from_user(&msi, argp, sizeof(msi)))
			return -EFAULT;
		return hvx_signal_msi(vm, &msi);
	default:
		return -ENOTTY;
	}
}
