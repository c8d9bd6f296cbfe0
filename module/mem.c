// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: guest memory: the VM's memory slots, resolving guest page
 * faults inside them, and copies to and from guest-physical memory.
 *
 * Guest memory is the VMM's own memory, registered in slots with
 * KVM_SET_USER_MEMORY_REGION.  Nothing is mapped up front: the first guest
 * access to a page inside a slot faults (an EPT violation), the core pins
 * the backing user page and the backend maps it, and the guest goes on
 * without a trip to userspace.  A pinned page cannot be freed or migrated
 * behind the guest's back; it is unmapped from the guest, every CPU's
 * cached translations are flushed, and only then is it unpinned.
 *
 * vm->lock serializes slot changes, faults and guest copies.
 */
#include <linux/kvm.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <asm/processor.h>

#include "hvx.h"

/* Unpins what the guest touched: the cost follows that, not the slot size. */
static void hvx_slot_unpin(struct hvx_memslot *slot)
{
	unsigned long index;
	struct page *page;

	xa_for_each(&slot->pages, index, page)
		unpin_user_page(page);
	xa_destroy(&slot->pages);
}

static void hvx_slot_free(struct hvx_memslot *slot)
{
	hvx_slot_unpin(slot);
	kfree(slot);
}

static bool hvx_slot_overlaps(struct hvx_vm *vm, unsigned int except, u64 gpa,
			      u64 size)
{
	unsigned int i;

	for (i = 0; i < HVX_MAX_MEMSLOTS; i++) {
		struct hvx_memslot *s = vm->slots[i];

		if (!s || i == except)
			continue;
		if (gpa < s->gpa + (s->npages << PAGE_SHIFT) &&
		    s->gpa < gpa + size)
			return true;
	}
	return false;
}

/* Removes a slot's pages from the guest and unpins them. */
static void hvx_slot_unmap(struct hvx_vm *vm, struct hvx_memslot *slot)
{
	hvx_backend->vm_unmap(vm, slot->gpa, slot->npages << PAGE_SHIFT);
	hvx_slot_unpin(slot);
}

/*
 * Guest-physical addresses a slot may cover: those EPT translates, the
 * host's MAXPHYADDR (as KVM, whose limit is also the host's) and at most
 * the 48 bits of a 4-level EPT walk.
 */
static u64 hvx_max_gpa(void)
{
	return 1ULL << min_t(unsigned int, boot_cpu_data.x86_phys_bits, 48);
}

/* As KVM_MEM_MAX_NR_PAGES: a slot's page count fits in an int. */
#define HVX_MEM_MAX_NR_PAGES	((1ULL << 31) - 1)

/*
 * KVM_SET_USER_MEMORY_REGION, validated as KVM does: create a slot, delete
 * it (size 0), or move an existing one to another guest address.  Nothing
 * is allocated for the slot's pages until the guest touches them, so any
 * size the checks allow costs the same.
 */
int hvx_set_memory_region(struct hvx_vm *vm,
			  const struct kvm_userspace_memory_region *mem)
{
	u64 size = mem->memory_size, gpa = mem->guest_phys_addr;
	unsigned int id = (u16)mem->slot;
	struct hvx_memslot *slot;
	int r = 0;

	/* hvx implements neither dirty logging nor read-only memory. */
	if (mem->flags)
		return -EINVAL;
	/* Only address space 0 (no SMM) and the slots hvx has. */
	if ((mem->slot >> 16) || id >= HVX_MAX_MEMSLOTS)
		return -EINVAL;
	if ((size | gpa | mem->userspace_addr) & ~PAGE_MASK)
		return -EINVAL;
	if (gpa + size < gpa)
		return -EINVAL;
	if (size && !access_ok((void __user *)(unsigned long)mem->userspace_addr,
			       size))
		return -EINVAL;
	if ((size >> PAGE_SHIFT) > HVX_MEM_MAX_NR_PAGES)
		return -EINVAL;
	if (size && gpa + size > hvx_max_gpa())
		return -EINVAL;

	mutex_lock(&vm->lock);
	slot = vm->slots[id];

	if (!size) {
		/* Delete. */
		if (!slot) {
			r = -EINVAL;
			goto out;
		}
		vm->slots[id] = NULL;
		hvx_slot_unmap(vm, slot);
		hvx_slot_free(slot);
		goto out;
	}

	if (slot) {
		/* Only the guest address of an existing slot may change. */
		if (mem->userspace_addr != slot->uaddr ||
		    size >> PAGE_SHIFT != slot->npages) {
			r = -EINVAL;
			goto out;
		}
		if (gpa == slot->gpa)
			goto out;
		if (hvx_slot_overlaps(vm, id, gpa, size)) {
			r = -EEXIST;
			goto out;
		}
		hvx_slot_unmap(vm, slot);
		slot->gpa = gpa;
		goto out;
	}

	if (hvx_slot_overlaps(vm, id, gpa, size)) {
		r = -EEXIST;
		goto out;
	}
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot) {
		r = -ENOMEM;
		goto out;
	}
	slot->gpa = gpa;
	slot->id = id;
	slot->npages = size >> PAGE_SHIFT;
	slot->uaddr = mem->userspace_addr;
	xa_init(&slot->pages);
	vm->slots[id] = slot;
out:
	mutex_unlock(&vm->lock);
	return r;
}

static struct hvx_memslot *hvx_slot_find(struct hvx_vm *vm, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < HVX_MAX_MEMSLOTS; i++) {
		struct hvx_memslot *s = vm->slots[i];

		if (s && gpa >= s->gpa && gpa - s->gpa < s->npages << PAGE_SHIFT)
			return s;
	}
	return NULL;
}

/**
 * hvx_vm_fault() - make the guest page at @gpa present, if a slot has it
 * @vm: the VM; called from KVM_RUN, so current->mm is the VM's.
 * @gpa: the guest-physical address the guest accessed.
 *
 * Return: 1 when the page is mapped, 0 when no slot holds @gpa (an MMIO
 * access for userspace), -errno when the backing memory cannot be pinned.
 */
int hvx_vm_fault(struct hvx_vm *vm, u64 gpa)
{
	struct hvx_memslot *slot;
	struct page *page;
	u64 index;
	int r;

	mutex_lock(&vm->lock);
	slot = hvx_slot_find(vm, gpa);
	if (!slot) {
		r = 0;
		goto out;
	}
	index = (gpa - slot->gpa) >> PAGE_SHIFT;
	page = xa_load(&slot->pages, index);
	if (!page) {
		r = pin_user_pages_fast(slot->uaddr + (index << PAGE_SHIFT), 1,
					FOLL_WRITE | FOLL_LONGTERM, &page);
		if (r != 1) {
			r = r < 0 ? r : -EFAULT;
			goto out;
		}
		r = xa_err(xa_store(&slot->pages, index, page,
				    GFP_KERNEL_ACCOUNT));
		if (r)
			goto err_unpin;
	}
	r = hvx_backend->vm_map(vm, gpa & PAGE_MASK, page_to_pfn(page));
	if (r) {
		xa_erase(&slot->pages, index);
		goto err_unpin;
	}
	hvx_stats_fault_in(vm, gpa, slot->id, page_to_pfn(page));
	r = 1;
	goto out;

err_unpin:
	unpin_user_page(page);
out:
	mutex_unlock(&vm->lock);
	return r;
}

static int hvx_access_guest(struct hvx_vm *vm, u64 gpa, void *buf,
			    size_t len, bool write)
{
	struct hvx_memslot *slot;
	void __user *uaddr;
	int r = -EFAULT;

	mutex_lock(&vm->lock);
	slot = hvx_slot_find(vm, gpa);
	if (!slot || gpa + len - slot->gpa > slot->npages << PAGE_SHIFT)
		goto out;
	uaddr = (void __user *)(unsigned long)(slot->uaddr + gpa - slot->gpa);
	if (write ? !copy_to_user(uaddr, buf, len) :
		    !copy_from_user(buf, uaddr, len))
		r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

/**
 * hvx_read_guest() - copy guest-physical memory from a slot
 * @vm: the VM; current->mm must be the VM's.
 * @gpa: first byte; the range must lie in one slot.
 * @buf: destination.
 * @len: number of bytes.
 *
 * Return: 0, or -EFAULT when the range is not in a slot or unreadable.
 */
int hvx_read_guest(struct hvx_vm *vm, u64 gpa, void *buf, size_t len)
{
	return hvx_access_guest(vm, gpa, buf, len, false);
}

/**
 * hvx_write_guest() - copy into guest-physical memory in a slot
 * @vm: the VM; current->mm must be the VM's.
 * @gpa: first byte; the range must lie in one slot.
 * @buf: source.
 * @len: number of bytes.
 *
 * Return: 0, or -EFAULT when the range is not in a slot or unwritable.
 */
int hvx_write_guest(struct hvx_vm *vm, u64 gpa, const void *buf, size_t len)
{
	return hvx_access_guest(vm, gpa, (void *)buf, len, true);
}

/**
 * hvx_mem_destroy() - free every slot of a VM being freed
 * @vm: the VM; its guest mappings are gone (backend vm_destroy).
 */
void hvx_mem_destroy(struct hvx_vm *vm)
{
	unsigned int i;

	for (i = 0; i < HVX_MAX_MEMSLOTS; i++)
		if (vm->slots[i])
			hvx_slot_free(vm->slots[i]);
}
