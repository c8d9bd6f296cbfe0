// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD and KVM_IRQFD.
 *
 * ioeventfds: the rejections (lengths, wrapping ranges, flags, fds), the
 * duplicates KVM refuses and the ones it allows, deassignment matching on
 * address, length, fd and datamatch; then guests that write ports and
 * MMIO addresses with ioeventfds, with and without a datamatch, of each
 * length and of any length: a matching write signals the eventfd and no
 * KVM_EXIT_IO/KVM_EXIT_MMIO is seen; a write of another value, length or
 * address, a read, and a write after deassignment exit to userspace.
 *
 * irqfds: without an in-kernel irqchip (-EINVAL, as x86 KVM); with one,
 * the rejections, -EBUSY for an eventfd already in use, deassignment, an
 * irqfd consuming its eventfd's signals (and no longer once deassigned),
 * and closing an assigned eventfd.  Then a guest that programs an IOAPIC
 * pin, enables its local APIC and halts: an irqfd on that GSI, signalled
 * from another thread while the vCPU is halted and again before it runs,
 * runs its interrupt handler once per signal; in resample mode the pin is
 * level-triggered, Remote IRR stays set until the guest's EOI, the EOI
 * signals the resamplefd and the interrupt does not come again.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "test_run.h"
#include "util.h"

#define EVFD_PORT	0x600
#define EVFD_MMIO	GUEST_MMIO

/* The interrupt handler's reports: redirection entry before/after EOI. */
#define IRQ_PRE_EOI_PORT	0xe2
#define IRQ_POST_EOI_PORT	0xe6
#define IRQ_COUNT		(GUEST_DATA + 0x10)
#define IRQ_VECTOR		0x40
#define IRQ_PIN			20	/* an IOAPIC-only GSI in KVM's routing */
#define IOAPIC_BASE		0xfec00000
#define LAPIC_BASE		0xfee00000
#define REDIR_LEVEL		BIT(15)
#define REDIR_REMOTE_IRR	BIT(14)

/* Helpers (raw: 0 or -errno). */

static int efd_new(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* The eventfd's count (0 if none), which reading resets. */
static int efd_take(int fd)
{
	u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v > 0x7fffffff ? -1 : (int)v;
}

static void efd_signal(int fd)
{
	u64 one = 1;

	KVM_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one),
		   "eventfd write: %s", strerror(errno));
}

static int ioeventfd(struct kvm_vm *vm, u64 addr, u32 len, int fd, u32 flags,
		     u64 datamatch)
{
	struct kvm_ioeventfd args = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = flags,
	};

	return __vm_ioctl(vm, KVM_IOEVENTFD, &args) ? -errno : 0;
}

static int irqfd(struct kvm_vm *vm, u32 gsi, int fd, u32 flags,
		 int resamplefd)
{
	struct kvm_irqfd args = {
		.fd = fd, .gsi = gsi, .flags = flags, .resamplefd = resamplefd,
	};

	return __vm_ioctl(vm, KVM_IRQFD, &args) ? -errno : 0;
}

#define PIO	KVM_IOEVENTFD_FLAG_PIO
#define DM	KVM_IOEVENTFD_FLAG_DATAMATCH
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN

/* Run once and expect a port write of @size bytes of @data to @port. */
static void run_expect_pio(struct __test_metadata *_metadata,
			   struct kvm_vcpu *vcpu, u16 port, u8 size, u32 data)
{
	struct kvm_run *run = vcpu->run;
	u32 got = 0;

	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_IO, (int)run->exit_reason) {
		TH_LOG("expected OUT to %#x, got %s", port,
		       vcpu_exit_str(vcpu));
	}
	EXPECT_EQ(port, (int)run->io.port);
	EXPECT_EQ(KVM_EXIT_IO_OUT, (int)run->io.direction);
	EXPECT_EQ(size, (int)run->io.size);
	memcpy(&got, vcpu_io_data(vcpu), size);
	EXPECT_EQ(data, got);
}

/* Run once and expect an MMIO access of @len bytes at @gpa. */
static void run_expect_mmio(struct __test_metadata *_metadata,
			    struct kvm_vcpu *vcpu, u64 gpa, u32 len,
			    bool write, u64 data)
{
	struct kvm_run *run = vcpu->run;
	u64 got = 0;

	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason) {
		TH_LOG("expected MMIO at %#llx, got %s",
		       (unsigned long long)gpa, vcpu_exit_str(vcpu));
	}
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	EXPECT_EQ(len, run->mmio.len);
	EXPECT_EQ(write, !!run->mmio.is_write);
	if (write) {
		memcpy(&got, run->mmio.data, len);
		EXPECT_EQ(data, got);
	} else {
		memcpy(run->mmio.data, &data, len);
	}
}

/* ------------------------------------------------------------ guests */

/*
 * To EVFD_PORT: three 32-bit writes, a 16-bit one, then 32-bit writes of
 * 0x9999 to EVFD_PORT + 4 and of 0x1234 and 0x5678 to EVFD_PORT; then 8-
 * and 16-bit writes to EVFD_PORT + 0x10 and + 0x12.
 */
GUEST_CODE(code_pio,
	   "movw $" KVM_STR(EVFD_PORT) ", %dx\n"
	   "movl $0x1234, %eax\n"
	   "outl %eax, %dx\n"
	   "movl $0x5678, %eax\n"
	   "outl %eax, %dx\n"
	   "movl $0x1234, %eax\n"
	   "outl %eax, %dx\n"
	   "movw $0x1234, %ax\n"
	   "outw %ax, %dx\n"
	   "movl $0x9999, %eax\n"
	   "movw $" KVM_STR(EVFD_PORT + 4) ", %dx\n"
	   "outl %eax, %dx\n"
	   "movw $" KVM_STR(EVFD_PORT) ", %dx\n"
	   "outl %eax, %dx\n"
	   "movw $" KVM_STR(EVFD_PORT + 0x10) ", %dx\n"
	   "movb $0x5a, %al\n"
	   "outb %al, %dx\n"
	   "movb $0x5b, %al\n"
	   "outb %al, %dx\n"
	   "movw $" KVM_STR(EVFD_PORT + 0x12) ", %dx\n"
	   "movw $0xbeef, %ax\n"
	   "outw %ax, %dx\n"
	   GUEST_DONE);

/* A 32-bit write to EVFD_PORT, a report, the same write again. */
GUEST_CODE(code_pio_twice,
	   "movw $" KVM_STR(EVFD_PORT) ", %dx\n"
	   "movl $7, %eax\n"
	   "outl %eax, %dx\n"
	   "movl $1, %eax\n"
	   GUEST_REPORT
	   "movw $" KVM_STR(EVFD_PORT) ", %dx\n"
	   "movl $7, %eax\n"
	   "outl %eax, %dx\n"
	   GUEST_DONE);

/* 64-bit code: MMIO writes at EVFD_MMIO + 0x10..0x51 (see mmio_guest). */
GUEST_CODE(code_mmio,
	   ".if GUEST_BITS == 64\n"
	   "movl $" KVM_STR(EVFD_MMIO) ", %ebx\n"
	   "movb $0x11, 0x10(%rbx)\n"
	   "movw $0x2222, 0x20(%rbx)\n"
	   "movl $0x33333333, 0x30(%rbx)\n"
	   "movabs $0x4444444444444444, %rax\n"
	   "movq %rax, 0x40(%rbx)\n"
	   "movl $0x12345678, 0x30(%rbx)\n"
	   "movl 0x30(%rbx), %ecx\n"
	   "movq %rax, 0x30(%rbx)\n"
	   "movb $1, 0x50(%rbx)\n"
	   "movw $2, 0x50(%rbx)\n"
	   "movl $3, 0x50(%rbx)\n"
	   "movq %rax, 0x50(%rbx)\n"
	   "movb $4, 0x51(%rbx)\n"
	   "movl %ecx, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE
	   ".endif\n");

/*
 * 32-bit protected mode, %ebx = IOAPIC pin, %ecx = its redirection entry
 * (low half; destination APIC ID 0).  Installs the handler at IRQ_VECTOR,
 * enables the local APIC, programs the pin, reports 0; then forever: STI;
 * HLT; CLI; report the number of interrupts taken.  The handler counts,
 * reports the pin's redirection entry on IRQ_PRE_EOI_PORT, writes EOI,
 * reports the entry again on IRQ_POST_EOI_PORT and returns.
 */
GUEST_CODE(code_ioapic,
	   ".if GUEST_BITS == 32\n"
	   "call 1f\n"
	   "1: popl %esi\n"
	   "leal (90f - 1b)(%esi), %eax\n"
	   "movl $(" KVM_STR(GUEST_IDT) " + " KVM_STR(IRQ_VECTOR) " * 8), %edi\n"
	   "movw %ax, (%edi)\n"
	   "movw $" KVM_STR(GUEST_SEL_CODE32) ", 2(%edi)\n"
	   "movw $0x8e00, 4(%edi)\n"
	   "shrl $16, %eax\n"
	   "movw %ax, 6(%edi)\n"
	   "movl $(" KVM_STR(LAPIC_BASE) " + 0xf0), %edi\n"
	   "movl $0x1ff, (%edi)\n"
	   "movl $(" KVM_STR(LAPIC_BASE) " + 0x80), %edi\n"
	   "movl $0, (%edi)\n"
	   "movl $" KVM_STR(IOAPIC_BASE) ", %edi\n"
	   "leal 0x11(,%ebx,2), %eax\n"
	   "movl %eax, (%edi)\n"
	   "movl $0, 0x10(%edi)\n"
	   "decl %eax\n"
	   "movl %eax, (%edi)\n"
	   "movl %ecx, 0x10(%edi)\n"
	   "movl $0, " KVM_STR(IRQ_COUNT) "\n"
	   "movl $0, %eax\n"
	   GUEST_REPORT
	   "2: sti\n"
	   "hlt\n"
	   "cli\n"
	   "movl " KVM_STR(IRQ_COUNT) ", %eax\n"
	   GUEST_REPORT
	   "jmp 2b\n"

	   "90:\n"
	   "pushl %eax\n"
	   "pushl %edi\n"
	   "incl " KVM_STR(IRQ_COUNT) "\n"
	   "movl $" KVM_STR(IOAPIC_BASE) ", %edi\n"
	   "leal 0x10(,%ebx,2), %eax\n"
	   "movl %eax, (%edi)\n"
	   "movl 0x10(%edi), %eax\n"
	   "outl %eax, $" KVM_STR(IRQ_PRE_EOI_PORT) "\n"
	   "movl $(" KVM_STR(LAPIC_BASE) " + 0xb0), %edi\n"
	   "movl $0, (%edi)\n"
	   "movl $" KVM_STR(IOAPIC_BASE) ", %edi\n"
	   "leal 0x10(,%ebx,2), %eax\n"
	   "movl %eax, (%edi)\n"
	   "movl 0x10(%edi), %eax\n"
	   "outl %eax, $" KVM_STR(IRQ_POST_EOI_PORT) "\n"
	   "popl %edi\n"
	   "popl %eax\n"
	   "iretl\n"
	   ".endif\n");

/* ------------------------------------------------------- ioeventfd API */

FIXTURE(evfd) {
	struct kvm_vm *vm;
	bool loaded_here;
	int fd[4];
};

FIXTURE_SETUP(evfd)
{
	unsigned int i;

	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->vm = vm_create();
	for (i = 0; i < ARRAY_SIZE(self->fd); i++) {
		self->fd[i] = efd_new();
		ASSERT_LE(0, self->fd[i]);
	}
}

FIXTURE_TEARDOWN(evfd)
{
	unsigned int i;

	vm_free(self->vm);
	for (i = 0; i < ARRAY_SIZE(self->fd); i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	test_device_release(self->loaded_here);
}

TEST(capabilities)
{
	bool loaded_here;

	ASSERT_EQ(0, test_device_prepare(&loaded_here));
	EXPECT_LT(0, kvm_check_cap(KVM_CAP_IOEVENTFD));
	EXPECT_LT(0, kvm_check_cap(KVM_CAP_IOEVENTFD_ANY_LENGTH));
	EXPECT_LT(0, kvm_check_cap(KVM_CAP_IRQFD));
	EXPECT_LT(0, kvm_check_cap(KVM_CAP_IRQFD_RESAMPLE));
	test_device_release(loaded_here);
}

TEST_F(evfd, ioeventfd_rejects)
{
	struct kvm_vm *vm = self->vm;
	int fd = self->fd[0];
	int notefd;

	/* Lengths other than 0, 1, 2, 4, 8. */
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 3, fd, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 16, fd, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_PORT, 5, fd, PIO, 0));
	/* A range that wraps. */
	EXPECT_EQ(-EINVAL, ioeventfd(vm, ~0ULL - 1, 4, fd, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, ~0ULL - 7, 8, fd, DM, 0));
	/* Unknown flags. */
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 4, fd, BIT(5), 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 4, fd, BIT(31), 0));
	/* Any length cannot match data. */
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 0, fd, DM, 0));
	/* Not an fd; not an eventfd. */
	EXPECT_EQ(-EBADF, ioeventfd(vm, EVFD_MMIO, 4, -1, 0, 0));
	notefd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, notefd);
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 4, notefd, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, EVFD_MMIO, 4, notefd, DEASSIGN, 0));
	close(notefd);
	EXPECT_EQ(-EBADF, ioeventfd(vm, EVFD_MMIO, 4, -1, DEASSIGN, 0));
	/* None of that assigned anything. */
	EXPECT_EQ(-ENOENT, ioeventfd(vm, EVFD_MMIO, 4, fd, DEASSIGN, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, DEASSIGN, 0));
	/* The largest address with any length does not wrap. */
	EXPECT_EQ(0, ioeventfd(vm, ~0ULL, 0, fd, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, ~0ULL, 0, fd, DEASSIGN, 0));
}

/*
 * KVM's x86 flag mask includes VIRTIO_CCW_NOTIFY (an s390 bus that x86
 * never dispatches to): such an ioeventfd is accepted, takes part in
 * duplicate checks among its kind and can be deassigned, and no access
 * reaches it.
 */
TEST_F(evfd, ioeventfd_ccw_flag)
{
	u32 ccw = KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;
	struct kvm_vm *vm = self->vm;
	int fd = self->fd[0];

	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, ccw, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, EVFD_MMIO, 4, fd, ccw, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, ccw | DEASSIGN, 0));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, EVFD_MMIO, 4, fd, ccw | DEASSIGN, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_MMIO, 4, fd, DEASSIGN, 0));
}

/* The duplicates KVM refuses (-EEXIST) and the neighbours it allows. */
TEST_F(evfd, ioeventfd_duplicates)
{
	struct kvm_vm *vm = self->vm;
	int a = self->fd[0], b = self->fd[1];
	u64 m = EVFD_MMIO;

	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 2, a, PIO, 0));
	/* Same address and length, whatever the fd or datamatch. */
	EXPECT_EQ(-EEXIST, ioeventfd(vm, EVFD_PORT, 2, a, PIO, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, EVFD_PORT, 2, b, PIO, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, EVFD_PORT, 2, b, PIO | DM, 5));
	/* Any length collides with every length at the address. */
	EXPECT_EQ(-EEXIST, ioeventfd(vm, EVFD_PORT, 0, b, PIO, 0));
	/* Another length, another address, the other bus. */
	EXPECT_EQ(0, ioeventfd(vm, EVFD_PORT, 4, b, PIO, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_PORT + 1, 2, a, PIO, 0));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_PORT, 2, a, 0, 0));

	/* Datamatches: distinct values coexist, a wildcard does not. */
	EXPECT_EQ(0, ioeventfd(vm, m + 8, 4, a, DM, 1));
	EXPECT_EQ(0, ioeventfd(vm, m + 8, 4, a, DM, 2));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 8, 4, b, DM, 2));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 8, 4, b, 0, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 8, 0, b, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, m + 8, 8, b, DM, 2));

	/* Any length first: nothing else at its address. */
	EXPECT_EQ(0, ioeventfd(vm, m + 0x20, 0, a, 0, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 0x20, 1, b, 0, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 0x20, 8, b, DM, 3));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, m + 0x20, 0, b, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, m + 0x20, 0, a, PIO, 0));
}

/* Deassignment matches address, length, fd and datamatch (or its absence). */
TEST_F(evfd, ioeventfd_deassign)
{
	struct kvm_vm *vm = self->vm;
	int a = self->fd[0], b = self->fd[1];
	u64 m = EVFD_MMIO;

	ASSERT_EQ(0, ioeventfd(vm, m, 4, a, DM, 0x42));
	ASSERT_EQ(0, ioeventfd(vm, m + 0x10, 2, a, 0, 0));
	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 1, b, PIO | DM, 0x42));

	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 4, b, DM | DEASSIGN, 0x42));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 2, a, DM | DEASSIGN, 0x42));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m + 4, 4, a, DM | DEASSIGN, 0x42));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 4, a, DM | DEASSIGN, 0x43));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 4, a, DEASSIGN, 0x42));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 4, a, PIO | DM | DEASSIGN, 0x42));
	EXPECT_EQ(0, ioeventfd(vm, m, 4, a, DM | DEASSIGN, 0x42));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m, 4, a, DM | DEASSIGN, 0x42));
	/* Reassignable once gone. */
	EXPECT_EQ(0, ioeventfd(vm, m, 4, b, DM, 0x42));

	/* Without a datamatch, the datamatch field does not matter. */
	EXPECT_EQ(-ENOENT, ioeventfd(vm, m + 0x10, 2, a, DM | DEASSIGN, 0));
	EXPECT_EQ(0, ioeventfd(vm, m + 0x10, 2, a, DEASSIGN, 0x99));

	EXPECT_EQ(-ENOENT, ioeventfd(vm, EVFD_PORT, 1, b, DM | DEASSIGN, 0x42));
	EXPECT_EQ(0, ioeventfd(vm, EVFD_PORT, 1, b, PIO | DM | DEASSIGN, 0x42));
}

/* ------------------------------------------------------ ioeventfd guests */

/*
 * Wildcard and datamatch ioeventfds on ports: matching writes complete in
 * the kernel and signal; the others exit, in order.
 */
TEST_F(evfd, ioeventfd_pio_guest)
{
	struct kvm_vm *vm = self->vm;
	int *fd = self->fd;
	struct kvm_vcpu *vcpu;

	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_PROTECTED, &code_pio);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_PROTECTED, GUEST_CODE_GPA);

	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 4, fd[0], PIO | DM, 0x1234));
	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 4, fd[1], PIO | DM, 0x5678));
	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT + 0x10, 1, fd[2], PIO | DM, 0x5a));
	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT + 0x12, 2, fd[3], PIO, 0));

	/* 0x1234, 0x5678, 0x1234: no exit; then the 16-bit write. */
	run_expect_pio(_metadata, vcpu, EVFD_PORT, 2, 0x1234);
	EXPECT_EQ(2, efd_take(fd[0]));
	EXPECT_EQ(1, efd_take(fd[1]));
	/* Another port, then a value no datamatch wants. */
	run_expect_pio(_metadata, vcpu, EVFD_PORT + 4, 4, 0x9999);
	run_expect_pio(_metadata, vcpu, EVFD_PORT, 4, 0x9999);
	EXPECT_EQ(0, efd_take(fd[0]));
	EXPECT_EQ(0, efd_take(fd[1]));
	/* 0x5a matches, 0x5b does not; the 16-bit wildcard does. */
	run_expect_pio(_metadata, vcpu, EVFD_PORT + 0x10, 1, 0x5b);
	EXPECT_EQ(1, efd_take(fd[2]));
	run_expect_done(_metadata, vcpu);
	EXPECT_EQ(1, efd_take(fd[3]));
}

/* After deassignment the same write exits to userspace. */
TEST_F(evfd, ioeventfd_pio_deassigned)
{
	struct kvm_vm *vm = self->vm;
	int fd = self->fd[0];
	struct kvm_vcpu *vcpu;

	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_PROTECTED, &code_pio_twice);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_PROTECTED, GUEST_CODE_GPA);

	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 4, fd, PIO, 0));
	run_expect_report(_metadata, vcpu, 1);
	EXPECT_EQ(1, efd_take(fd));
	ASSERT_EQ(0, ioeventfd(vm, EVFD_PORT, 4, fd, PIO | DEASSIGN, 0));
	run_expect_pio(_metadata, vcpu, EVFD_PORT, 4, 7);
	EXPECT_EQ(0, efd_take(fd));
	run_expect_done(_metadata, vcpu);
}

/*
 * MMIO of each length with a datamatch, and of any length: matching
 * writes signal without an exit; a mismatch, a read, another length and
 * another address exit.
 */
TEST_F(evfd, ioeventfd_mmio_guest)
{
	struct kvm_vm *vm = self->vm;
	int *fd = self->fd;
	struct kvm_vcpu *vcpu;
	u64 m = EVFD_MMIO;
	int anylen;

	vm_setup_memory(vm);
	vm_load_code(vm, GUEST_MODE_LONG, &code_mmio);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, GUEST_CODE_GPA);

	anylen = efd_new();
	ASSERT_LE(0, anylen);
	ASSERT_EQ(0, ioeventfd(vm, m + 0x10, 1, fd[0], DM, 0x11));
	ASSERT_EQ(0, ioeventfd(vm, m + 0x20, 2, fd[1], DM, 0x2222));
	ASSERT_EQ(0, ioeventfd(vm, m + 0x30, 4, fd[2], DM, 0x33333333));
	ASSERT_EQ(0, ioeventfd(vm, m + 0x40, 8, fd[3], DM,
			       0x4444444444444444ULL));
	ASSERT_EQ(0, ioeventfd(vm, m + 0x50, 0, anylen, 0, 0));

	run_expect_mmio(_metadata, vcpu, m + 0x30, 4, true, 0x12345678);
	EXPECT_EQ(1, efd_take(fd[0]));
	EXPECT_EQ(1, efd_take(fd[1]));
	EXPECT_EQ(1, efd_take(fd[2]));
	EXPECT_EQ(1, efd_take(fd[3]));
	/* A read is not the ioeventfd's; nor is an 8-byte write. */
	run_expect_mmio(_metadata, vcpu, m + 0x30, 4, false, 0xabcd);
	run_expect_mmio(_metadata, vcpu, m + 0x30, 8, true,
			0x4444444444444444ULL);
	/* Any length: four writes; then the next byte exits. */
	run_expect_mmio(_metadata, vcpu, m + 0x51, 1, true, 4);
	EXPECT_EQ(4, efd_take(anylen));
	run_expect_report(_metadata, vcpu, 0xabcd);
	run_expect_done(_metadata, vcpu);
	EXPECT_EQ(0, efd_take(fd[2]));
	close(anylen);
}

/* ---------------------------------------------------------------- irqfd */

TEST_F(evfd, irqfd_needs_irqchip)
{
	struct kvm_vm *vm = self->vm;
	int fd = self->fd[0];

	EXPECT_EQ(-EINVAL, irqfd(vm, 5, fd, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, 5, fd, KVM_IRQFD_FLAG_RESAMPLE,
				 self->fd[1]));
	EXPECT_EQ(-EINVAL, irqfd(vm, 5, fd, BIT(2), 0));
	/* Deassigning nothing succeeds (as KVM). */
	EXPECT_EQ(0, irqfd(vm, 5, fd, KVM_IRQFD_FLAG_DEASSIGN, 0));
	/* The signal is still the eventfd's. */
	efd_signal(fd);
	EXPECT_EQ(1, efd_take(fd));
}

TEST_F(evfd, irqfd_assign)
{
	struct kvm_vm *vm = self->vm;
	int a = self->fd[0], b = self->fd[1], c = self->fd[2];
	int r = self->fd[3];
	int notefd;

	ASSERT_EQ(0, __vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));

	EXPECT_EQ(-EINVAL, irqfd(vm, 5, a, BIT(2), 0));
	EXPECT_EQ(-EBADF, irqfd(vm, 5, -1, 0, 0));
	notefd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, notefd);
	EXPECT_EQ(-EINVAL, irqfd(vm, 5, notefd, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, 5, a, KVM_IRQFD_FLAG_RESAMPLE, notefd));
	EXPECT_EQ(-EINVAL, irqfd(vm, 5, notefd, KVM_IRQFD_FLAG_DEASSIGN, 0));
	close(notefd);
	EXPECT_EQ(-EBADF, irqfd(vm, 5, a, KVM_IRQFD_FLAG_RESAMPLE, -1));

	/* One eventfd drives one irqfd; a GSI may have several. */
	ASSERT_EQ(0, irqfd(vm, 5, a, 0, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, 5, a, 0, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, 6, a, 0, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, 6, a, KVM_IRQFD_FLAG_RESAMPLE, r));
	EXPECT_EQ(0, irqfd(vm, 5, b, 0, 0));
	EXPECT_EQ(0, irqfd(vm, 5, c, KVM_IRQFD_FLAG_RESAMPLE, r));

	/* The irqfd takes its eventfd's signals. */
	efd_signal(a);
	EXPECT_EQ(0, efd_take(a));
	efd_signal(c);
	EXPECT_EQ(0, efd_take(c));

	/* Deassignment matches fd and GSI; 0 even when nothing matched. */
	EXPECT_EQ(0, irqfd(vm, 6, a, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, 7, a, 0, 0));
	EXPECT_EQ(0, irqfd(vm, 5, a, KVM_IRQFD_FLAG_DEASSIGN, 0));
	efd_signal(a);
	EXPECT_EQ(1, efd_take(a));
	EXPECT_EQ(0, irqfd(vm, 7, a, 0, 0));
	EXPECT_EQ(0, irqfd(vm, 7, a, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(0, irqfd(vm, 5, c, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(0, irqfd(vm, 5, c, KVM_IRQFD_FLAG_DEASSIGN |
			   KVM_IRQFD_FLAG_RESAMPLE, r));
	efd_signal(c);
	EXPECT_EQ(1, efd_take(c));

	/* A signal pending before assignment is delivered, not consumed. */
	efd_signal(a);
	EXPECT_EQ(0, irqfd(vm, 8, a, 0, 0));
	EXPECT_EQ(1, efd_take(a));
	/* Gone with its GSI's other irqfd still there: b stays. */
	efd_signal(b);
	EXPECT_EQ(0, efd_take(b));
}

/* Closing an assigned eventfd detaches the irqfd (EPOLLHUP). */
TEST_F(evfd, irqfd_close)
{
	struct kvm_vm *vm = self->vm;
	int i, fd;

	ASSERT_EQ(0, __vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	for (i = 0; i < 8; i++) {
		fd = efd_new();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, irqfd(vm, 9, fd, i & 1 ? KVM_IRQFD_FLAG_RESAMPLE : 0,
				   self->fd[0]));
		efd_signal(fd);
		close(fd);
	}
	/* And closing with one still assigned: the VM's teardown. */
	ASSERT_EQ(0, irqfd(vm, 9, self->fd[1], KVM_IRQFD_FLAG_RESAMPLE,
			   self->fd[0]));
	ASSERT_EQ(0, irqfd(vm, 10, self->fd[2], 0, 0));
}

/* ------------------------------------------------- irqfd through the IOAPIC */

struct signal_later {
	int fd;
	unsigned int delay_us;
};

static void *signal_thread(void *arg)
{
	struct signal_later *s = arg;

	usleep(s->delay_us);
	efd_signal(s->fd);
	return NULL;
}

FIXTURE(ioapic) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	bool loaded_here;
	int fd, resamplefd;
};

FIXTURE_VARIANT(ioapic) {
	bool resample;
};

FIXTURE_VARIANT_ADD(ioapic, edge) {
	.resample = false,
};

FIXTURE_VARIANT_ADD(ioapic, resample) {
	.resample = true,
};

FIXTURE_SETUP(ioapic)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	self->vm = NULL;
	self->fd = -1;
	self->resamplefd = -1;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->vm = vm_create();
	/* Before any vCPU, so that each gets its local APIC. */
	ASSERT_EQ(0, __vm_ioctl(self->vm, KVM_CREATE_IRQCHIP, 0)) {
		TH_LOG("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	}
	vm_setup_memory(self->vm);
	vm_load_code(self->vm, GUEST_MODE_PROTECTED, &code_ioapic);
	self->vcpu = vcpu_create(self->vm, 0);
	vcpu_setup_mode(self->vcpu, GUEST_MODE_PROTECTED, GUEST_CODE_GPA);
	vcpu_sregs_get(self->vcpu, &sregs);
	sregs.idt.limit = (IRQ_VECTOR + 1) * 8 - 1;
	vcpu_sregs_set(self->vcpu, &sregs);
	vcpu_regs_get(self->vcpu, &regs);
	regs.rbx = IRQ_PIN;
	regs.rcx = IRQ_VECTOR | (variant->resample ? REDIR_LEVEL : 0);
	vcpu_regs_set(self->vcpu, &regs);

	self->fd = efd_new();
	ASSERT_LE(0, self->fd);
	self->resamplefd = efd_new();
	ASSERT_LE(0, self->resamplefd);
	ASSERT_EQ(0, irqfd(self->vm, IRQ_PIN, self->fd,
			   variant->resample ? KVM_IRQFD_FLAG_RESAMPLE : 0,
			   self->resamplefd));
}

FIXTURE_TEARDOWN(ioapic)
{
	vm_free(self->vm);
	if (self->fd >= 0)
		close(self->fd);
	if (self->resamplefd >= 0)
		close(self->resamplefd);
	test_device_release(self->loaded_here);
}

/* Run once and expect the handler's report on @port; returns it. */
static u32 run_expect_handler(struct __test_metadata *_metadata,
			      struct kvm_vcpu *vcpu, u16 port)
{
	struct kvm_run *run = vcpu->run;
	u32 got = 0;

	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_IO, (int)run->exit_reason) {
		TH_LOG("expected the handler's report on %#x, got %s", port,
		       vcpu_exit_str(vcpu));
	}
	if (run->exit_reason != KVM_EXIT_IO)
		return 0;
	EXPECT_EQ(port, (int)run->io.port) {
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	}
	memcpy(&got, vcpu_io_data(vcpu), sizeof(got));
	return got;
}

/* One interrupt through the handler, which counts it: @n in all. */
static void expect_interrupt(struct __test_metadata *_metadata,
			     struct kvm_vcpu *vcpu, int resamplefd,
			     bool resample, unsigned int n)
{
	u32 redir;

	redir = run_expect_handler(_metadata, vcpu, IRQ_PRE_EOI_PORT);
	EXPECT_EQ(IRQ_VECTOR, (int)(redir & 0xff));
	/* Level-triggered: Remote IRR until the EOI; the line is held. */
	EXPECT_EQ(resample, !!(redir & REDIR_REMOTE_IRR)) {
		TH_LOG("redirection entry %#x before EOI", redir);
	}
	EXPECT_EQ(0, efd_take(resamplefd));
	redir = run_expect_handler(_metadata, vcpu, IRQ_POST_EOI_PORT);
	EXPECT_EQ(0, !!(redir & REDIR_REMOTE_IRR)) {
		TH_LOG("redirection entry %#x after EOI", redir);
	}
	/* The EOI resamples: deasserted, so not delivered again. */
	EXPECT_EQ(resample ? 1 : 0, efd_take(resamplefd));
	run_expect_report(_metadata, vcpu, n);
}

TEST_F(ioapic, irqfd_interrupt)
{
	struct signal_later later = { .fd = self->fd, .delay_us = 200000 };
	pthread_t thread;

	run_expect_report(_metadata, self->vcpu, 0);

	/* Signalled while the vCPU is halted (in the kernel). */
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_thread, &later));
	expect_interrupt(_metadata, self->vcpu, self->resamplefd,
			 variant->resample, 1);
	pthread_join(thread, NULL);

	/* Signalled before it runs: pending when it executes STI; HLT. */
	efd_signal(self->fd);
	expect_interrupt(_metadata, self->vcpu, self->resamplefd,
			 variant->resample, 2);
	EXPECT_EQ(0, efd_take(self->fd));

	/* Deassigned: the signal stays in the eventfd. */
	ASSERT_EQ(0, irqfd(self->vm, IRQ_PIN, self->fd,
			   KVM_IRQFD_FLAG_DEASSIGN, 0));
	efd_signal(self->fd);
	EXPECT_EQ(1, efd_take(self->fd));
}

TEST_HARNESS_MAIN
