/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions about one KVM_RUN, for the kselftest-harness tests (they use
 * the harness's _metadata, so they live here and not in kvm_util.c).
 */
#ifndef HVX_SELFTEST_TEST_RUN_H
#define HVX_SELFTEST_TEST_RUN_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kvm_util.h"

/* Run once: the guest reports @value (guest_report()). */
static inline void run_expect_report(struct __test_metadata *_metadata,
				     struct kvm_vcpu *vcpu, u32 value)
{
	u32 got = 0;

	vcpu_run(vcpu);
	ASSERT_EQ((int)UCALL_VALUE, (int)get_ucall(vcpu, &got)) {
		TH_LOG("expected report %u, got %s", value,
		       vcpu_exit_str(vcpu));
	}
	EXPECT_EQ(value, got);
}

/* Run once: the guest's C function returns. */
static inline void run_expect_done(struct __test_metadata *_metadata,
				   struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	EXPECT_EQ((int)UCALL_DONE, (int)get_ucall(vcpu, NULL)) {
		TH_LOG("expected the end, got %s", vcpu_exit_str(vcpu));
	}
}

/* What vcpu_run_ucall() ended with (@r: its return value), for a log. */
static inline const char *run_ucall_str(struct kvm_vcpu *vcpu, int r)
{
	static char buf[400];

	if (r < 0)
		snprintf(buf, sizeof(buf), "KVM_RUN: %s%s", strerror(errno),
			 errno == EINTR ? " (the guest did not get there in time)" : "");
	else
		snprintf(buf, sizeof(buf), "%s", vcpu_guest_str(vcpu));
	return buf;
}

/*
 * Run, at most @seconds, to the guest's next report and return it;
 * expect @value unless -1.  @line: the caller's, for the log.
 */
static inline u32 run_report_within(struct __test_metadata *_metadata,
				    struct kvm_vcpu *vcpu, long value,
				    double seconds, int line)
{
	u32 v = 0;
	int r = vcpu_run_ucall(vcpu, &v, seconds);

	ASSERT_EQ((int)UCALL_VALUE, r) {
		TH_LOG("line %d: expected a report: %s", line,
		       run_ucall_str(vcpu, r));
	}
	if (value != -1)
		EXPECT_EQ((u32)value, v);
	return v;
}

/* Run, at most @seconds, to the end of the guest's C function. */
static inline void run_done_within(struct __test_metadata *_metadata,
				   struct kvm_vcpu *vcpu, double seconds,
				   int line)
{
	int r = vcpu_run_ucall(vcpu, NULL, seconds);

	ASSERT_EQ((int)UCALL_DONE, r) {
		TH_LOG("line %d: expected the end: %s", line,
		       run_ucall_str(vcpu, r));
	}
}

#endif /* HVX_SELFTEST_TEST_RUN_H */
