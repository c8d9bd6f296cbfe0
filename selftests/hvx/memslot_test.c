// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slot flags: KVM_MEM_READONLY and KVM_MEM_LOG_DIRTY_PAGES.
 *
 * A read-only slot reads and executes as memory, and a guest store to it
 * exits as KVM_EXIT_MMIO (is_write, the address, the data) with the VMM's
 * memory unchanged; the flag cannot be changed on an existing slot.  With
 * dirty logging, KVM_GET_DIRTY_LOG reports exactly the pages the guest
 * wrote since the last call (reads of pages the guest has do not count;
 * the next call after it reports nothing), including a page written by an emulated instruction
 * (MOVS from MMIO), and turning logging on for a slot the guest used
 * starts with a clean log.  Errors as KVM's: ENOENT for a slot without
 * logging or without a slot, EINVAL for an id out of range, EFAULT for a
 * bad bitmap.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

#define TEST_SLOT	1
#define TEST_PAGES	64
#define TEST_SIZE	(TEST_PAGES * 0x1000UL)

/*
 * rCX pages from rBX on, rDX bytes apart: stores of EAX where ESI is not
 * 0, else loads.
 */
GUEST_CODE(touch_pages,
	   "1: testl %esi, %esi\n"
	   "jz 2f\n"
	   "movl %eax, (%ebx)\n"
	   "jmp 3f\n"
	   "2: movl (%ebx), %edi\n"
	   "3: addl %edx, %ebx\n"
	   "loop 1b\n"
	   GUEST_DONE);

/* A load from (rBX), reported, then a store of 0x55667788 there. */
GUEST_CODE(load_store,
	   "movl (%ebx), %eax\n"
	   GUEST_REPORT
	   "movl $0x55667788, (%ebx)\n"
	   GUEST_DONE);

/* One MOVSL from the MMIO page (rSI) to memory (rDI). */
GUEST_CODE(movs_from_mmio,
	   "movsl\n"
	   GUEST_DONE);

FIXTURE(mem) {
	bool loaded_here;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	u8 *hva;
};

FIXTURE_SETUP(mem)
{
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->hva = mmap(NULL, TEST_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->hva);
	self->vm = NULL;
}

FIXTURE_TEARDOWN(mem)
{
	if (self->vm)
		vm_free(self->vm);
	munmap(self->hva, TEST_SIZE);
	test_device_release(self->loaded_here);
}

static struct kvm_vm *guest(struct kvm_vcpu **vcpu,
			    const struct guest_code *code)
{
	return vm_create_guest(GUEST_MODE_LONG, code, vcpu);
}

static int set_slot(struct kvm_vm *vm, u32 flags, void *hva)
{
	return __vm_set_region(vm, TEST_SLOT, flags, GUEST_HIGH, TEST_SIZE,
			       hva);
}

/* Runs touch_pages over pages first, first + stride, ... (count). */
static void touch(struct kvm_vcpu *vcpu, bool write, u32 value,
		  unsigned int first, unsigned int stride, unsigned int count)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	regs.rip = GUEST_CODE_GPA;
	regs.rax = value;
	regs.rbx = GUEST_HIGH + first * 0x1000UL;
	regs.rcx = count;
	regs.rdx = stride * 0x1000UL;
	regs.rsi = write;
	vcpu_regs_set(vcpu, &regs);
	vcpu_run_done(vcpu);
}

static int get_log(struct kvm_vm *vm, u32 slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return __vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
}

/* The bitmap of TEST_SLOT; asserts the ioctl. */
static u64 dirty_log(struct kvm_vm *vm)
{
	u64 bitmap = ~0ULL;

	KVM_ASSERT(get_log(vm, TEST_SLOT, &bitmap) == 0,
		   "KVM_GET_DIRTY_LOG: %s", strerror(errno));
	return bitmap;
}

static u64 pages_mask(unsigned int first, unsigned int stride,
		      unsigned int count)
{
	u64 m = 0;

	while (count--) {
		m |= 1ULL << first;
		first += stride;
	}
	return m;
}

TEST_F(mem, readonly_loads_and_mmio_stores)
{
	struct kvm_run *run;
	struct kvm_regs regs;
	u32 data;

	if (!kvm_check_cap(KVM_CAP_READONLY_MEM))
		SKIP(return, "no KVM_CAP_READONLY_MEM");
	self->vm = guest(&self->vcpu, &load_store);
	run = self->vcpu->run;
	*(u32 *)self->hva = 0x11223344;
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_READONLY, self->hva));

	vcpu_regs_get(self->vcpu, &regs);
	regs.rbx = GUEST_HIGH;
	vcpu_regs_set(self->vcpu, &regs);
	EXPECT_EQ(0x11223344U, vcpu_run_value(self->vcpu));

	/* The store is MMIO: the VMM sees it, its memory does not change. */
	vcpu_run(self->vcpu);
	ASSERT_EQ((u32)KVM_EXIT_MMIO, run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(self->vcpu));
	EXPECT_EQ(GUEST_HIGH, run->mmio.phys_addr);
	EXPECT_EQ(4U, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	memcpy(&data, run->mmio.data, 4);
	EXPECT_EQ(0x55667788U, data);
	EXPECT_EQ(0x11223344U, *(u32 *)self->hva);
	vcpu_run_done(self->vcpu);
	EXPECT_EQ(0x11223344U, *(u32 *)self->hva);
}

TEST_F(mem, readonly_flag_is_fixed)
{
	if (!kvm_check_cap(KVM_CAP_READONLY_MEM))
		SKIP(return, "no KVM_CAP_READONLY_MEM");
	self->vm = vm_create();
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_READONLY, self->hva));
	EXPECT_EQ(-1, set_slot(self->vm, 0, self->hva));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	EXPECT_EQ(EINVAL, errno);
	/* Dirty logging alongside is a flag change that is allowed. */
	EXPECT_EQ(0, set_slot(self->vm, KVM_MEM_READONLY |
			      KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	EXPECT_EQ(0, __vm_set_region(self->vm, TEST_SLOT, 0, GUEST_HIGH, 0,
				     self->hva));

	ASSERT_EQ(0, set_slot(self->vm, 0, self->hva));
	EXPECT_EQ(-1, set_slot(self->vm, KVM_MEM_READONLY, self->hva));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mem, dirty_log_reports_written_pages)
{
	unsigned int i;

	self->vm = guest(&self->vcpu, &touch_pages);
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	EXPECT_EQ(0ULL, dirty_log(self->vm));

	/* Every third page written. */
	touch(self->vcpu, true, 0xabcd0001, 0, 3, 22);
	EXPECT_EQ(pages_mask(0, 3, 22), dirty_log(self->vm));
	for (i = 0; i < TEST_PAGES; i += 3)
		EXPECT_EQ(0xabcd0001U, *(u32 *)(self->hva + i * 0x1000UL));
	/* Reported once. */
	EXPECT_EQ(0ULL, dirty_log(self->vm));

	/*
	 * Every page written (the first access to most of them), reported
	 * once.  Then reads do not dirty (of pages the guest has: a read
	 * that faults a page in may count on KVM), and a write to a page
	 * reported before does.
	 */
	touch(self->vcpu, true, 0xabcd0002, 0, 1, TEST_PAGES);
	EXPECT_EQ(~0ULL, dirty_log(self->vm));
	EXPECT_EQ(0ULL, dirty_log(self->vm));
	touch(self->vcpu, false, 0, 0, 1, TEST_PAGES);
	EXPECT_EQ(0ULL, dirty_log(self->vm));
	touch(self->vcpu, true, 0xabcd0003, 3, 1, 2);
	touch(self->vcpu, true, 0xabcd0003, 63, 1, 1);
	EXPECT_EQ(pages_mask(3, 1, 2) | 1ULL << 63, dirty_log(self->vm));
	EXPECT_EQ(0xabcd0003U, *(u32 *)(self->hva + 4 * 0x1000UL));
	EXPECT_EQ(0xabcd0003U, *(u32 *)(self->hva + 63 * 0x1000UL));
	EXPECT_EQ(0xabcd0002U, *(u32 *)(self->hva + 5 * 0x1000UL));

	/* Written again after the report: reported again. */
	touch(self->vcpu, true, 0xabcd0004, 3, 1, 1);
	EXPECT_EQ(1ULL << 3, dirty_log(self->vm));
	EXPECT_EQ(0ULL, dirty_log(self->vm));
}

TEST_F(mem, dirty_log_turned_on_later)
{
	self->vm = guest(&self->vcpu, &touch_pages);
	ASSERT_EQ(0, set_slot(self->vm, 0, self->hva));
	EXPECT_EQ(-1, get_log(self->vm, TEST_SLOT, &(u64){ 0 }));
	EXPECT_EQ(ENOENT, errno);
	touch(self->vcpu, true, 1, 0, 1, TEST_PAGES);

	/* Writes before logging do not count; those after do. */
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	EXPECT_EQ(0ULL, dirty_log(self->vm));
	touch(self->vcpu, true, 2, 5, 1, 1);
	EXPECT_EQ(1ULL << 5, dirty_log(self->vm));
	EXPECT_EQ(2U, *(u32 *)(self->hva + 5 * 0x1000UL));
	EXPECT_EQ(1U, *(u32 *)(self->hva + 6 * 0x1000UL));

	/* Off again: no log, and writes go on. */
	ASSERT_EQ(0, set_slot(self->vm, 0, self->hva));
	EXPECT_EQ(-1, get_log(self->vm, TEST_SLOT, &(u64){ 0 }));
	EXPECT_EQ(ENOENT, errno);
	touch(self->vcpu, true, 3, 0, 1, TEST_PAGES);
	EXPECT_EQ(3U, *(u32 *)(self->hva + 63 * 0x1000UL));
}

/* An emulated store (MOVS from MMIO) dirties the page it writes. */
TEST_F(mem, dirty_log_sees_emulated_stores)
{
	struct kvm_run *run;
	struct kvm_regs regs;
	u32 data = 0x5a5aa5a5;

	self->vm = guest(&self->vcpu, &movs_from_mmio);
	run = self->vcpu->run;
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	vcpu_regs_get(self->vcpu, &regs);
	regs.rsi = GUEST_MMIO;
	regs.rdi = GUEST_HIGH + 9 * 0x1000UL + 0x10;
	vcpu_regs_set(self->vcpu, &regs);

	vcpu_run(self->vcpu);
	ASSERT_EQ((u32)KVM_EXIT_MMIO, run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(self->vcpu));
	EXPECT_EQ(GUEST_MMIO, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	memcpy(run->mmio.data, &data, 4);
	vcpu_run_done(self->vcpu);
	EXPECT_EQ(data, *(u32 *)(self->hva + 9 * 0x1000UL + 0x10));
	EXPECT_EQ(1ULL << 9, dirty_log(self->vm));
}

TEST_F(mem, dirty_log_errors)
{
	u64 bitmap;

	self->vm = vm_create();
	/* No slot, a slot without logging: ENOENT. */
	EXPECT_EQ(-1, get_log(self->vm, TEST_SLOT, &bitmap));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, set_slot(self->vm, 0, self->hva));
	EXPECT_EQ(-1, get_log(self->vm, TEST_SLOT, &bitmap));
	EXPECT_EQ(ENOENT, errno);
	/* Ids beyond the slots, other address spaces: EINVAL. */
	EXPECT_EQ(-1, get_log(self->vm, 0x7fff, &bitmap));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, get_log(self->vm, 0x7f0001, &bitmap));
	EXPECT_EQ(EINVAL, errno);
	/* A bitmap the VMM cannot write: EFAULT, and the log stays usable. */
	ASSERT_EQ(0, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES, self->hva));
	EXPECT_EQ(-1, get_log(self->vm, TEST_SLOT, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, get_log(self->vm, TEST_SLOT, &bitmap));
	EXPECT_EQ(0ULL, bitmap);
	/* Unknown slot flags. */
	EXPECT_EQ(-1, set_slot(self->vm, KVM_MEM_LOG_DIRTY_PAGES | 1U << 3,
			       self->hva));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
