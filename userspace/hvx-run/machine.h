/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx-run's bottom layer (machine.c): the types and the struct machine
 * every file shares, the launcher's messages (die(), warnx()), its clock
 * (now_ns()) and how the machine ends (machine_end(), machine_over()).
 *
 * Nothing declared here calls up into another file of hvx-run. The device
 * models include this header through devices.h and see nothing above
 * themselves; the rest of the launcher includes hvx-run.h.
 */
#ifndef HVX_RUN_MACHINE_H
#define HVX_RUN_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define BIT(n)		(1U << (n))
#define BIT_ULL(n)	(1ULL << (n))
#define __hvx_attr(x)	__attribute__((x))
#define __noreturn	__hvx_attr(__noreturn__)
#define __printf(a, b)	__hvx_attr(__format__(printf, a, b))
#define __packed	__hvx_attr(__packed__)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define NSEC_PER_SEC	1000000000ULL

/* --smp: APIC IDs 0..N-1, the IOAPIC takes ID N (MP table, 8-bit IDs). */
#define SMP_MAX		64

enum irqchip_mode {
	IRQCHIP_DEFAULT,	/* kernel if the device has KVM_CAP_IRQCHIP */
	IRQCHIP_USER,		/* PIC in hvx-run, KVM_INTERRUPT, one vCPU */
	IRQCHIP_KERNEL,		/* KVM_CREATE_IRQCHIP, KVM_IRQ_LINE */
};

/* How the launcher ends. */
enum run_end {
	END_NONE,
	END_POWEROFF,	/* HLT with interrupts off: status 0 */
	END_RESET,	/* keyboard controller or 0xcf9 reset: status 0 */
	END_DEBUG_EXIT,	/* --debug-exit port written: (v << 1) | 1 */
	END_QUIT,	/* Ctrl-A x on the console: status 0 */
	END_ERROR,	/* the guest died or the launcher failed: status 1 */
};

struct options {
	const char *device;
	const char *kernel;
	const char *initrd;
	const char *append;
	u64 mem_size;
	u64 flat_addr;
	bool flat;
	int debug_exit_port;	/* -1: none */
	bool verbose;
	int smp;
	enum irqchip_mode irqchip;
};

struct machine;

struct vcpu {
	struct machine *m;
	int id;			/* vCPU id = initial APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool check;		/* a stop check asked this vCPU for its state */
};

struct machine {
	const struct options *opt;
	int sys_fd, vm_fd, vcpu_fd;	/* vcpu_fd, run: vCPU 0's */
	struct kvm_run *run;
	size_t run_size;
	struct vcpu *vcpus;
	int nr_vcpus;
	bool kernel_irqchip;
	u32 cpu_signature, cpu_features;	/* CPUID.1 EAX, EDX */
	u8 *ram;		/* guest RAM: [0, low_size) then [4G, ...) */
	u64 ram_size, low_size;
	u32 tsc_khz;
	enum run_end end;
	int exit_status;
	/*
	 * Called by machine_end() once the end is set, from the thread that
	 * ended the machine: smp.c stops its threads (NULL: nothing to stop).
	 */
	void (*on_end)(struct machine *m);
};

/* The program name that starts the launcher's messages. */
extern const char *const prog;

__noreturn __printf(1, 2) void die(const char *fmt, ...);
__printf(1, 2) void warnx(const char *fmt, ...);

/* CLOCK_MONOTONIC in ns: device time and the launcher's deadlines. */
u64 now_ns(void);

void machine_end(struct machine *m, enum run_end end, int status);
bool machine_over(struct machine *m);
int machine_report_end(struct machine *m);

#endif
