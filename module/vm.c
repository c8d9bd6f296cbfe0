// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the VM file descriptor, guest memory slots, and resolving guest
 * page faults inside them.
 *
 * KVM_CREATE_VM returns an anonymous-inode file that owns a struct hvx_vm.
 * The VM lives until its last file (VM or vCPU) is closed.
 *
 * Guest memory is the VMM's own memory, registered in slots with
 * KVM_SET_USER_MEMORY_REGION.  Nothing is mapped up front: the first guest
 * access to a page inside a slot faults (an EPT violation), the core pins
 * the backing user page and the backend maps it, and the guest goes on
 * without a trip to userspace.  A pinned page cannot be freed or migrated
 * behind the guest's back; it is unmapped from the guest, every CPU's
 * cached translations are flushed, and only then is it unpinned.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

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
	for (i = 0; i < HVX_MAX_MEMSLOTS; i++)
		if (vm->slots[i])
			hvx_slot_free(vm->slots[i]);

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
static int hvx_vm_set_memory_region(struct hvx_vm *vm,
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
	/* Slots can be deleted, and adjacent slots work, as on KVM. */
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_DEBUGREGS:
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
	default:
		return 0;
	}
}

/*
 * KVM_ENABLE_CAP on a VM.  KVM_CAP_MAX_VCPU_ID: vCPU ids below args[0]
 * from now on; as KVM, at most the capability's value, and set once (the
 * same value again succeeds).
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
		return hvx_vm_set_memory_region(vm, &mem);
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
