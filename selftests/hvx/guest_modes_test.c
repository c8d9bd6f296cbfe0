// SPDX-License-Identifier: GPL-2.0
/*
 * Guests in each x86 mode (real, protected without paging, 32-bit paging,
 * long mode) exercise the exits a VMM sees: port I/O (plain and string),
 * MMIO outside every slot, HLT, CPUID (handled in the kernel), MSRs (from
 * the guest and from the VMM), a triple fault; then the VMM's rejections
 * of invalid state.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

/* Port and MMIO accesses of every width, then reads echoed back. */
GUEST_CODE(code_port_io,
	   "movb $0x5a, %al\n"
	   "outb %al, $0x80\n"
	   "movw $0x1234, %ax\n"
	   "movw $0x3f8, %dx\n"
	   "outw %ax, %dx\n"
	   "movl $0xdeadbeef, %eax\n"
	   "outl %eax, $0x84\n"
	   "inb $0x80, %al\n"
	   "movzbl %al, %eax\n"
	   GUEST_REPORT
	   "inw %dx, %ax\n"
	   "movzwl %ax, %eax\n"
	   GUEST_REPORT
	   "inl $0x84, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE);

/*
 * String I/O on port 0x3f8: OUTSB, REP OUTSB (5), INSB, REP INSB (6) with
 * %esi and %edi set by the host; then %esi, %edi and %ecx.
 */
GUEST_CODE(code_string_io,
	   "cld\n"
	   "movw $0x3f8, %dx\n"
	   "outsb\n"
	   "movl $5, %ecx\n"
	   "rep outsb\n"
	   "insb\n"
	   "movl $6, %ecx\n"
	   "rep insb\n"
	   "movl %esi, %eax\n"
	   GUEST_REPORT
	   "movl %edi, %eax\n"
	   GUEST_REPORT
	   "movl %ecx, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE);

/* MMIO at %ebx (GUEST_MMIO): writes, then reads echoed back. */
GUEST_CODE(code_mmio,
	   "movb $0x5a, (%ebx)\n"
	   "movw $0x1234, 2(%ebx)\n"
	   "movl $0xdeadbeef, 4(%ebx)\n"
	   ".if GUEST_BITS == 64\n"
	   "movabsq $0x0123456789abcdef, %rax\n"
	   "movq %rax, 8(%rbx)\n"
	   ".endif\n"
	   "movzbl (%ebx), %eax\n"
	   GUEST_REPORT
	   "movzwl 2(%ebx), %eax\n"
	   GUEST_REPORT
	   "movl 4(%ebx), %eax\n"
	   GUEST_REPORT
	   ".if GUEST_BITS == 64\n"
	   "movq 8(%rbx), %rax\n"
	   GUEST_REPORT
	   "shrq $32, %rax\n"
	   GUEST_REPORT
	   ".endif\n"
	   GUEST_DONE);

GUEST_CODE(code_hlt,
	   "hlt\n"
	   "movl $0x600d, %eax\n"
	   GUEST_REPORT
	   "hlt\n"
	   GUEST_DONE);

/* CPUID leaf 0 (eax, ebx, ecx, edx), then leaf 1's eax. */
GUEST_CODE(code_cpuid,
	   "xorl %eax, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   GUEST_REPORT
	   "movl %ebx, %eax\n"
	   GUEST_REPORT
	   "movl %ecx, %eax\n"
	   GUEST_REPORT
	   "movl %edx, %eax\n"
	   GUEST_REPORT
	   "movl $1, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   GUEST_REPORT
	   GUEST_DONE);

#define GUEST_RDMSR(msr)						\
	"movl $" KVM_STR(msr) ", %ecx\n"				\
	"rdmsr\n"							\
	GUEST_REPORT							\
	"movl %edx, %eax\n"						\
	GUEST_REPORT
#define GUEST_WRMSR(msr, hi, lo)					\
	"movl $" KVM_STR(msr) ", %ecx\n"				\
	"movl $" #lo ", %eax\n"						\
	"movl $" #hi ", %edx\n"						\
	"wrmsr\n"

/* The MSR values the VMM sets and those the guest writes. */
#define VMM_SYSENTER_CS		0x1234ULL
#define VMM_STAR		0x0013000800000000ULL
#define VMM_LSTAR		0xffffffff81000000ULL
#define VMM_KERNEL_GS_BASE	0xffff888012345000ULL
#define GUEST_SYSENTER_CS	0x5678ULL
#define GUEST_STAR		0x0023001000000000ULL
#define GUEST_LSTAR		0x00007fffdeadb000ULL
#define GUEST_KERNEL_GS_BASE	0x00000000cafe0000ULL

/* Read the VMM's values, write the guest's, read those back. */
GUEST_CODE(code_msr,
	   GUEST_RDMSR(MSR_IA32_SYSENTER_CS)
	   GUEST_RDMSR(MSR_STAR)
	   GUEST_RDMSR(MSR_LSTAR)
	   GUEST_RDMSR(MSR_KERNEL_GS_BASE)
	   GUEST_WRMSR(MSR_IA32_SYSENTER_CS, 0, 0x5678)
	   GUEST_WRMSR(MSR_STAR, 0x00230010, 0)
	   GUEST_WRMSR(MSR_LSTAR, 0x00007fff, 0xdeadb000)
	   GUEST_WRMSR(MSR_KERNEL_GS_BASE, 0, 0xcafe0000)
	   GUEST_RDMSR(MSR_IA32_SYSENTER_CS)
	   GUEST_RDMSR(MSR_STAR)
	   GUEST_RDMSR(MSR_LSTAR)
	   GUEST_RDMSR(MSR_KERNEL_GS_BASE)
	   GUEST_DONE);

/* With no usable IDT, #UD becomes #DF, then a triple fault. */
GUEST_CODE(code_triple_fault,
	   "ud2\n"
	   GUEST_FAIL);

/* CR0, CR3, CR4 and EFER as the guest sees them. */
GUEST_CODE(code_mode_state,
	   ".if GUEST_BITS == 64\n"
	   "movq %cr0, %rax\n"
	   ".else\n"
	   "movl %cr0, %eax\n"
	   ".endif\n"
	   GUEST_REPORT
	   ".if GUEST_BITS == 64\n"
	   "movq %cr3, %rax\n"
	   ".else\n"
	   "movl %cr3, %eax\n"
	   ".endif\n"
	   GUEST_REPORT
	   ".if GUEST_BITS == 64\n"
	   "movq %cr4, %rax\n"
	   ".else\n"
	   "movl %cr4, %eax\n"
	   ".endif\n"
	   GUEST_REPORT
	   "movl $" KVM_STR(MSR_EFER) ", %ecx\n"
	   "rdmsr\n"
	   GUEST_REPORT
	   GUEST_DONE);

FIXTURE(guest) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_VARIANT(guest) {
	enum guest_mode mode;
};

FIXTURE_VARIANT_ADD(guest, real) {
	.mode = GUEST_MODE_REAL,
};

FIXTURE_VARIANT_ADD(guest, protected) {
	.mode = GUEST_MODE_PROTECTED,
};

FIXTURE_VARIANT_ADD(guest, paged) {
	.mode = GUEST_MODE_PAGED,
};

FIXTURE_VARIANT_ADD(guest, long) {
	.mode = GUEST_MODE_LONG,
};

FIXTURE_SETUP(guest)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(guest)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

/* Run and expect one KVM_EXIT_IO; return its data. */
static void *run_expect_io(struct __test_metadata *_metadata,
			   struct kvm_vcpu *vcpu, int direction, int size,
			   int port)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_IO, (int)run->exit_reason);
	EXPECT_EQ(direction, run->io.direction);
	EXPECT_EQ(size, run->io.size);
	EXPECT_EQ(port, run->io.port);
	EXPECT_EQ(1U, run->io.count);
	if (!_metadata->passed)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	return vcpu_io_data(vcpu);
}

/* Run and expect one KVM_EXIT_MMIO. */
static void run_expect_mmio(struct __test_metadata *_metadata,
			    struct kvm_vcpu *vcpu, bool write, int len,
			    u64 gpa)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason);
	EXPECT_EQ(write, run->mmio.is_write);
	EXPECT_EQ(len, (int)run->mmio.len);
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	if (!_metadata->passed)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
}

TEST_F(guest, port_io)
{
	u8 b;
	u16 w;
	u32 l;
	void *data;

	self->vm = vm_create_guest(variant->mode, &code_port_io, &self->vcpu);

	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_OUT, 1, 0x80);
	memcpy(&b, data, 1);
	EXPECT_EQ(0x5a, b);
	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_OUT, 2, 0x3f8);
	memcpy(&w, data, 2);
	EXPECT_EQ(0x1234, w);
	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_OUT, 4, 0x84);
	memcpy(&l, data, 4);
	EXPECT_EQ(0xdeadbeef, l);
	TH_LOG("%s: io.data_offset %#llx, mmap size %d", guest_mode_name(variant->mode),
	       (unsigned long long)self->vcpu->run->io.data_offset,
	       self->vcpu->run_size);

	/* IN: the VMM writes the data where KVM_EXIT_IO points. */
	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_IN, 1, 0x80);
	b = 0xa5;
	memcpy(data, &b, 1);
	EXPECT_EQ(0xa5U, vcpu_run_value(self->vcpu));
	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_IN, 2, 0x3f8);
	w = 0xbeef;
	memcpy(data, &w, 2);
	EXPECT_EQ(0xbeefU, vcpu_run_value(self->vcpu));
	data = run_expect_io(_metadata, self->vcpu, KVM_EXIT_IO_IN, 4, 0x84);
	l = 0xfeedf00d;
	memcpy(data, &l, 4);
	EXPECT_EQ(0xfeedf00dU, vcpu_run_value(self->vcpu));
	vcpu_run_done(self->vcpu);
}

/*
 * Take string I/O exits on port 0x3f8 until want bytes have moved; KVM may
 * report a REP string instruction as one exit per element or as fewer exits
 * with io.count > 1.  Returns the number of exits.
 */
static int string_io(struct __test_metadata *_metadata,
		     struct kvm_vcpu *vcpu, int direction, u8 *buf,
		     int want, char *counts, size_t counts_size)
{
	struct kvm_run *run = vcpu->run;
	int done = 0, exits = 0, n = 0;

	while (done < want) {
		vcpu_run(vcpu);
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != direction || run->io.size != 1 ||
		    run->io.port != 0x3f8 || run->io.count < 1 ||
		    done + (int)run->io.count > want) {
			TH_LOG("byte %d of %d: unexpected %s", done, want,
			       vcpu_exit_str(vcpu));
			EXPECT_TRUE(false);
			return exits;
		}
		if (direction == KVM_EXIT_IO_OUT)
			memcpy(buf + done, vcpu_io_data(vcpu), run->io.count);
		else
			memcpy(vcpu_io_data(vcpu), buf + done, run->io.count);
		done += run->io.count;
		exits++;
		if (n < (int)counts_size)
			n += snprintf(counts + n, counts_size - n, " %u",
				      run->io.count);
	}
	return exits;
}

TEST_F(guest, string_io)
{
	static const char out[] = "hvx-st";
	static const u8 in[] = { 1, 2, 3, 4, 5, 6, 7 };
	u8 got[8] = { 0 };
	struct kvm_regs regs;
	char counts[128] = "";
	u8 *data;

	self->vm = vm_create_guest(variant->mode, &code_string_io,
				   &self->vcpu);
	data = gpa_to_hva(self->vm, GUEST_DATA);
	memcpy(data, out, 6);
	vcpu_regs_get(self->vcpu, &regs);
	regs.rsi = GUEST_DATA;
	regs.rdi = GUEST_DATA + 0x100;
	vcpu_regs_set(self->vcpu, &regs);

	/* OUTSB, then REP OUTSB of 5: 6 bytes out. */
	string_io(_metadata, self->vcpu, KVM_EXIT_IO_OUT, got, 6,
		  counts, sizeof(counts));
	EXPECT_EQ(0, memcmp(got, out, 6));
	TH_LOG("%s: OUTSB + REP OUTSB x5: io.count per exit:%s",
	       guest_mode_name(variant->mode), counts);

	/* INSB, then REP INSB of 6: 7 bytes in. */
	counts[0] = '\0';
	string_io(_metadata, self->vcpu, KVM_EXIT_IO_IN, (u8 *)in, 7,
		  counts, sizeof(counts));
	TH_LOG("%s: INSB + REP INSB x6: io.count per exit:%s",
	       guest_mode_name(variant->mode), counts);
	ASSERT_TRUE(_metadata->passed);

	EXPECT_EQ(GUEST_DATA + 6, vcpu_run_value(self->vcpu));		/* esi */
	EXPECT_EQ(GUEST_DATA + 0x107, vcpu_run_value(self->vcpu));	/* edi */
	EXPECT_EQ(0U, vcpu_run_value(self->vcpu));			/* ecx */
	vcpu_run_done(self->vcpu);
	EXPECT_EQ(0, memcmp(data + 0x100, in, 7));
}

TEST_F(guest, mmio)
{
	struct kvm_run *run;
	struct kvm_regs regs;
	u64 q;
	u32 l;
	u16 w;

	self->vm = vm_create_guest(variant->mode, &code_mmio, &self->vcpu);
	run = self->vcpu->run;
	vcpu_regs_get(self->vcpu, &regs);
	regs.rbx = GUEST_MMIO;
	vcpu_regs_set(self->vcpu, &regs);

	run_expect_mmio(_metadata, self->vcpu, true, 1, GUEST_MMIO);
	EXPECT_EQ(0x5a, run->mmio.data[0]);
	run_expect_mmio(_metadata, self->vcpu, true, 2, GUEST_MMIO + 2);
	memcpy(&w, run->mmio.data, 2);
	EXPECT_EQ(0x1234, w);
	run_expect_mmio(_metadata, self->vcpu, true, 4, GUEST_MMIO + 4);
	memcpy(&l, run->mmio.data, 4);
	EXPECT_EQ(0xdeadbeef, l);
	if (variant->mode == GUEST_MODE_LONG) {
		run_expect_mmio(_metadata, self->vcpu, true, 8, GUEST_MMIO + 8);
		memcpy(&q, run->mmio.data, 8);
		EXPECT_EQ(0x0123456789abcdefULL, q);
	}
	ASSERT_TRUE(_metadata->passed);

	/* Reads: the VMM fills mmio.data and re-enters. */
	run_expect_mmio(_metadata, self->vcpu, false, 1, GUEST_MMIO);
	run->mmio.data[0] = 0xa5;
	EXPECT_EQ(0xa5U, vcpu_run_value(self->vcpu));
	run_expect_mmio(_metadata, self->vcpu, false, 2, GUEST_MMIO + 2);
	w = 0xbeef;
	memcpy(run->mmio.data, &w, 2);
	EXPECT_EQ(0xbeefU, vcpu_run_value(self->vcpu));
	run_expect_mmio(_metadata, self->vcpu, false, 4, GUEST_MMIO + 4);
	l = 0xfeedf00d;
	memcpy(run->mmio.data, &l, 4);
	EXPECT_EQ(0xfeedf00dU, vcpu_run_value(self->vcpu));
	if (variant->mode == GUEST_MODE_LONG) {
		run_expect_mmio(_metadata, self->vcpu, false, 8, GUEST_MMIO + 8);
		q = 0x8877665544332211ULL;
		memcpy(run->mmio.data, &q, 8);
		EXPECT_EQ(0x44332211U, vcpu_run_value(self->vcpu));
		EXPECT_EQ(0x88776655U, vcpu_run_value(self->vcpu));
	}
	vcpu_run_done(self->vcpu);
}

TEST_F(guest, hlt)
{
	struct kvm_regs regs;

	self->vm = vm_create_guest(variant->mode, &code_hlt, &self->vcpu);
	vcpu_run(self->vcpu);
	ASSERT_EQ(KVM_EXIT_HLT, (int)self->vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(self->vcpu));
	/* The exit comes after the instruction: RIP is past the HLT. */
	vcpu_regs_get(self->vcpu, &regs);
	EXPECT_EQ(GUEST_CODE_GPA + 1, regs.rip);
	EXPECT_EQ(0x600dU, vcpu_run_value(self->vcpu));
	vcpu_run(self->vcpu);
	ASSERT_EQ(KVM_EXIT_HLT, (int)self->vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(self->vcpu));
	vcpu_run_done(self->vcpu);
}

TEST_F(guest, cpuid)
{
	const struct kvm_cpuid2 *cpuid = kvm_supported_cpuid();
	unsigned int host[4];
	u32 got[5];
	unsigned int i;

	self->vm = vm_create_guest(variant->mode, &code_cpuid, &self->vcpu);
	for (i = 0; i < 5; i++)
		got[i] = vcpu_run_value(self->vcpu);
	vcpu_run_done(self->vcpu);

	if (!cpuid) {
		/*
		 * No KVM_SET_CPUID2 (KVM_CAP_EXT_CPUID is 0): the vCPU's
		 * CPUID table is empty, and KVM answers 0 for every leaf.
		 */
		for (i = 0; i < 5; i++)
			EXPECT_EQ(0U, got[i]) TH_LOG("value %u", i);
		return;
	}

	/* The vendor is the host's: ebx, edx, ecx of leaf 0. */
	__cpuid(0, host[0], host[1], host[2], host[3]);
	EXPECT_EQ(host[1], got[1]);
	EXPECT_EQ(host[3], got[3]);
	EXPECT_EQ(host[2], got[2]);
	EXPECT_LE(1U, got[0]);

	/* With KVM_SET_CPUID2, exactly what the VMM set. */
	for (i = 0; cpuid && i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0) {
			EXPECT_EQ(e->eax, got[0]);
			EXPECT_EQ(e->ebx, got[1]);
			EXPECT_EQ(e->ecx, got[2]);
			EXPECT_EQ(e->edx, got[3]);
		}
		if (e->function == 1)
			EXPECT_EQ(e->eax, got[4]);
	}
	TH_LOG("%s: leaf 0 eax %#x, leaf 1 eax %#x (%s)",
	       guest_mode_name(variant->mode), got[0], got[4],
	       cpuid ? "set with KVM_SET_CPUID2" : "device default");
}

static const u32 test_msrs[] = {
	MSR_IA32_SYSENTER_CS, MSR_STAR, MSR_LSTAR, MSR_KERNEL_GS_BASE,
};

TEST_F(guest, msr)
{
	static const u64 vmm[] = {
		VMM_SYSENTER_CS, VMM_STAR, VMM_LSTAR, VMM_KERNEL_GS_BASE,
	};
	static const u64 guest[] = {
		GUEST_SYSENTER_CS, GUEST_STAR, GUEST_LSTAR,
		GUEST_KERNEL_GS_BASE,
	};
	u64 got[4];
	unsigned int i;

	self->vm = vm_create_guest(variant->mode, &code_msr, &self->vcpu);
	ASSERT_EQ(4, __vcpu_set_msrs(self->vcpu, 4, test_msrs, vmm));

	/* The guest reads what the VMM set... */
	for (i = 0; i < 4; i++) {
		u64 lo = vcpu_run_value(self->vcpu);
		u64 hi = vcpu_run_value(self->vcpu);

		EXPECT_EQ(vmm[i], hi << 32 | lo) TH_LOG("MSR %#x", test_msrs[i]);
	}
	/* ...and its own writes. */
	for (i = 0; i < 4; i++) {
		u64 lo = vcpu_run_value(self->vcpu);
		u64 hi = vcpu_run_value(self->vcpu);

		EXPECT_EQ(guest[i], hi << 32 | lo) TH_LOG("MSR %#x", test_msrs[i]);
	}
	vcpu_run_done(self->vcpu);

	/* The VMM reads what the guest wrote. */
	ASSERT_EQ(4, __vcpu_get_msrs(self->vcpu, 4, test_msrs, got));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(guest[i], got[i]) TH_LOG("MSR %#x", test_msrs[i]);
}

TEST_F(guest, triple_fault_shutdown)
{
	self->vm = vm_create_guest(variant->mode, &code_triple_fault,
				   &self->vcpu);
	vcpu_run(self->vcpu);
	EXPECT_EQ(KVM_EXIT_SHUTDOWN, (int)self->vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(self->vcpu));
}

/* The guest runs in the mode the VMM set up. */
TEST_F(guest, mode_state)
{
	static const struct {
		u32 cr0, cr3, cr4, efer;
	} want[] = {
		[GUEST_MODE_REAL] = { X86_CR0_ET | X86_CR0_NE, 0, 0, 0 },
		[GUEST_MODE_PROTECTED] = {
			X86_CR0_ET | X86_CR0_NE | X86_CR0_PE, 0, 0, 0 },
		[GUEST_MODE_PAGED] = {
			X86_CR0_ET | X86_CR0_NE | X86_CR0_PE | X86_CR0_PG,
			GUEST_PD32, X86_CR4_PSE, 0 },
		[GUEST_MODE_LONG] = {
			X86_CR0_ET | X86_CR0_NE | X86_CR0_PE | X86_CR0_PG,
			GUEST_PML4, X86_CR4_PAE, EFER_LME | EFER_LMA },
	};
	enum guest_mode m = variant->mode;
	struct kvm_sregs sregs;

	self->vm = vm_create_guest(m, &code_mode_state, &self->vcpu);
	EXPECT_EQ(want[m].cr0, vcpu_run_value(self->vcpu));
	EXPECT_EQ(want[m].cr3, vcpu_run_value(self->vcpu));
	EXPECT_EQ(want[m].cr4, vcpu_run_value(self->vcpu));
	EXPECT_EQ(want[m].efer, vcpu_run_value(self->vcpu));
	vcpu_run_done(self->vcpu);

	vcpu_sregs_get(self->vcpu, &sregs);
	EXPECT_EQ(want[m].cr0, sregs.cr0);
	EXPECT_EQ(want[m].cr4, sregs.cr4);
	EXPECT_EQ(want[m].efer, sregs.efer);
	EXPECT_EQ(m == GUEST_MODE_LONG, sregs.cs.l);
}

/* The system fd lists the MSRs KVM_GET_MSRS/KVM_SET_MSRS handle. */
TEST(msr_index_list)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	unsigned int i, j;
	bool loaded;
	int fd;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	fd = kvm_open();
	/* Too small a list: E2BIG, and nmsrs says how many there are. */
	EXPECT_EQ(-1, ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe));
	EXPECT_EQ(E2BIG, errno);
	ASSERT_LT(0U, probe.nmsrs);

	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(__u32));
	ASSERT_NE(NULL, list);
	list->nmsrs = probe.nmsrs;
	ASSERT_EQ(0, ioctl(fd, KVM_GET_MSR_INDEX_LIST, list));
	EXPECT_EQ(probe.nmsrs, list->nmsrs);
	for (i = 0; i < ARRAY_SIZE(test_msrs); i++) {
		bool found = false;

		for (j = 0; j < list->nmsrs; j++)
			found |= list->indices[j] == test_msrs[i];
		EXPECT_TRUE(found) TH_LOG("MSR %#x not listed", test_msrs[i]);
	}
	TH_LOG("%u MSRs listed", list->nmsrs);
	free(list);
	close(fd);
	test_device_release(loaded);
}

/*
 * KVM_SET_MSRS returns how many MSRs it set and stops at the first it
 * refuses (here a non-canonical LSTAR).
 */
TEST(set_msrs_stops_at_refusal)
{
	static const u32 index[] = {
		MSR_IA32_SYSENTER_CS, MSR_LSTAR, MSR_STAR,
	};
	static const u64 data[] = {
		0x10, 0x8000000000000000ULL, 0x1234,
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool loaded;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create();
	vcpu = vcpu_create(vm, 0);
	vcpu_set_msr(vcpu, MSR_LSTAR, 0xffffffff81000000ULL);
	vcpu_set_msr(vcpu, MSR_STAR, 0);
	EXPECT_EQ(1, __vcpu_set_msrs(vcpu, 3, index, data));
	EXPECT_EQ(0x10ULL, vcpu_get_msr(vcpu, MSR_IA32_SYSENTER_CS));
	EXPECT_EQ(0xffffffff81000000ULL, vcpu_get_msr(vcpu, MSR_LSTAR));
	EXPECT_EQ(0ULL, vcpu_get_msr(vcpu, MSR_STAR));
	vm_free(vm);
	test_device_release(loaded);
}

enum invalid_outcome {
	REFUSED,	/* KVM_SET_SREGS failed with EINVAL */
	RUN_ERROR,	/* KVM_RUN failed */
	FAILED_ENTRY,	/* KVM_EXIT_FAIL_ENTRY or KVM_EXIT_INTERNAL_ERROR */
	RAN,		/* the guest ran */
};

static const char * const outcome_names[] = {
	"KVM_SET_SREGS: EINVAL", "KVM_RUN failed", "failed entry", "ran",
};

/*
 * Load bad sregs into a protected-mode vCPU whose code starts with HLT, and
 * say what happened.  The state before is restored afterwards.
 */
static enum invalid_outcome try_sregs(struct __test_metadata *_metadata,
				      struct kvm_vcpu *vcpu,
				      const struct kvm_sregs *bad,
				      const char *what)
{
	struct kvm_sregs before, after;
	enum invalid_outcome o;
	int r;

	vcpu_setup_mode(vcpu, GUEST_MODE_PROTECTED, GUEST_CODE_GPA);
	vcpu_sregs_get(vcpu, &before);
	r = __vcpu_ioctl(vcpu, KVM_SET_SREGS, bad);
	if (r) {
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", what);
		/* Nothing of the refused state was applied. */
		vcpu_sregs_get(vcpu, &after);
		EXPECT_EQ(before.cr0, after.cr0) TH_LOG("%s", what);
		EXPECT_EQ(before.cr4, after.cr4) TH_LOG("%s", what);
		EXPECT_EQ(before.efer, after.efer) TH_LOG("%s", what);
		o = REFUSED;
	} else if (__vcpu_run(vcpu)) {
		TH_LOG("%s: KVM_RUN: %s", what, strerror(errno));
		o = RUN_ERROR;
	} else if (vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY ||
		   vcpu->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		o = FAILED_ENTRY;
	} else {
		o = RAN;
	}
	TH_LOG("%s: %s%s%s", what, outcome_names[o], o >= FAILED_ENTRY ?
	       ": " : "", o >= FAILED_ENTRY ? vcpu_exit_str(vcpu) : "");

	/* The vCPU is still usable with good state. */
	vcpu_setup_mode(vcpu, GUEST_MODE_PROTECTED, GUEST_CODE_GPA);
	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_HLT, (int)vcpu->run->exit_reason)
		TH_LOG("after %s: %s", what, vcpu_exit_str(vcpu));
	return o;
}

/*
 * Invalid state is refused (or fails VM entry), never run, and leaves the
 * host and the VM working.
 */
TEST(invalid_state)
{
	struct kvm_vcpu *vcpu, *vcpu1;
	struct kvm_sregs good, bad;
	struct kvm_vm *vm;
	bool loaded;
	int o;

	ASSERT_EQ(0, test_device_prepare(&loaded));
	vm = vm_create_guest(GUEST_MODE_PROTECTED, &code_hlt, &vcpu);
	vcpu_sregs_get(vcpu, &good);

	/* CR0.PG without CR0.PE. */
	bad = good;
	bad.cr0 = X86_CR0_PG | X86_CR0_ET | X86_CR0_NE;
	o = try_sregs(_metadata, vcpu, &bad, "CR0.PG=1 PE=0");
	EXPECT_NE(RAN, o);

	/* CR0.NW without CR0.CD. */
	bad = good;
	bad.cr0 |= X86_CR0_NW;
	o = try_sregs(_metadata, vcpu, &bad, "CR0.NW=1 CD=0");
	EXPECT_NE(RAN, o);

	/* A reserved CR4 bit. */
	bad = good;
	bad.cr4 |= 1ULL << 31;
	o = try_sregs(_metadata, vcpu, &bad, "CR4 bit 31");
	EXPECT_NE(RAN, o);

	/* EFER.LMA without long mode. */
	bad = good;
	bad.efer = EFER_LMA;
	o = try_sregs(_metadata, vcpu, &bad, "EFER.LMA without paging");
	EXPECT_NE(RAN, o);

	/* A 64-bit code segment outside long mode. */
	bad = good;
	bad.cs.l = 1;
	bad.cs.db = 0;
	o = try_sregs(_metadata, vcpu, &bad, "CS.L=1 outside long mode");
	EXPECT_NE(RAN, o);

	/* Long mode without CR4.PAE. */
	bad = good;
	bad.cr0 |= X86_CR0_PG;
	bad.cr3 = GUEST_PML4;
	bad.efer = EFER_LME | EFER_LMA;
	o = try_sregs(_metadata, vcpu, &bad, "EFER.LME, CR0.PG, no CR4.PAE");
	EXPECT_NE(RAN, o);

	/*
	 * A TR that is not a busy TSS: accepted by KVM_SET_SREGS on KVM
	 * (with unrestricted guest) and refused by the VM-entry checks.
	 * Whatever happens is logged; the host must survive it.
	 */
	bad = good;
	bad.tr.type = 1;
	try_sregs(_metadata, vcpu, &bad, "TR type 1 (available 16-bit TSS)");

	/* The VM still works: another vCPU runs. */
	vcpu1 = vcpu_create(vm, 1);
	vcpu_setup_mode(vcpu1, GUEST_MODE_LONG, GUEST_CODE_GPA);
	vcpu_run(vcpu1);
	EXPECT_EQ(KVM_EXIT_HLT, (int)vcpu1->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu1));
	vm_free(vm);
	test_device_release(loaded);
}

TEST_HARNESS_MAIN
