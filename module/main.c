// SPDX-License-Identifier: GPL-2.0
/*
 * hvx: module init and exit, per-CPU hardware virtualization lifecycle,
 * /dev/hvx and its system ioctls.
 *
 * Every online CPU is kept in VMX root operation while the module is loaded:
 * CPU-hotplug callbacks enter it on a CPU that comes online and leave it on a
 * CPU that goes offline; a reboot notifier leaves it on every CPU before the
 * machine restarts (a CPU in VMX root blocks INIT, so the reboot would hang);
 * syscore operations leave and re-enter it across suspend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/kvm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>
#include <linux/uaccess.h>
#include <linux/hvx.h>

#include "hvx.h"

const struct hvx_backend_ops *hvx_backend = &vmx_backend_ops;

/*
 * The CPUs that are in VMX root operation on hvx's behalf.  A CPU changes
 * only its own bit, with interrupts disabled.
 */
static struct cpumask hvx_enabled_cpus;

/*
 * Set once the machine is going down: no CPU may enter VMX root again, and
 * a VMX instruction that faults because its CPU already left is expected.
 */
bool hvx_rebooting;

/* Whether the CPU that runs the syscore suspend callback was enabled. */
static bool hvx_enabled_before_suspend;

static enum cpuhp_state hvx_cpuhp_state;

static int hvx_cpu_enable(void)
{
	unsigned int cpu = smp_processor_id();
	int r;

	lockdep_assert_irqs_disabled();

	if (cpumask_test_cpu(cpu, &hvx_enabled_cpus))
		return 0;
	if (READ_ONCE(hvx_rebooting))
		return -EBUSY;

	r = hvx_backend->cpu_enable();
	if (!r)
		cpumask_set_cpu(cpu, &hvx_enabled_cpus);
	return r;
}

static void hvx_cpu_disable(void)
{
	unsigned int cpu = smp_processor_id();

	lockdep_assert_irqs_disabled();

	if (!cpumask_test_cpu(cpu, &hvx_enabled_cpus))
		return;
	hvx_backend->cpu_disable();
	cpumask_clear_cpu(cpu, &hvx_enabled_cpus);
}

/* CPU hotplug callbacks: they run on @cpu itself, in its hotplug thread. */
static int hvx_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int r;

	local_irq_save(flags);
	r = hvx_cpu_enable();
	local_irq_restore(flags);
	return r;
}

static int hvx_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	hvx_cpu_disable();
	local_irq_restore(flags);
	return 0;
}

static void hvx_cpu_disable_ipi(void *unused)
{
	hvx_cpu_disable();
}

static int hvx_reboot(struct notifier_block *nb, unsigned long action,
		      void *unused)
{
	WRITE_ONCE(hvx_rebooting, true);
	on_each_cpu(hvx_cpu_disable_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block hvx_reboot_notifier = {
	.notifier_call = hvx_reboot,
};

/*
 * Syscore callbacks run on the last online CPU with interrupts disabled;
 * the other CPUs were taken offline through the hotplug callbacks.
 */
static int hvx_suspend(void)
{
	hvx_enabled_before_suspend =
		cpumask_test_cpu(smp_processor_id(), &hvx_enabled_cpus);
	hvx_cpu_disable();
	return 0;
}

static void hvx_resume(void)
{
	if (hvx_enabled_before_suspend && hvx_cpu_enable())
		pr_err("CPU%u: cannot re-enter VMX root after resume\n",
		       smp_processor_id());
}

static void hvx_shutdown(void)
{
	WRITE_ONCE(hvx_rebooting, true);
	hvx_cpu_disable();
}

#ifdef HVX_SYSCORE_HAS_DATA
/* Kernels whose syscore callbacks take a data pointer. */
static int hvx_syscore_suspend(void *unused)
{
	return hvx_suspend();
}

static void hvx_syscore_resume(void *unused)
{
	hvx_resume();
}

static void hvx_syscore_shutdown(void *unused)
{
	hvx_shutdown();
}

static const struct syscore_ops hvx_syscore_ops = {
	.suspend = hvx_syscore_suspend,
	.resume = hvx_syscore_resume,
	.shutdown = hvx_syscore_shutdown,
};

static struct syscore hvx_syscore = {
	.ops = &hvx_syscore_ops,
};

static void hvx_register_syscore(void)
{
	register_syscore(&hvx_syscore);
}

static void hvx_unregister_syscore(void)
{
	unregister_syscore(&hvx_syscore);
}
#else
static struct syscore_ops hvx_syscore_ops = {
	.suspend = hvx_suspend,
	.resume = hvx_resume,
	.shutdown = hvx_shutdown,
};

static void hvx_register_syscore(void)
{
	register_syscore_ops(&hvx_syscore_ops);
}

static void hvx_unregister_syscore(void)
{
	unregister_syscore_ops(&hvx_syscore_ops);
}

#endif

/* KVM_GET_MSR_INDEX_LIST: the MSRs KVM_GET/SET_MSRS handle. */
static long hvx_get_msr_index_list(struct kvm_msr_list __user *ulist)
{
	u32 n = hvx_backend->nr_msrs;
	struct kvm_msr_list list;

	if (copy_from_user(&list, ulist, sizeof(list)))
		return -EFAULT;
	if (put_user(n, &ulist->nmsrs))
		return -EFAULT;
	if (list.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, hvx_backend->msr_list,
			 n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/*
 * KVM_GET_SUPPORTED_CPUID: the whole table or -E2BIG, nent updated only on
 * success (as KVM).
 */
static long hvx_get_supported_cpuid(struct kvm_cpuid2 __user *ucpuid)
{
	const struct kvm_cpuid_entry2 *entries;
	unsigned int n = hvx_backend->supported_cpuid(&entries);

	return hvx_cpuid_to_user(ucpuid, entries, n);
}

/**
 * hvx_cpuid_to_user() - copy a CPUID table out as KVM does
 * @ucpuid: the caller's struct kvm_cpuid2; its nent is the room it has.
 * @entries: the table.
 * @n: its number of entries.
 *
 * Return: 0 with nent set to @n, -E2BIG (nothing written) when it does
 * not fit, or -EFAULT.
 */
int hvx_cpuid_to_user(struct kvm_cpuid2 __user *ucpuid,
		      const struct kvm_cpuid_entry2 *entries, unsigned int n)
{
	struct kvm_cpuid2 cpuid;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent < n)
		return -E2BIG;
	if (copy_to_user(ucpuid->entries, entries, n * sizeof(*entries)) ||
	    put_user(n, &ucpuid->nent))
		return -EFAULT;
	return 0;
}

static long hvx_dev_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_MSR_INDEX_LIST:
		return hvx_get_msr_index_list((void __user *)arg);
	case KVM_GET_SUPPORTED_CPUID:
		return hvx_get_supported_cpuid((void __user *)arg);
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return hvx_vm_check_extension(arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED: {
		u64 cap = hvx_mce_cap_supported();

		return copy_to_user((void __user *)arg, &cap, sizeof(cap)) ?
		       -EFAULT : 0;
	}
	case KVM_GET_VCPU_MMAP_SIZE:
		/* struct kvm_run, then the port I/O data page, as on KVM. */
		return arg ? -EINVAL : 2 * PAGE_SIZE;
	case KVM_CREATE_VM:
		return hvx_vm_create(arg);
	default:
		/* What KVM returns for an unknown /dev/kvm ioctl. */
		return -EINVAL;
	}
}

static const struct file_operations hvx_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = hvx_dev_ioctl,
	.compat_ioctl = hvx_dev_ioctl,
	.llseek = noop_llseek,
};

static ssize_t vmx_root_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return cpumap_print_to_pagebuf(true, buf, &hvx_enabled_cpus);
}
static DEVICE_ATTR_RO(vmx_root);

static struct attribute *hvx_dev_attrs[] = {
	&dev_attr_vmx_root.attr,
	NULL
};
ATTRIBUTE_GROUPS(hvx_dev);

static struct miscdevice hvx_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = HVX_DEVICE_NAME,
	.fops = &hvx_dev_fops,
	.groups = hvx_dev_groups,
	.mode = 0600,
};

static int __init hvx_init(void)
{
	int r;

	r = hvx_backend->hardware_setup();
	if (r)
		return r;

	r = register_reboot_notifier(&hvx_reboot_notifier);
	if (r)
		goto err_unsetup;
	hvx_register_syscore();

	/*
	 * Enters VMX root on every online CPU; if one CPU fails, the CPUs
	 * already done are rolled back before this returns.
	 */
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "hvx:online",
			      hvx_cpu_online, hvx_cpu_offline);
	if (r < 0)
		goto err_unregister_pm;
	hvx_cpuhp_state = r;

	hvx_stats_init();
	r = misc_register(&hvx_dev);
	if (r) {
		pr_err("cannot register /dev/%s: %d\n", HVX_DEVICE_NAME, r);
		goto err_remove_stats;
	}

	pr_info("%s: VMX root on CPUs %*pbl\n", hvx_backend->name,
		cpumask_pr_args(&hvx_enabled_cpus));
	return 0;

err_remove_stats:
	hvx_stats_exit();
	cpuhp_remove_state(hvx_cpuhp_state);
err_unregister_pm:
	hvx_unregister_syscore();
	unregister_reboot_notifier(&hvx_reboot_notifier);
err_unsetup:
	hvx_backend->hardware_unsetup();
	return r;
}

static void __exit hvx_exit(void)
{
	misc_deregister(&hvx_dev);
	hvx_stats_exit();
	cpuhp_remove_state(hvx_cpuhp_state);
	hvx_unregister_syscore();
	unregister_reboot_notifier(&hvx_reboot_notifier);
	hvx_backend->hardware_unsetup();
}

module_init(hvx_init);
module_exit(hvx_exit);

MODULE_DESCRIPTION("hvx: a minimal VT-x hypervisor with a KVM-compatible ioctl API");
MODULE_LICENSE("GPL");
