// SPDX-License-Identifier: GPL-2.0
/*
 * hvx-info: show what a KVM-API device offers: API version, vCPU mmap size,
 * capabilities, and (for /dev/hvx) the CPUs in VMX root.
 *
 *   hvx-info [DEVICE]        DEVICE defaults to /dev/hvx; /dev/kvm works too
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CAP(name) { name, #name }

/* The KVM capabilities a VMM commonly checks. */
static const struct {
	long cap;
	const char *name;
} caps[] = {
	CAP(KVM_CAP_USER_MEMORY),
	CAP(KVM_CAP_SET_TSS_ADDR),
	CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR),
	CAP(KVM_CAP_NR_VCPUS),
	CAP(KVM_CAP_MAX_VCPUS),
	CAP(KVM_CAP_NR_MEMSLOTS),
	CAP(KVM_CAP_IMMEDIATE_EXIT),
	CAP(KVM_CAP_EXT_CPUID),
	CAP(KVM_CAP_VCPU_EVENTS),
	CAP(KVM_CAP_MP_STATE),
	CAP(KVM_CAP_XSAVE),
	CAP(KVM_CAP_XCRS),
	CAP(KVM_CAP_TSC_CONTROL),
	CAP(KVM_CAP_IRQCHIP),
	CAP(KVM_CAP_COALESCED_MMIO),
	CAP(KVM_CAP_NESTED_STATE),
};

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : HVX_DEVICE_PATH;
	char cpus[4096];
	unsigned int i;
	FILE *f;
	int fd;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [DEVICE]\n", argv[0]);
		return 2;
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s%s\n", argv[0], dev,
			strerror(errno), errno == ENOENT && !strcmp(dev, HVX_DEVICE_PATH) ?
			" (is hvx.ko loaded?)" : "");
		return 1;
	}

	printf("device:            %s\n", dev);
	printf("API version:       %d\n", ioctl(fd, KVM_GET_API_VERSION, 0));
	printf("vCPU mmap size:    %d\n", ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0));

	f = fopen(HVX_SYSFS_VMX_ROOT, "re");
	if (f && !strcmp(dev, HVX_DEVICE_PATH)) {
		if (fgets(cpus, sizeof(cpus), f))
			printf("CPUs in VMX root:  %s", cpus);
	}
	if (f)
		fclose(f);

	printf("capabilities:\n");
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		printf("  %-32s %d\n", caps[i].name,
		       ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap));
	close(fd);
	return 0;
}
