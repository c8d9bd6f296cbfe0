/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx: the guest's machine-check architecture (mce.c): IA32_MCG_CAP,
 * IA32_MCG_STATUS, IA32_MCG_CTL and the error-reporting banks, as values a
 * guest OS reads and clears.  x86 platform state: no backend header.
 */
#ifndef HVX_MCE_H
#define HVX_MCE_H

#include <linux/types.h>

/* As KVM: the banks a vCPU may have (KVM_CHECK_EXTENSION(KVM_CAP_MCE)). */
#define HVX_MAX_MCE_BANKS	32

/**
 * struct hvx_mce - one vCPU's machine-check MSRs
 * @mcg_cap:	IA32_MCG_CAP: bank count in bits 7:0, MCG_CTL_P, MCG_SER_P.
 * @mcg_status:	IA32_MCG_STATUS.
 * @mcg_ctl:	IA32_MCG_CTL (only with MCG_CTL_P).
 * @banks:	IA32_MCi_CTL, _STATUS, _ADDR, _MISC of each bank, in MSR
 *		number order.
 */
struct hvx_mce {
	u64 mcg_cap;
	u64 mcg_status;
	u64 mcg_ctl;
	u64 banks[4 * HVX_MAX_MCE_BANKS];
};

struct hvx_vcpu;

void hvx_mce_init(struct hvx_mce *mce);
u64 hvx_mce_cap_supported(void);
int hvx_mce_setup(struct hvx_mce *mce, u64 mcg_cap);
int hvx_mce_get_msr(struct hvx_mce *mce, u32 index, u64 *data, bool host);
int hvx_mce_set_msr(struct hvx_mce *mce, u32 index, u64 data, bool host);

#endif /* HVX_MCE_H */
