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
#include <asm/processor-flags.h>
#include <asm/smp.h>

#include "hvx.h"
#include "irq/irq.h"

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

void hvx_vcpu_kick(struct hvx_vcpu *vcpu)
{
	/*
	 * A reschedule IPI: smp_send_reschedule() without the macro newer
	 * kernels wrap it in (its tracepoint is not exported to modules).
	 */
	void (*send_reschedule)(int cpu) = smp_ops.smp_send_reschedule;
	int cpu;

	wake_up_interruptible(&vcpu->wait);
	/*
	 * Pairs with the barrier between the vCPU thread's setting
	 * HVX_IN_GUEST and its last look at the requests before entry:
	 * either it sees the request, or this sees it in the guest and the
	 * IPI makes it exit (external-interrupt exiting).
	 */
	smp_mb();
	cpu = READ_ONCE(vcpu->cpu);
	if (READ_ONCE(vcpu->mode) == HVX_IN_GUEST &&
	    cpu != raw_smp_processor_id() && (unsigned int)cpu < nr_cpu_ids)
		send_reschedule(cpu);
}

void hvx_vcpu_request(struct hvx_vcpu *vcpu, unsigned int req)
{
	set_bit(req, &vcpu->requests);
	hvx_vcpu_kick(vcpu);
}

/* What wakes a vCPU that is not runnable (KVM's kvm_arch_vcpu_runnable). */
static bool hvx_vcpu_woken(struct hvx_vcpu *vcpu)
{
	unsigned long req = READ_ONCE(vcpu->requests);

	switch (vcpu->mp_state) {
	case KVM_MP_STATE_HALTED:
		return req;
	case KVM_MP_STATE_INIT_RECEIVED:
		return req & (BIT(HVX_REQ_INIT) | BIT(HVX_REQ_SIPI));
	default:	/* UNINITIALIZED: only INIT starts it */
		return req & BIT(HVX_REQ_INIT);
	}
}

/*
 * The requests the core handles, before the vCPU runs: INIT and SIPI (the
 * processor's wait-for-SIPI state, Intel SDM Vol. 3A, 9.4), and for a
 * vCPU that does not run, the events that may wake it.  A runnable vCPU's
 * interrupts and NMIs are the backend's (taken before each entry).
 */
static int hvx_vcpu_requests(struct hvx_vcpu *vcpu)
{
	int r;

	if (test_and_clear_bit(HVX_REQ_INIT, &vcpu->requests)) {
		r = hvx_backend->vcpu_reset(vcpu);
		if (r)
			return r;
		hvx_lapic_reset(vcpu, true);
		/*
		 * An INIT drops the NMIs that came before it.  Not a SIPI:
		 * the one posted after the INIT (the usual INIT, SIPI pair)
		 * may be pending already, and is taken just below, as KVM.
		 */
		atomic_set(&vcpu->nmi_queued, 0);
		clear_bit(HVX_REQ_NMI, &vcpu->requests);
		vcpu->mp_state = vcpu->id ? KVM_MP_STATE_INIT_RECEIVED :
			KVM_MP_STATE_RUNNABLE;
	}
	if (test_and_clear_bit(HVX_REQ_SIPI, &vcpu->requests) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		r = hvx_backend->vcpu_sipi(vcpu, READ_ONCE(vcpu->sipi_vector));
		if (r)
			return r;
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	}
	if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
		return 0;
	if (test_and_clear_bit(HVX_REQ_EVENT, &vcpu->requests))
		hvx_lapic_sync(vcpu);
	if (vcpu->mp_state != KVM_MP_STATE_HALTED)
		return 0;
	/* NMIs end a halt whatever IF says; interrupts only with IF set. */
	if (test_bit(HVX_REQ_NMI, &vcpu->requests) ||
	    (vcpu->halt_if && hvx_lapic_has_irq(vcpu)))
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	return 0;
}

/*
 * KVM_RUN: run the guest until an exit needs userspace, a signal arrives,
 * or an error occurs.  Guest page faults inside memory slots are resolved
 * here, between runs, where sleeping is allowed.  With an in-kernel APIC,
 * a halted vCPU (or one waiting for SIPI) sleeps here until an event
 * wakes it.
 */
static int hvx_vcpu_run(struct hvx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	vcpu->ran = true;
	/* As KVM: complete the last exit, then honour immediate_exit. */
	r = hvx_backend->vcpu_complete(vcpu);
	if (r)
		return r;

	hvx_backend->vcpu_load(vcpu);
	if (hvx_run_immediate_exit(run)) {
		/* exit_reason is left as it was; the rest of kvm_run is set. */
		hvx_backend->vcpu_put(vcpu);
		return -EINTR;
	}
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();

		if (vcpu->lapic) {
			/* Split irqchip: the VMM's IOAPIC takes this EOI. */
			if (test_and_clear_bit(HVX_REQ_EOI_EXIT,
					       &vcpu->requests)) {
				run->exit_reason = KVM_EXIT_IOAPIC_EOI;
				run->eoi.vector = vcpu->eoi_vector;
				r = HVX_RUN_USER;
				break;
			}
			r = hvx_vcpu_requests(vcpu);
			if (r)
				break;
			if (vcpu->mp_state != KVM_MP_STATE_RUNNABLE) {
				hvx_stat_inc(&vcpu->stats.halt_waits);
				wait_event_interruptible(vcpu->wait,
							 hvx_vcpu_woken(vcpu));
				continue;
			}
		}

		r = hvx_backend->vcpu_run(vcpu);
		if (r == HVX_RUN_FAULT) {
			r = hvx_vm_fault(vcpu->vm, vcpu->fault_gpa,
					 vcpu->fault_write);
			if (r == 1)
				hvx_stat_inc(&vcpu->stats.fault_ins);
			/* Outside every slot: MMIO, emulated for userspace. */
			if (r == 0)
				r = HVX_RUN_EMULATE;
			else if (r > 0)
				r = HVX_RUN_AGAIN;
		}
		if (r == HVX_RUN_EMULATE)
			r = hvx_backend->vcpu_emulate(vcpu);
		if (r == HVX_RUN_HALT) {
			vcpu->mp_state = KVM_MP_STATE_HALTED;
			r = HVX_RUN_AGAIN;
		}
		if (r != HVX_RUN_AGAIN)
			break;
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

/*
 * KVM_SET_CPUID2: the backend keeps the table (and, once the vCPU has run,
 * refuses any other, as KVM).
 */
static int hvx_vcpu_set_cpuid(struct hvx_vcpu *vcpu,
			      struct kvm_cpuid2 __user *ucpuid)
{
	struct kvm_cpuid_entry2 *entries;
	struct kvm_cpuid2 cpuid;
	int r;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent > HVX_MAX_CPUID_ENTRIES)
		return -E2BIG;
	entries = vmemdup_user(ucpuid->entries,
			       array_size(cpuid.nent, sizeof(*entries)));
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	r = hvx_backend->set_cpuid(vcpu, entries, cpuid.nent);
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

/*
 * The vCPU ioctls that move one fixed-size structure, each way: the size
 * and direction come from the ioctl number (_IOC_SIZE, _IOW or _IOR), and
 * the handler works on a kernel copy, zeroed for a GET.
 */
static int hvx_get_regs(struct hvx_vcpu *vcpu, void *arg)
{
	return hvx_backend->get_regs(vcpu, arg);
}

static int hvx_set_regs(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_regs(vcpu, arg);
}

static int hvx_get_sregs(struct hvx_vcpu *vcpu, void *arg)
{
	return hvx_backend->get_sregs(vcpu, arg);
}

static int hvx_set_sregs(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_sregs(vcpu, arg);
}

static int hvx_get_fpu(struct hvx_vcpu *vcpu, void *arg)
{
	hvx_backend->get_fpu(vcpu, arg);
	return 0;
}

static int hvx_set_fpu(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_fpu(vcpu, arg);
}

static int hvx_set_interrupt(struct hvx_vcpu *vcpu, const void *arg)
{
	const struct kvm_interrupt *irq = arg;
	int r;

	/*
	 * As KVM: with the in-kernel PIC it is the only source of ExtINT;
	 * with a split irqchip the VMM's PIC injects through here.
	 */
	if (vcpu->lapic && !hvx_irqchip_split(vcpu->vm))
		return -ENXIO;
	r = hvx_backend->interrupt(vcpu, irq->irq);
	/* An interrupt LINT0 takes wakes a halt with IF set, as on KVM. */
	if (!r && vcpu->mp_state == KVM_MP_STATE_HALTED && vcpu->halt_if &&
	    hvx_lapic_accepts_extint(vcpu))
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	return r;
}

/* KVM_NMI: with an in-kernel APIC, an NMI as the APICs deliver one. */
static int hvx_vcpu_nmi(struct hvx_vcpu *vcpu)
{
	if (!vcpu->lapic)
		return hvx_backend->nmi(vcpu);
	atomic_inc(&vcpu->nmi_queued);
	set_bit(HVX_REQ_NMI, &vcpu->requests);
	return 0;
}

static int hvx_get_lapic(struct hvx_vcpu *vcpu, void *arg)
{
	return vcpu->lapic ? hvx_lapic_get_state(vcpu, arg) : -EINVAL;
}

static int hvx_set_lapic(struct hvx_vcpu *vcpu, const void *arg)
{
	return vcpu->lapic ? hvx_lapic_set_state(vcpu, arg) : -EINVAL;
}

/*
 * KVM_SET_VAPIC_ADDR: KVM mirrors the APIC's TPR, highest ISR and IRR
 * vectors into a guest page at that address (for QEMU's kvmvapic TPR
 * patching of old Windows guests).  hvx has no such page: 0, "none", is
 * the only address it takes, which QEMU sets at every APIC reset.  As on
 * KVM, only with an in-kernel APIC.
 */
static int hvx_set_vapic_addr(struct hvx_vcpu *vcpu, const void *arg)
{
	const struct kvm_vapic_addr *va = arg;

	if (!vcpu->lapic)
		return -EINVAL;
	return va->vapic_addr ? -EINVAL : 0;
}

static int hvx_get_events(struct hvx_vcpu *vcpu, void *arg)
{
	return hvx_backend->get_events(vcpu, arg);
}

static int hvx_set_events(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_events(vcpu, arg);
}

/*
 * Without an in-kernel APIC, HLT exits to userspace and the vCPU is always
 * runnable, as on KVM without an irqchip.  With one, the states of the
 * processor's INIT/SIPI protocol and of HLT, as KVM has them.
 */
static int hvx_get_mp_state(struct hvx_vcpu *vcpu, void *arg)
{
	struct kvm_mp_state *mp = arg;

	mp->mp_state = vcpu->lapic ? vcpu->mp_state : KVM_MP_STATE_RUNNABLE;
	return 0;
}

static int hvx_set_mp_state(struct hvx_vcpu *vcpu, const void *arg)
{
	const struct kvm_mp_state *mp = arg;
	struct kvm_regs regs;
	int r;

	if (!vcpu->lapic)
		return mp->mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
	switch (mp->mp_state) {
	case KVM_MP_STATE_HALTED:
		/* Halted by the VMM: an interrupt wakes it if IF is set. */
		r = hvx_backend->get_regs(vcpu, &regs);
		if (r)
			return r;
		vcpu->halt_if = regs.rflags & X86_EFLAGS_IF;
		fallthrough;
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
		vcpu->mp_state = mp->mp_state;
		return 0;
	case KVM_MP_STATE_SIPI_RECEIVED:
		/* As KVM: waiting for SIPI, with the SIPI already there. */
		vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(HVX_REQ_SIPI, &vcpu->requests);
		return 0;
	default:
		return -EINVAL;
	}
}

static int hvx_get_debugregs(struct hvx_vcpu *vcpu, void *arg)
{
	hvx_backend->get_debugregs(vcpu, arg);
	return 0;
}

static int hvx_set_debugregs(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_debugregs(vcpu, arg);
}

static int hvx_get_xsave(struct hvx_vcpu *vcpu, void *arg)
{
	hvx_backend->get_xsave(vcpu, arg);
	return 0;
}

static int hvx_set_xsave(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_xsave(vcpu, arg);
}

static int hvx_get_xcrs(struct hvx_vcpu *vcpu, void *arg)
{
	hvx_backend->get_xcrs(vcpu, arg);
	return 0;
}

static int hvx_set_xcrs(struct hvx_vcpu *vcpu, const void *arg)
{
	return hvx_backend->set_xcrs(vcpu, arg);
}

struct hvx_vcpu_xfer {
	unsigned int ioctl;
	int (*get)(struct hvx_vcpu *vcpu, void *arg);
	int (*set)(struct hvx_vcpu *vcpu, const void *arg);
};

static const struct hvx_vcpu_xfer hvx_vcpu_xfers[] = {
	{ KVM_GET_REGS, .get = hvx_get_regs },
	{ KVM_SET_REGS, .set = hvx_set_regs },
	{ KVM_GET_SREGS, .get = hvx_get_sregs },
	{ KVM_SET_SREGS, .set = hvx_set_sregs },
	{ KVM_GET_FPU, .get = hvx_get_fpu },
	{ KVM_SET_FPU, .set = hvx_set_fpu },
	{ KVM_INTERRUPT, .set = hvx_set_interrupt },
	{ KVM_GET_VCPU_EVENTS, .get = hvx_get_events },
	{ KVM_SET_VCPU_EVENTS, .set = hvx_set_events },
	{ KVM_GET_MP_STATE, .get = hvx_get_mp_state },
	{ KVM_SET_MP_STATE, .set = hvx_set_mp_state },
	{ KVM_GET_XSAVE, .get = hvx_get_xsave },
	{ KVM_SET_XSAVE, .set = hvx_set_xsave },
	{ KVM_GET_XCRS, .get = hvx_get_xcrs },
	{ KVM_SET_XCRS, .set = hvx_set_xcrs },
	{ KVM_GET_DEBUGREGS, .get = hvx_get_debugregs },
	{ KVM_SET_DEBUGREGS, .set = hvx_set_debugregs },
	{ KVM_GET_LAPIC, .get = hvx_get_lapic },
	{ KVM_SET_LAPIC, .set = hvx_set_lapic },
	{ KVM_SET_VAPIC_ADDR, .set = hvx_set_vapic_addr },
};

static long hvx_vcpu_xfer(struct hvx_vcpu *vcpu, const struct hvx_vcpu_xfer *x,
			  unsigned int ioctl, void __user *argp)
{
	size_t size = _IOC_SIZE(ioctl);
	void *buf;
	int r;

	if (x->set) {
		buf = memdup_user(argp, size);
		if (IS_ERR(buf))
			return PTR_ERR(buf);
		r = x->set(vcpu, buf);
	} else {
		buf = kzalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		r = x->get(vcpu, buf);
		if (!r && copy_to_user(argp, buf, size))
			r = -EFAULT;
	}
	kfree(buf);
	return r;
}

static const struct hvx_vcpu_xfer *hvx_vcpu_xfer_find(unsigned int ioctl)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hvx_vcpu_xfers); i++)
		if (hvx_vcpu_xfers[i].ioctl == ioctl)
			return &hvx_vcpu_xfers[i];
	return NULL;
}

static long hvx_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct hvx_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	const struct hvx_vcpu_xfer *x;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;

	/* KVM_RUN first: it is the hot path. */
	if (ioctl == KVM_RUN) {
		r = arg ? -EINVAL : hvx_vcpu_run(vcpu);
		goto out_unlock;
	}
	x = hvx_vcpu_xfer_find(ioctl);
	if (x) {
		r = hvx_vcpu_xfer(vcpu, x, ioctl, argp);
		goto out_unlock;
	}
	switch (ioctl) {
	case KVM_NMI:
		r = hvx_vcpu_nmi(vcpu);
		break;
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
	case KVM_X86_SETUP_MCE: {
		u64 mcg_cap;

		r = -EFAULT;
		if (!copy_from_user(&mcg_cap, argp, sizeof(mcg_cap)))
			r = hvx_mce_setup(&vcpu->mce, mcg_cap);
		break;
	}
	default:
		/* What KVM returns for an unknown vCPU ioctl. */
		r = -EINVAL;
	}
out_unlock:
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
 * @id: the vCPU id, below HVX_MAX_VCPUS (or the VM's KVM_CAP_MAX_VCPU_ID)
 *	and not used yet.
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
	vcpu->cpu = -1;
	hvx_mce_init(&vcpu->mce);
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	mutex_init(&vcpu->mutex);
	init_waitqueue_head(&vcpu->wait);
	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run)
		goto err_free_vcpu;
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->pio_data)
		goto err_free_run;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->max_vcpu_ids && id >= vm->max_vcpu_ids)
		goto err_unlock;
	r = -EEXIST;
	if (vm->vcpus[id])
		goto err_unlock;
	/* The APIC first: the backend's reset tells it the TSC offset. */
	if (vm->irqchip) {
		r = hvx_lapic_create(vcpu);
		if (r)
			goto err_unlock;
		/* As KVM: the APs wait for INIT and SIPI from the BSP. */
		if (id)
			vcpu->mp_state = KVM_MP_STATE_UNINITIALIZED;
	}
	r = hvx_backend->vcpu_init(vcpu);
	if (r)
		goto err_lapic;

	/* The file's reference on the VM; dropped when the file closes. */
	hvx_vm_get(vm);
	fd = anon_inode_getfd("hvx-vcpu", &hvx_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_put_vm;
	}
	/* Complete before the APICs' delivery loops can see it. */
	smp_store_release(&vm->vcpus[id], vcpu);
	vm->nr_vcpus++;
	hvx_stats_vcpu_create(vcpu);
	mutex_unlock(&vm->lock);
	return fd;

err_put_vm:
	/* Not the last reference: the caller's VM file holds one. */
	hvx_vm_put(vm);
	hvx_backend->vcpu_destroy(vcpu);
err_lapic:
	if (vcpu->lapic)
		hvx_lapic_destroy(vcpu);
err_unlock:
	mutex_unlock(&vm->lock);
	free_page((unsigned long)vcpu->pio_data);
err_free_run:
	free_page((unsigned long)vcpu->run);
err_free_vcpu:
	kfree(vcpu);
	return r;
}
