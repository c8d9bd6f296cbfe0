// SPDX-License-Identifier: GPL-2.0
/*
 * A small KVM-API client for the guest selftests: VMs, memory slots, vCPUs
 * in each x86 mode, and ucalls.  See kvm_util.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
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

/* ------------------------------------------------------------ C guests */

guest_handler_t guest_handlers[256];
struct guest_fail_info guest_fail_info[VM_MAX_VCPUS];
void (*guest_ap_main)(u64 apic_id);

/*
 * Interrupt entry: one 16-byte stub per vector pushes a dummy error code
 * where the CPU pushes none, then the vector; the common part saves the
 * caller-saved registers and the FPU/SSE state, calls
 * guest_isr_dispatch(regs) and returns with IRETQ.  IST stacks are 16-byte
 * aligned and the frame is 16 quadwords, so the call is ABI-aligned.
 */
asm(".pushsection .text.guest_isr, \"ax\"\n"
	".code64\n"
	".balign 16\n"
	".globl guest_isr_stubs\n"
	"guest_isr_stubs:\n"
	".set vec, 0\n"
	".rept 256\n"
	".balign 16\n"
	/* The exceptions with an error code: 8, 10-14, 17, 21, 29, 30. */
	".if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)\n"
	".else\n"
	"pushq $0\n"
	".endif\n"
	"pushq $vec\n"
	"jmp guest_isr_common\n"
	".set vec, vec + 1\n"
	".endr\n"
	"guest_isr_common:\n"
	"pushq %rax\n pushq %rcx\n pushq %rdx\n pushq %rsi\n pushq %rdi\n"
	"pushq %r8\n pushq %r9\n pushq %r10\n pushq %r11\n"
	"movq %rsp, %rdi\n"
	"subq $512, %rsp\n"
	"fxsave64 (%rsp)\n"
	"call guest_isr_dispatch\n"
	"fxrstor64 (%rsp)\n"
	"addq $512, %rsp\n"
	"popq %r11\n popq %r10\n popq %r9\n popq %r8\n popq %rdi\n"
	"popq %rsi\n popq %rdx\n popq %rcx\n popq %rax\n"
	"addq $16, %rsp\n"
	"iretq\n"
	/* Where vcpu_setup_c()'s function returns to. */
	".globl guest_c_return\n"
	"guest_c_return:\n"
	"call guest_done\n"
	".popsection\n");

/*
 * The AP trampoline, copied to GUEST_TRAMPOLINE: from the real mode a SIPI
 * starts in, through protected mode with the shared GDT, to long mode on
 * the shared page tables; then the AP's stack in GUEST_PERCPU (by APIC ID)
 * and a call of guest_tramp_entry's function (guest_ap_entry).
 */
#define TRAMP(label)	KVM_STR(GUEST_TRAMPOLINE) " + (" #label " - guest_trampoline)"
asm(".pushsection .rodata.guest_trampoline, \"a\"\n"
	".balign 16\n"
	".globl guest_trampoline, guest_trampoline_end, guest_tramp_entry\n"
	"guest_trampoline:\n"
	".code16\n"
	"cli\n"
	"movw %cs, %ax\n"
	"movw %ax, %ds\n"
	"lgdtl (tramp_gdtr - guest_trampoline)\n"
	"movl %cr0, %eax\n"
	"andl $0x9fffffff, %eax\n"		/* caches on: CD, NW off */
	"orl $1, %eax\n"
	"movl %eax, %cr0\n"
	"ljmpl $" KVM_STR(GUEST_SEL_CODE32) ", $(" TRAMP(tramp_32) ")\n"
	".code32\n"
	"tramp_32:\n"
	"movw $" KVM_STR(GUEST_SEL_DATA) ", %ax\n"
	"movw %ax, %ds\n movw %ax, %es\n movw %ax, %ss\n"
	"movw %ax, %fs\n movw %ax, %gs\n"
	"movl %cr4, %eax\n"
	"orl $0x620, %eax\n"		/* PAE, OSFXSR, OSXMMEXCPT */
	"movl %eax, %cr4\n"
	"movl $" KVM_STR(GUEST_PML4) ", %eax\n"
	"movl %eax, %cr3\n"
	"movl $0xc0000080, %ecx\n"
	"rdmsr\n"
	"orl $0x100, %eax\n"		/* EFER.LME */
	"wrmsr\n"
	"movl %cr0, %eax\n"
	"orl $0x80000000, %eax\n"
	"movl %eax, %cr0\n"
	"ljmpl $" KVM_STR(GUEST_SEL_CODE64) ", $(" TRAMP(tramp_64) ")\n"
	".code64\n"
	"tramp_64:\n"
	"movl $" KVM_STR(APIC_DEFAULT_GPA) " + " KVM_STR(APIC_ID) ", %ebx\n"
	"movl (%rbx), %edi\n"
	"shrl $24, %edi\n"
	"movl %edi, %eax\n"
	"imull $" KVM_STR(GUEST_PERCPU_SIZE) ", %eax\n"
	"addl $" KVM_STR(GUEST_PERCPU) " + " KVM_STR(GUEST_PERCPU_STACK_TOP) ", %eax\n"
	"movq %rax, %rsp\n"
	"movq " TRAMP(guest_tramp_entry) ", %rax\n"
	"call *%rax\n"
	"1: cli\n"
	"hlt\n"
	"jmp 1b\n"
	".balign 8\n"
	"tramp_gdtr:\n"
	".word " KVM_STR(GUEST_GDT_LIMIT) "\n"
	".long " KVM_STR(GUEST_GDT) "\n"
	".balign 8\n"
	"guest_tramp_entry:\n"
	".quad 0\n"
	"guest_trampoline_end:\n"
	".popsection\n");

__used void guest_isr_dispatch(struct guest_regs *regs)
{
	guest_handler_t fn = READ_ONCE(guest_handlers[regs->vector & 0xff]);

	if (!fn)
		guest_fail(__FILE__, __LINE__, "unexpected vector (a), at rip (b)",
			   regs->vector, regs->rip);
	fn(regs);
}

void guest_fail(const char *file, u32 line, const char *expr, u64 a, u64 b)
{
	struct guest_fail_info *f = &guest_fail_info[guest_apic_id() %
						      VM_MAX_VCPUS];

	f->file = file;
	f->expr = expr;
	f->line = line;
	f->a = a;
	f->b = b;
	for (;;) {
		guest_ucall(UCALL_PORT_FAIL, line);
		asm volatile("cli; hlt");
	}
}

void guest_done(void)
{
	for (;;) {
		guest_ucall(UCALL_PORT_DONE, 0);
		asm volatile("cli; hlt");
	}
}

void guest_xapic_enable(void)
{
	xapic_write(APIC_SPIV, APIC_SPIV_ENABLED | 0xff);
}

void guest_xapic_ipi(u32 dest, u32 icr)
{
	xapic_write(APIC_ICR2, dest << 24);
	xapic_write(APIC_ICR, icr);
	while (xapic_read(APIC_ICR) & APIC_ICR_BUSY)
		guest_pause();
}

void guest_start_ap(u32 apic_id)
{
	guest_xapic_ipi(apic_id, APIC_DM_INIT | APIC_INT_LEVELTRIG |
			APIC_INT_ASSERT);
	guest_xapic_ipi(apic_id, APIC_DM_INIT | APIC_INT_LEVELTRIG);
	guest_xapic_ipi(apic_id, APIC_DM_STARTUP | GUEST_SIPI_VECTOR);
	guest_xapic_ipi(apic_id, APIC_DM_STARTUP | GUEST_SIPI_VECTOR);
}

struct guest_desc_ptr {
	u16 limit;
	u64 base;
} __packed;

/* An AP from the trampoline: the IDT, its TSS, then guest_ap_main. */
__used void guest_ap_entry(u32 apic_id)
{
	struct guest_desc_ptr idtr = { 0xfff, GUEST_IDT };
	u64 *tss_desc = (u64 *)(GUEST_GDT + GUEST_SEL_TSS_CPU(apic_id));
	u16 sel = GUEST_SEL_TSS_CPU(apic_id);
	void (*fn)(u64 apic_id) = READ_ONCE(guest_ap_main);

	asm volatile("lidt %0" : : "m" (idtr));
	/* "Available" again, for LTR. */
	WRITE_ONCE(*tss_desc, READ_ONCE(*tss_desc) & ~(2ULL << 40));
	asm volatile("ltr %0" : : "r" (sel));
	if (fn)
		fn(apic_id);
	guest_done();
}

/* A 64-bit interrupt gate to @handler on stack IST @ist. */
static void idt_gate(u64 *gate, u64 handler, unsigned int ist)
{
	gate[0] = (handler & 0xffff) | (u64)GUEST_SEL_CODE64 << 16 |
		  (u64)ist << 32 | 0x8eULL << 40 |
		  ((handler >> 16) & 0xffff) << 48;
	gate[1] = handler >> 32;
}

void vm_setup_c_guest(struct kvm_vm *vm)
{
	u64 start = (uintptr_t)__executable_start & ~(GUEST_PAGE_SIZE - 1);
	u64 end = ((uintptr_t)_end + GUEST_PAGE_SIZE - 1) &
		  ~(GUEST_PAGE_SIZE - 1);
	u64 *gdt, *idt;
	unsigned int i;
	void *image;

	KVM_ASSERT(start >= GUEST_LOW + GUEST_LOW_SIZE &&
		   end <= GUEST_PERCPU,
		   "the test image [%#lx, %#lx) overlaps the guest layout",
		   (unsigned long)start, (unsigned long)end);
	vm_setup_memory(vm);
	image = vm_add_slot(vm, GUEST_SLOT_IMAGE, start, end - start);
	memcpy(image, (void *)(uintptr_t)start,
	       (uintptr_t)_end - (uintptr_t)start);
	vm_add_slot(vm, GUEST_SLOT_LOW, GUEST_LOW, GUEST_LOW_SIZE);
	vm_add_slot(vm, GUEST_SLOT_PERCPU, GUEST_PERCPU,
		    VM_MAX_VCPUS * GUEST_PERCPU_SIZE);

	memcpy(gpa_to_hva(vm, GUEST_TRAMPOLINE), guest_trampoline,
	       guest_trampoline_end - guest_trampoline);
	*(u64 *)gpa_to_hva(vm, GUEST_TRAMPOLINE +
			   (guest_tramp_entry - guest_trampoline)) =
		(uintptr_t)guest_ap_entry;

	idt = gpa_to_hva(vm, GUEST_IDT);
	for (i = 0; i < 256; i++)
		idt_gate(&idt[2 * i], (uintptr_t)guest_isr_stubs + 16 * i,
			 i == NMI_VECTOR || i == 8 || i == 18 ? 2 : 1);

	gdt = gpa_to_hva(vm, GUEST_GDT);
	for (i = 0; i < VM_MAX_VCPUS; i++) {
		u64 base = GUEST_PERCPU + i * GUEST_PERCPU_SIZE;
		u32 *tss = gpa_to_hva(vm, base);

		/* Available 64-bit TSS, limit 0x67. */
		gdt[GUEST_SEL_TSS_CPU(i) / 8] = 0x67 |
			(base & 0xffffff) << 16 | 0x89ULL << 40 |
			((base >> 24) & 0xff) << 56;
		gdt[GUEST_SEL_TSS_CPU(i) / 8 + 1] = base >> 32;
		/* IST1 at offset 0x24, IST2 at 0x2c (Intel SDM Vol. 3A, 7.7). */
		tss[0x24 / 4] = (u32)(base + GUEST_PERCPU_IRQ_TOP);
		tss[0x2c / 4] = (u32)(base + GUEST_PERCPU_NMI_TOP);
		tss[0x66 / 4] = 0x68U << 16;	/* no I/O bitmap */
	}
}

struct kvm_vm *vm_create_irqchip(void)
{
	struct kvm_vm *vm = vm_create();

	vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0);
	vm_setup_c_guest(vm);
	return vm;
}

void vcpu_setup_c(struct kvm_vcpu *vcpu, void (*fn)(u64), u64 arg)
{
	u64 base = GUEST_PERCPU + vcpu->id * GUEST_PERCPU_SIZE;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	u64 *sp;

	vcpu_setup_mode(vcpu, GUEST_MODE_LONG, (uintptr_t)fn);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.gdt.limit = GUEST_GDT_LIMIT;
	sregs.idt.base = GUEST_IDT;
	sregs.idt.limit = 0xfff;
	sregs.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.tr = (struct kvm_segment){
		.base = base, .limit = 0x67,
		.selector = GUEST_SEL_TSS_CPU(vcpu->id), .type = 0xb,
		.present = 1,
	};
	vcpu_sregs_set(vcpu, &sregs);

	sp = gpa_to_hva(vcpu->vm, base + GUEST_PERCPU_STACK_TOP - 8);
	*sp = (uintptr_t)guest_c_return;
	vcpu_regs_get(vcpu, &regs);
	regs.rsp = base + GUEST_PERCPU_STACK_TOP - 8;
	regs.rdi = arg;
	vcpu_regs_set(vcpu, &regs);
}

u32 vcpu_get_mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

void vcpu_set_mp_state(struct kvm_vcpu *vcpu, u32 state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
}

void vm_irq_line(struct kvm_vm *vm, u32 irq, u32 level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE, &l);
}

struct kvm_cpuid2 *kvm_cpuid_copy(void)
{
	const struct kvm_cpuid2 *cpuid = kvm_supported_cpuid();
	struct kvm_cpuid2 *copy;
	size_t size;

	if (!cpuid)
		return NULL;
	size = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	copy = malloc(size);
	KVM_ASSERT(copy, "out of memory");
	memcpy(copy, cpuid, size);
	return copy;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, u32 function,
				    u32 index)
{
	u32 i;

	for (i = 0; cpuid && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == function &&
		    cpuid->entries[i].index == index)
			return &cpuid->entries[i];
	return NULL;
}

void vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
}

/* The signal that ends a KVM_RUN from a timer or another thread. */
#define VCPU_KICK_SIGNAL	SIGUSR2

static void vcpu_kick_handler(int sig __maybe_unused)
{
}

static void vcpu_kick_install(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	/* No SA_RESTART: KVM_RUN must end with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static void vcpu_kick_signal_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vcpu_kick_install);
}

int vcpu_run_timeout(struct kvm_vcpu *vcpu, double seconds)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = VCPU_KICK_SIGNAL,
	};
	struct itimerspec its = {
		.it_value = {
			.tv_sec = (time_t)seconds,
			.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9),
		},
	};
	timer_t timer;
	int r, e;

	vcpu_kick_signal_init();
	sev._sigev_un._tid = syscall(SYS_gettid);
	KVM_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &timer),
		   "timer_create: %s", strerror(errno));
	KVM_ASSERT(!timer_settime(timer, 0, &its, NULL), "timer_settime: %s",
		   strerror(errno));
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	e = errno;
	timer_delete(timer);
	errno = e;
	return r;
}

int vcpu_run_ucall(struct kvm_vcpu *vcpu, u32 *value, double seconds)
{
	if (vcpu_run_timeout(vcpu, seconds))
		return -1;
	return get_ucall(vcpu, value);
}

const char *vcpu_guest_str(struct kvm_vcpu *vcpu)
{
	static __thread char buf[320];
	struct guest_fail_info f;

	if (get_ucall(vcpu, NULL) != UCALL_FAIL)
		return vcpu_exit_str(vcpu);
	f = GUEST_VAR(vcpu->vm, guest_fail_info[vcpu->id]);
	if (!f.file)
		return "guest failure without details";
	snprintf(buf, sizeof(buf),
		 "vCPU %d: guest assertion %s:%u: %s (a = %#llx, b = %#llx)",
		 vcpu->id, f.file, f.line, f.expr ? f.expr : "?",
		 (unsigned long long)f.a, (unsigned long long)f.b);
	return buf;
}

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvm_vcpu *vcpu = t->vcpu;
	u32 value;
	int r;

	for (;;) {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		if (r) {
			/*
			 * EAGAIN: KVM ends the KVM_RUN of an UNINITIALIZED AP
			 * with it when INIT/SIPI wakes it; run again.
			 */
			if ((errno == EINTR || errno == EAGAIN) &&
			    !READ_ONCE(t->stop))
				continue;
			t->end = -1;
			t->error = errno;
			snprintf(t->desc, sizeof(t->desc), "KVM_RUN: %s%s",
				 strerror(errno),
				 READ_ONCE(t->stop) ? " (stopped)" : "");
			break;
		}
		r = get_ucall(vcpu, &value);
		if (r == UCALL_VALUE) {
			if (t->nr_values < VCPU_THREAD_VALUES)
				t->values[t->nr_values] = value;
			t->nr_values++;
			continue;
		}
		t->end = r;
		snprintf(t->desc, sizeof(t->desc), "%s", vcpu_guest_str(vcpu));
		break;
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

void vcpu_thread_start(struct vcpu_thread *t, struct kvm_vcpu *vcpu)
{
	int r;

	vcpu_kick_signal_init();
	memset(t, 0, sizeof(*t));
	t->vcpu = vcpu;
	t->end = UCALL_NONE;
	r = pthread_create(&t->thread, NULL, vcpu_thread_fn, t);
	KVM_ASSERT(r == 0, "pthread_create: %s", strerror(r));
}

int vcpu_threads_join(struct vcpu_thread *t, int n, double seconds)
{
	double deadline = now_seconds() + seconds;
	int i, stopped = 0;
	bool all;

	do {
		all = true;
		for (i = 0; i < n; i++)
			if (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE))
				all = false;
		if (!all)
			usleep(1000);
	} while (!all && now_seconds() < deadline);

	for (i = 0; i < n; i++) {
		if (__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE))
			continue;
		t[i].stopped = true;
		stopped++;
		WRITE_ONCE(t[i].stop, 1);
		WRITE_ONCE(t[i].vcpu->run->immediate_exit, 1);
		while (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE)) {
			pthread_kill(t[i].thread, VCPU_KICK_SIGNAL);
			usleep(1000);
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i].thread, NULL);
		t[i].vcpu->run->immediate_exit = 0;
	}
	return stopped;
}
