// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: KVM_IOEVENTFD and KVM_IRQFD (Documentation/virt/kvm/api.rst,
 * 4.59 and 4.75).
 *
 * An ioeventfd is an in-kernel device on the port I/O or MMIO bus: a guest
 * write that matches its address, length and (optionally) data signals an
 * eventfd and completes in the kernel, without an exit to userspace.
 *
 * An irqfd is the other direction: a wait queue entry on an eventfd whose
 * wakeup sets a GSI.  Edge mode pulses the line (1, then 0).  Resample
 * mode asserts it and leaves it asserted until the guest acknowledges the
 * interrupt (the irqchip's acknowledge notifier); then the line is
 * deasserted and a
 * second eventfd, the resamplefd, tells the VMM to check its device and
 * trigger again if the device still wants service.
 *
 * Lifetime of an irqfd: it is active while on the VM's list.  Deassign,
 * the eventfd's release (EPOLLHUP, from the wakeup itself) and VM teardown
 * take it off the list under irqfds_lock and queue its shutdown on the
 * VM's workqueue; the shutdown unhooks it from the eventfd's wait queue
 * (after which no wakeup runs) and frees it.  Deassign and teardown flush
 * the workqueue, so that when they return no irqfd of theirs can inject.
 * Irqfds hold no reference on the VM: teardown waits for them instead.
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
#include "irq/irq.h"
#include "irq/irqchip_src.h"

/*
 * As KVM's bus limit (NR_IOBUS_DEVS): the most ioeventfds no guest access
 * can reach (VIRTIO_CCW_NOTIFY ones, ports above 0xffff), which are kept
 * only so that duplicates and deassignment behave as KVM's.
 */
#define HVX_IOEVENTFD_MAX_UNREACHABLE	1000

/* The highest port address. */
#define HVX_PIO_LIMIT			0x10000ULL

/* Where an ioeventfd lives: a bus, or the s390 bus x86 never dispatches. */
enum {
	HVX_IOEVENTFD_PIO = HVX_BUS_PIO,
	HVX_IOEVENTFD_MMIO = HVX_BUS_MMIO,
	HVX_IOEVENTFD_CCW,
};

/**
 * struct hvx_eventfds - a VM's ioeventfds and irqfds (hvx_vm.eventfds)
 * @lock:	serializes assignment and deassignment of ioeventfds, the
 *		assignment of irqfds up to their hooking on the eventfd (an
 *		irqfd's shutdown takes it first), and @resamplers changes.
 * @ioeventfds:	struct hvx_ioeventfd.link, under @lock.
 * @nr_unreachable: ioeventfds on no bus.
 * @irqfds_lock: protects @irqfds; irqsave (taken from wakeups).
 * @irqfds:	the active irqfds (struct hvx_irqfd.link).
 * @resamplers:	struct hvx_resampler.link; RCU for the ack path.
 * @wq:		where irqfd shutdowns run.
 */
struct hvx_eventfds {
	struct mutex lock;	/* see above */
	struct list_head ioeventfds;
	unsigned int nr_unreachable;
	spinlock_t irqfds_lock;	/* see above */
	struct list_head irqfds;
	struct list_head resamplers;
	struct workqueue_struct *wq;
};

/**
 * struct hvx_ioeventfd - one KVM_IOEVENTFD
 * @link:	in hvx_eventfds.ioeventfds.
 * @dev:	the bus device.
 * @eventfd:	what a matching write signals.
 * @addr:	the port or guest-physical address.
 * @datamatch:	the value a write must store, unless @wildcard.
 * @len:	the access length, 0 for any.
 * @where:	HVX_IOEVENTFD_*.
 * @wildcard:	no KVM_IOEVENTFD_FLAG_DATAMATCH.
 * @on_bus:	registered on the bus @where.
 */
struct hvx_ioeventfd {
	struct list_head link;
	struct hvx_io_device dev;
	struct eventfd_ctx *eventfd;
	u64 addr;
	u64 datamatch;
	u32 len;
	u8 where;
	bool wildcard;
	bool on_bus;
};

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

/**
 * struct hvx_irqfd - one KVM_IRQFD
 * @vm:		the VM (not referenced: teardown flushes the shutdowns).
 * @gsi:	the GSI the eventfd sets.
 * @eventfd:	the trigger.
 * @resamplefd:	with KVM_IRQFD_FLAG_RESAMPLE, signalled on ack; else NULL.
 * @resampler:	with KVM_IRQFD_FLAG_RESAMPLE, its GSI's; else NULL.
 * @link:	in hvx_eventfds.irqfds while active; empty after.
 * @resample_link: in @resampler's list.
 * @wait:	the entry on @eventfd's wait queue.
 * @pt:		the poll table that adds @wait.
 * @shutdown:	unhooks and frees the irqfd.
 */
struct hvx_irqfd {
	struct hvx_vm *vm;
	u32 gsi;
	struct eventfd_ctx *eventfd;
	struct eventfd_ctx *resamplefd;
	struct hvx_resampler *resampler;
	struct list_head link;
	struct list_head resample_link;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct shutdown;
};

static void hvx_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef HVX_EVENTFD_SIGNAL_ONE_ARG
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* The VM's state, or NULL if no ioeventfd or irqfd was ever assigned. */
static struct hvx_eventfds *hvx_eventfds(struct hvx_vm *vm)
{
	/* Pairs with the release in hvx_eventfds_get(). */
	return smp_load_acquire(&vm->eventfds);
}

/* The VM's state, created on first use. */
static struct hvx_eventfds *hvx_eventfds_get(struct hvx_vm *vm)
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

/* ------------------------------------------------------------ ioeventfd */

static struct hvx_ioeventfd *to_ioeventfd(struct hvx_io_device *dev)
{
	return container_of(dev, struct hvx_ioeventfd, dev);
}

static int hvx_ioeventfd_read(struct hvx_io_device *dev,
			      struct hvx_vcpu *vcpu, u64 addr,
			      unsigned int len, void *val)
{
	return -EOPNOTSUPP;
}

/* Called under the bus's SRCU, maybe with preemption off: no sleeping. */
static int hvx_ioeventfd_write(struct hvx_io_device *dev,
			       struct hvx_vcpu *vcpu, u64 addr,
			       unsigned int len, const void *val)
{
	struct hvx_ioeventfd *p = to_ioeventfd(dev);
	const u8 *bytes = val;
	u64 data = 0;
	unsigned int i;

	/* The address must be exact; so must the length, unless it is 0. */
	if (addr != p->addr)
		return -EOPNOTSUPP;
	if (p->len) {
		if (len != p->len)
			return -EOPNOTSUPP;
		if (!p->wildcard) {
			for (i = 0; i < len; i++)
				data |= (u64)bytes[i] << (8 * i);
			if (data != p->datamatch)
				return -EOPNOTSUPP;
		}
	}
	hvx_eventfd_signal(p->eventfd);
	return 0;
}

static const struct hvx_io_device_ops hvx_ioeventfd_ops = {
	.read = hvx_ioeventfd_read,
	.write = hvx_ioeventfd_write,
};

static u8 hvx_ioeventfd_where(u32 flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return HVX_IOEVENTFD_PIO;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return HVX_IOEVENTFD_CCW;
	return HVX_IOEVENTFD_MMIO;
}

/* KVM's rule: one ioeventfd per address, length and datamatch. */
static bool hvx_ioeventfd_collides(struct hvx_eventfds *st,
				   const struct hvx_ioeventfd *p)
{
	struct hvx_ioeventfd *q;

	lockdep_assert_held(&st->lock);
	list_for_each_entry(q, &st->ioeventfds, link) {
		if (q->where != p->where || q->addr != p->addr)
			continue;
		if (!q->len || !p->len)
			return true;
		if (q->len == p->len &&
		    (q->wildcard || p->wildcard || q->datamatch == p->datamatch))
			return true;
	}
	return false;
}

static int hvx_ioeventfd_assign(struct hvx_vm *vm,
				const struct kvm_ioeventfd *args)
{
	struct hvx_eventfds *st;
	struct eventfd_ctx *eventfd;
	struct hvx_ioeventfd *p;
	u64 span;
	int ret;

	switch (args->len) {
	case 0:
	case 1:
	case 2:
	case 4:
	case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	/* Any length and a datamatch do not go together. */
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	st = hvx_eventfds_get(vm);
	if (!st)
		return -ENOMEM;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		ret = -ENOMEM;
		goto err_put_eventfd;
	}
	p->dev.ops = &hvx_ioeventfd_ops;
	p->eventfd = eventfd;
	p->addr = args->addr;
	p->len = args->len;
	p->where = hvx_ioeventfd_where(args->flags);
	if (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH)
		p->datamatch = args->datamatch;
	else
		p->wildcard = true;

	/*
	 * Any length: any access that starts at the address, what a
	 * zero-length bus range holds (bus.h).
	 */
	span = p->len ? p->len : 1;
	p->on_bus = p->where != HVX_IOEVENTFD_CCW &&
		    p->addr + span > p->addr &&
		    (p->where != HVX_IOEVENTFD_PIO || p->addr < HVX_PIO_LIMIT);

	mutex_lock(&st->lock);
	if (hvx_ioeventfd_collides(st, p)) {
		ret = -EEXIST;
		goto err_unlock;
	}
	if (p->on_bus) {
		ret = hvx_bus_register(vm, p->where, p->addr, p->len, &p->dev);
		if (ret)
			goto err_unlock;
	} else {
		if (st->nr_unreachable >= HVX_IOEVENTFD_MAX_UNREACHABLE) {
			ret = -ENOSPC;
			goto err_unlock;
		}
		st->nr_unreachable++;
	}
	list_add_tail(&p->link, &st->ioeventfds);
	mutex_unlock(&st->lock);
	return 0;

err_unlock:
	mutex_unlock(&st->lock);
	kfree(p);
err_put_eventfd:
	eventfd_ctx_put(eventfd);
	return ret;
}

/* Removes @p from its bus and frees it; under @st->lock or at teardown. */
static void hvx_ioeventfd_free(struct hvx_vm *vm, struct hvx_eventfds *st,
			       struct hvx_ioeventfd *p)
{
	list_del(&p->link);
	if (p->on_bus)
		hvx_bus_unregister(vm, p->where, &p->dev);
	else
		st->nr_unreachable--;
	eventfd_ctx_put(p->eventfd);
	kfree(p);
}

static int hvx_ioeventfd_deassign(struct hvx_vm *vm,
				  const struct kvm_ioeventfd *args)
{
	u8 where = hvx_ioeventfd_where(args->flags);
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	struct hvx_ioeventfd *p;
	struct eventfd_ctx *eventfd;
	struct hvx_eventfds *st;
	int ret = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	st = hvx_eventfds(vm);
	if (!st)
		goto out_put;

	mutex_lock(&st->lock);
	list_for_each_entry(p, &st->ioeventfds, link) {
		if (p->where != where || p->eventfd != eventfd ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard)
			continue;
		if (!wildcard && p->datamatch != args->datamatch)
			continue;
		/* On return from the bus, no vCPU is in its callbacks. */
		hvx_ioeventfd_free(vm, st, p);
		ret = 0;
		break;
	}
	mutex_unlock(&st->lock);
out_put:
	eventfd_ctx_put(eventfd);
	return ret;
}

/**
 * hvx_ioeventfd() - KVM_IOEVENTFD
 * @vm:		the VM.
 * @args:	a kernel copy of the argument.
 *
 * Return: 0; -EINVAL for a length other than 0, 1, 2, 4 or 8, a range
 * that wraps, unknown flags, a datamatch with length 0, or an fd that is
 * not an eventfd; -EBADF for no fd; -EEXIST when an ioeventfd with the
 * same address, length and datamatch is there; -ENOENT when deassigning
 * one that is not; -ENOSPC when the bus is full; -ENOMEM.
 */
int hvx_ioeventfd(struct hvx_vm *vm, const struct kvm_ioeventfd *args)
{
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return hvx_ioeventfd_deassign(vm, args);
	return hvx_ioeventfd_assign(vm, args);
}

/* --------------------------------------------------------------- irqfd */

/* Takes @irqfd off the active list and queues its shutdown. */
static void hvx_irqfd_deactivate(struct hvx_eventfds *st,
				 struct hvx_irqfd *irqfd)
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

	/* x86 KVM: irqfds need the in-kernel irqchip (kvm_arch_irqfd_allowed). */
	if (!smp_load_acquire(&vm->irqchip))
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
