// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: tracepoints and exit statistics in debugfs.
 *
 * debugfs layout (Documentation/tracing.rst):
 *
 *   hvx/<pid>-<vm id>/stats		the VM: sum over its vCPUs
 *   hvx/<pid>-<vm id>/vcpu<N>/stats	one vCPU
 *
 * <pid> is the process that created the VM, <vm id> a number unique while
 * the module is loaded (the "vm" field of the tracepoints).
 *
 * Lifetime: the files point at the VM and vCPU structures without holding
 * a reference, so that an open file never keeps a VM alive.  This is safe
 * because debugfs_create_file() gives each file a proxy that brackets every
 * file operation with debugfs_file_get()/put(), and the VM's directory is
 * removed first thing when the VM is freed: debugfs_remove_recursive()
 * waits for reads in progress and makes later ones fail with -EIO.  vCPUs
 * are freed only with their VM, after that removal.  The proxy also holds
 * the module while a file is open, and module unload removes hvx/.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "hvx.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static struct dentry *hvx_debugfs_root;
static atomic_t hvx_last_vm_id = ATOMIC_INIT(0);

/* The KVM exit reasons an x86 VMM can see, by name. */
static const char *const hvx_user_exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_NOTIFY] = "NOTIFY",
};

static const char *hvx_user_exit_name(unsigned int reason)
{
	return reason < ARRAY_SIZE(hvx_user_exit_names) ?
	       hvx_user_exit_names[reason] : NULL;
}

static void hvx_stats_add(struct hvx_vcpu_stats *sum,
			  const struct hvx_vcpu_stats *s)
{
	unsigned int i;

	for (i = 0; i < HVX_STAT_NR_HW_EXITS; i++)
		sum->hw_exits[i] += READ_ONCE(s->hw_exits[i]);
	sum->hw_other += READ_ONCE(s->hw_other);
	sum->failed_entries += READ_ONCE(s->failed_entries);
	for (i = 0; i < HVX_STAT_NR_USER_EXITS; i++)
		sum->user_exits[i] += READ_ONCE(s->user_exits[i]);
	sum->user_other += READ_ONCE(s->user_other);
	sum->fault_ins += READ_ONCE(s->fault_ins);
	sum->injections += READ_ONCE(s->injections);
	sum->halt_waits += READ_ONCE(s->halt_waits);
}

/* One "<name> <value>" line per counter; zero per-reason counts omitted. */
static void hvx_stats_show(struct seq_file *m, const struct hvx_vcpu_stats *s)
{
	const char *name;
	u64 total = 0;
	unsigned int i;

	for (i = 0; i < HVX_STAT_NR_HW_EXITS; i++)
		total += s->hw_exits[i];
	seq_printf(m, "exits %llu\n", total + s->hw_other);
	for (i = 0; i < HVX_STAT_NR_HW_EXITS; i++) {
		if (!s->hw_exits[i])
			continue;
		name = hvx_backend->exit_name(i);
		if (name)
			seq_printf(m, "exit.%s %llu\n", name, s->hw_exits[i]);
		else
			seq_printf(m, "exit.%u %llu\n", i, s->hw_exits[i]);
	}
	if (s->hw_other)
		seq_printf(m, "exit.other %llu\n", s->hw_other);
	seq_printf(m, "failed_entries %llu\n", s->failed_entries);

	total = 0;
	for (i = 0; i < HVX_STAT_NR_USER_EXITS; i++)
		total += s->user_exits[i];
	seq_printf(m, "user_exits %llu\n", total + s->user_other);
	for (i = 0; i < HVX_STAT_NR_USER_EXITS; i++) {
		if (!s->user_exits[i])
			continue;
		name = hvx_user_exit_name(i);
		if (name)
			seq_printf(m, "user_exit.%s %llu\n", name,
				   s->user_exits[i]);
		else
			seq_printf(m, "user_exit.%u %llu\n", i,
				   s->user_exits[i]);
	}
	if (s->user_other)
		seq_printf(m, "user_exit.other %llu\n", s->user_other);
	seq_printf(m, "fault_ins %llu\n", s->fault_ins);
	seq_printf(m, "injections %llu\n", s->injections);
	seq_printf(m, "halt_waits %llu\n", s->halt_waits);
}

static int hvx_vcpu_stats_show(struct seq_file *m, void *unused)
{
	struct hvx_vcpu *vcpu = m->private;
	struct hvx_vcpu_stats *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	hvx_stats_add(s, &vcpu->stats);
	hvx_stats_show(m, s);
	kfree(s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hvx_vcpu_stats);

static int hvx_vm_stats_show(struct seq_file *m, void *unused)
{
	struct hvx_vm *vm = m->private;
	struct hvx_vcpu_stats *s;
	unsigned int i, nr = 0;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	/* vm->lock orders the read after a vCPU's publication. */
	mutex_lock(&vm->lock);
	for (i = 0; i < HVX_MAX_VCPUS; i++) {
		if (vm->vcpus[i]) {
			hvx_stats_add(s, &vm->vcpus[i]->stats);
			nr++;
		}
	}
	mutex_unlock(&vm->lock);
	seq_printf(m, "vcpus %u\n", nr);
	hvx_stats_show(m, s);
	kfree(s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hvx_vm_stats);

/**
 * hvx_stats_init() - create debugfs hvx/, at module load
 */
void hvx_stats_init(void)
{
	hvx_debugfs_root = debugfs_create_dir("hvx", NULL);
}

/**
 * hvx_stats_exit() - remove debugfs hvx/, at module unload (no VM left)
 */
void hvx_stats_exit(void)
{
	debugfs_remove_recursive(hvx_debugfs_root);
}

/**
 * hvx_stats_vm_create() - number a new VM, trace it, create its directory
 * @vm: the VM, not yet visible to userspace.
 */
void hvx_stats_vm_create(struct hvx_vm *vm)
{
	pid_t pid = task_tgid_nr(current);
	char name[32];

	vm->id = atomic_inc_return(&hvx_last_vm_id);
	trace_hvx_vm_create(vm->id, pid);
	snprintf(name, sizeof(name), "%d-%u", pid, vm->id);
	vm->debugfs = debugfs_create_dir(name, hvx_debugfs_root);
	debugfs_create_file("stats", 0444, vm->debugfs, vm,
			    &hvx_vm_stats_fops);
}

/**
 * hvx_stats_vm_destroy() - remove a VM's directory, before it is freed
 * @vm: the VM; no file refers to it any more.
 *
 * Waits for the reads of its statistics files in progress.
 */
void hvx_stats_vm_destroy(struct hvx_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs);
	vm->debugfs = NULL;
	trace_hvx_vm_destroy(vm->id);
}

/**
 * hvx_stats_vcpu_create() - trace a new vCPU and create its directory
 * @vcpu: the vCPU, with its VM's lock held.
 */
void hvx_stats_vcpu_create(struct hvx_vcpu *vcpu)
{
	struct dentry *dir;
	char name[16];

	trace_hvx_vcpu_create(vcpu->vm->id, vcpu->id);
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	dir = debugfs_create_dir(name, vcpu->vm->debugfs);
	debugfs_create_file("stats", 0444, dir, vcpu, &hvx_vcpu_stats_fops);
}

/**
 * hvx_stats_vcpu_destroy() - trace a vCPU being freed (with its VM)
 * @vcpu: the vCPU.
 */
void hvx_stats_vcpu_destroy(struct hvx_vcpu *vcpu)
{
	trace_hvx_vcpu_destroy(vcpu->vm->id, vcpu->id);
}

/**
 * hvx_stats_run_exit() - KVM_RUN returns to userspace
 * @vcpu: the vCPU, on its own thread.
 * @ret: what the run loop ends with: 0, or -errno (-EINTR for a signal,
 *	 with kvm_run.exit_reason KVM_EXIT_INTR).
 *
 * Counts the exit by kvm_run.exit_reason when userspace will read it.
 */
void hvx_stats_run_exit(struct hvx_vcpu *vcpu, int ret)
{
	u32 reason = READ_ONCE(vcpu->run->exit_reason);

	if (ret >= 0 || ret == -EINTR)
		hvx_stat_user_exit(&vcpu->stats, reason);
	trace_hvx_userspace_exit(vcpu->vm->id, vcpu->id, reason, ret);
}

/**
 * hvx_stats_fault_in() - trace a guest page mapped by the fault path
 * @vm: the VM.
 * @gpa: the guest-physical address that faulted.
 * @slot: the memory slot holding it.
 * @pfn: the host page frame now mapped there.
 */
void hvx_stats_fault_in(struct hvx_vm *vm, u64 gpa, unsigned int slot, u64 pfn)
{
	trace_hvx_fault_in(vm->id, gpa, slot, pfn);
}
