// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID and the MSRs a guest OS touches at boot: KVM_GET_SUPPORTED_CPUID,
 * KVM_SET_CPUID2 and KVM_GET_CPUID2; a guest's CPUID answered from the table
 * the VMM set (each vCPU's APIC ID in its own table), with the bits that
 * follow the vCPU's state (OSXSAVE, APIC enabled, XSAVE size); IA32_APIC_BASE
 * and the MTRRs read and written by a guest, and #GP for what a processor
 * refuses.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.  What is hvx's own
 * (its hypervisor leaves, its reset values) is checked on hvx only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/hvx.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

#define MSR_IA32_APICBASE	0x1b
#define MSR_IA32_FEAT_CTL	0x3a
#define MSR_IA32_UCODE_REV	0x8b
#define MSR_MTRRCAP		0xfe
#define MSR_MTRR_BASE0		0x200
#define MSR_MTRR_MASK0		0x201
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define MSR_X2APIC_ID		0x802

#define APIC_BASE		0xfee00000ULL
#define APIC_BSP		BIT(8)
#define APIC_EXTD		BIT(10)
#define APIC_EN			BIT(11)

/* CPUID bits. */
#define LEAF1_ECX_VMX		BIT(5)
#define LEAF1_ECX_SMX		BIT(6)
#define LEAF1_ECX_MONITOR	BIT(3)
#define LEAF1_ECX_X2APIC	BIT(21)
#define LEAF1_ECX_DEADLINE	BIT(24)
#define LEAF1_ECX_XSAVE		BIT(26)
#define LEAF1_ECX_OSXSAVE	BIT(27)
#define LEAF1_ECX_HYPERVISOR	BIT(31)
#define LEAF1_EDX_MCE		BIT(7)
#define LEAF1_EDX_APIC		BIT(9)
#define LEAF1_EDX_MCA		BIT(14)
#define X86_CR4_OSXSAVE		BIT(18)

#define IDT_GP_VECTOR		13

/* Room for any table in KVM_GET_CPUID2 (KVM allows 256 entries). */
#define TEST_MAX_ENTRIES	512

/*
 * One CPUID query of cpuid_code, in guest memory at GUEST_DATA: the guest
 * fills eax..edx.
 */
struct query {
	u32 leaf, subleaf;
	u32 eax, ebx, ecx, edx;
};

/* %edi queries at (%esi). */
GUEST_CODE(cpuid_code,
	   "1:\n"
	   "movl (%esi), %eax\n"
	   "movl 4(%esi), %ecx\n"
	   "cpuid\n"
	   "movl %eax, 8(%esi)\n"
	   "movl %ebx, 12(%esi)\n"
	   "movl %ecx, 16(%esi)\n"
	   "movl %edx, 20(%esi)\n"
	   "addl $24, %esi\n"
	   "decl %edi\n"
	   "jnz 1b\n"
	   GUEST_DONE);

/*
 * One MSR access of msr_code: RDMSR (op 0) or WRMSR (op 1) of index with
 * value; the guest stores what it read and whether it took #GP.  Op 2 runs
 * CPUID leaf index and stores ECX, EDX.  Op 3 ORs value into CR4 and
 * stores CR4.
 */
struct msr_op {
	u32 op, index;
	u64 value;
	u64 out;
	u32 fault, pad;
};

#define OP_RD		0
#define OP_WR		1
#define OP_CPUID	2
#define OP_CR4		3
#define RD(i)		{ .op = OP_RD, .index = (i) }
#define WR(i, v)	{ .op = OP_WR, .index = (i), .value = (v) }
#define CPUID_OP(l)	{ .op = OP_CPUID, .index = (l) }

/*
 * Long mode only.  The #GP handler at offset 2 (behind a short jump) skips
 * the faulting instruction (%r8 bytes: RDMSR/WRMSR 2, MOV to CR4 3) and
 * sets %ebp.  %edi ops at (%esi).
 */
GUEST_CODE(msr_code,
	   ".if GUEST_BITS == 64\n"
	   ".byte 0xeb, 2f - 1f\n"
	   "1:\n"
	   "addq $8, %rsp\n"
	   "addq %r8, (%rsp)\n"
	   "movl $1, %ebp\n"
	   "iretq\n"
	   "2:\n"
	   "xorl %ebp, %ebp\n"
	   "movl $2, %r8d\n"
	   "movl 4(%esi), %ecx\n"
	   "movl 8(%esi), %eax\n"
	   "movl 12(%esi), %edx\n"
	   "cmpl $1, (%esi)\n"
	   "je 3f\n"
	   "cmpl $2, (%esi)\n"
	   "je 4f\n"
	   "cmpl $3, (%esi)\n"
	   "je 6f\n"
	   "rdmsr\n"
	   "jmp 5f\n"
	   "3:\n"
	   "wrmsr\n"
	   "jmp 5f\n"
	   "4:\n"
	   "movl %ecx, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "movl %ecx, %eax\n"
	   "jmp 5f\n"
	   "6:\n"
	   "movq %cr4, %rbx\n"
	   "orq %rax, %rbx\n"
	   "movl $3, %r8d\n"
	   "movq %rbx, %cr4\n"
	   "movq %cr4, %rax\n"
	   "5:\n"
	   "movl %eax, 16(%esi)\n"
	   "movl %edx, 20(%esi)\n"
	   "movl %ebp, 24(%esi)\n"
	   "addl $32, %esi\n"
	   "decl %edi\n"
	   "jnz 2b\n"
	   ".endif\n"
	   GUEST_DONE);

/*
 * Long mode only: the guest sets CR4.OSXSAVE, then XCR0 = %ebx; reports
 * leaf 1 ECX before and after, then leaf 0xD.0 EBX before and after XSETBV.
 */
GUEST_CODE(osxsave_code,
	   ".if GUEST_BITS == 64\n"
	   "movl $1, %eax\n"
	   "movl %ebx, %edi\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "movl %ecx, %eax\n"
	   GUEST_REPORT
	   "movq %cr4, %rax\n"
	   "orl $0x40000, %eax\n"
	   "movq %rax, %cr4\n"
	   "movl $1, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "movl %ecx, %eax\n"
	   GUEST_REPORT
	   "movl $0xd, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "movl %ebx, %eax\n"
	   GUEST_REPORT
	   "movl %edi, %eax\n"
	   "xorl %edx, %edx\n"
	   "xorl %ecx, %ecx\n"
	   "xsetbv\n"
	   "movl $0xd, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "movl %ebx, %eax\n"
	   GUEST_REPORT
	   ".endif\n"
	   GUEST_DONE);

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      nent * sizeof(struct kvm_cpuid_entry2));

	KVM_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

/* A copy of the supported table, with room for extra entries. */
static struct kvm_cpuid2 *cpuid_copy(void)
{
	const struct kvm_cpuid2 *s = kvm_supported_cpuid();
	struct kvm_cpuid2 *c;

	KVM_ASSERT(s, "KVM_CAP_EXT_CPUID is 0");
	c = cpuid_alloc(s->nent + 8);
	c->nent = s->nent;
	memcpy(c->entries, s->entries, s->nent * sizeof(s->entries[0]));
	return c;
}

/* The entry KVM's lookup picks for leaf.subleaf, or NULL. */
static struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, u32 leaf,
				     u32 subleaf)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)
					     &c->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == subleaf))
			return e;
	}
	return NULL;
}

static void remove_leaf(struct kvm_cpuid2 *c, u32 leaf)
{
	unsigned int i, j;

	for (i = j = 0; i < c->nent; i++)
		if (c->entries[i].function != leaf)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

/*
 * The table a VMM gives vCPU id: no x2APIC (the VM has no in-kernel APIC),
 * the APIC ID in leaf 1 and 0xB, and leaf 2 removed to leave a hole.
 */
static struct kvm_cpuid2 *vmm_table(int id)
{
	struct kvm_cpuid2 *c = cpuid_copy();
	struct kvm_cpuid_entry2 *e;
	unsigned int i;

	e = find(c, 1, 0);
	KVM_ASSERT(e, "no leaf 1");
	e->ecx &= ~(LEAF1_ECX_X2APIC | LEAF1_ECX_DEADLINE);
	e->ebx = (e->ebx & 0x00ffffff) | (u32)id << 24;
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xb)
			c->entries[i].edx = id;
	remove_leaf(c, 2);
	return c;
}

/* Bits of a register the vCPU state decides, which the check ignores. */
static u32 dynamic_bits(u32 leaf, u32 subleaf, int reg)
{
	if (leaf == 1 && reg == 2)
		return LEAF1_ECX_OSXSAVE;
	if (leaf == 7 && subleaf == 0 && reg == 2)
		return BIT(4);				/* OSPKE */
	if (leaf == 0xd && subleaf <= 1 && reg == 1)
		return ~0U;				/* XSAVE size */
	return 0;
}

static void set_apic_base(struct kvm_vcpu *vcpu)
{
	vcpu_set_msr(vcpu, MSR_IA32_APICBASE,
		     APIC_BASE | APIC_EN | (vcpu->id ? 0 : APIC_BSP));
}

/* GET_SUPPORTED_CPUID: E2BIG when too small, nent updated on success. */
TEST(supported_cpuid)
{
	const struct kvm_cpuid2 *s;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *c;
	unsigned int i, n;
	bool loaded;
	int fd;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	ASSERT_EQ(1, kvm_check_cap(KVM_CAP_EXT_CPUID));
	s = kvm_supported_cpuid();
	ASSERT_NE(NULL, s);
	n = s->nent;
	ASSERT_LT(4U, n);
	fd = kvm_open();

	c = cpuid_alloc(n + 10);
	c->nent = 0;
	EXPECT_EQ(-1, ioctl(fd, KVM_GET_SUPPORTED_CPUID, c));
	EXPECT_EQ(E2BIG, errno);
	c->nent = n - 1;
	EXPECT_EQ(-1, ioctl(fd, KVM_GET_SUPPORTED_CPUID, c));
	EXPECT_EQ(E2BIG, errno);
	c->nent = n + 10;
	ASSERT_EQ(0, ioctl(fd, KVM_GET_SUPPORTED_CPUID, c));
	EXPECT_EQ(n, c->nent);
	c->nent = n;
	ASSERT_EQ(0, ioctl(fd, KVM_GET_SUPPORTED_CPUID, c));
	EXPECT_EQ(n, c->nent);
	EXPECT_EQ(0, memcmp(c->entries, s->entries, n * sizeof(*e)));

	e = find(c, 1, 0);
	ASSERT_NE(NULL, e);
	EXPECT_FALSE(!!(e->ecx & LEAF1_ECX_SMX));
	EXPECT_FALSE(!!(e->ecx & LEAF1_ECX_MONITOR));
	/*
	 * Both offer the x2APIC of their in-kernel APIC, and the TSC-deadline
	 * timer only through KVM_CAP_TSC_DEADLINE_TIMER.  KVM offers nested
	 * VMX and leaves the hypervisor bit to the VMM; hvx does neither.
	 */
	EXPECT_TRUE(!!(e->ecx & LEAF1_ECX_X2APIC));
	EXPECT_FALSE(!!(e->ecx & LEAF1_ECX_DEADLINE));
	if (test_device_is_hvx()) {
		EXPECT_TRUE(!!(e->ecx & LEAF1_ECX_HYPERVISOR));
		EXPECT_FALSE(!!(e->ecx & LEAF1_ECX_VMX));
	}
	/* Indexed leaves say so. */
	for (i = 0; i < c->nent; i++) {
		u32 f = c->entries[i].function;

		if (f == 4 || f == 7 || f == 0xb || f == 0xd)
			EXPECT_TRUE(!!(c->entries[i].flags &
				    KVM_CPUID_FLAG_SIGNIFCANT_INDEX))
				TH_LOG("leaf %#x", f);
	}
	/* No PMU: leaf 0xA, when present, says version 0. */
	e = find(c, 0xa, 0);
	if (e)
		EXPECT_EQ(0U, e->eax & 0xff);
	free(c);
	close(fd);
	test_device_release(loaded);
}

/* hvx's hypervisor leaves: signature and TSC frequency. */
TEST(hvx_leaves)
{
	const struct kvm_cpuid_entry2 *e;
	const struct kvm_cpuid2 *s;
	char sig[13] = "";
	bool loaded;

	if (!test_device_is_hvx())
		SKIP(return, "hvx's own leaves (KVM says KVMKVMKVM)");
	ASSERT_EQ(0, test_device_prepare(&loaded));
	s = kvm_supported_cpuid();
	ASSERT_NE(NULL, s);
	e = find(s, HVX_CPUID_LEAF_SIGNATURE, 0);
	ASSERT_NE(NULL, e);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	EXPECT_EQ(0, memcmp(sig, HVX_CPUID_SIGNATURE, 12)) TH_LOG("%s", sig);
	EXPECT_LE((u32)HVX_CPUID_LEAF_TIMING, e->eax);
	e = find(s, HVX_CPUID_LEAF_TIMING, 0);
	ASSERT_NE(NULL, e);
	TH_LOG("TSC %u kHz", e->eax);
	test_device_release(loaded);
}

/*
 * The nent KVM_GET_CPUID2 returns: the table's size.  Older KVM (Debian's
 * 6.1) leaves the caller's nent as it was on success, which the same client
 * must accept there.
 */
static bool nent_ok(u32 got, u32 want, u32 passed)
{
	return got == want || (!test_device_is_hvx() && got == passed);
}

/* SET_CPUID2 / GET_CPUID2 round trip, sizes and refusals. */
TEST(set_get_cpuid)
{
	struct kvm_cpuid2 *c = NULL, *got;
	struct kvm_cpuid_entry2 *e;
	struct kvm_sregs sregs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i;
	bool loaded;
	int reg;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create();
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &cpuid_code);
	/* The mode is set after KVM_SET_CPUID2: KVM wants CPUID.LM for it. */
	vcpu = vcpu_create_bare(vm, 0);

	/* No table yet: GET_CPUID2 returns none. */
	got = cpuid_alloc(TEST_MAX_ENTRIES);
	got->nent = 4;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_GET_CPUID2, got));
	EXPECT_TRUE(nent_ok(got->nent, 0, 4));

	/* Too many entries. */
	c = cpuid_alloc(257);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	EXPECT_EQ(E2BIG, errno);
	free(c);

	c = vmm_table(0);
	/* A 40-bit linear-address width is neither 48 nor 57: refused. */
	e = find(c, 0x80000008, 0);
	if (e) {
		u32 eax = e->eax;

		e->eax = (eax & ~0xff00U) | 40 << 8;
		EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
		EXPECT_EQ(EINVAL, errno);
		/* A refused table left nothing behind. */
		got->nent = TEST_MAX_ENTRIES;
		ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_GET_CPUID2, got));
		EXPECT_EQ(0U, got->nent);
		e->eax = eax;
	}
	/*
	 * Features are the VMM's to offer, as on KVM, even those the device
	 * does not report: QEMU adds MCE, MCA, MTRR and PAT to every table;
	 * here also VMX, which hvx does not give.
	 */
	e = find(c, 1, 0);
	e->ecx |= LEAF1_ECX_VMX;
	e->edx |= LEAF1_EDX_MCE | LEAF1_EDX_MCA;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	e->ecx &= ~LEAF1_ECX_VMX;

	/* CR4 bits need their CPUID feature: OSXSAVE needs XSAVE. */
	e = find(c, 1, 0);
	e->ecx &= ~LEAF1_ECX_XSAVE;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, GUEST_CODE_GPA);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 |= X86_CR4_OSXSAVE;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs));
	EXPECT_EQ(EINVAL, errno);
	e->ecx = find(kvm_supported_cpuid(), 1, 0)->ecx &
		 ~(LEAF1_ECX_X2APIC | LEAF1_ECX_DEADLINE);

	ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	got->nent = c->nent - 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_GET_CPUID2, got));
	EXPECT_EQ(E2BIG, errno);
	got->nent = TEST_MAX_ENTRIES;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_GET_CPUID2, got));
	ASSERT_TRUE(nent_ok(got->nent, c->nent, TEST_MAX_ENTRIES)) {
		TH_LOG("KVM_GET_CPUID2 nent %u, the table has %u",
		       got->nent, c->nent);
	}
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *a = &c->entries[i];
		const struct kvm_cpuid_entry2 *b = &got->entries[i];
		const u32 ra[4] = { a->eax, a->ebx, a->ecx, a->edx };
		const u32 rb[4] = { b->eax, b->ebx, b->ecx, b->edx };

		EXPECT_EQ(a->function, b->function);
		EXPECT_EQ(a->index, b->index);
		EXPECT_EQ(a->flags, b->flags);
		for (reg = 0; reg < 4; reg++) {
			u32 mask = ~dynamic_bits(a->function, a->index, reg);

			/* KVM clears APIC while IA32_APIC_BASE is 0. */
			if (a->function == 1 && reg == 3)
				mask &= ~LEAF1_EDX_APIC;
			EXPECT_EQ(ra[reg] & mask, rb[reg] & mask)
				TH_LOG("leaf %#x.%u reg %d", a->function,
				       a->index, reg);
		}
	}

	/* After KVM_RUN: the same table again, but no other. */
	*(u32 *)gpa_to_hva(vm, GUEST_DATA) = 0;
	{
		struct kvm_regs regs;

		vcpu_regs_get(vcpu, &regs);
		regs.rsi = GUEST_DATA;
		regs.rdi = 1;
		vcpu_regs_set(vcpu, &regs);
	}
	set_apic_base(vcpu);
	vcpu_run_done(vcpu);
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	c->nent--;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_CPUID2, c));
	EXPECT_EQ(EINVAL, errno);

	free(c);
	free(got);
	vm_free(vm);
	test_device_release(loaded);
}

/* Queries, as many as fit, from each leaf of a table plus a few others. */
static unsigned int make_queries(const struct kvm_cpuid2 *c,
				 struct query *q, unsigned int max)
{
	static const u32 extra[][2] = {
		{ 2, 0 }, { 4, 99 }, { 0xb, 7 }, { 0x40000000, 0 },
		{ 0x80000000, 0 },
	};
	unsigned int i, n = 0;

	for (i = 0; i < c->nent && n < max; i++) {
		q[n].leaf = c->entries[i].function;
		q[n++].subleaf = c->entries[i].index;
	}
	for (i = 0; i < ARRAY_SIZE(extra) && n < max; i++) {
		q[n].leaf = extra[i][0];
		q[n++].subleaf = extra[i][1];
	}
	/* Above the basic range: the highest basic leaf, on Intel. */
	if (n < max) {
		q[n].leaf = find(c, 0, 0)->eax + 1;
		q[n++].subleaf = 0;
	}
	return n;
}

static bool intel(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = find(c, 0, 0);

	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 &&
	       e->ecx == 0x6c65746e;
}

/* What a guest of vCPU id must see for q. */
static void expect(const struct kvm_cpuid2 *c, struct query *q, u32 want[4])
{
	const struct kvm_cpuid_entry2 *e = find(c, q->leaf, q->subleaf);
	const struct kvm_cpuid_entry2 *max;
	u32 leaf = q->leaf;

	memset(want, 0, 4 * sizeof(u32));
	if (!e && intel(c)) {
		u32 base = leaf >= 0x40000000 && leaf < 0x50000000 ?
			   leaf & 0xffffff00 : leaf & 0xc0000000;

		max = find(c, base, 0);
		if (!max || leaf > max->eax) {
			leaf = find(c, 0, 0)->eax;
			e = find(c, leaf, q->subleaf);
		}
	}
	if (e) {
		want[0] = e->eax;
		want[1] = e->ebx;
		want[2] = e->ecx;
		want[3] = e->edx;
	} else if (leaf == 0xb && find(c, 0xb, 1)) {
		want[2] = q->subleaf & 0xff;
		want[3] = find(c, 0xb, 0)->edx;
	}
	q->leaf = leaf;		/* for dynamic_bits() */
}

/*
 * Two vCPUs with their own tables run CPUID for every leaf of it and a few
 * others; each sees what its VMM set, with its own APIC ID.
 */
TEST(guest_sees_table)
{
	struct kvm_vcpu *vcpus[2];
	struct kvm_cpuid2 *c[2];
	struct query *q, *mine;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	unsigned int n, i;
	bool loaded;
	int id, reg;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create();
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &cpuid_code);
	q = gpa_to_hva(vm, GUEST_DATA);

	for (id = 0; id < 2; id++) {
		c[id] = vmm_table(id);
		vcpus[id] = vcpu_create(vm, id);
		vcpu_setup_mode(vcpus[id], GUEST_MODE_LONG, GUEST_CODE_GPA);
		vcpu_ioctl(vcpus[id], KVM_SET_CPUID2, c[id]);
		set_apic_base(vcpus[id]);
	}

	for (id = 0; id < 2; id++) {
		n = make_queries(c[id], q, GUEST_PAGE_SIZE / sizeof(*q));
		vcpu_regs_get(vcpus[id], &regs);
		regs.rsi = GUEST_DATA;
		regs.rdi = n;
		vcpu_regs_set(vcpus[id], &regs);
		vcpu_run_done(vcpus[id]);

		mine = calloc(n, sizeof(*mine));
		ASSERT_NE(NULL, mine);
		memcpy(mine, q, n * sizeof(*q));
		for (i = 0; i < n; i++) {
			const u32 got[4] = {
				mine[i].eax, mine[i].ebx, mine[i].ecx,
				mine[i].edx,
			};
			u32 want[4], subleaf = mine[i].subleaf;
			u32 asked = mine[i].leaf;

			expect(c[id], &mine[i], want);
			for (reg = 0; reg < 4; reg++) {
				u32 mask = ~dynamic_bits(mine[i].leaf,
							 subleaf, reg);

				EXPECT_EQ(want[reg] & mask, got[reg] & mask)
					TH_LOG("vCPU %d leaf %#x.%u reg %d",
					       id, asked, subleaf, reg);
			}
			/* The APIC ID is the vCPU's. */
			if (mine[i].leaf == 1)
				EXPECT_EQ((u32)id, got[1] >> 24);
			if (mine[i].leaf == 0xb && find(c[id], 0xb, 1))
				EXPECT_EQ((u32)id, got[3]);
		}
		free(mine);
	}
	free(c[0]);
	free(c[1]);
	vm_free(vm);
	test_device_release(loaded);
}

/* OSXSAVE follows CR4.OSXSAVE; leaf 0xD.0 EBX the size XCR0 needs. */
TEST(osxsave_and_xsave_size)
{
	const struct kvm_cpuid_entry2 *e, *avx;
	struct kvm_cpuid2 *c;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	u32 got[4], xcr0 = 3, size = 576;
	bool loaded;
	int i;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	c = vmm_table(0);
	e = find(c, 1, 0);
	if (!(e->ecx & LEAF1_ECX_XSAVE)) {
		free(c);
		test_device_release(loaded);
		SKIP(return, "no XSAVE");
	}
	e = find(c, 0xd, 0);
	ASSERT_NE(NULL, e);
	avx = find(c, 0xd, 2);
	if ((e->eax & 4) && avx) {
		xcr0 = 7;
		size = avx->ebx + avx->eax;
	}

	vm = vm_create_guest(GUEST_MODE_LONG, &osxsave_code, &vcpu);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
	vcpu_regs_get(vcpu, &regs);
	regs.rbx = xcr0;
	vcpu_regs_set(vcpu, &regs);
	for (i = 0; i < 4; i++)
		got[i] = vcpu_run_value(vcpu);
	vcpu_run_done(vcpu);

	EXPECT_FALSE(!!(got[0] & LEAF1_ECX_OSXSAVE));
	EXPECT_TRUE(!!(got[1] & LEAF1_ECX_OSXSAVE));
	EXPECT_EQ(576U, got[2]);
	EXPECT_EQ(size, got[3]) TH_LOG("XCR0 %#x", xcr0);
	free(c);
	vm_free(vm);
	test_device_release(loaded);
}

/*
 * A long-mode guest with a #GP handler (see msr_code) on vCPU id; with
 * the VMM's CPUID table, or with none at all (every leaf reads as zeros).
 */
static struct kvm_vcpu *__msr_guest(struct kvm_vm *vm, int id, bool cpuid)
{
	u64 handler = GUEST_CODE_GPA + 2;
	struct kvm_sregs sregs;
	struct kvm_cpuid2 *c;
	struct kvm_vcpu *vcpu;
	u32 *gate;

	KVM_ASSERT(msr_code.start[2][0] == 0xeb, "msr_code layout");
	gate = (u32 *)gpa_to_hva(vm, GUEST_IDT + IDT_GP_VECTOR * 16);
	gate[0] = (handler & 0xffff) | GUEST_SEL_CODE64 << 16;
	gate[1] = (handler & 0xffff0000) | 0x8e00;	/* present, 64-bit int gate */
	gate[2] = handler >> 32;
	gate[3] = 0;

	vcpu = cpuid ? vcpu_create(vm, id) : vcpu_create_bare(vm, id);
	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, GUEST_CODE_GPA);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.limit = 32 * 16 - 1;
	vcpu_sregs_set(vcpu, &sregs);
	if (!cpuid)
		return vcpu;
	c = vmm_table(id);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
	free(c);
	return vcpu;
}

static struct kvm_vcpu *msr_guest(struct kvm_vm *vm, int id)
{
	return __msr_guest(vm, id, true);
}

static void run_ops(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		    struct msr_op *ops, unsigned int n)
{
	struct msr_op *g = gpa_to_hva(vm, GUEST_DATA);
	struct kvm_regs regs;

	memcpy(g, ops, n * sizeof(*ops));
	vcpu_regs_get(vcpu, &regs);
	regs.rsi = GUEST_DATA;
	regs.rdi = n;
	vcpu_regs_set(vcpu, &regs);
	vcpu_run_done(vcpu);
	memcpy(ops, g, n * sizeof(*ops));
}

static unsigned int maxphyaddr(void)
{
	const struct kvm_cpuid_entry2 *e = find(kvm_supported_cpuid(),
						0x80000008, 0);

	return e ? e->eax & 0xff : 36;
}

/* APIC_BASE, MTRRs and friends from the guest, as a VMM sets them up. */
TEST(boot_msrs)
{
	const u64 on = APIC_BASE | APIC_EN | APIC_BSP;
	u64 phys, mask0;
	/* Ops 14 and 17 get their PHYSMASK0 values below. */
	struct msr_op ops[] = {
		RD(MSR_IA32_APICBASE),
		WR(MSR_IA32_APICBASE, APIC_BASE | APIC_BSP),
		RD(MSR_IA32_APICBASE),
		CPUID_OP(1),
		WR(MSR_IA32_APICBASE, on),
		CPUID_OP(1),
		WR(MSR_IA32_APICBASE, on | APIC_EXTD),	/* no x2APIC */
		WR(MSR_IA32_APICBASE, on | BIT(0)),	/* reserved */
		RD(MSR_MTRRCAP),
		WR(MSR_MTRR_DEF_TYPE, 0xc06),
		RD(MSR_MTRR_DEF_TYPE),
		WR(MSR_MTRR_DEF_TYPE, 0xc02),		/* bad type */
		WR(MSR_MTRR_DEF_TYPE, 0x1c06),		/* reserved */
		WR(MSR_MTRR_BASE0, 0x80000006),
		WR(MSR_MTRR_MASK0, 0),
		RD(MSR_MTRR_BASE0),
		RD(MSR_MTRR_MASK0),
		WR(MSR_MTRR_MASK0, 0),			/* > MAXPHYADDR */
		WR(MSR_MTRR_FIX64K, 0x0606060606060606ULL),
		RD(MSR_MTRR_FIX64K),
		WR(MSR_MTRR_FIX64K, 0x0606060606060602ULL),
		WR(MSR_IA32_UCODE_REV, 0),
		RD(MSR_IA32_UCODE_REV),
		RD(MSR_X2APIC_ID),
		RD(0xdeadbeef),
		WR(0xdeadbeef, 1),
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i;
	bool loaded;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	phys = (1ULL << maxphyaddr()) - 1;
	mask0 = (phys & ~0x7fffffffULL) | BIT(11);
	ops[14].value = mask0;
	ops[17].value = mask0 | (phys + 1);
	vm = vm_create();
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &msr_code);
	vcpu = msr_guest(vm, 0);
	set_apic_base(vcpu);
	run_ops(vm, vcpu, ops, ARRAY_SIZE(ops));

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		bool gp = i == 6 || i == 7 || i == 11 || i == 12 || i == 17 ||
			  i == 20 || i >= 23;

		EXPECT_EQ((u32)gp, ops[i].fault)
			TH_LOG("op %u: %s %#x", i,
			       ops[i].op == OP_WR ? "WRMSR" : "RDMSR",
			       ops[i].index);
	}
	EXPECT_EQ(on, ops[0].out);
	EXPECT_EQ(APIC_BASE | APIC_BSP, ops[2].out);
	/* CPUID.1:EDX.APIC follows the enable bit. */
	EXPECT_FALSE(!!((ops[3].out >> 32) & LEAF1_EDX_APIC));
	EXPECT_TRUE(!!((ops[5].out >> 32) & LEAF1_EDX_APIC));
	EXPECT_LE(1U, ops[8].out & 0xff);		/* VCNT */
	EXPECT_TRUE(!!(ops[8].out & BIT(8)));		/* fixed ranges */
	EXPECT_EQ(0xc06ULL, ops[10].out);
	EXPECT_EQ(0x80000006ULL, ops[15].out);
	EXPECT_EQ(mask0, ops[16].out);
	EXPECT_EQ(0x0606060606060606ULL, ops[19].out);

	/* The VMM reads what the guest wrote. */
	EXPECT_EQ(on, vcpu_get_msr(vcpu, MSR_IA32_APICBASE));
	EXPECT_EQ(0xc06ULL, vcpu_get_msr(vcpu, MSR_MTRR_DEF_TYPE));
	EXPECT_EQ(mask0, vcpu_get_msr(vcpu, MSR_MTRR_MASK0));
	vm_free(vm);
	test_device_release(loaded);
}

/* Machine-check MSRs (Intel SDM Vol. 3B, 16.3). */
#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(bank)	(0x400 + 4 * (bank))
#define MSR_MC_STATUS(bank)	(0x401 + 4 * (bank))
#define MCG_CTL_P		BIT(8)
#define MCG_SER_P		BIT(24)
#define MCG_TES_P		BIT(11)

/*
 * The machine-check architecture a VMM such as QEMU sets up: the bank
 * count KVM_CAP_MCE reports, KVM_X86_SETUP_MCE, then MCG and bank MSRs
 * the guest reads and clears, checked as a processor checks them.
 */
TEST(machine_check_msrs)
{
	struct msr_op ops[] = {
		RD(MSR_MCG_CAP),
		RD(MSR_MCG_CTL),
		WR(MSR_MCG_STATUS, 0),
		RD(MSR_MC_CTL(0)),
		RD(MSR_MC_STATUS(9)),			/* the VMM's value */
		WR(MSR_MC_STATUS(9), 0),		/* clearing: allowed */
		WR(MSR_MC_STATUS(9), 1),		/* anything else: #GP */
		WR(MSR_MC_CTL(0), 0),
		WR(MSR_MC_CTL(0), 5),			/* not 0 or all ones */
		RD(MSR_MC_CTL(10)),			/* no bank 10 */
		WR(MSR_MCG_CTL, 0x1234),
		WR(MSR_MCG_CAP, 10),			/* read-only */
	};
	const u64 status = 0x8000000000000000ULL | 0x17;	/* VAL */
	const u64 cap = MCG_CTL_P | MCG_SER_P | 10;
	u32 idx = MSR_MC_CTL(10);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i;
	bool loaded;
	u64 sup, v;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	ASSERT_EQ(32, kvm_check_cap(KVM_CAP_MCE));
	vm = vm_create();
	ASSERT_EQ(0, ioctl(vm->sys_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &sup));
	EXPECT_EQ(MCG_CTL_P | MCG_SER_P, sup & (MCG_CTL_P | MCG_SER_P));
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &msr_code);
	vcpu = msr_guest(vm, 0);

	/* Before KVM_X86_SETUP_MCE: every bank, no IA32_MCG_CTL. */
	EXPECT_EQ(32ULL, vcpu_get_msr(vcpu, MSR_MCG_CAP));
	/* Bad bank counts and capabilities are refused. */
	v = 0;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &v));
	EXPECT_EQ(EINVAL, errno);
	v = 33;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &v));
	EXPECT_EQ(EINVAL, errno);
	v = MCG_TES_P | 10;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &v));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(32ULL, vcpu_get_msr(vcpu, MSR_MCG_CAP));

	v = cap;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &v));
	EXPECT_EQ(cap, vcpu_get_msr(vcpu, MSR_MCG_CAP));
	/* Every error enabled. */
	EXPECT_EQ(~0ULL, vcpu_get_msr(vcpu, MSR_MCG_CTL));
	EXPECT_EQ(~0ULL, vcpu_get_msr(vcpu, MSR_MC_CTL(9)));
	EXPECT_EQ(0, __vcpu_get_msrs(vcpu, 1, &idx, &v));
	/* The VMM may set any status (QEMU restores them). */
	vcpu_set_msr(vcpu, MSR_MC_STATUS(9), status);
	vcpu_set_msr(vcpu, MSR_MCG_STATUS, 0);

	run_ops(vm, vcpu, ops, ARRAY_SIZE(ops));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		bool gp = i == 6 || i >= 8;

		EXPECT_EQ((u32)gp, ops[i].fault)
			TH_LOG("op %u: %s %#x", i,
			       ops[i].op == OP_WR ? "WRMSR" : "RDMSR",
			       ops[i].index);
	}
	EXPECT_EQ(cap, ops[0].out);
	EXPECT_EQ(~0ULL, ops[1].out);
	EXPECT_EQ(~0ULL, ops[3].out);
	EXPECT_EQ(status, ops[4].out);
	EXPECT_EQ(0ULL, vcpu_get_msr(vcpu, MSR_MC_STATUS(9)));
	EXPECT_EQ(0ULL, vcpu_get_msr(vcpu, MSR_MC_CTL(0)));
	vm_free(vm);
	test_device_release(loaded);
}

/*
 * CR4.OSXSAVE needs CPUID.XSAVE: #GP without it, allowed with it (and for
 * a vCPU whose CPUID the VMM never set, as on KVM).
 */
TEST(cr4_needs_cpuid)
{
	struct msr_op ops[] = {
		{ .op = OP_CR4, .value = X86_CR4_OSXSAVE },
		{ .op = OP_CR4, .value = 0 },
	};
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *c;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool loaded;
	int xsave;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create();
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &msr_code);
	for (xsave = 0; xsave < 2; xsave++) {
		vcpu = msr_guest(vm, xsave);
		c = vmm_table(xsave);
		e = find(c, 1, 0);
		if (!xsave)
			e->ecx &= ~LEAF1_ECX_XSAVE;
		else if (!(e->ecx & LEAF1_ECX_XSAVE))
			ops[0].value = 0;	/* no XSAVE: nothing to set */
		vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
		free(c);
		run_ops(vm, vcpu, ops, ARRAY_SIZE(ops));
		EXPECT_EQ((u32)!xsave, ops[0].fault);
		EXPECT_EQ(0U, ops[1].fault);
		EXPECT_EQ(!!ops[0].value && xsave,
			  !!(ops[1].out & X86_CR4_OSXSAVE));
	}

	/*
	 * Before the first KVM_SET_CPUID2 no CR4 bit is reserved by CPUID,
	 * as on KVM (it computes them there; its set_sregs_test sets every
	 * supported bit then): the guest's MOV to CR4 sets OSXSAVE.  hvx
	 * only: KVM 6.12 refuses the long-mode KVM_SET_SREGS of a vCPU
	 * without CPUID, which this guest needs.
	 */
	if (test_device_is_hvx()) {
		vcpu = __msr_guest(vm, 2, false);
		ops[0].value = X86_CR4_OSXSAVE;
		run_ops(vm, vcpu, ops, ARRAY_SIZE(ops));
		EXPECT_EQ(0U, ops[0].fault) TH_LOG("CR4.OSXSAVE before KVM_SET_CPUID2");
		EXPECT_EQ(0U, ops[1].fault);
		EXPECT_TRUE(!!(ops[1].out & X86_CR4_OSXSAVE));
	}
	vm_free(vm);
	test_device_release(loaded);
}

/* hvx's reset values and its stricter refusals. */
TEST(hvx_boot_msrs)
{
	struct msr_op ops[] = {
		RD(MSR_MTRR_DEF_TYPE),
		RD(MSR_MTRR_FIX64K),
		RD(MSR_IA32_FEAT_CTL),
		RD(MSR_IA32_TSC_DEADLINE),	/* no APIC: 0, as KVM */
		WR(MSR_IA32_FEAT_CTL, 5),		/* locked */
		WR(MSR_IA32_APICBASE, 0xfed00000 | APIC_EN | APIC_BSP),
		WR(MSR_IA32_APICBASE, APIC_BASE | APIC_EN),	/* BSP */
		RD(0x10a),			/* ARCH_CAPABILITIES */
	};
	static const u32 listed[] = {
		MSR_IA32_APICBASE, MSR_MTRRCAP, MSR_MTRR_DEF_TYPE,
		MSR_MTRR_BASE0, MSR_MTRR_MASK0 + 14, MSR_MTRR_FIX64K,
		MSR_IA32_UCODE_REV, MSR_IA32_TSC_DEADLINE,
	};
	struct kvm_msr_list *list;
	struct kvm_vcpu *vcpu, *ap;
	struct kvm_vm *vm;
	unsigned int i, j;
	bool loaded;
	int fd;

	if (!test_device_is_hvx())
		SKIP(return, "hvx's reset values");
	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create();
	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &msr_code);
	vcpu = msr_guest(vm, 0);
	ap = vcpu_create(vm, 1);
	EXPECT_EQ(APIC_BASE | APIC_EN | APIC_BSP,
		  vcpu_get_msr(vcpu, MSR_IA32_APICBASE));
	EXPECT_EQ(APIC_BASE | APIC_EN, vcpu_get_msr(ap, MSR_IA32_APICBASE));
	run_ops(vm, vcpu, ops, ARRAY_SIZE(ops));
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		EXPECT_EQ((u32)(i >= 4), ops[i].fault) TH_LOG("op %u", i);
	EXPECT_EQ(0xc06ULL, ops[0].out);		/* WB, enabled */
	EXPECT_EQ(0x0606060606060606ULL, ops[1].out);
	EXPECT_EQ(1ULL, ops[2].out);			/* locked */
	EXPECT_EQ(0ULL, ops[3].out);

	/* KVM_GET_MSR_INDEX_LIST names them. */
	fd = kvm_open();
	list = calloc(1, sizeof(*list) + 256 * sizeof(__u32));
	ASSERT_NE(NULL, list);
	list->nmsrs = 256;
	ASSERT_EQ(0, ioctl(fd, KVM_GET_MSR_INDEX_LIST, list));
	for (i = 0; i < ARRAY_SIZE(listed); i++) {
		bool found = false;

		for (j = 0; j < list->nmsrs; j++)
			found |= list->indices[j] == listed[i];
		EXPECT_TRUE(found) TH_LOG("MSR %#x", listed[i]);
	}
	free(list);
	close(fd);
	vm_free(vm);
	test_device_release(loaded);
}

TEST_HARNESS_MAIN
