/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: wrappers for the VMX instructions.
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

/*
 * Result of an instruction below: the exception-table entry resumes after
 * the instruction on a fault, leaving VMX_INSN_FAULTED in the result.
 */
#define VMX_INSN_OK		0
#define VMX_INSN_VMFAIL		1
#define VMX_INSN_FAULTED	2

/**
 * vmx_on() - VMXON: enter VMX root operation on this CPU
 * @vmxon_region: physical address of this CPU's VMXON region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_on(u64 vmxon_region)
{
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmxon %[region]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [region] "m" (vmxon_region)
		     : "cc", "memory");
	return result;
}

/**
 * vmx_off() - VMXOFF: leave VMX operation on this CPU
 *
 * Return: VMX_INSN_OK, or VMX_INSN_FAULTED if the CPU was not in VMX
 * operation.
 */
static __always_inline u8 vmx_off(void)
{
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmxoff\n\t"
		     "movb $0, %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : : "cc", "memory");
	return result;
}

/**
 * vmx_vmptrld() - VMPTRLD: make a VMCS current on this CPU
 * @vmcs: physical address of the VMCS region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_vmptrld(u64 vmcs)
{
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmptrld %[vmcs]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [vmcs] "m" (vmcs)
		     : "cc", "memory");
	return result;
}

/**
 * vmx_vmclear() - VMCLEAR: flush a VMCS to memory and make it inactive
 * @vmcs: physical address of the VMCS region.
 *
 * Return: VMX_INSN_OK, VMX_INSN_VMFAIL or VMX_INSN_FAULTED.
 */
static __always_inline u8 vmx_vmclear(u64 vmcs)
{
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmclear %[vmcs]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [vmcs] "m" (vmcs)
		     : "cc", "memory");
	return result;
}

/*
 * INVEPT and INVVPID take a type in a register and a 128-bit descriptor in
 * memory (Intel SDM Vol. 3C, 31.3).
 */
static __always_inline u8 vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: invept %[desc], %[type]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [desc] "m" (desc), [type] "r" (type)
		     : "cc", "memory");
	return result;
}

static __always_inline u8 vmx_invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct { u64 vpid : 16, reserved : 48; u64 gva; } desc = { vpid, 0, gva };
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: invvpid %[desc], %[type]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [desc] "m" (desc), [type] "r" (type)
		     : "cc", "memory");
	return result;
}

#endif /* HVX_VMX_OPS_H */
