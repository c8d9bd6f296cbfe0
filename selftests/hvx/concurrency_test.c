// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency and teardown: vCPU threads migrating between CPUs, a VMM
 * killed with SIGKILL while its guests run, VM and vCPU fds closed in every
 * order (with kvm_run still mapped), a vCPU used from another process, and
 * the module held by open fds (hvx only).
 *
 * A KVM-API client: runs against $HVX_TEST_DEVICE (default /dev/hvx), and
 * against /dev/kvm to check that it tests what KVM does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/hvx.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

/*
 * Count 1..%ebp in %edi: report each value (an exit to the VMM), then
 * CPUID (an exit the kernel handles).
 */
GUEST_CODE(code_count,
	   "xorl %edi, %edi\n"
	   "1:\n"
	   "incl %edi\n"
	   "movl %edi, %eax\n"
	   GUEST_REPORT
	   "xorl %eax, %eax\n"
	   "cpuid\n"
	   "cmpl %ebp, %edi\n"
	   "jne 1b\n"
	   GUEST_DONE);

/* Spin with interrupts enabled, counting in (%esi). */
GUEST_CODE(code_spin,
	   "1:\n"
	   "incl (%esi)\n"
	   "jmp 1b\n");

/* Each mode's copy of code_count, at its own address. */
static u64 count_code_gpa(enum guest_mode mode)
{
	return GUEST_CODE_GPA + mode * 0x400;
}

/* A vCPU running code_count in mode up to n. */
static struct kvm_vcpu *count_vcpu(struct kvm_vm *vm, int id,
				   enum guest_mode mode, u32 n)
{
	struct kvm_vcpu *vcpu = vcpu_create(vm, id);
	struct kvm_regs regs;

	vm_load_code_at(vm, mode, &code_count, count_code_gpa(mode), 0x400);
	vcpu_setup_mode(vcpu, mode, count_code_gpa(mode));
	vcpu_regs_get(vcpu, &regs);
	regs.rbp = n;
	vcpu_regs_set(vcpu, &regs);
	return vcpu;
}

static struct kvm_vm *count_guest(enum guest_mode mode, u32 n,
				  struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create();

	vm_setup_memory(vm);
	*vcpu = count_vcpu(vm, 0, mode, n);
	return vm;
}

struct counter {
	struct kvm_vcpu *vcpu;
	u32 n;
	pid_t tid;
	bool done;
	u32 got;		/* values seen in order */
	char error[200];
};

static void *counter_thread(void *arg)
{
	struct counter *c = arg;
	enum ucall_type type;
	u32 value;

	WRITE_ONCE(c->tid, syscall(SYS_gettid));
	for (;;) {
		if (__vcpu_run(c->vcpu)) {
			snprintf(c->error, sizeof(c->error), "KVM_RUN: %s",
				 strerror(errno));
			break;
		}
		type = get_ucall(c->vcpu, &value);
		if (type == UCALL_DONE) {
			if (c->got != c->n)
				snprintf(c->error, sizeof(c->error),
					 "done after %u of %u", c->got, c->n);
			break;
		}
		if (type != UCALL_VALUE || value != c->got + 1) {
			snprintf(c->error, sizeof(c->error),
				 "after %u: %s value %u", c->got,
				 vcpu_exit_str(c->vcpu), value);
			break;
		}
		c->got = value;
	}
	WRITE_ONCE(c->done, true);
	return NULL;
}

FIXTURE(conc) {
	bool loaded_here;
};

FIXTURE_SETUP(conc)
{
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(conc)
{
	test_device_release(self->loaded_here);
}

/*
 * Four vCPUs of one VM, one in each mode, in four threads on two CPUs,
 * moved between the CPUs every few milliseconds while they run: each
 * guest's count arrives whole and in order.
 */
TEST_F_TIMEOUT(conc, four_vcpus_migrating, 120)
{
	u32 n = env_long("HVX_TEST_ITERATIONS", 2000);
	struct counter c[4] = { 0 };
	pthread_t threads[4];
	int i, moves = 0, all;
	unsigned int seed = 1;
	struct kvm_vm *vm;
	cpu_set_t set;
	double t0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	vm = vm_create();
	vm_setup_memory(vm);
	for (i = 0; i < 4; i++) {
		c[i].n = n;
		c[i].vcpu = count_vcpu(vm, i, (enum guest_mode)i, n);
	}
	t0 = now_seconds();
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, counter_thread,
					    &c[i]));
	do {
		usleep(2000);
		all = 1;
		for (i = 0; i < 4; i++) {
			if (READ_ONCE(c[i].done) || !READ_ONCE(c[i].tid))
				continue;
			all = 0;
			CPU_ZERO(&set);
			switch (rand_r(&seed) % 3) {
			case 0:
				CPU_SET(0, &set);
				break;
			case 1:
				CPU_SET(1, &set);
				break;
			default:
				CPU_SET(0, &set);
				CPU_SET(1, &set);
			}
			if (!sched_setaffinity(c[i].tid, sizeof(set), &set))
				moves++;
		}
	} while (!all);
	for (i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_STREQ("", c[i].error)
			TH_LOG("vCPU %d (%s)", i, guest_mode_name(i));
		EXPECT_EQ(n, c[i].got);
	}
	TH_LOG("4 x %u exits to the VMM in %.2f s, %d affinity changes", n,
	       now_seconds() - t0, moves);
	EXPECT_LT(10, moves);
	vm_free(vm);
}

static void *spin_thread(void *arg)
{
	__vcpu_run(arg);
	return NULL;
}

/*
 * The VMM of kill9: one vCPU spinning in a thread, one exiting to the VMM
 * without end; says "running" on fd once both are under way.
 */
static void kill9_vmm(int fd)
{
	struct kvm_vcpu *spin, *count;
	u32 *counter;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	pthread_t thread;
	u32 i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	vm = vm_create();
	vm_setup_memory(vm);
	count = count_vcpu(vm, 0, GUEST_MODE_LONG, 0);	/* 2^32 values */
	spin = vcpu_create(vm, 1);
	vm_load_code_at(vm, GUEST_MODE_PROTECTED, &code_spin,
			GUEST_CODE_GPA + 0x1000, 0x400);
	vcpu_setup_mode(spin, GUEST_MODE_PROTECTED, GUEST_CODE_GPA + 0x1000);
	vcpu_regs_get(spin, &regs);
	regs.rsi = GUEST_DATA;
	regs.rflags |= X86_RFLAGS_IF;
	vcpu_regs_set(spin, &regs);
	counter = gpa_to_hva(vm, GUEST_DATA);
	KVM_ASSERT(!pthread_create(&thread, NULL, spin_thread, spin),
		   "pthread_create");
	for (i = 1;; i++) {
		KVM_ASSERT(vcpu_run_value(count) == i, "count");
		if (i == 100) {
			while (!READ_ONCE(*counter))
				usleep(1000);
			KVM_ASSERT(write(fd, "r", 1) == 1, "write");
		}
	}
}

/*
 * SIGKILL of a VMM while one vCPU spins in the guest and another exits to
 * the VMM continuously: the VMM dies, the host goes on, new VMs run.
 */
TEST_F_TIMEOUT(conc, kill9_vmm, 120)
{
	struct pollfd pfd;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fds[2], status, round;
	char c;
	pid_t pid;

	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, pipe(fds));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(fds[0]);
			kill9_vmm(fds[1]);
		}
		close(fds[1]);
		pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
		ASSERT_EQ(1, poll(&pfd, 1, 30000));
		ASSERT_EQ(1, read(fds[0], &c, 1))
			TH_LOG("the VMM child failed before running its guests");
		close(fds[0]);
		usleep(round ? 5000 : 200000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("status %#x", status);
	}

	vm = count_guest(GUEST_MODE_LONG, 2, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	EXPECT_EQ(2U, vcpu_run_value(vcpu));
	vcpu_run_done(vcpu);
	vm_free(vm);
}

/* Free the library's records and memory of a VM whose fds are closed. */
static void forget_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	int i;

	munmap(vcpu->run, vcpu->run_size);
	free(vcpu);
	for (i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].owned)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	free(vm);
}

/* vCPU fd closed first, then the VM fd, then kvm_run unmapped. */
TEST_F(conc, close_vcpu_then_vm)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = count_guest(GUEST_MODE_LONG, 10, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	EXPECT_EQ(0, close(vcpu->fd));
	/* The mapping outlives the fd. */
	EXPECT_EQ(KVM_EXIT_IO, (int)vcpu->run->exit_reason);
	EXPECT_EQ(0, close(vm->fd));
	EXPECT_EQ(0, close(vm->sys_fd));
	EXPECT_EQ(KVM_EXIT_IO, (int)vcpu->run->exit_reason);
	vcpu->run->immediate_exit = 1;
	forget_vm(vm, vcpu);

	vm = count_guest(GUEST_MODE_PROTECTED, 1, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	vcpu_run_done(vcpu);
	vm_free(vm);
}

/*
 * VM fd (and the device fd) closed first: the vCPU fd keeps the VM alive
 * and its guest runs on; then the vCPU fd, then the mapping.
 */
TEST_F(conc, close_vm_then_vcpu)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = count_guest(GUEST_MODE_LONG, 3, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	EXPECT_EQ(0, close(vm->fd));
	EXPECT_EQ(0, close(vm->sys_fd));
	EXPECT_EQ(2U, vcpu_run_value(vcpu));
	EXPECT_EQ(3U, vcpu_run_value(vcpu));
	vcpu_run_done(vcpu);
	EXPECT_EQ(0, close(vcpu->fd));
	EXPECT_EQ(UCALL_DONE, (int)get_ucall(vcpu, NULL));
	forget_vm(vm, vcpu);
}

/*
 * Every fd closed while guest memory and kvm_run stay mapped: both stay
 * usable memory until unmapped.
 */
TEST_F(conc, close_all_keep_mappings)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u32 *mem;

	vm = count_guest(GUEST_MODE_PAGED, 10, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	mem = gpa_to_hva(vm, GUEST_DATA);
	EXPECT_EQ(0, close(vm->sys_fd));
	EXPECT_EQ(0, close(vm->fd));
	EXPECT_EQ(0, close(vcpu->fd));
	mem[0] = 0x12345678;
	EXPECT_EQ(0x12345678U, mem[0]);
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(1, vcpu->run->immediate_exit);
	forget_vm(vm, vcpu);
}

/* A vCPU is usable only from the address space of its VM (EIO). */
TEST_F(conc, vcpu_from_other_mm)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int status;
	pid_t pid;

	vm = count_guest(GUEST_MODE_LONG, 2, &vcpu);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kvm_regs regs;
		int ok;

		ok = __vcpu_run(vcpu) == -1 && errno == EIO;
		ok &= ioctl(vcpu->fd, KVM_GET_REGS, &regs) == -1 &&
		      errno == EIO;
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The owner is unaffected. */
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	vm_free(vm);
}

/*
 * hvx only: every fd and mapping of a VM holds the module; unloading works
 * once the last is gone.
 */
TEST(module_held_by_fds)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool was_loaded;

	if (!test_device_is_hvx())
		SKIP(return, "hvx only (the device is %s)", test_device());
	was_loaded = module_loaded("hvx");
	if (!was_loaded)
		ASSERT_EQ(0, hvx_load());

	vm = count_guest(GUEST_MODE_LONG, 1, &vcpu);
	EXPECT_EQ(1U, vcpu_run_value(vcpu));
	EXPECT_EQ(0, close(vm->sys_fd));
	EXPECT_EQ(-EWOULDBLOCK, hvx_unload());
	EXPECT_EQ(0, close(vm->fd));
	EXPECT_EQ(-EWOULDBLOCK, hvx_unload());
	EXPECT_EQ(0, close(vcpu->fd));
	/* kvm_run's mapping still refers to the vCPU file. */
	EXPECT_EQ(-EWOULDBLOCK, hvx_unload());
	forget_vm(vm, vcpu);
	EXPECT_EQ(0, hvx_unload());
	if (was_loaded)
		EXPECT_EQ(0, hvx_load());
}

TEST_HARNESS_MAIN
