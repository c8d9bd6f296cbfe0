// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: probing the processor once at load.  The VMX
 * capability MSRs are reconciled with the controls hvx wants into
 * vmx_config (capabilities.h), read through the cpu_has_vmx_*() predicates.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "capabilities.h"
#include "../ept/ept.h"

struct vmx_config vmx_config __ro_after_init;

/*
 * IA32_VMX_BASIC fields (Intel SDM Vol. 3D, A.1) that the kernel headers
 * do not name the same way in every supported kernel.
 */
#define VMX_BASIC_ADDR_WIDTH_32		BIT_ULL(48)
#define VMX_BASIC_MEMTYPE		GENMASK_ULL(53, 50)
#define VMX_BASIC_MEMTYPE_WB		6
#define VMX_BASIC_HAS_TRUE_CTLS		BIT_ULL(55)

/*
 * The capability MSR of each control word: its low half holds the bits that
 * must be 1, its high half the bits that may be 1 (Intel SDM Vol. 3D, A.3-A.5).
 * The "true" MSRs, when present, allow clearing some default-1 bits.
 */
static const u32 vmx_ctl_msr[VMX_NR_CTLS] = {
	[VMX_CTL_PIN] = MSR_IA32_VMX_PINBASED_CTLS,
	[VMX_CTL_PROC] = MSR_IA32_VMX_PROCBASED_CTLS,
	[VMX_CTL_PROC2] = MSR_IA32_VMX_PROCBASED_CTLS2,
	[VMX_CTL_EXIT] = MSR_IA32_VMX_EXIT_CTLS,
	[VMX_CTL_ENTRY] = MSR_IA32_VMX_ENTRY_CTLS,
};

static const u32 vmx_true_ctl_msr[VMX_NR_CTLS] = {
	[VMX_CTL_PIN] = MSR_IA32_VMX_TRUE_PINBASED_CTLS,
	[VMX_CTL_PROC] = MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
	[VMX_CTL_PROC2] = MSR_IA32_VMX_PROCBASED_CTLS2,
	[VMX_CTL_EXIT] = MSR_IA32_VMX_TRUE_EXIT_CTLS,
	[VMX_CTL_ENTRY] = MSR_IA32_VMX_TRUE_ENTRY_CTLS,
};

struct vmx_ctl_feature {
	enum vmx_ctl ctl;
	u32 bits;
	bool optional;
	const char *name;
};

/* The controls hvx runs guests with. */
static const struct vmx_ctl_feature vmx_ctl_features[] = {
	/* Host interrupts and NMIs always cause a VM exit. */
	{ VMX_CTL_PIN, PIN_BASED_EXT_INTR_MASK, false,
	  "external-interrupt exiting" },
	{ VMX_CTL_PIN, PIN_BASED_NMI_EXITING, false, "NMI exiting" },
	{ VMX_CTL_PIN, PIN_BASED_VIRTUAL_NMIS, false, "virtual NMIs" },
	/* Bounds each guest slice, even for a guest that never exits. */
	{ VMX_CTL_PIN, PIN_BASED_VMX_PREEMPTION_TIMER, true,
	  "VMX-preemption timer" },

	{ VMX_CTL_PROC, CPU_BASED_HLT_EXITING, false, "HLT exiting" },
	{ VMX_CTL_PROC, CPU_BASED_INTR_WINDOW_EXITING, false,
	  "interrupt-window exiting" },
	{ VMX_CTL_PROC, CPU_BASED_NMI_WINDOW_EXITING, false,
	  "NMI-window exiting" },
	{ VMX_CTL_PROC, CPU_BASED_UNCOND_IO_EXITING, false,
	  "unconditional I/O exiting" },
	{ VMX_CTL_PROC, CPU_BASED_USE_TSC_OFFSETTING, false, "TSC offsetting" },
	{ VMX_CTL_PROC, CPU_BASED_MOV_DR_EXITING, false, "MOV-DR exiting" },
	/*
	 * Without a TPR shadow, MOV to/from CR8 in a 64-bit guest reaches
	 * the host CPU's own TPR (Intel SDM Vol. 3C, 29.3): a guest setting
	 * CR8=15 would leave that CPU deaf to the host's interrupts.  Both
	 * exit, and CR8 is the vCPU's own (exit.c).
	 */
	{ VMX_CTL_PROC, CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING,
	  false, "CR8-load/store exiting" },
	{ VMX_CTL_PROC, CPU_BASED_USE_MSR_BITMAPS, false, "MSR bitmaps" },
	{ VMX_CTL_PROC, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, false,
	  "secondary processor-based controls" },

	{ VMX_CTL_PROC2, SECONDARY_EXEC_ENABLE_EPT, false, "EPT" },
	{ VMX_CTL_PROC2, SECONDARY_EXEC_ENABLE_VPID, false, "VPID" },
	{ VMX_CTL_PROC2, SECONDARY_EXEC_UNRESTRICTED_GUEST, false,
	  "unrestricted guest" },
	{ VMX_CTL_PROC2, SECONDARY_EXEC_ENABLE_INVPCID, true, "INVPCID" },

	{ VMX_CTL_EXIT, VM_EXIT_HOST_ADDR_SPACE_SIZE, false,
	  "64-bit host address space" },
	{ VMX_CTL_EXIT, VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER, false,
	  "IA32_EFER save/load on VM exit" },
	{ VMX_CTL_EXIT, VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT, false,
	  "IA32_PAT save/load on VM exit" },

	{ VMX_CTL_ENTRY, VM_ENTRY_IA32E_MODE, false, "IA-32e mode guest" },
	{ VMX_CTL_ENTRY, VM_ENTRY_LOAD_IA32_EFER, false,
	  "IA32_EFER load on VM entry" },
	{ VMX_CTL_ENTRY, VM_ENTRY_LOAD_IA32_PAT, false,
	  "IA32_PAT load on VM entry" },
};

/*
 * invvpid_single=0 makes hvx use all-context INVVPID even where the CPU has
 * the single-context type, the path a CPU with only the former takes (and
 * a way for a test to exercise it).
 */
static bool invvpid_single = true;
module_param(invvpid_single, bool, 0444);
MODULE_PARM_DESC(invvpid_single,
		 "Use single-context INVVPID when the CPU has it (default: on)");

/* VPID capabilities, IA32_VMX_EPT_VPID_CAP[63:32] (Intel SDM Vol. 3D, A.10). */
static int vmx_check_vpid_caps(u32 vpid_cap)
{
	int missing = 0;

	if (!(vpid_cap & VMX_VPID_INVVPID_BIT)) {
		pr_err("VT-x lacks INVVPID\n");
		missing++;
	}
	if (!(vpid_cap & (VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
			  VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT))) {
		pr_err("VT-x lacks INVVPID single-context or all-context type\n");
		missing++;
	}
	return missing;
}

/*
 * Chooses each control word: the bits the processor requires, plus the bits
 * of every feature the processor allows.  Logs one line per required feature
 * it does not allow.  Returns the number of missing features.
 */
static int vmx_setup_ctls(bool true_ctls)
{
	u32 must_be_1[VMX_NR_CTLS], may_be_1[VMX_NR_CTLS];
	int i, missing = 0;

	for (i = 0; i < VMX_NR_CTLS; i++) {
		u32 msr = true_ctls ? vmx_true_ctl_msr[i] : vmx_ctl_msr[i];
		u64 val;

		must_be_1[i] = 0;
		may_be_1[i] = 0;
		/* IA32_VMX_PROCBASED_CTLS2 exists only if it may be used. */
		if (i == VMX_CTL_PROC2 && !(may_be_1[VMX_CTL_PROC] &
		    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
			continue;
		if (rdmsrl_safe(msr, &val)) {
			pr_err("cannot read VMX capability MSR %#x\n", msr);
			return -1;
		}
		must_be_1[i] = lower_32_bits(val);
		may_be_1[i] = upper_32_bits(val);
	}

	for (i = 0; i < VMX_NR_CTLS; i++)
		vmx_config.ctls[i] = must_be_1[i];

	for (i = 0; i < ARRAY_SIZE(vmx_ctl_features); i++) {
		const struct vmx_ctl_feature *f = &vmx_ctl_features[i];

		if ((may_be_1[f->ctl] & f->bits) == f->bits) {
			vmx_config.ctls[f->ctl] |= f->bits;
		} else if (!f->optional) {
			pr_err("VT-x lacks %s\n", f->name);
			missing++;
		}
	}
	return missing;
}

/**
 * vmx_probe() - check that VT-x exists and is usable, and fill vmx_config
 *
 * Logs one line for each thing missing.
 *
 * Return: 0, -ENODEV (no VT-x, or features missing) or -EIO (VT-x
 * disabled, capability MSRs unreadable).
 */
int vmx_probe(void)
{
	u64 basic, ept_vpid_cap, feat_ctl;
	int missing;

	if (!(cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31))) {
		pr_err("CPU has no VT-x (CPUID.1:ECX.VMX is 0)%s\n",
		       boot_cpu_data.x86_vendor == X86_VENDOR_AMD ?
		       ": AMD SVM is not supported" : "");
		return -ENODEV;
	}

	/*
	 * At boot the kernel sets up and locks IA32_FEATURE_CONTROL; it
	 * clears X86_FEATURE_VMX when the firmware locked it with VMX off.
	 */
	if (!boot_cpu_has(X86_FEATURE_MSR_IA32_FEAT_CTL) ||
	    !boot_cpu_has(X86_FEATURE_VMX)) {
		if (!rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl) &&
		    (feat_ctl & FEAT_CTL_LOCKED) &&
		    !(feat_ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
			pr_err("VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked with VMX off)\n");
		else
			pr_err("VT-x is disabled by the kernel (IA32_FEATURE_CONTROL not set up for VMX)\n");
		return -EIO;
	}

	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic)) {
		pr_err("cannot read IA32_VMX_BASIC\n");
		return -EIO;
	}
	vmx_config.revision_id = vmx_basic_vmcs_revision_id(basic);
	vmx_config.vmcs_size = vmx_basic_vmcs_size(basic);

	missing = 0;
	if (vmx_config.vmcs_size > PAGE_SIZE) {
		pr_err("VT-x VMCS size %u is larger than a page\n",
		       vmx_config.vmcs_size);
		missing++;
	}
	if (basic & VMX_BASIC_ADDR_WIDTH_32) {
		pr_err("VT-x limits VMCS addresses to 32 bits\n");
		missing++;
	}
	if (FIELD_GET(VMX_BASIC_MEMTYPE, basic) != VMX_BASIC_MEMTYPE_WB) {
		pr_err("VT-x lacks write-back VMCS memory type\n");
		missing++;
	}

	missing += vmx_setup_ctls(basic & VMX_BASIC_HAS_TRUE_CTLS);

	if (vmx_config.ctls[VMX_CTL_PROC2] & SECONDARY_EXEC_ENABLE_EPT) {
		if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &ept_vpid_cap)) {
			pr_err("cannot read IA32_VMX_EPT_VPID_CAP\n");
			return -EIO;
		}
		vmx_config.ept_cap = lower_32_bits(ept_vpid_cap);
		vmx_config.vpid_cap = upper_32_bits(ept_vpid_cap);
		missing += ept_check_caps(vmx_config.ept_cap);
		if (!invvpid_single)
			vmx_config.vpid_cap &= ~VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
		if (vmx_config.ctls[VMX_CTL_PROC2] & SECONDARY_EXEC_ENABLE_VPID)
			missing += vmx_check_vpid_caps(vmx_config.vpid_cap);
	}

	if (rdmsrl_safe(MSR_IA32_VMX_CR0_FIXED0, &vmx_config.cr0_fixed0) ||
	    rdmsrl_safe(MSR_IA32_VMX_CR0_FIXED1, &vmx_config.cr0_fixed1) ||
	    rdmsrl_safe(MSR_IA32_VMX_CR4_FIXED0, &vmx_config.cr4_fixed0) ||
	    rdmsrl_safe(MSR_IA32_VMX_CR4_FIXED1, &vmx_config.cr4_fixed1)) {
		pr_err("cannot read the VMX CR0/CR4 fixed-bit MSRs\n");
		return -EIO;
	}

	/*
	 * The VMX-preemption timer counts down once every 2^N TSC ticks,
	 * N = IA32_VMX_MISC[4:0] (Intel SDM Vol. 3C, 26.5.1): one guest slice
	 * lasts at most about a millisecond.
	 */
	if (cpu_has_vmx_preemption_timer()) {
		u64 misc = 0;

		rdmsrl_safe(MSR_IA32_VMX_MISC, &misc);
		vmx_config.preemption_timer =
			max_t(u64, (tsc_khz ? tsc_khz : 1000000) >> (misc & 31), 1);
	}

	if (missing) {
		pr_err("this CPU cannot run hvx: %d VT-x feature%s missing\n",
		       missing, missing == 1 ? "" : "s");
		return -ENODEV;
	}
	return 0;
}
