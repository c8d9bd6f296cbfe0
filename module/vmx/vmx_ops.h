/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: wrappers for the VMX instructions, and the TLB flush
 * policies built on INVVPID and INVEPT.
 *
 * A VMX instruction reports failure in RFLAGS (Intel SDM Vol. 3C, 31.2
 * "Conventions"): CF=1 is VMfailInvalid, ZF=1 is VMfailValid, and "jna"
 * catches both.  It faults (#UD, #GP) when used outside the operation it
 * needs; an exception-table entry turns the fault into an error return.
 */
#ifndef HVX_VMX_OPS_H
#define HVX_VMX_OPS_H

#include <linux/types.h>
#include <asm/asm.h>

#include "capabilities.h"

/*
 * Result of an instruction below: the exception-table entry resumes after
 * the instruction on a fault, leaving VMX_INSN_FAULTED in the result.
 */
#define VMX_INSN_OK		0
#define VMX_INSN_VMFAIL		1
#define VMX_INSN_FAULTED	2

/* vmcs.c: a VMX instruction that should not fail did (an hvx bug). */
void vmx_insn_failed(const char *insn, unsigned long field, u8 result);

/*
 * The one shape of every VMX instruction here: run @insn_asm on the
 * operands, SETNA the result on VMfail, and let an exception-table entry
 * skip to the end on a fault.  Operands go after the "+q" result.
 */
#define VMX_INSN(insn_asm, inputs...)					\
({									\
	u8 __result = VMX_INSN_FAULTED;					\
									\
	asm volatile("1: " insn_asm "\n\t"				\
		     "setna %[result]\n\t"				\
		     "2:\n\t"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [result] "+q" (__result)				\
		     : inputs						\
		     : "cc", "memory");					\
	__result;							\
})

/**
 * vmx_on() - VMXON: enter VMX root operation on this CPU
 * @vmxon_region: physical address of this CPU's VMXON region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_on(u64 vmxon_region)
{
	return VMX_INSN("vmxon %[pa]", [pa] "m" (vmxon_region));
}

/**
 * vmx_off() - VMXOFF: leave VMX operation on this CPU
 *
 * Return: VMX_INSN_OK, or VMX_INSN_FAULTED if the CPU was not in VMX
 * operation (VMXOFF cannot VMfail in VMX root with no dual monitor).
 */
static __always_inline u8 vmx_off(void)
{
	return VMX_INSN("vmxoff");
}

/**
 * vmx_vmptrld() - VMPTRLD: make a VMCS current on this CPU
 * @vmcs: physical address of the VMCS region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_vmptrld(u64 vmcs)
{
	return VMX_INSN("vmptrld %[pa]", [pa] "m" (vmcs));
}

/**
 * vmx_vmclear() - VMCLEAR: flush a VMCS to memory and make it inactive
 * @vmcs: physical address of the VMCS region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_vmclear(u64 vmcs)
{
	return VMX_INSN("vmclear %[pa]", [pa] "m" (vmcs));
}

/*
 * INVEPT and INVVPID take a type in a register and a 128-bit descriptor in
 * memory (Intel SDM Vol. 3C, 31.3).
 */
struct vmx_inv_desc {
	u64 lo, hi;
};

static __always_inline u8 vmx_invept(unsigned long type, u64 eptp)
{
	struct vmx_inv_desc desc = { eptp, 0 };

	return VMX_INSN("invept %[desc], %[type]",
			[desc] "m" (desc), [type] "r" (type));
}

static __always_inline u8 vmx_invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct vmx_inv_desc desc = { vpid, gva };

	return VMX_INSN("invvpid %[desc], %[type]",
			[desc] "m" (desc), [type] "r" (type));
}

/*
 * The flush policies, one helper each (Intel SDM Vol. 3C, 29.4.3): the
 * narrowest invalidation the processor has, else all contexts.  The probe
 * accepts a CPU with either type of each instruction.
 */

static inline void vmx_invvpid_checked(unsigned long type, u16 vpid)
{
	u8 r = vmx_invvpid(type, vpid, 0);

	if (unlikely(r != VMX_INSN_OK))
		vmx_insn_failed("INVVPID", type, r);
}

static inline void vmx_invept_checked(unsigned long type, u64 eptp)
{
	u8 r = vmx_invept(type, eptp);

	if (unlikely(r != VMX_INSN_OK))
		vmx_insn_failed("INVEPT", type, r);
}

/* Translations tagged with @vpid, on this CPU. */
static inline void vpid_sync_context(u16 vpid)
{
	if (cpu_has_vmx_invvpid_single())
		vmx_invvpid_checked(VMX_VPID_EXTENT_SINGLE_CONTEXT, vpid);
	else
		vmx_invvpid_checked(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* Translations of every VPID, on this CPU (after VMXON). */
static inline void vpid_sync_all(void)
{
	if (cpu_has_vmx_invvpid_global())
		vmx_invvpid_checked(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* Translations derived from the EPT tables of @eptp, on this CPU. */
static inline void ept_sync_context(u64 eptp)
{
	if (cpu_has_vmx_invept_single())
		vmx_invept_checked(VMX_EPT_EXTENT_CONTEXT, eptp);
	else
		vmx_invept_checked(VMX_EPT_EXTENT_GLOBAL, 0);
}

/* Translations derived from any EPT tables, on this CPU (after VMXON). */
static inline void ept_sync_all(void)
{
	if (cpu_has_vmx_invept_global())
		vmx_invept_checked(VMX_EPT_EXTENT_GLOBAL, 0);
}

#endif /* HVX_VMX_OPS_H */
