// SPDX-License-Identifier: GPL-2.0
/*
 * The ISA interrupt lines of the launcher's devices (PIT on IRQ 0, COM1 on
 * IRQ 4). Without an in-kernel irqchip they are inputs of the PIC in
 * pic.c. With one, each change of a line's level becomes KVM_IRQ_LINE on
 * the VM: the device's default GSI routing (Documentation/virt/kvm/api.rst,
 * KVM_CREATE_IRQCHIP) sends GSI n (n < 16) to PIC input n and IOAPIC pin
 * n, which is the routing the MP table describes (mptable.c). An edge is
 * a raise then a lower; only changes are sent, so a device that
 * re-evaluates its line on every register access costs no ioctl.
 * Callers hold the device lock (smp.c) when there are vCPU threads.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devices.h"

static int irq_vm_fd = -1;
static u16 irq_levels;

void irq_init(struct machine *m)
{
	irq_vm_fd = m->kernel_irqchip ? m->vm_fd : -1;
	irq_levels = 0;
}

void irq_set(int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = !!level };
	u16 bit = 1u << irq;

	if (irq_vm_fd < 0) {
		pic_set_irq(irq, level);
		return;
	}
	if (!!(irq_levels & bit) == !!level)
		return;
	irq_levels ^= bit;
	if (ioctl(irq_vm_fd, KVM_IRQ_LINE, &l))
		die("KVM_IRQ_LINE (IRQ %d, level %d): %s", irq, l.level,
		    strerror(errno));
}
