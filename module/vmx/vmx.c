// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: the lifecycle (load, VMX root on each CPU, VMs and
 * vCPUs) and the ops table the core reaches the backend through.  See
 * Documentation/design.rst for the floors of the backend: this file is on
 * top, and nothing below calls into it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xstate.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "hvx.h"
#include "capabilities.h"
#include "cpuid.h"
#include "msr.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_ops.h"
#include "vmx_stats.h"

/* Each CPU's VMXON region (Intel SDM Vol. 3C, 25.11.5), one page. */
static DEFINE_PER_CPU(struct page *, vmxon_region);

static DEFINE_IDA(vmx_vpids);

static void vmx_hardware_unsetup(void)
{
	int cpu;

	vmx_msr_unsetup();
	vmx_l1d_flush_unsetup();
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

	r = vmx_fpu_setup();
	if (!r)
		r = vmx_msr_setup();
	if (!r)
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
	vmx_vmcs_cpu_init();
	ept_sync_all();
	vpid_sync_all();
	return 0;

err_clear_vmxe:
	cr4_clear_bits(X86_CR4_VMXE);
	return r;
}

static void vmx_cpu_disable(void)
{
	vmx_vmcs_clear_cpu();

	/* The core calls this only on a CPU it put in VMX root. */
	WARN_ONCE(vmx_off() != VMX_INSN_OK, "hvx: CPU%d: VMXOFF faulted\n",
		  smp_processor_id());
	cr4_clear_bits(X86_CR4_VMXE);
}

static void vmx_ept_flush_this_cpu(void *data)
{
	const struct ept *ept = data;

	ept_sync_context(ept->eptp);
}

/*
 * Invalidates every CPU's translations derived from @ept.  The IPI also
 * makes any CPU running a guest on these tables exit first.  Every online
 * CPU is in VMX root operation while hvx is loaded; a CPU that comes
 * online later starts with a global INVEPT (vmx_cpu_enable()).
 */
static void vmx_ept_flush(struct ept *ept)
{
	on_each_cpu(vmx_ept_flush_this_cpu, ept, 1);
}

static int vmx_vm_init(struct hvx_vm *hvm)
{
	return ept_init(&to_vmx_vm(hvm)->ept);
}

static void vmx_vm_destroy(struct hvx_vm *hvm)
{
	struct ept *ept = &to_vmx_vm(hvm)->ept;

	/* No CPU may keep translations through tables about to be freed. */
	vmx_ept_flush(ept);
	ept_destroy(ept);
}

static int vmx_vm_map(struct hvx_vm *hvm, u64 gpa, u64 pfn, bool writable)
{
	return ept_map(&to_vmx_vm(hvm)->ept, gpa, pfn, writable);
}

static void vmx_vm_flush(struct hvx_vm *hvm)
{
	vmx_ept_flush(&to_vmx_vm(hvm)->ept);
}

static void vmx_vm_unmap(struct hvx_vm *hvm, u64 gpa, u64 size)
{
	struct ept *ept = &to_vmx_vm(hvm)->ept;

	ept_unmap(ept, gpa, size);
	vmx_ept_flush(ept);
}

/* The x86 state after RESET (Intel SDM Vol. 3A, 10.1.1), as KVM sets it. */
static void vmx_vcpu_reset(struct vmx_vcpu *vcpu)
{
	vmx_state_reset(vcpu);
	memset(&vcpu->ev, 0, sizeof(vcpu->ev));
	vcpu->ev.irq_pending = -1;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vmx_msr_reset(vcpu);
}

static int vmx_vcpu_init(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	int vpid, r = -ENOMEM;

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

	if (vmx_vmcs_enter(vcpu))
		goto err_clear_vmcs;
	vmx_vmcs_setup(vcpu);
	vmx_msr_vmcs_setup(vcpu);
	vmcs_writel(CR4_GUEST_HOST_MASK, vmx_cr4_guest_host_mask(vcpu));
	vmx_vcpu_reset(vcpu);
	if (vmx_vmcs_leave(vcpu))
		goto err_clear_vmcs;
	return 0;

err_clear_vmcs:
	vmx_vmcs_clear(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	r = -EIO;
err_free_vpid:
	ida_free(&vmx_vpids, vcpu->vpid);
err_free_vmcs:
	__free_page(vcpu->vmcs);
	return r;
}

/*
 * INIT (Intel SDM Vol. 3A, 10.1.1 and Table 10-1): the registers as after
 * RESET, the guest's events dropped; MSRs, the FPU state and the CPUID
 * table are kept, as KVM's kvm_vcpu_reset(init_event) keeps them.
 */
static int vmx_vcpu_init_signal(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	vmx_state_reset(vcpu);
	memset(&vcpu->ev, 0, sizeof(vcpu->ev));
	vcpu->ev.irq_pending = -1;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	return vmx_vmcs_leave(vcpu);
}

/* Startup IPI: real mode at @vector's page (Intel SDM Vol. 3A, 9.4.4). */
static int vmx_vcpu_sipi(struct hvx_vcpu *hv, u8 vector)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	vmx_state_sipi(vector);
	return vmx_vmcs_leave(vcpu);
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
	.vm_flush = vmx_vm_flush,
	.vm_unmap = vmx_vm_unmap,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_reset = vmx_vcpu_init_signal,
	.vcpu_sipi = vmx_vcpu_sipi,
	.vcpu_load = vmx_vcpu_fpu_load,
	.vcpu_put = vmx_vcpu_put,
	.vcpu_run = vmx_vcpu_run,
	.vcpu_complete = vmx_vcpu_complete,
	.vcpu_emulate = vmx_vcpu_emulate,
	.get_regs = vmx_get_regs,
	.set_regs = vmx_set_regs,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_msr = vmx_vcpu_get_msr,
	.set_msr = vmx_vcpu_set_msr,
	.msr_list = vmx_msr_list,
	.nr_msrs = VMX_NR_MSRS,
	.interrupt = vmx_interrupt,
	.nmi = vmx_nmi,
	.get_events = vmx_get_events,
	.set_events = vmx_set_events,
	.get_xsave = vmx_get_xsave,
	.set_xsave = vmx_set_xsave,
	.get_xcrs = vmx_get_xcrs,
	.set_xcrs = vmx_set_xcrs,
	.get_debugregs = vmx_get_debugregs,
	.set_debugregs = vmx_set_debugregs,
	.get_fpu = vmx_get_fpu,
	.set_fpu = vmx_set_fpu,
	.has_xsave = vmx_has_xsave,
	.exit_name = vmx_exit_name,
	.supported_cpuid = vmx_supported_cpuid,
	.set_cpuid = vmx_set_cpuid,
	.get_cpuid = vmx_get_cpuid,
};
