// SPDX-License-Identifier: GPL-2.0
/*
 * The bottom layer of hvx-run, which every other file may use and which
 * uses none of them: the launcher's messages, its clock, and the end of
 * the machine.
 *
 * The machine ends once, with the first machine_end() (a reset, the
 * debug-exit port, a power-off, Ctrl-A x or a dying guest, from a device
 * model, a vCPU exit or the power-off check, on any thread); later
 * requests are ignored. The end is published with a sequentially
 * consistent store, which machine_over() reads, then m->on_end, when set,
 * stops whatever is still running (smp.c's threads).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "machine.h"

const char *const prog = "hvx-run";

void warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* With vCPU threads, callers hold the device lock (smp.c). */
void machine_end(struct machine *m, enum run_end end, int status)
{
	if (m->end != END_NONE)
		return;
	m->exit_status = status;
	__atomic_store_n(&m->end, end, __ATOMIC_SEQ_CST);
	if (m->on_end)
		m->on_end(m);
}

bool machine_over(struct machine *m)
{
	return __atomic_load_n(&m->end, __ATOMIC_SEQ_CST) != END_NONE;
}

/* After the run: say how the guest ended; returns the exit status. */
int machine_report_end(struct machine *m)
{
	switch (m->end) {
	case END_RESET:
		warnx("the guest reset the machine");
		break;
	case END_POWEROFF:
		if (m->opt->verbose)
			warnx("the guest powered off");
		break;
	case END_QUIT:
		warnx("quit (Ctrl-A x)");
		break;
	default:
		break;
	}
	return m->exit_status;
}
