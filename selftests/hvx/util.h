/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the hvx selftests: loading and unloading modules,
 * reading sysfs and /proc, and watching the kernel log.
 */
#ifndef HVX_SELFTEST_UTIL_H
#define HVX_SELFTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sched.h>

/* Path of hvx.ko: $HVX_KO, or hvx.ko in the current directory. */
const char *hvx_module_path(void);

/* Load hvx.ko / a module file. Return 0 or -errno. */
int hvx_load(void);
int module_load(const char *path);

/* Unload a module without waiting. Return 0 or -errno. */
int module_unload(const char *name);
int hvx_unload(void);

/* Whether a module is loaded (/sys/module/NAME exists). */
bool module_loaded(const char *name);

/*
 * Read a whole small file into buf, NUL-terminated, without a trailing
 * newline. Return its length or -errno.
 */
int read_text(const char *path, char *buf, size_t size);

/* Write a string to a file. Return 0 or -errno. */
int write_text(const char *path, const char *text);

/* Parse a cpulist ("0-1,3") into a set. Return 0 or -EINVAL. */
int parse_cpulist(const char *list, cpu_set_t *set);

/* Read a cpulist file into a set. Return 0 or -errno. */
int read_cpulist(const char *path, cpu_set_t *set);

/* Whether the CPUs hvx reports in VMX root are exactly the online CPUs. */
bool vmx_root_is_online_cpus(void);

/*
 * Whether /proc/cpuinfo's first CPU lists flag in its "flags" line (or,
 * with vmx_flags, its "vmx flags" line).
 */
bool cpu_has_flag(const char *flag, bool vmx_flags);

/*
 * Kernel log: kmsg_open() returns an fd positioned at the end of the log;
 * kmsg_find() reads the records logged since and returns true when one
 * contains needle (copying it to line, if given).
 */
int kmsg_open(void);
bool kmsg_find(int fd, const char *needle, char *line, size_t size);

/*
 * The KVM modules the CI VM provides (kvm_intel and its dependencies), in
 * /lib/modules-extra with their load order. kvm_modules_available() says
 * whether they are there; kvm_modules_load() loads them in order and returns
 * 0 or the first -errno; kvm_modules_unload() unloads the loaded ones.
 */
bool kvm_modules_available(void);
int kvm_modules_load(void);
void kvm_modules_unload(void);

#endif /* HVX_SELFTEST_UTIL_H */
