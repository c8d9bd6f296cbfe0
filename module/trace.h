/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx core tracepoints (tracefs events/hvx/): VM and vCPU lifetime, returns
 * from KVM_RUN to userspace, and guest pages faulted in.  The VT-x
 * backend's events (entry, exit, injection) are in vmx/vmx_trace.h, in the
 * same "hvx" system.  Documentation/tracing.rst describes every field.
 *
 * The events are defined (CREATE_TRACE_POINTS) in module/stats.c.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hvx

#if !defined(HVX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define HVX_TRACE_H

#include <linux/kvm.h>
#include <linux/tracepoint.h>

TRACE_EVENT(hvx_vm_create,
	    TP_PROTO(unsigned int vm_id, pid_t pid),
	    TP_ARGS(vm_id, pid),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)
			     __field(pid_t, pid)),
	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->pid = pid;),
	    TP_printk("vm %u pid %d", __entry->vm_id, __entry->pid)
);

TRACE_EVENT(hvx_vm_destroy,
	    TP_PROTO(unsigned int vm_id),
	    TP_ARGS(vm_id),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)),
	    TP_fast_assign(__entry->vm_id = vm_id;),
	    TP_printk("vm %u", __entry->vm_id)
);

DECLARE_EVENT_CLASS(hvx_vcpu_lifetime,
		    TP_PROTO(unsigned int vm_id, unsigned int vcpu_id),
		    TP_ARGS(vm_id, vcpu_id),
		    TP_STRUCT__entry(__field(unsigned int, vm_id)
				     __field(unsigned int, vcpu_id)),
		    TP_fast_assign(__entry->vm_id = vm_id;
				   __entry->vcpu_id = vcpu_id;),
		    TP_printk("vm %u vcpu %u", __entry->vm_id,
			      __entry->vcpu_id)
);

DEFINE_EVENT(hvx_vcpu_lifetime, hvx_vcpu_create,
	     TP_PROTO(unsigned int vm_id, unsigned int vcpu_id),
	     TP_ARGS(vm_id, vcpu_id)
);

DEFINE_EVENT(hvx_vcpu_lifetime, hvx_vcpu_destroy,
	     TP_PROTO(unsigned int vm_id, unsigned int vcpu_id),
	     TP_ARGS(vm_id, vcpu_id)
);

/*
 * KVM_RUN returns to userspace: @exit_reason is kvm_run.exit_reason,
 * meaningful when @ret is 0 (or -EINTR with KVM_EXIT_INTR).
 */
TRACE_EVENT(hvx_userspace_exit,
	    TP_PROTO(unsigned int vm_id, unsigned int vcpu_id, u32 exit_reason,
		     int ret),
	    TP_ARGS(vm_id, vcpu_id, exit_reason, ret),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)
			     __field(unsigned int, vcpu_id)
			     __field(u32, exit_reason)
			     __field(int, ret)),
	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->exit_reason = exit_reason;
			   __entry->ret = ret;),
	    TP_printk("vm %u vcpu %u reason %s (%u) ret %d",
		      __entry->vm_id, __entry->vcpu_id,
		      __print_symbolic(__entry->exit_reason,
				       { KVM_EXIT_UNKNOWN, "UNKNOWN" },
				       { KVM_EXIT_EXCEPTION, "EXCEPTION" },
				       { KVM_EXIT_IO, "IO" },
				       { KVM_EXIT_HYPERCALL, "HYPERCALL" },
				       { KVM_EXIT_DEBUG, "DEBUG" },
				       { KVM_EXIT_HLT, "HLT" },
				       { KVM_EXIT_MMIO, "MMIO" },
				       { KVM_EXIT_SHUTDOWN, "SHUTDOWN" },
				       { KVM_EXIT_FAIL_ENTRY, "FAIL_ENTRY" },
				       { KVM_EXIT_INTR, "INTR" },
				       { KVM_EXIT_NMI, "NMI" },
				       { KVM_EXIT_INTERNAL_ERROR,
					 "INTERNAL_ERROR" },
				       { KVM_EXIT_SYSTEM_EVENT,
					 "SYSTEM_EVENT" }),
		      __entry->exit_reason, __entry->ret)
);

/* A guest page inside memory slot @slot is now mapped to host frame @pfn. */
TRACE_EVENT(hvx_fault_in,
	    TP_PROTO(unsigned int vm_id, u64 gpa, unsigned int slot, u64 pfn),
	    TP_ARGS(vm_id, gpa, slot, pfn),
	    TP_STRUCT__entry(__field(unsigned int, vm_id)
			     __field(unsigned int, slot)
			     __field(u64, gpa)
			     __field(u64, pfn)),
	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->slot = slot;
			   __entry->gpa = gpa;
			   __entry->pfn = pfn;),
	    TP_printk("vm %u gpa 0x%llx slot %u pfn 0x%llx", __entry->vm_id,
		      __entry->gpa, __entry->slot, __entry->pfn)
);

#endif /* HVX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
