// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: the KVM_GET_SUPPORTED_CPUID table, built once at load.
 *
 * KVM_GET_SUPPORTED_CPUID reports the host's CPUID minus everything hvx
 * cannot give a guest: features whose instructions the VMCS controls turn
 * into #UD (RDTSCP, RDPID, XSAVES, WAITPKG), features whose MSRs or state
 * hvx does not switch (PMU, PKU, TSX controls, SPEC_CTRL, CET, AMX, MPX,
 * XSS) and features of the machine rather than of a CPU (VMX, SMX, MONITOR, power
 * management, machine-check banks).  It adds the hypervisor bit and two
 * hypervisor leaves: 0x40000000 with the "hvxhvxhvx" signature, and
 * 0x40000010 with the TSC frequency in kHz (the convention VMware started).
 * As KVM it offers the x2APIC of its in-kernel local APIC whatever the
 * host has, and leaves the TSC-deadline timer to KVM_CAP_TSC_DEADLINE_TIMER
 * (VMMs set that bit from the capability).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xstate.h>
#include <asm/processor.h>
#include <asm/tsc.h>
#include <linux/hvx.h>

#include "capabilities.h"
#include "cpuid.h"
#include "vmcs.h"
#include "vmx.h"

/* CPUID.80000007H:EDX[8], invariant TSC (Intel SDM Vol. 2A, CPUID). */
#define VMX_CPUID_INVARIANT_TSC	BIT(8)

/* XCR0 features hvx lets a guest enable: x87, SSE, AVX, AVX-512. */
#define VMX_GUEST_XFEATURES	(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | \
				 XFEATURE_MASK_AVX512)
#define VMX_NR_XFEATURES	8

/* The legacy region and the XSAVE header (Intel SDM Vol. 1, 13.4). */
#define VMX_XSAVE_LEGACY_SIZE	576

static struct kvm_cpuid_entry2 vmx_supported[64] __ro_after_init;
static unsigned int vmx_nr_supported __ro_after_init;
u64 vmx_supported_xcr0 __ro_after_init;

/* Size, standard-format offset and 64-byte alignment of each xfeature. */
static struct {
	u32 size, offset;
	bool align;
} vmx_xstate[VMX_NR_XFEATURES] __ro_after_init;

/* Bytes an XSAVE (standard) or XSAVEC (compacted) image of @xcr0 needs. */
u32 vmx_xsave_size(u64 xcr0, bool compacted)
{
	u32 size = VMX_XSAVE_LEGACY_SIZE, end;
	unsigned int i;

	for (i = 2; i < VMX_NR_XFEATURES; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		if (compacted) {
			if (vmx_xstate[i].align)
				size = ALIGN(size, 64);
			size += vmx_xstate[i].size;
		} else {
			end = vmx_xstate[i].offset + vmx_xstate[i].size;
			size = max(size, end);
		}
	}
	return size;
}

/* Appends the host's leaf @function.@index to the supported table. */
static struct kvm_cpuid_entry2 *vmx_add(u32 function, u32 index, bool indexed)
{
	struct kvm_cpuid_entry2 *e;

	/* The leaves below fit with room to spare; this only guards. */
	if (vmx_nr_supported == ARRAY_SIZE(vmx_supported))
		return NULL;
	e = &vmx_supported[vmx_nr_supported++];
	e->function = function;
	e->index = index;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

/* Host subleaves of @function until @last says one is the last (kept). */
static void vmx_add_subleaves(u32 function,
			      bool (*last)(const struct kvm_cpuid_entry2 *e))
{
	struct kvm_cpuid_entry2 *e;
	u32 i;

	for (i = 0; i < 8; i++) {
		e = vmx_add(function, i, true);
		if (!e)
			break;
		if (function == 0xb)
			e->edx = 0;	/* the x2APIC ID: the VMM sets it */
		if (last(e))
			break;
	}
}

/* Leaf 4: cache type 0 ends the list. */
static bool vmx_last_cache(const struct kvm_cpuid_entry2 *e)
{
	return !(e->eax & 0x1f);
}

/* Leaf 0xB: level type 0 ends the list. */
static bool vmx_last_level(const struct kvm_cpuid_entry2 *e)
{
	return !(e->ecx & 0xff00);
}

/* The guest CR4 bit is allowed in VMX operation (Intel SDM Vol. 3D, A.8). */
static bool vmx_cr4_ok(unsigned long bit)
{
	return vmx_config.cr4_fixed1 & bit;
}

static void vmx_basic_leaves(u32 max)
{
	bool ymm = vmx_supported_xcr0 & XFEATURE_MASK_YMM;
	bool zmm = vmx_supported_xcr0 & XFEATURE_MASK_AVX512;
	/* MOV to CR3 must not exit, or its PCID bits would need emulating. */
	bool pcid = vmx_cr4_ok(X86_CR4_PCIDE) &&
		    !(vmx_config.ctls[VMX_CTL_PROC] & CPU_BASED_CR3_LOAD_EXITING);
	/* INVPCID exits when INVLPG does (SDM Vol. 3C, conditional exits). */
	bool invpcid = cpu_has_vmx_invpcid() &&
		       !(vmx_config.ctls[VMX_CTL_PROC] & CPU_BASED_INVLPG_EXITING);
	struct kvm_cpuid_entry2 *e;
	u32 i;

	e = vmx_add(0, 0, false);
	if (e)
		e->eax = max;

	e = vmx_add(1, 0, false);
	if (e) {
		e->ebx &= 0x00ffffff;	/* initial APIC ID: the VMM sets it */
		e->ecx &= F(XMM3) | F(PCLMULQDQ) | F(SSSE3) | F(CX16) |
			  F(XMM4_1) | F(XMM4_2) | F(MOVBE) | F(POPCNT) |
			  F(AES) | F(RDRAND) |
			  (pcid ? F(PCID) : 0) |
			  (vmx_supported_xcr0 ? F(XSAVE) : 0) |
			  (ymm ? F(AVX) | F(FMA) | F(F16C) : 0);
		e->ecx |= F(HYPERVISOR) | F(X2APIC);
		e->edx &= F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | F(MSR) |
			  F(PAE) | F(MCE) | F(CX8) | F(APIC) | F(SEP) |
			  F(MTRR) | F(PGE) | F(CMOV) | F(PAT) | F(PSE36) |
			  F(CLFLUSH) | F(MMX) | F(FXSR) | F(XMM) | F(XMM2) |
			  F(SELFSNOOP) | F(HT);
	}

	if (max >= 2)
		vmx_add(2, 0, false);
	if (max >= 4)
		vmx_add_subleaves(4, vmx_last_cache);

	if (max >= 7) {
		e = vmx_add(7, 0, true);
		if (e) {
			e->eax = 0;	/* subleaf 0 is the last */
			/* IA32_TSC_ADJUST is emulated (msr.c), as KVM. */
			e->ebx &= F(BMI1) | F(FDP_EXCPTN_ONLY) | F(BMI2) |
				  F(ERMS) | F(ZERO_FCS_FDS) | F(RDSEED) |
				  F(ADX) | F(CLFLUSHOPT) | F(CLWB) |
				  F(SHA_NI) |
				  (vmx_cr4_ok(X86_CR4_FSGSBASE) ?
				   F(FSGSBASE) : 0) |
				  (vmx_cr4_ok(X86_CR4_SMEP) ? F(SMEP) : 0) |
				  (vmx_cr4_ok(X86_CR4_SMAP) ? F(SMAP) : 0) |
				  (pcid && invpcid ? F(INVPCID) : 0) |
				  (ymm ? F(AVX2) : 0) |
				  (zmm ? F(AVX512F) | F(AVX512DQ) |
				   F(AVX512IFMA) | F(AVX512PF) |
				   F(AVX512ER) | F(AVX512CD) | F(AVX512BW) |
				   F(AVX512VL) : 0);
			e->ebx |= F(TSC_ADJUST);
			e->ecx &= F(GFNI) | F(MOVDIRI) | F(MOVDIR64B) |
				  (vmx_cr4_ok(X86_CR4_UMIP) ? F(UMIP) : 0) |
				  (ymm ? F(VAES) | F(VPCLMULQDQ) : 0) |
				  (zmm ? F(AVX512VBMI) | F(AVX512_VBMI2) |
				   F(AVX512_VNNI) | F(AVX512_BITALG) |
				   F(AVX512_VPOPCNTDQ) : 0);
			e->edx &= F(FSRM) | F(MD_CLEAR) | F(SERIALIZE) |
				  (zmm ? F(AVX512_4VNNIW) | F(AVX512_4FMAPS) |
				   F(AVX512_VP2INTERSECT) |
				   F(AVX512_FP16) : 0);
		}
	}

	/* No PMU: version 0, no counters (Intel SDM Vol. 3B, 20.2). */
	if (max >= 0xa) {
		e = vmx_add(0xa, 0, false);
		if (e) {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
		}
	}
	if (max >= 0xb)
		vmx_add_subleaves(0xb, vmx_last_level);

	if (max >= 0xd && vmx_supported_xcr0) {
		e = vmx_add(0xd, 0, true);
		if (e) {
			e->eax = (u32)vmx_supported_xcr0;
			e->edx = vmx_supported_xcr0 >> 32;
			e->ecx = vmx_xsave_size(vmx_supported_xcr0, false);
			e->ebx = e->ecx;
		}
		e = vmx_add(0xd, 1, true);
		if (e) {
			/* XSAVEOPT, XSAVEC, XGETBV with ECX=1; no XSAVES. */
			e->eax &= BIT(0) | BIT(1) | BIT(2);
			e->ebx = vmx_xsave_size(vmx_supported_xcr0, true);
			e->ecx = 0;
			e->edx = 0;
		}
		for (i = 2; i < VMX_NR_XFEATURES; i++) {
			if (!(vmx_supported_xcr0 & BIT_ULL(i)))
				continue;
			e = vmx_add(0xd, i, true);
			if (e)
				e->ecx &= BIT(1);	/* user state, alignment */
		}
	}

	/* TSC/crystal ratio and nominal frequencies: the guest's are the host's. */
	if (max >= 0x15)
		vmx_add(0x15, 0, false);
	if (max >= 0x16)
		vmx_add(0x16, 0, false);
}

static void vmx_hypervisor_leaves(void)
{
	struct kvm_cpuid_entry2 *e;
	u32 sig[3];

	memcpy(sig, HVX_CPUID_SIGNATURE, sizeof(sig));
	e = vmx_add(HVX_CPUID_LEAF_SIGNATURE, 0, false);
	if (e) {
		e->eax = HVX_CPUID_LEAF_TIMING;
		e->ebx = sig[0];
		e->ecx = sig[1];
		e->edx = sig[2];
	}
	e = vmx_add(HVX_CPUID_LEAF_TIMING, 0, false);
	if (e) {
		/*
		 * Only a TSC whose rate does not change is worth reporting.
		 * There is no in-kernel local APIC, so no bus frequency: the
		 * VMM that emulates one puts its own in EBX.
		 */
		e->eax = boot_cpu_has(X86_FEATURE_CONSTANT_TSC) ? tsc_khz : 0;
		e->ebx = 0;
		e->ecx = 0;
		e->edx = 0;
	}
}

static void vmx_extended_leaves(void)
{
	u32 max = min(cpuid_eax(0x80000000), 0x80000008U);
	struct kvm_cpuid_entry2 *e;
	u32 i;

	if (max < 0x80000001)
		return;
	e = vmx_add(0x80000000, 0, false);
	if (e)
		e->eax = max;
	e = vmx_add(0x80000001, 0, false);
	if (e) {
		e->ecx &= F(LAHF_LM) | F(ABM) | F(3DNOWPREFETCH);
		/* No RDTSCP: the VMCS does not enable it (and TSC_AUX). */
		e->edx &= F(SYSCALL) | F(NX) | F(GBPAGES) | F(LM);
	}
	for (i = 0x80000002; i <= min(max, 0x80000006U); i++)
		vmx_add(i, 0, false);
	if (max >= 0x80000007) {
		e = vmx_add(0x80000007, 0, false);
		if (e) {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx &= VMX_CPUID_INVARIANT_TSC;
		}
	}
	if (max >= 0x80000008) {
		e = vmx_add(0x80000008, 0, false);
		if (e) {
			e->eax &= 0xffff;	/* physical and linear widths */
			/* No LA57 for guests: 48-bit linear addresses. */
			if (((e->eax >> 8) & 0xff) > 48)
				e->eax = (e->eax & 0xff) | 48 << 8;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
		}
	}
}

/**
 * vmx_cpuid_setup() - build the supported CPUID table, once at load
 *
 * Return: 0 or -ENOMEM.
 */
int vmx_cpuid_setup(void)
{
	struct fpu_guest fpu;
	u32 eax, ebx, ecx, edx;
	unsigned int i;

	/*
	 * The guest may enable the XCR0 features the host has enabled and
	 * a guest FPU buffer holds, of those hvx advertises.
	 */
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		if (!fpu_alloc_guest_fpstate(&fpu))
			return -ENOMEM;
		vmx_supported_xcr0 = vmx_host_xcr0 & fpu.fpstate->xfeatures &
				     VMX_GUEST_XFEATURES;
		fpu_free_guest_fpstate(&fpu);
		/* AVX-512 state comes in three parts, all or none. */
		if ((vmx_supported_xcr0 & XFEATURE_MASK_AVX512) !=
		    XFEATURE_MASK_AVX512 ||
		    !(vmx_supported_xcr0 & XFEATURE_MASK_YMM))
			vmx_supported_xcr0 &= ~XFEATURE_MASK_AVX512;
		if (!(vmx_supported_xcr0 & XFEATURE_MASK_SSE))
			vmx_supported_xcr0 &= ~XFEATURE_MASK_YMM;
	}
	for (i = 2; i < VMX_NR_XFEATURES; i++) {
		if (!(vmx_supported_xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		vmx_xstate[i].size = eax;
		vmx_xstate[i].offset = ebx;
		vmx_xstate[i].align = ecx & BIT(1);
	}

	vmx_basic_leaves(min(cpuid_eax(0), 0x16U));
	vmx_hypervisor_leaves();
	vmx_extended_leaves();
	return 0;
}

/**
 * vmx_supported_cpuid() - backend_ops.supported_cpuid
 * @entries: set to the supported table.
 *
 * Return: its number of entries.
 */
unsigned int vmx_supported_cpuid(const struct kvm_cpuid_entry2 **entries)
{
	*entries = vmx_supported;
	return vmx_nr_supported;
}
