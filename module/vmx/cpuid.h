/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the CPUID model (cpuid.c) and the MSRs a guest OS
 * touches at boot beyond the ones vmx.c switches (msr.c).
 */
#ifndef HVX_VMX_CPUID_H
#define HVX_VMX_CPUID_H

#include <linux/kvm.h>
#include <linux/types.h>

struct vmx_vcpu;
struct hvx_vcpu;

/**
 * struct vmx_cpuid - a vCPU's CPUID table (KVM_SET_CPUID2)
 * @entries:	the table as userspace set it; NULL until it does, and then
 *		every leaf reads as zeros (as on KVM).
 * @nent:	number of entries.
 * @xcr0:	the XCR0 bits the table offers (leaf 0xD.0 EDX:EAX).
 */
struct vmx_cpuid {
	struct kvm_cpuid_entry2 *entries;
	unsigned int nent;
	u64 xcr0;
};

/* Variable-range MTRR pairs the guest gets (IA32_MTRRCAP.VCNT). */
#define VMX_NR_VAR_MTRRS	8
/* Fixed-range MTRRs: 64K_00000, 16K_80000/A0000, 4K_C0000..F8000. */
#define VMX_NR_FIXED_MTRRS	11

/**
 * struct vmx_msr_state - boot-time MSRs kept for the guest by msr.c
 * @apic_base:	IA32_APIC_BASE.
 * @feature_control: IA32_FEATURE_CONTROL.
 * @mtrr_def:	IA32_MTRR_DEF_TYPE.
 * @mtrr_fixed:	the fixed-range MTRRs, in MSR number order.
 * @mtrr_var:	IA32_MTRR_PHYSBASEn / PHYSMASKn, interleaved as their
 *		MSR numbers are.
 */
struct vmx_msr_state {
	u64 apic_base;
	u64 feature_control;
	u64 mtrr_def;
	u64 mtrr_fixed[VMX_NR_FIXED_MTRRS];
	u64 mtrr_var[2 * VMX_NR_VAR_MTRRS];
};

/* MTRR MSRs (Intel SDM Vol. 4, Table 2-2). */
#define VMX_MSR_MTRRCAP		0x0fe
#define VMX_MSR_MTRR_BASE0	0x200	/* PHYSBASE0; PHYSMASK0 follows */
#define VMX_MSR_MTRR_FIX64K	0x250	/* 00000 */
#define VMX_MSR_MTRR_FIX16K	0x258	/* 80000, A0000 */
#define VMX_MSR_MTRR_FIX4K	0x268	/* C0000, C8000, ... F8000 */
#define VMX_MSR_MTRR_DEF_TYPE	0x2ff

/* cpuid.c */
int vmx_cpuid_setup(void);
unsigned int vmx_supported_cpuid(const struct kvm_cpuid_entry2 **entries);
int vmx_set_cpuid(struct hvx_vcpu *vcpu,
		  const struct kvm_cpuid_entry2 *entries, unsigned int nent);
unsigned int vmx_get_cpuid(struct hvx_vcpu *vcpu,
			   const struct kvm_cpuid_entry2 **entries);
void vmx_cpuid_free(struct vmx_vcpu *vcpu);
void vmx_cpuid_emulate(struct vmx_vcpu *vcpu);
u64 vmx_cpuid_xcr0(struct vmx_vcpu *vcpu);
unsigned int vmx_cpuid_maxphyaddr(struct vmx_vcpu *vcpu);
unsigned long vmx_cpuid_cr4_reserved(struct vmx_vcpu *vcpu);

/* msr.c */
void vmx_msr_reset(struct vmx_vcpu *vcpu);
int vmx_get_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data);
int vmx_set_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 data);
int vmx_check_apic_base(struct vmx_vcpu *vcpu, u64 data, bool host);

#endif /* HVX_VMX_CPUID_H */
