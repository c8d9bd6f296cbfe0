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
#include <pthread.h>

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
#define __used			__kvm_attr(__used__)
#define __packed		__kvm_attr(__packed__)
#define __maybe_unused		__kvm_attr(__unused__)

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

/* ------------------------------------------------------------ C guests */

/*
 * C guests, for the in-kernel irqchip and SMP tests: the test binary's own
 * image (a static executable at a fixed address below 4 GiB) is copied into
 * guest memory at the same addresses (GUEST_SLOT_IMAGE), so guest code is
 * plain C in the test file and runs in long mode on the identity map of
 * vm_setup_memory().  Host and guest addresses of the image coincide:
 * GUEST_VAR(vm, var) is the guest's copy of a global, seen from the host.
 *
 * Rules for guest C code: no libc calls (its functions are resolved for the
 * host CPU), no host-only data; ucalls and assertions through the guest_*
 * helpers below.  Interrupt and exception handlers run on their own stacks
 * (IST, so that the red zone of interrupted code survives) with the FPU/SSE
 * state saved: a handler is a C function registered with
 * guest_set_handler(); a vector without a handler fails the guest.
 *
 * Per vCPU (APIC ID i): a TSS (GDT selector GUEST_SEL_TSS_CPU(i)) and the
 * stacks in GUEST_PERCPU; the IDT at GUEST_IDT has 256 gates.  APs started
 * with INIT and SIPI (vector GUEST_SIPI_VECTOR) go through a real-mode
 * trampoline at GUEST_TRAMPOLINE to long mode and call *guest_ap_main.
 */
#define GUEST_SLOT_IMAGE	1
#define GUEST_SLOT_LOW		2
#define GUEST_SLOT_PERCPU	3
#define GUEST_LOW		0x10000UL	/* 64 KiB, below 1 MiB */
#define GUEST_LOW_SIZE		0x10000UL
#define GUEST_TRAMPOLINE	GUEST_LOW
#define GUEST_SIPI_VECTOR	(GUEST_TRAMPOLINE >> 12)
#define GUEST_PERCPU		0x10000000UL
#define GUEST_PERCPU_SIZE	0x8000UL	/* TSS, NMI, IRQ and main stacks */
#define GUEST_PERCPU_NMI_TOP	0x2000UL
#define GUEST_PERCPU_IRQ_TOP	0x4000UL
#define GUEST_PERCPU_STACK_TOP	0x8000UL
#define GUEST_SEL_TSS_CPU(i)	(0x30 + 16 * (i))
#define GUEST_GDT_LIMIT		0x7ff

/* The guest's copy of global @var (an lvalue), from the host. */
#define GUEST_VAR(vm, var)						\
	(*(__typeof__(var) *)gpa_to_hva(vm, (u64)(uintptr_t)(&(var))))

/* Interrupt controllers and their registers (Intel SDM Vol. 3A, 11). */
#define APIC_DEFAULT_GPA	0xfee00000UL
#define IOAPIC_DEFAULT_GPA	0xfec00000UL
#define MSR_IA32_APICBASE	0x1b
#define MSR_IA32_APICBASE_BSP	BIT(8)
#define MSR_IA32_APICBASE_ENABLE BIT(11)
#define MSR_IA32_TSC_DEADLINE	0x6e0

#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_TASKPRI		0x80
#define APIC_PROCPRI		0xa0
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SPIV		0xf0
#define APIC_ISR		0x100
#define APIC_TMR		0x180
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define APIC_LVTT		0x320
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVTERR		0x370
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0

#define APIC_SPIV_ENABLED	BIT(8)
#define APIC_LVT_MASKED		BIT(16)
#define APIC_LVT_LEVEL		BIT(15)
#define APIC_LVTT_ONESHOT	0
#define APIC_LVTT_PERIODIC	BIT(17)
#define APIC_LVTT_TSCDEADLINE	BIT(18)
#define APIC_TDCR_1		0xb
#define APIC_TDCR_16		0x3
#define APIC_DM_FIXED		0x000
#define APIC_DM_LOWEST		0x100
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_DM_EXTINT		0x700
#define APIC_DEST_LOGICAL	BIT(11)
#define APIC_ICR_BUSY		BIT(12)
#define APIC_INT_ASSERT		BIT(14)
#define APIC_INT_LEVELTRIG	BIT(15)
#define APIC_DEST_SELF		BIT(18)
#define APIC_DEST_ALLINC	BIT(19)
#define APIC_DEST_ALLBUT	(BIT(18) | BIT(19))

#define IOAPIC_REGSEL		0x00
#define IOAPIC_WINDOW		0x10
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REDIR(pin)	(0x10 + 2 * (pin))
#define IOAPIC_NUM_PINS		24
#define IOAPIC_RTE_LEVEL	BIT_ULL(15)
#define IOAPIC_RTE_REMOTE_IRR	BIT_ULL(14)
#define IOAPIC_RTE_LOW_ACTIVE	BIT_ULL(13)
#define IOAPIC_RTE_PENDING	BIT_ULL(12)
#define IOAPIC_RTE_LOGICAL	BIT_ULL(11)
#define IOAPIC_RTE_MASKED	BIT_ULL(16)
#define IOAPIC_RTE_DEST(id)	((u64)(id) << 56)

#define X86_CR4_OSFXSR		BIT(9)
#define X86_CR4_OSXMMEXCPT	BIT(10)
#define NMI_VECTOR		2

/* What a handler sees: the registers the entry stub saved, then the frame. */
struct guest_regs {
	u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct guest_regs *regs);

/* Why a guest failed: written by guest_fail(), read by the host. */
struct guest_fail_info {
	const char *file;	/* in the image: readable by the host too */
	const char *expr;
	u32 line;
	u64 a, b;
};

/* Symbols of kvm_util.c's guest asm, and of the linker script. */
extern const char guest_isr_stubs[], guest_c_return[];
extern const char guest_trampoline[], guest_trampoline_end[];
extern const char guest_tramp_entry[];
extern char __executable_start[], _end[];

/* Guest data (the guest's copies live in guest memory). */
extern guest_handler_t guest_handlers[256];
extern struct guest_fail_info guest_fail_info[VM_MAX_VCPUS];
/* What APs started by SIPI run (argument: their APIC ID). */
extern void (*guest_ap_main)(u64 apic_id);

/* ---- guest side */

static inline void guest_outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a" (v), "Nd" (port));
}

static inline u8 guest_inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a" (v) : "Nd" (port));
	return v;
}

static inline void guest_ucall(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a" (v), "Nd" (port) : "memory");
}

/* Report a value to the host (a UCALL_VALUE exit). */
static inline void guest_report(u32 v)
{
	guest_ucall(UCALL_PORT_VALUE, v);
}

static inline u64 guest_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a" (lo), "=d" (hi));
	return (u64)hi << 32 | lo;
}

static inline u64 guest_rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a" (lo), "=d" (hi) : "c" (msr));
	return (u64)hi << 32 | lo;
}

static inline void guest_wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c" (msr), "a" ((u32)v), "d" ((u32)(v >> 32))
		     : "memory");
}

static inline void guest_cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void guest_sti(void)
{
	asm volatile("sti" : : : "memory");
}

/* STI; HLT: wait for an interrupt with IF=1 (STI's shadow covers HLT). */
static inline void guest_sti_hlt(void)
{
	asm volatile("sti; hlt" : : : "memory");
}

/*
 * STI, a few NOPs, CLI: take what is pending, if anything (after STI's
 * shadow; the NOPs leave room for a VMM that opens the window late).
 */
static inline void guest_sti_nop_cli(void)
{
	asm volatile("sti; nop; nop; nop; nop; cli" : : : "memory");
}

static inline void guest_pause(void)
{
	asm volatile("pause" : : : "memory");
}

/* Spin with IF=1 for @ticks TSC ticks (interrupts may come in), then CLI. */
static inline void guest_spin_tsc(u64 ticks)
{
	u64 t0 = guest_rdtsc();

	guest_sti();
	while (guest_rdtsc() - t0 < ticks)
		guest_pause();
	guest_cli();
}

/*
 * Wait with IF=1, in HLT, until *@v (counted by an interrupt handler)
 * reaches @n, then CLI.
 */
static inline void guest_wait_at_least(const u32 *v, u32 n)
{
	while (*v < n)
		guest_sti_hlt();
	guest_cli();
}

static inline u64 guest_get_cr8(void)
{
	u64 v;

	asm volatile("mov %%cr8, %0" : "=r" (v));
	return v;
}

static inline void guest_set_cr8(u64 v)
{
	asm volatile("mov %0, %%cr8" : : "r" (v) : "memory");
}

/* One 32-bit MOV to or from MMIO (the APIC and IOAPIC want exactly that). */
static inline u32 guest_mmio_read32(u64 gpa)
{
	u32 v;

	asm volatile("movl %1, %0" : "=r" (v) : "m" (*(u32 *)(uintptr_t)gpa)
		     : "memory");
	return v;
}

static inline void guest_mmio_write32(u64 gpa, u32 v)
{
	asm volatile("movl %0, %1" : : "r" (v), "m" (*(u32 *)(uintptr_t)gpa)
		     : "memory");
}

static inline u32 xapic_read(u32 reg)
{
	return guest_mmio_read32(APIC_DEFAULT_GPA + reg);
}

static inline void xapic_write(u32 reg, u32 v)
{
	guest_mmio_write32(APIC_DEFAULT_GPA + reg, v);
}

static inline void xapic_eoi(void)
{
	xapic_write(APIC_EOI, 0);
}

static inline u32 guest_apic_id(void)
{
	return xapic_read(APIC_ID) >> 24;
}

/* Whether @vector's bit is set in an APIC bitmap (APIC_ISR/TMR/IRR). */
static inline bool xapic_vector_set(u32 bitmap, u8 vector)
{
	return xapic_read(bitmap + (vector / 32) * 0x10) & BIT(vector % 32);
}

static inline u32 ioapic_read(u32 reg)
{
	guest_mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_REGSEL, reg);
	return guest_mmio_read32(IOAPIC_DEFAULT_GPA + IOAPIC_WINDOW);
}

static inline void ioapic_write(u32 reg, u32 v)
{
	guest_mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_REGSEL, reg);
	guest_mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_WINDOW, v);
}

static inline u64 ioapic_get_rte(unsigned int pin)
{
	return ioapic_read(IOAPIC_REDIR(pin)) |
	       (u64)ioapic_read(IOAPIC_REDIR(pin) + 1) << 32;
}

/* High half first, so that unmasking is the last write. */
static inline void ioapic_set_rte(unsigned int pin, u64 rte)
{
	ioapic_write(IOAPIC_REDIR(pin) + 1, rte >> 32);
	ioapic_write(IOAPIC_REDIR(pin), (u32)rte);
}

static inline void guest_set_handler(u8 vector, guest_handler_t fn)
{
	WRITE_ONCE(guest_handlers[vector], fn);
}

/*
 * End the guest: a UCALL_FAIL exit with the line as value, the details in
 * guest_fail_info[APIC ID]; never returns.
 */
__noreturn void guest_fail(const char *file, u32 line, const char *expr,
			   u64 a, u64 b);
/* A UCALL_DONE exit; the guest halts for good after it. */
__noreturn void guest_done(void);
/* Called by kvm_util.c's guest asm: interrupt dispatch, AP entry. */
void guest_isr_dispatch(struct guest_regs *regs);
void guest_ap_entry(u32 apic_id);

#define GUEST_ASSERT(cond)						\
	do {								\
		if (!(cond))						\
			guest_fail(__FILE__, __LINE__, #cond, 0, 0);	\
	} while (0)

/* a op b, reporting both values. */
#define __GUEST_ASSERT_OP(a, op, b)					\
	do {								\
		u64 __a = (u64)(a), __b = (u64)(b);			\
		if (!(__a op __b))					\
			guest_fail(__FILE__, __LINE__,			\
				   #a " " #op " " #b, __a, __b);	\
	} while (0)
#define GUEST_ASSERT_EQ(a, b)	__GUEST_ASSERT_OP(a, ==, b)
#define GUEST_ASSERT_NE(a, b)	__GUEST_ASSERT_OP(a, !=, b)
#define GUEST_ASSERT_LE(a, b)	__GUEST_ASSERT_OP(a, <=, b)
#define GUEST_ASSERT_LT(a, b)	__GUEST_ASSERT_OP(a, <, b)
#define GUEST_ASSERT_GE(a, b)	__GUEST_ASSERT_OP(a, >=, b)

/* Software-enable the local APIC (spurious vector 0xff). */
void guest_xapic_enable(void);
/* Send an IPI: destination (xAPIC: 8 bits) and the ICR's low word. */
void guest_xapic_ipi(u32 dest, u32 icr);
/* INIT, INIT de-assert, SIPI, SIPI to @apic_id (Intel SDM Vol. 3A, 8.4.4.1). */
void guest_start_ap(u32 apic_id);

/* ---- host side */

/*
 * Memory of a C guest: vm_setup_memory(), the image, the trampoline page,
 * the per-vCPU area; the IDT's gates and the per-vCPU TSS descriptors.
 */
void vm_setup_c_guest(struct kvm_vm *vm);
/* KVM_CREATE_VM, KVM_CREATE_IRQCHIP, vm_setup_c_guest(). */
struct kvm_vm *vm_create_irqchip(void);

/*
 * Put a vCPU in long mode at @fn(@arg) on its own stack, TSS and the
 * shared IDT (RFLAGS.IF=0); returning from fn is guest_done().
 */
void vcpu_setup_c(struct kvm_vcpu *vcpu, void (*fn)(u64), u64 arg);

u32 vcpu_get_mp_state(struct kvm_vcpu *vcpu);
void vcpu_set_mp_state(struct kvm_vcpu *vcpu, u32 state);

/* KVM_IRQ_LINE (asserting). */
void vm_irq_line(struct kvm_vm *vm, u32 irq, u32 level);

/*
 * The vCPU's CPUID: a copy of the device's supported CPUID to edit
 * (free() it), the entry for (function, index) in it or NULL, and
 * KVM_SET_CPUID2.
 */
struct kvm_cpuid2 *kvm_cpuid_copy(void);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, u32 function,
				    u32 index);
void vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid);

/*
 * KVM_RUN bounded by @seconds: a timer signal to the calling thread ends a
 * KVM_RUN that is still going (then -1 with errno EINTR).  Returns what
 * KVM_RUN returned.
 */
int vcpu_run_timeout(struct kvm_vcpu *vcpu, double seconds);

/*
 * Run until a ucall (returned, with its value) or any other exit
 * (UCALL_NONE); -1 on a KVM_RUN error (errno set; EINTR when @seconds
 * passed).
 */
int vcpu_run_ucall(struct kvm_vcpu *vcpu, u32 *value, double seconds);

/*
 * How the current exit looks: for a guest failure, the guest's file, line,
 * expression and values; else vcpu_exit_str().
 */
const char *vcpu_guest_str(struct kvm_vcpu *vcpu);

/*
 * vCPU threads: each runs its vCPU until UCALL_DONE, UCALL_FAIL, another
 * exit or a KVM_RUN error, keeping the values it reports (EINTR and EAGAIN
 * run again: KVM's KVM_RUN of an UNINITIALIZED AP ends with EAGAIN when
 * INIT/SIPI wakes it).
 * vcpu_threads_join() waits at most @seconds for all of them, then stops
 * those still running (immediate_exit and a signal); it returns how many
 * had to be stopped.
 */
#define VCPU_THREAD_VALUES	16

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	int end;		/* UCALL_DONE, UCALL_FAIL, UCALL_NONE, -1 */
	int error;		/* errno of a failed KVM_RUN */
	bool stopped;		/* by vcpu_threads_join() */
	int nr_values;
	u32 values[VCPU_THREAD_VALUES];
	char desc[320];		/* vcpu_guest_str() of the end */
	int done;		/* set last, by the thread */
	int stop;
};

void vcpu_thread_start(struct vcpu_thread *t, struct kvm_vcpu *vcpu);
int vcpu_threads_join(struct vcpu_thread *t, int n, double seconds);

#endif /* HVX_SELFTEST_KVM_UTIL_H */
