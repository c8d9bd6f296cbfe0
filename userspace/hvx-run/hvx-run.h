/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx-run: a userspace launcher for /dev/hvx (and /dev/kvm): one vCPU with
 * the PIC in userspace (--irqchip=user), or 1..SMP_MAX vCPUs with the
 * device's in-kernel irqchip (--irqchip=kernel). The declarations of the
 * layers above the device models, lowest first; a file calls only what is
 * declared before its own section, in machine.h or in devices.h (see
 * Documentation/hvx-run.rst, "Source layout").
 */
#ifndef HVX_RUN_H
#define HVX_RUN_H

#include "machine.h"
#include "devices.h"

/* Guest RAM above this address is placed above 4 GiB (PCI hole). */
#define LOW_RAM_MAX	(3 * GIB)
#define HIGH_RAM_BASE	(4 * GIB)

/* vm.c: the device, the VM, guest RAM and the vCPU fds */
void vm_create(struct machine *m);
void check_caps(struct machine *m, bool for_linux);
void *guest_ptr(struct machine *m, u64 gpa, u64 len);

/* cpu.c */
void cpu_setup_cpuid(struct machine *m);
void cpu_dump(int vcpu_fd);

/* mptable.c */
void mptable_setup(struct machine *m);

/* loader.c */
void load_guest(struct machine *m);

/* vcpu.c: the exits both models share, and the one-vCPU loop */
void vcpu_loop(struct machine *m);
void vcpu_handle_exit(struct vcpu *v);

/* smp.c: the vCPU threads and the device thread with an in-kernel irqchip */
void smp_run(struct machine *m);

#endif
