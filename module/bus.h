/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core: in-kernel devices on the guest's port I/O and MMIO buses.
 *
 * The backend hands a guest's port or MMIO access that is outside every
 * memory slot to hvx_pio()/hvx_mmio() first; only when no in-kernel
 * device claims it does the access become KVM_EXIT_IO or KVM_EXIT_MMIO.
 * Devices: the vCPU's local APIC page, the PIC ports and the IOAPIC page
 * (module/irq/), and ioeventfds (module/ioeventfd.c).
 *
 * Lookups run under SRCU from the vCPU thread (preemption may be
 * disabled): device callbacks must not sleep.
 */
#ifndef HVX_BUS_H
#define HVX_BUS_H

#include <linux/kvm.h>
#include <linux/types.h>

struct hvx_vm;
struct hvx_vcpu;
struct hvx_io_device;

enum hvx_bus_kind {
	HVX_BUS_PIO,
	HVX_BUS_MMIO,
	HVX_NR_BUSES
};

/**
 * struct hvx_io_device_ops - an in-kernel device's accesses
 * @read:	a load of @len bytes at @addr into @val; 0 when handled,
 *		-EOPNOTSUPP to let the access go on (to userspace).
 * @write:	a store, likewise.  An ioeventfd with a datamatch that
 *		does not match returns -EOPNOTSUPP.
 */
struct hvx_io_device_ops {
	int (*read)(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
		    u64 addr, unsigned int len, void *val);
	int (*write)(struct hvx_io_device *dev, struct hvx_vcpu *vcpu,
		     u64 addr, unsigned int len, const void *val);
};

struct hvx_io_device {
	const struct hvx_io_device_ops *ops;
};

/*
 * Adds @dev for the accesses that lie in [@addr, @addr + @len), or, for
 * @len 0, that start at @addr, whatever their length (ranges may overlap:
 * the first registered that handles an access wins).  Returns 0, -ENOSPC
 * past the bus's limit, or -ENOMEM.  May sleep.
 */
int hvx_bus_register(struct hvx_vm *vm, enum hvx_bus_kind bus, u64 addr,
		     u64 len, struct hvx_io_device *dev);
/* Removes @dev; on return no vCPU is in its callbacks.  May sleep. */
void hvx_bus_unregister(struct hvx_vm *vm, enum hvx_bus_kind bus,
			struct hvx_io_device *dev);
void hvx_bus_destroy(struct hvx_vm *vm);	/* VM teardown */

/*
 * A guest access outside every slot: 0 when an in-kernel device (the
 * vCPU's local APIC first, for MMIO) handled it, -EOPNOTSUPP when
 * userspace must.  Little-endian @val of @len (1, 2, 4 or 8) bytes.
 */
int hvx_pio(struct hvx_vcpu *vcpu, u16 port, unsigned int len, void *val,
	    bool write);
int hvx_mmio(struct hvx_vcpu *vcpu, u64 gpa, unsigned int len, void *val,
	     bool write);

/* KVM_IOEVENTFD (module/ioeventfd.c) and KVM_IRQFD (module/irqfd.c). */
int hvx_ioeventfd(struct hvx_vm *vm, const struct kvm_ioeventfd *args);
int hvx_irqfd(struct hvx_vm *vm, const struct kvm_irqfd *args);
void hvx_eventfd_destroy(struct hvx_vm *vm);	/* VM teardown (eventfd.c) */

#endif /* HVX_BUS_H */
