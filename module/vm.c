// SPDX-License-Identifier: GPL-2.0
/*
 * hvx core: the VM file descriptor.
 *
 * KVM_CREATE_VM returns an anonymous-inode file that owns a struct hvx_vm.
 * The VM lives until its last file (VM or vCPU) is closed.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "hvx.h"

static void hvx_vm_free(struct kref *kref)
{
	struct hvx_vm *vm = container_of(kref, struct hvx_vm, refcount);

	mmdrop(vm->mm);
	kfree(vm);
}

static void hvx_vm_put(struct hvx_vm *vm)
{
	kref_put(&vm->refcount, hvx_vm_free);
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

	/* A VM belongs to the address space that created it, as on KVM. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	default:
		/* What KVM returns for an unknown VM ioctl. */
		return -ENOTTY;
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
	int fd;

	if (type)
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->refcount);
	mutex_init(&vm->lock);
	mmgrab(current->mm);
	vm->mm = current->mm;

	fd = anon_inode_getfd("hvx-vm", &hvx_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		hvx_vm_put(vm);
	return fd;
}
