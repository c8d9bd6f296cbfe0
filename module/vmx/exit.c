// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: VM-exit handlers.
 *
 * vmx_handle_exit() dispatches on the basic exit reason through a table;
 * an empty slot becomes KVM_EXIT_INTERNAL_ERROR carrying the raw reason.
 * Handlers run with preemption disabled and the vCPU's VMCS current; they
 * return HVX_RUN_AGAIN to re-enter the guest, HVX_RUN_USER after filling
 * kvm_run for userspace, HVX_RUN_FAULT to have the core resolve a guest
 * page fault, or HVX_RUN_EMULATE to finish where sleeping is allowed.
 */
#include <linux/kvm.h>
#include <linux/nospec.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>

#include "vmcs.h"
#include "vmx.h"
#include "vmx_stats.h"

/* #DB exit qualification: B0-B3, BD, BS (Intel SDM Vol. 3C, 28.2.1). */
#define VMX_DB_QUAL_DR6_BITS	(0xfUL | BIT(13) | BIT(14))

static int vmx_inject_gp(struct vmx_vcpu *vcpu)
{
	vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
	return HVX_RUN_AGAIN;
}

static int vmx_inject_ud(struct vmx_vcpu *vcpu)
{
	vmx_inject_exception(vcpu, X86_TRAP_UD, false, 0);
	return HVX_RUN_AGAIN;
}

static int vmx_exit_internal_error(struct vmx_vcpu *vcpu, u32 suberror)
{
	struct kvm_run *run = vcpu->vcpu.run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = vcpu->exit_reason;
	run->internal.data[1] = smp_processor_id();
	return HVX_RUN_USER;
}

static int handle_resume(struct vmx_vcpu *vcpu)
{
	return HVX_RUN_AGAIN;
}

static int handle_skip(struct vmx_vcpu *vcpu)
{
	vmx_skip_instruction(vcpu);
	return HVX_RUN_AGAIN;
}

/* VMX instructions: the guest has no VMX (CPUID says so), hence #UD. */
static int handle_ud(struct vmx_vcpu *vcpu)
{
	return vmx_inject_ud(vcpu);
}

/*
 * #DB and #AC are intercepted only so that a guest cannot keep a CPU in an
 * endless exception delivery; they are reflected to the guest.  NMIs were
 * handed to the host already (vmx_enter_exit()).
 */
static int handle_exception_nmi(struct vmx_vcpu *vcpu)
{
	u32 info = vcpu->exit_intr_info;
	unsigned int vector = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return HVX_RUN_AGAIN;
	if (vector != X86_TRAP_DF)
		vmx_recover_nmi_blocking(vcpu, info);

	switch (vector) {
	case X86_TRAP_DB:
		/* The exit qualification holds what DR6 would. */
		vcpu->dr[6] = VMX_DR6_INIT |
			      (vmcs_readl(EXIT_QUALIFICATION) &
			       VMX_DB_QUAL_DR6_BITS);
		vmx_inject_exception(vcpu, X86_TRAP_DB, false, 0);
		return HVX_RUN_AGAIN;
	case X86_TRAP_AC:
		vmx_inject_exception(vcpu, X86_TRAP_AC, true,
				     vmcs_read32(VM_EXIT_INTR_ERROR_CODE));
		return HVX_RUN_AGAIN;
	case X86_TRAP_MC:
		/* The host's handler ran right after the exit. */
		return HVX_RUN_AGAIN;
	default:
		return vmx_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	}
}

static int handle_triple_fault(struct vmx_vcpu *vcpu)
{
	vcpu->vcpu.run->exit_reason = KVM_EXIT_SHUTDOWN;
	return HVX_RUN_USER;
}

/* CPUID answers from the vCPU's table (KVM_SET_CPUID2), as on KVM. */
static int handle_cpuid(struct vmx_vcpu *vcpu)
{
	vmx_cpuid_emulate(vcpu);
	return handle_skip(vcpu);
}

static int handle_hlt(struct vmx_vcpu *vcpu)
{
	struct hvx_vcpu *hv = &vcpu->vcpu;

	vmx_skip_instruction(vcpu);
	/* No in-kernel interrupt controller: userspace waits, as on KVM. */
	if (!hv->lapic) {
		hv->run->exit_reason = KVM_EXIT_HLT;
		return HVX_RUN_USER;
	}
	/*
	 * The core blocks the thread until an event wakes the vCPU; an
	 * interrupt only does if the guest halted with IF set.  One that is
	 * deliverable already ends the halt at once: the APIC's, or (split
	 * irqchip) the VMM's PIC's from KVM_INTERRUPT that LINT0 takes.
	 */
	hv->halt_if = vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF;
	if ((hv->halt_if &&
	     (hvx_lapic_has_irq(hv) ||
	      (vcpu->ev.irq_pending >= 0 && hvx_lapic_accepts_extint(hv)))) ||
	    vcpu->ev.nmi_pending || READ_ONCE(hv->requests))
		return HVX_RUN_AGAIN;
	return HVX_RUN_HALT;
}

/* Control-register accesses (Intel SDM Vol. 3C, Table 28-3). */
static int handle_cr(struct vmx_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	unsigned int cr = qual & 15, type = (qual >> 4) & 3;
	unsigned int reg = (qual >> 8) & 15;
	unsigned long val, cr0;
	int r = 0;

	switch (type) {
	case 0:		/* MOV to CR */
		val = vmx_reg_read(vcpu, reg);
		if (cr == 0) {
			r = vmx_set_cr0(vcpu, val);
		} else if (cr == 4) {
			r = val & vmx_cpuid_cr4_reserved(vcpu) ? -EINVAL :
			    vmx_set_cr4(vcpu, val);
		} else if (cr == 3) {
			vmcs_writel(GUEST_CR3, val);
		} else if (cr == 8) {
			unsigned long prev = vcpu->cr8;

			if (val & ~15UL)
				return vmx_inject_gp(vcpu);
			/* The APIC re-evaluates what it may deliver. */
			if (vcpu->vcpu.lapic) {
				hvx_lapic_set_cr8(&vcpu->vcpu, val);
				return handle_skip(vcpu);
			}
			vcpu->cr8 = val;
			/*
			 * As KVM without an in-kernel APIC: a lower TPR may
			 * unmask an interrupt the VMM holds back, so the VMM
			 * hears of it (KVM_EXIT_SET_TPR, kvm_run->cr8).
			 */
			if (val < prev) {
				handle_skip(vcpu);
				vcpu->vcpu.run->exit_reason = KVM_EXIT_SET_TPR;
				return HVX_RUN_USER;
			}
		} else {
			return vmx_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
		}
		break;
	case 1:		/* MOV from CR */
		if (cr == 3)
			vmx_reg_write(vcpu, reg, vmcs_readl(GUEST_CR3));
		else if (cr == 8)
			vmx_reg_write(vcpu, reg, vmx_get_cr8(vcpu));
		else
			return vmx_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
		break;
	case 2:		/* CLTS */
		r = vmx_set_cr0(vcpu, vmx_guest_cr0() & ~X86_CR0_TS);
		break;
	case 3:		/* LMSW: CR0[3:0], and it cannot clear PE */
		cr0 = vmx_guest_cr0();
		val = (qual >> 16) & 15;
		r = vmx_set_cr0(vcpu, (cr0 & ~14UL) | val | (cr0 & X86_CR0_PE));
		break;
	}
	if (r)
		return vmx_inject_gp(vcpu);
	return handle_skip(vcpu);
}

/*
 * MOV to/from DR: hvx keeps the guest's debug registers but does not load
 * them, so guest hardware breakpoints do not fire; the guest reads back
 * what it wrote.
 */
static int handle_dr(struct vmx_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	unsigned int dr = qual & 7, reg = (qual >> 8) & 15;
	bool cr4_de = vmx_guest_cr4() & X86_CR4_DE;
	unsigned long val;

	if (dr == 4 || dr == 5) {
		if (cr4_de)
			return vmx_inject_ud(vcpu);
		dr += 2;
	}
	if (qual & BIT(4)) {
		vmx_reg_write(vcpu, reg, vcpu->dr[dr]);
	} else {
		val = vmx_reg_read(vcpu, reg);
		if ((dr == 6 || dr == 7) && (val >> 32))
			return vmx_inject_gp(vcpu);
		if (dr == 6)
			val |= VMX_DR6_INIT;
		else if (dr == 7)
			val |= VMX_DR7_INIT;
		vcpu->dr[dr] = val;
	}
	return handle_skip(vcpu);
}

static int handle_rdmsr(struct vmx_vcpu *vcpu)
{
	u32 index = vcpu->regs[HVX_REG_RCX];
	u64 data;

	if (vmx_get_msr(vcpu, index, &data, false))
		return vmx_inject_gp(vcpu);
	vcpu->regs[HVX_REG_RAX] = (u32)data;
	vcpu->regs[HVX_REG_RDX] = data >> 32;
	return handle_skip(vcpu);
}

static int handle_wrmsr(struct vmx_vcpu *vcpu)
{
	u32 index = vcpu->regs[HVX_REG_RCX];
	u64 data = (u32)vcpu->regs[HVX_REG_RAX] |
		   (u64)(u32)vcpu->regs[HVX_REG_RDX] << 32;

	if (vmx_set_msr(vcpu, index, data, false))
		return vmx_inject_gp(vcpu);
	return handle_skip(vcpu);
}

/* XSETBV: the rules of Intel SDM Vol. 2C, XSETBV, for the state hvx has. */
static int handle_xsetbv(struct vmx_vcpu *vcpu)
{
	u64 xcr0 = (u32)vcpu->regs[HVX_REG_RAX] |
		   (u64)(u32)vcpu->regs[HVX_REG_RDX] << 32;

	if ((u32)vcpu->regs[HVX_REG_RCX] != XCR_XFEATURE_ENABLED_MASK ||
	    vmx_set_xcr0(vcpu, xcr0))
		return vmx_inject_gp(vcpu);
	return handle_skip(vcpu);
}

/* INVLPG exits only where the processor cannot turn that exit off. */
static int handle_invlpg(struct vmx_vcpu *vcpu)
{
	vpid_sync_context(vcpu->vpid);
	return handle_skip(vcpu);
}

/*
 * A guest access to a guest-physical page that is not mapped (or a write
 * to one mapped read-only): inside a memory slot the core maps it and the
 * guest retries the access; outside, or a write to a read-only slot, it is
 * MMIO.
 */
static int handle_ept_violation(struct vmx_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);

	vmx_recover_nmi_blocking(vcpu, qual);
	vcpu->vcpu.fault_gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	vcpu->vcpu.fault_write = qual & EPT_VIOLATION_ACC_WRITE;
	return HVX_RUN_FAULT;
}

/*
 * The guest can take the interrupt or NMI that waited: vmx_inject_events()
 * injects it, and turns the window exit off, before the next entry.
 */
static int handle_window(struct vmx_vcpu *vcpu)
{
	return HVX_RUN_AGAIN;
}

typedef int (*vmx_exit_handler)(struct vmx_vcpu *vcpu);

static const vmx_exit_handler vmx_exit_handlers[] = {
	[EXIT_REASON_EXCEPTION_NMI] = handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_resume,
	[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW] = handle_window,
	[EXIT_REASON_NMI_WINDOW] = handle_window,
	[EXIT_REASON_CPUID] = handle_cpuid,
	[EXIT_REASON_HLT] = handle_hlt,
	[EXIT_REASON_INVD] = handle_skip,
	[EXIT_REASON_INVLPG] = handle_invlpg,
	[EXIT_REASON_VMCALL] = handle_ud,
	[EXIT_REASON_VMCLEAR] = handle_ud,
	[EXIT_REASON_VMLAUNCH] = handle_ud,
	[EXIT_REASON_VMPTRLD] = handle_ud,
	[EXIT_REASON_VMPTRST] = handle_ud,
	[EXIT_REASON_VMREAD] = handle_ud,
	[EXIT_REASON_VMRESUME] = handle_ud,
	[EXIT_REASON_VMWRITE] = handle_ud,
	[EXIT_REASON_VMOFF] = handle_ud,
	[EXIT_REASON_VMON] = handle_ud,
	[EXIT_REASON_CR_ACCESS] = handle_cr,
	[EXIT_REASON_DR_ACCESS] = handle_dr,
	[EXIT_REASON_IO_INSTRUCTION] = vmx_handle_io,
	[EXIT_REASON_MSR_READ] = handle_rdmsr,
	[EXIT_REASON_MSR_WRITE] = handle_wrmsr,
	[EXIT_REASON_MWAIT_INSTRUCTION] = handle_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION] = handle_ud,
	[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_REASON_INVEPT] = handle_ud,
	[EXIT_REASON_PREEMPTION_TIMER] = handle_resume,
	[EXIT_REASON_INVVPID] = handle_ud,
	[EXIT_REASON_WBINVD] = handle_skip,
	[EXIT_REASON_XSETBV] = handle_xsetbv,
	[EXIT_REASON_VMFUNC] = handle_ud,
};

/**
 * vmx_handle_exit() - handle the VM exit that just happened
 * @vcpu: the vCPU, its VMCS current, preemption disabled.
 *
 * Return: HVX_RUN_AGAIN, HVX_RUN_USER, HVX_RUN_FAULT or
 * HVX_RUN_EMULATE.
 */
int vmx_handle_exit(struct vmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->vcpu.run;
	u32 reason = vcpu->exit_reason;
	unsigned int basic = (u16)reason;

	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		vmx_events_after_failed_entry(vcpu);
		/*
		 * VMfail (the VM-instruction error is in exit_qual) or a
		 * failed guest-state check: the full exit reason, bit 31 set,
		 * as KVM reports it.
		 */
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason =
			reason == VMX_EXIT_REASONS_FAILED_VMENTRY ?
			vcpu->exit_qual : reason;
		run->fail_entry.cpu = smp_processor_id();
		return HVX_RUN_USER;
	}

	vmx_events_after_exit(vcpu);

	if (basic < ARRAY_SIZE(vmx_exit_handlers)) {
		vmx_exit_handler handler;

		basic = array_index_nospec(basic, ARRAY_SIZE(vmx_exit_handlers));
		handler = vmx_exit_handlers[basic];
		if (handler)
			return handler(vcpu);
	}
	return vmx_exit_internal_error(vcpu,
				       KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
}
