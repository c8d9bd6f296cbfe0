// SPDX-License-Identifier: GPL-2.0
/*
 * hvx: the guest's machine-check MSRs, with KVM's semantics (api.rst,
 * KVM_X86_SETUP_MCE): a vCPU starts with HVX_MAX_MCE_BANKS banks and no
 * MCG_CTL; KVM_X86_SETUP_MCE chooses the bank count and the capability
 * bits (of those KVM_X86_GET_MCE_CAP_SUPPORTED reports) and enables every
 * error (IA32_MCG_CTL and each IA32_MCi_CTL all ones).  No error is ever
 * reported to the guest: hvx does not inject machine checks
 * (KVM_X86_SET_MCE is not implemented), so these are values a guest OS
 * reads, writes and clears, checked as a processor checks them.
 *
 * Intel SDM Vol. 3B, chapter 16 (Machine-Check Architecture).
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <asm/mce.h>
#include <asm/msr-index.h>

#include "mce.h"

/* What KVM_X86_SETUP_MCE may ask for beyond the bank count, as KVM. */
#define HVX_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
/* IA32_MCG_CAP bits 7:0 (count) and 23:16 (extended registers' count). */
#define HVX_MCG_CAP_COUNTS	(0xffULL | 0xff0000ULL)

static unsigned int hvx_mce_banks(const struct hvx_mce *mce)
{
	return mce->mcg_cap & 0xff;
}

/**
 * hvx_mce_init() - a new vCPU's machine-check state, as KVM's
 * @mce: the state (zeroed with its vCPU).
 */
void hvx_mce_init(struct hvx_mce *mce)
{
	memset(mce, 0, sizeof(*mce));
	mce->mcg_cap = HVX_MAX_MCE_BANKS;
}

/**
 * hvx_mce_cap_supported() - KVM_X86_GET_MCE_CAP_SUPPORTED
 *
 * Return: the IA32_MCG_CAP bits a vCPU may have.
 */
u64 hvx_mce_cap_supported(void)
{
	return HVX_MCE_CAP_SUPPORTED;
}

/**
 * hvx_mce_setup() - KVM_X86_SETUP_MCE
 * @mce: the vCPU's state.
 * @mcg_cap: the IA32_MCG_CAP the guest reads: 1 to HVX_MAX_MCE_BANKS
 *	banks, supported bits only.
 *
 * Return: 0, or -EINVAL (nothing changed).
 */
int hvx_mce_setup(struct hvx_mce *mce, u64 mcg_cap)
{
	unsigned int banks = mcg_cap & 0xff, i;

	if (!banks || banks > HVX_MAX_MCE_BANKS)
		return -EINVAL;
	if (mcg_cap & ~(HVX_MCE_CAP_SUPPORTED | HVX_MCG_CAP_COUNTS))
		return -EINVAL;
	mce->mcg_cap = mcg_cap;
	if (mcg_cap & MCG_CTL_P)
		mce->mcg_ctl = ~0ULL;
	for (i = 0; i < banks; i++)
		mce->banks[4 * i] = ~0ULL;
	return 0;
}

/*
 * The bank register @index names: its offset in @banks; -ENOENT when
 * @index is no bank MSR at all, -EINVAL for a bank this vCPU lacks.
 */
static int hvx_mce_bank_reg(const struct hvx_mce *mce, u32 index)
{
	if (index < MSR_IA32_MC0_CTL ||
	    index >= MSR_IA32_MC0_CTL + 4 * HVX_MAX_MCE_BANKS)
		return -ENOENT;
	if (index >= MSR_IA32_MC0_CTL + 4 * hvx_mce_banks(mce))
		return -EINVAL;
	return index - MSR_IA32_MC0_CTL;
}

/**
 * hvx_mce_get_msr() - read a machine-check MSR
 * @mce: the vCPU's state.
 * @index: the MSR.
 * @data: its value.
 * @host: KVM_GET_MSRS (else the guest's RDMSR).
 *
 * Return: 0; -ENOENT when @index is not a machine-check MSR; -EINVAL for
 * one this vCPU does not have (#GP).
 */
int hvx_mce_get_msr(struct hvx_mce *mce, u32 index, u64 *data, bool host)
{
	int reg;

	switch (index) {
	case MSR_IA32_P5_MC_ADDR:
	case MSR_IA32_P5_MC_TYPE:
		*data = 0;
		return 0;
	case MSR_IA32_MCG_CAP:
		*data = mce->mcg_cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = mce->mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(mce->mcg_cap & MCG_CTL_P) && !host)
			return -EINVAL;
		*data = mce->mcg_ctl;
		return 0;
	}
	reg = hvx_mce_bank_reg(mce, index);
	if (reg < 0)
		return reg;
	*data = mce->banks[reg];
	return 0;
}

/**
 * hvx_mce_set_msr() - write a machine-check MSR
 * @mce: the vCPU's state.
 * @index: the MSR.
 * @data: the value.
 * @host: KVM_SET_MSRS (else the guest's WRMSR).
 *
 * As a processor (and KVM): IA32_MCG_CAP is read-only; IA32_MCG_CTL and
 * IA32_MCi_CTL take all zeros or all ones (an MCi_CTL also with bit 0 or
 * bit 10 clear, which some guests clear); a guest may write only zero to
 * an IA32_MCi_STATUS (clearing it), the VMM any value.
 *
 * Return: 0; -ENOENT when @index is not a machine-check MSR; -EINVAL for
 * a value or an MSR this vCPU refuses (#GP).
 */
int hvx_mce_set_msr(struct hvx_mce *mce, u32 index, u64 data, bool host)
{
	int reg;

	switch (index) {
	case MSR_IA32_MCG_CAP:
		return data == mce->mcg_cap && host ? 0 : -EINVAL;
	case MSR_IA32_MCG_STATUS:
		mce->mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(mce->mcg_cap & MCG_CTL_P) && (data || !host))
			return -EINVAL;
		if (data && data != ~0ULL)
			return -EINVAL;
		mce->mcg_ctl = data;
		return 0;
	}
	reg = hvx_mce_bank_reg(mce, index);
	if (reg < 0)
		return reg;
	switch (reg & 3) {
	case 0:		/* IA32_MCi_CTL */
		if (data && (data | BIT_ULL(10) | BIT_ULL(0)) != ~0ULL)
			return -EINVAL;
		break;
	case 1:		/* IA32_MCi_STATUS */
		if (data && !host)
			return -EINVAL;
		break;
	}
	mce->banks[reg] = data;
	return 0;
}
