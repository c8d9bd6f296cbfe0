// SPDX-License-Identifier: GPL-2.0
/*
 * bench: hvx against KVM, one KVM-API client, the figures of DESIGN.md §6.
 * A benchmark, not a test: it measures and prints, it never judges.
 *
 *   bench [-d DEVICE] [-o FILE] [options]   measure one device
 *   bench -C HVX_FILE KVM_FILE              compare two result files
 *
 * Against one device ($HVX_TEST_DEVICE or -d, default /dev/hvx), each
 * measurement in its own child process, so that a failure (an assertion,
 * a crash, a guest that never comes back) costs only that measurement:
 *
 *   cpuid  a guest executing CPUID (leaf 0) in a loop: the exit handled in
 *          the kernel and the re-entry, per iteration.  Rounds of -n
 *          iterations each end with one exit to userspace (below 0.1 % of
 *          a round with the defaults).
 *   io     a guest executing OUT in a loop, the VMM calling KVM_RUN again
 *          at each KVM_EXIT_IO: the exit to userspace and back, per
 *          iteration.
 *   touch  a guest writing once to each of -p fresh 4 KiB pages of a slot
 *          (host memory never touched, transparent huge pages off): the
 *          EPT violation, the host page fault and the mapping, per page;
 *          the same less a host page fault alone (a write from userspace
 *          to a fresh anonymous page, timed first): the hypervisor's
 *          share; then the same guest pages again.
 *   memory -k VMs, each with a slot of -s MiB (host memory untouched), then
 *          one vCPU in each (with its kvm_run mapping): the drop of free
 *          memory (MemFree plus the per-CPU free lists of /proc/zoneinfo)
 *          and the /proc/meminfo counters, per VM and per vCPU.
 *
 * Guests run in -m mode (long, the default; paged or protected) with
 * RFLAGS.IF=1 (with IF=0 Bochs lets no host interrupt exit the guest) and
 * an empty CPUID table (both answer 0 for every leaf then); -c gives each
 * device its supported table instead.  Time is
 * CLOCK_MONOTONIC around KVM_RUN; the timed figures are the median of -r
 * rounds after one warm-up round.
 *
 * Every option also comes from the environment (HVX_BENCH_ITERS and so
 * on, see bench_usage()), so that kernel command-line words reach the
 * bench in the CI VM.  The result file has one "key value detail" line per
 * figure, or "key error MESSAGE"; -C reads two of them and prints the
 * table, the ratios hvx/kvm, the targets of DESIGN.md §6 and, last, one
 * line per headline figure: "BENCH key hvx=V kvm=V ratio=R".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "util.h"

#define TOUCH_SLOT		1
#define TOUCH_GPA		0x1000000UL	/* 16 MiB */
#define MAX_VMS			256
#define MAX_TOUCH_PAGES		262144L		/* 1 GiB at TOUCH_GPA */
#define MAX_ROUNDS		100
#define TEXT_MAX		512

/* ---------------------------------------------------------- guest code */

/*
 * CPUID leaf 0 %ebp times, then report the round number (1, 2, ...);
 * again, forever.
 */
GUEST_CODE(code_cpuid,
	   "xorl %edi, %edi\n"
	   "1:\n"
	   "movl %ebp, %esi\n"
	   "2:\n"
	   "xorl %eax, %eax\n"
	   "xorl %ecx, %ecx\n"
	   "cpuid\n"
	   "decl %esi\n"
	   "jnz 2b\n"
	   "incl %edi\n"
	   "movl %edi, %eax\n"
	   GUEST_REPORT
	   "jmp 1b\n");

/* Report 1, 2, 3, ... */
GUEST_CODE(code_io,
	   "xorl %eax, %eax\n"
	   "1:\n"
	   "incl %eax\n"
	   GUEST_REPORT
	   "jmp 1b\n");

/*
 * Report 0; write the pass number (1, 2, ...) to the first dword of each
 * of the %ebp pages from %esi and report it; again, forever.
 */
GUEST_CODE(code_touch,
	   "xorl %edi, %edi\n"
	   "1:\n"
	   "movl %edi, %eax\n"
	   GUEST_REPORT
	   "incl %edi\n"
	   "movl %esi, %ebx\n"
	   "movl %ebp, %ecx\n"
	   "2:\n"
	   "movl %edi, (%ebx)\n"
	   "addl $4096, %ebx\n"
	   "decl %ecx\n"
	   "jnz 2b\n"
	   "jmp 1b\n");

/* ------------------------------------------------------------- options */

static struct {
	const char *device;
	enum guest_mode mode;
	bool cpuid_table;
	long cpuid_iters;
	long io_iters;
	long rounds;
	long pages;
	long vms;
	long slot_mib;
	long timeout;
} opt;

/* --------------------------------------------------------------- figures */

/* The figures, in the order of the result file and the table. */
enum {
	F_CPUID, F_IO, F_TOUCH, F_TOUCH_NET, F_HOST_TOUCH, F_RETOUCH,
	F_VM, F_VM_KMEM, F_VM_SLAB, F_VM_PGTABLE, F_VM_VMALLOC, F_VM_STACK,
	F_VM_PERCPU,
	F_VCPU, F_VCPU_KMEM, F_VCPU_SLAB, F_VCPU_PGTABLE, F_VCPU_VMALLOC,
	F_VCPU_STACK, F_VCPU_PERCPU,
	NR_FIGURES
};

struct figure {
	const char *key;
	const char *label;
	double target;		/* DESIGN.md §6 ratio hvx/kvm, 0 if none */
	bool main;		/* a headline figure (BENCH line) */
};

/*
 * The memory sums leave KernelStack out: with CONFIG_VMAP_STACK (Debian's
 * kernels) the stacks are vmalloc memory, already in VmallocUsed.
 */
static const struct figure figures[NR_FIGURES] = {
	{ "cpuid_exit_us", "CPUID exit handled in the kernel, us",
	  0.35, true },
	{ "io_exit_us", "OUT exit to userspace and back, us", 0.5, true },
	{ "first_touch_us", "first write to a 4 KiB guest page, us",
	  0.5, true },
	{ "first_touch_net_us", "  minus a host page fault, us", 0, true },
	{ "host_touch_us", "  host page fault alone (no guest), us", 0,
	  false },
	{ "retouch_us", "  the same guest pages again, us", 0, false },
	{ "vm_kib", "memory per VM: free memory drop, KiB", 0, true },
	{ "vm_kmem_kib", "  Slab+PageTables+VmallocUsed+Percpu", 0, true },
	{ "vm_slab_kib", "    Slab", 0, false },
	{ "vm_pgtable_kib", "    PageTables", 0, false },
	{ "vm_vmalloc_kib", "    VmallocUsed", 0, false },
	{ "vm_kstack_kib", "      of which KernelStack", 0, false },
	{ "vm_percpu_kib", "    Percpu", 0, false },
	{ "vcpu_kib", "memory per vCPU: free memory drop, KiB", 0, true },
	{ "vcpu_kmem_kib", "  Slab+PageTables+VmallocUsed+Percpu", 0, true },
	{ "vcpu_slab_kib", "    Slab", 0, false },
	{ "vcpu_pgtable_kib", "    PageTables", 0, false },
	{ "vcpu_vmalloc_kib", "    VmallocUsed", 0, false },
	{ "vcpu_kstack_kib", "      of which KernelStack", 0, false },
	{ "vcpu_percpu_kib", "    Percpu", 0, false },
};

struct result {
	bool set;
	bool ok;
	double value;
	char text[TEXT_MAX];	/* detail, or the error */
};

struct results {
	char device[128];
	char kernel[128];
	char params[TEXT_MAX];
	struct result r[NR_FIGURES];
};

static int figure_index(const char *key)
{
	int i;

	for (i = 0; i < NR_FIGURES; i++)
		if (!strcmp(figures[i].key, key))
			return i;
	return -1;
}

/* In a child: one figure, as a "RESULT key value detail" line. */
__printf(3, 4)
static void put_result(int fig, double value, const char *fmt, ...)
{
	char detail[TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("RESULT %s %.4f %s\n", figures[fig].key, value, detail);
	fflush(stdout);
}

/* ------------------------------------------------------------- helpers */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n samples (sorted in place), with min and max as detail. */
static void put_rounds(int fig, double *t, long n, long iters)
{
	qsort(t, n, sizeof(*t), cmp_double);
	put_result(fig, t[n / 2],
		   "median of %ld rounds of %ld, min %.4f max %.4f",
		   n, iters, t[0], t[n - 1]);
}

/* A VM running code in opt.mode with IF=1; the caller sets inputs. */
static struct kvm_vm *bench_guest(const struct guest_code *code,
				  struct kvm_vcpu **vcpup)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;

	vm_setup_memory(vm);
	vm_load_code(vm, opt.mode, code);
	vcpu = opt.cpuid_table ? vcpu_create(vm, 0) : vcpu_create_bare(vm, 0);
	vcpu_setup_mode(vcpu, opt.mode, GUEST_CODE_GPA);
	vcpu_regs_get(vcpu, &regs);
	regs.rflags |= X86_RFLAGS_IF;
	vcpu_regs_set(vcpu, &regs);
	*vcpup = vcpu;
	return vm;
}

/* KVM_RUN to the guest's next report, which must be want. */
static void run_expect(struct kvm_vcpu *vcpu, u32 want, const char *what)
{
	u32 value = 0;
	int r;

	r = __vcpu_run(vcpu);
	KVM_ASSERT(r == 0, "%s: KVM_RUN: %s (errno %d)", what,
		   strerror(errno), errno);
	KVM_ASSERT(get_ucall(vcpu, &value) == UCALL_VALUE && value == want,
		   "%s: expected the guest to report %u, got %s (value %u)",
		   what, want, vcpu_exit_str(vcpu), value);
}

/* ---------------------------------------------------------- measurements */

static void bench_cpuid(void)
{
	static double t[MAX_ROUNDS];
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	double t0;
	long i;

	vm = bench_guest(&code_cpuid, &vcpu);
	vcpu_regs_get(vcpu, &regs);
	regs.rbp = opt.cpuid_iters;
	vcpu_regs_set(vcpu, &regs);
	run_expect(vcpu, 1, "CPUID loop, warm-up round");
	for (i = 0; i < opt.rounds; i++) {
		t0 = now_us();
		run_expect(vcpu, i + 2, "CPUID loop");
		t[i] = (now_us() - t0) / opt.cpuid_iters;
	}
	put_rounds(F_CPUID, t, opt.rounds, opt.cpuid_iters);
	vm_free(vm);
}

static void bench_io(void)
{
	static double t[MAX_ROUNDS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u32 want = 1;
	double t0;
	long i, j;

	vm = bench_guest(&code_io, &vcpu);
	for (j = 0; j < opt.io_iters; j++)
		run_expect(vcpu, want++, "OUT loop, warm-up round");
	for (i = 0; i < opt.rounds; i++) {
		t0 = now_us();
		for (j = 0; j < opt.io_iters; j++)
			run_expect(vcpu, want++, "OUT loop");
		t[i] = (now_us() - t0) / opt.io_iters;
	}
	put_rounds(F_IO, t, opt.rounds, opt.io_iters);
	vm_free(vm);
}

/*
 * The host's part of a first touch, without a guest: a write to a fresh
 * anonymous page from userspace: allocating and clearing the page, which
 * a first touch costs on any hypervisor.
 */
static double host_touch(size_t size)
{
	double t0, t;
	u8 *mem;
	long i;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVM_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	KVM_ASSERT(!madvise(mem, size, MADV_NOHUGEPAGE),
		   "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	t0 = now_us();
	for (i = 0; i < opt.pages; i++)
		WRITE_ONCE(mem[i * GUEST_PAGE_SIZE], 1);
	t = (now_us() - t0) / opt.pages;
	munmap(mem, size);
	return t;
}

static void bench_touch(void)
{
	size_t size = opt.pages * GUEST_PAGE_SIZE;
	double t0, t1, t2, host;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	u8 *mem;
	long i;

	host = host_touch(size);
	vm = bench_guest(&code_touch, &vcpu);
	mem = vm_add_slot(vm, TOUCH_SLOT, TOUCH_GPA, size);
	/* One 4 KiB page per fault, on both sides: no THP behind the slot. */
	KVM_ASSERT(!madvise(mem, size, MADV_NOHUGEPAGE),
		   "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	vcpu_regs_get(vcpu, &regs);
	regs.rsi = TOUCH_GPA;
	regs.rbp = opt.pages;
	vcpu_regs_set(vcpu, &regs);

	/* The guest's code and page-table pages are mapped here. */
	run_expect(vcpu, 0, "page touch, start");
	t0 = now_us();
	run_expect(vcpu, 1, "page touch, first pass");
	t1 = now_us();
	run_expect(vcpu, 2, "page touch, second pass");
	t2 = now_us();
	for (i = 0; i < opt.pages; i++) {
		u32 v;

		memcpy(&v, mem + i * GUEST_PAGE_SIZE, sizeof(v));
		KVM_ASSERT(v == 2,
			   "guest page %#lx holds %u, the guest wrote 2 (the host sees another page than the guest)",
			   TOUCH_GPA + i * GUEST_PAGE_SIZE, v);
	}
	put_result(F_TOUCH, (t1 - t0) / opt.pages, "%ld pages", opt.pages);
	put_result(F_TOUCH_NET, (t1 - t0) / opt.pages - host, "%ld pages",
		   opt.pages);
	put_result(F_HOST_TOUCH, host, "%ld pages", opt.pages);
	put_result(F_RETOUCH, (t2 - t1) / opt.pages, "%ld pages",
		   opt.pages);
	vm_free(vm);
}

/* The memory counters, in KiB. */
enum {
	MEM_FREE, MEM_SLAB, MEM_PGTABLE, MEM_VMALLOC, MEM_STACK, MEM_PERCPU,
	NR_MEM
};

static const char * const meminfo_names[NR_MEM] = {
	[MEM_FREE] = "MemFree",
	[MEM_SLAB] = "Slab",
	[MEM_PGTABLE] = "PageTables",
	[MEM_VMALLOC] = "VmallocUsed",
	[MEM_STACK] = "KernelStack",
	[MEM_PERCPU] = "Percpu",
};

/* The pages on the per-CPU free lists (not in MemFree), in KiB. */
static long pcp_free_kb(void)
{
	char line[256];
	long total = 0, v;
	FILE *f;

	f = fopen("/proc/zoneinfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &v) == 1)
			total += v;
	fclose(f);
	return total * (GUEST_PAGE_SIZE / 1024);
}

/* Let RCU callbacks run and fold the per-CPU counters, then read. */
static void mem_read(long *kb)
{
	int i;

	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	usleep(100000);
	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	usleep(200000);
	write_text("/proc/sys/vm/stat_refresh", "1");
	for (i = 0; i < NR_MEM; i++) {
		kb[i] = meminfo_kb(meminfo_names[i]);
		KVM_ASSERT(kb[i] >= 0 || i == MEM_PERCPU,
			   "no %s in /proc/meminfo", meminfo_names[i]);
	}
	kb[MEM_FREE] += pcp_free_kb();
}

/* Per object: free memory drop, then each counter's growth. */
static void put_mem(int fig, const long *before, const long *after,
		    long n)
{
	double d[NR_MEM];
	int i;

	for (i = 0; i < NR_MEM; i++)
		d[i] = (double)(after[i] - before[i]) / n;
	put_result(fig, -d[MEM_FREE], "%ld objects", n);
	put_result(fig + 1, d[MEM_SLAB] + d[MEM_PGTABLE] + d[MEM_VMALLOC] +
		   d[MEM_PERCPU], "%ld objects", n);
	put_result(fig + 2, d[MEM_SLAB], "%ld objects", n);
	put_result(fig + 3, d[MEM_PGTABLE], "%ld objects", n);
	put_result(fig + 4, d[MEM_VMALLOC], "%ld objects", n);
	put_result(fig + 5, d[MEM_STACK], "%ld objects", n);
	put_result(fig + 6, d[MEM_PERCPU], "%ld objects", n);
}

/* A VM with one slot at gpa 0 backed by hva; its fd. */
static int mem_vm(int sys, void *hva, int i)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.memory_size = (u64)opt.slot_mib << 20,
		.userspace_addr = (uintptr_t)hva,
	};
	int fd;

	fd = ioctl(sys, KVM_CREATE_VM, 0);
	KVM_ASSERT(fd >= 0, "KVM_CREATE_VM #%d: %s", i, strerror(errno));
	KVM_ASSERT(!ioctl(fd, KVM_SET_USER_MEMORY_REGION, &region),
		   "KVM_SET_USER_MEMORY_REGION in VM #%d: %s", i,
		   strerror(errno));
	return fd;
}

/* vCPU 0 of VM fd and its kvm_run mapping; the vCPU's fd. */
static int mem_vcpu(int vm, int run_size, void **run, int i)
{
	int fd;

	fd = ioctl(vm, KVM_CREATE_VCPU, 0);
	KVM_ASSERT(fd >= 0, "KVM_CREATE_VCPU in VM #%d: %s", i,
		   strerror(errno));
	*run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KVM_ASSERT(*run != MAP_FAILED, "mmap of the vCPU of VM #%d: %s", i,
		   strerror(errno));
	return fd;
}

/*
 * Raw ioctls and nothing allocated by the bench between the readings, so
 * that only the kernel's allocations count (a VMM's own mappings would).
 */
static void bench_memory(void)
{
	static int vm_fd[MAX_VMS], vcpu_fd[MAX_VMS];
	static void *run[MAX_VMS];
	long before[NR_MEM], vms[NR_MEM], vcpus[NR_MEM];
	size_t slot = (size_t)opt.slot_mib << 20;
	int sys, run_size, fd, i;
	char *mem;

	sys = kvm_open();
	run_size = kvm_ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	mem = mmap(NULL, slot * (opt.vms + 1), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVM_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));

	/* Warm-up: what the first VM and vCPU set up once. */
	vm_fd[0] = mem_vm(sys, mem + slot * opt.vms, -1);
	fd = mem_vcpu(vm_fd[0], run_size, &run[0], -1);
	munmap(run[0], run_size);
	close(fd);
	close(vm_fd[0]);

	mem_read(before);
	for (i = 0; i < opt.vms; i++)
		vm_fd[i] = mem_vm(sys, mem + slot * i, i);
	mem_read(vms);
	for (i = 0; i < opt.vms; i++)
		vcpu_fd[i] = mem_vcpu(vm_fd[i], run_size, &run[i], i);
	mem_read(vcpus);

	put_mem(F_VM, before, vms, opt.vms);
	put_mem(F_VCPU, vms, vcpus, opt.vms);
	for (i = 0; i < opt.vms; i++) {
		munmap(run[i], run_size);
		close(vcpu_fd[i]);
		close(vm_fd[i]);
	}
	close(sys);
}

static const struct measurement {
	const char *name;
	void (*run)(void);
	int first, last;	/* its figures */
} measurements[] = {
	{ "cpuid", bench_cpuid, F_CPUID, F_CPUID },
	{ "io", bench_io, F_IO, F_IO },
	{ "touch", bench_touch, F_TOUCH, F_RETOUCH },
	{ "memory", bench_memory, F_VM, F_VCPU_PERCPU },
};

/* ------------------------------------------------- running one device */

/* Append a line to a bounded string, "; "-separated. */
static void text_add(char *text, const char *line)
{
	size_t n = strlen(text);

	if (!*line)
		return;
	snprintf(text + n, TEXT_MAX - n, "%s%s", n ? "; " : "", line);
}

/* What the kernel is doing in a stuck child. */
static void describe_stuck(pid_t pid, char *text)
{
	char path[64], buf[TEXT_MAX], line[TEXT_MAX + 32], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p = read_text(path, buf, sizeof(buf)) > 0 ? strrchr(buf, ')') : NULL;
	if (p && p[1] == ' ' && p[2]) {
		snprintf(line, sizeof(line), "task state %c%s", p[2],
			 p[2] == 'R' ? " (running: in the guest?)" :
			 p[2] == 'D' ? " (uninterruptible sleep)" : "");
		text_add(text, line);
	}
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	if (read_text(path, buf, sizeof(buf)) > 0 && strcmp(buf, "0")) {
		snprintf(line, sizeof(line), "wchan %s", buf);
		text_add(text, line);
	}
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	if (read_text(path, buf, sizeof(buf)) > 0) {
		for (p = buf; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(line, sizeof(line), "kernel stack: %s", buf);
		text_add(text, line);
	}
}

/* Wait for pid until deadline (us); true if it was reaped. */
static bool reap(pid_t pid, int *status, double deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0 || now_us() > deadline)
			return false;
		usleep(10000);
	}
}

/*
 * Run one measurement in a child, its stdout and stderr in a pipe: its
 * RESULT lines become figures; if it fails, its other lines (assertion
 * messages) become the error of each figure it did not give.
 */
static void run_measurement(const struct measurement *m, struct results *res)
{
	char out[16384], err[TEXT_MAX] = "", why[TEXT_MAX] = "";
	double deadline = now_us() + opt.timeout * 1e6;
	size_t len = 0;
	int p[2], status = 0, fig;
	bool timed_out = false;
	char *line, *save;
	pid_t pid;

	printf("bench: %s: %s ...\n", opt.device, m->name);
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(why, sizeof(why), "pipe: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		m->run();
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		double left = deadline - now_us();
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&pfd, 1, left / 1000 + 1) <= 0)
			continue;
		n = read(p[0], out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(out) - 1)
			break;
	}
	out[len] = '\0';
	close(p[0]);

	if (timed_out) {
		snprintf(why, sizeof(why), "no result after %ld s", opt.timeout);
		describe_stuck(pid, why);
		kill(pid, SIGKILL);
	}
	if (!reap(pid, &status, now_us() + 10e6)) {
		text_add(why, "the process does not exit (stuck in the kernel)");
		if (!timed_out)
			describe_stuck(pid, why);
	} else if (WIFSIGNALED(status) && !timed_out) {
		snprintf(why, sizeof(why), "killed by signal %d (%s)%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGKILL ||
			 WTERMSIG(status) == SIGSEGV ?
			 ": a kernel oops? see the kernel log" : "");
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		snprintf(why, sizeof(why), "exit status %d",
			 WEXITSTATUS(status));
	}

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[64];
		double v;
		int off = 0;

		if (sscanf(line, "RESULT %63s %lf %n", key, &v, &off) >= 2 &&
		    off) {
			fig = figure_index(key);
			if (fig < 0)
				continue;
			res->r[fig] = (struct result){ .set = true, .ok = true,
						       .value = v };
			snprintf(res->r[fig].text, TEXT_MAX, "%s", line + off);
			continue;
		}
		while (*line == '#' || *line == ' ')
			line++;
		text_add(err, line);
	}
fail:
	if (!*why && !*err)
		snprintf(why, sizeof(why), "the measurement gave no result");
	for (fig = m->first; fig <= m->last; fig++) {
		struct result *r = &res->r[fig];

		if (r->set)
			continue;
		*r = (struct result){ .set = true };
		snprintf(r->text, TEXT_MAX, "%s: %s%s%s", m->name, why,
			 *why && *err ? ": " : "", err);
	}
	for (fig = m->first; fig <= m->last; fig++)
		if (res->r[fig].ok)
			printf("bench: %s: %s %.4f (%s)\n", opt.device,
			       figures[fig].key, res->r[fig].value,
			       res->r[fig].text);
	if (!res->r[m->first].ok)
		printf("bench: %s: %s failed: %s\n", opt.device, m->name,
		       res->r[m->first].text);
	fflush(stdout);
}

static void write_results(const struct results *res, FILE *f)
{
	int i;

	fprintf(f, "device %s\nkernel %s\nparams %s\n", res->device,
		res->kernel, res->params);
	for (i = 0; i < NR_FIGURES; i++) {
		const struct result *r = &res->r[i];

		if (r->ok)
			fprintf(f, "%s %.4f %s\n", figures[i].key, r->value,
				r->text);
		else
			fprintf(f, "%s error %s\n", figures[i].key, r->text);
	}
}

static bool read_results(const char *path, struct results *res)
{
	char line[TEXT_MAX * 2];
	FILE *f;

	memset(res, 0, sizeof(*res));
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char key[64], *rest;
		int fig, off = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%63s %n", key, &off) < 1 || !off)
			continue;
		rest = line + off;
		fig = figure_index(key);
		if (!strcmp(key, "device")) {
			snprintf(res->device, sizeof(res->device), "%s", rest);
		} else if (!strcmp(key, "kernel")) {
			snprintf(res->kernel, sizeof(res->kernel), "%s", rest);
		} else if (!strcmp(key, "params")) {
			snprintf(res->params, sizeof(res->params), "%s", rest);
		} else if (fig >= 0) {
			struct result *r = &res->r[fig];
			double v;
			int n = 0;

			r->set = true;
			if (!strncmp(rest, "error", 5)) {
				snprintf(r->text, TEXT_MAX, "%s",
					 rest + 5 + !!rest[5]);
			} else if (sscanf(rest, "%lf %n", &v, &n) >= 1) {
				r->ok = true;
				r->value = v;
				snprintf(r->text, TEXT_MAX, "%s", rest + n);
			}
		}
	}
	fclose(f);
	return true;
}

/* ---------------------------------------------------------------- tables */

static const char *fmt_value(char *buf, size_t size, const struct result *r,
			     int fig)
{
	if (!r->set)
		snprintf(buf, size, "-");
	else if (!r->ok)
		snprintf(buf, size, "error");
	else
		snprintf(buf, size, fig < F_VM ? "%.3f" : "%.1f", r->value);
	return buf;
}

static void print_one(const struct results *res)
{
	char v[32];
	int i;

	printf("\n%s (kernel %s)\n%s\n\n", res->device, res->kernel,
	       res->params);
	for (i = 0; i < NR_FIGURES; i++)
		printf("%-44s %12s\n", figures[i].label,
		       fmt_value(v, sizeof(v), &res->r[i], i));
	for (i = 0; i < NR_FIGURES; i++)
		if (res->r[i].set && !res->r[i].ok &&
		    (!i || strcmp(res->r[i].text, res->r[i - 1].text)))
			printf("error: %s\n", res->r[i].text);
}

static bool ratio_of(const struct results *a, const struct results *b,
		     int fig, double *ratio)
{
	if (!a->r[fig].ok || !b->r[fig].ok || b->r[fig].value == 0)
		return false;
	*ratio = a->r[fig].value / b->r[fig].value;
	return true;
}

static int compare(const char *hvx_path, const char *kvm_path)
{
	struct results *res = calloc(2, sizeof(*res));
	const char *who[2] = { "hvx", "kvm" };
	char v[2][32], rs[32], target[48];
	int i, j, errors = 0;
	double ratio = 0;

	KVM_ASSERT(res, "out of memory");
	if (!read_results(hvx_path, &res[0]))
		printf("bench: no hvx results (%s): %s\n", hvx_path,
		       strerror(errno));
	if (!read_results(kvm_path, &res[1]))
		printf("bench: no kvm results (%s): %s\n", kvm_path,
		       strerror(errno));

	printf("hvx vs KVM: one KVM-API client, one boot, kernel %s\n",
	       *res[0].kernel ? res[0].kernel : res[1].kernel);
	printf("%s\n", *res[0].params ? res[0].params : res[1].params);
	if (*res[1].params && strcmp(res[0].params, res[1].params))
		printf("kvm run: %s\n", res[1].params);
	printf("\n%-44s %12s %12s %9s  %s\n", "", "/dev/hvx", "/dev/kvm",
	       "hvx/kvm", "target (DESIGN.md 6)");
	for (i = 0; i < NR_FIGURES; i++) {
		*target = '\0';
		if (ratio_of(&res[0], &res[1], i, &ratio))
			snprintf(rs, sizeof(rs), "%.3fx", ratio);
		else
			snprintf(rs, sizeof(rs), "-");
		if (figures[i].target)
			snprintf(target, sizeof(target), "<= %.2fx%s",
				 figures[i].target, *rs == '-' ? "" :
				 ratio <= figures[i].target ? "  met" :
				 "  not met");
		printf("%-44s %12s %12s %9s  %s\n", figures[i].label,
		       fmt_value(v[0], sizeof(v[0]), &res[0].r[i], i),
		       fmt_value(v[1], sizeof(v[1]), &res[1].r[i], i),
		       rs, target);
	}

	for (j = 0; j < 2; j++)
		for (i = 0; i < NR_FIGURES; i++) {
			const struct result *r = &res[j].r[i];

			/* A failed measurement fails all its figures. */
			if (r->ok || (i && r->set && res[j].r[i - 1].set &&
				      !strcmp(r->text, res[j].r[i - 1].text)))
				continue;
			if (!errors++)
				printf("\nerrors:\n");
			printf("  %s: %s\n", who[j],
			       r->set ? r->text : "no result");
		}

	printf("\n");
	for (i = 0; i < NR_FIGURES; i++) {
		if (!figures[i].main)
			continue;
		printf("BENCH %s hvx=%s kvm=%s", figures[i].key,
		       res[0].r[i].ok ? fmt_value(v[0], sizeof(v[0]),
						  &res[0].r[i], i) : "error",
		       res[1].r[i].ok ? fmt_value(v[1], sizeof(v[1]),
						  &res[1].r[i], i) : "error");
		if (ratio_of(&res[0], &res[1], i, &ratio))
			printf(" ratio=%.3f", ratio);
		else
			printf(" ratio=-");
		if (figures[i].target && ratio_of(&res[0], &res[1], i, &ratio))
			printf(" target=%.2f met=%s", figures[i].target,
			       ratio <= figures[i].target ? "yes" : "no");
		else if (figures[i].target)
			printf(" target=%.2f met=-", figures[i].target);
		printf("\n");
	}
	free(res);
	return 0;
}

/* ------------------------------------------------------------------ main */

static __noreturn void bench_usage(void)
{
	fprintf(stderr,
		"usage: bench [-d DEVICE] [-o FILE] [-m MODE] [-c] [-n N] [-i N]\n"
		"             [-r N] [-p N] [-k N] [-s MIB] [-t SEC]\n"
		"       bench -C HVX_RESULTS KVM_RESULTS\n"
		"  -d DEVICE  /dev/hvx or /dev/kvm ($HVX_TEST_DEVICE, default /dev/hvx)\n"
		"  -o FILE    write the results there too (for -C)\n"
		"  -m MODE    guest mode: long, paged or protected ($HVX_BENCH_MODE, long);\n"
		"             paged uses 4 MiB pages, which KVM allows only with -c\n"
		"  -c         KVM_SET_CPUID2 with the device's supported CPUID, if it has\n"
		"             one ($HVX_BENCH_CPUID_TABLE=1; default: empty table)\n"
		"  -n N       CPUID iterations per round ($HVX_BENCH_ITERS, 5000)\n"
		"  -i N       OUT iterations per round ($HVX_BENCH_IO_ITERS, 1000)\n"
		"  -r N       timed rounds, after one warm-up ($HVX_BENCH_ROUNDS, 5)\n"
		"  -p N       pages touched ($HVX_BENCH_PAGES, 4096)\n"
		"  -k N       VMs and vCPUs for the memory figures ($HVX_BENCH_VMS, 32)\n"
		"  -s MIB     slot size of those VMs ($HVX_BENCH_SLOT_MIB, 1)\n"
		"  -t SEC     time limit of each measurement ($HVX_BENCH_TIMEOUT, 20)\n"
		"  -C         compare two result files: table, ratios, BENCH lines\n");
	exit(2);
}

static long arg_long(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "bench: '%s' is not a number in [%ld, %ld]\n",
			s, min, max);
		bench_usage();
	}
	return v;
}

static enum guest_mode arg_mode(const char *s)
{
	enum guest_mode m;

	for (m = GUEST_MODE_PROTECTED; m < GUEST_MODE_COUNT; m++)
		if (!strcmp(s, guest_mode_name(m)))
			return m;
	fprintf(stderr, "bench: mode '%s' is not long, paged or protected\n",
		s);
	bench_usage();
}

int main(int argc, char **argv)
{
	const char *out_path = NULL, *env;
	struct results *res;
	struct utsname uts;
	bool do_compare = false;
	unsigned int i;
	FILE *f;
	int c;

	opt.device = test_device();
	env = getenv("HVX_BENCH_MODE");
	opt.mode = env ? arg_mode(env) : GUEST_MODE_LONG;
	opt.cpuid_table = env_long("HVX_BENCH_CPUID_TABLE", 0);
	opt.cpuid_iters = env_long("HVX_BENCH_ITERS", 5000);
	opt.io_iters = env_long("HVX_BENCH_IO_ITERS", 1000);
	opt.rounds = env_long("HVX_BENCH_ROUNDS", 5);
	opt.pages = env_long("HVX_BENCH_PAGES", 4096);
	opt.vms = env_long("HVX_BENCH_VMS", 32);
	opt.slot_mib = env_long("HVX_BENCH_SLOT_MIB", 1);
	opt.timeout = env_long("HVX_BENCH_TIMEOUT", 20);

	while ((c = getopt(argc, argv, "d:o:m:cn:i:r:p:k:s:t:Ch")) != -1) {
		switch (c) {
		case 'd':
			opt.device = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'm':
			opt.mode = arg_mode(optarg);
			break;
		case 'c':
			opt.cpuid_table = true;
			break;
		case 'n':
			opt.cpuid_iters = arg_long(optarg, 1, 1L << 30);
			break;
		case 'i':
			opt.io_iters = arg_long(optarg, 1, 1L << 30);
			break;
		case 'r':
			opt.rounds = arg_long(optarg, 1, MAX_ROUNDS);
			break;
		case 'p':
			opt.pages = arg_long(optarg, 1, MAX_TOUCH_PAGES);
			break;
		case 'k':
			opt.vms = arg_long(optarg, 1, MAX_VMS);
			break;
		case 's':
			opt.slot_mib = arg_long(optarg, 1, 1024);
			break;
		case 't':
			opt.timeout = arg_long(optarg, 1, 86400);
			break;
		case 'C':
			do_compare = true;
			break;
		default:
			bench_usage();
		}
	}
	if (do_compare) {
		if (argc - optind != 2)
			bench_usage();
		return compare(argv[optind], argv[optind + 1]);
	}
	if (optind != argc || opt.cpuid_iters < 1 || opt.io_iters < 1 ||
	    opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.pages < 1 ||
	    opt.pages > MAX_TOUCH_PAGES || opt.vms < 1 || opt.vms > MAX_VMS ||
	    opt.slot_mib < 1 || opt.slot_mib > 1024 || opt.timeout < 1)
		bench_usage();
	/* kvm_util opens test_device(). */
	setenv("HVX_TEST_DEVICE", opt.device, 1);

	res = calloc(1, sizeof(*res));
	KVM_ASSERT(res, "out of memory");
	snprintf(res->device, sizeof(res->device), "%s", opt.device);
	snprintf(res->kernel, sizeof(res->kernel), "%s",
		 uname(&uts) ? "?" : uts.release);
	snprintf(res->params, sizeof(res->params),
		 "guest: %s mode, IF=1, %s CPUID table; %ld rounds of %ld CPUID / %ld OUT; %ld pages; %ld VMs with a %ld MiB slot",
		 guest_mode_name(opt.mode),
		 opt.cpuid_table ? "supported" : "empty", opt.rounds,
		 opt.cpuid_iters, opt.io_iters, opt.pages, opt.vms,
		 opt.slot_mib);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < ARRAY_SIZE(measurements); i++)
		run_measurement(&measurements[i], res);

	print_one(res);
	if (out_path) {
		f = fopen(out_path, "we");
		if (!f) {
			fprintf(stderr, "bench: %s: %s\n", out_path,
				strerror(errno));
			return 1;
		}
		write_results(res, f);
		fclose(f);
	}
	free(res);
	return 0;
}
