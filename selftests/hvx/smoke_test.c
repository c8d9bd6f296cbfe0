// SPDX-License-Identifier: GPL-2.0
/*
 * First guest runs: a real-mode guest doing port I/O, HLT, CPUID and
 * memory writes; a spinning guest interrupted by a signal; a triple fault.
 * A KVM-API client: runs on /dev/kvm as well ($HVX_TEST_DEVICE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "util.h"

#define MEM_SIZE	0x10000
#define CODE_ADDR	0x1000

FIXTURE(guest) {
	int dev, vm, vcpu;
	struct kvm_run *run;
	unsigned char *mem;
	bool loaded_here;
};

FIXTURE_SETUP(guest)
{
	const char *path = getenv("HVX_TEST_DEVICE");
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int size;

	if (!path)
		path = HVX_DEVICE_PATH;
	self->loaded_here = false;
	if (!strcmp(path, HVX_DEVICE_PATH) && !module_loaded("hvx")) {
		ASSERT_EQ(0, hvx_load());
		self->loaded_here = true;
	}
	self->dev = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	self->vm = ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);

	self->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (unsigned long)self->mem,
	};
	ASSERT_EQ(0, ioctl(self->vm, KVM_SET_USER_MEMORY_REGION, &region));

	self->vcpu = ioctl(self->vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpu);
	size = ioctl(self->dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, size);
	self->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, self->run);

	/* Real mode, CS base 0, code at CODE_ADDR, RFLAGS.IF set. */
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_SET_SREGS, &sregs));
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x202;
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_SET_REGS, &regs));
}

FIXTURE_TEARDOWN(guest)
{
	close(self->vcpu);
	close(self->vm);
	close(self->dev);
	munmap(self->mem, MEM_SIZE);
	if (self->loaded_here)
		hvx_unload();
}

static void load_code(unsigned char *mem, const unsigned char *code,
		      size_t len)
{
	memcpy(mem + CODE_ADDR, code, len);
}

TEST_F(guest, port_io_hlt_cpuid_memory)
{
	static const unsigned char code[] = {
		0xb0, 0x42,		/* mov al, 0x42 */
		0xe6, 0x10,		/* out 0x10, al */
		0xe4, 0x11,		/* in al, 0x11 */
		0xe6, 0x12,		/* out 0x12, al */
		0xa2, 0x00, 0x20,	/* mov [0x2000], al */
		0x66, 0xb8, 0, 0, 0, 0,	/* mov eax, 0 */
		0x0f, 0xa2,		/* cpuid */
		0xf4,			/* hlt */
	};
	struct kvm_regs regs;
	unsigned char *data = (unsigned char *)self->run;

	load_code(self->mem, code, sizeof(code));

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	ASSERT_EQ((__u32)KVM_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ((__u32)KVM_EXIT_IO_OUT, self->run->io.direction);
	EXPECT_EQ((__u8)1, self->run->io.size);
	EXPECT_EQ((__u16)0x10, self->run->io.port);
	EXPECT_EQ((__u32)1, self->run->io.count);
	EXPECT_EQ(0x42, data[self->run->io.data_offset]);

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	ASSERT_EQ((__u32)KVM_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ((__u32)KVM_EXIT_IO_IN, self->run->io.direction);
	EXPECT_EQ((__u16)0x11, self->run->io.port);
	data[self->run->io.data_offset] = 0x99;

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	ASSERT_EQ((__u32)KVM_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ((__u16)0x12, self->run->io.port);
	EXPECT_EQ(0x99, data[self->run->io.data_offset]);

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	EXPECT_EQ((__u32)KVM_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0x99, self->mem[0x2000]);
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_GET_REGS, &regs));
	EXPECT_EQ((__u64)(CODE_ADDR + sizeof(code)), regs.rip);
}

static void on_alarm(int sig)
{
}

/* A guest that never exits by itself gives the CPU back on a signal. */
TEST_F(guest, signal_interrupts_spinning_guest)
{
	static const unsigned char code[] = { 0xeb, 0xfe };	/* jmp $ */
	struct sigaction sa = { .sa_handler = on_alarm };

	load_code(self->mem, code, sizeof(code));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-1, ioctl(self->vcpu, KVM_RUN, 0));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ((__u32)KVM_EXIT_INTR, self->run->exit_reason);

	/* immediate_exit: KVM_RUN returns at once. */
	self->run->immediate_exit = 1;
	EXPECT_EQ(-1, ioctl(self->vcpu, KVM_RUN, 0));
	EXPECT_EQ(EINTR, errno);
	self->run->immediate_exit = 0;
}

TEST_F(guest, triple_fault_is_shutdown)
{
	static const unsigned char code[] = { 0xcc };		/* int3 */
	struct kvm_sregs sregs;

	load_code(self->mem, code, sizeof(code));
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_GET_SREGS, &sregs));
	sregs.idt.limit = 0;
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_SET_SREGS, &sregs));
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	EXPECT_EQ((__u32)KVM_EXIT_SHUTDOWN, self->run->exit_reason);
}

TEST_HARNESS_MAIN
