// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: defines the backend's tracepoints (vmx_trace.h) and
 * names basic exit reasons for the statistics in debugfs.
 */
#include <linux/kernel.h>
#include <asm/vmx.h>

#include "vmx_stats.h"

#define CREATE_TRACE_POINTS
#include "vmx_trace.h"

static const struct {
	unsigned int reason;
	const char *name;
} vmx_exit_names[] = { VMX_EXIT_REASONS };

/**
 * vmx_exit_name() - the name of a basic VM-exit reason
 * @reason: the basic exit reason (bits 15:0).
 *
 * Return: its name as in <asm/vmx.h> ("CPUID", "HLT", ...), or NULL.
 */
const char *vmx_exit_name(unsigned int reason)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vmx_exit_names); i++)
		if (vmx_exit_names[i].reason == reason)
			return vmx_exit_names[i].name;
	return NULL;
}
