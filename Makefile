# SPDX-License-Identifier: GPL-2.0
#
# hvx: build, test and demo.
#
#   make                 hvx.ko for the running kernel (or KDIR=...), the
#                        userspace tools and the selftests
#   make check           install what is missing, build, host checks, then
#                        the in-VM suite on each kernel: "N passed, N failed"
#   make demo            boot the CI VM and show hvx loading in it
#   make vm-test T=...   quick loop: one VM boot running only the selftests
#                        named (comma separated), on KSERIES=6.1 (or 6.12)
#   make bench           hvx against kvm_intel in one CI VM boot: exit round
#                        trips, first-touch faults, memory per VM and vCPU
#   make clean

KVER_61   := $(shell scripts/kver.sh 6.1)
KVER_612  := $(shell scripts/kver.sh 6.12)
KRUNNING  := $(shell uname -r)
KDIR      ?= $(if $(wildcard /lib/modules/$(KRUNNING)/build/Makefile),\
		/lib/modules/$(KRUNNING)/build,/lib/modules/$(KVER_61)/build)

BUILD       := build
LINUX_TOOLS := $(BUILD)/linux-tools
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror -static -Iuapi
TEST_CFLAGS := $(USER_CFLAGS) -Wno-unused-parameter
SELFTESTS   := probe_test load_test sys_ioctl_test kvm_conflict_test \
	       smoke_test vm_test guest_modes_test run_test concurrency_test \
	       leak_test cpuid_test
SELFTEST_LIB := selftests/hvx/util.c selftests/hvx/kvm_util.c
SELFTEST_HDR := selftests/hvx/util.h selftests/hvx/kvm_util.h
# The benchmark shares the selftests' KVM client library (not a test).
BENCH       := $(BUILD)/selftests/bench
TOOLS       := hvx-info

.PHONY: all module userspace selftests deps check demo vm-test bench clean

all: module userspace selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: $(TOOLS:%=$(BUILD)/bin/%)

$(BUILD)/bin/%: userspace/%.c uapi/linux/hvx.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

selftests: $(SELFTESTS:%=$(BUILD)/selftests/%) $(BENCH)

$(BUILD)/selftests/%: selftests/hvx/%.c $(SELFTEST_LIB) $(SELFTEST_HDR) \
		uapi/linux/hvx.h $(LINUX_TOOLS)/.done
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -pthread \
		-I$(LINUX_TOOLS)/tools/testing/selftests \
		-o $@ $< $(SELFTEST_LIB)

$(BENCH): selftests/hvx/bench.c $(SELFTEST_LIB) $(SELFTEST_HDR) \
		uapi/linux/hvx.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(SELFTEST_LIB)

# kselftest headers and checkpatch.pl, from Debian's linux-source-6.1.
$(LINUX_TOOLS)/.done:
	scripts/linux-tools.sh $(LINUX_TOOLS)

deps:
	scripts/deps.sh

check: deps
	scripts/check.sh

demo: deps
	scripts/demo.sh

vm-test: deps
	scripts/vm-test.sh "$(or $(KSERIES),6.1)" "$(T)"

bench: deps
	scripts/bench.sh

clean:
	rm -rf $(BUILD)
	rm -f hvx.ko hvx.mod hvx.mod.c hvx.o modules.order Module.symvers
	find module \( -name '*.o' -o -name '.*.cmd' \) -delete
	rm -f .*.cmd .hvx* hvx.mod.o
