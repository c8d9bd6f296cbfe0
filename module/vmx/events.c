// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: events delivered to the guest.
 *
 * Without an in-kernel interrupt controller (the only model hvx has) the
 * VMM injects external interrupts with KVM_INTERRUPT and NMIs with KVM_NMI;
 * hvx injects exceptions on its own behalf (#GP for an unknown MSR...).
 * An event is "injected" once hvx has committed to delivering it: it goes
 * to the VM-entry interruption-information field on the next entry, and if
 * the exit that follows cut its delivery short, the IDT-vectoring
 * information puts it back (Intel SDM Vol. 3C, 27.2.4 and 28.2.4).  One
 * event enters per VM entry, by priority: exception, NMI, interrupt; an
 * event that must wait for the guest to accept it waits for an
 * interrupt-window or NMI-window exit.
 */
#include <linux/kvm.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>

#include "vmcs.h"
#include "vmx.h"
#include "vmx_stats.h"
#define VMX_NMI_INFO		(NMI_VECTOR | INTR_TYPE_NMI_INTR | \
				 INTR_INFO_VALID_MASK)

static u32 vmx_event_type(u32 info)
{
	return info & INTR_INFO_INTR_TYPE_MASK;
}

/* Delivery of these pushes the instruction length on the stack. */
static bool vmx_event_is_soft(u32 info)
{
	u32 type = vmx_event_type(info);

	return type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	       type == INTR_TYPE_PRIV_SW_EXCEPTION;
}

/* Exception classes for double faults (Intel SDM Vol. 3A, Table 6-4). */
static bool vmx_exception_contributory(unsigned int vector)
{
	return vector == X86_TRAP_DE || vector == X86_TRAP_TS ||
	       vector == X86_TRAP_NP || vector == X86_TRAP_SS ||
	       vector == X86_TRAP_GP;
}

/**
 * vmx_inject_exception() - deliver a hardware exception on next entry
 * @vcpu: the vCPU.
 * @vector: the exception vector.
 * @has_error: the exception pushes an error code.
 * @error: the error code.
 *
 * An exception raised while another one is being delivered combines with
 * it as the processor would: into #DF, or into a triple fault (shutdown).
 */
void vmx_inject_exception(struct vmx_vcpu *vcpu, unsigned int vector,
			  bool has_error, u32 error)
{
	struct vmx_events *ev = &vcpu->ev;

	if (ev->exc_info && !vmx_event_is_soft(ev->exc_info)) {
		unsigned int prev = ev->exc_info & INTR_INFO_VECTOR_MASK;

		if (prev == X86_TRAP_DF) {
			ev->triple_fault = true;
			return;
		}
		if ((vmx_exception_contributory(prev) &&
		     vmx_exception_contributory(vector)) ||
		    (prev == X86_TRAP_PF &&
		     (vector == X86_TRAP_PF ||
		      vmx_exception_contributory(vector)))) {
			vector = X86_TRAP_DF;
			has_error = true;
			error = 0;
		}
	}
	/* Real mode has no error codes (Intel SDM Vol. 3C, 27.2.1.3). */
	if (!(vmcs_readl(CR0_READ_SHADOW) & X86_CR0_PE))
		has_error = false;
	ev->exc_info = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;
	if (has_error)
		ev->exc_info |= INTR_INFO_DELIVER_CODE_MASK;
	ev->exc_error = error;
	ev->exc_len = 0;
}

/**
 * vmx_events_after_exit() - account for the events the last entry injected
 * @vcpu: the vCPU, its VMCS current.
 *
 * The event written on entry was delivered, unless the IDT-vectoring
 * information says the exit interrupted its delivery: then it is injected
 * again, whatever kind it was.
 */
void vmx_events_after_exit(struct vmx_vcpu *vcpu)
{
	struct vmx_events *ev = &vcpu->ev;
	u32 info = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	u32 event;

	switch (ev->entered) {
	case VMX_EVENT_EXCEPTION:
		ev->exc_info = 0;
		break;
	case VMX_EVENT_NMI:
		ev->nmi_injected = false;
		break;
	case VMX_EVENT_INTERRUPT:
		ev->intr_info = 0;
		break;
	case VMX_EVENT_NONE:
		break;
	}
	ev->entered = VMX_EVENT_NONE;

	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	event = info & (INTR_INFO_VECTOR_MASK | INTR_INFO_INTR_TYPE_MASK |
			INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK);
	switch (vmx_event_type(event)) {
	case INTR_TYPE_NMI_INTR:
		ev->nmi_injected = true;
		/* Its delivery had blocked NMIs; it did not finish. */
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
			     ~GUEST_INTR_STATE_NMI);
		break;
	case INTR_TYPE_EXT_INTR:
	case INTR_TYPE_SOFT_INTR:
		ev->intr_info = event;
		ev->intr_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		break;
	default:
		ev->exc_info = event;
		ev->exc_error = vmcs_read32(IDT_VECTORING_ERROR_CODE);
		ev->exc_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		break;
	}
}

/**
 * vmx_events_after_failed_entry() - the entry failed: nothing was delivered
 * @vcpu: the vCPU, its VMCS current.
 *
 * The event stays injected for the next entry; the interruption
 * information a failed entry leaves behind is cleared so that it cannot be
 * delivered twice.
 */
void vmx_events_after_failed_entry(struct vmx_vcpu *vcpu)
{
	vcpu->ev.entered = VMX_EVENT_NONE;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
}

/**
 * vmx_recover_nmi_blocking() - NMI blocking lost by a faulting IRET
 * @vcpu: the vCPU.
 * @info_or_qual: the exit interruption information (exception exits) or
 *		  qualification (EPT violations); bit 12 says that IRET had
 *		  unblocked NMIs when it faulted.
 *
 * The guest will execute that IRET again, so NMIs must stay blocked until
 * it completes (Intel SDM Vol. 3C, 28.2.3).
 */
void vmx_recover_nmi_blocking(struct vmx_vcpu *vcpu, u32 info_or_qual)
{
	if (!(info_or_qual & INTR_INFO_UNBLOCK_NMI) ||
	    (vmcs_read32(IDT_VECTORING_INFO_FIELD) & VECTORING_INFO_VALID_MASK))
		return;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
		     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) |
		     GUEST_INTR_STATE_NMI);
}

/* The guest would take an external interrupt now. */
static bool vmx_interrupt_allowed(void)
{
	return (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
	       !(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & VMX_INTR_SHADOW);
}

static bool vmx_nmi_allowed(void)
{
	return !(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
		 (VMX_INTR_SHADOW | GUEST_INTR_STATE_NMI));
}

/**
 * vmx_ready_for_interrupt() - KVM's ready_for_interrupt_injection
 * @vcpu: the vCPU, its VMCS current.
 *
 * True when a KVM_INTERRUPT now would be delivered on the next entry: no
 * interrupt is queued, no event is being delivered, the guest accepts
 * interrupts, and (with a split irqchip's APIC) LINT0 takes ExtINT.
 */
bool vmx_ready_for_interrupt(struct vmx_vcpu *vcpu)
{
	const struct vmx_events *ev = &vcpu->ev;

	return ev->irq_pending < 0 && !ev->exc_info && !ev->intr_info &&
	       !ev->nmi_injected && vmx_interrupt_allowed() &&
	       hvx_lapic_accepts_extint(&vcpu->vcpu);
}

static void vmx_set_window_exits(struct vmx_vcpu *vcpu, bool irq, bool nmi)
{
	u32 proc = vcpu->proc_ctls & ~(CPU_BASED_INTR_WINDOW_EXITING |
				       CPU_BASED_NMI_WINDOW_EXITING);

	if (irq)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	if (nmi)
		proc |= CPU_BASED_NMI_WINDOW_EXITING;
	if (proc != vcpu->proc_ctls) {
		vcpu->proc_ctls = proc;
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
	}
}

/**
 * vmx_inject_events() - choose the event the next VM entry delivers
 * @vcpu: the vCPU, its VMCS current, interrupts disabled.
 * @want_window: userspace asked for an interrupt window (KVM's
 *		 request_interrupt_window).
 *
 * Also turns window exits on for events that must wait, and off otherwise.
 * Called only when vmx_events_idle() is false.
 */
void vmx_inject_events(struct vmx_vcpu *vcpu, bool want_window)
{
	struct hvx_vcpu *hv = &vcpu->vcpu;
	struct vmx_events *ev = &vcpu->ev;
	int vector;
	u32 info = 0, error = 0, len = 0;
	bool irq_win, nmi_win;

	ev->entered = VMX_EVENT_NONE;
	if (ev->exc_info) {
		info = ev->exc_info;
		error = ev->exc_error;
		len = ev->exc_len;
		ev->entered = VMX_EVENT_EXCEPTION;
	} else if (ev->nmi_injected) {
		info = VMX_NMI_INFO;
		ev->entered = VMX_EVENT_NMI;
	} else if (ev->intr_info) {
		info = ev->intr_info;
		len = ev->intr_len;
		ev->entered = VMX_EVENT_INTERRUPT;
	} else if (ev->nmi_pending && vmx_nmi_allowed()) {
		ev->nmi_pending--;
		ev->nmi_injected = true;
		info = VMX_NMI_INFO;
		ev->entered = VMX_EVENT_NMI;
	} else if (ev->irq_pending >= 0 && vmx_interrupt_allowed() &&
		   hvx_lapic_accepts_extint(hv)) {
		ev->intr_info = ev->irq_pending | INTR_TYPE_EXT_INTR |
				INTR_INFO_VALID_MASK;
		ev->irq_pending = -1;
		info = ev->intr_info;
		ev->entered = VMX_EVENT_INTERRUPT;
	} else if (hv->lapic && vmx_interrupt_allowed()) {
		/* The INTA cycle: from here the interrupt is the guest's. */
		vector = hvx_lapic_take_irq(hv);
		if (vector >= 0) {
			ev->intr_info = vector | INTR_TYPE_EXT_INTR |
					INTR_INFO_VALID_MASK;
			info = ev->intr_info;
			ev->entered = VMX_EVENT_INTERRUPT;
		}
	}

	if (info) {
		if (info & INTR_INFO_DELIVER_CODE_MASK)
			vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
		if (vmx_event_is_soft(info))
			vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, len);
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
		vmx_trace_inject(vcpu, info);
	}

	/*
	 * What still waits comes back through a window exit: an NMI when
	 * NMIs are unblocked, an interrupt (or userspace's request) when the
	 * guest sets IF.  An interrupt the guest already accepts but that
	 * lost this entry to another event also waits for the window, which
	 * opens as soon as that event's handler allows interrupts again; so
	 * does one the in-kernel APIC has behind the one injected now.
	 */
	nmi_win = ev->nmi_pending || (ev->nmi_injected &&
				      ev->entered != VMX_EVENT_NMI);
	irq_win = want_window ||
		  (ev->irq_pending >= 0 && hvx_lapic_accepts_extint(hv)) ||
		  (ev->intr_info && ev->entered != VMX_EVENT_INTERRUPT) ||
		  (hv->lapic && hvx_lapic_has_irq(hv));
	vmx_set_window_exits(vcpu, irq_win, nmi_win);
}

/* KVM_INTERRUPT: queue an external interrupt (one at a time, as KVM). */
int vmx_interrupt(struct hvx_vcpu *hv, u32 irq)
{
	struct vmx_events *ev = &to_vmx(hv)->ev;

	if (irq >= 256)
		return -EINVAL;
	if (ev->irq_pending >= 0)
		return -EEXIST;
	ev->irq_pending = irq;
	return 0;
}

/* KVM_NMI: queue an NMI; more than can be pending at once are lost. */
int vmx_nmi(struct hvx_vcpu *hv)
{
	struct vmx_events *ev = &to_vmx(hv)->ev;

	if (ev->nmi_pending < VMX_MAX_PENDING_NMIS)
		ev->nmi_pending++;
	return 0;
}

int vmx_get_events(struct hvx_vcpu *hv, struct kvm_vcpu_events *events)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	const struct vmx_events *ev = &vcpu->ev;
	u32 intr;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	if (vmx_vmcs_leave(vcpu))
		return -EIO;

	/*
	 * A software exception is not reported: its instruction (INT3, INTO)
	 * has not retired and raises it again when the guest resumes.
	 */
	if (ev->exc_info && vmx_event_type(ev->exc_info) ==
	    INTR_TYPE_HARD_EXCEPTION) {
		events->exception.injected = 1;
		events->exception.nr = ev->exc_info & INTR_INFO_VECTOR_MASK;
		events->exception.has_error_code =
			!!(ev->exc_info & INTR_INFO_DELIVER_CODE_MASK);
		events->exception.error_code = ev->exc_error;
	}
	if (ev->intr_info &&
	    vmx_event_type(ev->intr_info) == INTR_TYPE_EXT_INTR) {
		events->interrupt.injected = 1;
		events->interrupt.nr = ev->intr_info & INTR_INFO_VECTOR_MASK;
	} else if (ev->irq_pending >= 0) {
		/* KVM_INTERRUPT's vector is "injected" on KVM from the ioctl on. */
		events->interrupt.injected = 1;
		events->interrupt.nr = ev->irq_pending;
	}
	if (intr & GUEST_INTR_STATE_STI)
		events->interrupt.shadow |= KVM_X86_SHADOW_INT_STI;
	if (intr & GUEST_INTR_STATE_MOV_SS)
		events->interrupt.shadow |= KVM_X86_SHADOW_INT_MOV_SS;
	events->nmi.injected = ev->nmi_injected;
	events->nmi.pending = ev->nmi_pending != 0;
	events->nmi.masked = !!(intr & GUEST_INTR_STATE_NMI);
	/* Never in SMM, none pending: hvx has no SMM. */
	events->flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
			KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	return 0;
}

int vmx_set_events(struct hvx_vcpu *hv, const struct kvm_vcpu_events *events)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct vmx_events *ev = &vcpu->ev;
	u32 intr;

	if (events->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			      KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			      KVM_VCPUEVENT_VALID_SHADOW |
			      KVM_VCPUEVENT_VALID_SMM))
		return -EINVAL;
	if (events->exception.injected &&
	    (events->exception.nr > 31 || events->exception.nr == NMI_VECTOR))
		return -EINVAL;
	/* A soft interrupt needs an instruction length hvx does not have. */
	if (events->interrupt.injected && events->interrupt.soft)
		return -EINVAL;
	if ((events->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (events->smi.smm || events->smi.pending))
		return -EINVAL;
	if ((events->flags & KVM_VCPUEVENT_VALID_SHADOW) &&
	    (events->interrupt.shadow & ~(KVM_X86_SHADOW_INT_STI |
					  KVM_X86_SHADOW_INT_MOV_SS)))
		return -EINVAL;

	ev->exc_info = 0;
	if (events->exception.injected) {
		ev->exc_info = events->exception.nr | INTR_TYPE_HARD_EXCEPTION |
			       INTR_INFO_VALID_MASK;
		if (events->exception.has_error_code)
			ev->exc_info |= INTR_INFO_DELIVER_CODE_MASK;
		ev->exc_error = events->exception.error_code;
		ev->exc_len = 0;
	}
	ev->intr_info = 0;
	ev->irq_pending = -1;
	if (events->interrupt.injected)
		ev->intr_info = events->interrupt.nr | INTR_TYPE_EXT_INTR |
				INTR_INFO_VALID_MASK;
	ev->nmi_injected = events->nmi.injected;
	if (events->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		ev->nmi_pending = min_t(u8, events->nmi.pending,
					VMX_MAX_PENDING_NMIS);
	ev->entered = VMX_EVENT_NONE;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	if (events->flags & KVM_VCPUEVENT_VALID_SHADOW) {
		intr &= ~VMX_INTR_SHADOW;
		if (events->interrupt.shadow & KVM_X86_SHADOW_INT_STI)
			intr |= GUEST_INTR_STATE_STI;
		if (events->interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)
			intr |= GUEST_INTR_STATE_MOV_SS;
	}
	if (events->nmi.masked)
		intr |= GUEST_INTR_STATE_NMI;
	else
		intr &= ~GUEST_INTR_STATE_NMI;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
	return vmx_vmcs_leave(vcpu);
}
