// SPDX-License-Identifier: GPL-2.0
/*
 * A small KVM-API client for the guest selftests: VMs, memory slots, vCPUs
 * in each x86 mode, and ucalls.  See kvm_util.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "util.h"

void kvm_fail(const char *file, int line, const char *cond,
	      const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# %s:%d: assertion failed: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	exit(1);
}

const char *guest_mode_name(enum guest_mode mode)
{
	static const char * const names[] = {
		[GUEST_MODE_REAL] = "real",
		[GUEST_MODE_PROTECTED] = "protected",
		[GUEST_MODE_PAGED] = "paged",
		[GUEST_MODE_LONG] = "long",
	};

	return mode < GUEST_MODE_COUNT ? names[mode] : "?";
}

/* Index of a mode's code size in struct guest_code. */
static int guest_code_index(enum guest_mode mode)
{
	if (mode == GUEST_MODE_REAL)
		return 0;
	return mode == GUEST_MODE_LONG ? 2 : 1;
}

int __kvm_open(void)
{
	int fd = open(test_device(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		errno = EPROTO;
		return -1;
	}
	return fd;
}

int kvm_open(void)
{
	int fd = __kvm_open();

	KVM_ASSERT(fd >= 0, "cannot open %s with API version %d: %s",
		   test_device(), KVM_API_VERSION, strerror(errno));
	return fd;
}

int kvm_check_cap(long cap)
{
	int fd = kvm_open();
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	close(fd);
	return r < 0 ? 0 : r;
}

struct kvm_vm *vm_create(void)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	KVM_ASSERT(vm, "out of memory");
	vm->sys_fd = kvm_open();
	vm->fd = kvm_ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	vm->run_size = kvm_ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	KVM_ASSERT(vm->run_size >= (int)sizeof(struct kvm_run),
		   "KVM_GET_VCPU_MMAP_SIZE %d is smaller than struct kvm_run",
		   vm->run_size);
	return vm;
}

void vm_free(struct kvm_vm *vm)
{
	int i;

	if (!vm)
		return;
	for (i = 0; i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_free(vm->vcpus[i]);
	close(vm->fd);
	close(vm->sys_fd);
	for (i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].owned)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	free(vm);
}

int __vm_set_region(struct kvm_vm *vm, u32 slot, u32 flags,
		    u64 gpa, u64 size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

void vm_add_slot_hva(struct kvm_vm *vm, u32 slot, u64 gpa,
		     u64 size, void *hva)
{
	int r;

	KVM_ASSERT(slot < VM_MAX_SLOTS && !vm->slots[slot].used,
		   "slot %u is in use or beyond the library's table", slot);
	r = __vm_set_region(vm, slot, 0, gpa, size, hva);
	KVM_ASSERT(r == 0, "KVM_SET_USER_MEMORY_REGION slot %u gpa %#lx size %#lx: %s",
		   slot, (unsigned long)gpa, (unsigned long)size,
		   strerror(errno));
	vm->slots[slot] = (struct vm_slot){
		.used = true, .gpa = gpa, .size = size, .hva = hva,
	};
}

void *vm_add_slot(struct kvm_vm *vm, u32 slot, u64 gpa,
		  u64 size)
{
	void *hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	KVM_ASSERT(hva != MAP_FAILED, "mmap of %#lx bytes: %s",
		   (unsigned long)size, strerror(errno));
	vm_add_slot_hva(vm, slot, gpa, size, hva);
	vm->slots[slot].owned = true;
	return hva;
}

void vm_delete_slot(struct kvm_vm *vm, u32 slot)
{
	struct vm_slot *s;
	int r;

	KVM_ASSERT(slot < VM_MAX_SLOTS && vm->slots[slot].used,
		   "slot %u is not in use", slot);
	s = &vm->slots[slot];
	r = __vm_set_region(vm, slot, s->flags, s->gpa, 0, s->hva);
	KVM_ASSERT(r == 0, "deleting slot %u: %s", slot, strerror(errno));
	if (s->owned)
		munmap(s->hva, s->size);
	memset(s, 0, sizeof(*s));
}

void *gpa_to_hva(struct kvm_vm *vm, u64 gpa)
{
	int i;

	for (i = 0; i < VM_MAX_SLOTS; i++) {
		struct vm_slot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return (char *)s->hva + (gpa - s->gpa);
	}
	KVM_ASSERT(0, "guest physical address %#lx is in no slot",
		   (unsigned long)gpa);
}

/* A flat GDT descriptor: base 0, limit 4 GiB. */
static u64 gdt_flat(u8 access, u8 flags)
{
	return 0xffffULL | (u64)access << 40 | 0xfULL << 48 |
	       (u64)flags << 52;
}

#define GUEST_TSS	(GUEST_GDT + 0x800)
#define GUEST_TSS_LIMIT	0x67

void vm_setup_memory(struct kvm_vm *vm)
{
	u64 *gdt, *pml4, *pdpt, *pd64;
	u32 *pd32, *pt32;
	unsigned int i;

	vm_add_slot(vm, GUEST_SLOT_MAIN, 0, GUEST_MAIN_SIZE);

	gdt = gpa_to_hva(vm, GUEST_GDT);
	gdt[GUEST_SEL_CODE32 / 8] = gdt_flat(0x9b, 0xc);	/* D, G */
	gdt[GUEST_SEL_DATA / 8] = gdt_flat(0x93, 0xc);
	gdt[GUEST_SEL_CODE64 / 8] = gdt_flat(0x9b, 0xa);	/* L, G */
	/* 64-bit TSS descriptor (16 bytes), busy: type 0xb, present. */
	gdt[GUEST_SEL_TSS / 8] = GUEST_TSS_LIMIT |
				 (GUEST_TSS & 0xffffffULL) << 16 |
				 0x8bULL << 40 |
				 (GUEST_TSS >> 24 & 0xffULL) << 56;
	gdt[GUEST_SEL_TSS / 8 + 1] = 0;

	/* 32-bit paging: 4 KiB pages for 0-4 MiB, 4 MiB pages above. */
	pd32 = gpa_to_hva(vm, GUEST_PD32);
	pt32 = gpa_to_hva(vm, GUEST_PT32);
	pd32[0] = GUEST_PT32 | 0x3;			/* P, RW */
	for (i = 1; i < 1024; i++)
		pd32[i] = (u32)i << 22 | 0x83;	/* P, RW, PS */
	for (i = 0; i < 1024; i++)
		pt32[i] = (u32)i << 12 | 0x3;

	/* 4-level paging: 2 MiB pages for 0-4 GiB. */
	pml4 = gpa_to_hva(vm, GUEST_PML4);
	pdpt = gpa_to_hva(vm, GUEST_PDPT);
	pd64 = gpa_to_hva(vm, GUEST_PD64);
	pml4[0] = GUEST_PDPT | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD64 + i * GUEST_PAGE_SIZE) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd64[i] = (u64)i << 21 | 0x83;
}

void vm_load_code_at(struct kvm_vm *vm, enum guest_mode mode,
		     const struct guest_code *code, u64 gpa, size_t max)
{
	int i = guest_code_index(mode);
	size_t size = code->end[i] - code->start[i];
	unsigned char *dst = gpa_to_hva(vm, gpa);

	KVM_ASSERT(size <= max, "guest code of %zu bytes", size);
	memset(dst, 0xf4, max);	/* hlt */
	memcpy(dst, code->start[i], size);
}

void vm_load_code(struct kvm_vm *vm, enum guest_mode mode,
		  const struct guest_code *code)
{
	vm_load_code_at(vm, mode, code, GUEST_CODE_GPA, GUEST_CODE_MAX);
}

const struct kvm_cpuid2 *kvm_supported_cpuid(void)
{
	static struct kvm_cpuid2 *cpuid;
	static bool probed;
	int fd, nent = 64;

	if (probed)
		return cpuid;
	probed = true;
	if (!kvm_check_cap(KVM_CAP_EXT_CPUID))
		return NULL;
	fd = kvm_open();
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
			       nent * sizeof(struct kvm_cpuid_entry2));
		KVM_ASSERT(cpuid, "out of memory");
		cpuid->nent = nent;
		if (!ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		KVM_ASSERT(errno == E2BIG && nent < 4096,
			   "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cpuid);
		nent *= 2;
	}
	close(fd);
	return cpuid;
}

struct kvm_vcpu *vcpu_create_bare(struct kvm_vm *vm, int id)
{
	struct kvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	KVM_ASSERT(vcpu, "out of memory");
	KVM_ASSERT(id >= 0 && id < VM_MAX_VCPUS && !vm->vcpus[id],
		   "vCPU id %d in use or beyond the library's table", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = vm_ioctl(vm, KVM_CREATE_VCPU, id);
	vcpu->run_size = vm->run_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	KVM_ASSERT(vcpu->run != MAP_FAILED, "mmap of vCPU %d: %s", id,
		   strerror(errno));
	vm->vcpus[id] = vcpu;
	return vcpu;
}

struct kvm_vcpu *vcpu_create(struct kvm_vm *vm, int id)
{
	const struct kvm_cpuid2 *cpuid = kvm_supported_cpuid();
	struct kvm_vcpu *vcpu = vcpu_create_bare(vm, id);

	if (cpuid)
		vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	return vcpu;
}

void vcpu_free(struct kvm_vcpu *vcpu)
{
	if (!vcpu)
		return;
	vcpu->vm->vcpus[vcpu->id] = NULL;
	munmap(vcpu->run, vcpu->run_size);
	close(vcpu->fd);
	free(vcpu);
}

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

static void seg_real(struct kvm_segment *s, u8 type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffff, .selector = 0, .type = type,
		.present = 1, .s = 1,
	};
}

static void seg_flat(struct kvm_segment *s, u16 selector, u8 type,
		     bool l)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector,
		.type = type, .present = 1, .s = 1, .db = !l, .l = l, .g = 1,
	};
}

void vcpu_setup_mode(struct kvm_vcpu *vcpu, enum guest_mode mode,
		     u64 entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.gdt.base = GUEST_GDT;
	sregs.gdt.limit = GUEST_SEL_TSS + 15;
	/* No usable IDT: any exception ends in a triple fault. */
	sregs.idt.base = GUEST_IDT;
	sregs.idt.limit = 0;
	sregs.cr2 = 0;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	sregs.cr0 = X86_CR0_ET | X86_CR0_NE;

	if (mode == GUEST_MODE_REAL) {
		seg_real(&sregs.cs, 0xb);
		seg_real(&sregs.ds, 0x3);
	} else {
		sregs.cr0 |= X86_CR0_PE;
		seg_flat(&sregs.cs, GUEST_SEL_CODE32, 0xb, false);
		seg_flat(&sregs.ds, GUEST_SEL_DATA, 0x3, false);
		sregs.tr = (struct kvm_segment){
			.base = GUEST_TSS, .limit = GUEST_TSS_LIMIT,
			.selector = GUEST_SEL_TSS, .type = 0xb, .present = 1,
		};
	}
	if (mode == GUEST_MODE_PAGED) {
		sregs.cr0 |= X86_CR0_PG;
		sregs.cr3 = GUEST_PD32;
		sregs.cr4 = X86_CR4_PSE;
	}
	if (mode == GUEST_MODE_LONG) {
		sregs.cr0 |= X86_CR0_PG;
		sregs.cr3 = GUEST_PML4;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
		seg_flat(&sregs.cs, GUEST_SEL_CODE64, 0xb, true);
	}
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	vcpu_sregs_set(vcpu, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rsp = GUEST_STACK_TOP;
	regs.rflags = X86_RFLAGS_FIXED;
	vcpu_regs_set(vcpu, &regs);
	vcpu->mode = mode;
}

struct kvm_vm *vm_create_guest(enum guest_mode mode,
			       const struct guest_code *code,
			       struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create();

	vm_setup_memory(vm);
	vm_load_code(vm, mode, code);
	*vcpu = vcpu_create(vm, 0);
	vcpu_setup_mode(*vcpu, mode, GUEST_CODE_GPA);
	return vm;
}

static struct kvm_msrs *msrs_alloc(int n, const u32 *index,
				   const u64 *data)
{
	struct kvm_msrs *msrs;
	int i;

	msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	KVM_ASSERT(msrs, "out of memory");
	msrs->nmsrs = n;
	for (i = 0; i < n; i++) {
		msrs->entries[i].index = index[i];
		msrs->entries[i].data = data ? data[i] : 0;
	}
	return msrs;
}

int __vcpu_get_msrs(struct kvm_vcpu *vcpu, int n, const u32 *index,
		    u64 *data)
{
	struct kvm_msrs *msrs = msrs_alloc(n, index, NULL);
	int i, r;

	r = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);
	for (i = 0; i < r && i < n; i++)
		data[i] = msrs->entries[i].data;
	free(msrs);
	return r;
}

int __vcpu_set_msrs(struct kvm_vcpu *vcpu, int n, const u32 *index,
		    const u64 *data)
{
	struct kvm_msrs *msrs = msrs_alloc(n, index, data);
	int r;

	r = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	return r;
}

u64 vcpu_get_msr(struct kvm_vcpu *vcpu, u32 index)
{
	u64 data = 0;
	int r = __vcpu_get_msrs(vcpu, 1, &index, &data);

	KVM_ASSERT(r == 1, "KVM_GET_MSRS %#x returned %d (%s)", index, r,
		   r < 0 ? strerror(errno) : "not read");
	return data;
}

void vcpu_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	int r = __vcpu_set_msrs(vcpu, 1, &index, &data);

	KVM_ASSERT(r == 1, "KVM_SET_MSRS %#x=%#lx returned %d (%s)", index,
		   (unsigned long)data, r, r < 0 ? strerror(errno) : "not set");
}

int __vcpu_run(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_RUN, 0);
}

void vcpu_run(struct kvm_vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	KVM_ASSERT(r == 0, "KVM_RUN: %s (errno %d)", strerror(errno), errno);
}

void *vcpu_io_data(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	KVM_ASSERT(run->io.data_offset + (u64)run->io.size *
		   run->io.count <= (u64)vcpu->run_size,
		   "I/O data at %#llx (%u x %u bytes) is beyond the %d-byte mapping",
		   (unsigned long long)run->io.data_offset, run->io.count,
		   run->io.size, vcpu->run_size);
	return (char *)run + run->io.data_offset;
}

enum ucall_type get_ucall(struct kvm_vcpu *vcpu, u32 *value)
{
	struct kvm_run *run = vcpu->run;
	enum ucall_type type;
	u32 v;

	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
	    run->io.count != 1)
		return UCALL_NONE;
	switch (run->io.port) {
	case UCALL_PORT_VALUE:
		type = UCALL_VALUE;
		break;
	case UCALL_PORT_DONE:
		type = UCALL_DONE;
		break;
	case UCALL_PORT_FAIL:
		type = UCALL_FAIL;
		break;
	default:
		return UCALL_NONE;
	}
	memcpy(&v, vcpu_io_data(vcpu), sizeof(v));
	if (value)
		*value = v;
	return type;
}

u32 vcpu_run_value(struct kvm_vcpu *vcpu)
{
	u32 value;

	vcpu_run(vcpu);
	KVM_ASSERT(get_ucall(vcpu, &value) == UCALL_VALUE,
		   "expected a value from the guest, got %s",
		   vcpu_exit_str(vcpu));
	return value;
}

void vcpu_run_done(struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	KVM_ASSERT(get_ucall(vcpu, NULL) == UCALL_DONE,
		   "expected the guest to end, got %s", vcpu_exit_str(vcpu));
}

const char *exit_reason_str(u32 reason)
{
	static const char * const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
		[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
		[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "KVM_EXIT_?";
}

const char *vcpu_exit_str(struct kvm_vcpu *vcpu)
{
	static __thread char buf[256];
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	int n;

	n = snprintf(buf, sizeof(buf), "%s (%u)",
		     exit_reason_str(run->exit_reason), run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		n += snprintf(buf + n, sizeof(buf) - n,
			      " %s port %#x size %u count %u data_offset %#llx",
			      run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			      run->io.port, run->io.size, run->io.count,
			      (unsigned long long)run->io.data_offset);
		break;
	case KVM_EXIT_MMIO:
		n += snprintf(buf + n, sizeof(buf) - n,
			      " %s gpa %#llx len %u",
			      run->mmio.is_write ? "write" : "read",
			      (unsigned long long)run->mmio.phys_addr,
			      run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		n += snprintf(buf + n, sizeof(buf) - n,
			      " hardware_entry_failure_reason %#llx",
			      (unsigned long long)
			      run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		n += snprintf(buf + n, sizeof(buf) - n, " suberror %u",
			      run->internal.suberror);
		break;
	}
	if (n < (int)sizeof(buf) && !ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		snprintf(buf + n, sizeof(buf) - n, ", rip %#llx",
			 (unsigned long long)regs.rip);
	return buf;
}
