// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: VMCS ownership, the ground floor of the backend.
 *
 * A VMCS is active on at most one CPU.  It stays active (not VMCLEARed)
 * between runs so that VMRESUME can be used; when its vCPU runs on another
 * CPU, the old CPU VMCLEARs it first (Intel SDM Vol. 3C, 25.11.1).  A CPU
 * leaving VMX root VMCLEARs every VMCS active on it.
 *
 * Every access to a vCPU's VMCS sits between vmx_vmcs_enter() and
 * vmx_vmcs_leave(): the pair keeps preemption disabled, so the VMCS stays
 * current on this CPU in between, and turns a failed VMX instruction into
 * -EIO for the operation (STYLE 7: a VMfail is an hvx bug; the vCPU is not
 * entered again).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>

#include "hvx.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_ops.h"

/*
 * The VMCSs active on each CPU (VMPTRLDed and not VMCLEARed since), and the
 * current one.  Only their CPU changes them, with interrupts disabled.
 */
static DEFINE_PER_CPU(struct list_head, loaded_vmcss);
DEFINE_PER_CPU(struct vmx_vcpu *, vmx_current_vcpu);

/**
 * vmx_insn_failed() - report a VMX instruction that should not fail
 * @insn: its name.
 * @field: the VMCS field for VMREAD/VMWRITE, the type for INVVPID/INVEPT.
 * @result: VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 *
 * Such a failure is an hvx bug: warn once, with the VM-instruction error,
 * and mark the vCPU whose VMCS is current so that the operation fails
 * (vmx_vmcs_leave()) and the vCPU is never entered again.
 */
void vmx_insn_failed(const char *insn, unsigned long field, u8 result)
{
	struct vmx_vcpu *vcpu = __this_cpu_read(vmx_current_vcpu);
	unsigned long error = 0;

	if (vcpu)
		vcpu->vmcs_failed = true;
	if (result == VMX_INSN_VMFAIL)
		asm volatile("vmread %[field], %[error]"
			     : [error] "=r" (error)
			     : [field] "r" ((unsigned long)VM_INSTRUCTION_ERROR)
			     : "cc");
	if (vcpu && vcpu->vmfail_injected) {
		pr_info("injected %s %#lx failure (VM-instruction error %lu)\n",
			insn, field, error);
		return;
	}
	/* During reboot CPUs leave VMX root under running vCPUs. */
	if (result == VMX_INSN_FAULTED && READ_ONCE(hvx_rebooting))
		return;
	WARN_ONCE(1, "hvx: %s %#lx %s (VM-instruction error %lu)\n", insn,
		  field, result == VMX_INSN_VMFAIL ? "failed" : "faulted",
		  error);
}

/*
 * Fault injection for the selftests: inject_vmfail=1 makes the next
 * vmx_vmcs_enter() VMWRITE a field encoding no processor has (host state,
 * 64 bits, index 511), a real VMfailValid, so that the path of a failed
 * VMX instruction can be tested: the operation fails with -EIO and the
 * vCPU is never entered again.  An injected failure is logged without the
 * warning of a real one.
 */
bool vmx_vmfail_inject;
module_param_named(inject_vmfail, vmx_vmfail_inject, bool, 0644);
MODULE_PARM_DESC(inject_vmfail,
		 "Make the next VMCS access fail, for tests (default: off)");

#define VMX_FIELD_UNSUPPORTED	0x2ffe

static noinline void vmx_inject_vmfail(struct vmx_vcpu *vcpu)
{
	if (!xchg(&vmx_vmfail_inject, false))
		return;
	vcpu->vmfail_injected = true;
	__vmcs_write(VMX_FIELD_UNSUPPORTED, 0);
}

static void vmx_vmcs_clear_this_cpu(struct vmx_vcpu *vcpu)
{
	u8 insn = vmx_vmclear(page_to_phys(vcpu->vmcs));

	if (insn != VMX_INSN_OK)
		vmx_insn_failed("VMCLEAR", 0, insn);
	list_del(&vcpu->loaded_link);
	if (__this_cpu_read(vmx_current_vcpu) == vcpu)
		__this_cpu_write(vmx_current_vcpu, NULL);
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

/**
 * vmx_vmcs_cpu_init() - this CPU just entered VMX root: no VMCS is active
 */
void vmx_vmcs_cpu_init(void)
{
	INIT_LIST_HEAD(this_cpu_ptr(&loaded_vmcss));
	__this_cpu_write(vmx_current_vcpu, NULL);
}

/**
 * vmx_vmcs_clear_cpu() - VMCLEAR every VMCS active on this CPU
 *
 * Called with interrupts disabled before the CPU leaves VMX root.
 */
void vmx_vmcs_clear_cpu(void)
{
	struct vmx_vcpu *vcpu, *next;

	list_for_each_entry_safe(vcpu, next, this_cpu_ptr(&loaded_vmcss),
				 loaded_link)
		vmx_vmcs_clear_this_cpu(vcpu);
}

/**
 * vmx_vmcs_clear() - make sure the VMCS of @vcpu is active on no CPU
 * @vcpu: the vCPU, not running.
 */
void vmx_vmcs_clear(struct vmx_vcpu *vcpu)
{
	int cpu = READ_ONCE(vcpu->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_ipi, vcpu, 1);
}

/*
 * Host state that depends on the CPU (Intel SDM Vol. 3C, 25.5): written
 * when the VMCS becomes current on a CPU.
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

/* Makes the VMCS current on this CPU; preemption is disabled. */
static int vmx_vmcs_load(struct vmx_vcpu *vcpu)
{
	int cpu = smp_processor_id();
	bool migrated = READ_ONCE(vcpu->cpu) != cpu;
	unsigned long flags;
	u8 insn;

	if (__this_cpu_read(vmx_current_vcpu) == vcpu)
		return 0;

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
	if (insn != VMX_INSN_OK) {
		/* Another VMCS may still be current: touch none. */
		vmx_insn_failed("VMPTRLD", 0, insn);
		vcpu->vmcs_failed = true;
		return -EIO;
	}
	__this_cpu_write(vmx_current_vcpu, vcpu);

	vmx_set_host_state_cpu(cpu);
	/*
	 * This CPU may hold stale translations tagged with this VPID from
	 * an earlier time the vCPU ran here.
	 */
	if (migrated)
		vpid_sync_context(vcpu->vpid);
	return 0;
}

/**
 * __vmx_vmcs_enter() - the slow path of vmx_vmcs_enter()
 * @vcpu: the vCPU; preemption disabled.
 *
 * Return: 0; or -EIO, preemption enabled again, when the VMCS cannot be
 * made current or a VMX instruction on it failed before.
 */
int __vmx_vmcs_enter(struct vmx_vcpu *vcpu)
{
	if (unlikely(vcpu->vmcs_failed) || unlikely(vmx_vmcs_load(vcpu))) {
		preempt_enable();
		return -EIO;
	}
	if (unlikely(READ_ONCE(vmx_vmfail_inject)))
		vmx_inject_vmfail(vcpu);
	return 0;
}

/*
 * The exceptions hvx intercepts: #DB and #AC can loop forever in delivery
 * (CVE-2015-8104, CVE-2015-5307); they are reflected to the guest.  A
 * machine check belongs to the host: left to the guest, its IDT would
 * handle (or ignore) the host's hardware error.
 */
#define VMX_EXCEPTION_BITMAP	(BIT(DB_VECTOR) | BIT(AC_VECTOR) | \
				 BIT(MC_VECTOR))

/**
 * vmx_vmcs_setup() - everything in the VMCS that does not change while the
 * vCPU lives
 * @vcpu: the vCPU, its VMCS current.
 */
void vmx_vmcs_setup(struct vmx_vcpu *vcpu)
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
	vmcs_write32(VM_EXIT_CONTROLS, vmx_config.ctls[VMX_CTL_EXIT]);
	vmcs_write32(VM_ENTRY_CONTROLS, vmx_config.ctls[VMX_CTL_ENTRY] &
		     ~VM_ENTRY_IA32E_MODE);
	vmcs_write32(EXCEPTION_BITMAP, VMX_EXCEPTION_BITMAP);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write64(EPT_POINTER, vm->ept.eptp);
	vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	if (vmx_config.preemption_timer)
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE,
			     vmx_config.preemption_timer);

	vmcs_writel(CR0_GUEST_HOST_MASK, ~(unsigned long)VMX_CR0_GUEST_OWNED);
	/* CR4_GUEST_HOST_MASK depends on CPUID: vmx_cr4_guest_host_mask(). */

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
