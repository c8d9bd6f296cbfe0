// SPDX-License-Identifier: GPL-2.0
/*
 * hvx EPT: extended page tables for guest memory.
 *
 * hvx builds 4-level EPT tables of write-back memory and invalidates them
 * with INVEPT; this file checks, once at load, that the processor supports
 * exactly that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/printk.h>
#include <asm/vmx.h>

#include "ept.h"

struct ept_feature {
	u32 bits;		/* any one of these is enough */
	const char *name;
};

/* IA32_VMX_EPT_VPID_CAP[31:0] (Intel SDM Vol. 3D, A.10). */
static const struct ept_feature ept_required[] = {
	{ VMX_EPT_PAGE_WALK_4_BIT, "EPT 4-level page walk" },
	{ VMX_EPTP_WB_BIT, "EPT write-back memory type" },
	{ VMX_EPT_INVEPT_BIT, "INVEPT" },
	{ VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT,
	  "INVEPT single-context or all-context type" },
};

/**
 * ept_check_caps() - check the processor's EPT capabilities
 * @ept_cap: IA32_VMX_EPT_VPID_CAP[31:0].
 *
 * Logs one line for each EPT feature hvx needs and the processor lacks.
 *
 * Return: the number of missing features.
 */
int ept_check_caps(u32 ept_cap)
{
	int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(ept_required); i++) {
		if (ept_cap & ept_required[i].bits)
			continue;
		pr_err("VT-x lacks %s\n", ept_required[i].name);
		missing++;
	}
	return missing;
}
