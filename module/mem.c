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
 * A slot with KVM_MEM_READONLY is mapped readable and executable only; a
 * guest write to it exits to the VMM as MMIO.  With KVM_MEM_LOG_DIRTY_PAGES
 * a page becomes writable in the guest only when the guest writes it, and
 * that write marks it dirty (HVX_PAGE_DIRTY on its entry of the slot's
 * page array) until KVM_GET_DIRTY_LOG reports it and write-protects it
 * again.
 *
 * vm->lock serializes slot changes, faults, guest copies and dirty logs.
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

/* The page was written since the last KVM_GET_DIRTY_LOG. */
#define HVX_PAGE_DIRTY		XA_MARK_0

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

/* The slot flags hvx implements. */
#define HVX_MEM_FLAGS		(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

/*
 * KVM_SET_USER_MEMORY_REGION, validated as KVM does: create a slot, delete
 * it (size 0), or move an existing one to another guest address or change
 * its dirty-logging flag (not KVM_MEM_READONLY).  Nothing is allocated for
 * the slot's pages until the guest touches them, so any size the checks
 * allow costs the same.  A move or a flag change unmaps the slot, and the
 * guest's next accesses fault its pages in again under the new rules.
 */
int hvx_set_memory_region(struct hvx_vm *vm,
			  const struct kvm_userspace_memory_region *mem)
{
	u64 size = mem->memory_size, gpa = mem->guest_phys_addr;
	unsigned int id = (u16)mem->slot;
	struct hvx_memslot *slot;
	int r = 0;

	if (mem->flags & ~HVX_MEM_FLAGS)
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
		/* Only the guest address and dirty logging may change. */
		if (mem->userspace_addr != slot->uaddr ||
		    size >> PAGE_SHIFT != slot->npages ||
		    ((mem->flags ^ slot->flags) & KVM_MEM_READONLY)) {
			r = -EINVAL;
			goto out;
		}
		if (gpa == slot->gpa && mem->flags == slot->flags)
			goto out;
		if (hvx_slot_overlaps(vm, id, gpa, size)) {
			r = -EEXIST;
			goto out;
		}
		hvx_slot_unmap(vm, slot);
		slot->gpa = gpa;
		slot->flags = mem->flags;
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
	slot->flags = mem->flags;
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

/*
 * The page behind page @index of @slot, pinned now if the guest never
 * touched it.  Writable slots pin for writing; a read-only slot pins its
 * memory for writing where the VMM's mapping allows it (so that what the
 * VMM writes there later reaches the guest), else for reading.
 *
 * Return: 1 when the page was pinned now, 0 when it already was, -errno.
 */
static int hvx_slot_get_page(struct hvx_memslot *slot, u64 index,
			     struct page **pagep)
{
	unsigned long uaddr = slot->uaddr + (index << PAGE_SHIFT);
	struct page *page = xa_load(&slot->pages, index);
	int r;

	if (page) {
		*pagep = page;
		return 0;
	}
	r = pin_user_pages_fast(uaddr, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r == -EFAULT && (slot->flags & KVM_MEM_READONLY))
		r = pin_user_pages_fast(uaddr, 1, FOLL_LONGTERM, &page);
	if (r != 1)
		return r < 0 ? r : -EFAULT;
	r = xa_err(xa_store(&slot->pages, index, page, GFP_KERNEL_ACCOUNT));
	if (r) {
		unpin_user_page(page);
		return r;
	}
	*pagep = page;
	return 1;
}

/**
 * hvx_vm_fault() - make the guest page at @gpa present, if a slot has it
 * @vm: the VM; called from KVM_RUN, so current->mm is the VM's.
 * @gpa: the guest-physical address the guest accessed.
 * @write: the access was a write.
 *
 * A read-only slot is mapped readable and executable; a write to it is
 * MMIO, as on KVM.  A slot with dirty logging maps a page writable only
 * on a write, which marks it dirty; reads map it read-only, so that the
 * first write after each KVM_GET_DIRTY_LOG faults here again.
 *
 * Return: 1 when the page is mapped, 0 when no slot holds @gpa or the slot
 * is read-only and @write (an MMIO access for userspace), -errno when the
 * backing memory cannot be pinned.
 */
int hvx_vm_fault(struct hvx_vm *vm, u64 gpa, bool write)
{
	struct hvx_memslot *slot;
	struct page *page;
	bool writable;
	u64 index;
	int pinned, r;

	mutex_lock(&vm->lock);
	slot = hvx_slot_find(vm, gpa);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		r = 0;
		goto out;
	}
	index = (gpa - slot->gpa) >> PAGE_SHIFT;
	pinned = hvx_slot_get_page(slot, index, &page);
	if (pinned < 0) {
		r = pinned;
		goto out;
	}
	writable = !(slot->flags & KVM_MEM_READONLY) &&
		   (write || !(slot->flags & KVM_MEM_LOG_DIRTY_PAGES));
	r = hvx_backend->vm_map(vm, gpa & PAGE_MASK, page_to_pfn(page),
				writable);
	if (r) {
		if (pinned) {
			xa_erase(&slot->pages, index);
			unpin_user_page(page);
		}
		goto out;
	}
	if (write && (slot->flags & KVM_MEM_LOG_DIRTY_PAGES))
		xa_set_mark(&slot->pages, index, HVX_PAGE_DIRTY);
	if (pinned)
		hvx_stats_fault_in(vm, gpa, slot->id, page_to_pfn(page));
	r = 1;
out:
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * The VMM's own copy into a slot with dirty logging (an emulated guest
 * store): the pages written are dirty, pinned if the guest never touched
 * them, so that the mark has a place.
 */
static int hvx_slot_written(struct hvx_memslot *slot, u64 gpa, size_t len)
{
	u64 index, last = (gpa + len - 1 - slot->gpa) >> PAGE_SHIFT;
	struct page *page;
	int r;

	for (index = (gpa - slot->gpa) >> PAGE_SHIFT; index <= last; index++) {
		r = hvx_slot_get_page(slot, index, &page);
		if (r < 0)
			return r;
		xa_set_mark(&slot->pages, index, HVX_PAGE_DIRTY);
	}
	return 0;
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
	/* As a guest store: a read-only slot takes none. */
	if (write && (slot->flags & KVM_MEM_READONLY))
		goto out;
	uaddr = (void __user *)(unsigned long)(slot->uaddr + gpa - slot->gpa);
	if (write ? !copy_to_user(uaddr, buf, len) :
		    !copy_from_user(buf, uaddr, len))
		r = 0;
	if (!r && write && len && (slot->flags & KVM_MEM_LOG_DIRTY_PAGES))
		r = hvx_slot_written(slot, gpa, len);
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

/* Bitmap bytes copied out per step of KVM_GET_DIRTY_LOG (32768 pages). */
#define HVX_DIRTY_CHUNK		PAGE_SIZE

/**
 * hvx_get_dirty_log() - KVM_GET_DIRTY_LOG
 * @vm: the VM.
 * @log: the slot and the VMM's bitmap, one bit per page of the slot,
 *	rounded up to a multiple of 64 bits (as KVM).
 *
 * Copies out the pages written since the last call (or since logging was
 * turned on), forgets them, and write-protects them in the guest, so that
 * the next write to each is seen: the pages reported are the ones the VMM
 * must copy again, and every write that lands after the call returns is
 * in a later bitmap.  The marks live on the pinned pages (only written
 * pages can be dirty), so the cost follows what the guest wrote.
 *
 * Return: 0; -ENOENT when the slot does not exist or does not log dirty
 * pages, -EINVAL for a slot id out of range, -EFAULT for a bad bitmap,
 * -ENOMEM.
 */
int hvx_get_dirty_log(struct hvx_vm *vm, const struct kvm_dirty_log *log)
{
	u8 __user *ubitmap = log->dirty_bitmap;
	unsigned int id = (u16)log->slot;
	struct hvx_memslot *slot;
	bool protected = false;
	u64 bytes, done;
	u8 *buf;
	int r = 0;

	if ((log->slot >> 16) || id >= HVX_MAX_MEMSLOTS)
		return -EINVAL;
	buf = kmalloc(HVX_DIRTY_CHUNK, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	mutex_lock(&vm->lock);
	slot = vm->slots[id];
	if (!slot || !(slot->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		r = -ENOENT;
		goto out;
	}
	bytes = ALIGN(slot->npages, 64) / 8;
	for (done = 0; done < bytes; done += HVX_DIRTY_CHUNK) {
		u64 n = min_t(u64, bytes - done, HVX_DIRTY_CHUNK);
		unsigned long index = done * 8, last = index + n * 8 - 1;
		struct page *page;

		memset(buf, 0, n);
		for (page = xa_find(&slot->pages, &index, last, HVX_PAGE_DIRTY);
		     page;
		     page = xa_find_after(&slot->pages, &index, last,
					  HVX_PAGE_DIRTY)) {
			__set_bit_le(index - done * 8, buf);
			xa_clear_mark(&slot->pages, index, HVX_PAGE_DIRTY);
			/* Was writable: becomes read-only (tables exist). */
			r = hvx_backend->vm_map(vm, slot->gpa +
						((u64)index << PAGE_SHIFT),
						page_to_pfn(page), false);
			if (r)
				goto flush;
			protected = true;
		}
		if (copy_to_user(ubitmap + done, buf, n)) {
			r = -EFAULT;
			goto flush;
		}
	}
flush:
	/* No CPU may keep a writable translation of a page reported. */
	if (protected)
		hvx_backend->vm_flush(vm);
out:
	mutex_unlock(&vm->lock);
	kfree(buf);
	return r;
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
