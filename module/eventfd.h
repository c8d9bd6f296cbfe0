/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core: what the eventfd files share (private to module/eventfd.c,
 * ioeventfd.c and irqfd.c; bus.h is the interface to the rest of hvx).
 *
 *   eventfd.c    the per-VM state (hvx_vm.eventfds): made on the first
 *                KVM_IOEVENTFD or KVM_IRQFD, freed at VM teardown with
 *                the ioeventfds and irqfds still on its lists
 *   ioeventfd.c  KVM_IOEVENTFD: ioeventfds, devices on the buses
 *   irqfd.c      KVM_IRQFD: irqfds, their resamplers and shutdowns
 *
 * The teardown walks both lists, so both objects are declared here;
 * struct hvx_resampler and HVX_IOEVENTFD_* stay in the file that uses them.
 */
#ifndef HVX_EVENTFD_H
#define HVX_EVENTFD_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bus.h"

struct eventfd_ctx;
struct hvx_resampler;
struct hvx_vm;

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
 * @where:	HVX_IOEVENTFD_* (ioeventfd.c).
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

/* eventfd.c */
/* eventfd_signal() of @ctx by one, with either kernel's signature. */
void hvx_eventfd_signal(struct eventfd_ctx *ctx);
/* The VM's state, or NULL if no ioeventfd or irqfd was ever assigned. */
struct hvx_eventfds *hvx_eventfds(struct hvx_vm *vm);
/* The VM's state, created on first use; NULL when out of memory. */
struct hvx_eventfds *hvx_eventfds_get(struct hvx_vm *vm);

/* ioeventfd.c: removes @p from its bus and frees it; under @st->lock. */
void hvx_ioeventfd_free(struct hvx_vm *vm, struct hvx_eventfds *st,
			struct hvx_ioeventfd *p);

/* irqfd.c: under @st->irqfds_lock. */
void hvx_irqfd_deactivate(struct hvx_eventfds *st, struct hvx_irqfd *irqfd);

#endif /* HVX_EVENTFD_H */
