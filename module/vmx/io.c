// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: port I/O (Intel SDM Vol. 3C, Table 28-5), reported to
 * userspace as KVM reports it: the exit handler, the completion on the
 * next KVM_RUN, and the string forms, which touch guest memory and are
 * finished outside the run loop where sleeping is allowed.
 */
#include <linux/kvm.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/processor-flags.h>

#include "bus.h"
#include "vmcs.h"
#include "vmx.h"

/* An IN's data into AL, AX or EAX (which clears bits 63:32). */
static void vmx_pio_store(struct vmx_vcpu *vcpu, unsigned int size,
			  const void *data)
{
	unsigned long *rax = &vcpu->regs[HVX_REG_RAX];

	switch (size) {
	case 1:
		*rax = (*rax & ~0xffUL) | *(const u8 *)data;
		break;
	case 2:
		*rax = (*rax & ~0xffffUL) | *(const u16 *)data;
		break;
	case 4:
		*rax = *(const u32 *)data;
		break;
	}
}

/* Port I/O an in-kernel device handles: done here, and the IN/OUT skipped. */
static bool vmx_pio_in_kernel(struct vmx_vcpu *vcpu, u16 port,
			      unsigned int size, bool in)
{
	u64 data = in ? 0 : vcpu->regs[HVX_REG_RAX];

	if (hvx_pio(&vcpu->vcpu, port, size, &data, !in))
		return false;
	if (in)
		vmx_pio_store(vcpu, size, &data);
	vmx_skip_instruction(vcpu);
	return true;
}

/**
 * vmx_handle_io() - an IN, OUT, INS or OUTS exit
 * @vcpu: the vCPU, its VMCS current.
 *
 * The exit to userspace reports the access as KVM does; the instruction
 * completes on the next KVM_RUN (vmx_complete_pio()).
 *
 * Return: HVX_RUN_USER, HVX_RUN_AGAIN when an in-kernel device handled
 * the port, or HVX_RUN_EMULATE for a string form.
 */
int vmx_handle_io(struct vmx_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	struct kvm_run *run = vcpu->vcpu.run;
	unsigned int size = (qual & 7) + 1;
	bool in = qual & BIT(3);

	/* String I/O touches guest memory: finished where it may sleep. */
	if (qual & BIT(4)) {
		u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);

		vcpu->sio = (struct vmx_string_io){
			.la = vmcs_readl(GUEST_LINEAR_ADDRESS),
			.rip = vmcs_readl(GUEST_RIP),
			.len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN),
			.port = qual >> 16,
			.size = size,
			/* Address size, instruction-information bits 9:7. */
			.asize = 2 << ((info >> 7) & 7),
			.in = in,
			.rep = qual & BIT(5),
			.df = vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_DF,
		};
		return HVX_RUN_EMULATE;
	}

	/* An in-kernel device's port (PIC, ioeventfd): no exit. */
	if (vmx_pio_in_kernel(vcpu, qual >> 16, size, in))
		return HVX_RUN_AGAIN;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = qual >> 16;
	run->io.count = 1;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	if (!in)
		memcpy(vcpu->vcpu.pio_data, &vcpu->regs[HVX_REG_RAX], size);

	vcpu->pio_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	vcpu->pio_in = in ? size : 0;
	vcpu->pio_rip = vmcs_readl(GUEST_RIP);
	return HVX_RUN_USER;
}

/**
 * vmx_complete_pio() - complete a port I/O instruction after userspace
 * handled its exit
 * @vcpu: the vCPU, its VMCS current.
 *
 * An input takes its data from the PIO page, and either kind is then
 * skipped.  As on KVM, nothing completes if userspace moved RIP meanwhile.
 */
void vmx_complete_pio(struct vmx_vcpu *vcpu)
{
	unsigned long rip = vmcs_readl(GUEST_RIP);

	if (rip == vcpu->pio_rip) {
		vmx_pio_store(vcpu, vcpu->pio_in, vcpu->vcpu.pio_data);
		vmx_skip_instruction(vcpu);
	}
	vcpu->pio_len = 0;
	vcpu->pio_in = 0;
}

/*
 * String port I/O (INS, OUTS, with or without REP), reported to userspace
 * as KVM reports it: an OUTS element per exit (count 1); an INS exit asks
 * for as many elements as fit in the rest of the destination page, at most
 * 1024 bytes and RCX (count).  The instruction completes, element by
 * element, on the next KVM_RUN; a REP form with elements left runs again.
 */

/**
 * vmx_emulate_string_io() - start a string I/O instruction for userspace
 * @hv: the vCPU; called from KVM_RUN with preemption enabled, after
 *	handle_io() recorded the exit in @hv's sio state.
 *
 * Return: HVX_RUN_USER (KVM_EXIT_IO or an emulation error), HVX_RUN_AGAIN
 * when there was nothing to transfer.
 */
int vmx_emulate_string_io(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct vmx_string_io *sio = &vcpu->sio;
	struct kvm_run *run = hv->run;
	struct vmx_fetch_state st;
	unsigned long count;
	unsigned int n;

	/* Host code ran on the guest's behalf: see vmx_l1d_flush_cond(). */
	vcpu->l1d_flush = true;
	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	vmx_read_fetch_state(&st);
	count = sio->rep ? vcpu->regs[HVX_REG_RCX] & vmx_addr_mask(sio->asize) : 1;
	if (!count)
		vmcs_writel(GUEST_RIP, sio->rip + sio->len);
	if (vmx_vmcs_leave(vcpu))
		return -EIO;
	if (!count)
		return HVX_RUN_AGAIN;

	if (sio->in) {
		unsigned int in_page = sio->df ? offset_in_page(sio->la) :
				       PAGE_SIZE - offset_in_page(sio->la);

		n = min3((unsigned long)in_page, 1024UL / sio->size, count);
		if (!n)
			n = 1;
	} else {
		n = 1;
		if (vmx_access_linear(hv->vm, &st, sio->la, hv->pio_data,
				      sio->size, false))
			goto err_emulation;
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = sio->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = sio->size;
	run->io.port = sio->port;
	run->io.count = n;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	sio->count = n;
	return HVX_RUN_USER;

err_emulation:
	sio->count = 0;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 2;
	run->internal.data[0] = sio->la;
	run->internal.data[1] = sio->rip;
	return HVX_RUN_USER;
}

/**
 * vmx_complete_string_io() - finish the elements userspace handled
 * @vcpu: the vCPU; preemption enabled (guest memory is written).
 *
 * Return: 0, or -EIO if the VMCS could not be used.
 */
int vmx_complete_string_io(struct vmx_vcpu *vcpu)
{
	struct vmx_string_io *sio = &vcpu->sio;
	struct hvx_vcpu *hv = &vcpu->vcpu;
	struct vmx_fetch_state st;
	unsigned long mask = vmx_addr_mask(sio->asize);
	unsigned int i, n = sio->count;
	int reg = sio->in ? HVX_REG_RDI : HVX_REG_RSI;
	long step = sio->df ? -(long)sio->size : sio->size;
	unsigned long rcx;

	sio->count = 0;
	if (vmx_get_fetch_state(vcpu, &st))
		return -EIO;
	if (st.rip != sio->rip)
		return 0;
	/*
	 * No more elements than RCX still asks for, should the VMM have
	 * lowered it meanwhile (as KVM, which emulates the instruction again
	 * with the registers as they are now): never past the guest's
	 * count, and RCX never wraps.
	 */
	if (sio->rep)
		n = min_t(unsigned long, n, vcpu->regs[HVX_REG_RCX] & mask);

	if (sio->in) {
		for (i = 0; i < n; i++)
			if (vmx_access_linear(hv->vm, &st, sio->la + i * step,
					      hv->pio_data + i * sio->size,
					      sio->size, true))
				break;
		n = i;
	}

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	vmx_reg_store_addr(vcpu, reg, sio->asize,
			   (vmx_reg_read(vcpu, reg) + n * step) & mask);
	rcx = vcpu->regs[HVX_REG_RCX];
	if (sio->rep) {
		rcx = ((rcx & mask) - n) & mask;
		vmx_reg_store_addr(vcpu, HVX_REG_RCX, sio->asize, rcx);
	}
	/* A REP form with elements left executes again. */
	if (!sio->rep || !rcx)
		vmcs_writel(GUEST_RIP, sio->rip + sio->len);
	return vmx_vmcs_leave(vcpu);
}
