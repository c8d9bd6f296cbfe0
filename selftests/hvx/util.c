// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the hvx selftests.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/hvx.h>

#include "util.h"

#define KVM_MODULES_DIR "/lib/modules-extra"

const char *hvx_module_path(void)
{
	const char *path = getenv("HVX_KO");

	return path ? path : "hvx.ko";
}

int module_load_params(const char *path, const char *params)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return r;
}

int module_load(const char *path)
{
	return module_load_params(path, "");
}

int hvx_load(void)
{
	return module_load(hvx_module_path());
}

int hvx_load_params(const char *params)
{
	return module_load_params(hvx_module_path(), params);
}

int module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

int hvx_unload(void)
{
	return module_unload("hvx");
}

bool module_loaded(const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

int parse_cpulist(const char *list, cpu_set_t *set)
{
	const char *p = list;

	CPU_ZERO(set);
	while (*p) {
		unsigned long first, last;
		char *end;

		first = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		last = first;
		p = end;
		if (*p == '-') {
			p++;
			last = strtoul(p, &end, 10);
			if (end == p || last < first)
				return -EINVAL;
			p = end;
		}
		if (last >= CPU_SETSIZE)
			return -EINVAL;
		for (; first <= last; first++)
			CPU_SET(first, set);
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return 0;
}

int read_cpulist(const char *path, cpu_set_t *set)
{
	char buf[4096];
	int r;

	r = read_text(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	return parse_cpulist(buf, set);
}

bool vmx_root_is_online_cpus(void)
{
	cpu_set_t online, vmx_root;

	if (read_cpulist("/sys/devices/system/cpu/online", &online) ||
	    read_cpulist(HVX_SYSFS_VMX_ROOT, &vmx_root))
		return false;
	return CPU_EQUAL(&online, &vmx_root);
}

bool cpu_has_flag(const char *flag, bool vmx_flags)
{
	const char *key = vmx_flags ? "vmx flags" : "flags";
	bool found = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');
		char *tok, *save;

		if (!colon || strncmp(line, key, strlen(key)) ||
		    (line[strlen(key)] != ' ' && line[strlen(key)] != '\t'))
			continue;
		for (tok = strtok_r(colon + 1, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	free(line);
	fclose(f);
	return found;
}

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

bool kmsg_find(int fd, const char *needle, char *line, size_t size)
{
	char rec[8192];

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *text;

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records: go on */
				continue;
			return false;	/* EAGAIN: no more records */
		}
		rec[n] = '\0';
		/* "prio,seq,time,flags;text\n" */
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		if (strstr(text, needle)) {
			if (line) {
				snprintf(line, size, "%s", text);
				line[strcspn(line, "\n")] = '\0';
			}
			return true;
		}
	}
}

static int kvm_module_names(char names[][64], int max)
{
	char buf[1024], *tok, *save;
	int n = 0;

	if (read_text(KVM_MODULES_DIR "/load-order", buf, sizeof(buf)) < 0)
		return 0;
	for (tok = strtok_r(buf, "\n\t ", &save); tok && n < max;
	     tok = strtok_r(NULL, "\n\t ", &save))
		snprintf(names[n++], 64, "%s", tok);
	return n;
}

bool kvm_modules_available(void)
{
	char names[8][64];
	int i, n = kvm_module_names(names, 8);

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], "kvm_intel"))
			return true;
	return false;
}

int kvm_modules_load(void)
{
	char names[8][64], path[600];
	int i, r, n = kvm_module_names(names, 8);

	for (i = 0; i < n; i++) {
		if (module_loaded(names[i]))
			continue;
		snprintf(path, sizeof(path), KVM_MODULES_DIR "/%s.ko", names[i]);
		r = module_load(path);
		if (r)
			return r;
	}
	return 0;
}

void kvm_modules_unload(void)
{
	char names[8][64];
	int i, n = kvm_module_names(names, 8);

	for (i = n - 1; i >= 0; i--)
		if (module_loaded(names[i]))
			module_unload(names[i]);
}

const char *test_device(void)
{
	const char *path = getenv("HVX_TEST_DEVICE");

	return path && *path ? path : HVX_DEVICE_PATH;
}

bool test_device_is_hvx(void)
{
	char real[PATH_MAX];

	/* /dev/kvm may be a symlink to /dev/hvx. */
	if (realpath(test_device(), real))
		return !strcmp(real, HVX_DEVICE_PATH);
	return !strcmp(test_device(), HVX_DEVICE_PATH);
}

int test_device_prepare(bool *loaded_here)
{
	int r;

	*loaded_here = false;
	if (!test_device_is_hvx() || module_loaded("hvx"))
		return 0;
	r = hvx_load();
	if (!r)
		*loaded_here = true;
	return r;
}

void test_device_release(bool loaded_here)
{
	if (loaded_here)
		hvx_unload();
}

double env_seconds(const char *name, double dflt)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return dflt;
	v = strtod(s, &end);
	return end != s && v > 0 ? v : dflt;
}

long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 0);
	return end != s && v > 0 ? v : dflt;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

long proc_interrupts(const char *name, int cpu)
{
	char *line = NULL, *p, *end;
	size_t cap = 0, len = strlen(name);
	long count = -1;
	FILE *f;
	int i;

	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		p = line + strspn(line, " ");
		if (strncmp(p, name, len) || p[len] != ':')
			continue;
		p += len + 1;
		for (i = 0; i <= cpu; i++) {
			count = strtol(p, &end, 10);
			if (end == p) {
				count = -1;
				break;
			}
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	return count;
}

long meminfo_kb(const char *field)
{
	char *line = NULL;
	size_t cap = 0, len = strlen(field);
	long kb = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	free(line);
	fclose(f);
	return kb;
}

int pin_to_cpu(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

void slab_counts_read(struct slab_counts *s)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	s->n = 0;
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0 && s->n < SLAB_MAX_CACHES) {
		char name[64];
		long active;

		if (sscanf(line, "%63s %ld", name, &active) != 2)
			continue;
		snprintf(s->caches[s->n].name, sizeof(s->caches[0].name), "%s",
			 name);
		s->caches[s->n++].active = active;
	}
	free(line);
	fclose(f);
}

long slab_growth(const struct slab_counts *before,
		 const struct slab_counts *after, int i)
{
	long grown = after->caches[i].active;
	int k;

	for (k = 0; k < before->n; k++)
		if (!strcmp(before->caches[k].name, after->caches[i].name))
			grown -= before->caches[k].active;
	return grown;
}

void slab_shrink_all(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir;

	dir = opendir("/sys/kernel/slab");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || d->d_type == DT_LNK)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		write_text(path, "1");
	}
	closedir(dir);
}
