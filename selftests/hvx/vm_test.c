// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU basics: the vCPU reset state, vCPU creation, memory slots
 * (created, deleted and replaced while the VM lives, shared between guest
 * and VMM, validated, sized up to the guest's physical-address width) and
 * what a guest sees outside them; FPU and XSAVE state from the VMM
 * validated before it reaches the processor; and (hvx only) a failed VMX
 * instruction failing the ioctl.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Report 42. */
GUEST_CODE(code_report,
	   "movl $42, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE);

#define RESET_VECTOR_PAGE	0xfffff000UL
#define INJECT_VMFAIL	"/sys/module/hvx/parameters/inject_vmfail"

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

/* The guest's physical-address width, as the device reports it. */
static unsigned int maxphyaddr(void)
{
	const struct kvm_cpuid2 *c = kvm_supported_cpuid();
	unsigned int i;

	for (i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008 &&
		    (c->entries[i].eax & 0xff))
			return c->entries[i].eax & 0xff;
	return 36;
}

/*
 * A slot must end within the guest's physical-address width (as KVM checks
 * it, against the host's MAXPHYADDR that EPT translates) and hold at most
 * 2^31 - 1 pages: EINVAL, quietly, whatever the size.  Nothing is created.
 */
TEST_F(vm, slot_beyond_maxphyaddr)
{
	unsigned int bits = maxphyaddr();
	u64 top = 1ULL << bits;
	/* Never touched: KVM and hvx take any host range access_ok() allows. */
	void *hva = (void *)(1ULL << 40);
	void *mem;

	TH_LOG("MAXPHYADDR %u", bits);
	/* One page past the top; the last page below it is fine. */
	EXPECT_REGION_ERR(EINVAL, 2, 0, top - 0x1000, 0x2000, hva);
	EXPECT_REGION_ERR(EINVAL, 2, 0, top, 0x1000, hva);
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, top - 0x1000, 0x1000,
				     hva));
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, top - 0x1000, 0, hva));
	/*
	 * 1 TiB ending one page past the top (from 0 if the width is below
	 * 40 bits).  Within the width, hvx takes 1 TiB and it costs nothing
	 * until the guest touches it; KVM 6.1 fails it with ENOMEM and a
	 * vmalloc warning (2 bytes of page tracking per page).
	 */
	if (bits < 40) {
		EXPECT_REGION_ERR(EINVAL, 2, 0, 0, 1ULL << 40, hva);
	} else {
		EXPECT_REGION_ERR(EINVAL, 2, 0, top - (1ULL << 40) + 0x1000,
				  1ULL << 40, hva);
		if (test_device_is_hvx()) {
			EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0,
						     top - (1ULL << 40),
						     1ULL << 40, hva));
			EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0,
						     top - (1ULL << 40), 0,
						     hva));
		}
	}
	/* KVM_MEM_MAX_NR_PAGES + 1 pages (8 TiB), whatever the width. */
	EXPECT_REGION_ERR(EINVAL, 2, 0, 0, 1ULL << 43, hva);
	/* Moving a slot beyond the top is refused the same way. */
	mem = vm_add_slot(self->vm, 3, GUEST_HIGH, 0x2000);
	EXPECT_REGION_ERR(EINVAL, 3, 0, top - 0x1000, 0x2000, mem);
	/* Nothing was created: the range is free. */
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, top - 0x2000, 0x2000,
				     hva));
	EXPECT_EQ(0, __vm_set_region(self->vm, 2, 0, top - 0x2000, 0, hva));
}

#define HUGE_SLOT		(128ULL << 30)

/*
 * A 128 GiB slot costs the kernel nothing up front, the guest touching a
 * few of its pages costs a few pages, and deleting it is quick: slot
 * bookkeeping follows what the guest touched, not the slot's size.
 */
TEST_F(vm, huge_slot_is_cheap)
{
	const u32 want[3] = { 0x11111111, 0x22222222, 0x33333333 };
	const bool present[3] = { true, true, true };
	long before, created, touched;
	struct kvm_vcpu *vcpu;
	double t0, create_s, delete_s;
	u8 *mem;
	int i;

	if (maxphyaddr() < 38)
		SKIP(return, "MAXPHYADDR below 38 bits");
	mem = mmap(NULL, HUGE_SLOT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < 3; i++)
		*(u32 *)(mem + i * 0x2000UL) = want[i];
	vm_setup_memory(self->vm);
	vm_load_code(self->vm, GUEST_MODE_PAGED, &code_walk);
	vcpu = vcpu_create(self->vm, 0);
	vcpu_setup_mode(vcpu, GUEST_MODE_PAGED, GUEST_CODE_GPA);

	before = meminfo_kb("MemFree");
	t0 = now_seconds();
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, HUGE_SLOT,
				     mem)) {
		TH_LOG("a 128 GiB slot: %s", strerror(errno));
	}
	create_s = now_seconds() - t0;
	created = meminfo_kb("MemFree");
	walk_slots(_metadata, vcpu, 3, want, present);
	touched = meminfo_kb("MemFree");
	t0 = now_seconds();
	ASSERT_EQ(0, __vm_set_region(self->vm, 1, 0, GUEST_HIGH, 0, mem));
	delete_s = now_seconds() - t0;

	TH_LOG("create %.3f s, delete %.3f s; MemFree -%ld KiB created, -%ld KiB touched",
	       create_s, delete_s, before - created, before - touched);
	/*
	 * hvx: a few pages.  KVM 6.1: 64 MiB (2 bytes of page tracking per
	 * page).  Not the 256 MiB of a pointer per page.
	 */
	EXPECT_GT(128L << 10, before - touched);
	if (test_device_is_hvx()) {
		EXPECT_GT(16L << 10, before - created);
		EXPECT_GT(16L << 10, before - touched);
	}
	EXPECT_GT(1.0, create_s);
	EXPECT_GT(1.0, delete_s);
	munmap(mem, HUGE_SLOT);
}

/* "1: hlt; jmp 1b" at the reset vector, and one vCPU that will run it. */
static struct kvm_vcpu *hlt_vcpu(struct kvm_vm *vm)
{
	u8 *page = vm_add_slot(vm, 1, RESET_VECTOR_PAGE, 0x1000);

	page[0xff0] = 0xf4;	/* hlt */
	page[0xff1] = 0xeb;	/* jmp */
	page[0xff2] = 0xfd;	/* to the hlt */
	return vcpu_create(vm, 0);
}

static void expect_hlt(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_HLT, (int)vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
}

/* The standard-format XSAVE image (Intel SDM Vol. 1, 10.5.1 and 13.4). */
#define XSAVE_MXCSR		24
#define XSAVE_MXCSR_MASK	28
#define XSAVE_XSTATE_BV		512
#define XSAVE_XCOMP_BV		520
#define XSAVE_HDR_RESERVED	528	/* to 575 */
#define MXCSR_DEFAULT		0x1f80U
/* Bits 31:16 are reserved on every processor (Intel SDM Vol. 1, 10.2.3). */
#define MXCSR_BAD		0xffff1f80U

#define XSAVE_U32(xs, off)	(*(u32 *)((u8 *)(xs)->region + (off)))
#define XSAVE_U64(xs, off)	(*(u64 *)((u8 *)(xs)->region + (off)))

/*
 * KVM_SET_FPU with reserved MXCSR bits: hvx refuses it (EINVAL), also
 * after KVM_SET_XSAVE put an all-ones MXCSR_MASK in the guest's image
 * (only the host's mask counts).  KVM ignores the field.  On both, the
 * guest's MXCSR stays valid and the next KVM_RUN restores its state
 * without a fault ("Bad FPU state detected") in the kernel log.
 */
TEST_F(vm, fpu_bad_mxcsr)
{
	struct kvm_vcpu *vcpu = hlt_vcpu(self->vm);
	struct kvm_fpu fpu, got;
	struct kvm_xsave *xs;
	u32 initial;
	int r;

	vcpu_ioctl(vcpu, KVM_GET_FPU, &fpu);
	/* hvx reports the reset value; KVM 6.1 0 until the vCPU ran. */
	initial = fpu.mxcsr;
	if (test_device_is_hvx())
		EXPECT_EQ(MXCSR_DEFAULT, initial);
	fpu.mxcsr = MXCSR_BAD;
	r = __vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu);
	if (test_device_is_hvx()) {
		EXPECT_EQ(-1, r);
		EXPECT_EQ(EINVAL, errno);
	}
	vcpu_ioctl(vcpu, KVM_GET_FPU, &got);
	EXPECT_EQ(initial, got.mxcsr);

	if (kvm_check_cap(KVM_CAP_XSAVE)) {
		xs = calloc(1, sizeof(*xs));
		ASSERT_NE(NULL, xs);
		vcpu_ioctl(vcpu, KVM_GET_XSAVE, xs);
		XSAVE_U32(xs, XSAVE_MXCSR) = MXCSR_DEFAULT;
		XSAVE_U32(xs, XSAVE_MXCSR_MASK) = 0xffffffff;
		XSAVE_U64(xs, XSAVE_XSTATE_BV) |= 1;	/* x87 only */
		vcpu_ioctl(vcpu, KVM_SET_XSAVE, xs);
		free(xs);
		r = __vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu);
		if (test_device_is_hvx()) {
			EXPECT_EQ(-1, r);
			EXPECT_EQ(EINVAL, errno);
		}
	}
	expect_hlt(_metadata, vcpu);
	vcpu_ioctl(vcpu, KVM_GET_FPU, &got);
	EXPECT_EQ(0U, got.mxcsr & 0xffff0000);
	if (test_device_is_hvx())
		EXPECT_EQ(MXCSR_DEFAULT, got.mxcsr);

	/* A valid MXCSR still goes in, and comes back after a run. */
	fpu.mxcsr = 0x1f80 | 0x6000;	/* round toward zero */
	vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu);
	expect_hlt(_metadata, vcpu);
	vcpu_ioctl(vcpu, KVM_GET_FPU, &got);
	if (test_device_is_hvx())
		EXPECT_EQ(0x7f80U, got.mxcsr);
}

/* The XCR0 bits the device supports (CPUID 0xD.0 EDX:EAX), or 0. */
static u64 supported_xcr0(void)
{
	const struct kvm_cpuid2 *c = kvm_supported_cpuid();
	unsigned int i;

	for (i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0xd && !c->entries[i].index)
			return c->entries[i].eax |
			       (u64)c->entries[i].edx << 32;
	return 0;
}

static void expect_xsave_refused(struct __test_metadata *_metadata,
				 struct kvm_vcpu *vcpu,
				 const struct kvm_xsave *orig,
				 struct kvm_xsave *bad, const char *what)
{
	struct kvm_xsave *now = calloc(1, sizeof(*now));

	ASSERT_NE(NULL, now);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_XSAVE, bad)) TH_LOG("%s", what);
	EXPECT_EQ(EINVAL, errno) TH_LOG("%s", what);
	vcpu_ioctl(vcpu, KVM_GET_XSAVE, now);
	EXPECT_EQ(0, memcmp(orig, now, sizeof(*now)))
		TH_LOG("%s changed the state", what);
	memcpy(bad, orig, sizeof(*bad));
	free(now);
}

/*
 * KVM_SET_XSAVE takes the standard format with the components the guest
 * may have: XSTATE_BV bits beyond the supported XCR0, a non-zero XCOMP_BV
 * (compacted format), non-zero reserved header bytes and reserved MXCSR
 * bits are refused with EINVAL and change nothing.
 */
TEST_F(vm, xsave_validation)
{
	struct kvm_vcpu *vcpu = hlt_vcpu(self->vm);
	struct kvm_xsave *orig, *bad;
	u64 xcr0 = supported_xcr0();
	char what[64];
	int bit;

	if (!kvm_check_cap(KVM_CAP_XSAVE) || !xcr0)
		SKIP(return, "no XSAVE");
	orig = calloc(1, sizeof(*orig));
	bad = calloc(1, sizeof(*bad));
	ASSERT_NE(NULL, orig);
	ASSERT_NE(NULL, bad);
	vcpu_ioctl(vcpu, KVM_GET_XSAVE, orig);
	memcpy(bad, orig, sizeof(*bad));
	TH_LOG("supported XCR0 %#llx, XSTATE_BV %#llx",
	       (unsigned long long)xcr0,
	       (unsigned long long)XSAVE_U64(orig, XSAVE_XSTATE_BV));

	for (bit = 0; bit < 64; bit++) {
		if (xcr0 & BIT_ULL(bit))
			continue;
		XSAVE_U64(bad, XSAVE_XSTATE_BV) |= BIT_ULL(bit);
		snprintf(what, sizeof(what), "XSTATE_BV bit %d", bit);
		expect_xsave_refused(_metadata, vcpu, orig, bad, what);
	}
	XSAVE_U64(bad, XSAVE_XCOMP_BV) = BIT_ULL(63) |
					 XSAVE_U64(bad, XSAVE_XSTATE_BV);
	expect_xsave_refused(_metadata, vcpu, orig, bad, "XCOMP_BV compacted");
	XSAVE_U64(bad, XSAVE_XCOMP_BV) = 1;
	expect_xsave_refused(_metadata, vcpu, orig, bad, "XCOMP_BV 1");
	for (bit = XSAVE_HDR_RESERVED; bit < 576; bit += 47) {
		((u8 *)bad->region)[bit] = 1;
		snprintf(what, sizeof(what), "header byte %d", bit);
		expect_xsave_refused(_metadata, vcpu, orig, bad, what);
	}
	XSAVE_U64(bad, XSAVE_XSTATE_BV) |= 3;	/* x87, SSE */
	XSAVE_U32(bad, XSAVE_MXCSR) = MXCSR_BAD;
	expect_xsave_refused(_metadata, vcpu, orig, bad, "MXCSR");

	/* What KVM_GET_XSAVE gave goes back in, and the guest runs. */
	vcpu_ioctl(vcpu, KVM_SET_XSAVE, orig);
	expect_hlt(_metadata, vcpu);
	free(orig);
	free(bad);
}

/*
 * A VMX instruction that fails on a vCPU's VMCS (a VMfail, injected here
 * with hvx's inject_vmfail) is an hvx bug: the ioctl fails with EIO, and
 * the vCPU is never entered again; another VM's vCPU is not affected.
 */
TEST_F(vm, vmfail_fails_ioctl)
{
	struct kvm_vcpu *vcpu, *good;
	struct kvm_vm *bad_vm, *good_vm;
	struct kvm_regs regs = {};
	char val[8] = "";

	if (!test_device_is_hvx())
		SKIP(return, "fault injection is hvx's");
	bad_vm = vm_create_guest(GUEST_MODE_LONG, &code_report, &vcpu);
	good_vm = vm_create_guest(GUEST_MODE_LONG, &code_report, &good);

	ASSERT_EQ(0, write_text(INJECT_VMFAIL, "1"));
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_GET_REGS, &regs));
	EXPECT_EQ(EIO, errno);
	/* The injection is used up. */
	ASSERT_EQ(1, read_text(INJECT_VMFAIL, val, sizeof(val)));
	EXPECT_EQ('N', val[0]);

	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_REGS, &regs));
	EXPECT_EQ(EIO, errno);

	EXPECT_EQ(42U, vcpu_run_value(good));
	vcpu_run_done(good);
	vm_free(good_vm);
	vm_free(bad_vm);
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) lowers the vCPU ids a VM takes:
 * not above the capability's value, once (the same value again is
 * accepted), unknown capabilities and flags refused.
 */
TEST_F(vm, enable_cap_max_vcpu_id)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MAX_VCPU_ID };
	int max = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);

	ASSERT_LT(2, max);
	EXPECT_EQ(1, kvm_check_cap(KVM_CAP_ENABLE_CAP_VM));
	cap.args[0] = max + 1;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_ENABLE_CAP, &cap));
	EXPECT_EQ(EINVAL, errno);
	cap.args[0] = 2;
	cap.flags = 1;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_ENABLE_CAP, &cap));
	EXPECT_EQ(EINVAL, errno);
	cap.flags = 0;
	EXPECT_EQ(0, __vm_ioctl(self->vm, KVM_ENABLE_CAP, &cap));
	EXPECT_EQ(0, __vm_ioctl(self->vm, KVM_ENABLE_CAP, &cap));
	cap.args[0] = 3;
	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_ENABLE_CAP, &cap));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-1, __vm_ioctl(self->vm, KVM_CREATE_VCPU, (void *)2UL));
	EXPECT_EQ(EINVAL, errno);
	vcpu_create(self->vm, 1);
}

/*
 * KVM_GET/SET_DEBUGREGS: DR0-3, DR6 and DR7 read back as set; reserved
 * upper halves of DR6/DR7 and non-zero flags are refused, changing
 * nothing.  The reset values are the architectural ones.
 */
TEST_F(vm, debugregs)
{
	struct kvm_debugregs d = { }, got, bad;
	struct kvm_vcpu *vcpu = vcpu_create(self->vm, 0);

	EXPECT_EQ(1, kvm_check_cap(KVM_CAP_DEBUGREGS));
	vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &got);
	EXPECT_EQ(0xffff0ff0ULL, got.dr6);
	EXPECT_EQ(0x400ULL, got.dr7);
	EXPECT_EQ(0U, got.flags);

	d.db[0] = 0x1000;
	d.db[1] = 0x2000;
	d.db[2] = 0x3000;
	d.db[3] = 0xffffffff81000000ULL;
	d.dr6 = 0xffff0ff1;
	d.dr7 = 0x401;
	vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &d);
	vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &got);
	EXPECT_EQ(0, memcmp(d.db, got.db, sizeof(d.db)));
	EXPECT_EQ(d.dr6, got.dr6);
	EXPECT_EQ(d.dr7, got.dr7);

	bad = d;
	bad.dr7 |= 1ULL << 32;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = d;
	bad.dr6 |= 1ULL << 40;
	bad.db[0] = 0;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = d;
	bad.flags = 1;
	bad.db[0] = 0;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &got);
	EXPECT_EQ(d.db[0], got.db[0]);
	EXPECT_EQ(d.dr7, got.dr7);
}

TEST_HARNESS_MAIN
