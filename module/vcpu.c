// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the vCPU file descriptor and the run loop.
 *
 * KVM_CREATE_VCPU returns an anonymous-inode file for a struct hvx_vcpu.
 * Its mmap is the shared struct kvm_run (page 0) followed by the port I/O
 * data page (page KVM_PIO_PAGE_OFFSET), as on KVM.  The vCPU itself is
 * freed with its VM; its file holds a reference on the VM.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "hvx.h"

static vm_fault_t hvx_vcpu_mmap_fault(struct vm_fault *vmf)
{
	struct hvx_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct hvx_vcpu_vm_ops = {
	.fault = hvx_vcpu_mmap_fault,
};

static int hvx_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	vma->vm_ops = &hvx_vcpu_vm_ops;
	return 0;
}

static int hvx_vcpu_release(struct inode *inode, struct file *filp)
{
	struct hvx_vcpu *vcpu = filp->private_data;

	hvx_vm_put(vcpu->vm);
	return 0;
}

/*
 * KVM_RUN: run the guest until an exit needs userspace, a signal arrives,
 * or an error occurs.  Guest page faults inside memory slots are resolved
 * here, between runs, where sleeping is allowed.
 */
static int hvx_vcpu_run(struct hvx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	vcpu->ran = true;
	/* As KVM: complete the last exit, then honour immediate_exit. */
	hvx_backend->vcpu_complete(vcpu);

	hvx_backend->vcpu_load(vcpu);
	if (hvx_run_immediate_exit(run)) {
		/* exit_reason is left as it was; the rest of kvm_run is set. */
		hvx_backend->vcpu_put(vcpu);
		return -EINTR;
	}
	r = 0;
	while (!r) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();

		r = hvx_backend->vcpu_run(vcpu);
		if (r == HVX_RUN_EMULATE)
			r = hvx_backend->vcpu_emulate(vcpu);
		if (r == HVX_RUN_AGAIN) {
			r = 0;
			continue;
		}
		if (r != HVX_RUN_FAULT)
			break;

		r = hvx_vm_fault(vcpu->vm, vcpu->fault_gpa);
		if (r == 1)
			hvx_stat_inc(&vcpu->stats.fault_ins);
		if (r == 0) {
			/* Outside every slot: MMIO, for userspace. */
			r = hvx_backend->emulate_mmio(vcpu, vcpu->fault_gpa);
			break;
		}
		if (r > 0)
			r = 0;
	}
	hvx_backend->vcpu_put(vcpu);
	hvx_stats_run_exit(vcpu, r);
	return r < 0 ? r : 0;
}

/* As KVM: at most this many MSRs per KVM_GET/SET_MSRS. */
#define HVX_MAX_IO_MSRS	256

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: process the entries in order, stop at the
 * first one that fails, and return how many succeeded.
 */
static int hvx_vcpu_msrs(struct hvx_vcpu *vcpu, struct kvm_msrs __user *umsrs,
			 bool set)
{
	struct kvm_msr_entry *entries;
	struct kvm_msrs msrs;
	unsigned int i;
	int r;

	if (copy_from_user(&msrs, umsrs, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= HVX_MAX_IO_MSRS)
		return -E2BIG;
	entries = memdup_user(umsrs->entries, msrs.nmsrs * sizeof(*entries));
	if (IS_ERR(entries))
		return PTR_ERR(entries);

	for (i = 0; i < msrs.nmsrs; i++) {
		if (set) {
			if (hvx_backend->set_msr(vcpu, entries[i].index,
						 entries[i].data))
				break;
		} else if (hvx_backend->get_msr(vcpu, entries[i].index,
						&entries[i].data)) {
			break;
		}
	}
	r = i;
	if (!set && copy_to_user(umsrs->entries, entries, i * sizeof(*entries)))
		r = -EFAULT;
	kfree(entries);
	return r;
}

static bool hvx_cpuid_equal(const struct kvm_cpuid_entry2 *a,
			    const struct kvm_cpuid_entry2 *b, unsigned int n)
{
	for (; n; n--, a++, b++)
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax ||
		    a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx)
			return false;
	return true;
}

/*
 * KVM_SET_CPUID2.  Once the vCPU has run, only the table it has may be set
 * again (-EINVAL otherwise, as on KVM): the guest may already rely on it.
 */
static int hvx_vcpu_set_cpuid(struct hvx_vcpu *vcpu,
			      struct kvm_cpuid2 __user *ucpuid)
{
	const struct kvm_cpuid_entry2 *cur;
	struct kvm_cpuid_entry2 *entries;
	struct kvm_cpuid2 cpuid;
	unsigned int n;
	int r;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent > HVX_MAX_CPUID_ENTRIES)
		return -E2BIG;
	entries = vmemdup_user(ucpuid->entries,
			       array_size(cpuid.nent, sizeof(*entries)));
	if (IS_ERR(entries))
		return PTR_ERR(entries);

	if (vcpu->ran) {
		n = hvx_backend->get_cpuid(vcpu, &cur);
		r = n == cpuid.nent && hvx_cpuid_equal(cur, entries, n) ?
		    0 : -EINVAL;
	} else {
		r = hvx_backend->set_cpuid(vcpu, entries, cpuid.nent);
	}
	kvfree(entries);
	return r;
}

/* KVM_GET_CPUID2: -E2BIG if nent is too small, else nent is updated. */
static int hvx_vcpu_get_cpuid(struct hvx_vcpu *vcpu,
			      struct kvm_cpuid2 __user *ucpuid)
{
	const struct kvm_cpuid_entry2 *entries;
	unsigned int n = hvx_backend->get_cpuid(vcpu, &entries);

	return hvx_cpuid_to_user(ucpuid, entries, n);
}

static long hvx_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct hvx_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;

	switch (ioctl) {
	case KVM_RUN:
		r = arg ? -EINVAL : hvx_vcpu_run(vcpu);
		break;
	case KVM_GET_REGS: {
		struct kvm_regs regs;

		memset(&regs, 0, sizeof(regs));
		hvx_backend->get_regs(vcpu, &regs);
		r = copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
		break;
	}
	case KVM_SET_REGS: {
		struct kvm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			r = -EFAULT;
		else
			r = hvx_backend->set_regs(vcpu, &regs);
		break;
	}
	case KVM_GET_SREGS: {
		struct kvm_sregs *sregs = kzalloc(sizeof(*sregs), GFP_KERNEL);

		if (!sregs) {
			r = -ENOMEM;
			break;
		}
		hvx_backend->get_sregs(vcpu, sregs);
		r = copy_to_user(argp, sregs, sizeof(*sregs)) ? -EFAULT : 0;
		kfree(sregs);
		break;
	}
	case KVM_SET_SREGS: {
		struct kvm_sregs *sregs = memdup_user(argp, sizeof(*sregs));

		if (IS_ERR(sregs)) {
			r = PTR_ERR(sregs);
			break;
		}
		r = hvx_backend->set_sregs(vcpu, sregs);
		kfree(sregs);
		break;
	}
	case KVM_GET_FPU: {
		struct kvm_fpu *fpu = kzalloc(sizeof(*fpu), GFP_KERNEL);

		if (!fpu) {
			r = -ENOMEM;
			break;
		}
		hvx_backend->get_fpu(vcpu, fpu);
		r = copy_to_user(argp, fpu, sizeof(*fpu)) ? -EFAULT : 0;
		kfree(fpu);
		break;
	}
	case KVM_SET_FPU: {
		struct kvm_fpu *fpu = memdup_user(argp, sizeof(struct kvm_fpu));

		if (IS_ERR(fpu)) {
			r = PTR_ERR(fpu);
			break;
		}
		r = hvx_backend->set_fpu(vcpu, fpu);
		kfree(fpu);
		break;
	}
	case KVM_INTERRUPT: {
		struct kvm_interrupt irq;

		if (copy_from_user(&irq, argp, sizeof(irq)))
			r = -EFAULT;
		else
			r = hvx_backend->interrupt(vcpu, irq.irq);
		break;
	}
	case KVM_NMI:
		r = hvx_backend->nmi(vcpu);
		break;
	case KVM_GET_VCPU_EVENTS: {
		struct kvm_vcpu_events events;

		memset(&events, 0, sizeof(events));
		hvx_backend->get_events(vcpu, &events);
		r = copy_to_user(argp, &events, sizeof(events)) ? -EFAULT : 0;
		break;
	}
	case KVM_SET_VCPU_EVENTS: {
		struct kvm_vcpu_events events;

		if (copy_from_user(&events, argp, sizeof(events)))
			r = -EFAULT;
		else
			r = hvx_backend->set_events(vcpu, &events);
		break;
	}
	case KVM_GET_MP_STATE: {
		/*
		 * No in-kernel APIC: HLT exits to userspace and the vCPU is
		 * always runnable, as on KVM without an irqchip.
		 */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		r = copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
		break;
	}
	case KVM_SET_MP_STATE: {
		struct kvm_mp_state mp;

		if (copy_from_user(&mp, argp, sizeof(mp)))
			r = -EFAULT;
		else
			r = mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
		break;
	}
	case KVM_GET_XSAVE: {
		struct kvm_xsave *xsave = kzalloc(sizeof(*xsave), GFP_KERNEL);

		if (!xsave) {
			r = -ENOMEM;
			break;
		}
		hvx_backend->get_xsave(vcpu, xsave);
		r = copy_to_user(argp, xsave, sizeof(*xsave)) ? -EFAULT : 0;
		kfree(xsave);
		break;
	}
	case KVM_SET_XSAVE: {
		struct kvm_xsave *xsave = memdup_user(argp, sizeof(*xsave));

		if (IS_ERR(xsave)) {
			r = PTR_ERR(xsave);
			break;
		}
		r = hvx_backend->set_xsave(vcpu, xsave);
		kfree(xsave);
		break;
	}
	case KVM_GET_XCRS: {
		struct kvm_xcrs *xcrs = kzalloc(sizeof(*xcrs), GFP_KERNEL);

		if (!xcrs) {
			r = -ENOMEM;
			break;
		}
		hvx_backend->get_xcrs(vcpu, xcrs);
		r = copy_to_user(argp, xcrs, sizeof(*xcrs)) ? -EFAULT : 0;
		kfree(xcrs);
		break;
	}
	case KVM_SET_XCRS: {
		struct kvm_xcrs *xcrs = memdup_user(argp, sizeof(*xcrs));

		if (IS_ERR(xcrs)) {
			r = PTR_ERR(xcrs);
			break;
		}
		r = hvx_backend->set_xcrs(vcpu, xcrs);
		kfree(xcrs);
		break;
	}
	case KVM_GET_MSRS:
		r = hvx_vcpu_msrs(vcpu, argp, false);
		break;
	case KVM_SET_MSRS:
		r = hvx_vcpu_msrs(vcpu, argp, true);
		break;
	case KVM_SET_CPUID2:
		r = hvx_vcpu_set_cpuid(vcpu, argp);
		break;
	case KVM_GET_CPUID2:
		r = hvx_vcpu_get_cpuid(vcpu, argp);
		break;
	default:
		/* What KVM returns for an unknown vCPU ioctl. */
		r = -EINVAL;
	}
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations hvx_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = hvx_vcpu_release,
	.unlocked_ioctl = hvx_vcpu_ioctl,
	.mmap = hvx_vcpu_mmap,
	.llseek = noop_llseek,
};

/**
 * hvx_vcpu_create() - KVM_CREATE_VCPU: create a vCPU and return its fd
 * @vm: the VM.
 * @id: the vCPU id, below HVX_MAX_VCPUS and not used yet.
 *
 * Return: a new file descriptor, or -errno.
 */
int hvx_vcpu_create(struct hvx_vm *vm, unsigned long id)
{
	struct hvx_vcpu *vcpu;
	int fd, r;

	if (id >= HVX_MAX_VCPUS)
		return -EINVAL;

	vcpu = kzalloc(hvx_backend->vcpu_size, GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run)
		goto err_free_vcpu;
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->pio_data)
		goto err_free_run;

	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->vcpus[id])
		goto err_unlock;
	r = hvx_backend->vcpu_init(vcpu);
	if (r)
		goto err_unlock;

	/* The file's reference on the VM; dropped when the file closes. */
	hvx_vm_get(vm);
	fd = anon_inode_getfd("hvx-vcpu", &hvx_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_put_vm;
	}
	vm->vcpus[id] = vcpu;
	vm->nr_vcpus++;
	hvx_stats_vcpu_create(vcpu);
	mutex_unlock(&vm->lock);
	return fd;

err_put_vm:
	/* Not the last reference: the caller's VM file holds one. */
	hvx_vm_put(vm);
	hvx_backend->vcpu_destroy(vcpu);
err_unlock:
	mutex_unlock(&vm->lock);
	free_page((unsigned long)vcpu->pio_data);
err_free_run:
	free_page((unsigned long)vcpu->run);
err_free_vcpu:
	kfree(vcpu);
	return r;
}
