/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the hooks that count exits and fire the tracepoints,
 * one call each in the run loop.  With the events disabled they cost a
 * static branch; the VMCS fields an event carries are read only while it
 * is enabled.
 */
#ifndef HVX_VMX_STATS_H
#define HVX_VMX_STATS_H

#include "vmcs.h"
#include "vmx.h"
#include "vmx_trace.h"

/* Before VM entry, interrupts disabled, the VMCS current. */
static inline void vmx_trace_entry(struct vmx_vcpu *vcpu)
{
	if (trace_hvx_entry_enabled())
		trace_hvx_entry(vcpu->vcpu.vm->id, vcpu->vcpu.id,
				vmcs_readl(GUEST_RIP),
				vmcs_read32(VM_ENTRY_INTR_INFO_FIELD));
}

/* After VM exit (or a failed entry), the VMCS still current. */
static inline void vmx_trace_exit(struct vmx_vcpu *vcpu)
{
	u32 reason = vcpu->exit_reason;

	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		hvx_stat_inc(&vcpu->vcpu.stats.failed_entries);
	else
		hvx_stat_hw_exit(&vcpu->vcpu.stats, (u16)reason);

	if (trace_hvx_exit_enabled())
		trace_hvx_exit(vcpu->vcpu.vm->id, vcpu->vcpu.id, reason,
			       reason == VMX_EXIT_REASONS_FAILED_VMENTRY ?
			       vcpu->exit_qual :
			       vmcs_readl(EXIT_QUALIFICATION),
			       vmcs_readl(GUEST_RIP), vcpu->exit_intr_info);
}

/* An event was written to VM_ENTRY_INTR_INFO_FIELD as @info. */
static inline void vmx_trace_inject(struct vmx_vcpu *vcpu, u32 info)
{
	hvx_stat_inc(&vcpu->vcpu.stats.injections);
	trace_hvx_inject(vcpu->vcpu.id, info & INTR_INFO_VECTOR_MASK,
			 (info & INTR_INFO_INTR_TYPE_MASK) >> 8);
}

const char *vmx_exit_name(unsigned int reason);

#endif /* HVX_VMX_STATS_H */
