// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: each vCPU's CPUID (the supported table is in
 * cpuid_host.c).
 *
 * KVM_SET_CPUID2 gives a vCPU its own table, checked as KVM checks it (for
 * consistency, not against what hvx supports).  A CPUID exit answers from that table (zeros
 * until it is set, as on KVM), with the bits that follow the vCPU's state
 * brought up to date, as KVM keeps them: OSXSAVE, the APIC-enabled bit and
 * the XSAVE area sizes; KVM_GET_CPUID2 returns them the same way.  The
 * APIC IDs are the VMM's to put in the table, as on KVM.
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

/*
 * What KVM_SET_CPUID2 refuses, as KVM (kvm_check_cpuid()): a linear-address
 * width other than 48 or 57 (0: not given).  Feature bits are the VMM's
 * choice, as on KVM: a table may offer more than KVM_GET_SUPPORTED_CPUID
 * (QEMU always adds MCE, MCA, MTRR and PAT).  Nothing hvx enables for the
 * guest follows such a bit alone: XCR0 is bounded by what the host can
 * switch, CR4 by what VMX allows (vmx_cr4_valid()), and an instruction the
 * CPU does not have still raises #UD.
 */
static int vmx_check_cpuid(struct kvm_cpuid_entry2 *entries,
			   unsigned int nent)
{
	const struct kvm_cpuid_entry2 *e;

	e = vmx_find(entries, nent, 0x80000008, 0);
	if (e) {
		u8 virt = (e->eax >> 8) & 0xff;

		if (virt && virt != 48 && virt != 57)
			return -EINVAL;
	}
	return 0;
}

/*
 * The bits of a leaf that follow the vCPU's state, as KVM keeps them
 * (kvm_update_cpuid_runtime): CPUID.1 OSXSAVE is CR4.OSXSAVE,
 * CPUID.1 APIC is IA32_APIC_BASE's enable bit (SDM Vol. 3A, 11.4.3), and
 * the XSAVE area sizes of leaf 0xD follow XCR0.
 */
static void vmx_cpuid_runtime(struct vmx_vcpu *vcpu, struct kvm_cpuid_entry2 *e)
{
	if (e->function == 1) {
		if (vcpu->guest_osxsave)
			e->ecx |= F(OSXSAVE);
		else
			e->ecx &= ~F(OSXSAVE);
		if (vmx_apic_base(vcpu) & MSR_IA32_APICBASE_ENABLE)
			e->edx |= F(APIC);
		else
			e->edx &= ~F(APIC);
	} else if (e->function == 0xd && e->index == 0) {
		e->ebx = vmx_xsave_size(vcpu->xcr0, false);
	} else if (e->function == 0xd && e->index == 1 &&
		   (e->eax & (BIT(1) | BIT(3)))) {
		e->ebx = vmx_xsave_size(vcpu->xcr0, true);
	}
}

/* The table with every such bit as the guest sees it now. */
static void vmx_cpuid_refresh(struct vmx_vcpu *vcpu,
			      struct kvm_cpuid_entry2 *entries,
			      unsigned int nent)
{
	unsigned int i;

	for (i = 0; i < nent; i++)
		vmx_cpuid_runtime(vcpu, &entries[i]);
}

static bool vmx_cpuid_equal(const struct kvm_cpuid_entry2 *a,
			    const struct kvm_cpuid_entry2 *b, unsigned int n)
{
	for (; n; n--, a++, b++)
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax ||
		    a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx)
			return false;
	return true;
}

/**
 * vmx_set_cpuid() - backend_ops.set_cpuid: KVM_SET_CPUID2
 * @hv: the vCPU.
 * @entries: the table (a kernel copy).
 * @nent: its number of entries, at most VMX_MAX_CPUID_ENTRIES.
 *
 * The bits that follow the vCPU's state are taken from the vCPU, not from
 * @entries (as KVM).  Once the vCPU has run, only the table it has may be
 * set again: the guest may already rely on it.
 *
 * Return: 0, -EINVAL for a bad linear-address width or (after a run)
 * another table, or -ENOMEM; the vCPU's table is unchanged on error.
 */
int vmx_set_cpuid(struct hvx_vcpu *hv, const struct kvm_cpuid_entry2 *entries,
		  unsigned int nent)
{
	struct vmx_cpuid *cpuid = &to_vmx(hv)->cpuid;
	struct kvm_cpuid_entry2 *copy = NULL, *e;
	int r;

	if (nent) {
		copy = kmemdup(entries, nent * sizeof(*entries),
			       GFP_KERNEL_ACCOUNT);
		if (!copy)
			return -ENOMEM;
	}
	vmx_cpuid_refresh(to_vmx(hv), copy, nent);
	if (hv->ran) {
		vmx_cpuid_refresh(to_vmx(hv), cpuid->entries, cpuid->nent);
		r = nent == cpuid->nent &&
		    vmx_cpuid_equal(copy, cpuid->entries, nent) ? 0 : -EINVAL;
		kfree(copy);
		return r;
	}
	r = vmx_check_cpuid(copy, nent);
	if (r) {
		kfree(copy);
		return r;
	}
	kfree(cpuid->entries);
	cpuid->entries = copy;
	cpuid->nent = nent;
	cpuid->set = true;

	/*
	 * CR4 bits of features the table lacks become host-owned, so that a
	 * guest setting one exits and gets #GP (handle_cr); the others stay
	 * the guest's.  The vCPU has not run: the shadow holds its CR4.
	 */
	if (vmx_vmcs_enter(to_vmx(hv)))
		return -EIO;
	vmcs_writel(CR4_GUEST_HOST_MASK, vmx_cr4_guest_host_mask(to_vmx(hv)));
	if (vmx_vmcs_leave(to_vmx(hv)))
		return -EIO;

	cpuid->xcr0 = 0;
	e = vmx_find(copy, nent, 1, 0);
	if (e && (e->ecx & F(XSAVE))) {
		e = vmx_find(copy, nent, 0xd, 0);
		if (e)
			cpuid->xcr0 = (e->eax | (u64)e->edx << 32) &
				      vmx_supported_xcr0;
	}
	return 0;
}

/**
 * vmx_get_cpuid() - backend_ops.get_cpuid: KVM_GET_CPUID2
 * @hv: the vCPU.
 * @entries: set to its table, as the guest sees it now.
 *
 * Return: the number of entries.
 */
unsigned int vmx_get_cpuid(struct hvx_vcpu *hv,
			   const struct kvm_cpuid_entry2 **entries)
{
	struct vmx_cpuid *cpuid = &to_vmx(hv)->cpuid;

	vmx_cpuid_refresh(to_vmx(hv), cpuid->entries, cpuid->nent);
	*entries = cpuid->entries;
	return cpuid->nent;
}

/**
 * vmx_cpuid_free() - free a vCPU's table
 * @vcpu: the vCPU being destroyed.
 */
void vmx_cpuid_free(struct vmx_vcpu *vcpu)
{
	kfree(vcpu->cpuid.entries);
	vcpu->cpuid.entries = NULL;
	vcpu->cpuid.nent = 0;
}

/**
 * vmx_cpuid_supported_xcr0() - the XSAVE features any guest may have
 *
 * Return: the XCR0 bits KVM_GET_SUPPORTED_CPUID offers (leaf 0xD.0): the
 * state components KVM_GET/SET_XSAVE carry.
 */
u64 vmx_cpuid_supported_xcr0(void)
{
	return vmx_supported_xcr0;
}

/**
 * vmx_cr4_guest_host_mask() - the CR4 bits hvx owns: guest writes exit
 * @vcpu: the vCPU.
 *
 * The guest owns the bits it may set freely.  Those of features its CPUID
 * lacks exit so that setting them faults (handle_cr()), and OSXSAVE always
 * exits: hvx then knows when to switch XCR0 without reading GUEST_CR4 on
 * every entry, and a guest without CPUID.XSAVE gets #GP, as on KVM.
 *
 * Return: the value for CR4_GUEST_HOST_MASK.
 */
unsigned long vmx_cr4_guest_host_mask(struct vmx_vcpu *vcpu)
{
	return ~(unsigned long)VMX_CR4_GUEST_ALLOWED | X86_CR4_OSXSAVE |
	       vmx_cpuid_cr4_reserved(vcpu);
}

/**
 * vmx_cpuid_xcr0() - the XCR0 values XSETBV may set
 * @vcpu: the vCPU.
 *
 * Return: the XCR0 bits the vCPU's CPUID offers; x87 always, as on KVM.
 */
u64 vmx_cpuid_xcr0(struct vmx_vcpu *vcpu)
{
	return vcpu->cpuid.xcr0 | XFEATURE_MASK_FP;
}

/**
 * vmx_cpuid_cr4_reserved() - CR4 bits the vCPU's CPUID does not offer
 * @vcpu: the vCPU.
 *
 * Return: the CR4 bits whose feature the table lacks, which the guest (#GP)
 * and KVM_SET_SREGS (-EINVAL) may not set, as on KVM; none before the
 * first KVM_SET_CPUID2 (KVM computes them there): then only what the host
 * cannot do is refused (vmx_cr4_valid()).
 */
unsigned long vmx_cpuid_cr4_reserved(struct vmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;
	unsigned long reserved = 0;
	u32 ecx1 = 0, ebx7 = 0;

	if (!vcpu->cpuid.set)
		return 0;

	e = vmx_find(vcpu->cpuid.entries, vcpu->cpuid.nent, 1, 0);
	if (e)
		ecx1 = e->ecx;
	e = vmx_find(vcpu->cpuid.entries, vcpu->cpuid.nent, 7, 0);
	if (e)
		ebx7 = e->ebx;
	if (!(ecx1 & F(XSAVE)))
		reserved |= X86_CR4_OSXSAVE;
	if (!(ecx1 & F(PCID)))
		reserved |= X86_CR4_PCIDE;
	if (!(ebx7 & F(SMEP)))
		reserved |= X86_CR4_SMEP;
	if (!(ebx7 & F(SMAP)))
		reserved |= X86_CR4_SMAP;
	if (!(ebx7 & F(FSGSBASE)))
		reserved |= X86_CR4_FSGSBASE;
	return reserved;
}

/**
 * vmx_cpuid_maxphyaddr() - the guest's physical-address width
 * @vcpu: the vCPU.
 *
 * Return: CPUID.80000008H:EAX[7:0], or 36 when the table does not say
 * (the width Intel SDM Vol. 3A, 4.1.4 gives processors without the leaf).
 */
unsigned int vmx_cpuid_maxphyaddr(struct vmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = vmx_find(vcpu->cpuid.entries, vcpu->cpuid.nent, 0x80000000, 0);
	if (e && e->eax >= 0x80000008) {
		e = vmx_find(vcpu->cpuid.entries, vcpu->cpuid.nent,
			     0x80000008, 0);
		if (e && (e->eax & 0xff))
			return e->eax & 0xff;
	}
	return 36;
}

/*
 * Intel processors answer a leaf above the maximum of its range with the
 * highest basic leaf (Intel SDM Vol. 2A, CPUID, "INPUT EAX = 0").  Only for
 * a guest that says it is Intel; others get zeros.
 */
static const struct kvm_cpuid_entry2 *
vmx_out_of_range(struct vmx_cpuid *cpuid, u32 *function, u32 index)
{
	const struct kvm_cpuid_entry2 *basic, *class;
	u32 f = *function, base;

	basic = vmx_find(cpuid->entries, cpuid->nent, 0, 0);
	if (!basic || basic->ebx != 0x756e6547 || basic->ecx != 0x6c65746e ||
	    basic->edx != 0x49656e69)	/* "GenuineIntel" */
		return NULL;
	if (f >= 0x40000000 && f < 0x50000000)
		base = f & 0xffffff00;
	else
		base = f & 0xc0000000;
	class = vmx_find(cpuid->entries, cpuid->nent, base, 0);
	if (class && f <= class->eax)
		return NULL;
	*function = basic->eax;
	return vmx_find(cpuid->entries, cpuid->nent, basic->eax, index);
}

/**
 * vmx_cpuid_emulate() - execute CPUID for the guest
 * @vcpu: the vCPU, its VMCS current.
 *
 * Answers leaf EAX, subleaf ECX from the vCPU's table into the guest's
 * EAX-EDX, with the bits that follow the vCPU's state brought up to date.
 */
void vmx_cpuid_emulate(struct vmx_vcpu *vcpu)
{
	struct vmx_cpuid *cpuid = &vcpu->cpuid;
	u32 function = vcpu->regs[HVX_REG_RAX];
	u32 index = vcpu->regs[HVX_REG_RCX];
	const struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid_entry2 out = { };

	e = vmx_find(cpuid->entries, cpuid->nent, function, index);
	if (!e)
		e = vmx_out_of_range(cpuid, &function, index);
	if (e) {
		out = *e;
		vmx_cpuid_runtime(vcpu, &out);
	} else if (function == 0xb || function == 0x1f) {
		/*
		 * An undefined subleaf of a topology leaf the table has
		 * still echoes its number and the x2APIC ID (as KVM: the
		 * ID of subleaf 1).
		 */
		e = vmx_find(cpuid->entries, cpuid->nent, function, 1);
		if (e) {
			out.ecx = index & 0xff;
			out.edx = e->edx;
		}
	}
	vcpu->regs[HVX_REG_RAX] = out.eax;
	vcpu->regs[HVX_REG_RBX] = out.ebx;
	vcpu->regs[HVX_REG_RCX] = out.ecx;
	vcpu->regs[HVX_REG_RDX] = out.edx;
}
