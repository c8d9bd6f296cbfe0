// SPDX-License-Identifier: GPL-2.0
/*
 * The exits both interrupt models handle (port I/O, MMIO, a dying guest),
 * and the --irqchip=user vCPU loop (smp.c has the in-kernel irqchip's).
 *
 * The vCPU loop, with the interrupt model of KVM without an in-kernel
 * irqchip (Documentation/virt/kvm/api.rst, KVM_INTERRUPT and struct
 * kvm_run): the PIC lives here; when it has a deliverable IRQ, the
 * launcher injects its vector with KVM_INTERRUPT if the vCPU said it is
 * ready_for_interrupt_injection, else sets request_interrupt_window and
 * the device returns KVM_EXIT_IRQ_WINDOW_OPEN once the guest can take one.
 *
 * HLT comes back to userspace (KVM_EXIT_HLT): the launcher sleeps in
 * ppoll() on the console input until the next PIT deadline, then injects
 * the interrupt that woke it. A HLT with interrupts disabled can only be
 * left by an NMI, which nothing here raises: the guest has stopped, and
 * that is its power-off (Linux's "poweroff -f" without ACPI halts the CPU
 * this way, in stop_this_cpu()).
 *
 * While the guest runs, a POSIX timer armed at the next PIT deadline sends
 * SIGALRM, whose handler sets kvm_run.immediate_exit: KVM_RUN returns
 * -EINTR (KVM_EXIT_INTR) even if the signal came just before entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hvx-run.h"

static struct kvm_run *kick_run;
static timer_t kick_timer;
static u64 kick_deadline;

static void kick(int sig)
{
	(void)sig;
	kick_run->immediate_exit = 1;
}

static void kick_setup(struct machine *m)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
		.sigev_signo = SIGALRM,
	};
	struct sigaction sa = { .sa_handler = kick };

	kick_run = m->run;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) ||
	    timer_create(CLOCK_MONOTONIC, &sev, &kick_timer))
		die("cannot set up the timer signal: %s", strerror(errno));
}

static void kick_arm(u64 deadline)
{
	struct itimerspec its = {
		.it_value.tv_sec = deadline / NSEC_PER_SEC,
		.it_value.tv_nsec = deadline % NSEC_PER_SEC,
	};

	if (deadline == kick_deadline)
		return;
	kick_deadline = deadline;
	if (timer_settime(kick_timer, TIMER_ABSTIME, &its, NULL))
		die("timer_settime: %s", strerror(errno));
}

static void inject_interrupt(struct machine *m)
{
	struct kvm_run *run = m->run;
	struct kvm_interrupt irq;

	if (!pic_pending()) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag) {
		irq.irq = pic_ack();
		if (ioctl(m->vcpu_fd, KVM_INTERRUPT, &irq))
			die("KVM_INTERRUPT (vector %u): %s", irq.irq,
			    strerror(errno));
	}
	run->request_interrupt_window = pic_pending();
}

/* KVM_EXIT_HLT with interrupts enabled: wait for one. */
static void wait_for_interrupt(struct machine *m)
{
	struct pollfd pfd = { .events = POLLIN };
	struct timespec ts, *tsp;
	u64 deadline, now;

	for (;;) {
		deadline = devices_poll(m);
		if (pic_pending() || m->end != END_NONE)
			return;
		tsp = NULL;
		if (deadline) {
			now = now_ns();
			if (deadline <= now)
				continue;
			ts.tv_sec = (deadline - now) / NSEC_PER_SEC;
			ts.tv_nsec = (deadline - now) % NSEC_PER_SEC;
			tsp = &ts;
		}
		pfd.fd = serial_input_fd();
		if (pfd.fd < 0 && !tsp) {
			warnx("the guest halted for an interrupt that cannot come");
			cpu_dump(m->vcpu_fd);
			machine_end(m, END_ERROR, 1);
			return;
		}
		if (ppoll(&pfd, pfd.fd >= 0, tsp, NULL) < 0 && errno != EINTR)
			die("ppoll: %s", strerror(errno));
	}
}

static void handle_io(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	u32 i;

	if (run->io.data_offset + (u64)run->io.count * run->io.size >
	    m->run_size)
		die("KVM_EXIT_IO data outside kvm_run (offset %llu, %u x %u)",
		    (unsigned long long)run->io.data_offset, run->io.count,
		    run->io.size);
	for (i = 0; i < run->io.count && m->end == END_NONE; i++)
		io_access(m, run->io.port, data + i * run->io.size,
			  run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_run *run = v->run;

	/* No MMIO devices: reads float high, writes are dropped. */
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	if (m->opt->verbose)
		warnx("MMIO %s at 0x%llx, %u bytes: no device",
		      run->mmio.is_write ? "write" : "read",
		      (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

static __printf(2, 3) void guest_died(struct vcpu *v, const char *fmt, ...)
{
	struct machine *m = v->m;
	va_list ap;

	fflush(stdout);
	if (m->nr_vcpus > 1)
		fprintf(stderr, "\nhvx-run: the guest died on vCPU %d: ", v->id);
	else
		fprintf(stderr, "\nhvx-run: the guest died: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cpu_dump(v->fd);
	machine_end(m, END_ERROR, 1);
}

/*
 * One exit of vCPU @v. With the in-kernel irqchip the caller holds the
 * device lock; HLT then never comes here (the device blocks the vCPU).
 */
void vcpu_handle_exit(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	u32 i;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
	/*
	 * The guest lowered CR8. The PIC model does not look at the TPR
	 * (a guest of this launcher has no APIC), so there is nothing to
	 * unmask: the next KVM_RUN goes on.
	 */
	case KVM_EXIT_SET_TPR:
		break;
	case KVM_EXIT_HLT:
		if (m->kernel_irqchip) {
			guest_died(v, "KVM_EXIT_HLT although the irqchip is in the kernel");
			break;
		}
		if (!run->if_flag) {
			machine_end(m, END_POWEROFF, 0);
			break;
		}
		wait_for_interrupt(m);
		break;
	case KVM_EXIT_SHUTDOWN:
		guest_died(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		guest_died(v, "VM entry failed (KVM_EXIT_FAIL_ENTRY), reason 0x%llx on CPU %u",
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			   run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		guest_died(v, "internal error (KVM_EXIT_INTERNAL_ERROR), suberror %u",
			   run->internal.suberror);
		for (i = 0; i < run->internal.ndata && i < ARRAY_SIZE(run->internal.data); i++)
			fprintf(stderr, "  data[%u] = 0x%llx\n", i,
				(unsigned long long)run->internal.data[i]);
		break;
	default:
		guest_died(v, "unexpected exit reason %u", run->exit_reason);
		break;
	}
}

/* --irqchip=user: vCPU 0 runs in the main thread, devices between runs. */
void vcpu_loop(struct machine *m)
{
	kick_setup(m);
	while (m->end == END_NONE) {
		kick_arm(devices_poll(m));
		if (m->end != END_NONE)
			break;
		inject_interrupt(m);
		if (ioctl(m->vcpu_fd, KVM_RUN, 0)) {
			m->run->immediate_exit = 0;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN: %s", strerror(errno));
		}
		m->run->immediate_exit = 0;
		vcpu_handle_exit(&m->vcpus[0]);
	}
	kick_arm(0);
}
