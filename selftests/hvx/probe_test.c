// SPDX-License-Identifier: GPL-2.0
/*
 * hvx refuses to load on a CPU that lacks what it needs, says what is
 * missing in one line each, and leaves nothing behind; on a CPU that has
 * everything it loads.  What the CPU has is read from /proc/cpuinfo, so the
 * same test runs on every CI VM CPU model.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include <linux/hvx.h>

#include "kselftest_harness.h"
#include "util.h"

struct needed {
	const char *flag;	/* /proc/cpuinfo "vmx flags" name */
	const char *message;	/* what hvx logs when it is missing */
};

static const struct needed needed[] = {
	{ "ept", "VT-x lacks EPT" },
	{ "vpid", "VT-x lacks VPID" },
	{ "unrestricted_guest", "VT-x lacks unrestricted guest" },
	{ "vnmi", "VT-x lacks virtual NMIs" },
};

/* The message hvx must log on this CPU, or NULL if it has everything. */
static const char *expected_refusal(void)
{
	unsigned int i;

	if (!cpu_has_flag("vmx", false))
		return "CPU has no VT-x";
	for (i = 0; i < ARRAY_SIZE(needed); i++)
		if (!cpu_has_flag(needed[i].flag, true))
			return needed[i].message;
	return NULL;
}

TEST(refused_without_needed_features)
{
	const char *expect = expected_refusal();
	char line[512];
	int kmsg, r;

	if (!expect)
		SKIP(return, "this CPU has every VT-x feature hvx needs");
	ASSERT_FALSE(module_loaded("hvx"));

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	r = hvx_load();
	EXPECT_TRUE(r == -ENODEV || r == -EIO) TH_LOG("load returned %d", r);
	EXPECT_TRUE(kmsg_find(kmsg, expect, line, sizeof(line)))
		TH_LOG("no kernel message \"%s\"", expect);
	TH_LOG("kernel said: %s", line);
	EXPECT_FALSE(module_loaded("hvx"));
	EXPECT_NE(0, access(HVX_DEVICE_PATH, F_OK));
	close(kmsg);
}

TEST(loads_with_needed_features)
{
	if (expected_refusal())
		SKIP(return, "this CPU lacks a VT-x feature hvx needs");
	if (module_loaded("hvx"))
		ASSERT_EQ(0, hvx_unload());

	ASSERT_EQ(0, hvx_load());
	EXPECT_TRUE(vmx_root_is_online_cpus());
	EXPECT_EQ(0, hvx_unload());
}

TEST_HARNESS_MAIN
