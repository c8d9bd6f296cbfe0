// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: MSRs a guest OS touches while it boots, beyond those
 * whose guest value vmx.c switches into the processor.  None of them changes
 * what the hardware does; each is kept per vCPU and checked as a processor
 * would check it (a refused access is #GP in the guest, -EINVAL for
 * KVM_SET_MSRS).
 *
 * - IA32_APIC_BASE: the local APIC is userspace's, at the architectural
 *   address; only the global enable bit may change (no x2APIC, no moving).
 * - The MTRRs: a write-back-everything model.  EPT decides the memory type
 *   of guest memory, so the guest's MTRRs are only values it reads back;
 *   they start as firmware leaves them for RAM (default type WB, enabled).
 * - IA32_FEATURE_CONTROL: locked with nothing enabled, as firmware leaves a
 *   processor whose VMX, SMX and SGX the OS may not use.
 * - IA32_BIOS_SIGN_ID (microcode revision) and IA32_PLATFORM_ID: reads
 *   answered as KVM answers them; a write of the revision is ignored.
 * MSRs not handled here or in vmx.c raise #GP, as on a processor without
 * them; the CPUID table hvx supports does not advertise their features.
 */
#include <linux/bits.h>
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

#include "cpuid.h"
#include "vmx.h"

/* IA32_MTRRCAP: VCNT, fixed ranges (bit 8), write combining (bit 10). */
#define VMX_MTRRCAP		(VMX_NR_VAR_MTRRS | BIT(8) | BIT(10))
#define VMX_MTRR_TYPE_WB	6
/* IA32_MTRR_DEF_TYPE: type in bits 7:0, FE (bit 10), E (bit 11). */
#define VMX_MTRR_DEF_FE		BIT(10)
#define VMX_MTRR_DEF_E		BIT(11)
#define VMX_MTRR_DEF_VALID	(0xffULL | VMX_MTRR_DEF_FE | VMX_MTRR_DEF_E)
#define VMX_MTRR_FIXED_WB	0x0606060606060606ULL
/* PHYSMASKn valid bit. */
#define VMX_MTRR_MASK_VALID	BIT(11)

/* Microcode revision 1 in bits 63:32, the value KVM reports. */
#define VMX_UCODE_REV		BIT_ULL(32)

/**
 * vmx_msr_reset() - the boot MSRs of a vCPU after reset
 * @vcpu: the vCPU (its id is set).
 */
void vmx_msr_reset(struct vmx_vcpu *vcpu)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	/* vCPU 0 is the bootstrap processor, as on KVM. */
	m->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
		       (vcpu->vcpu.id ? 0 : MSR_IA32_APICBASE_BSP);
	m->feature_control = FEAT_CTL_LOCKED;
	m->mtrr_def = VMX_MTRR_DEF_E | VMX_MTRR_DEF_FE | VMX_MTRR_TYPE_WB;
	for (i = 0; i < VMX_NR_FIXED_MTRRS; i++)
		m->mtrr_fixed[i] = VMX_MTRR_FIXED_WB;
}

/* UC, WC, WT, WP, WB (Intel SDM Vol. 3A, Table 13-8). */
static bool vmx_mtrr_type_ok(u8 type)
{
	return type < 8 && (BIT(type) & 0x73);
}

/* mtrr_fixed[] index of a fixed-range MTRR, or -1. */
static int vmx_fixed_mtrr(u32 index)
{
	if (index == VMX_MSR_MTRR_FIX64K)
		return 0;
	if (index - VMX_MSR_MTRR_FIX16K < 2)
		return 1 + index - VMX_MSR_MTRR_FIX16K;
	if (index - VMX_MSR_MTRR_FIX4K < 8)
		return 3 + index - VMX_MSR_MTRR_FIX4K;
	return -1;
}

static bool vmx_var_mtrr(u32 index)
{
	return index >= VMX_MSR_MTRR_BASE0 &&
	       index < VMX_MSR_MTRR_BASE0 + 2 * VMX_NR_VAR_MTRRS;
}

/* Physical-address bits the guest may not set. */
static u64 vmx_gpa_reserved(struct vmx_vcpu *vcpu)
{
	return ~0ULL << vmx_cpuid_maxphyaddr(vcpu);
}

/**
 * vmx_check_apic_base() - whether a value of IA32_APIC_BASE is allowed
 * @vcpu: the vCPU.
 * @data: the value.
 * @host: set by the VMM (KVM_SET_SREGS), which may choose the BSP.
 *
 * Return: 0, or -EINVAL for reserved bits, x2APIC mode (no x2APIC), a base
 * other than the architectural one (the VMM's APIC cannot follow a move it
 * never sees) or, for the guest, a change of the BSP flag.
 */
int vmx_check_apic_base(struct vmx_vcpu *vcpu, u64 data, bool host)
{
	u64 reserved = vmx_gpa_reserved(vcpu) | 0x2ff | X2APIC_ENABLE;

	if (data & reserved)
		return -EINVAL;
	if ((data & ~0xfffULL) != APIC_DEFAULT_PHYS_BASE)
		return -EINVAL;
	if (!host && ((data ^ vcpu->msrs.apic_base) & MSR_IA32_APICBASE_BSP))
		return -EINVAL;
	return 0;
}

/**
 * vmx_get_boot_msr() - read an MSR of this file
 * @vcpu: the vCPU.
 * @index: the MSR.
 * @data: its value.
 *
 * Return: 0, or -EINVAL for an MSR not handled here.
 */
int vmx_get_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	int i;

	switch (index) {
	case MSR_IA32_PLATFORM_ID:
		*data = 0;
		return 0;
	case MSR_IA32_APICBASE:
		*data = m->apic_base;
		return 0;
	case MSR_IA32_FEAT_CTL:
		*data = m->feature_control;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = VMX_UCODE_REV;
		return 0;
	case VMX_MSR_MTRRCAP:
		*data = VMX_MTRRCAP;
		return 0;
	case VMX_MSR_MTRR_DEF_TYPE:
		*data = m->mtrr_def;
		return 0;
	}
	if (vmx_var_mtrr(index)) {
		*data = m->mtrr_var[index - VMX_MSR_MTRR_BASE0];
		return 0;
	}
	i = vmx_fixed_mtrr(index);
	if (i < 0)
		return -EINVAL;
	*data = m->mtrr_fixed[i];
	return 0;
}

static int vmx_set_var_mtrr(struct vmx_vcpu *vcpu, u32 index, u64 data)
{
	u64 reserved = vmx_gpa_reserved(vcpu);

	if ((index - VMX_MSR_MTRR_BASE0) & 1) {		/* PHYSMASKn */
		reserved |= 0x7ff;
	} else {					/* PHYSBASEn */
		reserved |= 0xf00;
		if (!vmx_mtrr_type_ok(data & 0xff))
			return -EINVAL;
	}
	if (data & reserved)
		return -EINVAL;
	vcpu->msrs.mtrr_var[index - VMX_MSR_MTRR_BASE0] = data;
	return 0;
}

/**
 * vmx_set_boot_msr() - write an MSR of this file
 * @vcpu: the vCPU.
 * @index: the MSR.
 * @data: the value.
 *
 * Read-only MSRs accept their own value, so that a VMM can restore every
 * MSR of KVM_GET_MSR_INDEX_LIST.
 *
 * Return: 0, or -EINVAL for an MSR not handled here or a value the
 * processor would refuse.
 */
int vmx_set_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	unsigned int i;
	int fixed;
	u64 cur;

	switch (index) {
	case MSR_IA32_PLATFORM_ID:
	case VMX_MSR_MTRRCAP:
		if (vmx_get_boot_msr(vcpu, index, &cur) || data != cur)
			return -EINVAL;
		return 0;
	case MSR_IA32_APICBASE:
		if (vmx_check_apic_base(vcpu, data, false))
			return -EINVAL;
		m->apic_base = data;
		return 0;
	case MSR_IA32_FEAT_CTL:
		/* Locked: only the same value; nothing but the lock exists. */
		if (data & ~(u64)FEAT_CTL_LOCKED)
			return -EINVAL;
		if ((m->feature_control & FEAT_CTL_LOCKED) &&
		    data != m->feature_control)
			return -EINVAL;
		m->feature_control = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		/* Writing 0 then CPUID makes it readable; nothing to load. */
		return 0;
	case VMX_MSR_MTRR_DEF_TYPE:
		if ((data & ~VMX_MTRR_DEF_VALID) ||
		    !vmx_mtrr_type_ok(data & 0xff))
			return -EINVAL;
		m->mtrr_def = data;
		return 0;
	}
	if (vmx_var_mtrr(index))
		return vmx_set_var_mtrr(vcpu, index, data);
	fixed = vmx_fixed_mtrr(index);
	if (fixed < 0)
		return -EINVAL;
	for (i = 0; i < 8; i++)
		if (!vmx_mtrr_type_ok(data >> (i * 8)))
			return -EINVAL;
	m->mtrr_fixed[fixed] = data;
	return 0;
}
