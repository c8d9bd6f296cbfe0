// SPDX-License-Identifier: GPL-2.0
/*
 * The system ioctls of /dev/hvx, which follow KVM's /dev/kvm: the values
 * they return and how they refuse bad input.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "util.h"

FIXTURE(dev) {
	int fd;
	bool loaded_here;
};

FIXTURE_SETUP(dev)
{
	self->loaded_here = false;
	if (!module_loaded("hvx")) {
		ASSERT_EQ(0, hvx_load());
		self->loaded_here = true;
	}
	self->fd = open(HVX_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
	if (self->loaded_here)
		hvx_unload();
}

TEST_F(dev, api_version)
{
	EXPECT_EQ(KVM_API_VERSION, ioctl(self->fd, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(12, KVM_API_VERSION);
	/* The argument must be 0. */
	EXPECT_EQ(-1, ioctl(self->fd, KVM_GET_API_VERSION, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, vcpu_mmap_size)
{
	long page = sysconf(_SC_PAGESIZE);
	int size = ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	/* struct kvm_run, then the port I/O data page. */
	EXPECT_EQ(2 * page, size);
	EXPECT_LE((int)sizeof(struct kvm_run), size);
	EXPECT_EQ(-1, ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 1));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * The capabilities Documentation/api.rst says hvx implements, with the value
 * KVM_CHECK_EXTENSION returns for each (-1: the number of online CPUs, at
 * most 64).
 */
static const struct {
	long cap, value;
} implemented_caps[] = {
	{ KVM_CAP_USER_MEMORY, 1 },
	{ KVM_CAP_SET_TSS_ADDR, 1 },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, 1 },
	{ KVM_CAP_IMMEDIATE_EXIT, 1 },
	{ KVM_CAP_CHECK_EXTENSION_VM, 1 },
	{ KVM_CAP_EXT_CPUID, 1 },
	{ KVM_CAP_VCPU_EVENTS, 1 },
	{ KVM_CAP_USER_NMI, 1 },
	{ KVM_CAP_INTR_SHADOW, 1 },
	{ KVM_CAP_MP_STATE, 1 },
	{ KVM_CAP_XSAVE, -2 },
	{ KVM_CAP_XCRS, -2 },
	{ KVM_CAP_NR_VCPUS, -1 },
	{ KVM_CAP_MAX_VCPUS, 64 },
	{ KVM_CAP_MAX_VCPU_ID, 64 },
	{ KVM_CAP_NR_MEMSLOTS, 32 },
	{ KVM_CAP_IRQCHIP, 1 },
	{ KVM_CAP_IRQ_INJECT_STATUS, 1 },
	{ KVM_CAP_IRQ_ROUTING, 4096 },
	{ KVM_CAP_SIGNAL_MSI, 1 },
	{ KVM_CAP_TSC_DEADLINE_TIMER, 1 },
	{ KVM_CAP_IRQFD, 1 },
	{ KVM_CAP_IRQFD_RESAMPLE, 1 },
	{ KVM_CAP_IOEVENTFD, 1 },
	{ KVM_CAP_IOEVENTFD_NO_LENGTH, 1 },
	{ KVM_CAP_IOEVENTFD_ANY_LENGTH, 1 },
	{ KVM_CAP_ENABLE_CAP_VM, 1 },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS, 1 },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, 1 },
	{ KVM_CAP_DEBUGREGS, 1 },
	{ KVM_CAP_READONLY_MEM, 1 },
	{ KVM_CAP_SPLIT_IRQCHIP, 1 },
	{ KVM_CAP_MCE, 32 },
	{ -1, 0 }	/* end */
};

static bool host_has_xsave(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1U << 26));
}

/*
 * Exactly the implemented capabilities are reported, with their values, on
 * /dev/hvx and on a VM fd; everything else, including unknown numbers, is 0.
 */
TEST_F(dev, check_extension_truthful)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int vm = ioctl(self->fd, KVM_CREATE_VM, 0);
	unsigned int i;
	long cap;

	ASSERT_LE(0, vm);
	for (cap = 0; cap < 1024; cap++) {
		long want = 0;

		for (i = 0; implemented_caps[i].cap >= 0; i++)
			if (implemented_caps[i].cap == cap)
				want = implemented_caps[i].value;
		if (want == -1)
			want = online < 64 ? online : 64;
		if (want == -2)		/* where the CPU has XSAVE */
			want = host_has_xsave();
		EXPECT_EQ(want, ioctl(self->fd, KVM_CHECK_EXTENSION, cap))
			TH_LOG("capability %ld", cap);
		EXPECT_EQ(want, ioctl(vm, KVM_CHECK_EXTENSION, cap))
			TH_LOG("capability %ld on the VM fd", cap);
	}
	EXPECT_EQ(0, ioctl(self->fd, KVM_CHECK_EXTENSION, -1L));
	close(vm);
}

/* KVM_GET_MSR_INDEX_LIST: -E2BIG with the count when too small, then the
 * list, which holds the MSRs a guest OS needs.
 */
TEST_F(dev, msr_index_list)
{
	static const __u32 needed[] = {
		0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
		0xc0000102, 0x174, 0x175, 0x176, 0x277, 0x10,
	};
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	unsigned int i, j;

	EXPECT_EQ(-1, ioctl(self->fd, KVM_GET_MSR_INDEX_LIST, &probe));
	EXPECT_EQ(E2BIG, errno);
	ASSERT_LT(0U, probe.nmsrs);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(__u32));
	ASSERT_NE(NULL, list);
	list->nmsrs = probe.nmsrs;
	ASSERT_EQ(0, ioctl(self->fd, KVM_GET_MSR_INDEX_LIST, list));
	for (i = 0; i < ARRAY_SIZE(needed); i++) {
		for (j = 0; j < list->nmsrs; j++)
			if (list->indices[j] == needed[i])
				break;
		EXPECT_LT(j, list->nmsrs) TH_LOG("MSR %#x missing", needed[i]);
	}
	EXPECT_EQ(-1, ioctl(self->fd, KVM_GET_MSR_INDEX_LIST, NULL));
	EXPECT_EQ(EFAULT, errno);
	free(list);
}

/* Nothing hvx does not implement claims to exist. */
TEST_F(dev, unimplemented_capabilities_are_zero)
{
	EXPECT_EQ(0, ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2));
	EXPECT_EQ(0, ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE));
	EXPECT_EQ(0, ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING));
	EXPECT_EQ(0, ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO));
}

TEST_F(dev, create_vm)
{
	int vm, i, fds[64];
	struct stat st;

	vm = ioctl(self->fd, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	EXPECT_EQ(FD_CLOEXEC, fcntl(vm, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(vm, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, fstat(vm, &st));
	EXPECT_FALSE(S_ISCHR(st.st_mode));
	close(vm);

	for (i = 0; i < 64; i++) {
		fds[i] = ioctl(self->fd, KVM_CREATE_VM, 0);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 64; i++)
		close(fds[i]);
}

/* Only machine type 0 exists; bad types create nothing. */
TEST_F(dev, create_vm_bad_type)
{
	static const unsigned long types[] = { 1, 2, 0x100, ~0UL };
	unsigned int i;
	int before, after;

	before = dup(0);
	close(before);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, KVM_CREATE_VM, types[i]));
		EXPECT_EQ(EINVAL, errno);
	}
	after = dup(0);
	close(after);
	EXPECT_EQ(before, after);	/* no file descriptor leaked */
}

/* Unknown or misdirected ioctls fail as on KVM: -EINVAL on /dev/kvm. */
TEST_F(dev, unknown_ioctls)
{
	static const unsigned long bad[] = {
		_IO(KVMIO, 0xff), _IO(KVMIO, 0x0f), KVM_RUN,
		KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION,
		_IO('x', 1), 0,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], 0)) TH_LOG("%#lx", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%#lx", bad[i]);
	}
}

/* Unknown VM ioctls fail as on KVM. */
TEST_F(dev, vm_unknown_ioctls)
{
	int vm = ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_LE(0, vm);
	EXPECT_EQ(-1, ioctl(vm, _IO(KVMIO, 0xff), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vm, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(ENOTTY, errno);
	close(vm);
}

/* A VM is usable only from the address space that created it. */
TEST_F(dev, vm_from_other_mm)
{
	int vm = ioctl(self->fd, KVM_CREATE_VM, 0);
	int status;
	pid_t pid;

	ASSERT_LE(0, vm);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int r = ioctl(vm, _IO(KVMIO, 0xff), 0);

		_exit(r == -1 && errno == EIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(vm);
}

/* The device is root-only by default. */
TEST_F(dev, device_mode)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
}

TEST_HARNESS_MAIN
