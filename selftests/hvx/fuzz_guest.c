// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile guest code for fuzz_test: machine code emitted at run time for
 * the guest's mode (16-, 32- or 64-bit), one "family" of nasties per
 * program, with the registers and memory it needs.  See fuzz.h.
 */
#define _GNU_SOURCE
#include <string.h>

#include "fuzz.h"

struct emit {
	u8 *p;
	size_t n, max;
	enum guest_mode mode;
};

static void eb(struct emit *e, const u8 *bytes, size_t len)
{
	if (e->n + len > e->max)
		return;
	memcpy(e->p + e->n, bytes, len);
	e->n += len;
}

#define EB(e, ...)							\
	do {								\
		static const u8 __b[] = { __VA_ARGS__ };		\
		eb(e, __b, sizeof(__b));				\
	} while (0)

static void e8(struct emit *e, u8 b)
{
	eb(e, &b, 1);
}

static void e32(struct emit *e, u32 v)
{
	eb(e, (u8 *)&v, 4);
}

static u8 pick8(struct rng *r, const u8 *a, size_t n)
{
	return a[rng_below(r, n)];
}

/* One of the bytes listed, at random. */
#define PICK(r, ...)							\
	({								\
		static const u8 __a[] = { __VA_ARGS__ };		\
		pick8(r, __a, sizeof(__a));				\
	})

static bool e_long(struct emit *e)
{
	return e->mode == GUEST_MODE_LONG;
}

/* Operand-size prefix for a 32-bit operation in 16-bit code. */
static void e_op32(struct emit *e)
{
	if (e->mode == GUEST_MODE_REAL)
		e8(e, 0x66);
}

/* mov $v, %reg (32-bit; 64-bit movabs in long mode). */
static void e_mov_imm(struct emit *e, int reg, u64 v)
{
	if (e_long(e)) {
		e8(e, 0x48);
		e8(e, 0xb8 + reg);
		eb(e, (u8 *)&v, 8);
		return;
	}
	e_op32(e);
	e8(e, 0xb8 + reg);
	e32(e, v);
}

/*
 * An instruction with a memory operand at (%ebx) / (%rbx): prefix and
 * opcode bytes, then ModRM with reg.  16-bit code gets the address-size
 * prefix so that (%ebx) means the same in every mode.
 */
static void e_mem(struct emit *e, const u8 *op, size_t len, int reg)
{
	size_t i = 0;

	/* Legacy prefixes (66, F2, F3) stay before 67 and the opcode. */
	while (i < len && (op[i] == 0x66 || op[i] == 0xf2 || op[i] == 0xf3))
		e8(e, op[i++]);
	if (e->mode == GUEST_MODE_REAL)
		e8(e, 0x67);
	eb(e, op + i, len - i);
	e8(e, (reg & 7) << 3 | 3);
}

/* out %eax, $UCALL_PORT_DONE */
static void e_done(struct emit *e)
{
	e_op32(e);
	e8(e, 0xe7);
	e8(e, UCALL_PORT_DONE);
}

const char *fuzz_family_name(enum fuzz_family f)
{
	static const char * const names[FAMILIES] = {
		[FAM_RANDOM] = "random-bytes",
		[FAM_PRIV] = "privileged+vmx",
		[FAM_CR_DR_MSR] = "cr/dr/msr-writes",
		[FAM_XSETBV] = "xsetbv",
		[FAM_SEGMENTS] = "far-jumps+selectors",
		[FAM_REP_STRINGS] = "rep-strings-mmio+pio",
		[FAM_SMC] = "self-modifying-code",
		[FAM_BEYOND] = "beyond-every-slot",
		[FAM_DB_LOOP] = "#db-loop+bad-idt",
		[FAM_AC_LOOP] = "#ac-loop",
		[FAM_TRIPLE] = "triple-fault",
	};

	return f < FAMILIES ? names[f] : "?";
}

/* Privileged, VMX and other instructions that exit or fault. */
struct insn {
	u8 len;
	u8 b[5];
	signed char mem;		/* ModRM reg field of a (%ebx) operand, or -1 */
};

static const struct insn priv_insns[] = {
	{ 3, { 0xf3, 0x0f, 0xc7 }, 6 },		/* vmxon */
	{ 3, { 0x66, 0x0f, 0xc7 }, 6 },		/* vmclear */
	{ 2, { 0x0f, 0xc7 }, 6 },		/* vmptrld */
	{ 2, { 0x0f, 0xc7 }, 7 },		/* vmptrst */
	{ 3, { 0x0f, 0x01, 0xc1 }, -1 },	/* vmcall */
	{ 3, { 0x0f, 0x01, 0xc2 }, -1 },	/* vmlaunch */
	{ 3, { 0x0f, 0x01, 0xc3 }, -1 },	/* vmresume */
	{ 3, { 0x0f, 0x01, 0xc4 }, -1 },	/* vmxoff */
	{ 3, { 0x0f, 0x01, 0xd4 }, -1 },	/* vmfunc */
	{ 3, { 0x0f, 0x78, 0xc3 }, -1 },	/* vmread %eax, %ebx */
	{ 3, { 0x0f, 0x79, 0xc3 }, -1 },	/* vmwrite %ebx, %eax */
	{ 4, { 0x66, 0x0f, 0x38, 0x80 }, 0 },	/* invept */
	{ 4, { 0x66, 0x0f, 0x38, 0x81 }, 0 },	/* invvpid */
	{ 4, { 0x66, 0x0f, 0x38, 0x82 }, 0 },	/* invpcid */
	{ 2, { 0x0f, 0x37 }, -1 },		/* getsec */
	{ 2, { 0x0f, 0x33 }, -1 },		/* rdpmc */
	{ 3, { 0x0f, 0x01, 0xf9 }, -1 },	/* rdtscp */
	{ 4, { 0xf3, 0x0f, 0xc7, 0xf8 }, -1 },	/* rdpid */
	{ 3, { 0x0f, 0x01, 0xc8 }, -1 },	/* monitor */
	{ 3, { 0x0f, 0x01, 0xc9 }, -1 },	/* mwait */
	{ 2, { 0x0f, 0xc7 }, 5 },		/* xsaves */
	{ 2, { 0x0f, 0xc7 }, 3 },		/* xrstors */
	{ 2, { 0x0f, 0xae }, 4 },		/* xsave */
	{ 2, { 0x0f, 0xae }, 5 },		/* xrstor */
	{ 2, { 0x0f, 0xae }, 1 },		/* fxrstor */
	{ 2, { 0x0f, 0xae }, 2 },		/* ldmxcsr */
	{ 2, { 0x0f, 0x08 }, -1 },		/* invd */
	{ 2, { 0x0f, 0x09 }, -1 },		/* wbinvd */
	{ 2, { 0x0f, 0x01 }, 7 },		/* invlpg */
	{ 2, { 0x0f, 0x01 }, 2 },		/* lgdt */
	{ 2, { 0x0f, 0x01 }, 3 },		/* lidt */
	{ 2, { 0x0f, 0x01 }, 0 },		/* sgdt */
	{ 3, { 0x0f, 0x00, 0xd8 }, -1 },	/* ltr %ax */
	{ 3, { 0x0f, 0x00, 0xd0 }, -1 },	/* lldt %ax */
	{ 3, { 0x0f, 0x00, 0xc8 }, -1 },	/* str %ax */
	{ 3, { 0x0f, 0x01, 0xf0 }, -1 },	/* lmsw %ax */
	{ 3, { 0x0f, 0x01, 0xe0 }, -1 },	/* smsw %ax */
	{ 2, { 0x0f, 0x06 }, -1 },		/* clts */
	{ 2, { 0x0f, 0x32 }, -1 },		/* rdmsr */
	{ 2, { 0x0f, 0x30 }, -1 },		/* wrmsr */
	{ 2, { 0x0f, 0xa2 }, -1 },		/* cpuid */
	{ 3, { 0x0f, 0x01, 0xd0 }, -1 },	/* xgetbv */
	{ 3, { 0x0f, 0x01, 0xd1 }, -1 },	/* xsetbv */
	{ 1, { 0xf4 }, -1 },			/* hlt */
	{ 2, { 0xf3, 0x90 }, -1 },		/* pause */
	{ 2, { 0x0f, 0x0b }, -1 },		/* ud2 */
	{ 1, { 0xcc }, -1 },			/* int3 */
	{ 1, { 0xf1 }, -1 },			/* int1 */
	{ 2, { 0xcd, 0x80 }, -1 },		/* int $0x80 */
	{ 2, { 0x0f, 0x05 }, -1 },		/* syscall */
	{ 2, { 0x0f, 0x07 }, -1 },		/* sysret */
	{ 2, { 0x0f, 0x34 }, -1 },		/* sysenter */
	{ 2, { 0x0f, 0x35 }, -1 },		/* sysexit */
	{ 3, { 0x0f, 0x01, 0xf8 }, -1 },	/* swapgs */
	{ 2, { 0x0f, 0xaa }, -1 },		/* rsm */
	{ 3, { 0x0f, 0xc7, 0xf0 }, -1 },	/* rdrand */
	{ 2, { 0x0f, 0x31 }, -1 },		/* rdtsc */
	{ 3, { 0x0f, 0x01, 0xcf }, -1 },	/* encls */
	{ 3, { 0x0f, 0x01, 0xd7 }, -1 },	/* enclu */
	{ 3, { 0x0f, 0x01, 0xc5 }, -1 },	/* pconfig */
	{ 4, { 0x66, 0x0f, 0xae, 0xf0 }, -1 },	/* tpause %eax */
	{ 2, { 0x0f, 0xc7 }, 1 },		/* cmpxchg8b */
	{ 2, { 0xe4, 0x21 }, -1 },		/* in $0x21, %al */
	{ 1, { 0xed }, -1 },			/* in %dx, %eax */
	{ 1, { 0xee }, -1 },			/* out %al, %dx */
	{ 2, { 0x0f, 0xff }, -1 },		/* ud0 */
};

/* Registers set by the host for a program: mostly nasty values. */
static void random_regs(struct rng *r, struct kvm_regs *regs)
{
	u64 *g = &regs->rax;
	int i;

	for (i = 0; i < 16; i++)
		if (i != 4)	/* not %rsp */
			g[i] = rng_one_in(r, 2) ? rng_nasty(r) : rng_below(r, 0x10000);
}

/* An address for memory operands: guest RAM, MMIO, or beyond. */
static u64 random_addr(struct rng *r, enum guest_mode mode)
{
	static const u64 addrs[] = {
		GUEST_DATA, GUEST_MMIO, GUEST_MMIO - 2, GUEST_MMIO - 1,
		GUEST_MAIN_SIZE - 8, GUEST_HIGH, GUEST_CODE_GPA,
		GUEST_GDT, GUEST_IDT, GUEST_PML4, 0xfee00000, 0xfec00000,
		0xfffffff0, 0xa0000, 0x10000, 0xffff,
	};
	u64 a;

	if (rng_one_in(r, 4))
		a = rng_u64(r) & (mode == GUEST_MODE_LONG ? 0x7fffffffffULL :
				  0xffffffffULL);
	else
		a = addrs[rng_below(r, ARRAY_SIZE(addrs))] + rng_below(r, 16);
	if (mode == GUEST_MODE_REAL && !rng_one_in(r, 8))
		a &= 0xffff;
	return a;
}

static void gen_priv(struct emit *e, struct rng *r, struct kvm_regs *regs)
{
	int i, n = 1 + rng_below(r, 4);

	for (i = 0; i < n; i++) {
		const struct insn *in = &priv_insns[rng_below(r, ARRAY_SIZE(priv_insns))];

		if (rng_one_in(r, 2))
			e_mov_imm(e, 3, random_addr(r, e->mode));
		if (in->mem >= 0)
			e_mem(e, in->b, in->len, in->mem);
		else
			eb(e, in->b, in->len);
	}
	regs->rbx = random_addr(r, e->mode);
}

static const u32 fuzz_msrs[] = {
	0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xfe, 0x174, 0x175, 0x176,
	0x1d9, 0x200, 0x201, 0x2ff, 0x277, 0x250, 0x480, 0x48d, 0x6e0,
	0x800, 0x802, 0x808, 0x830, 0x8ff, 0xc0000080, 0xc0000081,
	0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101,
	0xc0000102, 0xc0000103, 0x4b564d00, 0x4b564d01, 0x40000000,
	0xffffffff, 0x1a0, 0x3b, 0x10a, 0xc0010000,
};

u32 fuzz_msr_index(struct rng *r)
{
	if (rng_one_in(r, 5))
		return rng_u64(r);
	return fuzz_msrs[rng_below(r, ARRAY_SIZE(fuzz_msrs))];
}

static void gen_cr_dr_msr(struct emit *e, struct rng *r)
{
	static const int crs[] = { 0, 2, 3, 4, 8 };
	int i, n = 1 + rng_below(r, 4);

	for (i = 0; i < n; i++) {
		int kind = rng_below(r, 5);
		bool cr8 = e_long(e) && !fuzz_known_bug(KNOWN_BUG_CR8_TPR);
		int cr = crs[rng_below(r, cr8 ? 5 : 4)];

		e_mov_imm(e, 0, rng_nasty(r));
		e_mov_imm(e, 2, rng_nasty(r));
		switch (kind) {
		case 0:	/* flip one bit of a control register */
			if (cr == 8)
				e8(e, 0x44);	/* REX.R */
			EB(e, 0x0f, 0x20);
			e8(e, 0xc0 | (cr & 7) << 3);		/* mov %crN, %eax */
			e_op32(e);
			EB(e, 0x35);				/* xor $imm32, %eax */
			e32(e, 1U << rng_below(r, 32));
			fallthrough;
		case 1:
			if (cr == 8)
				e8(e, 0x44);
			EB(e, 0x0f, 0x22);
			e8(e, 0xc0 | (cr & 7) << 3);		/* mov %eax, %crN */
			break;
		case 2:
			EB(e, 0x0f, 0x23);
			e8(e, 0xc0 | rng_below(r, 8) << 3);	/* mov %eax, %drN */
			break;
		case 3:
			EB(e, 0x0f, 0x21);
			e8(e, 0xc0 | rng_below(r, 8) << 3);	/* mov %drN, %eax */
			break;
		default:
			e_mov_imm(e, 1, fuzz_msr_index(r));
			if (rng_one_in(r, 3))
				EB(e, 0x0f, 0x32);		/* rdmsr */
			EB(e, 0x0f, 0x30);			/* wrmsr */
			break;
		}
	}
}

static void gen_xsetbv(struct emit *e, struct rng *r)
{
	int i, n = 1 + rng_below(r, 3);

	if (!rng_one_in(r, 4)) {
		/* CR4.OSXSAVE on first (#GP if the CPUID lacks XSAVE). */
		EB(e, 0x0f, 0x20, 0xe0);		/* mov %cr4, %eax */
		e_op32(e);
		EB(e, 0x0d);
		e32(e, 1U << 18);			/* or $OSXSAVE, %eax */
		EB(e, 0x0f, 0x22, 0xe0);		/* mov %eax, %cr4 */
	}
	for (i = 0; i < n; i++) {
		static const u64 bad[] = {
			0, 2, 4, 6, 0x7, 0x5, 0xe7, 0x3, 0x1, 0x207, 0x60003,
			0x80000003, ~0ULL, 0x100000007ULL,
		};
		u64 v = rng_one_in(r, 3) ? rng_nasty(r) :
			bad[rng_below(r, ARRAY_SIZE(bad))];

		e_mov_imm(e, 0, (u32)v);
		e_mov_imm(e, 2, v >> 32);
		e_mov_imm(e, 1, rng_one_in(r, 4) ? rng_nasty(r) : 0);
		EB(e, 0x0f, 0x01, 0xd1);		/* xsetbv */
		if (rng_one_in(r, 2)) {
			/* Use the state: xsave to the data page, vzeroupper */
			e_mov_imm(e, 3, GUEST_DATA);
			e_mem(e, (const u8[]){ 0x0f, 0xae }, 2, 4);
			EB(e, 0xc5, 0xf8, 0x77);
		}
	}
}

static void gen_segments(struct emit *e, struct rng *r, struct kvm_vm *vm,
			 struct kvm_regs *regs)
{
	static const u16 sels[] = {
		0, 3, 0x08, 0x0b, 0x10, 0x18, 0x20, 0x23, 0x28, 0x30, 0x1000,
		0xfff8, 0xffff, 0x04, 0x0c, 0x14,
	};
	u8 *data = gpa_to_hva(vm, GUEST_DATA);
	int i, n = 1 + rng_below(r, 3);

	/* Far pointers and a far-return frame in the data page. */
	for (i = 0; i < 64; i++) {
		u16 sel = rng_one_in(r, 3) ? (u16)rng_u64(r) :
			  sels[rng_below(r, ARRAY_SIZE(sels))];
		u32 off = rng_one_in(r, 2) ? GUEST_CODE_GPA + 0x1000 :
			  (u32)rng_nasty(r);

		memcpy(data + i * 8, &off, 4);
		memcpy(data + i * 8 + 4, &sel, 2);
	}
	regs->rbx = GUEST_DATA + rng_below(r, 64) * 8;
	regs->rax = rng_one_in(r, 2) ? sels[rng_below(r, ARRAY_SIZE(sels))] :
		    rng_u64(r) & 0xffff;
	for (i = 0; i < n; i++) {
		switch (rng_below(r, 7)) {
		case 0:
			e_mem(e, (const u8[]){ 0xff }, 1, 5);	/* ljmp *(%ebx) */
			break;
		case 1:
			e_mem(e, (const u8[]){ 0xff }, 1, 3);	/* lcall *(%ebx) */
			break;
		case 2:
			/* mov %ax, %ds/%es/%fs/%gs/%ss */
			e8(e, 0x8e);
			e8(e, 0xc0 | PICK(r, 3, 0, 4, 5, 2) << 3);
			break;
		case 3:
			EB(e, 0x0f, 0x00, 0xd8);		/* ltr %ax */
			break;
		case 4:
			EB(e, 0x0f, 0x00, 0xd0);		/* lldt %ax */
			break;
		case 5:
			/* lgdt/lidt from the data page: random tables */
			e_mem(e, (const u8[]){ 0x0f, 0x01 }, 2, 2 + rng_below(r, 2));
			e_mem(e, (const u8[]){ 0xff }, 1, 5);
			break;
		default:
			/* lret to a random frame */
			regs->rsp = GUEST_DATA + 0x800;
			e8(e, 0xcb);
			break;
		}
	}
}

static void gen_rep_strings(struct emit *e, struct rng *r,
			    struct kvm_regs *regs)
{
	static const u8 ops[] = {
		0x6c, 0x6d, 0x6e, 0x6f,		/* ins, outs */
		0xaa, 0xab, 0xa4, 0xa5,		/* stos, movs */
		0xac, 0xad, 0xa6, 0xae,		/* lods, cmps, scas */
	};
	static const u64 counts[] = {
		0, 1, 2, 0x10, 0x400, 0x401, 0xfff, 0x1000, 0x10000,
		0x100000, 0xffffffff, 0x7fffffff,
	};
	int i, n = 1 + rng_below(r, 3);

	for (i = 0; i < n; i++) {
		u64 count = rng_one_in(r, 3) ? rng_nasty(r) :
			    counts[rng_below(r, ARRAY_SIZE(counts))];

		e_mov_imm(e, 1, count);
		e_mov_imm(e, 6, random_addr(r, e->mode));
		e_mov_imm(e, 7, random_addr(r, e->mode));
		e_mov_imm(e, 2, rng_one_in(r, 2) ? rng_below(r, 0x10000) :
			  PICK(r, 0x80, 0xe0, 0xe4, 0xf8));
		e8(e, rng_one_in(r, 3) ? 0xfd : 0xfc);	/* std / cld */
		if (rng_one_in(r, 3))
			e8(e, 0x66);
		if (rng_one_in(r, 4))
			e8(e, 0x67);
		if (rng_one_in(r, 4))
			e8(e, PICK(r, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65));
		if (!rng_one_in(r, 4))
			e8(e, rng_one_in(r, 4) ? 0xf2 : 0xf3);
		e8(e, ops[rng_below(r, ARRAY_SIZE(ops))]);
	}
	regs->rflags |= rng_one_in(r, 4) ? BIT(10) : 0;
}

/* Patch the immediate of the e_mov_imm() emitted at offset at. */
static void e_patch_imm(struct emit *e, size_t at, u64 v)
{
	size_t off = at + (e->mode == GUEST_MODE_LONG ||
			   e->mode == GUEST_MODE_REAL ? 2 : 1);

	if (off + 4 > e->n)
		return;
	memcpy(e->p + off, &v, e->mode == GUEST_MODE_LONG ? 8 : 4);
}

static void gen_smc(struct emit *e, struct rng *r, struct kvm_vm *vm)
{
	u8 *data = gpa_to_hva(vm, GUEST_DATA);
	size_t at;

	rng_fill(r, data, 256);
	/* Make the copied bytes end in something that exits. */
	data[rng_below(r, 200) + 16] = 0xf4;
	at = e->n;
	switch (rng_below(r, 3)) {
	case 0:
		/* movl $imm, (%ebx) with %ebx at the next instruction */
		e_mov_imm(e, 3, 0);
		e_mem(e, (const u8[]){ 0xc7 }, 1, 0);
		e32(e, (u32)rng_u64(r));
		e_patch_imm(e, at, GUEST_CODE_GPA + e->n);
		break;
	case 1:
		/* rep movsb of random bytes over the code that follows */
		e_mov_imm(e, 6, GUEST_DATA);
		e_mov_imm(e, 1, 1 + rng_below(r, 256));
		at = e->n;
		e_mov_imm(e, 7, 0);
		e8(e, 0xfc);
		if (e->mode == GUEST_MODE_REAL)
			e8(e, 0x67);
		EB(e, 0xf3, 0xa4);
		e_patch_imm(e, at, GUEST_CODE_GPA + e->n);
		break;
	default:
		/* rewrite the immediate of the store itself, then go on */
		e_mov_imm(e, 3, 0);
		e_mem(e, (const u8[]){ 0xc6 }, 1, 0);	/* movb $imm, (%ebx) */
		e8(e, (u8)rng_u64(r));
		e_patch_imm(e, at, GUEST_CODE_GPA + e->n - 1);
		break;
	}
}

static void gen_beyond(struct emit *e, struct rng *r, struct kvm_regs *regs)
{
	static const struct insn mem_insns[] = {
		{ 1, { 0x8b }, 0 },		/* mov (%ebx), %eax */
		{ 1, { 0x89 }, 0 },		/* mov %eax, (%ebx) */
		{ 1, { 0x01 }, 0 },		/* add %eax, (%ebx) */
		{ 1, { 0x87 }, 0 },		/* xchg */
		{ 2, { 0xf0, 0x01 }, 0 },	/* lock add */
		{ 2, { 0x0f, 0xb1 }, 0 },	/* cmpxchg */
		{ 2, { 0x0f, 0x11 }, 0 },	/* movups %xmm0, (%ebx) */
		{ 2, { 0x0f, 0x10 }, 0 },	/* movups (%ebx), %xmm0 */
		{ 1, { 0xd9 }, 0 },		/* flds */
		{ 1, { 0xd9 }, 3 },		/* fstps */
		{ 1, { 0xff }, 6 },		/* push (%ebx) */
		{ 1, { 0x8f }, 0 },		/* pop (%ebx) */
		{ 1, { 0xff }, 4 },		/* jmp *(%ebx) */
		{ 1, { 0xc6 }, 0 },		/* movb $imm, (%ebx) (+imm) */
		{ 2, { 0x0f, 0xb6 }, 0 },	/* movzbl */
		{ 2, { 0x0f, 0xae }, 7 },	/* clflush */
		{ 1, { 0x8e }, 3 },		/* mov (%ebx), %ds */
	};
	int i, n = 1 + rng_below(r, 4);

	for (i = 0; i < n; i++) {
		e_mov_imm(e, 3, random_addr(r, e->mode));
		switch (rng_below(r, 6)) {
		case 0:
			EB(e, 0xff, 0xe3);			/* jmp *%ebx */
			break;
		case 1:
			/* push/pop on a stack outside RAM */
			e_mov_imm(e, 4, random_addr(r, e->mode));
			EB(e, 0x50, 0x58);
			break;
		default: {
			const struct insn *in = &mem_insns[rng_below(r, ARRAY_SIZE(mem_insns))];

			e_mem(e, in->b, in->len, in->mem);
			if (in->b[0] == 0xc6)
				e8(e, 0x5a);
			break;
		}
		}
	}
}

/*
 * IDT (or real-mode IVT) at GUEST_IDT whose gates are trap gates (IF is
 * kept) to handler, or broken ones; IRET at handler.
 */
static void idt_setup(struct kvm_vm *vm, struct rng *r, enum guest_mode mode,
		      struct kvm_sregs *sregs, u64 handler, u16 sel)
{
	u8 *idt = gpa_to_hva(vm, GUEST_IDT);
	int v;

	for (v = 0; v < 256; v++) {
		u64 h = handler;
		u8 type = 0x8f;		/* present, DPL 0, trap gate */

		if (rng_one_in(r, 16))
			h = random_addr(r, mode);
		if (rng_one_in(r, 32))
			type = 0x0f;	/* not present */
		if (mode == GUEST_MODE_REAL) {
			u16 w[2] = { (u16)h, 0 };

			memcpy(idt + v * 4, w, 4);
		} else if (mode == GUEST_MODE_LONG) {
			u64 g[2];

			g[0] = (h & 0xffff) | (u64)sel << 16 | (u64)type << 40 |
			       ((h >> 16) & 0xffff) << 48;
			g[1] = h >> 32;
			if (v < 128)
				memcpy(idt + v * 16, g, 16);
		} else {
			u64 g = (h & 0xffff) | (u64)sel << 16 | (u64)type << 40 |
				((h >> 16) & 0xffff) << 48;

			memcpy(idt + v * 8, &g, 8);
		}
	}
	sregs->idt.base = GUEST_IDT;
	sregs->idt.limit = 0xfff;
	switch (rng_below(r, 8)) {
	case 0:
		sregs->idt.base = GUEST_MMIO;		/* IDT outside RAM */
		break;
	case 1:
		sregs->idt.limit = rng_below(r, 0x100);
		break;
	case 2:
		sregs->idt.base = random_addr(r, mode);
		break;
	}
}

static void gen_db_loop(struct emit *e, struct rng *r, struct kvm_vm *vm,
			struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	u64 handler = GUEST_CODE_GPA + 0x1800;
	u8 *h = gpa_to_hva(vm, handler);

	/* The handler: IRET (IRETQ in long mode) straight back. */
	if (e_long(e))
		memcpy(h, (u8[]){ 0x48, 0xcf }, 2);
	else
		h[0] = 0xcf;
	idt_setup(vm, r, e->mode, sregs, handler,
		  e_long(e) ? GUEST_SEL_CODE64 : GUEST_SEL_CODE32);
	switch (rng_below(r, 4)) {
	case 0:
		/* Single-step everything: a #DB after each instruction. */
		regs->rflags |= BIT(8);
		break;
	case 1:
		/* A write breakpoint on the stack the #DB frame goes to. */
		e_mov_imm(e, 0, GUEST_STACK_TOP - 8);
		EB(e, 0x0f, 0x23, 0xc0);		/* mov %eax, %dr0 */
		e_mov_imm(e, 0, 0xd0703);		/* L0 G0, RW=01 LEN=11 */
		EB(e, 0x0f, 0x23, 0xf8);		/* mov %eax, %dr7 */
		EB(e, 0xf1);				/* int1 */
		break;
	case 2:
		/* An execute breakpoint on the handler itself. */
		e_mov_imm(e, 0, handler);
		EB(e, 0x0f, 0x23, 0xc0);
		e_mov_imm(e, 0, 0x703);
		EB(e, 0x0f, 0x23, 0xf8);
		EB(e, 0xcc);
		break;
	default:
		/* A fault whose handler returns to it: #UD, #GP, #DE loops. */
		e8(e, PICK(r, 0x0f, 0xcc, 0xf1));
		if (rng_one_in(r, 2))
			EB(e, 0x0f, 0x0b);
		break;
	}
	/* Spin with interrupts on, so that the run ends on the timer. */
	EB(e, 0xeb, 0xfe);
}

/* GDT entries for CPL 3 (0x30 code, 0x38 data, 0x40 conforming code). */
#define SEL_USER_CODE	0x33
#define SEL_USER_DATA	0x3b
#define SEL_CONFORMING	0x40

static void gen_ac_loop(struct emit *e, struct rng *r, struct kvm_vm *vm,
			struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	u64 *gdt = gpa_to_hva(vm, GUEST_GDT);
	u64 handler = GUEST_CODE_GPA + 0x1800;
	u8 l = e_long(e) ? 0xa : 0xc;
	u8 *h = gpa_to_hva(vm, handler);

	gdt[6] = 0xffffULL | 0xfbULL << 40 | 0xfULL << 48 | (u64)l << 52;
	gdt[7] = 0xffffULL | 0xf3ULL << 40 | 0xfULL << 48 | 0xcULL << 52;
	gdt[8] = 0xffffULL | 0x9fULL << 40 | 0xfULL << 48 | (u64)l << 52;
	sregs->gdt.limit = 0x47;
	h[0] = e_long(e) ? 0x48 : 0xcf;
	h[1] = 0xcf;
	idt_setup(vm, r, e->mode, sregs, handler, SEL_CONFORMING);
	if (e->mode != GUEST_MODE_REAL) {
		/* CPL 3 with CR0.AM and RFLAGS.AC, on a misaligned stack. */
		sregs->cs.selector = SEL_USER_CODE;
		sregs->cs.dpl = 3;
		sregs->ss.selector = SEL_USER_DATA;
		sregs->ss.dpl = 3;
		sregs->ss.type = 3;
		sregs->ds = sregs->ss;
		sregs->es = sregs->ss;
		sregs->cr0 |= BIT(18);
		regs->rflags |= BIT(18);
		regs->rsp = GUEST_STACK_TOP - 0x101 + rng_below(r, 3);
	}
	/* A misaligned access, then a spin with IF=1. */
	e_mov_imm(e, 3, GUEST_DATA + 1);
	e_mem(e, (const u8[]){ 0x8b }, 1, 0);
	EB(e, 0x50);					/* push %eax */
	EB(e, 0xeb, 0xfe);
}

static void gen_triple(struct emit *e, struct rng *r, struct kvm_vm *vm,
		       struct kvm_regs *regs)
{
	u8 *data = gpa_to_hva(vm, GUEST_DATA);

	memset(data, 0, 16);
	regs->rbx = GUEST_DATA;
	switch (rng_below(r, 4)) {
	case 0:
		e_mem(e, (const u8[]){ 0x0f, 0x01 }, 2, 3);	/* lidt (%ebx) */
		EB(e, 0xcc);
		break;
	case 1:
		/* A stack in no slot and an exception. */
		e_mov_imm(e, 4, GUEST_MMIO + 0x800);
		EB(e, 0x0f, 0x0b);
		break;
	case 2:
		/* CR3 to nowhere (paged and long modes). */
		e_mov_imm(e, 0, rng_one_in(r, 2) ? 0x7ffff000 : GUEST_MMIO);
		EB(e, 0x0f, 0x22, 0xd8);
		EB(e, 0x90, 0x90);
		break;
	default:
		EB(e, 0x0f, 0x0b);
		break;
	}
}

void fuzz_gen_guest(struct rng *r, struct kvm_vm *vm, enum guest_mode mode,
		    enum fuzz_family fam, struct kvm_regs *regs,
		    struct kvm_sregs *sregs)
{
	u8 *code = gpa_to_hva(vm, GUEST_CODE_GPA);
	struct emit e = {
		.p = code, .max = GUEST_CODE_MAX - 0x900, .mode = mode,
	};
	size_t i;

	memset(code, 0xf4, GUEST_CODE_MAX);
	random_regs(r, regs);
	regs->rip = GUEST_CODE_GPA;
	regs->rsp = GUEST_STACK_TOP - 0x100;
	/* IF=1 wherever a guest may spin: see DESIGN.md section 4. */
	regs->rflags = X86_RFLAGS_FIXED | X86_RFLAGS_IF;

	switch (fam) {
	case FAM_RANDOM:
		rng_fill(r, code, GUEST_CODE_MAX);
		/*
		 * No CLI, POPF or IRET: with IF=0 a spinning guest starves
		 * its CPU of host interrupts under Bochs (DESIGN.md 4).
		 */
		for (i = 0; i < GUEST_CODE_MAX; i++)
			if (code[i] == 0xfa || code[i] == 0x9d || code[i] == 0xcf)
				code[i] = 0x90;
		/* Known bug: no MOV to CR8 (nor to any CR) in 64-bit code. */
		if (mode == GUEST_MODE_LONG && fuzz_known_bug(KNOWN_BUG_CR8_TPR))
			for (i = 0; i + 1 < GUEST_CODE_MAX; i++)
				if (code[i] == 0x0f && code[i + 1] == 0x22)
					code[i + 1] = 0x90;
		return;
	case FAM_PRIV:
		gen_priv(&e, r, regs);
		break;
	case FAM_CR_DR_MSR:
		gen_cr_dr_msr(&e, r);
		break;
	case FAM_XSETBV:
		gen_xsetbv(&e, r);
		break;
	case FAM_SEGMENTS:
		gen_segments(&e, r, vm, regs);
		break;
	case FAM_REP_STRINGS:
		gen_rep_strings(&e, r, regs);
		break;
	case FAM_SMC:
		gen_smc(&e, r, vm);
		break;
	case FAM_BEYOND:
		gen_beyond(&e, r, regs);
		break;
	case FAM_DB_LOOP:
		gen_db_loop(&e, r, vm, regs, sregs);
		break;
	case FAM_AC_LOOP:
		gen_ac_loop(&e, r, vm, regs, sregs);
		break;
	default:
		gen_triple(&e, r, vm, regs);
		break;
	}
	e_done(&e);
}
