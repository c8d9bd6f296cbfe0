/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the VM and vCPU structures shared by vmx.c and exit.c.
 */
#ifndef HVX_VMX_VMX_H
#define HVX_VMX_VMX_H

#include <linux/list.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "hvx.h"
#include "decode.h"
#include "cpuid.h"
#include "vmcs.h"
#include "vmenter.h"
#include "../ept/ept.h"

/**
 * struct vmx_vm - a VM as the VT-x backend sees it
 * @vm:		the core's part.
 * @ept:	the guest-physical to host-physical page tables.
 */
struct vmx_vm {
	struct hvx_vm vm;
	struct ept ept;
};

/**
 * struct vmx_string_io - a string I/O instruction being emulated
 * @count:	elements userspace is handling, 0 when none.
 * @la:		guest-linear address of the memory operand.
 * @rip:	the instruction's address; @len: its length.
 * @port, @size, @asize: port, element size, address size in bytes.
 * @in, @rep, @df: INS (else OUTS), REP prefix, RFLAGS.DF.
 */
struct vmx_string_io {
	unsigned int count;
	u64 la;
	unsigned long rip;
	u16 port;
	u8 len, size, asize;
	bool in, rep, df;
};

/* Which kind of event the last VM entry injected. */
enum vmx_event_kind {
	VMX_EVENT_NONE,
	VMX_EVENT_EXCEPTION,
	VMX_EVENT_NMI,
	VMX_EVENT_INTERRUPT,
};

/**
 * struct vmx_events - events for the guest (see events.c)
 * @exc_info:	an exception being delivered, in VM-entry
 *		interruption-information format; 0 when none.
 * @exc_error, @exc_len: its error code; for INT3/INTO, the length of the
 *		instruction.
 * @intr_info:	an interrupt being delivered (external, or INT n); 0 when
 *		none.  @intr_len: INT n's length.
 * @nmi_injected: an NMI is being delivered.
 * @nmi_pending: NMIs waiting for the guest to unblock NMIs.
 * @irq_pending: the KVM_INTERRUPT vector waiting for the guest to set IF,
 *		or -1.
 * @entered:	what the last entry injected.
 * @triple_fault: an exception hit delivery of a double fault.
 */
struct vmx_events {
	u32 exc_info, exc_error, exc_len;
	u32 intr_info, intr_len;
	bool nmi_injected;
	u8 nmi_pending;
	s16 irq_pending;
	enum vmx_event_kind entered;
	bool triple_fault;
};

/**
 * struct vmx_vcpu - a vCPU as the VT-x backend sees it
 * @vcpu:	the core's part.
 * @regs:	guest general-purpose registers (HVX_REG_*).
 * @vmcs:	the VMCS region.
 * @cpu:	the CPU on which the VMCS is active, or -1 when it is clear.
 * @loaded_link: entry in that CPU's list of active VMCSs.
 * @launched:	the VMCS has been launched since it was last cleared.
 * @vpid:	VPID tagging the guest's TLB entries.
 * @fpu:	the guest's FPU/XSAVE state (swapped in for KVM_RUN).
 * @xcr0:	the guest's XCR0.
 * @cr2:	the guest's CR2 (not in the VMCS).
 * @dr:		the guest's DR0-3, DR6, DR7 as it wrote them; hvx does not
 *		load them into the hardware (guest breakpoints are ignored).
 * @msr_*:	MSRs the backend switches itself (IA32_EFER and IA32_PAT are
 *		switched by the VMCS).
 * @host_*:	host state saved when a run starts and restored when it ends.
 * @host_cr3, @host_cr4: the values in the VMCS host fields.
 * @exit_reason, @exit_qual, @exit_intr_info: the last VM exit.
 * @pio_len:	length of a port I/O instruction waiting for userspace to
 *		handle its exit, 0 when none.
 * @pio_in:	for an input, its size in bytes (the data goes to RAX).
 * @pio_rip:	RIP of that instruction.
 * @cr8:	the guest's CR8 (only seen if CR8 accesses must exit).
 * @mmio_pending: an MMIO load (@mmio_insn, at @mmio_rip) waits for
 *		userspace's data; for MOVS, @mmio_la is the destination.
 * @sio:	a string I/O instruction being emulated.
 * @l1d_flush:	the next VM entry flushes the L1D (L1TF; see vmx.c).
 * @l1d_switches: the task's context-switch count when it last left the
 *		guest; a change means another task ran in between.
 * @ev:		events for the guest.
 * @proc_ctls:	the VMCS primary processor-based controls.
 * @cpuid:	the CPUID table (cpuid.c).
 * @msrs:	boot-time MSRs (msr.c).
 */
struct vmx_vcpu {
	struct hvx_vcpu vcpu;
	unsigned long regs[HVX_NR_REGS];
	struct page *vmcs;
	int cpu;
	struct list_head loaded_link;
	bool launched;
	u16 vpid;
	struct fpu_guest fpu;
	u64 xcr0;
	unsigned long cr2;
	unsigned long dr[8];
	u64 msr_star, msr_lstar, msr_cstar, msr_sfmask;
	u64 msr_kernel_gs_base, msr_misc_enable, msr_tsc_offset;
	bool guest_msrs_loaded;
	u64 host_star, host_lstar, host_cstar, host_sfmask;
	u64 host_kernel_gs_base, host_fs_base, host_debugctl;
	u16 host_fs_sel, host_gs_sel, host_ds_sel, host_es_sel, host_ldt_sel;
	unsigned long host_cr3, host_cr4;
	u32 exit_reason;
	unsigned long exit_qual;
	u32 exit_intr_info;
	u8 pio_len;
	u8 pio_in;
	unsigned long pio_rip;
	unsigned long cr8;
	bool mmio_pending;
	struct hvx_insn mmio_insn;
	unsigned long mmio_rip;
	u64 mmio_la;
	struct vmx_string_io sio;
	bool l1d_flush;
	unsigned long l1d_switches;
	struct vmx_events ev;
	u32 proc_ctls;
	struct vmx_cpuid cpuid;
	struct vmx_msr_state msrs;
};

static inline struct vmx_vcpu *to_vmx(struct hvx_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

static inline struct vmx_vm *to_vmx_vm(struct hvx_vm *vm)
{
	return container_of(vm, struct vmx_vm, vm);
}

/*
 * A guest GPR by its x86 encoding (HVX_REG_*); RSP lives in the VMCS, which
 * must be current.
 */
static inline unsigned long vmx_reg_read(struct vmx_vcpu *vcpu,
					 unsigned int reg)
{
	return reg == HVX_REG_RSP ? vmcs_readl(GUEST_RSP) : vcpu->regs[reg];
}

static inline void vmx_reg_write(struct vmx_vcpu *vcpu, unsigned int reg,
				 unsigned long val)
{
	if (reg == HVX_REG_RSP)
		vmcs_writel(GUEST_RSP, val);
	else
		vcpu->regs[reg] = val;
}

/*
 * Nothing to deliver and no window to open, the common case: the next
 * entry needs no event work.  The last exit cleared the valid bit of the
 * VM-entry interruption-information field (Intel SDM Vol. 3C, 28.2.5), and
 * vmx_events_after_failed_entry() clears what a failed entry left.
 */
static inline bool vmx_events_idle(const struct vmx_vcpu *vcpu,
				   bool want_window)
{
	const struct vmx_events *ev = &vcpu->ev;

	return !(ev->exc_info | ev->intr_info | ev->nmi_injected |
		 ev->nmi_pending | want_window) && ev->irq_pending < 0 &&
	       !(vcpu->proc_ctls & (CPU_BASED_INTR_WINDOW_EXITING |
				    CPU_BASED_NMI_WINDOW_EXITING));
}

/*
 * The guest's CR0 and CR4 as it sees them: the bits it owns (clear in the
 * guest/host mask) are in the guest field, which it writes without an
 * exit; the others in the read shadow.  The VMCS must be current.
 */
static inline unsigned long vmx_guest_cr0(void)
{
	unsigned long mask = vmcs_readl(CR0_GUEST_HOST_MASK);

	return (vmcs_readl(GUEST_CR0) & ~mask) |
	       (vmcs_readl(CR0_READ_SHADOW) & mask);
}

static inline unsigned long vmx_guest_cr4(void)
{
	unsigned long mask = vmcs_readl(CR4_GUEST_HOST_MASK);

	return (vmcs_readl(GUEST_CR4) & ~mask) |
	       (vmcs_readl(CR4_READ_SHADOW) & mask);
}

/* DR6 and DR7 after reset (Intel SDM Vol. 3B, 18.2.3 and 18.2.4). */
#define VMX_DR6_INIT	0xffff0ff0UL
#define VMX_DR7_INIT	0x400UL

/* What an exit handler asks vmx_vcpu_run() to do (STYLE: 1 resumes). */
#define VMX_EXIT_USER	0	/* return to userspace; kvm_run is filled */
#define VMX_EXIT_RESUME	1	/* re-enter the guest */
#define VMX_EXIT_FAULT	2	/* the core must resolve vcpu.fault_gpa */
#define VMX_EXIT_EMULATE 3	/* finish in vmx_vcpu_emulate() */

/* exit.c */
int vmx_handle_exit(struct vmx_vcpu *vcpu);
void vmx_skip_instruction(struct vmx_vcpu *vcpu);

/* events.c */
void vmx_inject_exception(struct vmx_vcpu *vcpu, unsigned int vector,
			  bool has_error, u32 error);
void vmx_events_after_exit(struct vmx_vcpu *vcpu);
void vmx_events_after_failed_entry(struct vmx_vcpu *vcpu);
void vmx_recover_nmi_blocking(struct vmx_vcpu *vcpu, u32 info_or_qual);
bool vmx_ready_for_interrupt(struct vmx_vcpu *vcpu);
void vmx_inject_events(struct vmx_vcpu *vcpu, bool want_window);
int vmx_interrupt(struct hvx_vcpu *hv, u32 irq);
int vmx_nmi(struct hvx_vcpu *hv);
void vmx_get_events(struct hvx_vcpu *hv, struct kvm_vcpu_events *events);
int vmx_set_events(struct hvx_vcpu *hv, const struct kvm_vcpu_events *events);
int vmx_set_xcr0(struct vmx_vcpu *vcpu, u64 xcr0);
void vmx_get_xcrs(struct hvx_vcpu *hv, struct kvm_xcrs *xcrs);
int vmx_set_xcrs(struct hvx_vcpu *hv, const struct kvm_xcrs *xcrs);
void vmx_get_xsave(struct hvx_vcpu *hv, struct kvm_xsave *xsave);
int vmx_set_xsave(struct hvx_vcpu *hv, const struct kvm_xsave *xsave);

/* emulate.c */
int vmx_emulate_mmio(struct hvx_vcpu *vcpu, u64 gpa);
void vmx_complete_mmio(struct vmx_vcpu *vcpu);
int vmx_emulate_string_io(struct hvx_vcpu *vcpu);
void vmx_complete_string_io(struct vmx_vcpu *vcpu);

/* vmx.c */
void vmx_vcpu_load(struct vmx_vcpu *vcpu);
int vmx_set_cr0(struct vmx_vcpu *vcpu, unsigned long cr0);
int vmx_set_cr4(struct vmx_vcpu *vcpu, unsigned long cr4);
int vmx_set_efer(struct vmx_vcpu *vcpu, u64 efer);
int vmx_get_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data);
int vmx_set_msr(struct vmx_vcpu *vcpu, u32 index, u64 data);
extern u64 vmx_host_xcr0;

#endif /* HVX_VMX_VMX_H */
