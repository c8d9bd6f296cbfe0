// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the state a VM's ioeventfds (ioeventfd.c) and irqfds (irqfd.c)
 * share, and its life: made on the first KVM_IOEVENTFD or KVM_IRQFD, gone
 * at VM teardown with every ioeventfd and irqfd left; and the eventfd
 * signal both use.
 *
 * Why a file of its own: the state is one object for both kinds (one
 * mutex serializes both), and the teardown must empty both lists.  Put in
 * ioeventfd.c or irqfd.c, it would make that file reach into the other's
 * objects; here, ioeventfd.c and irqfd.c see the state (eventfd.h) and
 * nothing of each other.
 */
#include <linux/eventfd.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "hvx.h"
#include "bus.h"
#include "eventfd.h"

void hvx_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef HVX_EVENTFD_SIGNAL_ONE_ARG
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* The VM's state, or NULL if no ioeventfd or irqfd was ever assigned. */
struct hvx_eventfds *hvx_eventfds(struct hvx_vm *vm)
{
	/* Pairs with the release in hvx_eventfds_get(). */
	return smp_load_acquire(&vm->eventfds);
}

/* The VM's state, created on first use. */
struct hvx_eventfds *hvx_eventfds_get(struct hvx_vm *vm)
{
	struct hvx_eventfds *st;

	st = hvx_eventfds(vm);
	if (st)
		return st;

	mutex_lock(&vm->lock);
	st = vm->eventfds;
	if (st)
		goto out_unlock;
	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		goto out_unlock;
	st->wq = alloc_workqueue("hvx-irqfd-%u", 0, 0, vm->id);
	if (!st->wq) {
		kfree(st);
		st = NULL;
		goto out_unlock;
	}
	mutex_init(&st->lock);
	INIT_LIST_HEAD(&st->ioeventfds);
	spin_lock_init(&st->irqfds_lock);
	INIT_LIST_HEAD(&st->irqfds);
	INIT_LIST_HEAD(&st->resamplers);
	/* Initialized before seen: pairs with hvx_eventfds(). */
	smp_store_release(&vm->eventfds, st);
out_unlock:
	mutex_unlock(&vm->lock);
	return st;
}

/**
 * hvx_eventfd_destroy() - VM teardown: every irqfd and ioeventfd goes
 * @vm:		the VM; no vCPU and no VM file is left.
 *
 * Before the irqchip and the buses: the irqfds' last wakeups inject.
 */
void hvx_eventfd_destroy(struct hvx_vm *vm)
{
	struct hvx_eventfds *st = vm->eventfds;
	struct hvx_ioeventfd *p, *ptmp;
	struct hvx_irqfd *irqfd, *tmp;

	if (!st)
		return;

	spin_lock_irq(&st->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &st->irqfds, link)
		hvx_irqfd_deactivate(st, irqfd);
	spin_unlock_irq(&st->irqfds_lock);
	/* Also the shutdowns EPOLLHUP queued before. */
	destroy_workqueue(st->wq);

	mutex_lock(&st->lock);
	list_for_each_entry_safe(p, ptmp, &st->ioeventfds, link)
		hvx_ioeventfd_free(vm, st, p);
	mutex_unlock(&st->lock);

	mutex_destroy(&st->lock);
	kfree(st);
	vm->eventfds = NULL;
}
