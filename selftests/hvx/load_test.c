// SPDX-License-Identifier: GPL-2.0
/*
 * hvx module lifecycle: VMX root on every online CPU while loaded, CPU
 * hotplug, suspend, the module references held by open files, and the
 * INVVPID policy a vCPU moving between CPUs relies on.
 *
 * Runs as root in the CI VM; each test loads and unloads hvx.ko itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"
#define INVVPID_SINGLE "/sys/module/hvx/parameters/invvpid_single"

/* Forever: report the 32 bits at %esi. */
GUEST_CODE(code_read_loop,
	   "1:\n"
	   "movl (%esi), %eax\n"
	   GUEST_REPORT
	   "jmp 1b\n");

/* Each test starts and ends with hvx unloaded. */
FIXTURE(lifecycle) {
	int unused;
};

FIXTURE_SETUP(lifecycle)
{
	if (module_loaded("hvx"))
		ASSERT_EQ(0, hvx_unload());
}

FIXTURE_TEARDOWN(lifecycle)
{
	write_text(CPU1_ONLINE, "1");
	if (module_loaded("hvx"))
		hvx_unload();
}

/*
 * Loading puts every online CPU in VMX root; unloading removes all trace.
 * HVX_LOAD_CYCLES times (default 10: each cycle costs about 1.6 s of
 * emulated time in the CI VM).
 */
TEST_F_TIMEOUT(lifecycle, load_unload_cycles, 600)
{
	const char *env = getenv("HVX_LOAD_CYCLES");
	int i, cycles = env ? atoi(env) : 10;
	struct stat st;

	ASSERT_LT(0, cycles);
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, hvx_load()) TH_LOG("load %d", i);
		ASSERT_TRUE(vmx_root_is_online_cpus()) TH_LOG("load %d", i);
		ASSERT_EQ(0, stat(HVX_DEVICE_PATH, &st));
		ASSERT_TRUE(S_ISCHR(st.st_mode));
		ASSERT_EQ(0600U, st.st_mode & 07777);
		ASSERT_EQ(0, hvx_unload()) TH_LOG("unload %d", i);
		ASSERT_FALSE(module_loaded("hvx"));
		ASSERT_NE(0, access(HVX_SYSFS_VMX_ROOT, F_OK));
		ASSERT_NE(0, access(HVX_DEVICE_PATH, F_OK));
	}
}

/* A CPU going offline leaves VMX root; coming back online re-enters it. */
TEST_F_TIMEOUT(lifecycle, cpu_offline_online, 300)
{
	cpu_set_t set;
	int fd;

	if (access(CPU1_ONLINE, W_OK))
		SKIP(return, "CPU 1 cannot be taken offline");

	ASSERT_EQ(0, hvx_load());
	fd = open(HVX_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, read_cpulist(HVX_SYSFS_VMX_ROOT, &set));
	ASSERT_TRUE(CPU_ISSET(1, &set));

	ASSERT_EQ(0, write_text(CPU1_ONLINE, "0"));
	ASSERT_EQ(0, read_cpulist(HVX_SYSFS_VMX_ROOT, &set));
	EXPECT_FALSE(CPU_ISSET(1, &set));
	EXPECT_TRUE(vmx_root_is_online_cpus());

	write_text(CPU1_ONLINE, "1");
	ASSERT_EQ(0, read_cpulist(HVX_SYSFS_VMX_ROOT, &set));
	EXPECT_TRUE(CPU_ISSET(1, &set));
	EXPECT_TRUE(vmx_root_is_online_cpus());

	/* The module keeps working: a VM can still be created. */
	EXPECT_LE(0, ioctl(fd, KVM_CREATE_VM, 0));
	close(fd);
}

/* Loading while a CPU is offline, then onlining it, enters VMX root. */
TEST_F_TIMEOUT(lifecycle, load_with_cpu_offline, 300)
{
	cpu_set_t set;

	if (access(CPU1_ONLINE, W_OK))
		SKIP(return, "CPU 1 cannot be taken offline");

	ASSERT_EQ(0, write_text(CPU1_ONLINE, "0"));
	ASSERT_EQ(0, hvx_load());
	ASSERT_EQ(0, read_cpulist(HVX_SYSFS_VMX_ROOT, &set));
	EXPECT_FALSE(CPU_ISSET(1, &set));
	write_text(CPU1_ONLINE, "1");
	EXPECT_TRUE(vmx_root_is_online_cpus());
	ASSERT_EQ(0, hvx_unload());
}

/*
 * Suspend to RAM in the kernel's "core" test mode: the non-boot CPUs go
 * offline, the syscore callbacks run (hvx leaves VMX root on the last CPU),
 * then everything resumes without the machine sleeping.
 */
TEST_F_TIMEOUT(lifecycle, suspend_resume, 300)
{
	char states[256];
	int fd;

	if (read_text("/sys/power/state", states, sizeof(states)) < 0 ||
	    !strstr(states, "mem") || access("/sys/power/pm_test", W_OK))
		SKIP(return, "suspend to RAM or pm_test not available");

	ASSERT_EQ(0, hvx_load());
	fd = open(HVX_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_text("/sys/power/pm_test", "core"));
	EXPECT_EQ(0, write_text("/sys/power/state", "mem"));
	ASSERT_EQ(0, write_text("/sys/power/pm_test", "none"));
	EXPECT_TRUE(vmx_root_is_online_cpus());
	EXPECT_LE(0, ioctl(fd, KVM_CREATE_VM, 0));
	close(fd);
}

/* Every open file keeps the module loaded: /dev/hvx and a VM fd. */
TEST_F(lifecycle, open_files_hold_module)
{
	int dev, vm;

	ASSERT_EQ(0, hvx_load());
	dev = open(HVX_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, dev);
	EXPECT_EQ(-EWOULDBLOCK, hvx_unload());

	vm = ioctl(dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	close(dev);
	EXPECT_EQ(-EWOULDBLOCK, hvx_unload());
	EXPECT_TRUE(module_loaded("hvx"));

	close(vm);
	EXPECT_EQ(0, hvx_unload());
}

/*
 * A vCPU whose thread moves between CPU 0 and CPU 1 at every KVM_RUN: each
 * move VMCLEARs its VMCS on the old CPU and flushes its VPID's
 * translations on the new one (INVVPID).  Its guest reads a page whose
 * content the VMM changes between runs, through the TLB.  A failed INVVPID
 * would warn (the suite fails on any kernel warning) and fail KVM_RUN.
 */
static void run_migrating_vcpu(struct __test_metadata *_metadata)
{
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	u32 *data;
	int i;

	vm = vm_create_guest(GUEST_MODE_LONG, &code_read_loop, &vcpu);
	data = gpa_to_hva(vm, GUEST_DATA);
	vcpu_regs_get(vcpu, &regs);
	regs.rsi = GUEST_DATA;
	vcpu_regs_set(vcpu, &regs);
	for (i = 0; i < 40; i++) {
		pin_to_cpu(0, i & 1);
		WRITE_ONCE(*data, 0x1000 + i);
		EXPECT_EQ(0x1000U + i, vcpu_run_value(vcpu)) TH_LOG("run %d", i);
	}
	pin_to_cpu(0, 0);
	vm_free(vm);
}

/* Single-context INVVPID where the CPU has it (Bochs's Haswell does). */
TEST_F_TIMEOUT(lifecycle, invvpid_single_context, 300)
{
	char val[8] = "";

	write_text(CPU1_ONLINE, "1");
	ASSERT_EQ(0, hvx_load());
	ASSERT_EQ(1, read_text(INVVPID_SINGLE, val, sizeof(val)));
	EXPECT_EQ('Y', val[0]);
	run_migrating_vcpu(_metadata);
}

/*
 * invvpid_single=0 takes the path of a CPU with only all-context INVVPID,
 * which the probe accepts too.
 */
TEST_F_TIMEOUT(lifecycle, invvpid_all_context, 300)
{
	char val[8] = "";

	write_text(CPU1_ONLINE, "1");
	ASSERT_EQ(0, hvx_load_params("invvpid_single=0"));
	ASSERT_EQ(1, read_text(INVVPID_SINGLE, val, sizeof(val)));
	EXPECT_EQ('N', val[0]);
	run_migrating_vcpu(_metadata);
}

TEST_HARNESS_MAIN
