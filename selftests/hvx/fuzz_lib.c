// SPDX-License-Identifier: GPL-2.0
/*
 * The hostile-input suite's toolbox: see fuzz.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stderr);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ------------------------------------------------------------ random */

/* splitmix64: small, fast, and every seed is a good one. */
u64 rng_u64(struct rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, u64 seed)
{
	r->s = seed;
	rng_u64(r);
}

u64 rng_below(struct rng *r, u64 n)
{
	return n ? rng_u64(r) % n : 0;
}

bool rng_one_in(struct rng *r, u64 n)
{
	return rng_below(r, n) == 0;
}

void rng_fill(struct rng *r, void *buf, size_t len)
{
	u8 *p = buf;
	u64 v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = rng_u64(r);
		p[i] = v;
		v >>= 8;
	}
}

u64 rng_nasty(struct rng *r)
{
	u64 bit = 1ULL << rng_below(r, 64);

	switch (rng_below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return ~0ULL;
	case 2:
		return bit;
	case 3:
		return bit - 1;
	case 4:
		return bit + 1;
	case 5:
		return ~bit;
	case 6:
		return rng_below(r, 4096);
	default:
		return rng_u64(r);
	}
}

u64 fuzz_base_seed(void)
{
	const char *s = getenv("HVX_FUZZ_SEED");

	return s && *s ? strtoull(s, NULL, 0) : 12;
}

u64 fuzz_seed(const char *part)
{
	u64 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *part; part++)
		h = (h ^ (u8)*part) * 0x100000001b3ULL;
	return h ^ fuzz_base_seed();
}

/* ------------------------------------------------------------ budget */

void budget_init(struct budget *b, long base, double cap_seconds)
{
	b->iters = base * env_long("HVX_FUZZ_ITERS", 1);
	b->done = 0;
	b->t0 = now_seconds();
	b->seconds = env_seconds("HVX_FUZZ_SECONDS", 0);
	b->cap = b->seconds > 0 ? 0 : cap_seconds;
	b->capped = false;
}

bool budget_next(struct budget *b)
{
	double t = now_seconds() - b->t0;

	if (b->seconds > 0) {
		if (t >= b->seconds && b->done >= b->iters)
			return false;
	} else {
		if (b->done >= b->iters)
			return false;
		if (b->cap > 0 && t >= b->cap) {
			b->capped = true;
			return false;
		}
	}
	b->done++;
	return true;
}

int fuzz_timeout(int dflt)
{
	double s = env_seconds("HVX_FUZZ_SECONDS", 0);
	long iters = env_long("HVX_FUZZ_ITERS", 1);

	/* Every part may run each of its phases for s seconds. */
	return dflt * (int)iters + (int)(s * 8);
}

/* -------------------------------------------------------- known bugs */

static const char * const known_bug_names[KNOWN_BUGS] = {
	[KNOWN_BUG_FPU_IMAGE] =
		"FPU/XSAVE image XRSTOR refuses (MXCSR reserved bits, XSAVE header)",
	[KNOWN_BUG_SLOT_SIZE] =
		"memory slot above 256 MiB (page array sized by memory_size)",
	[KNOWN_BUG_CR8_TPR] =
		"guest MOV to CR8 (found by this suite: writes the host's TPR)",
};

bool fuzz_known_bug(enum known_bug bug)
{
	const char *s = getenv("HVX_FUZZ_KNOWN_BUGS");

	(void)bug;
	return s && !strcmp(s, "skip");
}

void fuzz_print_known_bugs(void)
{
	int i;

	for (i = 0; i < KNOWN_BUGS; i++)
		diag("known bug: %s: %s", known_bug_names[i],
		     fuzz_known_bug(i) ? "not generated (HVX_FUZZ_KNOWN_BUGS=skip)" :
		     "generated (fixed; HVX_FUZZ_KNOWN_BUGS=skip avoids it)");
}

/* MXCSR bits every x86-64 CPU with DAZ has (MXCSR_MASK 0xffff). */
#define MXCSR_VALID	0xffffU

void fuzz_sanitize_fpu(struct kvm_fpu *fpu)
{
	if (fuzz_known_bug(KNOWN_BUG_FPU_IMAGE))
		fpu->mxcsr &= MXCSR_VALID;
}

void fuzz_sanitize_xsave(struct kvm_xsave *xs, u64 xcr0_mask)
{
	u32 *w = (u32 *)xs->region;
	u64 *hdr = (u64 *)((u8 *)xs->region + 512);

	if (!fuzz_known_bug(KNOWN_BUG_FPU_IMAGE))
		return;
	w[6] &= MXCSR_VALID;		/* MXCSR at byte 24 */
	w[7] = MXCSR_VALID;		/* MXCSR_MASK at byte 28 */
	hdr[0] &= xcr0_mask;		/* XSTATE_BV */
	memset(&hdr[1], 0, 56);		/* XCOMP_BV and reserved bytes */
}

u64 fuzz_slot_size(struct rng *r)
{
	u64 size;

	switch (rng_below(r, 6)) {
	case 0:
		size = 0;
		break;
	case 1:
		size = (rng_below(r, 16) + 1) << 12;
		break;
	case 2:
		size = rng_below(r, 1 << 16) << 12;
		break;
	case 3:
		size = rng_nasty(r);
		break;
	case 4:
		/* Beyond what hvx and KVM accept: refused before allocating. */
		size = (8ULL << 40) << rng_below(r, 20);
		break;
	default:
		size = (1ULL << rng_below(r, 48)) & ~0xfffULL;
		break;
	}
	if (fuzz_known_bug(KNOWN_BUG_SLOT_SIZE) && size > KNOWN_SLOT_MAX &&
	    size < (8ULL << 40))
		size &= KNOWN_SLOT_MAX - 1;
	return size;
}

/* ------------------------------------------------------ hostile memory */

void fuzz_mem_init(struct fuzz_mem *m)
{
	struct rng r;
	u8 *p;

	rng_seed(&r, 1);
	m->good = mmap(NULL, FUZZ_GOOD_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVM_ASSERT(m->good != MAP_FAILED, "mmap");
	p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVM_ASSERT(p != MAP_FAILED, "mmap");
	m->ro = p;
	m->edge = p + 4096;
	m->none = p + 8192;
	rng_fill(&r, m->ro, 4096);
	KVM_ASSERT(!mprotect(m->ro, 4096, PROT_READ), "mprotect");
	KVM_ASSERT(!mprotect(m->none, 4096, PROT_NONE), "mprotect");
}

enum ptr_kind fuzz_ptr_kind(struct rng *r)
{
	/* Mostly good pointers, so that the contents get exercised. */
	if (rng_below(r, 8) < 5)
		return PTR_GOOD;
	return rng_below(r, PTR_KINDS);
}

const char *ptr_kind_name(enum ptr_kind kind)
{
	static const char * const names[PTR_KINDS] = {
		"good", "NULL", "unmapped", "kernel", "non-canonical",
		"read-only", "straddling",
	};

	return kind < PTR_KINDS ? names[kind] : "?";
}

void *fuzz_ptr(struct fuzz_mem *m, struct rng *r, enum ptr_kind kind,
	       size_t size)
{
	static const u64 kernel[] = {
		0xffff888000000000ULL, 0xffffffff81000000ULL,
		0xffffc90000000000ULL, 0xfffffffffffff000ULL,
		0xffffffffffffffffULL, 0xffff800000000000ULL,
	};

	switch (kind) {
	case PTR_GOOD:
		return m->good;
	case PTR_NULL:
		return rng_one_in(r, 2) ? NULL : (void *)(uintptr_t)rng_below(r, 4096);
	case PTR_UNMAPPED:
		return m->none + rng_below(r, 4096);
	case PTR_KERNEL:
		return (void *)(uintptr_t)kernel[rng_below(r, ARRAY_SIZE(kernel))];
	case PTR_NONCANON:
		return (void *)(uintptr_t)(0x8000000000000000ULL |
					   (rng_u64(r) & 0x7fffffffffffULL));
	case PTR_READONLY:
		return m->ro;
	case PTR_STRADDLE:
	default:
		if (size == 0 || size >= 4096)
			return m->edge + rng_below(r, 4096);
		/* The structure's last bytes in the PROT_NONE page. */
		return m->none - size + 1 + rng_below(r, size);
	}
}

/* --------------------------------------------------------- histograms */

#define HIST_MAX	160
#define ERRNO_MAX	134

static struct hist {
	char name[48];
	long ok, bad;
	long err[ERRNO_MAX];
} hists[HIST_MAX];
static int nhists;

bool errno_sane(int err)
{
	return err > 0 && err < ERRNO_MAX;
}

void hist_add(const char *name, long ret, int err)
{
	struct hist *h = NULL;
	int i;

	for (i = 0; i < nhists; i++)
		if (!strcmp(hists[i].name, name)) {
			h = &hists[i];
			break;
		}
	if (!h) {
		if (nhists == HIST_MAX)
			return;
		h = &hists[nhists++];
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	if (ret >= 0)
		h->ok++;
	else if (errno_sane(err))
		h->err[err]++;
	else
		h->bad++;
}

long hist_total(void)
{
	long n = 0;
	int i, e;

	for (i = 0; i < nhists; i++) {
		n += hists[i].ok + hists[i].bad;
		for (e = 0; e < ERRNO_MAX; e++)
			n += hists[i].err[e];
	}
	return n;
}

/* "ok=N EINVAL=N ..." for one histogram; with sets, no counts. */
static void hist_line(const struct hist *h, char *buf, size_t size,
		      bool counts)
{
	int n = 0, e;

	buf[0] = '\0';
	if (h->ok)
		n += snprintf(buf + n, size - n, counts ? " ok=%ld" : " ok",
			      h->ok);
	for (e = 0; e < ERRNO_MAX && n < (int)size; e++)
		if (h->err[e]) {
			const char *name = strerrorname_np(e);

			if (counts)
				n += snprintf(buf + n, size - n, " %s=%ld",
					      name ? name : "E?", h->err[e]);
			else
				n += snprintf(buf + n, size - n, " %s",
					      name ? name : "E?");
		}
	if (h->bad && n < (int)size)
		snprintf(buf + n, size - n, " bad-return=%ld", h->bad);
}

void hist_print(const char *part)
{
	char path[200], line[1024], name[64], set[1024];
	bool hvx = test_device_is_hvx();
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/tmp/hvx-fuzz-%s.hist", part);
	f = hvx ? fopen(path, "we") : NULL;
	for (i = 0; i < nhists; i++) {
		hist_line(&hists[i], line, sizeof(line), true);
		diag("%s: %s:%s", part, hists[i].name, line);
		if (f) {
			hist_line(&hists[i], line, sizeof(line), false);
			fprintf(f, "%s\t%s\n", hists[i].name, line);
		}
	}
	if (f)
		fclose(f);
	if (hvx)
		return;
	/* Against KVM: the ioctls whose set of results differs from hvx's. */
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sp;

		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, '\t');
		snprintf(name, sizeof(name), "%.*s",
			 sp ? (int)(sp - line) : (int)strlen(line), line);
		for (i = 0; i < nhists; i++)
			if (!strcmp(hists[i].name, name))
				break;
		sp = sp ? sp + 1 : "";
		if (i == nhists) {
			diag("%s: differs: %s: hvx {%s } kvm { not called }",
			     part, name, sp);
			continue;
		}
		hist_line(&hists[i], set, sizeof(set), false);
		if (strcmp(set, sp))
			diag("%s: differs: %s: hvx {%s } kvm {%s }", part,
			     name, sp, set);
	}
	fclose(f);
}

/* ----------------------------------------------------- bounded KVM_RUN */

static __thread timer_t run_timer;
static __thread bool run_timer_ok;

static void on_usr1(int sig)
{
	(void)sig;
}

void fuzz_thread_init(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};

	sigaction(SIGUSR1, &sa, NULL);
	sev._sigev_un._tid = syscall(SYS_gettid);
	KVM_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &run_timer),
		   "timer_create: %s", strerror(errno));
	run_timer_ok = true;
}

void fuzz_thread_fini(void)
{
	if (run_timer_ok)
		timer_delete(run_timer);
	run_timer_ok = false;
}

static void run_timer_arm(int ms)
{
	struct itimerspec its = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
		.it_interval = { 0, 2000000L },	/* then every 2 ms */
	};

	if (!run_timer_ok)
		fuzz_thread_init();
	timer_settime(run_timer, 0, &its, NULL);
}

static void run_timer_disarm(void)
{
	struct itimerspec its = { 0 };

	timer_settime(run_timer, 0, &its, NULL);
}

int fuzz_run_fd(int fd, int ms)
{
	int r, err;

	run_timer_arm(ms);
	r = ioctl(fd, KVM_RUN, 0);
	err = errno;
	run_timer_disarm();
	errno = err;
	return r;
}

int fuzz_run(struct kvm_vcpu *vcpu, int ms)
{
	return fuzz_run_fd(vcpu->fd, ms);
}

bool exit_reason_known(u32 reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
	case KVM_EXIT_HLT:
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_UNKNOWN:		/* KVM: VMX exit it does not handle */
	case KVM_EXIT_EXCEPTION:	/* KVM: real-mode exception, old hosts */
	case KVM_EXIT_DEBUG:
	case KVM_EXIT_SYSTEM_EVENT:
	case KVM_EXIT_SET_TPR:		/* KVM: CR8 lowered, no irqchip */
		return true;
	}
	return false;
}

/* ------------------------------------------------------- kernel log */

static int klog_fd = -1;

void klog_mark(void)
{
	if (klog_fd >= 0)
		close(klog_fd);
	klog_fd = kmsg_open();
}

bool klog_bad(char *line, size_t size)
{
	/* What scripts/vm-lib.sh fails a run on, and hvx's known reports. */
	static const char * const bad[] = {
		"WARNING:", "BUG:", "Oops", "general protection fault",
		"Kernel panic", "soft lockup", "hard LOCKUP", "hung_task",
		"hung task", "blocked for more than", "detected stall",
		"Call Trace", "UBSAN", "KASAN", "refcount_t:",
		"list_add corruption", "list_del corruption",
		"Poison overwritten", "Redzone", "Object padding",
		"Bad FPU state", "vmalloc error", "page allocation failure",
	};
	char rec[8192];
	bool found = false;
	unsigned int i;

	if (klog_fd < 0)
		return false;
	for (;;) {
		ssize_t n = read(klog_fd, rec, sizeof(rec) - 1);
		char *text;

		if (n < 0) {
			if (errno == EPIPE)
				continue;
			break;
		}
		rec[n] = '\0';
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		for (i = 0; !found && i < ARRAY_SIZE(bad); i++) {
			if (!strstr(text, bad[i]))
				continue;
			snprintf(line, size, "%s", text);
			line[strcspn(line, "\n")] = '\0';
			found = true;
		}
	}
	return found;
}

/* ----------------------------------------------------- fault catching */

static sigjmp_buf probe_env;

static void on_probe_fault(int sig)
{
	siglongjmp(probe_env, sig);
}

static bool probe(u8 *p, bool write)
{
	struct sigaction sa = { .sa_handler = on_probe_fault }, old_segv, old_bus;
	bool ok = false;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (!sigsetjmp(probe_env, 1)) {
		u8 v = __atomic_load_n(p, __ATOMIC_RELAXED);

		if (write)
			__atomic_store_n(p, v, __ATOMIC_RELAXED);
		ok = true;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return ok;
}

bool probe_read(const u8 *p)
{
	return probe((u8 *)p, false);
}

bool probe_write(u8 *p)
{
	return probe(p, true);
}
