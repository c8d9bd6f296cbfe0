/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend tracepoints (tracefs events/hvx/, the same system as
 * the core's in module/trace.h): VM entry, VM exit and event injection.
 * Documentation/tracing.rst describes every field.
 *
 * The events are defined (CREATE_TRACE_POINTS) in module/vmx/trace.c.
 * Callers use the vmx_trace_*() wrappers in vmx_stats.h, which also count
 * and which read VMCS fields only while the event is enabled.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hvx

#if !defined(HVX_VMX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define HVX_VMX_TRACE_H

#include <linux/tracepoint.h>
#include <asm/vmx.h>

/*
 * About to enter the guest at @rip; @intr_info is the VM-entry
 * interruption-information field (bit 31 set: an event is injected).
 */
TRACE_EVENT(hvx_entry,
	    TP_PROTO(unsigned int vm_id, unsigned int vcpu_id, u64 rip,
		     u32 intr_info),
	    TP_ARGS(vm_id, vcpu_id, rip, intr_info),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)
			     __field(unsigned int, vcpu_id)
			     __field(u64, rip)
			     __field(u32, intr_info)),
	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->rip = rip;
			   __entry->intr_info = intr_info;),
	    TP_printk("vm %u vcpu %u rip 0x%llx intr_info 0x%x",
		      __entry->vm_id, __entry->vcpu_id, __entry->rip,
		      __entry->intr_info)
);

/*
 * The guest exited: @reason is the full exit reason (bit 31: the entry
 * failed), @qual the exit qualification (after a VMfail: the
 * VM-instruction error), @rip the guest RIP of the instruction that
 * exited, @intr_info the VM-exit interruption information (exceptions
 * and NMIs, else 0).
 */
TRACE_EVENT(hvx_exit,
	    TP_PROTO(unsigned int vm_id, unsigned int vcpu_id, u32 reason,
		     u64 qual, u64 rip, u32 intr_info),
	    TP_ARGS(vm_id, vcpu_id, reason, qual, rip, intr_info),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)
			     __field(unsigned int, vcpu_id)
			     __field(u32, reason)
			     __field(u32, intr_info)
			     __field(u64, qual)
			     __field(u64, rip)),
	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->reason = reason;
			   __entry->intr_info = intr_info;
			   __entry->qual = qual;
			   __entry->rip = rip;),
	    TP_printk("vm %u vcpu %u reason %s%s (0x%x) qual 0x%llx rip 0x%llx intr_info 0x%x",
		      __entry->vm_id, __entry->vcpu_id,
		      __entry->reason & VMX_EXIT_REASONS_FAILED_VMENTRY ?
		      "FAILED_ENTRY " : "",
		      __print_symbolic(__entry->reason & 0xffff,
				       VMX_EXIT_REASONS),
		      __entry->reason, __entry->qual, __entry->rip,
		      __entry->intr_info)
);

/*
 * An event is injected at the next entry: @vector, and @type the
 * interruption type (bits 10:8 of the interruption-information field;
 * Intel SDM Vol. 3C, 25.8.3).
 */
TRACE_EVENT(hvx_inject,
	    TP_PROTO(unsigned int vcpu_id, u8 vector, u8 type),
	    TP_ARGS(vcpu_id, vector, type),
	    TP_STRUCT__entry(__field(unsigned int, vcpu_id)
			     __field(u8, vector)
			     __field(u8, type)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->vector = vector;
			   __entry->type = type;),
	    TP_printk("vcpu %u vector %u type %s", __entry->vcpu_id,
		      __entry->vector,
		      __print_symbolic(__entry->type,
				       { 0, "EXT_INTR" },
				       { 2, "NMI" },
				       { 3, "HARD_EXCEPTION" },
				       { 4, "SOFT_INTR" },
				       { 5, "PRIV_SOFT_EXCEPTION" },
				       { 6, "SOFT_EXCEPTION" },
				       { 7, "OTHER" }))
);

#endif /* HVX_VMX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmx_trace
#include <trace/define_trace.h>
