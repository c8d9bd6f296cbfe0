/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small KVM-API client for the guest selftests, in the spirit of the
 * kernel's tools/testing/selftests/kvm (kvm_util, processor, ucall): the
 * same code drives /dev/kvm and /dev/hvx (see test_device()).
 *
 * Conventions:
 * - ioctl wrappers come in pairs: __vm_ioctl() returns what ioctl() returns,
 *   vm_ioctl() asserts success.  Library assertions (KVM_ASSERT) print a
 *   "# file:line:" diagnostic and exit(1), which fails the current test.
 * - Every guest uses one guest physical layout (GUEST_*), the same in all
 *   four modes: memory slot 0 holds the descriptor tables, page tables,
 *   data, code and stack below 64 KiB so that real-mode code reaches all of
 *   it; the page at GUEST_MMIO is in no slot.
 * - Guest code is assembled once per code size from one asm body (see
 *   GUEST_CODE()) and copied to GUEST_CODE_GPA.  Guests take their inputs
 *   in registers set by the host and report through port I/O ("ucalls"):
 *   a 32-bit OUT of %eax to UCALL_PORT_VALUE reports a value, to
 *   UCALL_PORT_DONE ends the guest, to UCALL_PORT_FAIL reports a failure.
 */
#ifndef HVX_SELFTEST_KVM_UTIL_H
#define HVX_SELFTEST_KVM_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#define BIT(n)			(1UL << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define __kvm_attr(x)		__attribute__((x))
#define __noreturn		__kvm_attr(__noreturn__)
#define __printf(a, b)		__kvm_attr(__format__(printf, a, b))

/* Shared-memory accesses between threads, processes and guests. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define __KVM_STR(x)		#x
#define KVM_STR(x)		__KVM_STR(x)

/* Fatal check for library code, which has no harness metadata. */
#define KVM_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			kvm_fail(__FILE__, __LINE__, #cond, fmt,	\
				 ##__VA_ARGS__);			\
	} while (0)

__noreturn __printf(4, 5)
void kvm_fail(const char *file, int line, const char *cond,
	      const char *fmt, ...);

/* ------------------------------------------------------------- layout */

#define GUEST_PAGE_SIZE		0x1000UL
#define GUEST_GDT		0x1000UL	/* descriptors, see GUEST_SEL_* */
#define GUEST_IDT		0x2000UL	/* zeroed: no usable gate */
#define GUEST_PD32		0x3000UL	/* 32-bit paging directory */
#define GUEST_PT32		0x4000UL	/* its table for 0-4 MiB */
#define GUEST_PML4		0x5000UL
#define GUEST_PDPT		0x6000UL
#define GUEST_PD64		0x7000UL	/* 4 pages: 0-4 GiB, 2 MiB pages */
#define GUEST_DATA		0xb000UL	/* scratch page for guests */
#define GUEST_CODE_GPA		0xc000UL	/* up to 8 KiB of code */
#define GUEST_CODE_MAX		0x2000UL
#define GUEST_STACK_TOP		0xf000UL	/* stack page 0xe000-0xefff */
#define GUEST_MAIN_SIZE		0xf000UL	/* slot 0: [0, 0xf000) */
#define GUEST_MMIO		0xf000UL	/* one page in no slot */
#define GUEST_HIGH		0x100000UL	/* free for tests' own slots */

#define GUEST_SLOT_MAIN		0

#define GUEST_SEL_CODE32	0x08
#define GUEST_SEL_DATA		0x10
#define GUEST_SEL_CODE64	0x18
#define GUEST_SEL_TSS		0x20

/* ucall ports: 8-bit port numbers, so that OUT needs no %dx. */
#define UCALL_PORT_VALUE	0xe0
#define UCALL_PORT_DONE		0xe4
#define UCALL_PORT_FAIL		0xe8

/* Architectural values the tests use. */
#define X86_CR0_PE		BIT(0)
#define X86_CR0_ET		BIT(4)
#define X86_CR0_NE		BIT(5)
#define X86_CR0_NW		BIT(29)
#define X86_CR0_CD		BIT(30)
#define X86_CR0_PG		BIT(31)
#define X86_CR4_PSE		BIT(4)
#define X86_CR4_PAE		BIT(5)
#define EFER_LME		BIT(8)
#define EFER_LMA		BIT(10)
#define X86_RFLAGS_FIXED	BIT(1)
#define X86_RFLAGS_IF		BIT(9)

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_KERNEL_GS_BASE	0xc0000102

/* ------------------------------------------------------------- guest code */

enum guest_mode {
	GUEST_MODE_REAL,	/* CR0.PE=0, 16-bit code */
	GUEST_MODE_PROTECTED,	/* flat 32-bit segments, no paging */
	GUEST_MODE_PAGED,	/* 32-bit paging, identity mapped */
	GUEST_MODE_LONG,	/* 4-level paging, identity mapped, CS.L */
	GUEST_MODE_COUNT
};

const char *guest_mode_name(enum guest_mode mode);

/* One guest program, assembled as 16-, 32- and 64-bit code. */
struct guest_code {
	const unsigned char *start[3];
	const unsigned char *end[3];
};

/*
 * GUEST_CODE(name, body) defines struct guest_code name from an AT&T asm
 * body, assembled three times (.code16, .code32, .code64) into .rodata
 * (never executed by the host): the body becomes a GAS macro, expanded once
 * per code size.  In the body, GUEST_BITS is 16, 32 or 64 for ".if";
 * numeric local labels (1:, 1b) are fine; no backslashes (GAS macro
 * syntax); inputs come in registers set by the host.  Use 32-bit registers
 * for addresses: they assemble in every mode, and the host keeps real-mode
 * addresses below 64 KiB.
 */
#define GUEST_CODE(name, body)						\
	asm(".macro " #name "_body\n" body "\n.endm\n"			\
	    ".pushsection .rodata.guest_code, \"a\"\n"		\
	    ".set GUEST_BITS, 16\n"					\
	    ".code16\n" #name "_16:\n" #name "_body\n" #name "_16_end:\n" \
	    ".set GUEST_BITS, 32\n"					\
	    ".code32\n" #name "_32:\n" #name "_body\n" #name "_32_end:\n" \
	    ".set GUEST_BITS, 64\n"					\
	    ".code64\n" #name "_64:\n" #name "_body\n" #name "_64_end:\n" \
	    ".popsection\n");						\
	extern const unsigned char name##_16[], name##_16_end[];	\
	extern const unsigned char name##_32[], name##_32_end[];	\
	extern const unsigned char name##_64[], name##_64_end[];	\
	static const struct guest_code name = {				\
		.start = { name##_16, name##_32, name##_64 },		\
		.end = { name##_16_end, name##_32_end, name##_64_end },	\
	}

/* Guest asm snippets: report %eax, end, fail. */
#define GUEST_REPORT	"outl %eax, $" KVM_STR(UCALL_PORT_VALUE) "\n"
#define GUEST_DONE	"outl %eax, $" KVM_STR(UCALL_PORT_DONE) "\n"
#define GUEST_FAIL	"outl %eax, $" KVM_STR(UCALL_PORT_FAIL) "\n"

/* -------------------------------------------------------------- VM, vCPU */

#define VM_MAX_SLOTS		64
#define VM_MAX_VCPUS		64

struct vm_slot {
	bool used;
	bool owned;		/* hva was mmap()ed by the library */
	u32 flags;
	u64 gpa, size;
	void *hva;
};

struct kvm_vcpu;

struct kvm_vm {
	int sys_fd;		/* the device: /dev/kvm or /dev/hvx */
	int fd;
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	struct vm_slot slots[VM_MAX_SLOTS];
	struct kvm_vcpu *vcpus[VM_MAX_VCPUS];
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	int run_size;
	enum guest_mode mode;
};

/* Raw and asserting ioctls on the device, a VM, a vCPU. */
#define __kvm_ioctl(fd, cmd, arg)	ioctl(fd, cmd, arg)
#define __vm_ioctl(vm, cmd, arg)	ioctl((vm)->fd, cmd, arg)
#define __vcpu_ioctl(vcpu, cmd, arg)	ioctl((vcpu)->fd, cmd, arg)

#define __kvm_ioctl_ok(fd, cmd, arg, what)				\
({									\
	int __r = ioctl(fd, cmd, arg);					\
	KVM_ASSERT(__r >= 0, "%s failed: %s (errno %d)", what,		\
		   strerror(errno), errno);				\
	__r;								\
})
#define kvm_ioctl(fd, cmd, arg)	__kvm_ioctl_ok(fd, cmd, arg, #cmd)
#define vm_ioctl(vm, cmd, arg)	__kvm_ioctl_ok((vm)->fd, cmd, arg, #cmd)
#define vcpu_ioctl(vcpu, cmd, arg)					\
	__kvm_ioctl_ok((vcpu)->fd, cmd, arg, #cmd)

/*
 * Open the test device and check KVM_GET_API_VERSION (asserting), or
 * return -1 with errno for the raw form.
 */
int __kvm_open(void);
int kvm_open(void);

/* KVM_CHECK_EXTENSION on the device (0 for anything it does not have). */
int kvm_check_cap(long cap);

/* KVM_CREATE_VM; vm_free() closes everything and unmaps its memory. */
struct kvm_vm *vm_create(void);
void vm_free(struct kvm_vm *vm);

/*
 * Memory slots.  __vm_set_region() is the raw KVM_SET_USER_MEMORY_REGION;
 * vm_add_slot() backs a new slot with anonymous memory and returns it;
 * vm_add_slot_hva() uses the caller's memory; vm_delete_slot() sets
 * memory_size 0 (and unmaps memory the library mapped).
 */
int __vm_set_region(struct kvm_vm *vm, u32 slot, u32 flags,
		    u64 gpa, u64 size, void *hva);
void *vm_add_slot(struct kvm_vm *vm, u32 slot, u64 gpa,
		  u64 size);
void vm_add_slot_hva(struct kvm_vm *vm, u32 slot, u64 gpa,
		     u64 size, void *hva);
void vm_delete_slot(struct kvm_vm *vm, u32 slot);

/* The host address of guest physical address gpa (asserting it is mapped). */
void *gpa_to_hva(struct kvm_vm *vm, u64 gpa);

/*
 * Slot 0 at [0, GUEST_MAIN_SIZE) with the GDT and the page tables of
 * every mode; then guest code for a mode at GUEST_CODE_GPA, or at gpa in
 * at most max bytes (the rest filled with HLT).
 */
void vm_setup_memory(struct kvm_vm *vm);
void vm_load_code(struct kvm_vm *vm, enum guest_mode mode,
		  const struct guest_code *code);
void vm_load_code_at(struct kvm_vm *vm, enum guest_mode mode,
		     const struct guest_code *code, u64 gpa, size_t max);

/*
 * KVM_CREATE_VCPU and mmap of its kvm_run; also KVM_SET_CPUID2 with the
 * device's supported CPUID when it has KVM_CAP_EXT_CPUID.  vcpu_free()
 * unmaps and closes (vm_free() frees the vCPUs left).
 */
struct kvm_vcpu *vcpu_create(struct kvm_vm *vm, int id);
/* KVM_CREATE_VCPU and its kvm_run mapping, without KVM_SET_CPUID2. */
struct kvm_vcpu *vcpu_create_bare(struct kvm_vm *vm, int id);
void vcpu_free(struct kvm_vcpu *vcpu);

/* Put a vCPU in a mode with the shared layout, at rip = entry. */
void vcpu_setup_mode(struct kvm_vcpu *vcpu, enum guest_mode mode,
		     u64 entry);

/*
 * The usual start: VM, vm_setup_memory(), code loaded, vCPU 0 in mode at
 * GUEST_CODE_GPA.
 */
struct kvm_vm *vm_create_guest(enum guest_mode mode,
			       const struct guest_code *code,
			       struct kvm_vcpu **vcpu);

/* Register state. */
void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs);

/*
 * MSRs: the raw forms return what KVM_GET_MSRS/KVM_SET_MSRS return (the
 * number of MSRs processed, or -1); the others assert one MSR.
 */
int __vcpu_get_msrs(struct kvm_vcpu *vcpu, int n, const u32 *index,
		    u64 *data);
int __vcpu_set_msrs(struct kvm_vcpu *vcpu, int n, const u32 *index,
		    const u64 *data);
u64 vcpu_get_msr(struct kvm_vcpu *vcpu, u32 index);
void vcpu_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data);

/* KVM_GET_SUPPORTED_CPUID of the device (cached), or NULL if it has none. */
const struct kvm_cpuid2 *kvm_supported_cpuid(void);

/* KVM_RUN: raw (ioctl's return value) and asserting it returned 0. */
int __vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);

/* ------------------------------------------------------------ ucalls */

enum ucall_type { UCALL_NONE, UCALL_VALUE, UCALL_DONE, UCALL_FAIL };

/* Decode the current exit: a ucall (and its value), or UCALL_NONE. */
enum ucall_type get_ucall(struct kvm_vcpu *vcpu, u32 *value);

/* Run and assert a value report (returned) or the end of the guest. */
u32 vcpu_run_value(struct kvm_vcpu *vcpu);
void vcpu_run_done(struct kvm_vcpu *vcpu);

/* The data of the current KVM_EXIT_IO, in the kvm_run mapping. */
void *vcpu_io_data(struct kvm_vcpu *vcpu);

/* A name for an exit reason, and a one-line description of an exit. */
const char *exit_reason_str(u32 reason);
const char *vcpu_exit_str(struct kvm_vcpu *vcpu);

#endif /* HVX_SELFTEST_KVM_UTIL_H */
