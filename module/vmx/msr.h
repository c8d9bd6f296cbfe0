/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the guest's MSRs (msr.c): those in VMCS fields, those
 * hvx switches around guest execution, and those a guest OS touches at
 * boot.
 */
#ifndef HVX_VMX_MSR_H
#define HVX_VMX_MSR_H

#include <linux/types.h>

struct vmx_vcpu;
struct hvx_vcpu;

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

int vmx_msr_setup(void);
void vmx_msr_unsetup(void);
void vmx_msr_vmcs_setup(struct vmx_vcpu *vcpu);
void vmx_msr_reset(struct vmx_vcpu *vcpu);
int vmx_check_apic_base(struct vmx_vcpu *vcpu, u64 data, bool host);

void vmx_msrs_load_guest(struct vmx_vcpu *vcpu);
void vmx_msrs_put_guest(struct vmx_vcpu *vcpu);
int vmx_get_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data, bool host);
int vmx_set_msr(struct vmx_vcpu *vcpu, u32 index, u64 data, bool host);
int vmx_vcpu_get_msr(struct hvx_vcpu *hv, u32 index, u64 *data);
int vmx_vcpu_set_msr(struct hvx_vcpu *hv, u32 index, u64 data);
/* The MSRs KVM_GET_MSR_INDEX_LIST reports (backend_ops.msr_list). */
#define VMX_NR_MSRS	51
extern const u32 vmx_msr_list[VMX_NR_MSRS];

#endif /* HVX_VMX_MSR_H */
