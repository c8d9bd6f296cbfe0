// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: the run loop and the host-state switch around it.
 *
 * vmx_vcpu_run() makes the VMCS current (vmcs.c), switches the host state
 * VMX does not switch, then loops with interrupts disabled around each
 * entry: events to inject (events.c), the L1D flush, vmx_vmenter()
 * (vmenter.S), NMIs and machine checks handed back to the host; then,
 * interrupts enabled, the exit handler (exit.c) says whether to go on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/vtime.h>
#include <asm/apic.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/hardirq.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "hvx.h"
#include "msr.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_stats.h"

/* vmenter.S cannot include <asm/vmx.h>; its copy of the encoding. */
static_assert(HVX_VMCS_HOST_RSP == HOST_RSP);

/*
 * L1 Terminal Fault: on affected processors a guest can read whatever the
 * host left in the L1 data cache, whatever EPT says.  The cache is flushed
 * before a VM entry that follows host activity (see vmx_l1d_flush_cond()).
 * l1d_flush=0 turns this off, as kvm_intel.vmentry_l1d_flush=never does.
 */
static bool l1d_flush = true;
module_param(l1d_flush, bool, 0444);
MODULE_PARM_DESC(l1d_flush,
		 "Flush the L1D cache before VM entry on L1TF-affected CPUs (default: on)");

/* Flush needed at all; if so, by MSR_IA32_FLUSH_CMD or by reading this. */
static bool vmx_l1d_flush_needed __ro_after_init;
static void *vmx_l1d_flush_buf;
/* Twice the L1D of the affected processors, as Intel recommends. */
#define VMX_L1D_FLUSH_ORDER	4
#define VMX_L1D_FLUSH_SIZE	(PAGE_SIZE << VMX_L1D_FLUSH_ORDER)

/*
 * Decides at load whether VM entries flush the L1D (L1TF, Intel SDM
 * "Deep Dive: Intel Analysis of L1 Terminal Fault"): only on affected
 * processors, and not when the processor (or the hypervisor below) says
 * entries need not flush.  Without the L1D_FLUSH command, the flush reads
 * a buffer twice the size of the cache.
 */
int vmx_l1d_flush_setup(void)
{
	u64 arch_cap = 0;
	struct page *page;

	if (!boot_cpu_has_bug(X86_BUG_L1TF))
		return 0;
	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, arch_cap);
	if (arch_cap & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH)
		return 0;
	if (!l1d_flush) {
		pr_warn("L1TF: this CPU is affected and l1d_flush=0: guests may read host data from the L1D\n");
		return 0;
	}
	vmx_l1d_flush_needed = true;
	if (boot_cpu_has(X86_FEATURE_FLUSH_L1D)) {
		pr_info("L1TF: L1D flushed on VM entry (L1D_FLUSH command)\n");
		return 0;
	}

	page = alloc_pages(GFP_KERNEL, VMX_L1D_FLUSH_ORDER);
	if (!page)
		return -ENOMEM;
	vmx_l1d_flush_buf = page_address(page);
	/*
	 * Not zeroes: a hypervisor below might back zero pages with one
	 * shared page, and then the reads would not fill the cache.
	 */
	memset(vmx_l1d_flush_buf, 0x5a, VMX_L1D_FLUSH_SIZE);
	pr_info("L1TF: L1D flushed on VM entry (software sequence)\n");
	return 0;
}

/**
 * vmx_l1d_flush_unsetup() - undo vmx_l1d_flush_setup()
 */
void vmx_l1d_flush_unsetup(void)
{
	if (vmx_l1d_flush_buf)
		free_pages((unsigned long)vmx_l1d_flush_buf,
			   VMX_L1D_FLUSH_ORDER);
	vmx_l1d_flush_buf = NULL;
}

/*
 * State VMX does not switch: saved when a run starts, the guest's loaded,
 * and the host's put back when the run ends (Intel SDM Vol. 3C, 28.5:
 * after a VM exit, the LDTR is unusable, DS/ES/FS/GS hold the host
 * selector fields, the GDT and TR limits are fixed, IA32_DEBUGCTL is 0).
 * Between the two the thread does not return to userspace nor leave the
 * CPU, so only interrupt handlers run on this state, and they need none of
 * it.  The SYSCALL MSRs are switched by msr.c.
 */
static void vmx_load_guest_state(struct vmx_vcpu *vcpu)
{
	savesegment(fs, vcpu->host_fs_sel);
	savesegment(gs, vcpu->host_gs_sel);
	savesegment(ds, vcpu->host_ds_sel);
	savesegment(es, vcpu->host_es_sel);
	asm volatile("sldt %0" : "=g" (vcpu->host_ldt_sel));
	rdmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	vmcs_writel(HOST_FS_BASE, vcpu->host_fs_base);
	vmcs_writel(HOST_GS_BASE, __rdmsr(MSR_GS_BASE));
	vcpu->host_debugctl = get_debugctlmsr();
	vmx_msrs_load_guest(vcpu);
}

static void vmx_put_guest_state(struct vmx_vcpu *vcpu)
{
	vmx_msrs_put_guest(vcpu);
	if (vcpu->host_ldt_sel)
		asm volatile("lldt %0" : : "rm" (vcpu->host_ldt_sel));
	if (vcpu->host_ds_sel)
		loadsegment(ds, vcpu->host_ds_sel);
	if (vcpu->host_es_sel)
		loadsegment(es, vcpu->host_es_sel);
	if (vcpu->host_fs_sel) {
		loadsegment(fs, vcpu->host_fs_sel);
		wrmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	}
	/* Reloading the GS selector replaces the user GS base: put it back. */
	if (vcpu->host_gs_sel) {
		u64 user_gs;

		rdmsrl(MSR_KERNEL_GS_BASE, user_gs);
		load_gs_index(vcpu->host_gs_sel);
		wrmsrl(MSR_KERNEL_GS_BASE, user_gs);
	}
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
}

/*
 * Flushes the L1D before a VM entry if the host may have left data of
 * interest in it since the last one: the vCPU says so (KVM_RUN came from
 * userspace, another task ran on this CPU, or hvx emulated an instruction
 * reading guest memory through the VMM's mappings), or an interrupt or
 * softirq ran on this CPU (the entry code notes it in irq_stat for
 * hypervisors).  Entries after exits handled without leaving the vCPU
 * (CPUID, EPT faults inside slots...) skip the flush: the policy of
 * kvm_intel's default "cond" mode.
 */
static void vmx_l1d_flush_cond(struct vmx_vcpu *vcpu)
{
	const u8 *buf = vmx_l1d_flush_buf;
	bool flush = vcpu->l1d_flush;
	unsigned int i;

	vcpu->l1d_flush = false;
#if IS_ENABLED(CONFIG_KVM_INTEL)
	flush |= kvm_get_cpu_l1tf_flush_l1d();
	kvm_clear_cpu_l1tf_flush_l1d();
#else
	flush = true;
#endif
	if (!flush)
		return;
	if (!buf) {
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		return;
	}
	/* Fill the TLB first so that the second pass only loads lines. */
	for (i = 0; i < VMX_L1D_FLUSH_SIZE; i += PAGE_SIZE)
		(void)READ_ONCE(buf[i]);
	/* Loads are ordered (LFENCE): the first pass is done first. */
	rmb();
	for (i = 0; i < VMX_L1D_FLUSH_SIZE; i += L1_CACHE_BYTES)
		(void)READ_ONCE(buf[i]);
}

/*
 * VMSCAPE: a guest can leave branch predictions that the VMM it returns to
 * would follow.  Where the host kernel mitigates it, a CPU that ran a
 * guest gets an IBPB on its next return to userspace; hvx asks for it
 * after every exit, as kvm_intel does.  With the mitigation off the test
 * is a patched-out jump.  Kernels without the mitigation lack the flag.
 */
static __always_inline void vmx_vmscape_after_exit(void)
{
#ifdef HVX_HAS_IBPB_EXIT_TO_USER
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
#endif
}

/*
 * A machine check that hit while the guest ran (an exception exit, or a
 * failed entry) is the host's: run the host's handler now, with interrupts
 * still off, as if it had interrupted user mode.
 */
static void vmx_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/*
 * One VM entry and exit, with interrupts disabled: host CR3/CR4 checked,
 * guest CR2 and XCR0 switched in and out, and an NMI that caused the exit
 * handed back to the host at once.
 */
static void vmx_enter_exit(struct vmx_vcpu *vcpu)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();
	bool switch_xcr0;
	int fail;

	if (unlikely(cr3 != vcpu->host_cr3)) {
		vmcs_writel(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	if (unlikely(cr4 != vcpu->host_cr4)) {
		vmcs_writel(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}
	if (vcpu->cr2 != native_read_cr2())
		native_write_cr2(vcpu->cr2);
	/*
	 * XCR0 means something to the guest only with CR4.OSXSAVE, a bit
	 * hvx owns, so its value is known without a VMREAD.
	 */
	switch_xcr0 = vcpu->guest_osxsave && vmx_host_xcr0 &&
		      vcpu->xcr0 != vmx_host_xcr0;
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (vmx_l1d_flush_needed)
		vmx_l1d_flush_cond(vcpu);

	fail = vmx_vmenter(vcpu->regs, vcpu->launched, &vcpu->host_rsp);
	vmx_vmscape_after_exit();

	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx_host_xcr0);
	vcpu->cr2 = native_read_cr2();
	if (vcpu->host_debugctl)
		update_debugctlmsr(vcpu->host_debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	if (unlikely(fail)) {
		vcpu->exit_reason = VMX_EXIT_REASONS_FAILED_VMENTRY;
		vcpu->exit_qual = vmcs_read32(VM_INSTRUCTION_ERROR);
		return;
	}
	vcpu->exit_reason = vmcs_read32(VM_EXIT_REASON);
	/* A failed guest-state check leaves the launch state as it was. */
	if (!(vcpu->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		vcpu->launched = true;
	vcpu->exit_intr_info = 0;
	if ((u16)vcpu->exit_reason == EXIT_REASON_EXCEPTION_NMI) {
		u32 info = vmcs_read32(VM_EXIT_INTR_INFO);

		vcpu->exit_intr_info = info;
		/* The NMI was the host's: raise it again, on this CPU. */
		if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			apic->send_IPI(smp_processor_id(), NMI_VECTOR);
		else if ((info & INTR_INFO_VECTOR_MASK) == MC_VECTOR)
			vmx_machine_check();
	} else if ((u16)vcpu->exit_reason == EXIT_REASON_MCE_DURING_VMENTRY) {
		vmx_machine_check();
	}
}

/* Finishes the instruction whose exit userspace just handled, if any. */
int vmx_vcpu_complete(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	u64 cr8 = READ_ONCE(hv->run->cr8);
	int r = 0;

	/*
	 * As KVM without an in-kernel APIC, the VMM's kvm_run->cr8 is the
	 * guest's TPR from here on (KVM_EXIT_SET_TPR hands it out).  With
	 * one, the TPR is the APIC's and kvm_run->cr8 only reports it.
	 */
	if (!hv->lapic) {
		if (cr8 & ~15ULL)
			return -EINVAL;
		vcpu->cr8 = cr8;
	}

	if (vcpu->sio.count)
		r = vmx_complete_string_io(vcpu);
	if (!r && vcpu->mmio_pending)
		r = vmx_complete_mmio(vcpu);
	if (r || !vcpu->pio_len)
		return r;
	r = vmx_vmcs_enter(vcpu);
	if (r)
		return r;
	vmx_complete_pio(vcpu);
	return vmx_vmcs_leave(vcpu);
}

/*
 * The requests other threads posted (hvx_vcpu_request()) that the backend
 * takes itself, between two entries: an APIC timer to sync, NMIs the APICs
 * delivered.  INIT and SIPI change the vCPU's whole state, and an EOI for
 * the VMM's IOAPIC is an exit to userspace: the core's (false: return to
 * it).
 */
static bool vmx_take_requests(struct vmx_vcpu *vcpu)
{
	struct hvx_vcpu *hv = &vcpu->vcpu;
	unsigned int nmis;

	if (READ_ONCE(hv->requests) & (BIT(HVX_REQ_INIT) | BIT(HVX_REQ_SIPI) |
					BIT(HVX_REQ_EOI_EXIT)))
		return false;
	if (test_and_clear_bit(HVX_REQ_EVENT, &hv->requests) && hv->lapic)
		hvx_lapic_sync(hv);
	if (test_and_clear_bit(HVX_REQ_NMI, &hv->requests)) {
		nmis = atomic_xchg(&hv->nmi_queued, 0);
		vcpu->ev.nmi_pending = min_t(unsigned int,
					     vcpu->ev.nmi_pending + nmis,
					     VMX_MAX_PENDING_NMIS);
	}
	return true;
}

int vmx_vcpu_run(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;
	bool want_window = READ_ONCE(run->request_interrupt_window);
	int r;

	/* Another task ran on this CPU since the last entry: flush the L1D. */
	if (vcpu->l1d_switches != current->nvcsw + current->nivcsw)
		vcpu->l1d_flush = true;

	r = vmx_vmcs_enter(vcpu);
	if (r)
		return r;
	vmx_load_guest_state(vcpu);

	for (;;) {
		local_irq_disable();
		if (need_resched() || signal_pending(current)) {
			local_irq_enable();
			r = HVX_RUN_AGAIN;
			break;
		}
		/* Never enter on a VMCS that a VMREAD/VMWRITE failed on. */
		if (unlikely(READ_ONCE(hvx_rebooting) || vcpu->vmcs_failed)) {
			local_irq_enable();
			r = -EIO;
			break;
		}
		/*
		 * The guest FPU state is the task's (vmx_vcpu_fpu_load); if
		 * the task was switched out since, it is in memory only.
		 */
		/*
		 * From here to the exit, other CPUs kick this one with an IPI
		 * (hvx_vcpu_kick()); a request posted before is seen now.
		 */
		hv->cpu = smp_processor_id();
		WRITE_ONCE(hv->mode, HVX_IN_GUEST);
		/* Pairs with the one in hvx_vcpu_kick(). */
		smp_mb();
		if (unlikely(READ_ONCE(hv->requests))) {
			WRITE_ONCE(hv->mode, HVX_OUTSIDE_GUEST);
			local_irq_enable();
			if (!vmx_take_requests(vcpu)) {
				r = HVX_RUN_AGAIN;
				break;
			}
			continue;
		}
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		if (!vmx_events_idle(vcpu, want_window) ||
		    (hv->lapic && hvx_lapic_has_irq(hv)))
			vmx_inject_events(vcpu, want_window);
		vmx_trace_entry(vcpu);
		/*
		 * The time until the exit is the task's guest time (what
		 * guest_timing_enter_irqoff() does for KVM): with tick-based
		 * accounting, PF_VCPU makes the ticks that arrive count as
		 * guest time; with NO_HZ_FULL, vtime accounts it.
		 */
		vtime_account_guest_enter();
		vmx_enter_exit(vcpu);
		WRITE_ONCE(hv->mode, HVX_OUTSIDE_GUEST);
		/*
		 * A host interrupt that caused the exit is delivered here,
		 * still as guest time, as on KVM: a timer tick that ended
		 * the guest slice counts for it.
		 */
		local_irq_enable();
		vmx_trace_exit(vcpu);
		local_irq_disable();
		vtime_account_guest_exit();
		local_irq_enable();

		r = vmx_handle_exit(vcpu);
		/*
		 * An exception the handler raised hit the delivery of a
		 * double fault: the shutdown is this exit's result, never
		 * left pending past a return to userspace (a signal).
		 */
		if (unlikely(vcpu->ev.triple_fault)) {
			vcpu->ev.triple_fault = false;
			run->exit_reason = KVM_EXIT_SHUTDOWN;
			r = HVX_RUN_USER;
		}
		/*
		 * As KVM: once the guest can take an interrupt, a VMM that
		 * asked for the window gets KVM_EXIT_IRQ_WINDOW_OPEN.
		 */
		if (r == HVX_RUN_AGAIN && want_window &&
		    vmx_ready_for_interrupt(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = HVX_RUN_USER;
		}
		if (r != HVX_RUN_AGAIN)
			break;
	}

	vmx_put_guest_state(vcpu);
	if (vmx_vmcs_leave(vcpu))
		r = -EIO;
	vcpu->l1d_switches = current->nvcsw + current->nivcsw;
	return r;
}

/**
 * vmx_vcpu_emulate() - the emulation step of the last exit that may sleep
 * @hv: the vCPU; preemption enabled.
 *
 * An EPT violation the core found outside every slot is MMIO; the other
 * exits that ask for emulation are string I/O (io.c).
 *
 * Return: an enum hvx_run_result, or -errno.
 */
int vmx_vcpu_emulate(struct hvx_vcpu *hv)
{
	if ((u16)to_vmx(hv)->exit_reason == EXIT_REASON_EPT_VIOLATION)
		return vmx_emulate_mmio(hv, hv->fault_gpa);
	return vmx_emulate_string_io(hv);
}

/*
 * The guest's FPU/XSAVE state becomes the task's for the whole of KVM_RUN,
 * so that exits to the core (page faults, rescheduling) do not swap it
 * out and in again.  The kernel saves it on a context switch like any
 * task's; vmx_vcpu_run() reloads it before entry.
 */
void vmx_vcpu_fpu_load(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	/* Userspace ran since the last entry (see vmx_l1d_flush_cond()). */
	vcpu->l1d_flush = true;
}

/*
 * Leaving KVM_RUN: the guest FPU state goes back to memory, and kvm_run
 * gets the state a VMM without an in-kernel interrupt controller needs to
 * inject interrupts (as KVM fills it on every return).
 */
void vmx_vcpu_put(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;

	fpu_swap_kvm_fpstate(&vcpu->fpu, false);

	if (!vmx_vmcs_enter(vcpu)) {
		run->if_flag = !!(vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF);
		run->ready_for_interrupt_injection =
			vmx_ready_for_interrupt(vcpu);
		vmx_vmcs_leave(vcpu);
	}
	run->cr8 = vmx_get_cr8(vcpu);
	run->apic_base = vmx_apic_base(vcpu);
	run->flags = 0;
}
