/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the CPUID model: the supported table (cpuid_host.c)
 * and each vCPU's (cpuid.c).
 */
#ifndef HVX_VMX_CPUID_H
#define HVX_VMX_CPUID_H

#include <linux/bits.h>
#include <linux/kvm.h>
#include <asm/cpufeatures.h>
#include <linux/types.h>

struct vmx_vcpu;
struct hvx_vcpu;

/**
 * struct vmx_cpuid - a vCPU's CPUID table (KVM_SET_CPUID2)
 * @entries:	the table as userspace set it; NULL until it does, and then
 *		every leaf reads as zeros (as on KVM).
 * @nent:	number of entries.
 * @xcr0:	the XCR0 bits the table offers (leaf 0xD.0 EDX:EAX).
 */
struct vmx_cpuid {
	struct kvm_cpuid_entry2 *entries;
	unsigned int nent;
	u64 xcr0;
	bool set;	/* by KVM_SET_CPUID2, even an empty table */
};

/* A feature's bit in its CPUID register. */
#define F(name)		BIT(X86_FEATURE_##name & 31)

/* The entry of leaf @function, subleaf @index in a table, or NULL. */
static inline struct kvm_cpuid_entry2 *
vmx_find(struct kvm_cpuid_entry2 *e, unsigned int nent, u32 function,
	 u32 index)
{
	unsigned int i;

	for (i = 0; i < nent; i++, e++)
		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	return NULL;
}

/* cpuid_host.c: the KVM_GET_SUPPORTED_CPUID table, built at load */
int vmx_cpuid_setup(void);
unsigned int vmx_supported_cpuid(const struct kvm_cpuid_entry2 **entries);
extern u64 vmx_supported_xcr0;
u32 vmx_xsave_size(u64 xcr0, bool compacted);

/* cpuid.c */
int vmx_set_cpuid(struct hvx_vcpu *vcpu,
		  const struct kvm_cpuid_entry2 *entries, unsigned int nent);
unsigned int vmx_get_cpuid(struct hvx_vcpu *vcpu,
			   const struct kvm_cpuid_entry2 **entries);
void vmx_cpuid_free(struct vmx_vcpu *vcpu);
void vmx_cpuid_emulate(struct vmx_vcpu *vcpu);
u64 vmx_cpuid_supported_xcr0(void);
u64 vmx_cpuid_xcr0(struct vmx_vcpu *vcpu);
unsigned int vmx_cpuid_maxphyaddr(struct vmx_vcpu *vcpu);
unsigned long vmx_cpuid_cr4_reserved(struct vmx_vcpu *vcpu);
unsigned long vmx_cr4_guest_host_mask(struct vmx_vcpu *vcpu);

#endif /* HVX_VMX_CPUID_H */
