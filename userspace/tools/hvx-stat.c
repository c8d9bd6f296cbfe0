// SPDX-License-Identifier: GPL-2.0
/*
 * hvx-stat: hvx's exit counters, live, in the manner of kvm_stat.
 *
 * Reads the debugfs statistics files of hvx (Documentation/tracing.rst):
 *
 *   <root>/<pid>-<vm id>/stats		one VM (the sum over its vCPUs)
 *   <root>/<pid>-<vm id>/vcpu<N>/stats	one vCPU
 *
 * each made of "<counter> <value>" lines, sums them over the VMs selected,
 * and shows a table of every counter with its total and its rate over the
 * last interval, refreshed every interval; --once prints the totals once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROOT	"/sys/kernel/debug/hvx"
#define MAX_COUNTERS	512
#define MAX_VMS		64

struct counter {
	char name[64];
	unsigned long long total, prev;
	bool seen;		/* present in the last sample */
};

static struct counter counters[MAX_COUNTERS];
static unsigned int nr_counters;
static char vm_names[MAX_VMS][256];
static unsigned int nr_vms, nr_vcpus;

static const char *root = DEFAULT_ROOT;
static const char *vm_filter;
static int vcpu_filter = -1;
static sig_atomic_t stop;

static void synopsis(FILE *f)
{
	fprintf(f,
		"usage: hvx-stat [options]\n"
		"Show hvx's exit counters (debugfs) like kvm_stat.\n\n"
		"  -1, --once          print the totals once and exit\n"
		"  -d, --delay SECS    refresh interval (default 1)\n"
		"  -v, --vm NAME|PID   only the VM NAME (\"<pid>-<id>\", a\n"
		"                      directory under the root) or the VMs of PID\n"
		"  -c, --vcpu N        only vCPU N of the VMs selected\n"
		"  -r, --root DIR      hvx's debugfs directory\n"
		"                      (default " DEFAULT_ROOT ")\n"
		"  -h, --help          this text\n");
}

static struct counter *counter_get(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_counters; i++)
		if (!strcmp(counters[i].name, name))
			return &counters[i];
	if (nr_counters == MAX_COUNTERS)
		return NULL;
	snprintf(counters[nr_counters].name, sizeof(counters[0].name), "%s",
		 name);
	return &counters[nr_counters++];
}

/* Adds one statistics file to the sample; -1 if it cannot be read. */
static int add_file(const char *path)
{
	unsigned long long value;
	char line[256], name[64];
	struct counter *c;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu", name, &value) != 2)
			continue;
		if (!strcmp(name, "vcpus")) {
			nr_vcpus += value;
			continue;
		}
		c = counter_get(name);
		if (!c)
			continue;
		c->total += value;
		c->seen = true;
	}
	/* A VM destroyed while being read: its numbers are gone. */
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static bool vm_selected(const char *name)
{
	size_t len;

	if (!vm_filter)
		return true;
	if (!strcmp(name, vm_filter))
		return true;
	/* A PID selects every VM of that process. */
	len = strlen(vm_filter);
	return strspn(vm_filter, "0123456789") == len &&
	       !strncmp(name, vm_filter, len) && name[len] == '-';
}

/* One sample: every counter's total over the VMs selected. */
static int sample(void)
{
	char path[4096];
	struct dirent *d;
	unsigned int i;
	DIR *dir;

	for (i = 0; i < nr_counters; i++) {
		counters[i].prev = counters[i].total;
		counters[i].total = 0;
		counters[i].seen = false;
	}
	nr_vms = 0;
	nr_vcpus = 0;

	dir = opendir(root);
	if (!dir) {
		fprintf(stderr, "hvx-stat: %s: %s (is hvx loaded and debugfs mounted?)\n",
			root, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || !vm_selected(d->d_name))
			continue;
		if (vcpu_filter >= 0) {
			snprintf(path, sizeof(path), "%s/%s/vcpu%d/stats", root,
				 d->d_name, vcpu_filter);
			if (access(path, R_OK))
				continue;
		} else {
			snprintf(path, sizeof(path), "%s/%s/stats", root,
				 d->d_name);
		}
		if (add_file(path))
			continue;
		if (vcpu_filter >= 0)
			nr_vcpus++;
		if (nr_vms < MAX_VMS)
			memcpy(vm_names[nr_vms], d->d_name,
			       sizeof(vm_names[0]));
		nr_vms++;
	}
	closedir(dir);
	return 0;
}

/* The table order: highest rate first, then highest total, then name. */
static double interval;

static int by_rate(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;
	unsigned long long dx = x->total - x->prev, dy = y->total - y->prev;

	if (dx != dy)
		return dx < dy ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void print_header(void)
{
	unsigned int i;

	printf("# hvx-stat: %u VM%s, %u vCPU%s:", nr_vms,
	       nr_vms == 1 ? "" : "s", nr_vcpus, nr_vcpus == 1 ? "" : "s");
	for (i = 0; i < nr_vms && i < MAX_VMS; i++)
		printf(" %s", vm_names[i]);
	printf("\n");
}

static void print_once(void)
{
	unsigned int i;

	print_header();
	for (i = 0; i < nr_counters; i++)
		counters[i].prev = 0;
	qsort(counters, nr_counters, sizeof(counters[0]), by_rate);
	printf("%-36s %16s\n", "Event", "Total");
	for (i = 0; i < nr_counters; i++)
		if (counters[i].seen)
			printf("%-36s %16llu\n", counters[i].name,
			       counters[i].total);
}

static void print_live(bool first)
{
	unsigned int i;

	/* Home the cursor and clear the screen, as kvm_stat's curses view. */
	printf("\033[H\033[2J");
	print_header();
	printf("%-36s %16s %12s\n", "Event", "Total", "Per second");
	qsort(counters, nr_counters, sizeof(counters[0]), by_rate);
	for (i = 0; i < nr_counters; i++) {
		const struct counter *c = &counters[i];

		if (!c->seen)
			continue;
		if (first || c->total < c->prev)
			printf("%-36s %16llu %12s\n", c->name, c->total, "");
		else
			printf("%-36s %16llu %12.0f\n", c->name, c->total,
			       (c->total - c->prev) / interval);
	}
	fflush(stdout);
}

static void on_signal(int sig)
{
	__atomic_store_n(&stop, sig, __ATOMIC_RELAXED);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "once", no_argument, NULL, '1' },
		{ "delay", required_argument, NULL, 'd' },
		{ "vm", required_argument, NULL, 'v' },
		{ "vcpu", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	bool once = false, first = true;
	struct timespec ts;
	char *end;
	int opt;

	interval = 1.0;
	while ((opt = getopt_long(argc, argv, "1d:v:c:r:h", options,
				  NULL)) != -1) {
		switch (opt) {
		case '1':
			once = true;
			break;
		case 'd':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.1 && interval <= 3600)) {
				fprintf(stderr, "hvx-stat: bad delay '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			vm_filter = optarg;
			break;
		case 'c':
			vcpu_filter = (int)strtol(optarg, &end, 10);
			if (*end || vcpu_filter < 0) {
				fprintf(stderr, "hvx-stat: bad vCPU '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			synopsis(stdout);
			return 0;
		default:
			synopsis(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		synopsis(stderr);
		return 2;
	}

	if (sample())
		return 1;
	if (vm_filter && !nr_vms) {
		fprintf(stderr, "hvx-stat: no VM '%s'%s in %s\n", vm_filter,
			vcpu_filter >= 0 ? " with that vCPU" : "", root);
		return 1;
	}
	if (once) {
		print_once();
		return 0;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		print_live(first);
		first = false;
		ts.tv_sec = (time_t)interval;
		ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
		if (nanosleep(&ts, NULL) && errno == EINTR)
			break;
		if (sample())
			return 1;
	}
	return 0;
}
