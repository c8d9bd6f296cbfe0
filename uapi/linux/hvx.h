/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hvx: what the hvx ABI adds to <linux/kvm.h>.
 *
 * /dev/hvx speaks the ioctl numbers and structures of <linux/kvm.h> for the
 * subset of the KVM API listed in Documentation/api.rst; include
 * <linux/kvm.h> for those.  This header holds only what is hvx's own.
 */
#ifndef _UAPI_LINUX_HVX_H
#define _UAPI_LINUX_HVX_H

/* The character device: /dev/hvx. */
#define HVX_DEVICE_NAME		"hvx"
#define HVX_DEVICE_PATH		"/dev/" HVX_DEVICE_NAME

/*
 * Per-CPU VMX state, in the misc device's sysfs directory: the list of CPUs
 * (in cpulist format, e.g. "0-1") that are in VMX root operation on behalf
 * of hvx.
 */
#define HVX_SYSFS_VMX_ROOT	"/sys/class/misc/" HVX_DEVICE_NAME "/vmx_root"

/*
 * What a guest sees of hvx through CPUID (KVM_GET_SUPPORTED_CPUID).  Leaf
 * HVX_CPUID_LEAF_SIGNATURE: EAX = the highest hypervisor leaf, EBX, ECX,
 * EDX = the 12 bytes of HVX_CPUID_SIGNATURE.  Leaf HVX_CPUID_LEAF_TIMING:
 * EAX = TSC frequency in kHz (0: unknown), EBX = local APIC bus frequency
 * in kHz (0: hvx has no in-kernel APIC; a VMM emulating one sets it).
 */
#define HVX_CPUID_LEAF_SIGNATURE	0x40000000
#define HVX_CPUID_LEAF_TIMING		0x40000010
#define HVX_CPUID_SIGNATURE		"hvxhvxhvx\0\0\0"

#endif /* _UAPI_LINUX_HVX_H */
