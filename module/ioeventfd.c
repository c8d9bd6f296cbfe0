// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: KVM_IOEVENTFD (Documentation/virt/kvm/api.rst, 4.59).
 *
 * An ioeventfd is an in-kernel device on the port I/O or MMIO bus: a guest
 * write that matches its address, length and (optionally) data signals an
 * eventfd and completes in the kernel, without an exit to userspace.
 * The per-VM state and the teardown are eventfd.c's.
 */
#include <linux/eventfd.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "hvx.h"
#include "bus.h"
#include "eventfd.h"

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
void hvx_ioeventfd_free(struct hvx_vm *vm, struct hvx_eventfds *st,
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
