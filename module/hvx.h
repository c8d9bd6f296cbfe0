/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core: the contract between the architecture-neutral core (module/) and
 * the hardware backend (module/vmx/).  The core never includes a backend
 * header; it reaches the backend only through struct hvx_backend_ops.
 */
#ifndef HVX_CORE_H
#define HVX_CORE_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>

/**
 * struct hvx_backend_ops - what a hardware backend provides to the core
 * @name:		short name for log messages ("vmx").
 * @hardware_setup:	called once at module load, before any CPU is
 *			enabled.  Checks that the hardware has every feature
 *			hvx needs (logging one line per missing feature) and
 *			allocates per-CPU resources.  Returns 0 or -errno.
 * @hardware_unsetup:	undoes @hardware_setup; all CPUs are disabled.
 * @cpu_enable:		enters hardware virtualization (VMX root) on the
 *			calling CPU.  Called with interrupts disabled, only
 *			when the core knows the CPU is not enabled.  Returns
 *			0, or -errno with one log line saying why.
 * @cpu_disable:	leaves hardware virtualization on the calling CPU.
 *			Called with interrupts disabled, only on an enabled
 *			CPU.  Must not fail.
 */
struct hvx_backend_ops {
	const char *name;
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
};

/* The VT-x backend (module/vmx/vmx.c). */
extern const struct hvx_backend_ops vmx_backend_ops;

/**
 * struct hvx_vm - one virtual machine, owned by its VM file descriptor
 * @refcount:	one reference per open VM or vCPU file.
 * @mm:		the address space that created the VM; the VM is usable only
 *		from it (other callers get -EIO, as with KVM).
 * @lock:	serializes changes to the VM's configuration.
 */
struct hvx_vm {
	struct kref refcount;
	struct mm_struct *mm;
	struct mutex lock;	/* see @lock above */
};

int hvx_vm_create(unsigned long type);

#endif /* HVX_CORE_H */
