// SPDX-License-Identifier: GPL-2.0
/*
 * Running the guest with the device's in-kernel irqchip: one thread per
 * vCPU in KVM_RUN, and the main thread as the device thread.
 *
 * The local APICs, the IOAPIC and the PIC are in the kernel: a vCPU thread
 * comes back only for port I/O and MMIO the kernel does not claim (the
 * PIT, COM1, CMOS, ...), which it emulates under the device lock. HLT
 * blocks in the kernel; application processors start in
 * KVM_MP_STATE_UNINITIALIZED and run when the guest sends them INIT and
 * SIPI: the launcher never sets their registers. Device interrupts are
 * KVM_IRQ_LINE on the VM (irq.c), from whichever thread changes a line.
 *
 * The device thread waits in ppoll() on the console input and a wake-up
 * pipe until the PIT's next deadline, then raises what is due. A vCPU that
 * reprograms the PIT to an earlier deadline writes to the pipe.
 *
 * Power-off: without ACPI, Linux's "poweroff -f" halts every CPU with
 * interrupts disabled (stop_this_cpu()), which the kernel's HLT handling
 * keeps to itself. So once a second the device thread asks each vCPU
 * thread, by pthread_kill(), for its state; the thread leaves KVM_RUN
 * (-EINTR: the signal handler sets kvm_run.immediate_exit, so a signal
 * that lands just before entry is not lost) and reads KVM_GET_MP_STATE and
 * RFLAGS. When every vCPU is halted with IF = 0 or was never started
 * (UNINITIALIZED), nothing can wake the machine again (the launcher raises
 * no NMI): it has powered off. The same signal stops every thread when the
 * machine ends (reset, debug-exit, an error, Ctrl-A x), from any thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hvx-run.h"

#define KICK_SIGNAL		SIGUSR1
#define STOP_CHECK_NS		NSEC_PER_SEC
#define X86_EFLAGS_IF		0x200

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct kvm_run *thread_run;
static int wake_pipe[2] = { -1, -1 };
static u64 dev_sleep_until;	/* the device thread's wake-up time; 0: none */
static int check_pending, check_stopped;
static sigset_t kick_set;

static void kick_handler(int sig)
{
	(void)sig;
	if (thread_run)
		thread_run->immediate_exit = 1;
}

static void wake_device_thread(void)
{
	char c = 0;
	ssize_t r;

	do {
		r = write(wake_pipe[1], &c, 1);
	} while (r < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full, the device thread wakes anyway. */
}

/* m->on_end: called with the device lock held, by machine_end(). */
static void smp_end(struct machine *m)
{
	int i;

	for (i = 0; i < m->nr_vcpus; i++)
		pthread_kill(m->vcpus[i].thread, KICK_SIGNAL);
	if (wake_pipe[1] >= 0)
		wake_device_thread();
}

/* After an I/O exit: devices catch up; an earlier PIT deadline wakes. */
static void vcpu_devices_poll(struct machine *m)
{
	u64 next = devices_poll(m);

	if (next && (!dev_sleep_until || next < dev_sleep_until)) {
		dev_sleep_until = next;
		wake_device_thread();
	}
}

/* A stop check: is this vCPU stopped for good? (lock not held) */
static void vcpu_report(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	bool stopped = false;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp))
		die("KVM_GET_MP_STATE (vCPU %d): %s", v->id, strerror(errno));
	if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED) {
		stopped = true;
	} else if (mp.mp_state == KVM_MP_STATE_HALTED) {
		if (ioctl(v->fd, KVM_GET_REGS, &regs))
			die("KVM_GET_REGS (vCPU %d): %s", v->id, strerror(errno));
		stopped = !(regs.rflags & X86_EFLAGS_IF);
	}
	pthread_mutex_lock(&dev_lock);
	v->check = false;
	check_stopped += stopped;
	if (!--check_pending && check_stopped == m->nr_vcpus)
		machine_end(m, END_POWEROFF, 0);
	pthread_mutex_unlock(&dev_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	bool check;
	int r, err;

	thread_run = v->run;
	/* A kick sent before thread_run was set is delivered now. */
	pthread_sigmask(SIG_UNBLOCK, &kick_set, NULL);
	while (!machine_over(m)) {
		r = ioctl(v->fd, KVM_RUN, 0);
		err = errno;
		v->run->immediate_exit = 0;
		pthread_mutex_lock(&dev_lock);
		check = v->check;
		pthread_mutex_unlock(&dev_lock);
		if (check)
			vcpu_report(v);
		if (r) {
			if (err == EINTR || err == EAGAIN)
				continue;
			die("KVM_RUN (vCPU %d): %s", v->id, strerror(err));
		}
		pthread_mutex_lock(&dev_lock);
		if (!machine_over(m)) {
			vcpu_handle_exit(v);
			if (v->run->exit_reason == KVM_EXIT_IO)
				vcpu_devices_poll(m);
		}
		pthread_mutex_unlock(&dev_lock);
	}
	return NULL;
}

/* Ask every vCPU thread whether its vCPU is stopped (lock held). */
static void stop_check(struct machine *m)
{
	int i;

	if (check_pending)
		return;		/* the last round is not complete */
	check_pending = m->nr_vcpus;
	check_stopped = 0;
	for (i = 0; i < m->nr_vcpus; i++) {
		m->vcpus[i].check = true;
		pthread_kill(m->vcpus[i].thread, KICK_SIGNAL);
	}
}

static void device_thread(struct machine *m)
{
	struct pollfd pfd[2] = {
		{ .fd = wake_pipe[0], .events = POLLIN },
		{ .events = POLLIN },
	};
	u64 next_check = now_ns() + STOP_CHECK_NS, deadline, until, now;
	struct timespec ts;
	char buf[64];

	for (;;) {
		pthread_mutex_lock(&dev_lock);
		deadline = devices_poll(m);
		now = now_ns();
		if (now >= next_check) {
			stop_check(m);
			next_check = now + STOP_CHECK_NS;
		}
		until = deadline && deadline < next_check ? deadline : next_check;
		dev_sleep_until = until;
		pfd[1].fd = serial_input_fd();
		pthread_mutex_unlock(&dev_lock);
		if (machine_over(m))
			break;
		if (until <= now)
			continue;
		ts.tv_sec = (until - now) / NSEC_PER_SEC;
		ts.tv_nsec = (until - now) % NSEC_PER_SEC;
		if (ppoll(pfd, pfd[1].fd >= 0 ? 2 : 1, &ts, NULL) < 0 &&
		    errno != EINTR)
			die("ppoll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN)
			while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
				;
	}
}

void smp_run(struct machine *m)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int i, r;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&kick_set);
	sigaddset(&kick_set, KICK_SIGNAL);
	/* Blocked here and inherited: each vCPU thread unblocks it. */
	if (sigaction(KICK_SIGNAL, &sa, NULL) ||
	    pthread_sigmask(SIG_BLOCK, &kick_set, NULL))
		die("cannot set up the kick signal: %s", strerror(errno));
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK))
		die("pipe2: %s", strerror(errno));
	m->on_end = smp_end;
	pthread_mutex_lock(&dev_lock);
	for (i = 0; i < m->nr_vcpus; i++) {
		r = pthread_create(&m->vcpus[i].thread, NULL, vcpu_thread,
				   &m->vcpus[i]);
		if (r)
			die("cannot start the thread of vCPU %d: %s", i,
			    strerror(r));
	}
	pthread_mutex_unlock(&dev_lock);
	device_thread(m);
	for (i = 0; i < m->nr_vcpus; i++)
		pthread_join(m->vcpus[i].thread, NULL);
}
