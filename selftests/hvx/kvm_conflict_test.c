// SPDX-License-Identifier: GPL-2.0
/*
 * hvx and kvm_intel cannot both own VMX: whichever holds it first keeps it,
 * and the other refuses cleanly (an error, one log line, no warning).
 *
 * Needs the kvm_intel module and its dependencies in /lib/modules-extra.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/hvx.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "util.h"

FIXTURE(conflict) {
	int unused;
};

FIXTURE_SETUP(conflict)
{
	if (!kvm_modules_available())
		SKIP(return, "kvm_intel is not available");
	if (module_loaded("hvx"))
		ASSERT_EQ(0, hvx_unload());
	kvm_modules_unload();
	ASSERT_FALSE(module_loaded("kvm_intel"));
}

FIXTURE_TEARDOWN(conflict)
{
	kvm_modules_unload();
	if (module_loaded("hvx"))
		hvx_unload();
}

/*
 * kvm_intel holds VMX once it has a VM (recent kernels enable VMX when the
 * module loads, older ones when the first VM is created).
 */
TEST_F_TIMEOUT(conflict, hvx_refused_while_kvm_holds_vmx, 300)
{
	char line[512];
	int kvm, vm, kmsg, r;

	ASSERT_EQ(0, kvm_modules_load());
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, kvm);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	r = hvx_load();
	EXPECT_EQ(-EBUSY, r);
	EXPECT_TRUE(kmsg_find(kmsg, "VMX is in use by another hypervisor",
			      line, sizeof(line)));
	TH_LOG("kernel said: %s", line);
	EXPECT_FALSE(module_loaded("hvx"));
	EXPECT_NE(0, access(HVX_DEVICE_PATH, F_OK));

	/* KVM is unaffected: its VM still answers. */
	EXPECT_LE(0, ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY));
	close(kmsg);
	close(vm);
	close(kvm);
}

TEST_F_TIMEOUT(conflict, kvm_refused_while_hvx_holds_vmx, 300)
{
	int hvx, kvm, vm, r;

	ASSERT_EQ(0, hvx_load());
	hvx = open(HVX_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, hvx);

	/* Either kvm_intel refuses to load, or it refuses to create a VM. */
	r = kvm_modules_load();
	if (r == 0) {
		kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, kvm);
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		EXPECT_EQ(-1, vm);
		TH_LOG("kvm_intel loaded; KVM_CREATE_VM: %s", strerror(errno));
		if (vm >= 0)
			close(vm);
		close(kvm);
	} else {
		TH_LOG("kvm_intel refused to load: %s", strerror(-r));
	}

	/* hvx is unaffected. */
	EXPECT_TRUE(vmx_root_is_online_cpus());
	vm = ioctl(hvx, KVM_CREATE_VM, 0);
	EXPECT_LE(0, vm);
	close(vm);
	close(hvx);
}

TEST_HARNESS_MAIN
