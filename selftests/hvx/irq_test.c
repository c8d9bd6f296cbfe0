// SPDX-License-Identifier: GPL-2.0
/*
 * Events a VMM without an in-kernel interrupt controller delivers:
 * KVM_INTERRUPT (in order, waiting for IF, with interrupt-window exits and
 * request_interrupt_window), KVM_NMI, KVM_GET/SET_VCPU_EVENTS and
 * KVM_GET/SET_MP_STATE, in real, protected and long mode, through the
 * guest's own IDT (IVT in real mode); then XSAVE state: a guest using AVX
 * while the VMM thread does too, KVM_GET/SET_XSAVE and KVM_GET/SET_XCRS;
 * the guest TSC, offset by KVM_SET_MSRS; CR4 as the guest set it.
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
#include "test_run.h"
#include "util.h"

/* Each handler reports its vector on this port, then returns. */
#define IRQ_LOG_PORT	0xe2
#define NR_VECTORS	0x28
/* The guest's command word: nonzero moves it past its first HLT loop. */
#define GUEST_CMD	GUEST_DATA

/*
 * The guest first fills GUEST_IDT with NR_VECTORS gates (IVT entries in
 * real mode) whose handlers each report their vector on IRQ_LOG_PORT.
 * Then:
 *   A: IF=1, HLT in a loop until GUEST_CMD is set;
 *   B: IF=0, reports 1 and 2, STI, NOP, reports 3;
 *   C: IF=0, reports 4, STI, NOP, NOP, reports 5;
 *   D: IF=1, HLT in a loop.
 */
GUEST_CODE(code_events,
	   ".if GUEST_BITS == 64\n"
	   "lea 90f(%rip), %rax\n"
	   "movl $" KVM_STR(GUEST_IDT) ", %edi\n"
	   "xorl %ecx, %ecx\n"
	   "1:\n"
	   "movw %ax, (%rdi)\n"
	   "movw $" KVM_STR(GUEST_SEL_CODE64) ", 2(%rdi)\n"
	   "movw $0x8e00, 4(%rdi)\n"
	   "movq %rax, %rdx\n"
	   "shrq $16, %rdx\n"
	   "movw %dx, 6(%rdi)\n"
	   "shrq $16, %rdx\n"
	   "movl %edx, 8(%rdi)\n"
	   "movl $0, 12(%rdi)\n"
	   "addq $16, %rax\n"
	   "addq $16, %rdi\n"
	   ".elseif GUEST_BITS == 32\n"
	   "call 2f\n"
	   "2: popl %eax\n"
	   "addl $(90f - 2b), %eax\n"
	   "movl $" KVM_STR(GUEST_IDT) ", %edi\n"
	   "xorl %ecx, %ecx\n"
	   "1:\n"
	   "movw %ax, (%edi)\n"
	   "movw $" KVM_STR(GUEST_SEL_CODE32) ", 2(%edi)\n"
	   "movw $0x8e00, 4(%edi)\n"
	   "movl %eax, %edx\n"
	   "shrl $16, %edx\n"
	   "movw %dx, 6(%edi)\n"
	   "addl $16, %eax\n"
	   "addl $8, %edi\n"
	   ".else\n"
	   "call 2f\n"
	   "2: popw %ax\n"
	   "addw $(90f - 2b), %ax\n"
	   "movw $" KVM_STR(GUEST_IDT) ", %di\n"
	   "xorl %ecx, %ecx\n"
	   "1:\n"
	   "movw %ax, (%di)\n"
	   "movw %cs, 2(%di)\n"
	   "addw $16, %ax\n"
	   "addw $4, %di\n"
	   ".endif\n"
	   "incl %ecx\n"
	   "cmpl $" KVM_STR(NR_VECTORS) ", %ecx\n"
	   "jb 1b\n"
	   "jmp 80f\n"

	   ".balign 16\n"
	   "90:\n"
	   ".set vec, 0\n"
	   ".rept " KVM_STR(NR_VECTORS) "\n"
	   ".balign 16\n"
	   ".if GUEST_BITS == 64\n"
	   "pushq %rax\n"
	   ".else\n"
	   "pushl %eax\n"
	   ".endif\n"
	   "movb $vec, %al\n"
	   "outb %al, $" KVM_STR(IRQ_LOG_PORT) "\n"
	   ".if GUEST_BITS == 64\n"
	   "popq %rax\n"
	   "iretq\n"
	   ".elseif GUEST_BITS == 32\n"
	   "popl %eax\n"
	   "iretl\n"
	   ".else\n"
	   "popl %eax\n"
	   "iretw\n"
	   ".endif\n"
	   ".set vec, vec + 1\n"
	   ".endr\n"

	   "80:\n"
	   "sti\n"
	   "81: hlt\n"
	   "cmpl $0, " KVM_STR(GUEST_CMD) "\n"
	   "je 81b\n"
	   "cli\n"
	   "movl $1, %eax\n"
	   GUEST_REPORT
	   "movl $2, %eax\n"
	   GUEST_REPORT
	   "sti\n"
	   "nop\n"
	   "movl $3, %eax\n"
	   GUEST_REPORT
	   "cli\n"
	   "movl $4, %eax\n"
	   GUEST_REPORT
	   "sti\n"
	   "nop\n"
	   "nop\n"
	   "movl $5, %eax\n"
	   GUEST_REPORT
	   "sti\n"
	   "82: hlt\n"
	   "jmp 82b\n");

FIXTURE(events) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_VARIANT(events) {
	enum guest_mode mode;
};

FIXTURE_VARIANT_ADD(events, real) {
	.mode = GUEST_MODE_REAL,
};

FIXTURE_VARIANT_ADD(events, protected) {
	.mode = GUEST_MODE_PROTECTED,
};

FIXTURE_VARIANT_ADD(events, long) {
	.mode = GUEST_MODE_LONG,
};

FIXTURE_SETUP(events)
{
	static const unsigned int gate_size[] = {
		[GUEST_MODE_REAL] = 4,
		[GUEST_MODE_PROTECTED] = 8,
		[GUEST_MODE_LONG] = 16,
	};
	struct kvm_sregs sregs;

	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->vm = vm_create_guest(variant->mode, &code_events, &self->vcpu);
	vcpu_sregs_get(self->vcpu, &sregs);
	sregs.idt.base = GUEST_IDT;
	sregs.idt.limit = NR_VECTORS * gate_size[variant->mode] - 1;
	vcpu_sregs_set(self->vcpu, &sregs);
}

FIXTURE_TEARDOWN(events)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

/* Run once; describe the exit if it is not @reason. */
static void run_expect(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu, u32 reason)
{
	vcpu_run(vcpu);
	EXPECT_EQ(reason, vcpu->run->exit_reason) {
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	}
}

/* Run once and expect the guest's handler for @vector. */
static void run_expect_vector(struct __test_metadata *_metadata,
			      struct kvm_vcpu *vcpu, unsigned int vector)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_IO, (int)run->exit_reason) {
		TH_LOG("expected vector %#x, got %s", vector,
		       vcpu_exit_str(vcpu));
	}
	ASSERT_EQ(IRQ_LOG_PORT, (int)run->io.port) {
		TH_LOG("expected vector %#x, got %s", vector,
		       vcpu_exit_str(vcpu));
	}
	EXPECT_EQ(vector, (unsigned int)*(u8 *)vcpu_io_data(vcpu));
}

static int inject(struct kvm_vcpu *vcpu, u32 vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return __vcpu_ioctl(vcpu, KVM_INTERRUPT, &irq) ? -errno : 0;
}

/* Vectors injected in this order arrive in this order. */
static const u8 order[] = { 0x21, 0x27, 0x20, 0x23, 0x22 };

/*
 * A: the guest halts with IF=1; each KVM_INTERRUPT is delivered through
 * its IDT on the next KVM_RUN, in the order given; one at a time.
 */
TEST_F(events, interrupts_in_order)
{
	struct kvm_run *run = self->vcpu->run;
	unsigned int i;

	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		EXPECT_EQ(1, run->if_flag);
		EXPECT_EQ(1, run->ready_for_interrupt_injection);
		ASSERT_EQ(0, inject(self->vcpu, order[i]));
		/*
		 * hvx only: a second one before delivery is refused (KVM
		 * replaces the first, which is then lost).
		 */
		if (test_device_is_hvx())
			EXPECT_EQ(-EEXIST, inject(self->vcpu, order[i] + 1));
		run_expect_vector(_metadata, self->vcpu, order[i]);
		run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
	}
	EXPECT_EQ(-EINVAL, inject(self->vcpu, 256));
}

/* Take the guest from phase A to the start of phase B. */
static void to_phase_b(struct __test_metadata *_metadata,
		       struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	u32 *cmd = gpa_to_hva(vm, GUEST_CMD);

	run_expect(_metadata, vcpu, KVM_EXIT_HLT);
	WRITE_ONCE(*cmd, 1);
	/* Wake the halted guest; it then leaves its HLT loop. */
	ASSERT_EQ(0, inject(vcpu, 0x20));
	run_expect_vector(_metadata, vcpu, 0x20);
}

/*
 * B and C, as a VMM without an in-kernel irqchip delivers an interrupt the
 * guest cannot take yet (IF=0): it sets request_interrupt_window, KVM_RUN
 * ends with KVM_EXIT_IRQ_WINDOW_OPEN once the guest can take one (after
 * STI and its shadow), and KVM_INTERRUPT then delivers it.
 */
TEST_F(events, interrupt_window)
{
	struct kvm_run *run = self->vcpu->run;

	to_phase_b(_metadata, self->vm, self->vcpu);
	run_expect_report(_metadata, self->vcpu, 1);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);
	run_expect_report(_metadata, self->vcpu, 2);
	run_expect_report(_metadata, self->vcpu, 3);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);

	run_expect_report(_metadata, self->vcpu, 4);
	EXPECT_EQ(0, run->if_flag);
	run->request_interrupt_window = 1;
	run_expect(_metadata, self->vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	run->request_interrupt_window = 0;
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	ASSERT_EQ(0, inject(self->vcpu, 0x25));
	run_expect_vector(_metadata, self->vcpu, 0x25);
	run_expect_report(_metadata, self->vcpu, 5);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
}

/*
 * hvx only: KVM_INTERRUPT while the guest cannot take the interrupt
 * (IF=0) queues it until STI and its shadow are done.  (KVM injects it
 * at once, and the VM entry fails: a KVM VMM must wait for
 * ready_for_interrupt_injection.)
 */
TEST_F(events, interrupt_waits_for_if)
{
	struct kvm_run *run = self->vcpu->run;

	if (!test_device_is_hvx())
		SKIP(return, "hvx only (the device is %s)", test_device());
	to_phase_b(_metadata, self->vm, self->vcpu);
	run_expect_report(_metadata, self->vcpu, 1);
	ASSERT_EQ(0, inject(self->vcpu, 0x24));
	EXPECT_EQ(0, run->ready_for_interrupt_injection);
	/* Not before STI... */
	run_expect_report(_metadata, self->vcpu, 2);
	/* ...and not in its shadow: the NOP runs first, then the handler. */
	run_expect_vector(_metadata, self->vcpu, 0x24);
	run_expect_report(_metadata, self->vcpu, 3);
}

/*
 * KVM_NMI is delivered through vector 2 and blocks NMIs until IRET;
 * KVM_SET_VCPU_EVENTS (or KVM_SET_SREGS's interrupt_bitmap) injects an
 * exception or an interrupt; bad input is refused and changes nothing; the
 * vCPU stays runnable (no in-kernel APIC).
 */
TEST_F(events, nmi_and_vcpu_events)
{
	struct kvm_vcpu_events ev, bad;
	struct kvm_mp_state mp;
	struct kvm_sregs sregs;

	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
	vcpu_ioctl(self->vcpu, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, (int)mp.mp_state);
	mp.mp_state = KVM_MP_STATE_HALTED;
	EXPECT_NE(0, __vcpu_ioctl(self->vcpu, KVM_SET_MP_STATE, &mp));
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	EXPECT_EQ(0, __vcpu_ioctl(self->vcpu, KVM_SET_MP_STATE, &mp));

	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(0, ev.nmi.pending);
	EXPECT_EQ(0, ev.nmi.masked);
	EXPECT_NE(0U, ev.flags & KVM_VCPUEVENT_VALID_NMI_PENDING);
	EXPECT_NE(0U, ev.flags & KVM_VCPUEVENT_VALID_SHADOW);

	vcpu_ioctl(self->vcpu, KVM_NMI, NULL);
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	run_expect_vector(_metadata, self->vcpu, 2);
	/* In the handler, before its IRET: NMIs are blocked. */
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(0, ev.nmi.pending);
	EXPECT_EQ(1, ev.nmi.masked);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(0, ev.nmi.masked);

	/* Refused: an unknown flag, NMI as an exception, vector 32. */
	bad = ev;
	bad.flags |= 0x80000000;
	EXPECT_EQ(-1, __vcpu_ioctl(self->vcpu, KVM_SET_VCPU_EVENTS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = ev;
	bad.exception.injected = 1;
	bad.exception.nr = 2;
	EXPECT_EQ(-1, __vcpu_ioctl(self->vcpu, KVM_SET_VCPU_EVENTS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.exception.nr = 32;
	EXPECT_EQ(-1, __vcpu_ioctl(self->vcpu, KVM_SET_VCPU_EVENTS, &bad));
	EXPECT_EQ(EINVAL, errno);
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &bad);
	EXPECT_EQ(0, (int)bad.exception.injected);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);

	/* #UD (6), injected by the VMM, reaches the guest's handler. */
	ev.exception.injected = 1;
	ev.exception.nr = 6;
	ev.exception.has_error_code = 0;
	vcpu_ioctl(self->vcpu, KVM_SET_VCPU_EVENTS, &ev);
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &bad);
	EXPECT_EQ(1, bad.exception.injected);
	EXPECT_EQ(6, bad.exception.nr);
	run_expect_vector(_metadata, self->vcpu, 6);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);

	/* So does an interrupt set as already injected. */
	vcpu_ioctl(self->vcpu, KVM_GET_VCPU_EVENTS, &ev);
	ev.interrupt.injected = 1;
	ev.interrupt.nr = 0x26;
	vcpu_ioctl(self->vcpu, KVM_SET_VCPU_EVENTS, &ev);
	run_expect_vector(_metadata, self->vcpu, 0x26);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);

	/* And one set in KVM_SET_SREGS's interrupt_bitmap. */
	vcpu_sregs_get(self->vcpu, &sregs);
	EXPECT_EQ(0ULL, sregs.interrupt_bitmap[0]);
	sregs.interrupt_bitmap[0] = BIT_ULL(0x23);
	vcpu_sregs_set(self->vcpu, &sregs);
	vcpu_sregs_get(self->vcpu, &sregs);
	EXPECT_EQ(BIT_ULL(0x23), sregs.interrupt_bitmap[0]);
	run_expect_vector(_metadata, self->vcpu, 0x23);
	run_expect(_metadata, self->vcpu, KVM_EXIT_HLT);
}

/* ------------------------------------------------------------- XSAVE */

#define XSAVE_GUEST_IN	(GUEST_DATA + 0x100)
#define XSAVE_GUEST_OUT	(GUEST_DATA + 0x200)
/* Offsets in the standard XSAVE format (Intel SDM Vol. 1, 13.4). */
#define XSAVE_XMM0	160
#define XSAVE_YMM0_HI	576
#define XSAVE_XSTATE_BV	512

/*
 * Long mode: enable XSAVE and AVX, load %ymm0 from XSAVE_GUEST_IN, report,
 * then store %ymm0 to XSAVE_GUEST_OUT.
 */
GUEST_CODE(code_avx,
	   ".if GUEST_BITS == 64\n"
	   "movq %cr4, %rax\n"
	   "orq $(1 << 18), %rax\n"
	   "movq %rax, %cr4\n"
	   "xorl %ecx, %ecx\n"
	   "xorl %edx, %edx\n"
	   "movl $7, %eax\n"
	   "xsetbv\n"
	   "vmovdqu " KVM_STR(XSAVE_GUEST_IN) ", %ymm0\n"
	   GUEST_REPORT
	   "vmovdqu %ymm0, " KVM_STR(XSAVE_GUEST_OUT) "\n"
	   ".endif\n"
	   GUEST_DONE);

FIXTURE(state) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
};

FIXTURE_SETUP(state)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(state)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

static bool host_has_avx(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	/* AVX and OSXSAVE, and the OS saves the YMM state. */
	if (!(c & (1U << 28)) || !(c & (1U << 27)))
		return false;
	asm volatile("xgetbv" : "=a" (a), "=d" (d) : "c" (0));
	return (a & 6) == 6;
}

static void fill(u8 *p, u8 seed)
{
	int i;

	for (i = 0; i < 32; i++)
		p[i] = seed + i * 7;
}

/* KVM_RUN with the VMM's %ymm0 = host[], returning its %ymm0 after. */
static int run_with_ymm0(struct kvm_vcpu *vcpu, const u8 *host, u8 *after)
{
	int r;

	asm volatile("vmovdqu %0, %%ymm0" : : "m" (*(const u8 (*)[32])host)
		     : "xmm0");
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	asm volatile("vmovdqu %%ymm0, %0" : "=m" (*(u8 (*)[32])after));
	return r;
}

TEST_F(state, avx_state_is_separate)
{
	u8 guest_in[32], host[32], host_after[32], set[32];
	struct kvm_xsave *xs;
	struct kvm_xcrs xcrs;
	u32 value;

	if (!host_has_avx())
		SKIP(return, "no AVX on this CPU");
	self->vm = vm_create_guest(GUEST_MODE_LONG, &code_avx, &self->vcpu);
	fill(guest_in, 0x10);
	fill(host, 0x80);
	memcpy(gpa_to_hva(self->vm, XSAVE_GUEST_IN), guest_in, 32);

	/* The guest loads its %ymm0; the VMM's is intact after KVM_RUN. */
	ASSERT_EQ(0, run_with_ymm0(self->vcpu, host, host_after));
	ASSERT_EQ((int)UCALL_VALUE, (int)get_ucall(self->vcpu, &value)) {
		TH_LOG("got %s", vcpu_exit_str(self->vcpu));
	}
	EXPECT_EQ(0, memcmp(host, host_after, 32));

	vcpu_ioctl(self->vcpu, KVM_GET_XCRS, &xcrs);
	ASSERT_EQ(1U, xcrs.nr_xcrs);
	EXPECT_EQ(0U, xcrs.xcrs[0].xcr);
	EXPECT_EQ(7ULL, xcrs.xcrs[0].value);

	/* The guest's %ymm0 is in KVM_GET_XSAVE; change it there. */
	xs = calloc(1, sizeof(*xs));
	ASSERT_NE(NULL, xs);
	vcpu_ioctl(self->vcpu, KVM_GET_XSAVE, xs);
	EXPECT_EQ(0, memcmp((u8 *)xs->region + XSAVE_XMM0, guest_in, 16));
	EXPECT_EQ(0, memcmp((u8 *)xs->region + XSAVE_YMM0_HI, guest_in + 16,
			    16));
	fill(set, 0x40);
	memcpy((u8 *)xs->region + XSAVE_XMM0, set, 16);
	memcpy((u8 *)xs->region + XSAVE_YMM0_HI, set + 16, 16);
	*(u64 *)((u8 *)xs->region + XSAVE_XSTATE_BV) |= 7;
	vcpu_ioctl(self->vcpu, KVM_SET_XSAVE, xs);
	free(xs);

	/* The guest stores what KVM_SET_XSAVE put in its %ymm0. */
	fill(host, 0xc0);
	ASSERT_EQ(0, run_with_ymm0(self->vcpu, host, host_after));
	ASSERT_EQ((int)UCALL_DONE, (int)get_ucall(self->vcpu, NULL)) {
		TH_LOG("got %s", vcpu_exit_str(self->vcpu));
	}
	EXPECT_EQ(0, memcmp(host, host_after, 32));
	EXPECT_EQ(0, memcmp(gpa_to_hva(self->vm, XSAVE_GUEST_OUT), set, 32));

	/* XCR0 without x87 is refused. */
	xcrs.xcrs[0].value = 6;
	EXPECT_EQ(-1, __vcpu_ioctl(self->vcpu, KVM_SET_XCRS, &xcrs));
	EXPECT_EQ(EINVAL, errno);
	vcpu_ioctl(self->vcpu, KVM_GET_XCRS, &xcrs);
	EXPECT_EQ(7ULL, xcrs.xcrs[0].value);
}

/* ------------------------------------------------------------- TSC */

#define MSR_IA32_TSC		0x10
#define TSC_START		BIT_ULL(40)

/* RDTSC twice, reporting EDX then EAX of each. */
GUEST_CODE(code_rdtsc,
	   "rdtsc\n"
	   "movl %eax, %ebx\n"
	   "movl %edx, %eax\n"
	   GUEST_REPORT
	   "movl %ebx, %eax\n"
	   GUEST_REPORT
	   "rdtsc\n"
	   "movl %eax, %ebx\n"
	   "movl %edx, %eax\n"
	   GUEST_REPORT
	   "movl %ebx, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE);

static u64 run_rdtsc(struct kvm_vcpu *vcpu)
{
	u64 hi = vcpu_run_value(vcpu);

	return hi << 32 | vcpu_run_value(vcpu);
}

/*
 * The guest's TSC is the host's plus an offset that KVM_SET_MSRS of
 * IA32_TSC sets; it keeps running (RDTSC does not exit, nor stop it).
 */
TEST_F(state, tsc_offset)
{
	u64 first, second, now;

	self->vm = vm_create_guest(GUEST_MODE_PROTECTED, &code_rdtsc,
				   &self->vcpu);
	vcpu_set_msr(self->vcpu, MSR_IA32_TSC, TSC_START);
	first = run_rdtsc(self->vcpu);
	second = run_rdtsc(self->vcpu);
	now = vcpu_get_msr(self->vcpu, MSR_IA32_TSC);
	vcpu_run_done(self->vcpu);
	EXPECT_LE(TSC_START, first);
	/* Well under a minute of ticks at any plausible frequency. */
	EXPECT_GT(TSC_START + (60ULL << 32), first);
	EXPECT_LT(first, second);
	EXPECT_LE(second, now);
}

/* Set CR4.PGE and CR4.OSFXSR, report CR4, then clear them again. */
GUEST_CODE(code_cr4,
	   ".if GUEST_BITS == 32\n"
	   "movl %cr4, %eax\n"
	   "orl $0x280, %eax\n"
	   "movl %eax, %cr4\n"
	   GUEST_REPORT
	   "andl $~0x280, %eax\n"
	   "movl %eax, %cr4\n"
	   GUEST_REPORT
	   ".endif\n"
	   GUEST_DONE);

/*
 * CR4 bits the guest changes itself (without a VM exit on VT-x) show in
 * KVM_GET_SREGS as they are.
 */
TEST_F(state, cr4_written_by_guest)
{
	struct kvm_sregs sregs;

	self->vm = vm_create_guest(GUEST_MODE_PROTECTED, &code_cr4,
				   &self->vcpu);
	EXPECT_EQ(0x280U, vcpu_run_value(self->vcpu) & 0x280);
	vcpu_sregs_get(self->vcpu, &sregs);
	EXPECT_EQ(0x280ULL, sregs.cr4 & 0x280);
	EXPECT_EQ(0U, vcpu_run_value(self->vcpu) & 0x280);
	vcpu_sregs_get(self->vcpu, &sregs);
	EXPECT_EQ(0ULL, sregs.cr4 & 0x280);
	vcpu_run_done(self->vcpu);
}

TEST_HARNESS_MAIN
