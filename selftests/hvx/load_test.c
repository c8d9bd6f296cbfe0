// SPDX-License-Identifier: GPL-2.0
/*
 * hvx module lifecycle: VMX root on every online CPU while loaded, CPU
 * hotplug, suspend, and the module references held by open files.
 *
 * Runs as root in the CI VM; each test loads and unloads hvx.ko itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "util.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"

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

/* Loading puts every online CPU in VMX root; unloading removes all trace. */
TEST_F_TIMEOUT(lifecycle, load_unload_50_times, 600)
{
	struct stat st;
	int i;

	for (i = 0; i < 50; i++) {
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

	ASSERT_EQ(0, write_text(CPU1_ONLINE, "1"));
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
	ASSERT_EQ(0, write_text(CPU1_ONLINE, "1"));
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

TEST_HARNESS_MAIN
