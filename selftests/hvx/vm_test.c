// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU basics: the vCPU reset state, vCPU creation, memory slots
 * (created, deleted and replaced while the VM lives, shared between guest
 * and VMM, validated) and what a guest sees outside them.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

/* Read 32 bits at %esi, step %esi by 0x2000, %ecx times. */
GUEST_CODE(code_walk,
	   "1:\n"
	   "movl (%esi), %eax\n"
	   GUEST_REPORT
	   "addl $0x2000, %esi\n"
	   "decl %ecx\n"
	   "jnz 1b\n"
	   GUEST_DONE);

/* Forever: read (%esi), write its complement to 4(%esi), report it. */
GUEST_CODE(code_rw_loop,
	   "1:\n"
	   "movl (%esi), %eax\n"
	   "notl %eax\n"
	   "movl %eax, 4(%esi)\n"
	   "notl %eax\n"
	   GUEST_REPORT
	   "jmp 1b\n");

#define RESET_VECTOR_PAGE	0xfffff000UL

FIXTURE(vm) {
	struct kvm_vm *vm;
	bool loaded_here;
};

FIXTURE_SETUP(vm)
{
	self->vm = NULL;
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
	self->vm = vm_create();
}

FIXTURE_TEARDOWN(vm)
{
	vm_free(self->vm);
	test_device_release(self->loaded_here);
}

static void expect_real_seg(struct __test_metadata *_metadata,
			    const struct kvm_segment *s, const char *name,
			    u16 selector, u64 base, u8 type)
{
	EXPECT_EQ(selector, s->selector) TH_LOG("%s", name);
	EXPECT_EQ(base, s->base) TH_LOG("%s", name);
	EXPECT_EQ(0xffffU, s->limit) TH_LOG("%s", name);
	EXPECT_EQ(type, s->type) TH_LOG("%s", name);
	EXPECT_EQ(1, s->present) TH_LOG("%s", name);
}

static void expect_reset_state(struct __test_metadata *_metadata,
			       struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_sregs_get(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);

	/* Intel SDM vol. 3, 9.1.1 "Processor State After Reset". */
	expect_real_seg(_metadata, &sregs.cs, "cs", 0xf000, 0xffff0000, 0xb);
	expect_real_seg(_metadata, &sregs.ds, "ds", 0, 0, 0x3);
	expect_real_seg(_metadata, &sregs.es, "es", 0, 0, 0x3);
	expect_real_seg(_metadata, &sregs.fs, "fs", 0, 0, 0x3);
	expect_real_seg(_metadata, &sregs.gs, "gs", 0, 0, 0x3);
	expect_real_seg(_metadata, &sregs.ss, "ss", 0, 0, 0x3);
	EXPECT_EQ(0U, sregs.tr.selector);
	EXPECT_EQ(0U, sregs.ldt.selector);
	EXPECT_EQ(0U, sregs.gdt.base);
	EXPECT_EQ(0xffffU, sregs.gdt.limit);
	EXPECT_EQ(0U, sregs.idt.base);
	EXPECT_EQ(0xffffU, sregs.idt.limit);
	EXPECT_EQ(0x60000010U, sregs.cr0);
	EXPECT_EQ(0U, sregs.cr2);
	EXPECT_EQ(0U, sregs.cr3);
	EXPECT_EQ(0U, sregs.cr4);
	EXPECT_EQ(0U, sregs.efer);

	EXPECT_EQ(0xfff0U, regs.rip);
	EXPECT_EQ(X86_RFLAGS_FIXED, regs.rflags);
	EXPECT_EQ(0U, regs.rax);
	EXPECT_EQ(0U, regs.rbx);
	EXPECT_EQ(0U, regs.rcx);
	EXPECT_EQ(0U, regs.rsp);
	EXPECT_EQ(0U, regs.rbp);
	EXPECT_EQ(0U, regs.rsi);
	EXPECT_EQ(0U, regs.rdi);
}

/* A new vCPU is in the x86 reset state; its kvm_run is mapped. */
TEST_F(vm, vcpu_reset_state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kvm_vcpu *vcpu;

	EXPECT_LE((int)sizeof(struct kvm_run), self->vm->run_size);
	EXPECT_EQ(0, self->vm->run_size % page);
	vcpu = vcpu_create(self->vm, 0);
	expect_reset_state(_metadata, vcpu);
	EXPECT_EQ(KVM_EXIT_UNKNOWN, (int)vcpu->run->exit_reason);
	EXPECT_EQ(0, vcpu->run->immediate_exit);
}

/*
 * A vCPU run without any set-up starts at the reset vector, 0xfffffff0:
 * with HLT there, it exits with KVM_EXIT_HLT at CS:IP f000:fff1.
 */
TEST_F(vm, runs_from_reset_vector)
{
	u8 *page = vm_add_slot(self->vm, 1, RESET_VECTOR_PAGE, 0x1000);
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;

	page[0xff0] = 0xf4;	/* hlt */
	vcpu = vcpu_create(self->vm, 0);
	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_HLT, (int)vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0xfff1U, regs.rip);
}

/* vCPU ids 0..15, each with its own fd, mapping and reset state. */
TEST_F(vm, create_16_vcpus)
{
	u8 *page = vm_add_slot(self->vm, 1, RESET_VECTOR_PAGE, 0x1000);
	int max_vcpus = kvm_check_cap(KVM_CAP_MAX_VCPUS);
	int max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	struct kvm_vcpu *vcpus[16];
	int i, j, fd;

	page[0xff0] = 0xf4;	/* hlt */
	if (max_vcpus)
		EXPECT_LE(16, max_vcpus);
	for (i = 0; i < 16; i++) {
		vcpus[i] = vcpu_create(self->vm, i);
		for (j = 0; j < i; j++)
			EXPECT_NE(vcpus[j]->fd, vcpus[i]->fd);
	}
	for (i = 0; i < 16; i++) {
		expect_reset_state(_metadata, vcpus[i]);
		vcpu_run(vcpus[i]);
		EXPECT_EQ(KVM_EXIT_HLT, (int)vcpus[i]->run->exit_reason)
			TH_LOG("vCPU %d: %s", i, vcpu_exit_str(vcpus[i]));
	}

	/* An id in use: EEXIST.  An id beyond the maximum: EINVAL. */
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_CREATE_VCPU, 3));
	EXPECT_EQ(EEXIST, errno);
	if (max_id > 0) {
		fd = __vm_ioctl(self->vm, KVM_CREATE_VCPU, max_id);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_CREATE_VCPU, 0x7fffffff));
	EXPECT_EQ(EINVAL, errno);
	TH_LOG("KVM_CAP_MAX_VCPUS %d, KVM_CAP_MAX_VCPU_ID %d", max_vcpus,
	       max_id);
}

static void walk_slots(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu, int n, const u32 *want,
		       const bool *present)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	u32 mmio;
	int i;

	vcpu_regs_get(vcpu, &regs);
	regs.rip = GUEST_CODE_GPA;
	regs.rsi = GUEST_HIGH;
	regs.rcx = n;
	vcpu_regs_set(vcpu, &regs);
	for (i = 0; i < n; i++) {
		u64 gpa = GUEST_HIGH + i * 0x2000UL;

		if (!present[i]) {
			/* Outside every slot: MMIO, answered by the VMM. */
			vcpu_run(vcpu);
			ASSERT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason)
				TH_LOG("page %d: %s", i, vcpu_exit_str(vcpu));
			EXPECT_EQ(gpa, run->mmio.phys_addr);
			EXPECT_EQ(4U, run->mmio.len);
			EXPECT_EQ(0, run->mmio.is_write);
			mmio = 0xffff0000 | i;
			memcpy(run->mmio.data, &mmio, 4);
		}
		EXPECT_EQ(want[i], vcpu_run_value(vcpu)) TH_LOG("page %d", i);
	}
	vcpu_run_done(vcpu);
}

/*
 * 32 slots at once; deleting and re-creating slots while the VM lives and
 * its vCPU has already touched them: the guest sees each change.
 */
TEST_F(vm, slots_32)
{
	int nr = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	u32 want[31];
	bool present[31];
	struct kvm_vcpu *vcpu;
	u32 *page;
	int i;

	if (nr)
		EXPECT_LE(32, nr);
	vm_setup_memory(self->vm);
	vm_load_code(self->vm, GUEST_MODE_PAGED, &code_walk);
	for (i = 0; i < 31; i++) {
		page = vm_add_slot(self->vm, i + 1, GUEST_HIGH + i * 0x2000UL,
				   0x1000);
		*page = want[i] = 0xab000000 | i;
		present[i] = true;
	}
	vcpu = vcpu_create(self->vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_PAGED, GUEST_CODE_GPA);
	walk_slots(_metadata, vcpu, 31, want, present);

	/* Delete every other slot: those pages become MMIO. */
	for (i = 0; i < 31; i += 2) {
		vm_delete_slot(self->vm, i + 1);
		present[i] = false;
		want[i] = 0xffff0000 | i;
	}
	walk_slots(_metadata, vcpu, 31, want, present);

	/* Re-create them on new memory: the guest sees the new pages. */
	for (i = 0; i < 31; i += 2) {
		page = vm_add_slot(self->vm, i + 1, GUEST_HIGH + i * 0x2000UL,
				   0x1000);
		*page = want[i] = 0xcd000000 | i;
		present[i] = true;
	}
	walk_slots(_metadata, vcpu, 31, want, present);
	TH_LOG("KVM_CAP_NR_MEMSLOTS %d", nr);
}

/* Run code_rw_loop once: the value read at GUEST_HIGH. */
static u32 rw_once(struct kvm_vcpu *vcpu)
{
	return vcpu_run_value(vcpu);
}

/*
 * Guest writes show in the VMM's mapping and VMM writes in the guest; a
 * slot replaced by one on other memory, deleted (the guest gets MMIO) and
 * re-created under another id while the VM lives.
 */
TEST_F(vm, memory_shared_and_replaced)
{
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_run *run;
	u32 *a, *b, x;

	vm_setup_memory(self->vm);
	vm_load_code(self->vm, GUEST_MODE_LONG, &code_rw_loop);
	a = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, 0x1000, a));
	vcpu = vcpu_create(self->vm, 0);
	run = vcpu->run;
	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, GUEST_CODE_GPA);
	vcpu_regs_get(vcpu, &regs);
	regs.rsi = GUEST_HIGH;
	vcpu_regs_set(vcpu, &regs);

	a[0] = 0x11111111;
	EXPECT_EQ(0x11111111U, rw_once(vcpu));
	EXPECT_EQ(~0x11111111U, a[1]);
	a[0] = 0x22222222;
	EXPECT_EQ(0x22222222U, rw_once(vcpu));
	EXPECT_EQ(~0x22222222U, a[1]);

	/* Replace: same slot and address, other memory. */
	b[0] = 0x33333333;
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, 0, a));
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, 0x1000, b));
	EXPECT_EQ(0x33333333U, rw_once(vcpu));
	EXPECT_EQ(~0x33333333U, b[1]);
	EXPECT_EQ(~0x22222222U, a[1]);	/* the old memory is left alone */

	/* Delete: the read and the write become MMIO exits. */
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, 0, b));
	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	EXPECT_EQ(GUEST_HIGH, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	EXPECT_EQ(4U, run->mmio.len);
	x = 0x44444444;
	memcpy(run->mmio.data, &x, 4);
	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_MMIO, (int)run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	EXPECT_EQ(GUEST_HIGH + 4, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(4U, run->mmio.len);
	memcpy(&x, run->mmio.data, 4);
	EXPECT_EQ(~0x44444444U, x);
	EXPECT_EQ(0x44444444U, vcpu_run_value(vcpu));

	/* Re-create under another slot id, on the first memory. */
	a[0] = 0x55555555;
	ASSERT_EQ(0, __vm_set_region(self->vm, 7, 0, GUEST_HIGH, 0x1000, a));
	EXPECT_EQ(0x55555555U, rw_once(vcpu));
	EXPECT_EQ(~0x55555555U, a[1]);
	EXPECT_EQ(~0x33333333U, b[1]);
	ASSERT_EQ(0, __vm_set_region(self->vm, 7, 0, GUEST_HIGH, 0, a));
	munmap(a, 0x1000);
	munmap(b, 0x1000);
}

#define EXPECT_REGION_ERR(err, slot, flags, gpa, size, hva)		\
	do {								\
		EXPECT_EQ(-1, __vm_set_region(self->vm, slot, flags,	\
					      gpa, size, hva));		\
		EXPECT_EQ(err, errno);					\
	} while (0)

/* KVM_SET_USER_MEMORY_REGION refuses bad regions and creates nothing. */
TEST_F(vm, slot_validation)
{
	int nr = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	const u64 free_gpa = GUEST_HIGH + 0x100000;
	void *kernel = (void *)0xffff888000000000UL;
	char *mem;

	mem = vm_add_slot(self->vm, 1, GUEST_HIGH, 0x2000);

	/* Misaligned guest address, host address, size. */
	EXPECT_REGION_ERR(EINVAL, 2, 0, free_gpa + 0x800, 0x1000, mem);
	EXPECT_REGION_ERR(EINVAL, 2, 0, free_gpa, 0x1000, mem + 0x10);
	EXPECT_REGION_ERR(EINVAL, 2, 0, free_gpa, 0x1800, mem);
	/* Guest range wrapping around. */
	EXPECT_REGION_ERR(EINVAL, 2, 0, 0xfffffffffffff000ULL, 0x2000, mem);
	/* Host memory the caller cannot access. */
	EXPECT_REGION_ERR(EINVAL, 2, 0, free_gpa, 0x1000, kernel);
	/* Overlapping slot 1, exactly and in part. */
	EXPECT_REGION_ERR(EEXIST, 2, 0, GUEST_HIGH, 0x2000, mem);
	EXPECT_REGION_ERR(EEXIST, 2, 0, GUEST_HIGH + 0x1000, 0x2000, mem);
	EXPECT_REGION_ERR(EEXIST, 2, 0, GUEST_HIGH - 0x1000, 0x2000, mem);
	/* Slot ids out of range, address spaces that do not exist. */
	EXPECT_REGION_ERR(EINVAL, 0xffff, 0, free_gpa, 0x1000, mem);
	if (nr > 0)
		EXPECT_REGION_ERR(EINVAL, nr, 0, free_gpa, 0x1000, mem);
	EXPECT_REGION_ERR(EINVAL, 0x7fff0002, 0, free_gpa, 0x1000, mem);
	/* Unknown flags. */
	EXPECT_REGION_ERR(EINVAL, 2, 1U << 3, free_gpa, 0x1000, mem);
	EXPECT_REGION_ERR(EINVAL, 2, 1U << 31, free_gpa, 0x1000, mem);
	/* A slot cannot be resized or moved to other memory in place. */
	EXPECT_REGION_ERR(EINVAL, 1, 0, GUEST_HIGH, 0x1000, mem);
	EXPECT_REGION_ERR(EINVAL, 1, 0, GUEST_HIGH, 0x2000, mem + 0x1000);
	/* Deleting a slot that does not exist. */
	EXPECT_REGION_ERR(EINVAL, 9, 0, free_gpa, 0, mem);

	/* None of that created anything: the free range is still free. */
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, free_gpa, 0x1000, mem));
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, free_gpa, 0, mem));
}

/*
 * With KVM_CAP_SYNC_MMU, "changes in the backing of the memory region are
 * automatically reflected into the guest" (api.rst): a new mapping at the
 * slot's address shows in the guest; with none, KVM_RUN fails (EFAULT).
 */
TEST_F(vm, slot_backing_follows_mmap)
{
	const int prot = PROT_READ | PROT_WRITE;
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	u32 *a;
	int r;

	if (!kvm_check_cap(KVM_CAP_SYNC_MMU))
		SKIP(return, "the device does not have KVM_CAP_SYNC_MMU");
	vm_setup_memory(self->vm);
	vm_load_code(self->vm, GUEST_MODE_LONG, &code_rw_loop);
	a = vm_add_slot(self->vm, 1, GUEST_HIGH, 0x1000);
	vcpu = vcpu_create(self->vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, GUEST_CODE_GPA);
	vcpu_regs_get(vcpu, &regs);
	regs.rsi = GUEST_HIGH;
	vcpu_regs_set(vcpu, &regs);

	a[0] = 0x11111111;
	EXPECT_EQ(0x11111111U, rw_once(vcpu));

	ASSERT_EQ(a, mmap(a, 0x1000, prot, flags, -1, 0));
	a[0] = 0x22222222;
	EXPECT_EQ(0x22222222U, rw_once(vcpu));
	EXPECT_EQ(~0x22222222U, a[1]);

	ASSERT_EQ(0, munmap(a, 0x1000));
	r = __vcpu_run(vcpu);
	EXPECT_EQ(-1, r) TH_LOG("got %s", vcpu_exit_str(vcpu));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(a, mmap(a, 0x1000, prot, flags, -1, 0));
	a[0] = 0x33333333;
	EXPECT_EQ(0x33333333U, rw_once(vcpu));
	EXPECT_EQ(~0x33333333U, a[1]);
}

TEST_HARNESS_MAIN
