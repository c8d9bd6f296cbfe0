// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: probing the processor once at load, and entering and
 * leaving VMX root operation on each CPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <asm/apic.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/hardirq.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>

#include "hvx.h"
#include "capabilities.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_ops.h"
#include "vmx_stats.h"

struct vmx_config vmx_config __ro_after_init;

/* Each CPU's VMXON region (Intel SDM Vol. 3C, 25.11.5), one page. */
static DEFINE_PER_CPU(struct page *, vmxon_region);

/*
 * The VMCSs active on each CPU (VMPTRLDed and not VMCLEARed since), and the
 * current one.  Only their CPU changes them, with interrupts disabled.
 */
static DEFINE_PER_CPU(struct list_head, loaded_vmcss);
static DEFINE_PER_CPU(struct vmx_vcpu *, current_vmcs_vcpu);

/* Shared by every vCPU: intercept all MSRs but a few (vmx_hardware_setup). */
static unsigned long *vmx_msr_bitmap;

static DEFINE_IDA(vmx_vpids);

u64 vmx_host_xcr0 __ro_after_init;

/*
 * L1 Terminal Fault: on affected processors a guest can read whatever the
 * host left in the L1 data cache, whatever EPT says.  The cache is flushed
 * before a VM entry that follows host activity (see vmx_l1d_flush_cond()).
 * l1d_flush=0 turns this off, as kvm_intel.vmentry_l1d_flush=never does.
 */
static bool l1d_flush = true;
module_param(l1d_flush, bool, 0444);
MODULE_PARM_DESC(l1d_flush,
		 "Flush the L1D cache before VM entry on L1TF-affected CPUs (default: on)");

/* Flush needed at all; if so, by MSR_IA32_FLUSH_CMD or by reading this. */
static bool vmx_l1d_flush_needed __ro_after_init;
static void *vmx_l1d_flush_buf;
/* Twice the L1D of the affected processors, as Intel recommends. */
#define VMX_L1D_FLUSH_ORDER	4
#define VMX_L1D_FLUSH_SIZE	(PAGE_SIZE << VMX_L1D_FLUSH_ORDER)

static void vmx_clear_loaded_vmcss(void);

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
	{ VMX_CTL_EXIT, VM_EXIT_ACK_INTR_ON_EXIT, true,
	  "acknowledge interrupt on exit" },

	{ VMX_CTL_ENTRY, VM_ENTRY_IA32E_MODE, false, "IA-32e mode guest" },
	{ VMX_CTL_ENTRY, VM_ENTRY_LOAD_IA32_EFER, false,
	  "IA32_EFER load on VM entry" },
	{ VMX_CTL_ENTRY, VM_ENTRY_LOAD_IA32_PAT, false,
	  "IA32_PAT load on VM entry" },
};

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

/*
 * Checks that VT-x exists and is usable, and fills vmx_config.  Logs one
 * line for each thing missing.
 */
static int vmx_probe(void)
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

static void vmx_msr_passthrough(u32 msr)
{
	unsigned long base = msr >= 0xc0000000 ? 1024 : 0;
	unsigned long bit = msr & 0x1fff;

	/* Read bitmap at offset 0 or 1024, write bitmap 2048 bytes later. */
	__clear_bit(base * 8 + bit, vmx_msr_bitmap);
	__clear_bit((base + 2048) * 8 + bit, vmx_msr_bitmap);
}

/*
 * Decides at load whether VM entries flush the L1D (L1TF, Intel SDM
 * "Deep Dive: Intel Analysis of L1 Terminal Fault"): only on affected
 * processors, and not when the processor (or the hypervisor below) says
 * entries need not flush.  Without the L1D_FLUSH command, the flush reads
 * a buffer twice the size of the cache.
 */
static int vmx_l1d_flush_setup(void)
{
	u64 arch_cap = 0;
	struct page *page;

	if (!boot_cpu_has_bug(X86_BUG_L1TF))
		return 0;
	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, arch_cap);
	if (arch_cap & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH)
		return 0;
	if (!l1d_flush) {
		pr_warn("L1TF: this CPU is affected and l1d_flush=0: guests may read host data from the L1D\n");
		return 0;
	}
	vmx_l1d_flush_needed = true;
	if (boot_cpu_has(X86_FEATURE_FLUSH_L1D)) {
		pr_info("L1TF: L1D flushed on VM entry (L1D_FLUSH command)\n");
		return 0;
	}

	page = alloc_pages(GFP_KERNEL, VMX_L1D_FLUSH_ORDER);
	if (!page)
		return -ENOMEM;
	vmx_l1d_flush_buf = page_address(page);
	/*
	 * Not zeroes: a hypervisor below might back zero pages with one
	 * shared page, and then the reads would not fill the cache.
	 */
	memset(vmx_l1d_flush_buf, 0x5a, VMX_L1D_FLUSH_SIZE);
	pr_info("L1TF: L1D flushed on VM entry (software sequence)\n");
	return 0;
}

static void vmx_hardware_unsetup(void)
{
	int cpu;

	free_page((unsigned long)vmx_msr_bitmap);
	vmx_msr_bitmap = NULL;
	if (vmx_l1d_flush_buf)
		free_pages((unsigned long)vmx_l1d_flush_buf,
			   VMX_L1D_FLUSH_ORDER);
	vmx_l1d_flush_buf = NULL;
	for_each_possible_cpu(cpu) {
		if (per_cpu(vmxon_region, cpu))
			__free_page(per_cpu(vmxon_region, cpu));
		per_cpu(vmxon_region, cpu) = NULL;
	}
}

static int vmx_hardware_setup(void)
{
	int cpu, r;

	r = vmx_probe();
	if (r)
		return r;

	for_each_possible_cpu(cpu) {
		struct page *page;

		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page) {
			vmx_hardware_unsetup();
			return -ENOMEM;
		}
		/* The region starts with the VMCS revision identifier. */
		*(u32 *)page_address(page) = vmx_config.revision_id;
		per_cpu(vmxon_region, cpu) = page;
	}

	/*
	 * MSR bitmap (Intel SDM Vol. 3C, 25.6.9): read bitmaps for low and
	 * high MSRs, then write bitmaps; a set bit makes the access exit.
	 * Every MSR exits but those whose guest value lives in the VMCS.
	 */
	vmx_msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	if (!vmx_msr_bitmap) {
		vmx_hardware_unsetup();
		return -ENOMEM;
	}
	memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
	vmx_msr_passthrough(MSR_IA32_SYSENTER_CS);
	vmx_msr_passthrough(MSR_IA32_SYSENTER_ESP);
	vmx_msr_passthrough(MSR_IA32_SYSENTER_EIP);
	vmx_msr_passthrough(MSR_FS_BASE);
	vmx_msr_passthrough(MSR_GS_BASE);

	vmx_host_xcr0 = boot_cpu_has(X86_FEATURE_XSAVE) ?
		xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;

	r = vmx_l1d_flush_setup();
	if (!r)
		r = vmx_cpuid_setup();
	if (r)
		vmx_hardware_unsetup();
	return r;
}

/*
 * VMXON and VM entry need CR0 and CR4 to hold the values the processor
 * fixes in VMX operation (Intel SDM Vol. 3C, 24.8; Vol. 3D, A.7 and A.8).
 */
static bool vmx_fixed_bits_ok(u64 fixed0, u64 fixed1, unsigned long val)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

static int vmx_cpu_enable(void)
{
	int cpu = smp_processor_id();
	int r;
	u8 insn;

	/*
	 * CR4.VMXE set means another hypervisor (kvm_intel, VirtualBox...)
	 * owns VMX on this CPU.  Interrupts are off, so it cannot take the
	 * CPU between this check and VMXON.
	 */
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("CPU%d: VMX is in use by another hypervisor (CR4.VMXE is set; is kvm_intel loaded?)\n",
		       cpu);
		return -EBUSY;
	}

	cr4_set_bits(X86_CR4_VMXE);

	if (!vmx_fixed_bits_ok(vmx_config.cr0_fixed0, vmx_config.cr0_fixed1,
			       read_cr0()) ||
	    !vmx_fixed_bits_ok(vmx_config.cr4_fixed0, vmx_config.cr4_fixed1,
			       __read_cr4())) {
		pr_err("CPU%d: CR0 %#lx or CR4 %#lx not allowed in VMX operation\n",
		       cpu, read_cr0(), __read_cr4());
		r = -EIO;
		goto err_clear_vmxe;
	}

	insn = vmx_on(page_to_phys(per_cpu(vmxon_region, cpu)));
	if (insn != VMX_INSN_OK) {
		pr_err("CPU%d: VMXON %s\n", cpu,
		       insn == VMX_INSN_VMFAIL ? "failed" : "faulted");
		r = -EIO;
		goto err_clear_vmxe;
	}

	/*
	 * Translations cached before this VMXON (by an earlier hvx, or another
	 * hypervisor) must not be used by this one's guests.
	 */
	if (cpu_has_vmx_invept_global())
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (cpu_has_vmx_invvpid_global())
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
	INIT_LIST_HEAD(this_cpu_ptr(&loaded_vmcss));
	__this_cpu_write(current_vmcs_vcpu, NULL);
	return 0;

err_clear_vmxe:
	cr4_clear_bits(X86_CR4_VMXE);
	return r;
}

static void vmx_cpu_disable(void)
{
	vmx_clear_loaded_vmcss();

	/* The core calls this only on a CPU it put in VMX root. */
	WARN_ONCE(vmx_off() != VMX_INSN_OK, "hvx: CPU%d: VMXOFF faulted\n",
		  smp_processor_id());
	cr4_clear_bits(X86_CR4_VMXE);
}

/*
 * VMCS ownership.  A VMCS is active on at most one CPU.  It stays active
 * (not VMCLEARed) between runs so that VMRESUME can be used; when its vCPU
 * runs on another CPU, the old CPU VMCLEARs it first (Intel SDM Vol. 3C,
 * 25.11.1).  A CPU leaving VMX root VMCLEARs every VMCS active on it.
 */
static void vmx_vmcs_clear_this_cpu(struct vmx_vcpu *vcpu)
{
	u8 insn = vmx_vmclear(page_to_phys(vcpu->vmcs));

	if (insn != VMX_INSN_OK)
		vmx_insn_failed("VMCLEAR", 0, insn);
	list_del(&vcpu->loaded_link);
	if (__this_cpu_read(current_vmcs_vcpu) == vcpu)
		__this_cpu_write(current_vmcs_vcpu, NULL);
	vcpu->launched = false;
	/* Ordered after the VMCLEAR for the CPU that loads it next. */
	smp_store_release(&vcpu->cpu, -1);
}

static void vmx_vmcs_clear_ipi(void *data)
{
	struct vmx_vcpu *vcpu = data;

	if (READ_ONCE(vcpu->cpu) == smp_processor_id())
		vmx_vmcs_clear_this_cpu(vcpu);
}

static void vmx_clear_loaded_vmcss(void)
{
	struct vmx_vcpu *vcpu, *next;

	list_for_each_entry_safe(vcpu, next, this_cpu_ptr(&loaded_vmcss),
				 loaded_link)
		vmx_vmcs_clear_this_cpu(vcpu);
}

/* Makes sure the VMCS is active on no CPU. */
static void vmx_vmcs_clear(struct vmx_vcpu *vcpu)
{
	int cpu = READ_ONCE(vcpu->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_ipi, vcpu, 1);
}

/*
 * Host state that depends on the CPU (Intel SDM Vol. 3C, 25.5): written
 * when the VMCS becomes active on a CPU.
 */
static void vmx_set_host_state_cpu(int cpu)
{
	struct desc_ptr gdt;
	u64 sysenter_esp;

	native_store_gdt(&gdt);
	vmcs_writel(HOST_GDTR_BASE, gdt.address);
	vmcs_writel(HOST_TR_BASE,
		    (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	rdmsrl(MSR_IA32_SYSENTER_ESP, sysenter_esp);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, sysenter_esp);
}

/**
 * vmx_vcpu_load() - make the vCPU's VMCS current on this CPU
 * @vcpu: the vCPU.
 *
 * Called with preemption disabled; the VMCS stays current until the vCPU
 * thread enables preemption again.
 */
void vmx_vcpu_load(struct vmx_vcpu *vcpu)
{
	int cpu = smp_processor_id();
	bool migrated = READ_ONCE(vcpu->cpu) != cpu;
	unsigned long flags;
	u8 insn;

	if (__this_cpu_read(current_vmcs_vcpu) == vcpu)
		return;

	if (migrated) {
		vmx_vmcs_clear(vcpu);
		/* Pairs with smp_store_release() in vmx_vmcs_clear_this_cpu(). */
		smp_load_acquire(&vcpu->cpu);
		local_irq_save(flags);
		list_add(&vcpu->loaded_link, this_cpu_ptr(&loaded_vmcss));
		WRITE_ONCE(vcpu->cpu, cpu);
		local_irq_restore(flags);
	}

	insn = vmx_vmptrld(page_to_phys(vcpu->vmcs));
	if (insn != VMX_INSN_OK)
		vmx_insn_failed("VMPTRLD", 0, insn);
	__this_cpu_write(current_vmcs_vcpu, vcpu);

	vmx_set_host_state_cpu(cpu);
	if (!migrated)
		return;
	/*
	 * This CPU may hold stale translations tagged with this VPID from
	 * an earlier time the vCPU ran here.
	 */
	if (cpu_has_vmx_invvpid_single())
		vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vcpu->vpid, 0);
	else
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
}

/**
 * vmx_insn_failed() - report a VMX instruction that should not fail
 * @insn: its name.
 * @field: the VMCS field, for VMREAD/VMWRITE.
 * @result: VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 *
 * Such a failure is an hvx bug: warn once, with the VM-instruction error.
 */
void vmx_insn_failed(const char *insn, unsigned long field, u8 result)
{
	unsigned long error = 0;

	if (result == VMX_INSN_VMFAIL)
		asm volatile("vmread %[field], %[error]"
			     : [error] "=r" (error)
			     : [field] "r" ((unsigned long)VM_INSTRUCTION_ERROR)
			     : "cc");
	/* During reboot CPUs leave VMX root under running vCPUs. */
	if (result == VMX_INSN_FAULTED && READ_ONCE(hvx_rebooting))
		return;
	WARN_ONCE(1, "hvx: %s %#lx %s (VM-instruction error %lu)\n", insn,
		  field, result == VMX_INSN_VMFAIL ? "failed" : "faulted",
		  error);
}

/* Guest CR0 and CR4 bits hvx lets the guest own or set. */
#define VMX_CR0_GUEST_OWNED	(X86_CR0_TS | X86_CR0_MP)
#define VMX_CR4_GUEST_ALLOWED						\
	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |		\
	 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |	\
	 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |		\
	 X86_CR4_UMIP | X86_CR4_FSGSBASE | X86_CR4_PCIDE |		\
	 X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
#define VMX_EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

/*
 * The exceptions hvx intercepts: #DB and #AC can loop forever in delivery
 * (CVE-2015-8104, CVE-2015-5307); they are reflected to the guest.  A
 * machine check belongs to the host: left to the guest, its IDT would
 * handle (or ignore) the host's hardware error.
 */
#define VMX_EXCEPTION_BITMAP	(BIT(DB_VECTOR) | BIT(AC_VECTOR) | \
				 BIT(MC_VECTOR))

static void vmx_load_pdptrs(struct vmx_vcpu *vcpu, unsigned long cr3)
{
	u64 pdpte[4] = {};

	/* A missing or unreadable PDPT reads as not-present entries. */
	hvx_read_guest(vcpu->vcpu.vm, cr3 & ~0x1fUL & 0xffffffffUL, pdpte,
		       sizeof(pdpte));
	vmcs_write64(GUEST_PDPTR0, pdpte[0]);
	vmcs_write64(GUEST_PDPTR1, pdpte[1]);
	vmcs_write64(GUEST_PDPTR2, pdpte[2]);
	vmcs_write64(GUEST_PDPTR3, pdpte[3]);
}

static bool vmx_pae_paging(unsigned long cr0, unsigned long cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

static void vmx_set_ia32e_mode(bool on)
{
	u32 entry = vmcs_read32(VM_ENTRY_CONTROLS);

	if (on)
		entry |= VM_ENTRY_IA32E_MODE;
	else
		entry &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
}

/**
 * vmx_set_cr0() - the guest or the VMM sets CR0
 * @vcpu: the vCPU, its VMCS current.
 * @cr0: the new value as the guest sees it.
 *
 * Enables or disables long mode when paging changes with EFER.LME set.
 *
 * Return: 0, or -EINVAL when a real CPU would raise #GP.
 */
int vmx_set_cr0(struct vmx_vcpu *vcpu, unsigned long cr0)
{
	unsigned long old = vmx_guest_cr0();
	unsigned long cr4 = vmx_guest_cr4();
	u64 efer = vmcs_read64(GUEST_IA32_EFER);
	u64 fixed0 = vmx_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);

	if (cr0 >> 32)
		return -EINVAL;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return -EINVAL;
	if ((cr0 | fixed0) & ~vmx_config.cr0_fixed1)
		return -EINVAL;

	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG) && (efer & EFER_LME)) {
		if (!(cr4 & X86_CR4_PAE))
			return -EINVAL;
		efer |= EFER_LMA;
		vmx_set_ia32e_mode(true);
	} else if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG) &&
		   (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
		vmx_set_ia32e_mode(false);
	}
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmcs_writel(CR0_READ_SHADOW, cr0);
	vmcs_writel(GUEST_CR0, cr0 | fixed0);
	if (vmx_pae_paging(cr0, cr4, efer) && !vmx_pae_paging(old, cr4, efer))
		vmx_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3));
	return 0;
}

/**
 * vmx_set_cr4() - the guest or the VMM sets CR4
 * @vcpu: the vCPU, its VMCS current.
 * @cr4: the new value as the guest sees it.
 *
 * Return: 0, or -EINVAL for bits hvx does not give guests (VMXE among them:
 * VMX instructions are not available in the guest) or when a real CPU
 * would raise #GP.
 */
int vmx_set_cr4(struct vmx_vcpu *vcpu, unsigned long cr4)
{
	unsigned long old = vmx_guest_cr4();
	unsigned long cr0 = vmx_guest_cr0();
	u64 efer = vmcs_read64(GUEST_IA32_EFER);

	if (cr4 & ~VMX_CR4_GUEST_ALLOWED)
		return -EINVAL;
	if ((cr4 | vmx_config.cr4_fixed0) & ~vmx_config.cr4_fixed1)
		return -EINVAL;
	if ((efer & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return -EINVAL;

	vmcs_writel(CR4_READ_SHADOW, cr4);
	vmcs_writel(GUEST_CR4, cr4 | vmx_config.cr4_fixed0);
	if (vmx_pae_paging(cr0, cr4, efer) && !vmx_pae_paging(cr0, old, efer))
		vmx_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3));
	return 0;
}

/**
 * vmx_set_efer() - the guest (WRMSR) or the VMM sets IA32_EFER
 * @vcpu: the vCPU, its VMCS current.
 * @efer: the new value; LMA follows CR0.PG and LME.
 *
 * Return: 0, or -EINVAL for reserved bits or an LME change while paging.
 */
int vmx_set_efer(struct vmx_vcpu *vcpu, u64 efer)
{
	u64 old = vmcs_read64(GUEST_IA32_EFER);
	unsigned long cr0 = vmx_guest_cr0();

	if (efer & ~VMX_EFER_ALLOWED)
		return -EINVAL;
	if ((efer & EFER_NX) && !boot_cpu_has(X86_FEATURE_NX))
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && ((efer ^ old) & EFER_LME))
		return -EINVAL;
	efer = (efer & ~EFER_LMA) | (old & EFER_LMA);
	vmcs_write64(GUEST_IA32_EFER, efer);
	return 0;
}

/* Segment registers: VMCS field encodings, in KVM_SET_SREGS order. */
struct vmx_seg_fields {
	u32 selector, base, limit, ar;
};

#define VMX_SEG(name) { GUEST_##name##_SELECTOR, GUEST_##name##_BASE,	\
			GUEST_##name##_LIMIT, GUEST_##name##_AR_BYTES }
static const struct vmx_seg_fields vmx_segs[] = {
	VMX_SEG(CS), VMX_SEG(DS), VMX_SEG(ES), VMX_SEG(FS), VMX_SEG(GS),
	VMX_SEG(SS), VMX_SEG(TR), VMX_SEG(LDTR),
};

#define VMX_AR_UNUSABLE		BIT(16)

static void vmx_set_segment(const struct vmx_seg_fields *f,
			    const struct kvm_segment *s)
{
	u32 ar;

	if (s->unusable || !s->present)
		ar = VMX_AR_UNUSABLE;
	else
		ar = (s->type & 15) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
		     1 << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
		     (s->db & 1) << 14 | (s->g & 1) << 15;
	__vmcs_write(f->selector, s->selector);
	__vmcs_write(f->base, s->base);
	__vmcs_write(f->limit, s->limit);
	__vmcs_write(f->ar, ar);
}

static void vmx_get_segment(const struct vmx_seg_fields *f,
			    struct kvm_segment *s)
{
	u32 ar = __vmcs_read(f->ar);

	s->selector = __vmcs_read(f->selector);
	s->base = __vmcs_read(f->base);
	s->limit = __vmcs_read(f->limit);
	s->unusable = !!(ar & VMX_AR_UNUSABLE);
	s->present = !s->unusable;
	s->type = ar & 15;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
}

/* The x86 state after RESET (Intel SDM Vol. 3A, 10.1.1), as KVM sets it. */
static void vmx_vcpu_reset(struct vmx_vcpu *vcpu)
{
	struct kvm_segment seg = {
		.limit = 0xffff, .type = 3, .s = 1, .present = 1,
	};
	unsigned int i;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[HVX_REG_RDX] = 0x600;
	vmcs_writel(GUEST_RSP, 0);
	vmcs_writel(GUEST_RIP, 0xfff0);
	vmcs_writel(GUEST_RFLAGS, X86_EFLAGS_FIXED);

	for (i = 1; i < 6; i++)
		vmx_set_segment(&vmx_segs[i], &seg);
	seg.selector = 0xf000;
	seg.base = 0xffff0000;
	seg.type = 11;
	vmx_set_segment(&vmx_segs[0], &seg);
	seg = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	vmx_set_segment(&vmx_segs[6], &seg);
	seg = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	vmx_set_segment(&vmx_segs[7], &seg);
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);

	vmcs_write64(GUEST_IA32_EFER, 0);
	vmcs_writel(CR4_READ_SHADOW, 0);
	vmcs_writel(GUEST_CR4, vmx_config.cr4_fixed0);
	vmcs_writel(CR0_READ_SHADOW, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	vmcs_writel(GUEST_CR0, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW |
		    (vmx_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG)));
	vmcs_writel(GUEST_CR3, 0);
	vmx_set_ia32e_mode(false);
	vcpu->cr2 = 0;
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr[6] = VMX_DR6_INIT;
	vcpu->dr[7] = VMX_DR7_INIT;
	vmcs_writel(GUEST_DR7, VMX_DR7_INIT);

	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writel(GUEST_SYSENTER_ESP, 0);
	vmcs_writel(GUEST_SYSENTER_EIP, 0);
	vmcs_write64(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	memset(&vcpu->ev, 0, sizeof(vcpu->ev));
	vcpu->ev.irq_pending = -1;

	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->msr_misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
				MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	vcpu->msr_tsc_offset = -rdtsc();
	vmcs_write64(TSC_OFFSET, vcpu->msr_tsc_offset);
	vmx_msr_reset(vcpu);
}

/* Everything in the VMCS that does not change while the vCPU lives. */
static void vmx_vmcs_setup(struct vmx_vcpu *vcpu)
{
	struct vmx_vm *vm = to_vmx_vm(vcpu->vcpu.vm);
	u32 proc = vmx_config.ctls[VMX_CTL_PROC];
	struct desc_ptr idt;
	u64 pat;

	/* No window exits until an event waits for one. */
	proc &= ~(CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING);
	vcpu->proc_ctls = proc;
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, vmx_config.ctls[VMX_CTL_PIN]);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vmx_config.ctls[VMX_CTL_PROC2]);
	vmcs_write32(VM_EXIT_CONTROLS, vmx_config.ctls[VMX_CTL_EXIT] &
		     ~VM_EXIT_ACK_INTR_ON_EXIT);
	vmcs_write32(VM_ENTRY_CONTROLS, vmx_config.ctls[VMX_CTL_ENTRY] &
		     ~VM_ENTRY_IA32E_MODE);
	vmcs_write32(EXCEPTION_BITMAP, VMX_EXCEPTION_BITMAP);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write64(MSR_BITMAP, __pa(vmx_msr_bitmap));
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write64(EPT_POINTER, vm->ept.eptp);
	vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	if (vmx_config.preemption_timer)
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE,
			     vmx_config.preemption_timer);

	vmcs_writel(CR0_GUEST_HOST_MASK, ~(unsigned long)VMX_CR0_GUEST_OWNED);
	vmcs_writel(CR4_GUEST_HOST_MASK, ~(unsigned long)VMX_CR4_GUEST_ALLOWED);

	/* Host state that is the same on every CPU (Intel SDM 25.5). */
	vmcs_writel(HOST_CR0, read_cr0());
	vmcs_write16(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write16(HOST_DS_SELECTOR, 0);
	vmcs_write16(HOST_ES_SELECTOR, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	store_idt(&idt);
	vmcs_writel(HOST_IDTR_BASE, idt.address);
	vmcs_writel(HOST_RIP, (unsigned long)vmx_vmexit);
	vmcs_write32(HOST_IA32_SYSENTER_CS, __KERNEL_CS);
	vmcs_writel(HOST_IA32_SYSENTER_EIP, 0);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write64(HOST_IA32_PAT, pat);
	vmcs_write64(HOST_IA32_EFER, __rdmsr(MSR_EFER));
	vcpu->host_cr3 = 0;
	vcpu->host_cr4 = 0;
}

static int vmx_vm_init(struct hvx_vm *hvm)
{
	return ept_init(&to_vmx_vm(hvm)->ept);
}

static void vmx_vm_destroy(struct hvx_vm *hvm)
{
	struct ept *ept = &to_vmx_vm(hvm)->ept;

	/* No CPU may keep translations through tables about to be freed. */
	ept_flush(ept, cpu_has_vmx_invept_single());
	ept_destroy(ept);
}

static int vmx_vm_map(struct hvx_vm *hvm, u64 gpa, u64 pfn)
{
	return ept_map(&to_vmx_vm(hvm)->ept, gpa, pfn);
}

static void vmx_vm_unmap(struct hvx_vm *hvm, u64 gpa, u64 size)
{
	struct ept *ept = &to_vmx_vm(hvm)->ept;

	ept_unmap(ept, gpa, size);
	ept_flush(ept, cpu_has_vmx_invept_single());
}

static int vmx_vcpu_init(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	int vpid;

	vcpu->cpu = -1;
	INIT_LIST_HEAD(&vcpu->loaded_link);
	vcpu->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->vmcs)
		return -ENOMEM;
	*(u32 *)page_address(vcpu->vmcs) = vmx_config.revision_id;

	vpid = ida_alloc_range(&vmx_vpids, 1, VMX_NR_VPIDS - 1, GFP_KERNEL);
	if (vpid < 0)
		goto err_free_vmcs;
	vcpu->vpid = vpid;

	if (!fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto err_free_vpid;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_vmcs_setup(vcpu);
	vmx_vcpu_reset(vcpu);
	preempt_enable();
	return 0;

err_free_vpid:
	ida_free(&vmx_vpids, vcpu->vpid);
err_free_vmcs:
	__free_page(vcpu->vmcs);
	return -ENOMEM;
}

static void vmx_vcpu_destroy(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	vmx_vmcs_clear(vcpu);
	vmx_cpuid_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	ida_free(&vmx_vpids, vcpu->vpid);
	__free_page(vcpu->vmcs);
}

/*
 * State VMX does not switch: saved when a run starts, the guest's loaded,
 * and the host's put back when the run ends (Intel SDM Vol. 3C, 28.5:
 * after a VM exit, the LDTR is unusable, DS/ES/FS/GS hold the host
 * selector fields, the GDT and TR limits are fixed, IA32_DEBUGCTL is 0).
 * Between the two the thread does not return to userspace nor leave the
 * CPU, so only interrupt handlers run on this state, and they need none of
 * it.  The SYSCALL MSRs and KERNEL_GS_BASE matter to the guest only once
 * it enables SYSCALL or long mode; until then the host's stay.
 */
static bool vmx_guest_uses_syscall_msrs(void)
{
	return vmcs_read64(GUEST_IA32_EFER) & (EFER_SCE | EFER_LMA);
}

static void vmx_load_guest_state(struct vmx_vcpu *vcpu)
{
	savesegment(fs, vcpu->host_fs_sel);
	savesegment(gs, vcpu->host_gs_sel);
	savesegment(ds, vcpu->host_ds_sel);
	savesegment(es, vcpu->host_es_sel);
	asm volatile("sldt %0" : "=g" (vcpu->host_ldt_sel));
	rdmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	vmcs_writel(HOST_FS_BASE, vcpu->host_fs_base);
	vmcs_writel(HOST_GS_BASE, __rdmsr(MSR_GS_BASE));
	vcpu->host_debugctl = get_debugctlmsr();

	vcpu->guest_msrs_loaded = vmx_guest_uses_syscall_msrs();
	if (!vcpu->guest_msrs_loaded)
		return;
	rdmsrl(MSR_STAR, vcpu->host_star);
	rdmsrl(MSR_LSTAR, vcpu->host_lstar);
	rdmsrl(MSR_CSTAR, vcpu->host_cstar);
	rdmsrl(MSR_SYSCALL_MASK, vcpu->host_sfmask);
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->host_kernel_gs_base);
	wrmsrl(MSR_STAR, vcpu->msr_star);
	wrmsrl(MSR_LSTAR, vcpu->msr_lstar);
	wrmsrl(MSR_CSTAR, vcpu->msr_cstar);
	wrmsrl(MSR_SYSCALL_MASK, vcpu->msr_sfmask);
	wrmsrl(MSR_KERNEL_GS_BASE, vcpu->msr_kernel_gs_base);
}

static void vmx_put_guest_state(struct vmx_vcpu *vcpu)
{
	if (vcpu->guest_msrs_loaded) {
		/* SWAPGS in the guest changes it behind hvx's back. */
		rdmsrl(MSR_KERNEL_GS_BASE, vcpu->msr_kernel_gs_base);
		wrmsrl(MSR_KERNEL_GS_BASE, vcpu->host_kernel_gs_base);
		wrmsrl(MSR_STAR, vcpu->host_star);
		wrmsrl(MSR_LSTAR, vcpu->host_lstar);
		wrmsrl(MSR_CSTAR, vcpu->host_cstar);
		wrmsrl(MSR_SYSCALL_MASK, vcpu->host_sfmask);
		vcpu->guest_msrs_loaded = false;
	}

	if (vcpu->host_ldt_sel)
		asm volatile("lldt %0" : : "rm" (vcpu->host_ldt_sel));
	if (vcpu->host_ds_sel)
		loadsegment(ds, vcpu->host_ds_sel);
	if (vcpu->host_es_sel)
		loadsegment(es, vcpu->host_es_sel);
	if (vcpu->host_fs_sel) {
		loadsegment(fs, vcpu->host_fs_sel);
		wrmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	}
	/* Reloading the GS selector replaces the user GS base: put it back. */
	if (vcpu->host_gs_sel) {
		u64 user_gs;

		rdmsrl(MSR_KERNEL_GS_BASE, user_gs);
		load_gs_index(vcpu->host_gs_sel);
		wrmsrl(MSR_KERNEL_GS_BASE, user_gs);
	}
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
}

/*
 * Flushes the L1D before a VM entry if the host may have left data of
 * interest in it since the last one: the vCPU says so (KVM_RUN came from
 * userspace, another task ran on this CPU, or hvx emulated an instruction
 * reading guest memory through the VMM's mappings), or an interrupt or
 * softirq ran on this CPU (the entry code notes it in irq_stat for
 * hypervisors).  Entries after exits handled without leaving the vCPU
 * (CPUID, EPT faults inside slots...) skip the flush: the policy of
 * kvm_intel's default "cond" mode.
 */
static void vmx_l1d_flush_cond(struct vmx_vcpu *vcpu)
{
	const u8 *buf = vmx_l1d_flush_buf;
	bool flush = vcpu->l1d_flush;
	unsigned int i;

	vcpu->l1d_flush = false;
#if IS_ENABLED(CONFIG_KVM_INTEL)
	flush |= kvm_get_cpu_l1tf_flush_l1d();
	kvm_clear_cpu_l1tf_flush_l1d();
#else
	flush = true;
#endif
	if (!flush)
		return;
	if (!buf) {
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		return;
	}
	/* Fill the TLB first so that the second pass only loads lines. */
	for (i = 0; i < VMX_L1D_FLUSH_SIZE; i += PAGE_SIZE)
		(void)READ_ONCE(buf[i]);
	/* Loads are ordered (LFENCE): the first pass is done first. */
	rmb();
	for (i = 0; i < VMX_L1D_FLUSH_SIZE; i += L1_CACHE_BYTES)
		(void)READ_ONCE(buf[i]);
}

/*
 * A machine check that hit while the guest ran (an exception exit, or a
 * failed entry) is the host's: run the host's handler now, with interrupts
 * still off, as if it had interrupted user mode.
 */
static void vmx_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/*
 * One VM entry and exit, with interrupts disabled: host CR3/CR4 checked,
 * guest CR2 and XCR0 switched in and out, and an NMI that caused the exit
 * handed back to the host at once.
 */
static void vmx_enter_exit(struct vmx_vcpu *vcpu)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();
	bool switch_xcr0;
	int fail;

	if (unlikely(cr3 != vcpu->host_cr3)) {
		vmcs_writel(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	if (unlikely(cr4 != vcpu->host_cr4)) {
		vmcs_writel(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}
	if (vcpu->cr2 != native_read_cr2())
		native_write_cr2(vcpu->cr2);
	/* XCR0 means something to the guest only with CR4.OSXSAVE. */
	switch_xcr0 = vmx_host_xcr0 && vcpu->xcr0 != vmx_host_xcr0 &&
		      (vmcs_readl(GUEST_CR4) & X86_CR4_OSXSAVE);
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (vmx_l1d_flush_needed)
		vmx_l1d_flush_cond(vcpu);

	fail = vmx_vmenter(vcpu->regs, vcpu->launched);

	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx_host_xcr0);
	vcpu->cr2 = native_read_cr2();
	if (vcpu->host_debugctl)
		update_debugctlmsr(vcpu->host_debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	if (unlikely(fail)) {
		vcpu->exit_reason = VMX_EXIT_REASONS_FAILED_VMENTRY;
		vcpu->exit_qual = vmcs_read32(VM_INSTRUCTION_ERROR);
		return;
	}
	vcpu->exit_reason = vmcs_read32(VM_EXIT_REASON);
	/* A failed guest-state check leaves the launch state as it was. */
	if (!(vcpu->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		vcpu->launched = true;
	vcpu->exit_intr_info = 0;
	if ((u16)vcpu->exit_reason == EXIT_REASON_EXCEPTION_NMI) {
		u32 info = vmcs_read32(VM_EXIT_INTR_INFO);

		vcpu->exit_intr_info = info;
		/* The NMI was the host's: raise it again, on this CPU. */
		if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			apic->send_IPI(smp_processor_id(), NMI_VECTOR);
		else if ((info & INTR_INFO_VECTOR_MASK) == MC_VECTOR)
			vmx_machine_check();
	} else if ((u16)vcpu->exit_reason == EXIT_REASON_MCE_DURING_VMENTRY) {
		vmx_machine_check();
	}
}

/*
 * Completes a port I/O instruction after userspace handled its exit: an
 * input takes its data from the PIO page, and either kind is then skipped.
 * As on KVM, nothing completes if userspace moved RIP meanwhile.
 */
static void vmx_complete_pio(struct vmx_vcpu *vcpu)
{
	unsigned long *rax = &vcpu->regs[HVX_REG_RAX];
	const void *data = vcpu->vcpu.pio_data;
	unsigned long rip = vmcs_readl(GUEST_RIP);

	if (rip == vcpu->pio_rip) {
		switch (vcpu->pio_in) {
		case 1:
			*rax = (*rax & ~0xffUL) | *(const u8 *)data;
			break;
		case 2:
			*rax = (*rax & ~0xffffUL) | *(const u16 *)data;
			break;
		case 4:
			/* A 32-bit register write clears bits 63:32. */
			*rax = *(const u32 *)data;
			break;
		}
		vmx_skip_instruction(vcpu);
	}
	vcpu->pio_len = 0;
	vcpu->pio_in = 0;
}

/* Finishes the instruction whose exit userspace just handled, if any. */
static void vmx_vcpu_complete(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	if (vcpu->sio.count)
		vmx_complete_string_io(vcpu);
	if (vcpu->mmio_pending)
		vmx_complete_mmio(vcpu);
	if (!vcpu->pio_len)
		return;
	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_complete_pio(vcpu);
	preempt_enable();
}

static int vmx_vcpu_run(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;
	bool want_window = READ_ONCE(run->request_interrupt_window);
	int r;

	if (READ_ONCE(hvx_rebooting))
		return -EIO;

	/* Another task ran on this CPU since the last entry: flush the L1D. */
	if (vcpu->l1d_switches != current->nvcsw + current->nivcsw)
		vcpu->l1d_flush = true;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_load_guest_state(vcpu);

	for (;;) {
		local_irq_disable();
		if (need_resched() || signal_pending(current)) {
			local_irq_enable();
			r = HVX_RUN_AGAIN;
			break;
		}
		if (READ_ONCE(hvx_rebooting)) {
			local_irq_enable();
			r = -EIO;
			break;
		}
		if (unlikely(vcpu->ev.triple_fault)) {
			local_irq_enable();
			vcpu->ev.triple_fault = false;
			run->exit_reason = KVM_EXIT_SHUTDOWN;
			r = HVX_RUN_USER;
			break;
		}
		/*
		 * The guest FPU state is the task's (vmx_vcpu_fpu_load); if
		 * the task was switched out since, it is in memory only.
		 */
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		if (!vmx_events_idle(vcpu, want_window))
			vmx_inject_events(vcpu, want_window);
		vmx_trace_entry(vcpu);
		vmx_enter_exit(vcpu);
		/* A host interrupt that caused the exit is delivered here. */
		local_irq_enable();
		vmx_trace_exit(vcpu);

		r = vmx_handle_exit(vcpu);
		/*
		 * As KVM: once the guest can take an interrupt, a VMM that
		 * asked for the window gets KVM_EXIT_IRQ_WINDOW_OPEN.
		 */
		if (r == VMX_EXIT_RESUME && want_window &&
		    vmx_ready_for_interrupt(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = VMX_EXIT_USER;
		}
		if (r == VMX_EXIT_RESUME)
			continue;
		if (r == VMX_EXIT_FAULT)
			r = HVX_RUN_FAULT;
		else if (r == VMX_EXIT_EMULATE)
			r = HVX_RUN_EMULATE;
		else if (r == VMX_EXIT_USER)
			r = HVX_RUN_USER;
		break;
	}

	vmx_put_guest_state(vcpu);
	preempt_enable();
	vcpu->l1d_switches = current->nvcsw + current->nivcsw;
	return r;
}

/*
 * The guest's FPU/XSAVE state becomes the task's for the whole of KVM_RUN,
 * so that exits to the core (page faults, rescheduling) do not swap it
 * out and in again.  The kernel saves it on a context switch like any
 * task's; vmx_vcpu_run() reloads it before entry.
 */
static void vmx_vcpu_fpu_load(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	/* Userspace ran since the last entry (see vmx_l1d_flush_cond()). */
	vcpu->l1d_flush = true;
}

/*
 * Leaving KVM_RUN: the guest FPU state goes back to memory, and kvm_run
 * gets the state a VMM without an in-kernel interrupt controller needs to
 * inject interrupts (as KVM fills it on every return).
 */
static void vmx_vcpu_put(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;

	fpu_swap_kvm_fpstate(&vcpu->fpu, false);

	preempt_disable();
	vmx_vcpu_load(vcpu);
	run->if_flag = !!(vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = vmx_ready_for_interrupt(vcpu);
	preempt_enable();
	run->cr8 = vcpu->cr8;
	run->apic_base = vcpu->msrs.apic_base;
	run->flags = 0;
}

/*
 * KVM_GET/SET_REGS and KVM_GET/SET_SREGS.  The VMCS is made current on
 * this CPU for the duration.
 */
static void vmx_get_regs(struct hvx_vcpu *hv, struct kvm_regs *regs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	const unsigned long *r = vcpu->regs;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	regs->rax = r[HVX_REG_RAX];
	regs->rbx = r[HVX_REG_RBX];
	regs->rcx = r[HVX_REG_RCX];
	regs->rdx = r[HVX_REG_RDX];
	regs->rsi = r[HVX_REG_RSI];
	regs->rdi = r[HVX_REG_RDI];
	regs->rbp = r[HVX_REG_RBP];
	regs->r8 = r[HVX_REG_R8];
	regs->r9 = r[HVX_REG_R9];
	regs->r10 = r[HVX_REG_R10];
	regs->r11 = r[HVX_REG_R11];
	regs->r12 = r[HVX_REG_R12];
	regs->r13 = r[HVX_REG_R13];
	regs->r14 = r[HVX_REG_R14];
	regs->r15 = r[HVX_REG_R15];
	regs->rsp = vmcs_readl(GUEST_RSP);
	regs->rip = vmcs_readl(GUEST_RIP);
	regs->rflags = vmcs_readl(GUEST_RFLAGS);
	preempt_enable();
}

static int vmx_set_regs(struct hvx_vcpu *hv, const struct kvm_regs *regs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	unsigned long *r = vcpu->regs;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	r[HVX_REG_RAX] = regs->rax;
	r[HVX_REG_RBX] = regs->rbx;
	r[HVX_REG_RCX] = regs->rcx;
	r[HVX_REG_RDX] = regs->rdx;
	r[HVX_REG_RSI] = regs->rsi;
	r[HVX_REG_RDI] = regs->rdi;
	r[HVX_REG_RBP] = regs->rbp;
	r[HVX_REG_R8] = regs->r8;
	r[HVX_REG_R9] = regs->r9;
	r[HVX_REG_R10] = regs->r10;
	r[HVX_REG_R11] = regs->r11;
	r[HVX_REG_R12] = regs->r12;
	r[HVX_REG_R13] = regs->r13;
	r[HVX_REG_R14] = regs->r14;
	r[HVX_REG_R15] = regs->r15;
	vmcs_writel(GUEST_RSP, regs->rsp);
	vmcs_writel(GUEST_RIP, regs->rip);
	/* Bit 1 is always 1; reserved bits are 0, as KVM forces them. */
	vmcs_writel(GUEST_RFLAGS, (regs->rflags & 0x3f7fd7UL) | X86_EFLAGS_FIXED);
	preempt_enable();
	return 0;
}

static void vmx_get_sregs(struct hvx_vcpu *hv, struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_segment *segs[] = {
		&sregs->cs, &sregs->ds, &sregs->es, &sregs->fs, &sregs->gs,
		&sregs->ss, &sregs->tr, &sregs->ldt,
	};
	unsigned int i;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	for (i = 0; i < ARRAY_SIZE(vmx_segs); i++)
		vmx_get_segment(&vmx_segs[i], segs[i]);
	sregs->gdt.base = vmcs_readl(GUEST_GDTR_BASE);
	sregs->gdt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
	sregs->idt.base = vmcs_readl(GUEST_IDTR_BASE);
	sregs->idt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
	sregs->cr0 = vmx_guest_cr0();
	sregs->cr2 = vcpu->cr2;
	sregs->cr3 = vmcs_readl(GUEST_CR3);
	sregs->cr4 = vmx_guest_cr4();
	sregs->efer = vmcs_read64(GUEST_IA32_EFER);
	sregs->cr8 = 0;
	sregs->apic_base = vcpu->msrs.apic_base;
	preempt_enable();
	/* The external interrupt being delivered, as KVM reports it. */
	if ((vcpu->ev.intr_info & INTR_INFO_INTR_TYPE_MASK) ==
	    INTR_TYPE_EXT_INTR && (vcpu->ev.intr_info & INTR_INFO_VALID_MASK)) {
		unsigned int vec = vcpu->ev.intr_info & INTR_INFO_VECTOR_MASK;

		sregs->interrupt_bitmap[vec / 64] |= BIT_ULL(vec % 64);
	}
}

static int vmx_set_sregs(struct hvx_vcpu *hv, const struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	const struct kvm_segment *segs[] = {
		&sregs->cs, &sregs->ds, &sregs->es, &sregs->fs, &sregs->gs,
		&sregs->ss, &sregs->tr, &sregs->ldt,
	};
	unsigned long cr0 = sregs->cr0, cr4 = sregs->cr4;
	u64 efer = sregs->efer;
	unsigned int i;
	int r = -EINVAL;

	/* The checks KVM makes (kvm_is_valid_sregs), and hvx's own. */
	if ((efer & EFER_LME) && (cr0 & X86_CR0_PG)) {
		if (!(cr4 & X86_CR4_PAE) || !(efer & EFER_LMA))
			return -EINVAL;
	} else if ((efer & EFER_LMA) || sregs->cs.l) {
		return -EINVAL;
	}
	if (cr0 >> 32 || ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) ||
	    ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)))
		return -EINVAL;
	if ((cr0 | (vmx_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG))) &
	    ~vmx_config.cr0_fixed1)
		return -EINVAL;
	if ((cr4 & ~VMX_CR4_GUEST_ALLOWED) ||
	    ((cr4 | vmx_config.cr4_fixed0) & ~vmx_config.cr4_fixed1))
		return -EINVAL;
	if ((efer & ~VMX_EFER_ALLOWED) ||
	    ((efer & EFER_NX) && !boot_cpu_has(X86_FEATURE_NX)))
		return -EINVAL;
	if (sregs->cr3 >> boot_cpu_data.x86_phys_bits)
		return -EINVAL;
	if (vmx_check_apic_base(vcpu, sregs->apic_base, true) ||
	    (cr4 & vmx_cpuid_cr4_reserved(vcpu)))
		return -EINVAL;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	for (i = 0; i < ARRAY_SIZE(vmx_segs); i++)
		vmx_set_segment(&vmx_segs[i], segs[i]);
	vmcs_writel(GUEST_GDTR_BASE, sregs->gdt.base);
	vmcs_write32(GUEST_GDTR_LIMIT, sregs->gdt.limit);
	vmcs_writel(GUEST_IDTR_BASE, sregs->idt.base);
	vmcs_write32(GUEST_IDTR_LIMIT, sregs->idt.limit);
	vcpu->cr2 = sregs->cr2;
	vcpu->msrs.apic_base = sregs->apic_base;
	vmcs_writel(GUEST_CR3, sregs->cr3);
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmx_set_ia32e_mode(efer & EFER_LMA);
	vmcs_writel(CR4_READ_SHADOW, cr4);
	vmcs_writel(GUEST_CR4, cr4 | vmx_config.cr4_fixed0);
	vmcs_writel(CR0_READ_SHADOW, cr0);
	vmcs_writel(GUEST_CR0, cr0 | (vmx_config.cr0_fixed0 &
				      ~(X86_CR0_PE | X86_CR0_PG)));
	if (vmx_pae_paging(cr0, cr4, efer))
		vmx_load_pdptrs(vcpu, sregs->cr3);
	/*
	 * As KVM: the lowest vector set in interrupt_bitmap becomes the
	 * interrupt being delivered (see KVM_GET_VCPU_EVENTS).
	 */
	for (i = 0; i < ARRAY_SIZE(sregs->interrupt_bitmap); i++) {
		if (sregs->interrupt_bitmap[i]) {
			vcpu->ev.intr_info = (i * 64 +
					      __ffs(sregs->interrupt_bitmap[i])) |
					     INTR_TYPE_EXT_INTR |
					     INTR_INFO_VALID_MASK;
			break;
		}
	}
	r = 0;
	preempt_enable();
	return r;
}

/**
 * vmx_get_msr() - read one of the MSRs hvx gives guests
 * @vcpu: the vCPU, its VMCS current.
 * @index: the MSR.
 * @data: its value.
 *
 * Return: 0, or -EINVAL for an MSR hvx does not handle (#GP in the guest).
 */
int vmx_get_msr(struct vmx_vcpu *vcpu, u32 index, u64 *data)
{
	switch (index) {
	case MSR_EFER:
		*data = vmcs_read64(GUEST_IA32_EFER);
		break;
	case MSR_STAR:
		*data = vcpu->msr_star;
		break;
	case MSR_LSTAR:
		*data = vcpu->msr_lstar;
		break;
	case MSR_CSTAR:
		*data = vcpu->msr_cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = vcpu->msr_sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		if (vcpu->guest_msrs_loaded)
			rdmsrl(MSR_KERNEL_GS_BASE, vcpu->msr_kernel_gs_base);
		*data = vcpu->msr_kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*data = vmcs_readl(GUEST_FS_BASE);
		break;
	case MSR_GS_BASE:
		*data = vmcs_readl(GUEST_GS_BASE);
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = vmcs_read32(GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmcs_readl(GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmcs_readl(GUEST_SYSENTER_EIP);
		break;
	case MSR_IA32_CR_PAT:
		*data = vmcs_read64(GUEST_IA32_PAT);
		break;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->msr_tsc_offset;
		break;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->msr_misc_enable;
		break;
	default:
		return vmx_get_boot_msr(vcpu, index, data);
	}
	return 0;
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

/**
 * vmx_set_msr() - write one of the MSRs hvx gives guests
 * @vcpu: the vCPU, its VMCS current.
 * @index: the MSR.
 * @data: the value.
 *
 * Return: 0, or -EINVAL for an MSR hvx does not handle or a value a real
 * CPU would refuse (#GP in the guest).
 */
int vmx_set_msr(struct vmx_vcpu *vcpu, u32 index, u64 data)
{
	bool loaded = vcpu->guest_msrs_loaded;

	switch (index) {
	case MSR_EFER:
		return vmx_set_efer(vcpu, data);
	case MSR_STAR:
		vcpu->msr_star = data;
		break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!__is_canonical_address(data, 48))
			return -EINVAL;
		if (index == MSR_LSTAR)
			vcpu->msr_lstar = data;
		else if (index == MSR_CSTAR)
			vcpu->msr_cstar = data;
		else if (index == MSR_KERNEL_GS_BASE)
			vcpu->msr_kernel_gs_base = data;
		else if (index == MSR_FS_BASE)
			vmcs_writel(GUEST_FS_BASE, data);
		else if (index == MSR_GS_BASE)
			vmcs_writel(GUEST_GS_BASE, data);
		else if (index == MSR_IA32_SYSENTER_ESP)
			vmcs_writel(GUEST_SYSENTER_ESP, data);
		else
			vmcs_writel(GUEST_SYSENTER_EIP, data);
		break;
	case MSR_SYSCALL_MASK:
		vcpu->msr_sfmask = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(GUEST_SYSENTER_CS, data);
		break;
	case MSR_IA32_CR_PAT:
		if (!vmx_pat_valid(data))
			return -EINVAL;
		vmcs_write64(GUEST_IA32_PAT, data);
		break;
	case MSR_IA32_TSC:
		vcpu->msr_tsc_offset = data - rdtsc();
		vmcs_write64(TSC_OFFSET, vcpu->msr_tsc_offset);
		break;
	case MSR_IA32_MISC_ENABLE:
		vcpu->msr_misc_enable = data;
		break;
	default:
		return vmx_set_boot_msr(vcpu, index, data);
	}

	/* A syscall MSR written while the guest's are in the hardware. */
	if (loaded) {
		if (index == MSR_STAR)
			wrmsrl(MSR_STAR, data);
		else if (index == MSR_LSTAR)
			wrmsrl(MSR_LSTAR, data);
		else if (index == MSR_CSTAR)
			wrmsrl(MSR_CSTAR, data);
		else if (index == MSR_SYSCALL_MASK)
			wrmsrl(MSR_SYSCALL_MASK, data);
		else if (index == MSR_KERNEL_GS_BASE)
			wrmsrl(MSR_KERNEL_GS_BASE, data);
	}
	return 0;
}

/*
 * KVM_GET/SET_FPU work on the legacy FXSAVE image at the start of the
 * guest's XSAVE buffer (Intel SDM Vol. 1, 10.5.1), as KVM's do.  Outside
 * KVM_RUN the guest state is in memory, not in the registers.
 */
static void vmx_get_fpu(struct hvx_vcpu *hv, struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = &to_vmx(hv)->fpu.fpstate->regs.fxsave;

	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
}

static int vmx_set_fpu(struct hvx_vcpu *hv, const struct kvm_fpu *fpu)
{
	struct fpstate *fps = to_vmx(hv)->fpu.fpstate;
	struct fxregs_state *fx = &fps->regs.fxsave;

	/* Reserved MXCSR bits would make the restore fault. */
	if (fx->mxcsr_mask && (fpu->mxcsr & ~fx->mxcsr_mask))
		return -EINVAL;
	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	fx->mxcsr = fpu->mxcsr;
	/* Make XRSTOR load the x87 and SSE state rather than reset it. */
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		fps->regs.xsave.header.xfeatures |= XFEATURE_MASK_FPSSE;
	return 0;
}

static const u32 vmx_msr_list[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_CR_PAT,
	MSR_IA32_TSC, MSR_IA32_MISC_ENABLE,
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

static int vmx_vcpu_get_msr(struct hvx_vcpu *hv, u32 index, u64 *data)
{
	int r;

	preempt_disable();
	vmx_vcpu_load(to_vmx(hv));
	r = vmx_get_msr(to_vmx(hv), index, data);
	preempt_enable();
	return r;
}

static int vmx_vcpu_set_msr(struct hvx_vcpu *hv, u32 index, u64 data)
{
	int r;

	preempt_disable();
	vmx_vcpu_load(to_vmx(hv));
	r = vmx_set_msr(to_vmx(hv), index, data);
	preempt_enable();
	return r;
}

const struct hvx_backend_ops vmx_backend_ops = {
	.name = "vmx",
	.vm_size = sizeof(struct vmx_vm),
	.vcpu_size = sizeof(struct vmx_vcpu),
	.hardware_setup = vmx_hardware_setup,
	.hardware_unsetup = vmx_hardware_unsetup,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vm_map = vmx_vm_map,
	.vm_unmap = vmx_vm_unmap,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_load = vmx_vcpu_fpu_load,
	.vcpu_put = vmx_vcpu_put,
	.vcpu_run = vmx_vcpu_run,
	.vcpu_complete = vmx_vcpu_complete,
	.vcpu_emulate = vmx_emulate_string_io,
	.emulate_mmio = vmx_emulate_mmio,
	.get_regs = vmx_get_regs,
	.set_regs = vmx_set_regs,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_msr = vmx_vcpu_get_msr,
	.set_msr = vmx_vcpu_set_msr,
	.msr_list = vmx_msr_list,
	.nr_msrs = ARRAY_SIZE(vmx_msr_list),
	.interrupt = vmx_interrupt,
	.nmi = vmx_nmi,
	.get_events = vmx_get_events,
	.set_events = vmx_set_events,
	.get_xsave = vmx_get_xsave,
	.set_xsave = vmx_set_xsave,
	.get_xcrs = vmx_get_xcrs,
	.set_xcrs = vmx_set_xcrs,
	.get_fpu = vmx_get_fpu,
	.set_fpu = vmx_set_fpu,
	.exit_name = vmx_exit_name,
	.supported_cpuid = vmx_supported_cpuid,
	.set_cpuid = vmx_set_cpuid,
	.get_cpuid = vmx_get_cpuid,
};
