// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO emulation: guests in real mode, protected mode (without and with
 * paging) and long mode access the page at GUEST_MMIO, which is in no
 * memory slot, with every instruction form hvx decodes: MOV to and from
 * registers of every width (AH-BH and the REX byte registers included), of
 * immediates and through moffs, MOVZX, MOVSX, MOVSXD, STOS and MOVS with
 * and without REP and backwards (DF=1), with segment and address-size
 * prefixes.  For each one the VMM checks the KVM_EXIT_MMIO fields (address,
 * length, direction, stored data), the registers and RIP at the exit and
 * after the instruction completed (loads land in the right register with
 * the right extension; 32-bit loads zero-extend), and guest memory written
 * by MOVS.  Instructions hvx does not emulate give KVM_EXIT_INTERNAL_ERROR
 * with the emulation sub-error and the guest state unchanged (hvx only:
 * KVM's emulator handles far more).
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

/* One instruction per guest; the rest of the code area is HLT. */
#define MMIO_CODE(name, insn)	GUEST_CODE(name, insn)
/* The same, only in 64-bit code (cases limited to long mode). */
#define MMIO_CODE64(name, insn)						\
	GUEST_CODE(name, ".if GUEST_BITS == 64\n" insn "\n.endif\n")
/* An instruction not assembled for 64-bit code (e.g. 16-bit addressing). */
#define MMIO_CODE_NOT64(name, insn)					\
	GUEST_CODE(name, ".if GUEST_BITS != 64\n" insn "\n.endif\n")
/* moffs: MOVABS in 64-bit code (GAS picks ModRM forms for plain MOV). */
#define MMIO_CODE_MOFFS(name, insn, insn64)				\
	GUEST_CODE(name, ".if GUEST_BITS == 64\n" insn64 "\n.else\n"	\
		   insn "\n.endif\n")

/* Stores from registers: rBX = GUEST_MMIO + 0x10. */
MMIO_CODE(st_al, "movb %al, (%ebx)");
MMIO_CODE(st_ah, "movb %ah, (%ebx)");
MMIO_CODE(st_ch, "movb %ch, 1(%ebx)");
MMIO_CODE(st_dx, "movw %dx, 2(%ebx)");
MMIO_CODE(st_esi, "movl %esi, 4(%ebx)");
MMIO_CODE(st_es, "movl %eax, %es:8(%ebx)");
MMIO_CODE64(st_rdi, "movq %rdi, 8(%rbx)");
MMIO_CODE64(st_sil, "movb %sil, (%rbx)");
MMIO_CODE64(st_r13, "movq %r13, (%rbx)");
MMIO_CODE64(st_r9w, "movw %r9w, 6(%rbx)");
MMIO_CODE64(st_r14d_rip, "movl %r14d, 0xf01c - 0xc000 - 7(%rip)");
MMIO_CODE_NOT64(st_bx16, "movw %ax, 0x20(%bx)");
/* Stores of immediates. */
MMIO_CODE(st_imm8, "movb $0x5a, (%ebx)");
MMIO_CODE(st_imm16, "movw $0x8234, 2(%ebx)");
MMIO_CODE(st_imm32, "movl $0xdeadbeef, 4(%ebx)");
MMIO_CODE64(st_imm64, "movq $-2, 8(%rbx)");
/* moffs. */
MMIO_CODE_MOFFS(st_moffs8, "movb %al, 0xf021", "movabs %al, 0xf021");
MMIO_CODE_MOFFS(st_moffs32, "movl %eax, 0xf024", "movabs %eax, 0xf024");
MMIO_CODE64(st_moffs64, "movabs %rax, 0xf028");
MMIO_CODE_MOFFS(ld_moffs8, "movb 0xf021, %al", "movabs 0xf021, %al");
MMIO_CODE_MOFFS(ld_moffs16, "movw 0xf022, %ax", "movabs 0xf022, %ax");
MMIO_CODE_MOFFS(ld_moffs32, "movl 0xf024, %eax", "movabs 0xf024, %eax");
MMIO_CODE64(ld_moffs64, "movabs 0xf028, %rax");
/* Loads. */
MMIO_CODE(ld_al, "movb (%ebx), %al");
MMIO_CODE(ld_ah, "movb (%ebx), %ah");
MMIO_CODE(ld_dh, "movb 3(%ebx), %dh");
MMIO_CODE(ld_cx, "movw 2(%ebx), %cx");
MMIO_CODE(ld_esi, "movl 4(%ebx), %esi");
MMIO_CODE(ld_ebp_fs, "movl %fs:4(%ebx), %ebp");
MMIO_CODE64(ld_r11, "movq 8(%rbx), %r11");
MMIO_CODE64(ld_dil, "movb (%rbx), %dil");
MMIO_CODE64(ld_r12w, "movw (%rbx), %r12w");
MMIO_CODE_NOT64(ld_bx16, "movl 0x20(%bx), %edx");
/* MOVZX, MOVSX, MOVSXD. */
MMIO_CODE(ld_movzbl, "movzbl (%ebx), %edx");
MMIO_CODE(ld_movzwl, "movzwl (%ebx), %edx");
MMIO_CODE(ld_movsbl, "movsbl (%ebx), %edx");
MMIO_CODE(ld_movswl, "movswl (%ebx), %edx");
MMIO_CODE(ld_movzbw, "movzbw (%ebx), %dx");
MMIO_CODE(ld_movsbw, "movsbw (%ebx), %di");
MMIO_CODE64(ld_movsbq, "movsbq (%rbx), %r8");
MMIO_CODE64(ld_movswq, "movswq (%rbx), %r15");
MMIO_CODE64(ld_movzwq, "movzwq (%rbx), %rdx");
MMIO_CODE64(ld_movslq, "movslq (%rbx), %r10");
/* STOS to MMIO at rDI = GUEST_MMIO + 0x40. */
MMIO_CODE(stosb, "stosb");
MMIO_CODE(stosw, "stosw");
MMIO_CODE(stosl, "stosl");
MMIO_CODE64(stosq, "stosq");
MMIO_CODE(rep_stosl, "rep stosl");
MMIO_CODE(rep_stosb, "rep stosb");
MMIO_CODE(rep_stosw_a32, "rep stosw %ax, %es:(%edi)");
/* MOVS from RAM (rSI = GUEST_DATA + 0x100) to MMIO (rDI), and back. */
MMIO_CODE(movsb, "movsb");
MMIO_CODE(rep_movsl, "rep movsl");
MMIO_CODE64(rep_movsq, "rep movsq");
MMIO_CODE(movsb_fs, "movsb %fs:(%esi), %es:(%edi)");
MMIO_CODE(movsw, "movsw");
MMIO_CODE(rep_movsl_in, "rep movsl");
MMIO_CODE(rep_movsb_in, "rep movsb");
/* Not emulated by hvx (MOVS: both sides MMIO). */
MMIO_CODE(bad_add, "addl %eax, (%ebx)");
MMIO_CODE(bad_xchg, "xchgl %ecx, 4(%ebx)");
MMIO_CODE(bad_fstp, "fstps (%ebx)");
MMIO_CODE(bad_lods, "lodsb");
MMIO_CODE(bad_movs2, "movsw");

#define MODES_ALL	0xf
#define MODES_NOT_REAL	(BIT(GUEST_MODE_PROTECTED) | BIT(GUEST_MODE_PAGED) | \
			 BIT(GUEST_MODE_LONG))
#define MODES_NOT64	(BIT(GUEST_MODE_REAL) | BIT(GUEST_MODE_PROTECTED) | \
			 BIT(GUEST_MODE_PAGED))
#define MODES_64	BIT(GUEST_MODE_LONG)

enum mmio_kind { STORE, LOAD, STOS, MOVS_OUT, MOVS_IN, BAD };

/* Register encodings. */
enum {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15
};

#define MMIO_BASE	(GUEST_MMIO + 0x10)	/* rBX */
#define MMIO_STR	(GUEST_MMIO + 0x40)	/* rDI or rSI of strings */
#define RAM_STR		(GUEST_DATA + 0x100)	/* the RAM side of MOVS */
#define FS_BASE		0x1000UL
#define X86_RFLAGS_DF	BIT(10)
#define X86_RFLAGS_RF	BIT(16)		/* for the FS-override cases */
#define LOAD_DATA	0x8f9eadbccbdae9f8ULL	/* every byte has bit 7 set */

/**
 * struct mmio_case - one instruction and what it must do
 * @gpa: the (first) MMIO address accessed; @size: bytes per access.
 * @reg: STORE: the source register (-1: @imm); LOAD: the destination.
 * @high8: @reg is AH-BH.  @dst: LOAD: register width written.
 * @sign: LOAD: sign-extends.  @count: elements of a string instruction
 * (rCX for REP).  @rep, @df: REP prefix, RFLAGS.DF.  @asize: address size
 * of a string instruction in 16-bit code (2 unless an 0x67 prefix).
 */
struct mmio_case {
	const char *name;
	const struct guest_code *code;
	unsigned int modes;
	enum mmio_kind kind;
	u64 gpa;
	unsigned int size;
	int reg;
	bool high8;
	unsigned int dst;
	bool sign;
	u64 imm;
	unsigned int count;
	bool rep, df, fs;
};

#define CASEN(n, c, m, k, a, s, r)					\
	.name = n, .code = &(c), .modes = m, .kind = k, .gpa = a,	\
	.size = s, .reg = r
#define CASE(c, m, k, a, s, r)	CASEN(#c, c, m, k, a, s, r)
#define ST(c, m, a, s, r, h)	{ CASE(c, m, STORE, a, s, r), .high8 = h }
#define STI(c, m, a, s, i)	{ CASE(c, m, STORE, a, s, -1), .imm = i }
#define LD(c, m, a, s, r, h, d, x)					\
	{ CASE(c, m, LOAD, a, s, r), .high8 = h, .dst = d, .sign = x }
/* String instructions: name, code, modes, kind, size, count, REP, DF. */
#define STR(n, c, m, k, s, cnt, r, d)					\
	{ CASEN(n, c, m, k, MMIO_STR, s, -1),				\
	  .count = cnt, .rep = r, .df = d }

static const struct mmio_case cases[] = {
	ST(st_al, MODES_ALL, MMIO_BASE, 1, RAX, false),
	ST(st_ah, MODES_ALL, MMIO_BASE, 1, RAX, true),
	ST(st_ch, MODES_ALL, MMIO_BASE + 1, 1, RCX, true),
	ST(st_dx, MODES_ALL, MMIO_BASE + 2, 2, RDX, false),
	ST(st_esi, MODES_ALL, MMIO_BASE + 4, 4, RSI, false),
	ST(st_es, MODES_ALL, MMIO_BASE + 8, 4, RAX, false),
	ST(st_rdi, MODES_64, MMIO_BASE + 8, 8, RDI, false),
	ST(st_sil, MODES_64, MMIO_BASE, 1, RSI, false),
	ST(st_r13, MODES_64, MMIO_BASE, 8, R13, false),
	ST(st_r9w, MODES_64, MMIO_BASE + 6, 2, R9, false),
	ST(st_r14d_rip, MODES_64, GUEST_MMIO + 0x1c, 4, R14, false),
	ST(st_bx16, MODES_NOT64, MMIO_BASE + 0x20, 2, RAX, false),
	STI(st_imm8, MODES_ALL, MMIO_BASE, 1, 0x5a),
	STI(st_imm16, MODES_ALL, MMIO_BASE + 2, 2, 0x8234),
	STI(st_imm32, MODES_ALL, MMIO_BASE + 4, 4, 0xdeadbeef),
	STI(st_imm64, MODES_64, MMIO_BASE + 8, 8, 0xfffffffffffffffeULL),
	ST(st_moffs8, MODES_ALL, GUEST_MMIO + 0x21, 1, RAX, false),
	ST(st_moffs32, MODES_ALL, GUEST_MMIO + 0x24, 4, RAX, false),
	ST(st_moffs64, MODES_64, GUEST_MMIO + 0x28, 8, RAX, false),
	LD(ld_moffs8, MODES_ALL, GUEST_MMIO + 0x21, 1, RAX, false, 1, false),
	LD(ld_moffs16, MODES_ALL, GUEST_MMIO + 0x22, 2, RAX, false, 2, false),
	LD(ld_moffs32, MODES_ALL, GUEST_MMIO + 0x24, 4, RAX, false, 4, false),
	LD(ld_moffs64, MODES_64, GUEST_MMIO + 0x28, 8, RAX, false, 8, false),
	LD(ld_al, MODES_ALL, MMIO_BASE, 1, RAX, false, 1, false),
	LD(ld_ah, MODES_ALL, MMIO_BASE, 1, RAX, true, 1, false),
	LD(ld_dh, MODES_ALL, MMIO_BASE + 3, 1, RDX, true, 1, false),
	LD(ld_cx, MODES_ALL, MMIO_BASE + 2, 2, RCX, false, 2, false),
	LD(ld_esi, MODES_ALL, MMIO_BASE + 4, 4, RSI, false, 4, false),
	LD(ld_r11, MODES_64, MMIO_BASE + 8, 8, R11, false, 8, false),
	LD(ld_dil, MODES_64, MMIO_BASE, 1, RDI, false, 1, false),
	LD(ld_r12w, MODES_64, MMIO_BASE, 2, R12, false, 2, false),
	LD(ld_bx16, MODES_NOT64, MMIO_BASE + 0x20, 4, RDX, false, 4, false),
	LD(ld_movzbl, MODES_ALL, MMIO_BASE, 1, RDX, false, 4, false),
	LD(ld_movzwl, MODES_ALL, MMIO_BASE, 2, RDX, false, 4, false),
	LD(ld_movsbl, MODES_ALL, MMIO_BASE, 1, RDX, false, 4, true),
	LD(ld_movswl, MODES_ALL, MMIO_BASE, 2, RDX, false, 4, true),
	LD(ld_movzbw, MODES_ALL, MMIO_BASE, 1, RDX, false, 2, false),
	LD(ld_movsbw, MODES_ALL, MMIO_BASE, 1, RDI, false, 2, true),
	LD(ld_movsbq, MODES_64, MMIO_BASE, 1, R8, false, 8, true),
	LD(ld_movswq, MODES_64, MMIO_BASE, 2, R15, false, 8, true),
	LD(ld_movzwq, MODES_64, MMIO_BASE, 2, RDX, false, 8, false),
	LD(ld_movslq, MODES_64, MMIO_BASE, 4, R10, false, 8, true),
	{ CASE(ld_ebp_fs, MODES_NOT_REAL, LOAD, MMIO_BASE + 4, 4, RBP),
	  .dst = 4, .fs = true },
	STR("stosb", stosb, MODES_ALL, STOS, 1, 1, false, false),
	STR("stosw", stosw, MODES_ALL, STOS, 2, 1, false, false),
	STR("stosl", stosl, MODES_ALL, STOS, 4, 1, false, false),
	STR("stosq", stosq, MODES_64, STOS, 8, 1, false, false),
	STR("rep_stosl", rep_stosl, MODES_ALL, STOS, 4, 3, true, false),
	STR("rep_stosb_df", rep_stosb, MODES_ALL, STOS, 1, 4, true, true),
	STR("rep_stosw_a32", rep_stosw_a32, MODES_ALL, STOS, 2, 2, true, false),
	STR("movsb", movsb, MODES_ALL, MOVS_OUT, 1, 1, false, false),
	STR("rep_movsl", rep_movsl, MODES_ALL, MOVS_OUT, 4, 3, true, false),
	STR("rep_movsl_df", rep_movsl, MODES_ALL, MOVS_OUT, 4, 2, true, true),
	STR("rep_movsq", rep_movsq, MODES_64, MOVS_OUT, 8, 2, true, false),
	{ CASEN("movsb_fs", movsb_fs, MODES_NOT_REAL, MOVS_OUT, MMIO_STR, 1, -1),
	  .count = 1, .fs = true },
	STR("movsw_in", movsw, MODES_ALL, MOVS_IN, 2, 1, false, false),
	STR("rep_movsl_in", rep_movsl_in, MODES_ALL, MOVS_IN, 4, 3, true, false),
	STR("rep_movsb_in_df", rep_movsb_in, MODES_ALL, MOVS_IN, 1, 2, true, true),
	{ CASE(bad_add, MODES_ALL, BAD, MMIO_BASE, 4, -1) },
	{ CASE(bad_xchg, MODES_ALL, BAD, MMIO_BASE + 4, 4, -1) },
	{ CASE(bad_fstp, MODES_ALL, BAD, MMIO_BASE, 4, -1) },
	{ CASE(bad_lods, MODES_ALL, BAD, MMIO_STR, 1, -1) },
	{ CASE(bad_movs2, MODES_ALL, BAD, MMIO_STR, 2, -1) },
};

static u64 *reg_ptr(struct kvm_regs *r, int i)
{
	u64 *map[16] = {
		(u64 *)&r->rax, (u64 *)&r->rcx, (u64 *)&r->rdx,
		(u64 *)&r->rbx, (u64 *)&r->rsp, (u64 *)&r->rbp,
		(u64 *)&r->rsi, (u64 *)&r->rdi, (u64 *)&r->r8,
		(u64 *)&r->r9, (u64 *)&r->r10, (u64 *)&r->r11,
		(u64 *)&r->r12, (u64 *)&r->r13, (u64 *)&r->r14,
		(u64 *)&r->r15,
	};

	return map[i];
}

static size_t code_len(const struct guest_code *code, enum guest_mode mode)
{
	int i = mode == GUEST_MODE_REAL ? 0 : mode == GUEST_MODE_LONG ? 2 : 1;

	return code->end[i] - code->start[i];
}

static const unsigned char *code_bytes(const struct guest_code *code,
				       enum guest_mode mode)
{
	int i = mode == GUEST_MODE_REAL ? 0 : mode == GUEST_MODE_LONG ? 2 : 1;

	return code->start[i];
}

/* A register as an instruction of operand size @size writes it. */
static u64 reg_write(u64 old, unsigned int size, bool high8, u64 val)
{
	switch (size) {
	case 1:
		if (high8)
			return (old & ~0xff00ULL) | (val & 0xff) << 8;
		return (old & ~0xffULL) | (val & 0xff);
	case 2:
		return (old & ~0xffffULL) | (val & 0xffff);
	case 4:
		return (u32)val;
	}
	return val;
}

static u64 sext(u64 val, unsigned int size)
{
	switch (size) {
	case 1:
		return (u64)(int64_t)(int8_t)val;
	case 2:
		return (u64)(int64_t)(int16_t)val;
	case 4:
		return (u64)(int64_t)(int32_t)val;
	}
	return val;
}

static u64 size_mask(unsigned int size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* Compares the GPRs, RIP and RFLAGS; logs each difference. */
static bool regs_equal(struct __test_metadata *_metadata, const char *when,
		       struct kvm_regs *want, struct kvm_regs *got)
{
	bool ok = true;
	int i;

	for (i = 0; i < 16; i++) {
		if (*reg_ptr(want, i) != *reg_ptr(got, i)) {
			TH_LOG("%s: register %d is %#llx, expected %#llx", when, i,
			       (unsigned long long)*reg_ptr(got, i),
			       (unsigned long long)*reg_ptr(want, i));
			ok = false;
		}
	}
	if (want->rip != got->rip) {
		TH_LOG("%s: RIP is %#llx, expected %#llx", when,
		       (unsigned long long)got->rip,
		       (unsigned long long)want->rip);
		ok = false;
	}
	if (want->rflags != got->rflags) {
		TH_LOG("%s: RFLAGS is %#llx, expected %#llx", when,
		       (unsigned long long)got->rflags,
		       (unsigned long long)want->rflags);
		ok = false;
	}
	return ok;
}

FIXTURE(mmio) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_VARIANT(mmio) {
	enum guest_mode mode;
};

FIXTURE_VARIANT_ADD(mmio, real) {
	.mode = GUEST_MODE_REAL,
};

FIXTURE_VARIANT_ADD(mmio, protected) {
	.mode = GUEST_MODE_PROTECTED,
};

FIXTURE_VARIANT_ADD(mmio, paged) {
	.mode = GUEST_MODE_PAGED,
};

FIXTURE_VARIANT_ADD(mmio, long) {
	.mode = GUEST_MODE_LONG,
};

FIXTURE_SETUP(mmio)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->vm = vm_create();
	vm_setup_memory(self->vm);
	self->vcpu = vcpu_create(self->vm, 0);
}

FIXTURE_TEARDOWN(mmio)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

/*
 * Loads one case's code, puts the vCPU at its start with recognizable
 * register values (upper halves zero outside long mode) and the addresses
 * the case uses; returns the initial registers.
 */
static void case_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		       enum guest_mode mode, const struct mmio_case *c,
		       struct kvm_regs *regs)
{
	unsigned char *ram = gpa_to_hva(vm, RAM_STR - 0x40);
	u64 fs = c->fs && mode != GUEST_MODE_REAL ? FS_BASE : 0;
	unsigned int i;

	vm_load_code(vm, mode, c->code);
	vcpu_setup_mode(vcpu, mode, GUEST_CODE_GPA);
	if (fs) {
		struct kvm_sregs sregs;

		vcpu_sregs_get(vcpu, &sregs);
		sregs.fs.base = fs;
		vcpu_sregs_set(vcpu, &sregs);
	}
	for (i = 0; i < 0x80; i++)
		ram[i] = 0x11 * (i & 0xf) + (i >> 4);

	vcpu_regs_get(vcpu, regs);
	for (i = 0; i < 16; i++) {
		u64 v = 0x8070605040302010ULL + i * 0x0101010101010101ULL;

		if (i == RSP)
			continue;
		*reg_ptr(regs, i) = mode == GUEST_MODE_LONG ? v : (u32)v;
	}
	regs->rbx = MMIO_BASE - fs;
	if (c->kind == MOVS_IN) {
		regs->rsi = MMIO_STR - fs;
		regs->rdi = RAM_STR;
	} else if (c->kind == STOS || c->kind == MOVS_OUT) {
		regs->rsi = RAM_STR - fs;
		regs->rdi = MMIO_STR;
	} else if (c->kind == BAD) {
		/* LODS from MMIO; MOVS from MMIO to MMIO. */
		regs->rsi = MMIO_STR;
		regs->rdi = MMIO_STR + 0x80;
	}
	if (c->rep)
		regs->rcx = c->count;
	if (c->df)
		regs->rflags |= X86_RFLAGS_DF;
	vcpu_regs_set(vcpu, regs);
}

/* Runs one case to its HLT, checking every exit on the way. */
static void run_case(struct __test_metadata *_metadata, struct kvm_vm *vm,
		     struct kvm_vcpu *vcpu, enum guest_mode mode,
		     const struct mmio_case *c)
{
	struct kvm_run *run = vcpu->run;
	u64 fs = c->fs && mode != GUEST_MODE_REAL ? FS_BASE : 0;
	size_t len = code_len(c->code, mode);
	long step = c->df ? -(long)c->size : (long)c->size;
	struct kvm_regs want, got;
	unsigned int k;
	u64 val;

	case_setup(vm, vcpu, mode, c, &want);

	for (k = 0; k < (c->count ? c->count : 1); k++) {
		bool write = c->kind == STORE || c->kind == STOS ||
			     c->kind == MOVS_OUT;
		u64 gpa = c->gpa + k * step;
		bool last = k + 1 == (c->count ? c->count : 1);

		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason)
			TH_LOG("element %u: got %s", k, vcpu_exit_str(vcpu));
		EXPECT_EQ(gpa, run->mmio.phys_addr);
		EXPECT_EQ(c->size, run->mmio.len);
		EXPECT_EQ(write, run->mmio.is_write);

		if (write) {
			/* Stores complete before the exit. */
			if (c->kind == STORE && c->reg < 0)
				val = c->imm;
			else if (c->kind == STORE)
				val = *reg_ptr(&want, c->reg) >> (c->high8 ? 8 : 0);
			else if (c->kind == STOS)
				val = want.rax;
			else
				memcpy(&val, gpa_to_hva(vm, want.rsi + fs), 8);
			val &= size_mask(c->size);
			EXPECT_EQ(0, memcmp(run->mmio.data, &val, c->size))
				TH_LOG("element %u: data %#llx, expected %#llx", k,
				       *(unsigned long long *)run->mmio.data,
				       (unsigned long long)val);
			if (c->kind != STORE) {
				want.rdi += step;
				if (c->kind == MOVS_OUT)
					want.rsi += step;
				want.rcx -= c->rep;
			}
			/*
			 * As on KVM, a REP form stays at its RIP with RF set,
			 * even after its last element (it then runs again
			 * with rCX 0).
			 */
			if (c->rep)
				want.rflags |= X86_RFLAGS_RF;
			else
				want.rip = GUEST_CODE_GPA + len;
			vcpu_regs_get(vcpu, &got);
			EXPECT_TRUE(regs_equal(_metadata, "at the exit", &want, &got))
				TH_LOG("element %u", k);
			continue;
		}

		/* Loads: nothing changes until the data is there. */
		vcpu_regs_get(vcpu, &got);
		EXPECT_TRUE(regs_equal(_metadata, "at the exit", &want, &got))
			TH_LOG("element %u", k);
		val = (LOAD_DATA + k) & size_mask(c->size);
		memcpy(run->mmio.data, &val, c->size);
		if (c->kind == MOVS_IN) {
			/* Checked at the next exit and in RAM at the end. */
			want.rdi += step;
			want.rsi += step;
			want.rcx -= c->rep;
			/* KVM sets RF only after the last element. */
			if (!c->rep)
				want.rip = GUEST_CODE_GPA + len;
			else if (last)
				want.rflags |= X86_RFLAGS_RF;
			continue;
		}
		if (c->sign)
			val = sext(val, c->size);
		*reg_ptr(&want, c->reg) = reg_write(*reg_ptr(&want, c->reg),
						    c->dst, c->high8, val);
		want.rip = GUEST_CODE_GPA + len;
	}

	/* The instruction completed: the guest goes on to the HLT after it. */
	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_HLT, (int)run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	want.rip = GUEST_CODE_GPA + len + 1;
	want.rflags &= ~X86_RFLAGS_RF;
	vcpu_regs_get(vcpu, &got);
	EXPECT_TRUE(regs_equal(_metadata, "after the instruction", &want, &got));
	if (c->kind == MOVS_IN) {
		/* Element k went to RAM_STR + k * step. */
		for (k = 0; k < c->count; k++) {
			val = (LOAD_DATA + k) & size_mask(c->size);
			EXPECT_EQ(0, memcmp(gpa_to_hva(vm, RAM_STR + k * step),
					    &val, c->size))
				TH_LOG("element %u not in RAM", k);
		}
	}
}

/*
 * An instruction hvx does not emulate: an emulation failure that carries
 * the instruction bytes, with the guest state unchanged, again on the next
 * KVM_RUN.
 */
static void run_bad_case(struct __test_metadata *_metadata, struct kvm_vm *vm,
			 struct kvm_vcpu *vcpu, enum guest_mode mode,
			 const struct mmio_case *c)
{
	struct kvm_run *run = vcpu->run;
	size_t len = code_len(c->code, mode);
	struct kvm_regs want, got;
	int i;

	case_setup(vm, vcpu, mode, c, &want);
	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_INTERNAL_ERROR, (int)run->exit_reason)
			TH_LOG("got %s", vcpu_exit_str(vcpu));
		EXPECT_EQ((__u32)KVM_INTERNAL_ERROR_EMULATION,
			  run->emulation_failure.suberror);
		ASSERT_LE(3U, run->emulation_failure.ndata);
		EXPECT_TRUE(!!(run->emulation_failure.flags &
			       KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES));
		ASSERT_LE(len, run->emulation_failure.insn_size);
		EXPECT_EQ(0, memcmp(run->emulation_failure.insn_bytes,
				    code_bytes(c->code, mode), len));
		vcpu_regs_get(vcpu, &got);
		EXPECT_TRUE(regs_equal(_metadata, "after the failure", &want,
				       &got));
	}
}

/* Every supported form, one guest each, in this variant's mode. */
TEST_F(mmio, forms)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mmio_case *c = &cases[i];

		if (c->kind == BAD || !(c->modes & BIT(variant->mode)))
			continue;
		run_case(_metadata, self->vm, self->vcpu, variant->mode, c);
		n++;
		if (!_metadata->passed) {
			TH_LOG("case %s failed", c->name);
			return;
		}
	}
	TH_LOG("%s: %u instruction forms", guest_mode_name(variant->mode), n);
}

/* Instructions hvx does not emulate (KVM's emulator takes them). */
TEST_F(mmio, unsupported)
{
	unsigned int i;

	if (!test_device_is_hvx())
		SKIP(return, "KVM emulates these instructions");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mmio_case *c = &cases[i];

		if (c->kind != BAD)
			continue;
		run_bad_case(_metadata, self->vm, self->vcpu, variant->mode, c);
		if (!_metadata->passed) {
			TH_LOG("case %s failed", c->name);
			return;
		}
	}
}

TEST_HARNESS_MAIN
