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
 * - kvmclock's MSRs (MSR_KVM_WALL_CLOCK/SYSTEM_TIME and their _NEW forms):
 *   hvx has no kvmclock and its CPUID does not offer one.  As KVM sees a
 *   VMM turning it off, KVM_SET_MSRS of 0 is accepted (QEMU writes it at
 *   every reset) and they read 0; enabling it, or any guest access, is
 *   refused.
 * MSRs not handled here or in vmx.c raise #GP, as on a processor without
 * them; the CPUID table hvx supports does not advertise their features.
 */
#include <linux/bits.h>
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>

#include "irq/irq.h"
#include "cpuid.h"
#include "msr.h"
#include "vmcs.h"
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

/* The guest's TSC is the host's plus @offset (no RDTSC exits). */
static void vmx_set_tsc_offset(struct vmx_vcpu *vcpu, u64 offset)
{
	vcpu->msr_tsc_offset = offset;
	vmcs_write64(TSC_OFFSET, offset);
	hvx_lapic_set_tsc_offset(&vcpu->vcpu, offset);
}

/* The guest's CPUID offers IA32_TSC_ADJUST (CPUID.(EAX=7,ECX=0):EBX[1]). */
static bool vmx_has_tsc_adjust(struct vmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = vmx_find(vcpu->cpuid.entries, vcpu->cpuid.nent, 7, 0);
	return e && (e->ebx & F(TSC_ADJUST));
}

/**
 * vmx_msr_reset() - the MSRs of a vCPU after reset
 * @vcpu: the vCPU (its id is set), its VMCS current.
 */
void vmx_msr_reset(struct vmx_vcpu *vcpu)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	unsigned int i;

	vcpu->msr_misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
				MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	vmx_set_tsc_offset(vcpu, -rdtsc());
	vcpu->msr_tsc_adjust = 0;
	memset(vcpu->guest_msrs, 0, sizeof(vcpu->guest_msrs));
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writel(GUEST_SYSENTER_ESP, 0);
	vmcs_writel(GUEST_SYSENTER_EIP, 0);
	vmcs_write64(GUEST_IA32_PAT, 0x0007040600070406ULL);

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

/*
 * Physical-address bits the guest may not set: none for a width of 64 or
 * more (a table may say so; KVM takes it as given too).
 */
static u64 vmx_gpa_reserved(struct vmx_vcpu *vcpu)
{
	unsigned int bits = vmx_cpuid_maxphyaddr(vcpu);

	return bits < 64 ? ~0ULL << bits : 0;
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
 * @host: KVM_GET_MSRS (else the guest's RDMSR).
 *
 * Return: 0, or -EINVAL for an MSR not handled here.
 */
static int vmx_get_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data,
			    bool host)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	int i;

	switch (index) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		if (!host)
			return -EINVAL;
		*data = 0;
		return 0;
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
 * @host: KVM_SET_MSRS (else the guest's WRMSR).
 *
 * Read-only MSRs accept their own value, so that a VMM can restore every
 * MSR of KVM_GET_MSR_INDEX_LIST.
 *
 * Return: 0, or -EINVAL for an MSR not handled here or a value the
 * processor would refuse.
 */
static int vmx_set_boot_msr(struct vmx_vcpu *vcpu, u32 index, u64 data,
			    bool host)
{
	struct vmx_msr_state *m = &vcpu->msrs;
	unsigned int i;
	int fixed;
	u64 cur;

	switch (index) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		/* kvmclock off: the only state hvx has. */
		return host && !data ? 0 : -EINVAL;
	case MSR_IA32_PLATFORM_ID:
	case VMX_MSR_MTRRCAP:
		if (vmx_get_boot_msr(vcpu, index, &cur, host) || data != cur)
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

/*
 * MSRs whose guest value lives in a VMCS guest-state field: the guest
 * reads and writes those marked passthrough without an exit (the MSR
 * bitmap), the others through vmx_get_msr()/vmx_set_msr().
 */
struct vmx_vmcs_msr {
	u32 index;
	u32 field;
	bool passthrough;
	bool (*valid)(u64 data);
};

static bool vmx_canonical(u64 data)
{
	return __is_canonical_address(data, 48);
}

/* A value the WRMSR to the hardware takes without faulting. */
static bool vmx_u32(u64 data)
{
	return !(data >> 32);
}

static bool vmx_pat_valid(u64 pat)
{
	int i;

	/* Memory types 0, 1, 4, 5, 6, 7 (Intel SDM Vol. 3A, 13.12.2). */
	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

static const struct vmx_vmcs_msr vmx_vmcs_msrs[] = {
	{ MSR_FS_BASE, GUEST_FS_BASE, true, vmx_canonical },
	{ MSR_GS_BASE, GUEST_GS_BASE, true, vmx_canonical },
	{ MSR_IA32_SYSENTER_CS, GUEST_SYSENTER_CS, true, NULL },
	{ MSR_IA32_SYSENTER_ESP, GUEST_SYSENTER_ESP, true, vmx_canonical },
	{ MSR_IA32_SYSENTER_EIP, GUEST_SYSENTER_EIP, true, vmx_canonical },
	{ MSR_IA32_CR_PAT, GUEST_IA32_PAT, false, vmx_pat_valid },
};

/*
 * MSRs hvx switches itself around guest execution (vmx_msrs_load_guest()),
 * in enum vmx_switched_msr order.  They matter to the guest only once it
 * enables SYSCALL or long mode; until then the host's stay.
 */
static const struct {
	u32 index;
	bool (*valid)(u64 data);
} vmx_switched_msrs[VMX_NR_SWITCHED_MSRS] = {
	[VMX_MSR_STAR] = { MSR_STAR, NULL },
	[VMX_MSR_LSTAR] = { MSR_LSTAR, vmx_canonical },
	[VMX_MSR_CSTAR] = { MSR_CSTAR, vmx_canonical },
	/* Bits 63:32 are reserved (Intel SDM Vol. 4, Table 2-2). */
	[VMX_MSR_SFMASK] = { MSR_SYSCALL_MASK, vmx_u32 },
	[VMX_MSR_KERNEL_GS_BASE] = { MSR_KERNEL_GS_BASE, vmx_canonical },
};

/* Shared by every vCPU: intercept all MSRs but a few. */
static unsigned long *vmx_msr_bitmap;

static void vmx_msr_passthrough(u32 msr)
{
	unsigned long base = msr >= 0xc0000000 ? 1024 : 0;
	unsigned long bit = msr & 0x1fff;

	/* Read bitmap at offset 0 or 1024, write bitmap 2048 bytes later. */
	__clear_bit(base * 8 + bit, vmx_msr_bitmap);
	__clear_bit((base + 2048) * 8 + bit, vmx_msr_bitmap);
}

/**
 * vmx_msr_setup() - the MSR bitmap, once at load
 *
 * MSR bitmap (Intel SDM Vol. 3C, 25.6.9): read bitmaps for low and high
 * MSRs, then write bitmaps; a set bit makes the access exit.  Every MSR
 * exits but those whose guest value lives in the VMCS and needs no check.
 *
 * Return: 0 or -ENOMEM.
 */
int vmx_msr_setup(void)
{
	unsigned int i;

	vmx_msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	if (!vmx_msr_bitmap)
		return -ENOMEM;
	memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(vmx_vmcs_msrs); i++)
		if (vmx_vmcs_msrs[i].passthrough)
			vmx_msr_passthrough(vmx_vmcs_msrs[i].index);
	return 0;
}

/**
 * vmx_msr_unsetup() - undo vmx_msr_setup()
 */
void vmx_msr_unsetup(void)
{
	free_page((unsigned long)vmx_msr_bitmap);
	vmx_msr_bitmap = NULL;
}

/**
 * vmx_msr_vmcs_setup() - the MSR part of a new VMCS
 * @vcpu: the vCPU, its VMCS current.
 */
void vmx_msr_vmcs_setup(struct vmx_vcpu *vcpu)
{
	vmcs_write64(MSR_BITMAP, __pa(vmx_msr_bitmap));
}

/**
 * vmx_msrs_load_guest() - put the guest's switched MSRs in the processor
 * @vcpu: the vCPU, its VMCS current, preemption disabled.
 */
void vmx_msrs_load_guest(struct vmx_vcpu *vcpu)
{
	unsigned int i;

	vcpu->guest_msrs_loaded = vmcs_read64(GUEST_IA32_EFER) &
				  (EFER_SCE | EFER_LMA);
	if (!vcpu->guest_msrs_loaded)
		return;
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++) {
		rdmsrl(vmx_switched_msrs[i].index, vcpu->host_msrs[i]);
		wrmsrl(vmx_switched_msrs[i].index, vcpu->guest_msrs[i]);
	}
}

/**
 * vmx_msrs_put_guest() - put the host's switched MSRs back
 * @vcpu: the vCPU, on the CPU of vmx_msrs_load_guest().
 */
void vmx_msrs_put_guest(struct vmx_vcpu *vcpu)
{
	unsigned int i;

	if (!vcpu->guest_msrs_loaded)
		return;
	/* SWAPGS in the guest changes it behind hvx's back. */
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_msrs[VMX_MSR_KERNEL_GS_BASE]);
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		wrmsrl(vmx_switched_msrs[i].index, vcpu->host_msrs[i]);
	vcpu->guest_msrs_loaded = false;
}

/*
 * vmx_set_efer() - the guest (WRMSR) or the VMM sets IA32_EFER
 * @vcpu: the vCPU, its VMCS current.
 * @efer: the new value; LMA follows CR0.PG and LME.
 *
 * Return: 0, or -EINVAL for reserved bits or an LME change while paging.
 */
static int vmx_set_efer(struct vmx_vcpu *vcpu, u64 efer)
{
	u64 old = vmcs_read64(GUEST_IA32_EFER);
	unsigned long cr0 = vmx_guest_cr0();

	if (!vmx_efer_valid(efer))
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && ((efer ^ old) & EFER_LME))
		return -EINVAL;
	efer = (efer & ~EFER_LMA) | (old & EFER_LMA);
	vmcs_write64(GUEST_IA32_EFER, efer);
	return 0;
}

/**
 * vmx_get_msr() - read one of the MSRs hvx gives guests
 * @vcpu: the vCPU, its VMCS current.
 * @index: the MSR.
 * @data: its value.
 *
 * @host:	KVM_GET_MSRS (else the guest's RDMSR).
 *
 * Return: 0, or -EINVAL for an MSR hvx does not handle (#GP in the guest).
 */
int vmx_get_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	unsigned int i;
	int r;

	if (vcpu->vcpu.lapic) {
		r = hvx_lapic_get_msr(&vcpu->vcpu, index, data, host);
		if (r != -ENOENT)
			return r ? -EINVAL : 0;
	}
	r = hvx_mce_get_msr(&vcpu->vcpu.mce, index, data, host);
	if (r != -ENOENT)
		return r;

	for (i = 0; i < ARRAY_SIZE(vmx_vmcs_msrs); i++) {
		if (vmx_vmcs_msrs[i].index == index) {
			*data = __vmcs_read(vmx_vmcs_msrs[i].field);
			return 0;
		}
	}
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++) {
		if (vmx_switched_msrs[i].index == index) {
			if (vcpu->guest_msrs_loaded &&
			    i == VMX_MSR_KERNEL_GS_BASE)
				rdmsrl(index, vcpu->guest_msrs[i]);
			*data = vcpu->guest_msrs[i];
			return 0;
		}
	}
	switch (index) {
	case MSR_EFER:
		*data = vmcs_read64(GUEST_IA32_EFER);
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->msr_tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		if (!host && !vmx_has_tsc_adjust(vcpu))
			return -EINVAL;
		*data = vcpu->msr_tsc_adjust;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->msr_misc_enable;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* No in-kernel APIC, no timer: reads 0, as on KVM. */
		*data = 0;
		return 0;
	}
	return vmx_get_boot_msr(vcpu, index, data, host);
}

/**
 * vmx_set_msr() - write one of the MSRs hvx gives guests
 * @vcpu: the vCPU, its VMCS current.
 * @index: the MSR.
 * @data: the value.
 * @host:	KVM_SET_MSRS (else the guest's WRMSR).
 *
 * Return: 0, or -EINVAL for an MSR hvx does not handle or a value a real
 * CPU would refuse (#GP in the guest).
 */
int vmx_set_msr(struct vmx_vcpu *vcpu, u32 index, u64 data, bool host)
{
	unsigned int i;
	u64 off;
	int r;

	/* The in-kernel APIC's: IA32_APIC_BASE, x2APIC, TSC deadline. */
	if (vcpu->vcpu.lapic) {
		r = hvx_lapic_set_msr(&vcpu->vcpu, index, data, host);
		if (r != -ENOENT)
			return r ? -EINVAL : 0;
	}
	r = hvx_mce_set_msr(&vcpu->vcpu.mce, index, data, host);
	if (r != -ENOENT)
		return r;

	for (i = 0; i < ARRAY_SIZE(vmx_vmcs_msrs); i++) {
		const struct vmx_vmcs_msr *m = &vmx_vmcs_msrs[i];

		if (m->index != index)
			continue;
		if (m->valid && !m->valid(data))
			return -EINVAL;
		__vmcs_write(m->field, data);
		return 0;
	}
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++) {
		if (vmx_switched_msrs[i].index != index)
			continue;
		if (vmx_switched_msrs[i].valid &&
		    !vmx_switched_msrs[i].valid(data))
			return -EINVAL;
		vcpu->guest_msrs[i] = data;
		/* Written while the guest's are in the hardware. */
		if (vcpu->guest_msrs_loaded)
			wrmsrl(index, data);
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		return vmx_set_efer(vcpu, data);
	case MSR_IA32_TSC:
		/*
		 * As KVM: the guest's write moves IA32_TSC_ADJUST by as much
		 * (SDM Vol. 3B, 18.17.3); the VMM's sets the offset alone.
		 */
		off = data - rdtsc();
		if (!host)
			vcpu->msr_tsc_adjust += off - vcpu->msr_tsc_offset;
		vmx_set_tsc_offset(vcpu, off);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		/* The guest's write moves its TSC; the VMM's only sets it. */
		if (!host) {
			if (!vmx_has_tsc_adjust(vcpu))
				return -EINVAL;
			vmx_set_tsc_offset(vcpu, vcpu->msr_tsc_offset + data -
					   vcpu->msr_tsc_adjust);
		}
		vcpu->msr_tsc_adjust = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		vcpu->msr_misc_enable = data;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* No in-kernel APIC: ignored, as on KVM. */
		return 0;
	}
	return vmx_set_boot_msr(vcpu, index, data, host);
}

const u32 vmx_msr_list[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_CR_PAT,
	MSR_IA32_TSC, MSR_IA32_MISC_ENABLE, MSR_IA32_TSC_DEADLINE,
	MSR_IA32_TSC_ADJUST,
	/* mce.c, as KVM lists them */
	MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL,
	/* msr.c */
	MSR_IA32_PLATFORM_ID, MSR_IA32_APICBASE, MSR_IA32_FEAT_CTL,
	MSR_IA32_UCODE_REV, VMX_MSR_MTRRCAP, VMX_MSR_MTRR_DEF_TYPE,
	VMX_MSR_MTRR_BASE0, VMX_MSR_MTRR_BASE0 + 1,
	VMX_MSR_MTRR_BASE0 + 2, VMX_MSR_MTRR_BASE0 + 3,
	VMX_MSR_MTRR_BASE0 + 4, VMX_MSR_MTRR_BASE0 + 5,
	VMX_MSR_MTRR_BASE0 + 6, VMX_MSR_MTRR_BASE0 + 7,
	VMX_MSR_MTRR_BASE0 + 8, VMX_MSR_MTRR_BASE0 + 9,
	VMX_MSR_MTRR_BASE0 + 10, VMX_MSR_MTRR_BASE0 + 11,
	VMX_MSR_MTRR_BASE0 + 12, VMX_MSR_MTRR_BASE0 + 13,
	VMX_MSR_MTRR_BASE0 + 14, VMX_MSR_MTRR_BASE0 + 15,
	VMX_MSR_MTRR_FIX64K, VMX_MSR_MTRR_FIX16K, VMX_MSR_MTRR_FIX16K + 1,
	VMX_MSR_MTRR_FIX4K, VMX_MSR_MTRR_FIX4K + 1, VMX_MSR_MTRR_FIX4K + 2,
	VMX_MSR_MTRR_FIX4K + 3, VMX_MSR_MTRR_FIX4K + 4, VMX_MSR_MTRR_FIX4K + 5,
	VMX_MSR_MTRR_FIX4K + 6, VMX_MSR_MTRR_FIX4K + 7,
};

int vmx_vcpu_get_msr(struct hvx_vcpu *hv, u32 index, u64 *data)
{
	int r = vmx_vmcs_enter(to_vmx(hv));

	if (r)
		return r;
	r = vmx_get_msr(to_vmx(hv), index, data, true);
	return vmx_vmcs_leave(to_vmx(hv)) ?: r;
}

int vmx_vcpu_set_msr(struct hvx_vcpu *hv, u32 index, u64 data)
{
	int r = vmx_vmcs_enter(to_vmx(hv));

	if (r)
		return r;
	r = vmx_set_msr(to_vmx(hv), index, data, true);
	return vmx_vmcs_leave(to_vmx(hv)) ?: r;
}
