/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the VMX configuration chosen once at module load, from
 * the VMX capability MSRs, and the predicates that read it.
 */
#ifndef HVX_VMX_CAPABILITIES_H
#define HVX_VMX_CAPABILITIES_H

#include <linux/cache.h>
#include <linux/types.h>
#include <asm/processor-flags.h>
#include <asm/vmx.h>

/* The five VM-execution, VM-exit and VM-entry control words. */
enum vmx_ctl {
	VMX_CTL_PIN,
	VMX_CTL_PROC,
	VMX_CTL_PROC2,
	VMX_CTL_EXIT,
	VMX_CTL_ENTRY,
	VMX_NR_CTLS
};

/**
 * struct vmx_config - the VMX setup hvx uses on every CPU
 * @revision_id:	VMCS revision identifier (IA32_VMX_BASIC[30:0]).
 * @vmcs_size:		bytes the processor may use in a VMCS or VMXON region.
 * @ctls:		the value of each control word: every bit the
 *			processor requires, every bit hvx needs and every
 *			optional bit hvx wants that the processor allows.
 * @ept_cap:		IA32_VMX_EPT_VPID_CAP[31:0], the EPT capabilities.
 * @vpid_cap:		IA32_VMX_EPT_VPID_CAP[63:32], the VPID capabilities.
 * @cr0_fixed0, @cr0_fixed1, @cr4_fixed0, @cr4_fixed1: the CR0 and CR4 bits
 *			fixed to 1 and allowed to be 1 in VMX operation.
 * @preemption_timer:	VMX-preemption timer value bounding each guest
 *			slice, or 0 without the timer.
 */
struct vmx_config {
	u32 revision_id;
	u32 vmcs_size;
	u32 ctls[VMX_NR_CTLS];
	u32 ept_cap;
	u32 vpid_cap;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 preemption_timer;
};

extern struct vmx_config vmx_config __ro_after_init;

int vmx_probe(void);

/*
 * The CR0 bits VMX fixes to 1 for a guest: unrestricted guest lets PE and
 * PG be 0 (Intel SDM Vol. 3C, 26.3.1.1).
 */
static inline unsigned long vmx_cr0_fixed0(void)
{
	return vmx_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);
}

static inline bool cpu_has_vmx_preemption_timer(void)
{
	return vmx_config.ctls[VMX_CTL_PIN] & PIN_BASED_VMX_PREEMPTION_TIMER;
}

static inline bool cpu_has_vmx_invpcid(void)
{
	return vmx_config.ctls[VMX_CTL_PROC2] & SECONDARY_EXEC_ENABLE_INVPCID;
}

static inline bool cpu_has_vmx_invvpid_single(void)
{
	return vmx_config.vpid_cap & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
}

static inline bool cpu_has_vmx_invvpid_global(void)
{
	return vmx_config.vpid_cap & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT;
}

static inline bool cpu_has_vmx_invept_single(void)
{
	return vmx_config.ept_cap & VMX_EPT_EXTENT_CONTEXT_BIT;
}

static inline bool cpu_has_vmx_invept_global(void)
{
	return vmx_config.ept_cap & VMX_EPT_EXTENT_GLOBAL_BIT;
}

#endif /* HVX_VMX_CAPABILITIES_H */
