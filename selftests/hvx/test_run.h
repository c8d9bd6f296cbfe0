/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions about one KVM_RUN, for the kselftest-harness tests (they use
 * the harness's _metadata, so they live here and not in kvm_util.c).
 */
#ifndef HVX_SELFTEST_TEST_RUN_H
#define HVX_SELFTEST_TEST_RUN_H

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

#endif /* HVX_SELFTEST_TEST_RUN_H */
