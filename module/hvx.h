/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core: the contract between the architecture-neutral core (module/) and
 * the hardware backend (module/vmx/).  The core never includes a backend
 * header; it reaches the backend only through struct hvx_backend_ops.
 */
#ifndef HVX_CORE_H
#define HVX_CORE_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/atomic.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "mce.h"
#include <linux/xarray.h>

#include "stats.h"

struct hvx_irqchip;
struct hvx_lapic;

/* Limits reported through KVM_CHECK_EXTENSION. */
#define HVX_MAX_VCPUS		64
#define HVX_MAX_MEMSLOTS	32
/* As KVM: the largest KVM_SET_CPUID2 table. */
#define HVX_MAX_CPUID_ENTRIES	256

/**
 * struct hvx_memslot - one KVM_SET_USER_MEMORY_REGION slot
 * @gpa:	guest-physical address of the first byte.
 * @npages:	size in pages.
 * @uaddr:	userspace address of the first byte, in the VM's mm.
 * @flags:	KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY.
 * @id:		the slot id (for tracing).
 * @pages:	the pinned page behind each guest page the guest touched,
 *		by page index in the slot; sparse, so a slot costs what the
 *		guest used, whatever its size; mark 0 is "dirty" (mem.c).
 *		Written under hvx_vm.lock.
 */
struct hvx_memslot {
	u64 gpa;
	u64 npages;
	u64 uaddr;
	u32 flags;
	u16 id;
	struct xarray pages;
};

/**
 * struct hvx_vm - one virtual machine, owned by its file descriptors
 * @refcount:	one reference per open VM or vCPU file.
 * @mm:		the address space that created the VM; the VM is usable only
 *		from it (other callers get -EIO, as with KVM).
 * @lock:	serializes memory-slot changes, guest page faults and vCPU
 *		creation.
 * @slots:	memory slots by slot id; NULL when unused.
 * @vcpus:	vCPUs by id; written once under @lock.
 * @nr_vcpus:	number of vCPUs created.
 * @max_vcpu_ids: vCPU ids are below this (KVM_CAP_MAX_VCPU_ID, which
 *		KVM_ENABLE_CAP may lower once); 0 for HVX_MAX_VCPUS.  Under
 *		@lock.
 * @id:		number for tracepoints and debugfs, unique while loaded.
 * @debugfs:	the VM's debugfs directory (module/stats.c).
 * @irqchip:	the in-kernel interrupt controllers (KVM_CREATE_IRQCHIP,
 *		module/irq/), or NULL: the VMM's (KVM_INTERRUPT).  Set once,
 *		before any vCPU exists.
 * @buses:	in-kernel port I/O and MMIO devices (module/bus.c; SRCU).
 * @bus_srcu:	protects @buses lookups.
 * @eventfds:	the VM's irqfds and ioeventfds (module/eventfd.c).
 *
 * The backend embeds this structure in its own (backend_ops.vm_size).
 */
struct hvx_vm {
	struct kref refcount;
	struct mm_struct *mm;
	struct mutex lock;	/* see above */
	struct hvx_memslot *slots[HVX_MAX_MEMSLOTS];
	struct hvx_vcpu *vcpus[HVX_MAX_VCPUS];
	unsigned int nr_vcpus;
	unsigned int max_vcpu_ids;
	unsigned int id;
	struct dentry *debugfs;
	struct hvx_irqchip *irqchip;
	void __rcu *buses[2];
	struct srcu_struct bus_srcu;
	void *eventfds;
};

/**
 * struct hvx_vcpu - one virtual CPU, owned by its file descriptor
 * @vm:		the VM; the vCPU holds a reference on it.
 * @id:		vCPU id (KVM_CREATE_VCPU argument).
 * @mutex:	held across every vCPU ioctl, as in KVM.
 * @run:	the shared struct kvm_run (page 0 of the vCPU mmap).
 * @pio_data:	the port I/O data page (page KVM_PIO_PAGE_OFFSET).
 * @fault_gpa:	guest-physical address of the access the backend asks the
 *		core to resolve (HVX_RUN_FAULT).
 * @fault_write: that access was a write.
 * @stats:	exit counters, written only by the thread running the vCPU.
 * @ran:	KVM_RUN was called; the CPUID table may no longer change.
 * @lapic:	the local APIC (module/irq/lapic.c) when the VM has an
 *		in-kernel irqchip, else NULL.
 * @requests:	HVX_REQ_* bits other threads post for the vCPU thread
 *		(hvx_vcpu_request()); handled before the next guest entry.
 * @nmi_queued:	NMIs delivered by APICs, taken by the vCPU thread.
 * @sipi_vector: the vector of the last SIPI (HVX_REQ_SIPI).
 * @eoi_vector:	the vector of HVX_REQ_EOI_EXIT.
 * @mode:	HVX_IN_GUEST between the last check of @requests and the
 *		VM exit, else HVX_OUTSIDE_GUEST (see hvx_vcpu_kick()).
 * @cpu:	the CPU the vCPU thread runs the guest on, while in KVM_RUN.
 * @wait:	where the vCPU thread blocks (HLT, waiting for SIPI).
 * @mp_state:	KVM_MP_STATE_*: RUNNABLE, HALTED, INIT_RECEIVED or
 *		UNINITIALIZED (only with an in-kernel irqchip).
 * @halt_if:	RFLAGS.IF of the HLT that halted the vCPU: whether an
 *		interrupt (not only an NMI or INIT) wakes it.
 *
 * The backend embeds this structure in its own (backend_ops.vcpu_size).
 */
struct hvx_vcpu {
	struct hvx_vm *vm;
	unsigned int id;
	struct mutex mutex;	/* see above */
	struct kvm_run *run;
	void *pio_data;
	u64 fault_gpa;
	bool fault_write;
	struct hvx_vcpu_stats stats;
	bool ran;
	struct hvx_lapic *lapic;
	struct hvx_mce mce;
	unsigned long requests;
	atomic_t nmi_queued;
	u8 sipi_vector;
	u8 eoi_vector;
	int mode;
	int cpu;
	wait_queue_head_t wait;
	u32 mp_state;
	bool halt_if;
};

/* hvx_vcpu.requests bits. */
enum {
	HVX_REQ_EVENT,	/* an interrupt may be pending: look (APIC, PIC) */
	HVX_REQ_NMI,	/* @nmi_queued NMIs to take */
	HVX_REQ_INIT,	/* INIT signal */
	HVX_REQ_SIPI,	/* startup IPI with @sipi_vector */
	HVX_REQ_EOI_EXIT, /* KVM_EXIT_IOAPIC_EOI of @eoi_vector (split irqchip) */
};

/* hvx_vcpu.mode */
enum {
	HVX_OUTSIDE_GUEST,
	HVX_IN_GUEST,
};

/* kvm_run.immediate_exit, renamed by newer kernels' headers (same ABI). */
#ifdef HVX_KVM_RUN_IMMEDIATE_EXIT_UNSAFE
#define hvx_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit__unsafe)
#else
#define hvx_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit)
#endif

/*
 * What to do next: the one result of the run path, from each exit handler
 * up through backend_ops.vcpu_run() to the core.  HVX_RUN_AGAIN from an
 * exit handler re-enters the guest at once (STYLE: 1 resumes, 0 returns
 * to userspace, as KVM's handlers); from vcpu_run() it has the core check
 * signals and rescheduling first.
 */
enum hvx_run_result {
	HVX_RUN_USER = 0,	/* return to userspace: kvm_run says why */
	HVX_RUN_AGAIN = 1,	/* run the guest again */
	HVX_RUN_FAULT,		/* resolve fault_gpa, then run again */
	HVX_RUN_EMULATE,	/* call backend_ops.vcpu_emulate() */
	HVX_RUN_HALT,		/* HLT retired with an in-kernel APIC: block */
};

/**
 * struct hvx_backend_ops - what a hardware backend provides to the core
 * @name:		short name for log messages ("vmx").
 * @vm_size:		size of the backend's VM structure (embeds hvx_vm).
 * @vcpu_size:		size of the backend's vCPU structure (embeds hvx_vcpu).
 * @hardware_setup:	called once at module load, before any CPU is
 *			enabled.  Checks that the hardware has every feature
 *			hvx needs (logging one line per missing feature) and
 *			allocates per-CPU resources.  Returns 0 or -errno.
 * @hardware_unsetup:	undoes @hardware_setup; all CPUs are disabled.
 * @cpu_enable:		enters hardware virtualization (VMX root) on the
 *			calling CPU.  Called with interrupts disabled, only
 *			when the core knows the CPU is not enabled.  Returns
 *			0, or -errno with one log line saying why.
 * @cpu_disable:	leaves hardware virtualization on the calling CPU.
 *			Called with interrupts disabled, only on an enabled
 *			CPU.  Must not fail.
 * @vm_init:		sets up the backend part of a new VM (the guest
 *			page tables).  Returns 0 or -errno.
 * @vm_destroy:		frees it; no vCPU exists any more.
 * @vm_map:		maps guest page @gpa to host page frame @pfn,
 *			readable and executable, and writable if @writable;
 *			replaces what was mapped there (taking write access
 *			away needs @vm_flush before it is certain).  Called
 *			with hvx_vm.lock held.  Returns 0 or -errno.
 * @vm_flush:		flushes every CPU's cached translations of the VM's
 *			guest-physical memory.  Called with hvx_vm.lock.
 * @vm_unmap:		unmaps [@gpa, @gpa + @size) and flushes every CPU's
 *			cached translations, so that the pages can be
 *			released when it returns.  Called with hvx_vm.lock.
 * @vcpu_init:		sets up a new vCPU in the x86 reset state.
 * @vcpu_reset:		puts the vCPU in the state an INIT signal leaves it
 *			in (Intel SDM Vol. 3A, Table 10-1, "INIT" column):
 *			registers as at reset, MSRs, FPU and CPUID kept; no
 *			event pending.
 * @vcpu_sipi:		a startup IPI: CS = @vector << 8, base @vector << 12,
 *			RIP 0.
 * @vcpu_destroy:	frees the backend part of a vCPU.
 * @vcpu_load:		called when KVM_RUN starts running the guest; loads
 *			what stays with the vCPU thread until @vcpu_put (the
 *			guest FPU state), across faults and rescheduling.
 * @vcpu_put:		undoes @vcpu_load before KVM_RUN returns.
 * @vcpu_run:		enters the guest, handling in the kernel the exits
 *			that need no sleeping, until one needs the core or
 *			userspace.  Returns an enum hvx_run_result or -errno.
 * @vcpu_complete:	completes the instruction whose exit userspace handled
 *			(port input data, MMIO load data, RIP), first thing
 *			in KVM_RUN, even with immediate_exit set (as KVM).
 *			Returns 0 or -errno.
 * @vcpu_emulate:	the one emulation step that may sleep (guest memory
 *			access): finishes an exit that vcpu_run returned
 *			HVX_RUN_EMULATE for, or, for an HVX_RUN_FAULT the
 *			core found outside every slot, decodes the
 *			instruction that accessed fault_gpa and fills
 *			kvm_run for KVM_EXIT_MMIO (or an emulation
 *			failure).  Returns an enum hvx_run_result or -errno.
 * @get_regs, @set_regs, @get_sregs, @set_sregs: KVM_GET/SET_(S)REGS on
 *			kernel copies; the setters validate (-EINVAL) and
 *			change nothing on error.  Every vCPU op returning
 *			int fails with -EIO when the hardware refused an
 *			operation on the vCPU's state (a VMX instruction
 *			failed: a backend bug); the vCPU is then unusable.
 * @get_msr, @set_msr:	one MSR of KVM_GET/SET_MSRS; -EINVAL for an MSR
 *			not in @msr_list or a value the CPU would refuse.
 * @msr_list, @nr_msrs:	the MSRs KVM_GET_MSR_INDEX_LIST reports.
 * @get_debugregs, @set_debugregs: KVM_GET/SET_DEBUGREGS.
 * @get_fpu, @set_fpu:	KVM_GET/SET_FPU (the legacy x87/SSE state).
 * @interrupt:		KVM_INTERRUPT: queue external interrupt @irq; -EINVAL
 *			for a vector above 255, -EEXIST if one is queued.
 * @nmi:		KVM_NMI: queue an NMI.
 * @get_events, @set_events: KVM_GET/SET_VCPU_EVENTS.
 * @get_xsave, @set_xsave: KVM_GET/SET_XSAVE.
 * @get_xcrs, @set_xcrs: KVM_GET/SET_XCRS.
 * @has_xsave:		the backend gives guests XSAVE state and XCR0
 *			(KVM_CAP_XSAVE, KVM_CAP_XCRS).
 * @exit_name:		the name of a hardware exit reason for statistics,
 *			or NULL when it has none.
 * @supported_cpuid:	points @entries at the KVM_GET_SUPPORTED_CPUID
 *			table and returns its number of entries.
 * @set_cpuid:		KVM_SET_CPUID2 on a kernel copy of at most
 *			HVX_MAX_CPUID_ENTRIES entries; -EINVAL (and no
 *			change) for a table that offers what the backend
 *			cannot give, or, once the vCPU has run, for any
 *			table but the one it has.
 * @get_cpuid:		points @entries at the vCPU's table (KVM_GET_CPUID2),
 *			with the bits that follow the vCPU's state as the
 *			guest sees them now, and returns its number of
 *			entries.
 *
 * The vCPU ops run with hvx_vcpu.mutex held.
 */
struct hvx_backend_ops {
	const char *name;
	size_t vm_size;
	size_t vcpu_size;
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
	int (*vm_init)(struct hvx_vm *vm);
	void (*vm_destroy)(struct hvx_vm *vm);
	int (*vm_map)(struct hvx_vm *vm, u64 gpa, u64 pfn, bool writable);
	void (*vm_flush)(struct hvx_vm *vm);
	void (*vm_unmap)(struct hvx_vm *vm, u64 gpa, u64 size);
	int (*vcpu_init)(struct hvx_vcpu *vcpu);
	void (*vcpu_destroy)(struct hvx_vcpu *vcpu);
	int (*vcpu_reset)(struct hvx_vcpu *vcpu);
	int (*vcpu_sipi)(struct hvx_vcpu *vcpu, u8 vector);
	void (*vcpu_load)(struct hvx_vcpu *vcpu);
	void (*vcpu_put)(struct hvx_vcpu *vcpu);
	int (*vcpu_run)(struct hvx_vcpu *vcpu);
	int (*vcpu_complete)(struct hvx_vcpu *vcpu);
	int (*vcpu_emulate)(struct hvx_vcpu *vcpu);
	int (*get_regs)(struct hvx_vcpu *vcpu, struct kvm_regs *regs);
	int (*set_regs)(struct hvx_vcpu *vcpu, const struct kvm_regs *regs);
	int (*get_sregs)(struct hvx_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct hvx_vcpu *vcpu, const struct kvm_sregs *sregs);
	int (*get_msr)(struct hvx_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct hvx_vcpu *vcpu, u32 index, u64 data);
	const u32 *msr_list;
	unsigned int nr_msrs;
	void (*get_debugregs)(struct hvx_vcpu *vcpu, struct kvm_debugregs *d);
	int (*set_debugregs)(struct hvx_vcpu *vcpu,
			     const struct kvm_debugregs *d);
	void (*get_fpu)(struct hvx_vcpu *vcpu, struct kvm_fpu *fpu);
	int (*set_fpu)(struct hvx_vcpu *vcpu, const struct kvm_fpu *fpu);
	int (*interrupt)(struct hvx_vcpu *vcpu, u32 irq);
	int (*nmi)(struct hvx_vcpu *vcpu);
	int (*get_events)(struct hvx_vcpu *vcpu,
			  struct kvm_vcpu_events *events);
	int (*set_events)(struct hvx_vcpu *vcpu,
			  const struct kvm_vcpu_events *events);
	void (*get_xsave)(struct hvx_vcpu *vcpu, struct kvm_xsave *xsave);
	int (*set_xsave)(struct hvx_vcpu *vcpu, const struct kvm_xsave *xsave);
	void (*get_xcrs)(struct hvx_vcpu *vcpu, struct kvm_xcrs *xcrs);
	int (*set_xcrs)(struct hvx_vcpu *vcpu, const struct kvm_xcrs *xcrs);
	bool (*has_xsave)(void);
	const char *(*exit_name)(unsigned int reason);
	unsigned int (*supported_cpuid)(const struct kvm_cpuid_entry2 **entries);
	int (*set_cpuid)(struct hvx_vcpu *vcpu,
			 const struct kvm_cpuid_entry2 *entries,
			 unsigned int nent);
	unsigned int (*get_cpuid)(struct hvx_vcpu *vcpu,
				  const struct kvm_cpuid_entry2 **entries);
};

/* The VT-x backend (module/vmx/vmx.c). */
extern const struct hvx_backend_ops vmx_backend_ops;
extern const struct hvx_backend_ops *hvx_backend;

/* module/main.c */
extern bool hvx_rebooting;
int hvx_cpuid_to_user(struct kvm_cpuid2 __user *ucpuid,
		      const struct kvm_cpuid_entry2 *entries, unsigned int n);

/* module/vm.c */
int hvx_vm_create(unsigned long type);
void hvx_vm_get(struct hvx_vm *vm);
void hvx_vm_put(struct hvx_vm *vm);
long hvx_vm_check_extension(unsigned long cap);

/* module/mem.c */
int hvx_set_memory_region(struct hvx_vm *vm,
			  const struct kvm_userspace_memory_region *mem);
int hvx_vm_fault(struct hvx_vm *vm, u64 gpa, bool write);
int hvx_get_dirty_log(struct hvx_vm *vm, const struct kvm_dirty_log *log);
int hvx_read_guest(struct hvx_vm *vm, u64 gpa, void *buf, size_t len);
int hvx_write_guest(struct hvx_vm *vm, u64 gpa, const void *buf, size_t len);
void hvx_mem_destroy(struct hvx_vm *vm);	/* after backend vm_destroy */

/* module/vcpu.c */
int hvx_vcpu_create(struct hvx_vm *vm, unsigned long id);
/*
 * Makes the vCPU look at its requests and interrupts soon: wakes it if it
 * is blocked, and sends an IPI to its CPU if it is in the guest.  Any
 * context, interrupts on or off.
 */
void hvx_vcpu_kick(struct hvx_vcpu *vcpu);
/* Posts request @req (HVX_REQ_*) and kicks the vCPU. */
void hvx_vcpu_request(struct hvx_vcpu *vcpu, unsigned int req);

#endif /* HVX_CORE_H */
