/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: typed VMCS accessors.
 *
 * The field encodings come from <asm/vmx.h>.  Bits 14:13 of an encoding give
 * the field's width (Intel SDM Vol. 3C, 25.11.2 "VMREAD, VMWRITE, and
 * Encodings of VMCS Fields"); each accessor checks at compile time that it
 * is used on a field of its width.
 */
#ifndef HVX_VMX_VMCS_H
#define HVX_VMX_VMCS_H

#include <linux/build_bug.h>
#include <linux/types.h>
#include <asm/vmx.h>

#include "vmx_ops.h"

#define VMCS_FIELD_WIDTH(field)	(((field) >> 13) & 3)
#define VMCS_WIDTH_16		0
#define VMCS_WIDTH_64		1
#define VMCS_WIDTH_32		2
#define VMCS_WIDTH_NATURAL	3

static __always_inline void vmcs_check_width(unsigned long field,
					     unsigned int width)
{
	BUILD_BUG_ON_MSG(__builtin_constant_p(field) &&
			 (VMCS_FIELD_WIDTH(field) != width || (field & 1)),
			 "VMCS field accessed with the wrong width");
}

static __always_inline unsigned long __vmcs_read(unsigned long field)
{
	unsigned long value = 0;
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmread %[field], %[value]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r" (value), [result] "+q" (result)
		     : [field] "r" (field)
		     : "cc");
	if (unlikely(result != VMX_INSN_OK))
		vmx_insn_failed("VMREAD", field, result);
	return value;
}

static __always_inline void __vmcs_write(unsigned long field,
					 unsigned long value)
{
	u8 result = VMX_INSN_FAULTED;

	asm volatile("1: vmwrite %[value], %[field]\n\t"
		     "setna %[result]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [result] "+q" (result)
		     : [value] "rm" (value), [field] "r" (field)
		     : "cc", "memory");
	if (unlikely(result != VMX_INSN_OK))
		vmx_insn_failed("VMWRITE", field, result);
}

static __always_inline u16 vmcs_read16(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	return __vmcs_read(field);
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	return __vmcs_read(field);
}

static __always_inline u64 vmcs_read64(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	return __vmcs_read(field);
}

static __always_inline unsigned long vmcs_readl(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	return __vmcs_read(field);
}

static __always_inline void vmcs_write16(unsigned long field, u16 value)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_write32(unsigned long field, u32 value)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_write64(unsigned long field, u64 value)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_writel(unsigned long field,
					unsigned long value)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	__vmcs_write(field, value);
}

#endif /* HVX_VMX_VMCS_H */
