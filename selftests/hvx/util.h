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
#include <sys/types.h>

/* Path of hvx.ko: $HVX_KO, or hvx.ko in the current directory. */
const char *hvx_module_path(void);

/* Load hvx.ko / a module file. Return 0 or -errno. */
int hvx_load(void);
/* With module parameters, e.g. "l1d_flush=0". */
int hvx_load_params(const char *params);
int module_load(const char *path);
int module_load_params(const char *path, const char *params);

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

/*
 * The device the KVM-API tests drive: $HVX_TEST_DEVICE, or /dev/hvx.  The
 * same test binaries run against /dev/kvm (kvm_intel) to check that they
 * test what KVM does.  test_device_is_hvx() says whether the device is hvx;
 * tests of hvx-only behaviour skip when it is not.
 */
const char *test_device(void);
bool test_device_is_hvx(void);

/*
 * Make the test device usable: on hvx, load hvx.ko unless it is loaded
 * (*loaded_here says whether this call loaded it, for
 * test_device_release()); on KVM nothing, as the suite loads kvm_intel.
 * Return 0 or -errno.
 */
int test_device_prepare(bool *loaded_here);
void test_device_release(bool loaded_here);

/* A number of seconds from the environment variable name, or dflt. */
double env_seconds(const char *name, double dflt);

/* An integer from the environment variable name, or dflt. */
long env_long(const char *name, long dflt);

/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);

/*
 * The count of one /proc/interrupts line (e.g. "LOC", "NMI") on one CPU,
 * or -1.
 */
long proc_interrupts(const char *name, int cpu);

/* One /proc/meminfo field in KiB (e.g. "SUnreclaim"), or -1. */
long meminfo_kb(const char *field);

/* Active objects of every slab cache, from /proc/slabinfo. */
#define SLAB_MAX_CACHES	512
struct slab_counts {
	int n;		/* 0 without /proc/slabinfo */
	struct {
		char name[64];
		long active;
	} caches[SLAB_MAX_CACHES];
};

void slab_counts_read(struct slab_counts *s);
/* How many objects cache @i of @after gained since @before. */
long slab_growth(const struct slab_counts *before,
		 const struct slab_counts *after, int i);
/*
 * Shrink every slab cache: SLUB counts the free objects of per-CPU slabs
 * as active until they are flushed.
 */
void slab_shrink_all(void);

/* Pin the calling thread (tid 0) or thread tid to one CPU. Return 0/-errno. */
int pin_to_cpu(pid_t tid, int cpu);

#endif /* HVX_SELFTEST_UTIL_H */
