// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: decoding the instructions that access MMIO.
 *
 * An EPT violation on a guest-physical address outside every memory slot
 * tells neither the access size nor the direction nor the register; the
 * instruction does.  Only the forms compilers and kernels emit for device
 * accesses are accepted (Intel SDM Vol. 2, chapter 2 for the encoding):
 *
 *   88/89/8A/8B	MOV r/m, r and MOV r, r/m (all widths)
 *   C6 /0, C7 /0	MOV r/m, imm8/16/32 (imm32 sign-extended with REX.W)
 *   A0-A3		MOV between AL/rAX and a moffs of the address size
 *   0F B6/B7, 0F BE/BF	MOVZX, MOVSX from r/m8 and r/m16
 *   63 (64-bit code)	MOVSXD r, r/m32
 *   AA/AB, A4/A5	STOS, MOVS, with or without REP (F3)
 *
 * with the operand-size (66), address-size (67) and segment prefixes and
 * REX.  Everything else fails with -EINVAL, including LOCK and F2/F3 on a
 * non-string instruction, a register (mod 3) operand and a truncated
 * instruction: the caller reports an emulation failure rather than guess.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "decode.h"

#define HVX_INSN_MAX_LEN	15

/* Bytes of ModRM, SIB and displacement after the opcode, or -EINVAL. */
static int hvx_modrm_len(const u8 *p, unsigned int avail, unsigned int asize)
{
	unsigned int mod, rm, len = 1;

	if (!avail)
		return -EINVAL;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 3)
		return 1;
	if (asize == 2) {
		/* 16-bit addressing has no SIB; [disp16] is mod 0, rm 6. */
		if (mod == 0 && rm == 6)
			return 3;
		return 1 + mod;
	}
	if (rm == 4) {
		if (avail < 2)
			return -EINVAL;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		/* disp32, or RIP + disp32 in 64-bit code. */
		len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/* A little-endian immediate of @size bytes, sign-extended from 32 bits. */
static u64 hvx_imm(const u8 *p, unsigned int size)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < size && i < 4; i++)
		v |= (u64)p[i] << (8 * i);
	if (size == 8 && (v & 0x80000000u))
		v |= 0xffffffff00000000ull;
	return v;
}

/**
 * hvx_decode_insn() - decode an instruction that may access MMIO
 * @p: the instruction bytes, from its first prefix.
 * @avail: how many bytes @p holds (fewer than 15 at the end of a fetch).
 * @code_size: 2, 4 or 8: the default operand and address size of the code
 *	segment (real mode and 16-bit code: 2; 32-bit: 4; 64-bit code: 8,
 *	whose default operand size is 4).
 * @in: the result.
 *
 * Return: 0, or -EINVAL for an instruction that is not one of the
 * supported forms, or is longer than @avail.
 */
int hvx_decode_insn(const u8 *p, unsigned int avail, unsigned int code_size,
		    struct hvx_insn *in)
{
	bool long_mode = code_size == 8;
	unsigned int osize = code_size == 2 ? 2 : 4;
	unsigned int asize = code_size;
	unsigned int i, op, rex = 0, reg, imm_size;
	bool rep = false, repne = false, lock = false, rex_ok;
	int seg = -1, mlen;

	*in = (struct hvx_insn){ .reg = -1 };
	if (avail > HVX_INSN_MAX_LEN)
		avail = HVX_INSN_MAX_LEN;

	/*
	 * Prefixes: legacy ones in any order; REX counts only right before
	 * the opcode (SDM Vol. 2, 2.2.1).
	 */
	for (i = 0; i < avail; i++) {
		u8 b = p[i];

		rex_ok = false;
		switch (b) {
		case 0x66:
			osize = code_size == 2 ? 4 : 2;
			break;
		case 0x67:
			asize = code_size == 4 ? 2 : 4;
			break;
		case 0x26:
			seg = HVX_SEG_ES;
			break;
		case 0x2e:
			seg = HVX_SEG_CS;
			break;
		case 0x36:
			seg = HVX_SEG_SS;
			break;
		case 0x3e:
			seg = HVX_SEG_DS;
			break;
		case 0x64:
			seg = HVX_SEG_FS;
			break;
		case 0x65:
			seg = HVX_SEG_GS;
			break;
		case 0xf0:
			lock = true;
			break;
		case 0xf2:
			repne = true;
			break;
		case 0xf3:
			rep = true;
			break;
		default:
			if (long_mode && (b & 0xf0) == 0x40) {
				rex = b;
				rex_ok = true;
				break;
			}
			goto opcode;
		}
		if (!rex_ok)
			rex = 0;
	}
	return -EINVAL;

opcode:
	if (lock || repne)
		return -EINVAL;
	/* In 64-bit code, ES, CS, SS and DS overrides are ignored. */
	if (seg < 0 || (long_mode && seg != HVX_SEG_FS && seg != HVX_SEG_GS))
		seg = HVX_SEG_DS;
	if (rex & 8)
		osize = 8;

	op = p[i++];
	if (op == 0x0f) {
		if (i >= avail)
			return -EINVAL;
		op = 0x100 | p[i++];
	}

	in->seg = seg;
	in->asize = asize;

	switch (op) {
	case 0xa4: case 0xa5:	/* MOVS */
	case 0xaa: case 0xab:	/* STOS */
		in->op = op >= 0xaa ? HVX_INSN_STOS : HVX_INSN_MOVS;
		in->size = op & 1 ? osize : 1;
		in->reg = op >= 0xaa ? 0 : -1;
		in->rep = rep;
		in->len = i;
		return 0;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		/* MOV between AL/rAX and a moffs of the address size. */
		if (rep || i + asize > avail)
			return -EINVAL;
		in->op = op >= 0xa2 ? HVX_INSN_STORE : HVX_INSN_LOAD;
		in->size = op & 1 ? osize : 1;
		in->dst_size = op < 0xa2 ? in->size : 0;
		in->reg = 0;
		in->len = i + asize;
		return 0;
	case 0x88: case 0x89: case 0x8a: case 0x8b:
	case 0xc6: case 0xc7:
	case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
		break;
	case 0x63:
		/* ARPL outside 64-bit code. */
		if (long_mode)
			break;
		return -EINVAL;
	default:
		return -EINVAL;
	}
	if (rep)
		return -EINVAL;

	mlen = hvx_modrm_len(p + i, avail - i, asize);
	if (mlen < 0 || (p[i] >> 6) == 3 || i + mlen > avail)
		return -EINVAL;
	reg = ((p[i] >> 3) & 7) | (rex & 4 ? 8 : 0);
	i += mlen;

	switch (op) {
	case 0x88:	/* MOV r/m8, r8 */
	case 0x8a:	/* MOV r8, r/m8 */
		in->op = op == 0x88 ? HVX_INSN_STORE : HVX_INSN_LOAD;
		in->size = 1;
		in->dst_size = op == 0x8a ? 1 : 0;
		in->reg = reg;
		/* Without REX, encodings 4-7 are AH, CH, DH, BH. */
		if (!rex && reg >= 4) {
			in->reg = reg - 4;
			in->high8 = true;
		}
		break;
	case 0x89:	/* MOV r/m, r */
	case 0x8b:	/* MOV r, r/m */
		in->op = op == 0x89 ? HVX_INSN_STORE : HVX_INSN_LOAD;
		in->size = osize;
		in->dst_size = op == 0x8b ? osize : 0;
		in->reg = reg;
		break;
	case 0xc6:	/* MOV r/m8, imm8 */
	case 0xc7:	/* MOV r/m, imm16/32 */
		if (reg & 7)
			return -EINVAL;
		in->op = HVX_INSN_STORE;
		in->size = op == 0xc6 ? 1 : osize;
		imm_size = in->size > 4 ? 4 : in->size;
		if (i + imm_size > avail)
			return -EINVAL;
		in->imm = hvx_imm(p + i, in->size);
		i += imm_size;
		break;
	case 0x63:	/* MOVSXD r, r/m32 (a plain load without REX.W) */
		in->op = HVX_INSN_LOAD;
		in->size = osize == 8 ? 4 : osize;
		in->dst_size = osize;
		in->sign = osize == 8;
		in->reg = reg;
		break;
	default:	/* MOVZX, MOVSX r, r/m8 or r/m16 */
		in->op = HVX_INSN_LOAD;
		in->size = op & 1 ? 2 : 1;
		in->dst_size = osize;
		in->sign = op >= 0x1be;
		in->reg = reg;
		break;
	}
	in->len = i;
	return 0;
}
