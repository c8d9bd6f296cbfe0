// SPDX-License-Identifier: GPL-2.0
/*
 * The VM on the device: open it, check its KVM API version and the
 * capabilities the launcher needs (from the tables below, with errors
 * naming the missing one), choose the interrupt model, then
 * KVM_CREATE_VM, the in-kernel irqchip, the TSS region, guest RAM (up to
 * LOW_RAM_MAX at 0, the rest at HIGH_RAM_BASE) and the vCPUs with their
 * kvm_run mappings. guest_ptr() turns a guest-physical range into a
 * pointer into that RAM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/hvx.h>

#include "hvx-run.h"

/* Where KVM's Intel real-mode support may put its TSS (as QEMU does). */
#define TSS_REGION	0xfffbd000

/* What the launcher needs from the device. */
static const struct {
	long cap;
	const char *name;
	const char *why;
	bool linux_only;
} caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY",
	  "guest RAM (KVM_SET_USER_MEMORY_REGION)", false },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
	  "stopping the vCPU for timer interrupts", false },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID",
	  "the guest CPUID table (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2)",
	  true },
};

/* What the in-kernel irqchip model needs in addition. */
static const struct {
	long cap;
	const char *name;
	const char *why;
} irqchip_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP",
	  "the in-kernel irqchip (KVM_CREATE_IRQCHIP, KVM_IRQ_LINE)" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE",
	  "seeing the guest power off (KVM_GET_MP_STATE)" },
};

void *guest_ptr(struct machine *m, u64 gpa, u64 len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= m->low_size)
		return m->ram + gpa;
	if (gpa >= HIGH_RAM_BASE &&
	    gpa + len - HIGH_RAM_BASE <= m->ram_size - m->low_size)
		return m->ram + m->low_size + (gpa - HIGH_RAM_BASE);
	return NULL;
}

static int check_cap(struct machine *m, long cap)
{
	return ioctl(m->sys_fd, KVM_CHECK_EXTENSION, cap);
}

/*
 * The interrupt model: what was asked for, else the in-kernel irqchip
 * when the device offers it (it is what SMP and a stock Linux command line
 * need), else the userspace PIC.
 */
static void choose_irqchip(struct machine *m)
{
	const struct options *o = m->opt;
	unsigned int i;
	int max;

	m->kernel_irqchip = o->irqchip == IRQCHIP_KERNEL ||
		(o->irqchip == IRQCHIP_DEFAULT &&
		 check_cap(m, KVM_CAP_IRQCHIP) > 0);
	if (!m->kernel_irqchip) {
		if (o->smp > 1)
			die("%s lacks KVM_CAP_IRQCHIP, needed for --smp %d",
			    o->device, o->smp);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(irqchip_caps); i++)
		if (check_cap(m, irqchip_caps[i].cap) <= 0)
			die("%s lacks %s, needed for %s%s", o->device,
			    irqchip_caps[i].name, irqchip_caps[i].why,
			    o->irqchip == IRQCHIP_KERNEL ? "" :
			    " (--irqchip=user does without)");
	/* api.rst, KVM_CAP_NR_VCPUS: 4 when the capability is absent. */
	max = check_cap(m, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = check_cap(m, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (o->smp > max)
		die("%s runs at most %d vCPUs per VM (--smp %d)", o->device,
		    max, o->smp);
}

static void vcpu_create(struct machine *m, int id)
{
	struct vcpu *v = &m->vcpus[id];

	v->m = m;
	v->id = id;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		die("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		die("cannot map the kvm_run of vCPU %d: %s", id,
		    strerror(errno));
}

void check_caps(struct machine *m, bool for_linux)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		if (caps[i].linux_only != for_linux)
			continue;
		if (ioctl(m->sys_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
			die("%s lacks %s, needed for %s%s", m->opt->device,
			    caps[i].name, caps[i].why,
			    for_linux ? " to boot Linux" : "");
	}
}

static void set_memory(struct machine *m, u32 slot, u64 gpa,
		       u64 size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION (%llu MiB at 0x%llx): %s",
		    (unsigned long long)size / MIB, (unsigned long long)gpa,
		    strerror(errno));
}

void vm_create(struct machine *m)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int i, r;

	m->sys_fd = open(m->opt->device, O_RDWR | O_CLOEXEC);
	if (m->sys_fd < 0)
		die("cannot open %s: %s%s", m->opt->device, strerror(errno),
		    errno == ENOENT && !strcmp(m->opt->device, HVX_DEVICE_PATH) ?
		    " (is hvx.ko loaded?)" : "");
	r = ioctl(m->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		die("%s: KVM API version %d, expected %d (not a KVM-API device?)",
		    m->opt->device, r, KVM_API_VERSION);
	check_caps(m, false);

	choose_irqchip(m);

	m->vm_fd = ioctl(m->sys_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	/* Before the vCPUs: they get their local APICs at creation. */
	if (m->kernel_irqchip && ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(m->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(m->vm_fd, KVM_SET_TSS_ADDR, TSS_REGION))
		die("KVM_SET_TSS_ADDR: %s", strerror(errno));

	m->ram_size = m->opt->mem_size;
	m->low_size = m->ram_size < LOW_RAM_MAX ? m->ram_size : LOW_RAM_MAX;
	m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED)
		die("cannot allocate %llu MiB of guest RAM: %s",
		    (unsigned long long)m->ram_size / MIB, strerror(errno));
	set_memory(m, 0, 0, m->low_size, m->ram);
	if (m->ram_size > m->low_size)
		set_memory(m, 1, HIGH_RAM_BASE, m->ram_size - m->low_size,
			   m->ram + m->low_size);

	r = ioctl(m->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE: %d", r);
	m->run_size = r;
	m->nr_vcpus = m->opt->smp;
	m->vcpus = calloc(m->nr_vcpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		die("out of memory");
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_create(m, i);
	m->vcpu_fd = m->vcpus[0].fd;
	m->run = m->vcpus[0].run;
	/* The bootstrap processor's; the others' come with INIT/SIPI. */
	if (ioctl(m->vcpu_fd, KVM_SET_FPU, &fpu))
		die("KVM_SET_FPU: %s", strerror(errno));
}
