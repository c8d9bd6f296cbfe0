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
#   make host-test       host unit tests (the MMIO instruction decoder)
#   make kvm-selftests   KVM's own x86_64 selftests from linux-source-6.1,
#                        built (once, cached) into build/kvm-selftests/bin
#   make kvm-selftests-vm  one CI VM boot running only them, against
#                        kvm_intel and hvx: their table (KSERIES=6.1 or 6.12)
#   make bench           hvx against kvm_intel in one CI VM boot: exit round
#                        trips, first-touch faults, memory per VM and vCPU
#   make install         the tools, bpftrace scripts and uapi header into
#                        $(DESTDIR)$(PREFIX) (default /usr/local); with
#                        KDIR=... on the command line, also hvx.ko through
#                        the kernel's modules_install
#   make install-dkms    the module sources into $(DESTDIR)/usr/src/hvx-VERSION
#                        for "dkms add hvx/VERSION" (see dkms.conf)
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
	       leak_test mmio_test irq_test cpuid_test trace_test fuzz_test \
	       irqchip_test smp_test eventfd_test memslot_test split_irqchip_test
SELFTEST_LIB := selftests/hvx/util.c selftests/hvx/kvm_util.c
SELFTEST_HDR := selftests/hvx/util.h selftests/hvx/kvm_util.h \
	selftests/hvx/test_run.h
# The benchmark shares the selftests' KVM client library (not a test).
BENCH       := $(BUILD)/selftests/bench
TOOLS       := hvx-info hvx-stat

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
INCLUDEDIR  ?= $(PREFIX)/include
DATADIR     ?= $(PREFIX)/share/hvx
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
BPFTRACE_SCRIPTS := $(wildcard userspace/tools/*.bt)
# hvx_run_test (a shell script) and the guests it boots with hvx-run.
HVX_RUN_TEST := $(addprefix $(BUILD)/selftests/,hvx_run_test qemu_test hvx-run-flat.bin \
		hvx-run-multiboot.elf hvx-run-initramfs.cpio)

.PHONY: all module userspace selftests host-test deps check demo vm-test \
	bench clean install install-dkms kvm-selftests kvm-selftests-vm

all: module userspace selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: $(TOOLS:%=$(BUILD)/bin/%) $(BUILD)/bin/hvx-run

$(BUILD)/bin/%: userspace/%.c uapi/linux/hvx.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/%: userspace/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

HVX_RUN_SRC := $(wildcard userspace/hvx-run/*.c)
$(BUILD)/bin/hvx-run: $(HVX_RUN_SRC) $(wildcard userspace/hvx-run/*.h) uapi/linux/hvx.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(HVX_RUN_SRC)

selftests: $(SELFTESTS:%=$(BUILD)/selftests/%) $(BENCH) $(HVX_RUN_TEST)

$(BUILD)/selftests/%: selftests/hvx/%.c $(SELFTEST_LIB) $(SELFTEST_HDR) \
		uapi/linux/hvx.h $(LINUX_TOOLS)/.done
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -pthread \
		-I$(LINUX_TOOLS)/tools/testing/selftests \
		-o $@ $< $(EXTRA_SRC) $(SELFTEST_LIB)

# fuzz_test, the hostile-input suite, is three files.
FUZZ_SRC := selftests/hvx/fuzz_lib.c selftests/hvx/fuzz_guest.c
$(BUILD)/selftests/fuzz_test: EXTRA_SRC := $(FUZZ_SRC)
$(BUILD)/selftests/fuzz_test: $(FUZZ_SRC) selftests/hvx/fuzz.h

# trace_test builds in the tracefs format files the bpftrace scripts are
# checked against.
$(BUILD)/selftests/trace_test: \
	$(wildcard userspace/tools/tracefs/events/hvx/*/format)

$(BENCH): selftests/hvx/bench.c $(SELFTEST_LIB) $(SELFTEST_HDR) \
		uapi/linux/hvx.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(SELFTEST_LIB)

# The MMIO decoder (module/vmx/decode.c, no kernel dependencies) against a
# table of instruction bytes from the host assembler; the table's bytes are
# checked against `as` too when python3 is there.
DECODE_TEST := $(BUILD)/host/decode_test
DECODE_TABLE := selftests/host/decode_table.txt

host-test: $(DECODE_TEST)
	$(DECODE_TEST) $(DECODE_TABLE)
	@if command -v python3 >/dev/null; then \
		scripts/gen-decode-table.py --check && \
		echo "# $(DECODE_TABLE): bytes match the assembler"; \
	fi

$(DECODE_TEST): selftests/host/decode_test.c module/vmx/decode.c \
		module/vmx/decode.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -Imodule/vmx -o $@ $< module/vmx/decode.c

# hvx_run_test (a shell script) and the guests it boots with hvx-run.
GUESTS := selftests/hvx-run/guests

$(BUILD)/selftests/hvx_run_test: selftests/hvx-run/hvx_run_test.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(BUILD)/selftests/qemu_test: selftests/qemu/qemu_test.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(BUILD)/selftests/hvx-run-flat.bin: $(GUESTS)/flat.S
	@mkdir -p $(BUILD)/guests
	$(CC) -c -o $(BUILD)/guests/flat.o $<
	$(LD) -Ttext=0 --oformat=binary -e _start -o $@ $(BUILD)/guests/flat.o

$(BUILD)/selftests/hvx-run-multiboot.elf: $(GUESTS)/multiboot.S $(GUESTS)/multiboot.lds
	@mkdir -p $(BUILD)/guests
	$(CC) -m32 -c -o $(BUILD)/guests/multiboot.o $<
	$(LD) -m elf_i386 --no-warn-rwx-segments -T $(GUESTS)/multiboot.lds \
		-o $@ $(BUILD)/guests/multiboot.o

$(BUILD)/selftests/hvx-run-initramfs.cpio: scripts/mkinitramfs.sh
	@mkdir -p $(@D)
	scripts/mkinitramfs.sh $@

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

kvm-selftests: deps
	scripts/kvm-selftests.sh build

kvm-selftests-vm: deps
	scripts/kvm-selftests.sh vm "$(or $(KSERIES),6.1)"

# The module goes in only when the kernel is named (KDIR=...): installing
# into the running kernel's tree by default would surprise a packager.
install: userspace
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(DATADIR)/bpftrace
	install -m 0755 $(TOOLS:%=$(BUILD)/bin/%) $(DESTDIR)$(BINDIR)/
	install -m 0644 uapi/linux/hvx.h $(DESTDIR)$(INCLUDEDIR)/linux/
	install -m 0755 $(BPFTRACE_SCRIPTS) $(DESTDIR)$(DATADIR)/bpftrace/
ifneq ($(filter command line environment,$(origin KDIR)),)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		modules_install
endif

install-dkms:
	install -d $(DESTDIR)/usr/src/hvx-$(DKMS_VERSION)
	cp -r Kbuild dkms.conf module uapi \
		$(DESTDIR)/usr/src/hvx-$(DKMS_VERSION)/
	find $(DESTDIR)/usr/src/hvx-$(DKMS_VERSION) \( -name '*.o' -o \
		-name '.*.cmd' -o -name '*.mod*' -o -name '*.ko' \) -delete

clean:
	rm -rf $(BUILD)
	rm -f hvx.ko hvx.mod hvx.mod.c hvx.o modules.order Module.symvers
	find module \( -name '*.o' -o -name '.*.cmd' \) -delete
	rm -f .*.cmd .hvx* hvx.mod.o
