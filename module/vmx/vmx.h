/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the VM and vCPU structures every backend file shares,
 * and the functions each file offers the files above it (see the floors
 * in Documentation/design.rst).
 */
#ifndef HVX_VMX_VMX_H
#define HVX_VMX_VMX_H

#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "hvx.h"
#include "irq/irq.h"
#include "decode.h"
#include "cpuid.h"
#include "msr.h"
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

/* The MSRs hvx switches around guest execution itself (msr.c). */
enum vmx_switched_msr {
	VMX_MSR_STAR,
	VMX_MSR_LSTAR,
	VMX_MSR_CSTAR,
	VMX_MSR_SFMASK,
	VMX_MSR_KERNEL_GS_BASE,
	VMX_NR_SWITCHED_MSRS
};

/**
 * struct vmx_vcpu - a vCPU as the VT-x backend sees it
 * @vcpu:	the core's part.
 * @regs:	guest general-purpose registers (HVX_REG_*).
 * @vmcs:	the VMCS region.
 * @cpu:	the CPU on which the VMCS is active, or -1 when it is clear.
 * @loaded_link: entry in that CPU's list of active VMCSs.
 * @launched:	the VMCS has been launched since it was last cleared.
 * @vmcs_failed: a VMX instruction on the VMCS failed: every operation on
 *		the vCPU fails with -EIO and it is never entered again.
 * @vmfail_injected: that failure was injected (inject_vmfail, vmcs.c).
 * @vpid:	VPID tagging the guest's TLB entries.
 * @fpu:	the guest's FPU/XSAVE state (swapped in for KVM_RUN).
 * @xcr0:	the guest's XCR0.
 * @guest_osxsave: the guest's CR4.OSXSAVE (a bit hvx owns, so written
 *		only by hvx: vmx_set_cr4(), KVM_SET_SREGS, reset).
 * @cr2:	the guest's CR2 (not in the VMCS).
 * @dr:		the guest's DR0-3, DR6, DR7 as it wrote them; hvx does not
 *		load them into the hardware (guest breakpoints are ignored).
 * @guest_msrs: the guest's values of the MSRs hvx switches itself
 *		(enum vmx_switched_msr; IA32_EFER and IA32_PAT are switched
 *		by the VMCS).
 * @guest_msrs_loaded: @guest_msrs are in the processor.
 * @host_msrs:	the host's values while @guest_msrs_loaded.
 * @msr_misc_enable, @msr_tsc_offset: IA32_MISC_ENABLE, the TSC offset.
 * @msr_tsc_adjust: IA32_TSC_ADJUST (the guest's own changes to its TSC).
 * @host_*:	host state saved when a run starts and restored when it ends.
 * @host_cr3, @host_cr4, @host_rsp: the values in the VMCS host fields.
 * @exit_reason, @exit_qual, @exit_intr_info: the last VM exit.
 * @pio_len:	length of a port I/O instruction waiting for userspace to
 *		handle its exit, 0 when none.
 * @pio_in:	for an input, its size in bytes (the data goes to RAX).
 * @pio_rip:	RIP of that instruction.
 * @cr8:	the guest's CR8 (TPR): MOV to/from CR8 exits, and kvm_run->cr8
 *		carries it to and from the VMM, as KVM without an irqchip.
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
	bool vmcs_failed;
	bool vmfail_injected;
	u16 vpid;
	struct fpu_guest fpu;
	u64 xcr0;
	bool guest_osxsave;
	unsigned long cr2;
	unsigned long dr[8];
	u64 guest_msrs[VMX_NR_SWITCHED_MSRS];
	bool guest_msrs_loaded;
	u64 host_msrs[VMX_NR_SWITCHED_MSRS];
	u64 msr_misc_enable, msr_tsc_offset, msr_tsc_adjust;
	u64 host_fs_base, host_debugctl;
	u16 host_fs_sel, host_gs_sel, host_ds_sel, host_es_sel, host_ldt_sel;
	unsigned long host_cr3, host_cr4, host_rsp;
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
/* Most NMIs that can wait: one being handled and one more, as on x86. */
#define VMX_MAX_PENDING_NMIS	2

/* The guest's TPR as CR8: the in-kernel APIC's, else the VMM's copy. */
static inline u8 vmx_get_cr8(struct vmx_vcpu *vcpu)
{
	return vcpu->vcpu.lapic ? hvx_lapic_get_cr8(&vcpu->vcpu) : vcpu->cr8;
}

/* IA32_APIC_BASE: the in-kernel APIC's, else the VMM's copy. */
static inline u64 vmx_apic_base(struct vmx_vcpu *vcpu)
{
	u64 base = vcpu->msrs.apic_base;

	if (vcpu->vcpu.lapic)
		hvx_lapic_get_msr(&vcpu->vcpu, MSR_IA32_APICBASE, &base, true);
	return base;
}

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

/* GUEST_INTERRUPTIBILITY_INFO: blocking by STI and by MOV SS. */
#define VMX_INTR_SHADOW		(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)

/* Guest CR0 and CR4 bits hvx lets the guest own or set; EFER bits. */
#define VMX_CR0_GUEST_OWNED	(X86_CR0_TS | X86_CR0_MP)
#define VMX_CR4_GUEST_ALLOWED						\
	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |		\
	 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |	\
	 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |		\
	 X86_CR4_UMIP | X86_CR4_FSGSBASE | X86_CR4_PCIDE |		\
	 X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
#define VMX_EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

/* The EFER values a WRMSR or KVM_SET_SREGS may set. */
static inline bool vmx_efer_valid(u64 efer)
{
	return !(efer & ~VMX_EFER_ALLOWED) &&
	       (!(efer & EFER_NX) || boot_cpu_has(X86_FEATURE_NX));
}

/* DR6 and DR7 after reset (Intel SDM Vol. 3B, 18.2.3 and 18.2.4). */
#define VMX_DR6_INIT	0xffff0ff0UL
#define VMX_DR7_INIT	0x400UL

/*
 * Each file's offer to the files above it, floor by floor (lowest first).
 */

/* vmcs.c: VMCS ownership and constant setup (ground floor) */
void vmx_vmcs_cpu_init(void);
void vmx_vmcs_clear_cpu(void);
void vmx_vmcs_clear(struct vmx_vcpu *vcpu);
DECLARE_PER_CPU(struct vmx_vcpu *, vmx_current_vcpu);
extern bool vmx_vmfail_inject;
int __vmx_vmcs_enter(struct vmx_vcpu *vcpu);

/**
 * vmx_vmcs_enter() - make the vCPU's VMCS current on this CPU
 * @vcpu: the vCPU.
 *
 * Disables preemption; the VMCS stays current until vmx_vmcs_leave().
 * Pairs nest.  The common case, the VMCS already current here, is inline.
 *
 * Return: 0; or -EIO, preemption enabled again and nothing to leave, when
 * the VMCS cannot be made current or a VMX instruction on it failed
 * before.
 */
static __always_inline int vmx_vmcs_enter(struct vmx_vcpu *vcpu)
{
	preempt_disable();
	if (likely(__this_cpu_read(vmx_current_vcpu) == vcpu &&
		   !vcpu->vmcs_failed && !READ_ONCE(vmx_vmfail_inject)))
		return 0;
	return __vmx_vmcs_enter(vcpu);
}

/**
 * vmx_vmcs_leave() - end what vmx_vmcs_enter() started
 * @vcpu: the vCPU.
 *
 * Return: 0, or -EIO if a VMX instruction on the VMCS failed.
 */
static __always_inline int vmx_vmcs_leave(struct vmx_vcpu *vcpu)
{
	preempt_enable();
	return unlikely(vcpu->vmcs_failed) ? -EIO : 0;
}

void vmx_vmcs_setup(struct vmx_vcpu *vcpu);

/* fpu.c */
extern u64 vmx_host_xcr0;
int vmx_fpu_setup(void);
bool vmx_has_xsave(void);
void vmx_get_fpu(struct hvx_vcpu *hv, struct kvm_fpu *fpu);
int vmx_set_fpu(struct hvx_vcpu *hv, const struct kvm_fpu *fpu);
int vmx_set_xcr0(struct vmx_vcpu *vcpu, u64 xcr0);
void vmx_get_xcrs(struct hvx_vcpu *hv, struct kvm_xcrs *xcrs);
int vmx_set_xcrs(struct hvx_vcpu *hv, const struct kvm_xcrs *xcrs);
void vmx_get_xsave(struct hvx_vcpu *hv, struct kvm_xsave *xsave);
int vmx_set_xsave(struct hvx_vcpu *hv, const struct kvm_xsave *xsave);

/* state.c */
void vmx_skip_instruction(struct vmx_vcpu *vcpu);
int vmx_set_cr0(struct vmx_vcpu *vcpu, unsigned long cr0);
int vmx_set_cr4(struct vmx_vcpu *vcpu, unsigned long cr4);
void vmx_state_reset(struct vmx_vcpu *vcpu);
void vmx_state_sipi(u8 vector);
void vmx_get_debugregs(struct hvx_vcpu *hv, struct kvm_debugregs *d);
int vmx_set_debugregs(struct hvx_vcpu *hv, const struct kvm_debugregs *d);
int vmx_get_regs(struct hvx_vcpu *hv, struct kvm_regs *regs);
int vmx_set_regs(struct hvx_vcpu *hv, const struct kvm_regs *regs);
int vmx_get_sregs(struct hvx_vcpu *hv, struct kvm_sregs *sregs);
int vmx_set_sregs(struct hvx_vcpu *hv, const struct kvm_sregs *sregs);

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
int vmx_get_events(struct hvx_vcpu *hv, struct kvm_vcpu_events *events);
int vmx_set_events(struct hvx_vcpu *hv, const struct kvm_vcpu_events *events);

/* emulate.c: guest memory through the guest's page tables, and MMIO */
struct vmx_fetch_state {
	unsigned long rip, cs_base, cr0, cr3, cr4;
	u64 efer, pdptr[4];
	bool long_mode;		/* 64-bit code segment */
	bool def32;		/* 32-bit default operand and address size */
	u64 seg_base[6];	/* by HVX_SEG_*; filled by MMIO emulation only */
};

static inline unsigned long vmx_addr_mask(unsigned int asize)
{
	return asize == 8 ? ~0UL : (1UL << (asize * 8)) - 1;
}

void vmx_read_fetch_state(struct vmx_fetch_state *st);
int vmx_get_fetch_state(struct vmx_vcpu *vcpu, struct vmx_fetch_state *st);
int vmx_access_linear(struct hvx_vm *vm, const struct vmx_fetch_state *st,
		      u64 la, void *buf, unsigned int len, bool write);
void vmx_reg_store_addr(struct vmx_vcpu *vcpu, int reg, unsigned int asize,
			unsigned long val);
int vmx_emulate_mmio(struct hvx_vcpu *vcpu, u64 gpa);
int vmx_complete_mmio(struct vmx_vcpu *vcpu);

/* io.c */
int vmx_handle_io(struct vmx_vcpu *vcpu);
void vmx_complete_pio(struct vmx_vcpu *vcpu);
int vmx_emulate_string_io(struct hvx_vcpu *vcpu);
int vmx_complete_string_io(struct vmx_vcpu *vcpu);

/* exit.c */
int vmx_handle_exit(struct vmx_vcpu *vcpu);

/* run.c */
int vmx_l1d_flush_setup(void);
void vmx_l1d_flush_unsetup(void);
int vmx_vcpu_complete(struct hvx_vcpu *hv);
int vmx_vcpu_run(struct hvx_vcpu *hv);
int vmx_vcpu_emulate(struct hvx_vcpu *hv);
void vmx_vcpu_fpu_load(struct hvx_vcpu *hv);
void vmx_vcpu_put(struct hvx_vcpu *hv);

#endif /* HVX_VMX_VMX_H */
