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

#endif /* _UAPI_LINUX_HVX_H */
