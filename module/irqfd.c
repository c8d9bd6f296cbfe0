// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: KVM_IRQFD (Documentation/virt/kvm/api.rst, 4.75).
 *
 * An irqfd is the other direction of an ioeventfd (ioeventfd.c): a wait
 * queue entry on an eventfd whose wakeup sets a GSI.  Edge mode pulses the
 * line (1, then 0).  Resample mode asserts it and leaves it asserted until
 * the guest acknowledges the interrupt (the irqchip's acknowledge
 * notifier); then the line is deasserted and a second eventfd, the
 * resamplefd, tells the VMM to check its device and trigger again if the
 * device still wants service.
 *
 * Lifetime of an irqfd: it is active while on the VM's list.  Deassign,
 * the eventfd's release (EPOLLHUP, from the wakeup itself) and VM teardown
 * take it off the list under irqfds_lock and queue its shutdown on the
 * VM's workqueue; the shutdown unhooks it from the eventfd's wait queue
 * (after which no wakeup runs) and frees it.  Deassign and teardown flush
 * the workqueue, so that when they return no irqfd of theirs can inject.
 * Irqfds hold no reference on the VM: teardown waits for them instead.
 * The per-VM state and the teardown are eventfd.c's.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "hvx.h"
#include "bus.h"
#include "eventfd.h"
#include "irq/irq.h"
#include "irq/irqchip_src.h"

/**
 * struct hvx_resampler - the resampling irqfds of one GSI
 * @link:	in hvx_eventfds.resamplers.
 * @irqfds:	struct hvx_irqfd.resample_link (RCU).
 * @gsi:	the GSI.
 * @vm:		the VM.
 * @ack:	the irqchip's acknowledge notifier for @gsi.
 *
 * They share the line, which they drive as their own interrupt source
 * (HVX_IRQ_SRC_RESAMPLE: KVM_IRQ_LINE's level is not hidden): the first
 * ack deasserts it once and signals every resamplefd (deasserting per
 * irqfd would race with their reasserts).
 */
struct hvx_resampler {
	struct list_head link;
	struct list_head irqfds;
	u32 gsi;
	struct hvx_vm *vm;
	struct hvx_irq_ack ack;
};

/* Takes @irqfd off the active list and queues its shutdown. */
void hvx_irqfd_deactivate(struct hvx_eventfds *st, struct hvx_irqfd *irqfd)
{
	lockdep_assert_held(&st->irqfds_lock);
	list_del_init(&irqfd->link);
	queue_work(st->wq, &irqfd->shutdown);
}

static void hvx_irqfd_inject(struct hvx_irqfd *irqfd)
{
	if (irqfd->resampler) {
		hvx_irq_set_src(irqfd->vm, irqfd->gsi, HVX_IRQ_SRC_RESAMPLE, 1);
	} else {
		hvx_irq_set(irqfd->vm, irqfd->gsi, 1);
		hvx_irq_set(irqfd->vm, irqfd->gsi, 0);
	}
}

/*
 * The eventfd's wakeup: called with its wait queue's lock held and
 * interrupts off, for a signal (EPOLLIN) or for the eventfd's release
 * (EPOLLHUP).  The irqfd cannot be freed under us: its shutdown takes
 * that lock to unhook it first.
 */
static int hvx_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct hvx_irqfd *irqfd = container_of(wait, struct hvx_irqfd, wait);
	__poll_t events = key_to_poll(key);
	int ret = 0;

	if (events & EPOLLIN) {
		u64 cnt;

		/* Consume the count: the signal is the interrupt. */
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		/*
		 * Also while a deassign is under way: the VM and its irqchip
		 * live until the shutdown has run.
		 */
		hvx_irqfd_inject(irqfd);
		ret = 1;
	}

	if (events & EPOLLHUP) {
		struct hvx_eventfds *st = irqfd->vm->eventfds;
		unsigned long flags;

		/*
		 * Deassign or teardown may have taken it off the list
		 * already; then its shutdown is queued.
		 */
		spin_lock_irqsave(&st->irqfds_lock, flags);
		if (!list_empty(&irqfd->link))
			hvx_irqfd_deactivate(st, irqfd);
		spin_unlock_irqrestore(&st->irqfds_lock, flags);
	}
	return ret;
}

static void hvx_irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh,
				 poll_table *pt)
{
	struct hvx_irqfd *irqfd = container_of(pt, struct hvx_irqfd, pt);

	/* Ahead of other waiters, and exclusive: the irqfd eats the event. */
	add_wait_queue_priority(wqh, &irqfd->wait);
}

/* Under @st->lock. */
static void hvx_irqfd_resampler_leave(struct hvx_eventfds *st,
				      struct hvx_irqfd *irqfd)
{
	struct hvx_resampler *res = irqfd->resampler;
	bool last;

	lockdep_assert_held(&st->lock);
	list_del_rcu(&irqfd->resample_link);
	last = list_empty(&res->irqfds);
	if (last) {
		list_del_rcu(&res->link);
		/* Waits for an acknowledge running the notifier. */
		hvx_irqchip_unregister_ack(irqfd->vm, &res->ack);
		hvx_irq_set_src(irqfd->vm, res->gsi, HVX_IRQ_SRC_RESAMPLE, 0);
	}
	/* No ack is looking at the irqfd (or the resampler) any more. */
	synchronize_rcu();
	if (last)
		kfree(res);
	irqfd->resampler = NULL;
}

static void hvx_irqfd_shutdown(struct work_struct *work)
{
	struct hvx_irqfd *irqfd = container_of(work, struct hvx_irqfd,
					       shutdown);
	struct hvx_eventfds *st = irqfd->vm->eventfds;
	u64 cnt;

	/* Also waits for an assignment still hooking the irqfd up. */
	mutex_lock(&st->lock);
	/* Under the wait queue's lock: no wakeup runs after this. */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	if (irqfd->resampler)
		hvx_irqfd_resampler_leave(st, irqfd);
	mutex_unlock(&st->lock);

	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/*
 * The guest acknowledged an interrupt of the resampler's GSI (the IOAPIC's
 * EOI of a level-triggered pin, the PIC's EOI): the line goes down and the
 * VMM is told to look at its device again.  No irqchip lock is held.
 */
static void hvx_resampler_acked(struct hvx_irq_ack *ack)
{
	struct hvx_resampler *res = container_of(ack, struct hvx_resampler,
						 ack);
	struct hvx_irqfd *irqfd;

	hvx_irq_set_src(res->vm, res->gsi, HVX_IRQ_SRC_RESAMPLE, 0);
	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &res->irqfds, resample_link)
		hvx_eventfd_signal(irqfd->resamplefd);
	rcu_read_unlock();
}

/* Under @st->lock: puts @irqfd in its GSI's resampler. */
static int hvx_irqfd_resampler_join(struct hvx_eventfds *st,
				    struct hvx_irqfd *irqfd)
{
	struct hvx_resampler *res;
	int r;

	lockdep_assert_held(&st->lock);
	list_for_each_entry(res, &st->resamplers, link) {
		if (res->gsi == irqfd->gsi)
			goto found;
	}
	res = kzalloc(sizeof(*res), GFP_KERNEL_ACCOUNT);
	if (!res)
		return -ENOMEM;
	INIT_LIST_HEAD(&res->irqfds);
	res->gsi = irqfd->gsi;
	res->vm = irqfd->vm;
	res->ack.gsi = irqfd->gsi;
	res->ack.acked = hvx_resampler_acked;
	r = hvx_irqchip_register_ack(irqfd->vm, &res->ack);
	if (r) {
		kfree(res);
		return r;
	}
	list_add_rcu(&res->link, &st->resamplers);
found:
	irqfd->resampler = res;
	list_add_rcu(&irqfd->resample_link, &res->irqfds);
	return 0;
}

static bool hvx_irqfd_busy(struct hvx_eventfds *st, struct eventfd_ctx *ctx)
{
	struct hvx_irqfd *tmp;
	bool busy = false;

	spin_lock_irq(&st->irqfds_lock);
	list_for_each_entry(tmp, &st->irqfds, link) {
		if (tmp->eventfd == ctx) {
			busy = true;
			break;
		}
	}
	spin_unlock_irq(&st->irqfds_lock);
	return busy;
}

static int hvx_irqfd_assign(struct hvx_vm *vm, const struct kvm_irqfd *args)
{
	struct hvx_irqfd *irqfd;
	struct hvx_eventfds *st;
	struct file *file;
	__poll_t events;
	int ret;

	/*
	 * x86 KVM: irqfds need the in-kernel irqchip, and resampling needs
	 * its IOAPIC and PIC, not a split one (kvm_arch_irqfd_allowed).
	 */
	if (!smp_load_acquire(&vm->irqchip))
		return -EINVAL;
	if ((args->flags & KVM_IRQFD_FLAG_RESAMPLE) && hvx_irqchip_split(vm))
		return -EINVAL;

	st = hvx_eventfds_get(vm);
	if (!st)
		return -ENOMEM;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->link);
	INIT_LIST_HEAD(&irqfd->resample_link);
	INIT_WORK(&irqfd->shutdown, hvx_irqfd_shutdown);
	init_waitqueue_func_entry(&irqfd->wait, hvx_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, hvx_irqfd_queue_proc);

	/* Held until the irqfd is hooked up: no EPOLLHUP before that. */
	file = fget(args->fd);
	if (!file) {
		ret = -EBADF;
		goto err_free;
	}
	irqfd->eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->eventfd)) {
		ret = PTR_ERR(irqfd->eventfd);
		irqfd->eventfd = NULL;
		goto err_fput;
	}
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			ret = PTR_ERR(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto err_fput;
		}
	}

	mutex_lock(&st->lock);
	/* Assignments are serialized by st->lock: this stays true. */
	if (hvx_irqfd_busy(st, irqfd->eventfd)) {
		ret = -EBUSY;
		goto err_unlock;
	}
	if (irqfd->resamplefd) {
		ret = hvx_irqfd_resampler_join(st, irqfd);
		if (ret)
			goto err_unlock;
	}
	spin_lock_irq(&st->irqfds_lock);
	list_add_tail(&irqfd->link, &st->irqfds);
	spin_unlock_irq(&st->irqfds_lock);

	/*
	 * Hook up, and deliver a signal that came before (as KVM, without
	 * consuming it).  A deassign from another thread may already have
	 * queued the shutdown: it waits for st->lock.
	 */
	events = vfs_poll(file, &irqfd->pt);
	if (events & EPOLLIN)
		hvx_irqfd_inject(irqfd);
	mutex_unlock(&st->lock);
	fput(file);
	return 0;

err_unlock:
	mutex_unlock(&st->lock);
err_fput:
	fput(file);
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	if (irqfd->eventfd)
		eventfd_ctx_put(irqfd->eventfd);
err_free:
	kfree(irqfd);
	return ret;
}

static int hvx_irqfd_deassign(struct hvx_vm *vm, const struct kvm_irqfd *args)
{
	struct hvx_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;
	struct hvx_eventfds *st;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	st = hvx_eventfds(vm);
	if (st) {
		spin_lock_irq(&st->irqfds_lock);
		list_for_each_entry_safe(irqfd, tmp, &st->irqfds, link) {
			if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
				hvx_irqfd_deactivate(st, irqfd);
		}
		spin_unlock_irq(&st->irqfds_lock);
		/* No interrupt from it once the ioctl returns. */
		flush_workqueue(st->wq);
	}
	eventfd_ctx_put(eventfd);
	/* As KVM: 0 whether or not one matched. */
	return 0;
}

/**
 * hvx_irqfd() - KVM_IRQFD
 * @vm:		the VM.
 * @args:	a kernel copy of the argument.
 *
 * Return: 0; -EINVAL for unknown flags, a VM without an in-kernel irqchip,
 * or an fd or resamplefd that is not an eventfd; -EBADF for no fd;
 * -EBUSY when the eventfd already drives an irqfd of the VM; -ENOMEM.
 */
int hvx_irqfd(struct hvx_vm *vm, const struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return hvx_irqfd_deassign(vm, args);
	return hvx_irqfd_assign(vm, args);
}
