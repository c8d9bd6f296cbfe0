/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core: per-vCPU exit counters, shown in debugfs (module/stats.c and
 * Documentation/tracing.rst).
 *
 * Each vCPU's counters are written only by the thread running that vCPU
 * (KVM_RUN holds the vCPU mutex), so an increment is a plain load and store
 * with no atomic operation or shared cache line.  Readers use READ_ONCE and
 * may see a count one behind; a VM's counters are the sum over its vCPUs,
 * computed when the file is read.
 */
#ifndef HVX_STATS_H
#define HVX_STATS_H

#include <linux/compiler.h>
#include <linux/types.h>

/* Hardware (basic) exit reasons counted one by one; larger ones in hw_other. */
#define HVX_STAT_NR_HW_EXITS	96
/* KVM exit reasons (KVM_EXIT_*) counted one by one; larger in user_other. */
#define HVX_STAT_NR_USER_EXITS	48

/**
 * struct hvx_vcpu_stats - what a vCPU did, since it was created
 * @hw_exits:	hardware exits by basic exit reason (VMX: Intel SDM Vol. 3D,
 *		Appendix C).
 * @hw_other:	hardware exits with a basic reason >= HVX_STAT_NR_HW_EXITS.
 * @failed_entries: VM entries that failed (VMfail or a failed check).
 * @user_exits:	returns from KVM_RUN to userspace, by kvm_run.exit_reason.
 * @user_other:	the same, for a reason >= HVX_STAT_NR_USER_EXITS.
 * @fault_ins:	guest page faults inside a memory slot resolved in the
 *		kernel (EPT violations that mapped a page).
 * @injections:	events (exceptions, interrupts, NMIs) hvx injected; the
 *		re-delivery of an event an exit interrupted is not counted.
 * @halt_waits:	times the vCPU thread slept in KVM_RUN (HLT with an
 *		in-kernel APIC, or waiting for SIPI).
 */
struct hvx_vcpu_stats {
	u64 hw_exits[HVX_STAT_NR_HW_EXITS];
	u64 hw_other;
	u64 failed_entries;
	u64 user_exits[HVX_STAT_NR_USER_EXITS];
	u64 user_other;
	u64 fault_ins;
	u64 injections;
	u64 halt_waits;
};

/* Single writer: no read-modify-write atomicity needed, only no tearing. */
static inline void hvx_stat_inc(u64 *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

static inline void hvx_stat_hw_exit(struct hvx_vcpu_stats *s, u16 reason)
{
	if (reason < HVX_STAT_NR_HW_EXITS)
		hvx_stat_inc(&s->hw_exits[reason]);
	else
		hvx_stat_inc(&s->hw_other);
}

static inline void hvx_stat_user_exit(struct hvx_vcpu_stats *s, u32 reason)
{
	if (reason < HVX_STAT_NR_USER_EXITS)
		hvx_stat_inc(&s->user_exits[reason]);
	else
		hvx_stat_inc(&s->user_other);
}

struct hvx_vm;
struct hvx_vcpu;

/*
 * module/stats.c: one hook per event for the core, each tracing it and
 * keeping debugfs up to date.  debugfs failures are not errors (debugfs is
 * optional; the files are then missing).
 */
void hvx_stats_init(void);
void hvx_stats_exit(void);
void hvx_stats_vm_create(struct hvx_vm *vm);
void hvx_stats_vm_destroy(struct hvx_vm *vm);
void hvx_stats_vcpu_create(struct hvx_vcpu *vcpu);
void hvx_stats_vcpu_destroy(struct hvx_vcpu *vcpu);
void hvx_stats_run_exit(struct hvx_vcpu *vcpu, int ret);
void hvx_stats_fault_in(struct hvx_vm *vm, u64 gpa, unsigned int slot,
			u64 pfn);

#endif /* HVX_STATS_H */
