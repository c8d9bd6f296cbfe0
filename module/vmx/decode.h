/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the decoder of the instructions that access MMIO.
 *
 * Pure: it looks at instruction bytes and the code size, nothing else, so
 * that the same file builds into hvx.ko and into a host unit test
 * (selftests/host/decode_test.c) that checks it against real instruction
 * bytes.
 */
#ifndef HVX_VMX_DECODE_H
#define HVX_VMX_DECODE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <linux/types.h>
typedef __u8 u8;
typedef __s8 s8;
typedef __u64 u64;
#endif

/* Segment registers, in the order of the VMCS guest-segment fields. */
#define HVX_SEG_ES	0
#define HVX_SEG_CS	1
#define HVX_SEG_SS	2
#define HVX_SEG_DS	3
#define HVX_SEG_FS	4
#define HVX_SEG_GS	5

/**
 * enum hvx_insn_op - what a decoded instruction does with memory
 * @HVX_INSN_LOAD:	MOV, MOVZX, MOVSX, MOVSXD from memory into @reg.
 * @HVX_INSN_STORE:	MOV to memory from @reg, or of @imm when @reg is -1.
 * @HVX_INSN_STOS:	STOS: AL/AX/EAX/RAX to ES:rDI.
 * @HVX_INSN_MOVS:	MOVS: from seg:rSI to ES:rDI.
 */
enum hvx_insn_op {
	HVX_INSN_LOAD = 1,
	HVX_INSN_STORE,
	HVX_INSN_STOS,
	HVX_INSN_MOVS,
};

/**
 * struct hvx_insn - a decoded instruction
 * @len:	instruction length in bytes.
 * @op:		an enum hvx_insn_op.
 * @size:	bytes accessed in memory (the element size for STOS/MOVS).
 * @dst_size:	for a load, the width of the register written: 1, 2, 4 (the
 *		upper 32 bits cleared, as the processor does) or 8; else 0.
 * @asize:	address size in bytes (2, 4, 8): rSI, rDI and rCX width.
 * @seg:	the segment override (HVX_SEG_*), or DS without one or where
 *		64-bit code ignores it: the source segment of MOVS.
 * @reg:	register operand by its encoding (0 = rAX ... 15 = R15), -1 for
 *		an immediate or none.
 * @high8:	@reg is AH, CH, DH or BH (encodings 4-7 without REX).
 * @sign:	for a load, sign-extend (MOVSX, MOVSXD); else zero-extend.
 * @rep:	a REP prefix on STOS or MOVS.
 * @imm:	the immediate stored, already extended to @size.
 */
struct hvx_insn {
	u8 len;
	u8 op;
	u8 size;
	u8 dst_size;
	u8 asize;
	u8 seg;
	s8 reg;
	bool high8;
	bool sign;
	bool rep;
	u64 imm;
};

int hvx_decode_insn(const u8 *p, unsigned int avail, unsigned int code_size,
		    struct hvx_insn *in);

#endif /* HVX_VMX_DECODE_H */
