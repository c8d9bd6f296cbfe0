// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_RUN and the host: immediate_exit, signals ending KVM_RUN with EINTR,
 * a guest spinning without exits leaving the host intact (its CPU keeps
 * taking timer interrupts, other tasks there keep running, NMIs reach the
 * host), and the time in the guest accounted as guest time.
 *
 * HVX_TEST_SPIN_SECONDS (default 10) sets how long the spinning guest of
 * interrupts_intact runs; time in the CI VM is emulated, so each second
 * costs several seconds of wall time.
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

/*
 * Spin with interrupts enabled, counting in (%esi), until the VMM sets
 * 4(%esi); never exits before.
 */
GUEST_CODE(code_spin,
	   "1:\n"
	   "incl (%esi)\n"
	   "cmpl $0, 4(%esi)\n"
	   "je 1b\n"
	   GUEST_DONE);

/* IN from port 0x80, report it. */
GUEST_CODE(code_in,
	   "inb $0x80, %al\n"
	   "movzbl %al, %eax\n"
	   GUEST_REPORT
	   GUEST_DONE);

struct spin_data {
	u32 count;
	u32 stop;
};

/* A long-mode guest running code_spin with RFLAGS.IF=1. */
static struct kvm_vm *spin_guest(struct kvm_vcpu **vcpu,
				 struct spin_data **data)
{
	struct kvm_vm *vm = vm_create_guest(GUEST_MODE_LONG, &code_spin, vcpu);
	struct kvm_regs regs;

	*data = gpa_to_hva(vm, GUEST_DATA);
	vcpu_regs_get(*vcpu, &regs);
	regs.rsi = GUEST_DATA;
	regs.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_IF;
	vcpu_regs_set(*vcpu, &regs);
	return vm;
}

static struct kvm_run *signalled_run;
static int signals;

static void on_signal(int sig)
{
	__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
	if (signalled_run)
		signalled_run->immediate_exit = 1;
}

static void catch_signal(int sig)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void arm_timer(double seconds)
{
	struct itimerval it = {
		.it_value = {
			.tv_sec = (time_t)seconds,
			.tv_usec = (long)((seconds - (time_t)seconds) * 1e6),
		},
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

FIXTURE(run) {
	bool loaded_here;
};

FIXTURE_SETUP(run)
{
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(run)
{
	test_device_release(self->loaded_here);
}

/*
 * immediate_exit: KVM_RUN returns EINTR without running the guest, but
 * first completes a pending IN (api.rst: "to complete pending operations
 * without allowing any further instructions to be executed").
 */
TEST_F(run, immediate_exit)
{
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	u8 in = 0x5a;

	vm = vm_create_guest(GUEST_MODE_LONG, &code_in, &vcpu);
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	TH_LOG("immediate_exit: exit_reason %s",
	       exit_reason_str(vcpu->run->exit_reason));
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(GUEST_CODE_GPA, regs.rip);

	vcpu->run->immediate_exit = 0;
	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_IO, (int)vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	ASSERT_EQ(KVM_EXIT_IO_IN, vcpu->run->io.direction);
	memcpy(vcpu_io_data(vcpu), &in, 1);

	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(GUEST_CODE_GPA + 2, regs.rip);	/* past "inb $0x80" */
	EXPECT_EQ(0x5aU, regs.rax & 0xff);

	vcpu->run->immediate_exit = 0;
	EXPECT_EQ(0x5aU, vcpu_run_value(vcpu));
	vcpu_run_done(vcpu);
	vm_free(vm);
}

/*
 * A signal ends KVM_RUN with EINTR and KVM_EXIT_INTR; a handler that sets
 * immediate_exit (the race-free pattern of api.rst) keeps the next
 * KVM_RUN from entering the guest.
 */
TEST_F(run, signal_ends_run)
{
	struct spin_data *data;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u32 count;
	double t0, t;
	int r;

	vm = spin_guest(&vcpu, &data);
	catch_signal(SIGALRM);
	signalled_run = vcpu->run;
	t0 = now_seconds();
	arm_timer(0.3);
	r = __vcpu_run(vcpu);
	t = now_seconds() - t0;
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KVM_EXIT_INTR, (int)vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	EXPECT_EQ(1, READ_ONCE(signals));
	EXPECT_LT(0U, READ_ONCE(data->count));
	EXPECT_LE(0.29, t);
	EXPECT_GT(3.0, t) TH_LOG("KVM_RUN took %.2f s after a 0.3 s timer", t);

	/* immediate_exit set by the handler: the guest does not run. */
	count = READ_ONCE(data->count);
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(count, READ_ONCE(data->count));

	/*
	 * The guest goes on where it was: it counts on until the next
	 * signal, then stops when told to.
	 */
	signalled_run = NULL;
	vcpu->run->immediate_exit = 0;
	arm_timer(0.1);
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	EXPECT_LT(count, READ_ONCE(data->count));
	WRITE_ONCE(data->stop, 1);
	vcpu_run_done(vcpu);
	vm_free(vm);
}

/* guest_time (field 43 of /proc/<pid>/stat, clock ticks) of this process. */
static long guest_ticks(void)
{
	char buf[1024], *p;
	long ticks = -1;
	int field;

	if (read_text("/proc/self/stat", buf, sizeof(buf)) < 0)
		return -1;
	/* Fields are counted after the command name, which may hold spaces. */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 43; field++)
		p = strchr(p + 1, ' ');
	if (p)
		ticks = strtol(p + 1, NULL, 10);
	return ticks;
}

/*
 * Time in the guest is the thread's guest time, what KVM's
 * guest_timing_enter_irqoff() does, so that top and /proc/stat show it: a
 * guest spinning for 0.5 s adds at least 0.25 s of guest time.  hvx only:
 * in the CI VM (Bochs), 6.1's kvm_intel shows no guest time at all (6.12's
 * does).
 */
TEST_F(run, guest_time_accounted)
{
	long hz = sysconf(_SC_CLK_TCK), before, after;
	struct spin_data *data;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!test_device_is_hvx())
		SKIP(return, "6.1's kvm_intel shows no guest time in Bochs");
	vm = spin_guest(&vcpu, &data);
	catch_signal(SIGALRM);
	signalled_run = NULL;
	before = guest_ticks();
	ASSERT_LE(0, before);
	arm_timer(0.5);
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	after = guest_ticks();
	EXPECT_LE(before + hz / 4, after)
		TH_LOG("guest time %ld -> %ld ticks (%ld/s)", before, after, hz);
	WRITE_ONCE(data->stop, 1);
	vcpu_run_done(vcpu);
	vm_free(vm);
}

struct progress {
	u64 loops;
	u64 cpu_ns;
	int stop;
};

/* A plain CPU-bound process on cpu, reporting its CPU time. */
static pid_t start_progress(struct progress *p, int cpu)
{
	pid_t pid = fork();
	struct timespec ts;

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin_to_cpu(0, cpu);
	while (!READ_ONCE(p->stop)) {
		if ((++p->loops & 0xffff) == 0) {
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
			WRITE_ONCE(p->cpu_ns, ts.tv_sec * 1000000000ULL +
				   ts.tv_nsec);
		}
	}
	_exit(0);
}

/*
 * A guest spinning with RFLAGS.IF=1 and no exits on CPU 1 for
 * HVX_TEST_SPIN_SECONDS: CPU 1 keeps taking local timer interrupts, a
 * process pinned there keeps getting CPU time, and SIGALRM ends KVM_RUN on
 * time with EINTR and KVM_EXIT_INTR.
 */
TEST_F_TIMEOUT(run, interrupts_intact, 300)
{
	double spin = env_seconds("HVX_TEST_SPIN_SECONDS", 10);
	long loc0, loc1, nloc;
	double t0, t, cpu;
	u64 cpu0;
	struct spin_data *data;
	struct kvm_vcpu *vcpu;
	struct progress *p;
	struct kvm_vm *vm;
	int r, status;
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs CPU 1");
	vm = spin_guest(&vcpu, &data);
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pin_to_cpu(0, 1));
	pid = start_progress(p, 1);
	ASSERT_LT(0, pid);
	while (!READ_ONCE(p->cpu_ns))
		usleep(1000);

	catch_signal(SIGALRM);
	cpu0 = READ_ONCE(p->cpu_ns);
	loc0 = proc_interrupts("LOC", 1);
	t0 = now_seconds();
	arm_timer(spin);
	r = __vcpu_run(vcpu);
	t = now_seconds() - t0;
	loc1 = proc_interrupts("LOC", 1);
	cpu = (READ_ONCE(p->cpu_ns) - cpu0) / 1e9;
	WRITE_ONCE(p->stop, 1);
	waitpid(pid, &status, 0);

	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KVM_EXIT_INTR, (int)vcpu->run->exit_reason)
		TH_LOG("got %s", vcpu_exit_str(vcpu));
	nloc = loc1 - loc0;
	TH_LOG("guest spun %.2f s (timer %.2f s), %u loops", t, spin,
	       READ_ONCE(data->count));
	TH_LOG("CPU 1: %ld timer interrupts (%.0f/s); the process there got %.2f s of CPU",
	       nloc, nloc / t, cpu);
	EXPECT_LE(spin - 0.01, t);
	EXPECT_GE(spin * 1.2 + 0.5, t);
	EXPECT_LT(0U, READ_ONCE(data->count));
	/* HZ is 250 in Debian's kernels: a busy CPU ticks 250 times/s. */
	EXPECT_LE(50 * spin, nloc);
	/* Two runnable tasks on CPU 1 share it; allow a lot of slack. */
	EXPECT_LE(0.2 * spin, cpu);

	signalled_run = NULL;
	WRITE_ONCE(data->stop, 1);
	vcpu_run_done(vcpu);
	vm_free(vm);
}

struct spin_thread {
	struct kvm_vcpu *vcpu;
	int r, err;
};

static void *spin_thread(void *arg)
{
	struct spin_thread *st = arg;

	pin_to_cpu(0, 1);
	st->r = __vcpu_run(st->vcpu);
	st->err = errno;
	return NULL;
}

#define PRINTK "/proc/sys/kernel/printk"

/*
 * sysrq "l" sends an NMI to every CPU for a backtrace.  With a guest
 * spinning on CPU 1 the host takes the NMI there, prints the backtrace,
 * and the guest carries on and ends normally.
 *
 * The backtraces' "Call Trace:" lines are expected: the test brackets them
 * with "hvx-selftest: expected NMI backtraces begin/end" in the kernel log
 * for the CI's log check.
 */
TEST_F_TIMEOUT(run, nmi_backtrace, 120)
{
	struct spin_thread st = { 0 };
	char printk[64] = "", line[256];
	struct spin_data *data;
	long nmi0, nmi1;
	u32 count;
	pthread_t thread;
	struct kvm_vm *vm;
	bool found;
	int kmsg;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs CPU 1");
	if (access("/proc/sysrq-trigger", W_OK))
		SKIP(return, "no /proc/sysrq-trigger");
	vm = spin_guest(&st.vcpu, &data);
	ASSERT_EQ(0, pin_to_cpu(0, 0));
	ASSERT_EQ(0, pthread_create(&thread, NULL, spin_thread, &st));
	while (!READ_ONCE(data->count))
		usleep(1000);
	usleep(100000);

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	nmi0 = proc_interrupts("NMI", 1);
	write_text("/dev/kmsg",
		   "<4>hvx-selftest: expected NMI backtraces begin\n");
	/* Keep the backtraces off the serial console: they are in dmesg. */
	read_text(PRINTK, printk, sizeof(printk));
	write_text(PRINTK, "1");
	EXPECT_EQ(0, write_text("/proc/sysrq-trigger", "l"));
	usleep(500000);
	if (printk[0])
		write_text(PRINTK, printk);
	write_text("/dev/kmsg",
		   "<4>hvx-selftest: expected NMI backtraces end\n");
	nmi1 = proc_interrupts("NMI", 1);
	found = kmsg_find(kmsg, "NMI backtrace for cpu 1", line,
			  sizeof(line));
	EXPECT_TRUE(found) TH_LOG("no backtrace from CPU 1 in the kernel log");
	EXPECT_LT(nmi0, nmi1);
	TH_LOG("CPU 1 NMIs %ld -> %ld; kernel: %s", nmi0, nmi1,
	       found ? line : "-");
	close(kmsg);

	/* The guest carries on... */
	count = READ_ONCE(data->count);
	usleep(200000);
	EXPECT_LT(count, READ_ONCE(data->count));
	/* ...and ends normally. */
	WRITE_ONCE(data->stop, 1);
	pthread_join(thread, NULL);
	EXPECT_EQ(0, st.r) TH_LOG("KVM_RUN: %s", strerror(st.err));
	EXPECT_EQ(UCALL_DONE, (int)get_ucall(st.vcpu, NULL))
		TH_LOG("got %s", vcpu_exit_str(st.vcpu));
	vm_free(vm);
}

TEST_HARNESS_MAIN
