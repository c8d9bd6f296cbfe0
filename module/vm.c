// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the VM file descriptor: KVM_CREATE_VM, the VM ioctls and
 * KVM_CHECK_EXTENSION.  Guest memory is mem.c's.
 *
 * KVM_CREATE_VM returns an anonymous-inode file that owns a struct hvx_vm.
 * The VM lives until its last file (VM or vCPU) is closed.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bus.h"
#include "hvx.h"
#include "irq/irq.h"

static struct hvx_vm *hvx_vm_alloc(void)
{
	struct hvx_vm *vm;

	vm = kzalloc(hvx_backend->vm_size, GFP_KERNEL_ACCOUNT);
	if (!vm)
		return NULL;
	kref_init(&vm->refcount);
	mutex_init(&vm->lock);
	if (init_srcu_struct(&vm->bus_srcu)) {
		kfree(vm);
		return NULL;
	}
	return vm;
}

static void hvx_vm_free(struct kref *kref)
{
	struct hvx_vm *vm = container_of(kref, struct hvx_vm, refcount);
	unsigned int i;

	hvx_stats_vm_destroy(vm);
	/*
	 * No file is left, so no ioctl runs: the eventfds go first (an
	 * irqfd fires into the irqchip at any time), then the interrupt
	 * controllers (which deliver to the vCPUs' APICs), then the vCPUs.
	 */
	hvx_eventfd_destroy(vm);
	hvx_irqchip_destroy(vm);
	for (i = 0; i < HVX_MAX_VCPUS; i++) {
		struct hvx_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		hvx_stats_vcpu_destroy(vcpu);
		if (vcpu->lapic)
			hvx_lapic_destroy(vcpu);
		hvx_backend->vcpu_destroy(vcpu);
		free_page((unsigned long)vcpu->run);
		free_page((unsigned long)vcpu->pio_data);
		kfree(vcpu);
	}

	hvx_bus_destroy(vm);
	cleanup_srcu_struct(&vm->bus_srcu);

	/* Tear down the guest's mappings before releasing the pages. */
	hvx_backend->vm_destroy(vm);
	hvx_mem_destroy(vm);

	mmdrop(vm->mm);
	kfree(vm);
}

void hvx_vm_get(struct hvx_vm *vm)
{
	kref_get(&vm->refcount);
}

void hvx_vm_put(struct hvx_vm *vm)
{
	kref_put(&vm->refcount, hvx_vm_free);
}

/**
 * hvx_vm_check_extension() - KVM_CHECK_EXTENSION, on /dev/hvx or a VM fd
 * @cap: a KVM_CAP_* number.
 *
 * Return: non-zero only for what hvx implements, as Documentation/api.rst
 * lists; 0 for everything else.
 */
long hvx_vm_check_extension(unsigned long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_EXT_CPUID:
	/* The in-kernel irqchip (module/irq/). */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	/* irqfds and ioeventfds (module/eventfd.c). */
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	/* KVM_ENABLE_CAP on a VM, for KVM_CAP_MAX_VCPU_ID. */
	case KVM_CAP_ENABLE_CAP_VM:
	/* Local APICs in the kernel, the PIC and IOAPIC in the VMM. */
	case KVM_CAP_SPLIT_IRQCHIP:
	/* Slots can be deleted, and adjacent slots work, as on KVM. */
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_DEBUGREGS:
	/* KVM_MEM_READONLY slots (KVM_MEM_LOG_DIRTY_PAGES has no cap). */
	case KVM_CAP_READONLY_MEM:
		return 1;
	case KVM_CAP_IRQ_ROUTING:
		/* As KVM: the number of routes KVM_SET_GSI_ROUTING takes. */
		return 4096;
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
		return hvx_backend->has_xsave();
	case KVM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), HVX_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_MAX_VCPU_ID:
		return HVX_MAX_VCPUS;
	case KVM_CAP_NR_MEMSLOTS:
		return HVX_MAX_MEMSLOTS;
	/* The machine-check MSRs (module/mce.c); KVM_X86_SET_MCE is not. */
	case KVM_CAP_MCE:
		return HVX_MAX_MCE_BANKS;
	default:
		return 0;
	}
}

/*
 * KVM_ENABLE_CAP on a VM.  KVM_CAP_MAX_VCPU_ID: vCPU ids below args[0]
 * from now on; as KVM, at most the capability's value, and set once (the
 * same value again succeeds).  KVM_CAP_SPLIT_IRQCHIP: the irqchip's
 * (module/irq/irqchip.c).
 */
static int hvx_vm_enable_cap(struct hvx_vm *vm, const struct kvm_enable_cap *cap)
{
	int r = -EINVAL;

	if (cap->flags)
		return -EINVAL;
	switch (cap->cap) {
	case KVM_CAP_MAX_VCPU_ID:
		if (cap->args[0] > HVX_MAX_VCPUS)
			return -EINVAL;
		mutex_lock(&vm->lock);
		if (vm->max_vcpu_ids == cap->args[0]) {
			r = 0;
		} else if (!vm->max_vcpu_ids) {
			vm->max_vcpu_ids = cap->args[0];
			r = 0;
		}
		mutex_unlock(&vm->lock);
		return r;
	case KVM_CAP_SPLIT_IRQCHIP:
		return hvx_irqchip_enable_split(vm, cap->args[0]);
	default:
		return -EINVAL;
	}
}

static int hvx_vm_release(struct inode *inode, struct file *filp)
{
	hvx_vm_put(filp->private_data);
	return 0;
}

static long hvx_vm_ioctl(struct file *filp, unsigned int ioctl,
			 unsigned long arg)
{
	struct hvx_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	/* A VM belongs to the address space that created it, as on KVM. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region mem;

		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return hvx_set_memory_region(vm, &mem);
	}
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return hvx_get_dirty_log(vm, &log);
	}
	case KVM_CREATE_VCPU:
		return hvx_vcpu_create(vm, arg);
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap cap;

		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		return hvx_vm_enable_cap(vm, &cap);
	}
	case KVM_CHECK_EXTENSION:
		return hvx_vm_check_extension(arg);
	case KVM_SET_TSS_ADDR:
	case KVM_SET_IDENTITY_MAP_ADDR:
		/*
		 * KVM needs these for real mode without unrestricted guest;
		 * hvx requires unrestricted guest, so they are accepted for
		 * compatibility and have no effect.
		 */
		return 0;
	case KVM_IRQFD: {
		struct kvm_irqfd irqfd;

		if (copy_from_user(&irqfd, argp, sizeof(irqfd)))
			return -EFAULT;
		return hvx_irqfd(vm, &irqfd);
	}
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd ioeventfd;

		if (copy_from_user(&ioeventfd, argp, sizeof(ioeventfd)))
			return -EFAULT;
		return hvx_ioeventfd(vm, &ioeventfd);
	}
	default:
		/*
		 * The interrupt controllers' ioctls, or -ENOTTY: what KVM
		 * returns for an unknown VM ioctl.
		 */
		return hvx_irqchip_ioctl(vm, ioctl, argp);
	}
}

static const struct file_operations hvx_vm_fops = {
	.owner = THIS_MODULE,
	.release = hvx_vm_release,
	.unlocked_ioctl = hvx_vm_ioctl,
	.llseek = noop_llseek,
};

/**
 * hvx_vm_create() - KVM_CREATE_VM: create a VM and return its fd
 * @type: the machine type; only 0 (KVM's default x86 VM) exists.
 *
 * Return: a new file descriptor, or -errno.
 */
int hvx_vm_create(unsigned long type)
{
	struct hvx_vm *vm;
	int fd, r;

	if (type)
		return -EINVAL;

	vm = hvx_vm_alloc();
	if (!vm)
		return -ENOMEM;
	r = hvx_backend->vm_init(vm);
	if (r) {
		cleanup_srcu_struct(&vm->bus_srcu);
		kfree(vm);
		return r;
	}
	mmgrab(current->mm);
	vm->mm = current->mm;
	hvx_stats_vm_create(vm);

	fd = anon_inode_getfd("hvx-vm", &hvx_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		hvx_vm_put(vm);
	return fd;
}
