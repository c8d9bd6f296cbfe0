// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the in-kernel devices on a VM's port I/O and MMIO buses.
 *
 * Each bus is an array of address ranges, replaced whole when a device
 * comes or goes (both rare: KVM_CREATE_IRQCHIP, KVM_IOEVENTFD) and read
 * under SRCU by the vCPU threads on every port or MMIO access that is not
 * in a memory slot.  The first device whose range holds the access and
 * which handles it wins; nothing handling it means an exit to userspace.
 */
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/srcu.h>

#include "bus.h"
#include "hvx.h"
#include "irq/irq.h"

/* As KVM's NR_IOBUS_DEVS: ioeventfds are created by userspace. */
#define HVX_BUS_MAX_DEVS	1000

struct hvx_bus_range {
	u64 addr;
	u64 len;
	struct hvx_io_device *dev;
};

struct hvx_bus {
	unsigned int n;
	struct hvx_bus_range r[];
};

/* Serializes bus changes of every VM: they are rare, lookups never wait. */
static DEFINE_MUTEX(hvx_bus_lock);

static struct hvx_bus *hvx_bus_get(struct hvx_vm *vm, enum hvx_bus_kind bus)
{
	return rcu_dereference_protected(vm->buses[bus],
					 lockdep_is_held(&hvx_bus_lock));
}

int hvx_bus_register(struct hvx_vm *vm, enum hvx_bus_kind bus, u64 addr,
		     u64 len, struct hvx_io_device *dev)
{
	struct hvx_bus *old, *new;
	unsigned int n;

	if (len && addr + len < addr)
		return -EINVAL;
	mutex_lock(&hvx_bus_lock);
	old = hvx_bus_get(vm, bus);
	n = old ? old->n : 0;
	if (n >= HVX_BUS_MAX_DEVS) {
		mutex_unlock(&hvx_bus_lock);
		return -ENOSPC;
	}
	new = kmalloc(struct_size(new, r, n + 1), GFP_KERNEL_ACCOUNT);
	if (!new) {
		mutex_unlock(&hvx_bus_lock);
		return -ENOMEM;
	}
	if (n)
		memcpy(new->r, old->r, n * sizeof(new->r[0]));
	new->r[n] = (struct hvx_bus_range){ addr, len, dev };
	new->n = n + 1;
	rcu_assign_pointer(vm->buses[bus], new);
	mutex_unlock(&hvx_bus_lock);
	if (old) {
		synchronize_srcu_expedited(&vm->bus_srcu);
		kfree(old);
	}
	return 0;
}

void hvx_bus_unregister(struct hvx_vm *vm, enum hvx_bus_kind bus,
			struct hvx_io_device *dev)
{
	struct hvx_bus *old, *new = NULL;
	unsigned int i, keep = 0;

	mutex_lock(&hvx_bus_lock);
	old = hvx_bus_get(vm, bus);
	for (i = 0; old && i < old->n; i++)
		keep += old->r[i].dev != dev;
	if (!old || keep == old->n) {
		mutex_unlock(&hvx_bus_lock);
		return;
	}
	/*
	 * Removal cannot fail: without memory for the smaller copy, the
	 * device's entries are emptied in place (lookups skip them).
	 */
	if (keep)
		new = kmalloc(struct_size(new, r, keep), GFP_KERNEL);
	if (new)
		new->n = 0;
	if (new || !keep) {
		for (i = 0; new && i < old->n; i++)
			if (old->r[i].dev != dev)
				new->r[new->n++] = old->r[i];
		rcu_assign_pointer(vm->buses[bus], new);
	} else {
		for (i = 0; i < old->n; i++)
			if (old->r[i].dev == dev)
				WRITE_ONCE(old->r[i].dev, NULL);
	}
	mutex_unlock(&hvx_bus_lock);
	synchronize_srcu_expedited(&vm->bus_srcu);
	if (new || !keep)
		kfree(old);
}

void hvx_bus_destroy(struct hvx_vm *vm)
{
	unsigned int i;

	for (i = 0; i < HVX_NR_BUSES; i++) {
		kfree(rcu_dereference_protected(vm->buses[i], true));
		RCU_INIT_POINTER(vm->buses[i], NULL);
	}
}

static bool hvx_range_holds(const struct hvx_bus_range *r, u64 addr,
			    unsigned int len)
{
	/* A zero-length range (an any-length ioeventfd) is its address. */
	if (!r->len)
		return addr == r->addr;
	return addr >= r->addr && addr - r->addr < r->len &&
	       len <= r->len - (addr - r->addr);
}

static int hvx_bus_access(struct hvx_vcpu *vcpu, enum hvx_bus_kind kind,
			  u64 addr, unsigned int len, void *val, bool write)
{
	struct hvx_vm *vm = vcpu->vm;
	const struct hvx_bus *bus;
	int r = -EOPNOTSUPP;
	unsigned int i;
	int idx;

	if (!rcu_access_pointer(vm->buses[kind]))
		return -EOPNOTSUPP;
	idx = srcu_read_lock(&vm->bus_srcu);
	bus = srcu_dereference(vm->buses[kind], &vm->bus_srcu);
	for (i = 0; bus && i < bus->n; i++) {
		struct hvx_io_device *dev = READ_ONCE(bus->r[i].dev);

		if (!dev || !hvx_range_holds(&bus->r[i], addr, len))
			continue;
		if (write)
			r = dev->ops->write ?
			    dev->ops->write(dev, vcpu, addr, len, val) :
			    -EOPNOTSUPP;
		else
			r = dev->ops->read ?
			    dev->ops->read(dev, vcpu, addr, len, val) :
			    -EOPNOTSUPP;
		if (!r)
			break;
	}
	srcu_read_unlock(&vm->bus_srcu, idx);
	return r ? -EOPNOTSUPP : 0;
}

int hvx_pio(struct hvx_vcpu *vcpu, u16 port, unsigned int len, void *val,
	    bool write)
{
	return hvx_bus_access(vcpu, HVX_BUS_PIO, port, len, val, write);
}

int hvx_mmio(struct hvx_vcpu *vcpu, u64 gpa, unsigned int len, void *val,
	     bool write)
{
	if (vcpu->lapic && !hvx_lapic_mmio(vcpu, gpa, len, val, write))
		return 0;
	return hvx_bus_access(vcpu, HVX_BUS_MMIO, gpa, len, val, write);
}
