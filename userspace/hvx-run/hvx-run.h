/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx-run: a userspace launcher for /dev/hvx (and /dev/kvm): one vCPU with
 * the PIC in userspace (--irqchip=user), or 1..SMP_MAX vCPUs with the
 * device's in-kernel irqchip (--irqchip=kernel). Shared declarations.
 */
#ifndef HVX_RUN_H
#define HVX_RUN_H

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

/* Guest RAM above this address is placed above 4 GiB (PCI hole). */
#define LOW_RAM_MAX	(3 * GIB)
#define HIGH_RAM_BASE	(4 * GIB)

/* IRQ lines of the emulated PC. */
#define IRQ_PIT		0
#define IRQ_COM1	4

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
};

/* main.c */
__noreturn __printf(1, 2) void die(const char *fmt, ...);
__printf(1, 2) void warnx(const char *fmt, ...);
void *guest_ptr(struct machine *m, u64 gpa, u64 len);
u64 now_ns(void);

void check_caps(struct machine *m, bool for_linux);

/* loader.c */
void load_guest(struct machine *m);

/* cpu.c */
void cpu_setup_cpuid(struct machine *m);
void cpu_dump(int vcpu_fd);

/* mptable.c */
void mptable_setup(struct machine *m);

/* vcpu.c: the exits both models share, and the one-vCPU loop */
void vcpu_loop(struct machine *m);
void machine_end(struct machine *m, enum run_end end, int status);
void vcpu_handle_exit(struct vcpu *v);

/* smp.c: the vCPU threads and the device thread with an in-kernel irqchip */
void smp_run(struct machine *m);
void smp_end(struct machine *m);

/* irq.c: ISA interrupt lines, to the userspace PIC or KVM_IRQ_LINE */
void irq_init(struct machine *m);
void irq_set(int irq, int level);

/* devices: port I/O dispatch (io.c) */
void io_access(struct machine *m, u16 port, u8 *data, int size,
	       bool out);
/* Catch up device time and input; returns the next timer deadline (ns). */
u64 devices_poll(struct machine *m);

/* pic.c: the i8259 pair */
void pic_set_irq(int irq, int level);
bool pic_pending(void);
int pic_ack(void);
u8 pic_read(u16 port);
void pic_write(u16 port, u8 val);

/* pit.c: the i8254 and port 0x61 */
u8 pit_read(u16 port);
void pit_write(u16 port, u8 val);
u64 pit_poll(u64 now);

/* serial.c: the 16550A at 0x3f8 */
void serial_init(int in_fd, int out_fd);
u8 serial_read(u16 port);
void serial_write(u16 port, u8 val);
void serial_poll(struct machine *m);
int serial_input_fd(void);

/* console.c: the launcher's terminal */
void console_init(void);
void console_restore(void);

/* cmos.c */
u8 cmos_read(u16 port);
void cmos_write(u16 port, u8 val);

#endif
