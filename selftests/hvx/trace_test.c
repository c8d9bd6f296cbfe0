// SPDX-License-Identifier: GPL-2.0
/*
 * hvx's observability: the tracepoints (tracefs events/hvx/) fire with the
 * right fields, the debugfs exit counters (hvx/<pid>-<vm id>/) equal the
 * exits a guest made, hvx-stat shows them, and a statistics file left
 * open across the VM's destruction fails cleanly.
 *
 * The guest makes known exits: N CPUIDs, M OUTs (each one a KVM_EXIT_IO
 * to userspace) and one HLT (KVM_EXIT_HLT).  Other exits (EPT violations,
 * host interrupts) happen too; the test checks the ones it knows exactly
 * and the totals against the trace.
 *
 * The bpftrace scripts in userspace/tools/ are compiled on the host against
 * a copy of the events' tracefs format files (userspace/tools/tracefs/);
 * the formats test checks that copy, built into this binary, against the
 * real files.
 *
 * hvx-only (tracepoints and debugfs are not KVM's ABI): in HVX_SELFTESTS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "util.h"

#define TRACEFS		"/sys/kernel/tracing"
#define HVX_DEBUGFS	"/sys/kernel/debug/hvx"

#define NR_CPUID	50
#define NR_OUT		20

/* VMX basic exit reasons (Intel SDM Vol. 3D, Appendix C). */
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_HLT			12
#define EXIT_REASON_IO_INSTRUCTION	30

/*
 * %esi CPUIDs, then %edi reports (32-bit OUT to UCALL_PORT_VALUE) of a
 * count down, then HLT.
 */
GUEST_CODE(code_exits,
	   "1:\n"
	   "xorl %eax, %eax\n"
	   "cpuid\n"
	   "decl %esi\n"
	   "jnz 1b\n"
	   "2:\n"
	   "movl %edi, %eax\n"
	   GUEST_REPORT
	   "decl %edi\n"
	   "jnz 2b\n"
	   "hlt\n"
	   GUEST_DONE);

/*
 * The host's copy of each event's format file, built in from the source
 * tree (the Makefile compiles from the top directory).
 */
#define FORMAT_FIXTURE(ev)						\
	asm(".pushsection .rodata.formats, \"a\"\n"			\
	    #ev "_fixture:\n"						\
	    ".incbin \"userspace/tools/tracefs/events/hvx/" #ev "/format\"\n" \
	    ".byte 0\n"							\
	    ".popsection\n"); extern const char ev##_fixture[]

FORMAT_FIXTURE(hvx_vm_create);
FORMAT_FIXTURE(hvx_vm_destroy);
FORMAT_FIXTURE(hvx_vcpu_create);
FORMAT_FIXTURE(hvx_vcpu_destroy);
FORMAT_FIXTURE(hvx_userspace_exit);
FORMAT_FIXTURE(hvx_fault_in);
FORMAT_FIXTURE(hvx_entry);
FORMAT_FIXTURE(hvx_exit);
FORMAT_FIXTURE(hvx_inject);

static const struct {
	const char *event;
	const char *fixture;
} formats[] = {
	{ "hvx_vm_create", hvx_vm_create_fixture },
	{ "hvx_vm_destroy", hvx_vm_destroy_fixture },
	{ "hvx_vcpu_create", hvx_vcpu_create_fixture },
	{ "hvx_vcpu_destroy", hvx_vcpu_destroy_fixture },
	{ "hvx_userspace_exit", hvx_userspace_exit_fixture },
	{ "hvx_fault_in", hvx_fault_in_fixture },
	{ "hvx_entry", hvx_entry_fixture },
	{ "hvx_exit", hvx_exit_fixture },
	{ "hvx_inject", hvx_inject_fixture },
};

/* The "\tfield:" lines of a format file, what bpftrace reads. */
static void format_fields(const char *text, char *out, size_t size)
{
	const char *line, *end;
	size_t len = 0;

	out[0] = 0;
	for (line = text; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (!strncmp(line, "\tfield:", 7) &&
		    len + (end - line) + 2 < size) {
			memcpy(out + len, line, end - line);
			len += end - line;
			out[len++] = '\n';
			out[len] = 0;
		}
		if (!*end)
			break;
	}
}

/*
 * VMCALL: hvx injects #UD (the guest has no VMX); with no usable IDT gate
 * its delivery ends in a triple fault.
 */
GUEST_CODE(code_vmcall,
	   "vmcall\n"
	   GUEST_FAIL);

/* Run code_exits to its HLT, checking each report. */
static void run_exits(struct kvm_vm **vmp, struct kvm_vcpu **vcpu)
{
	struct kvm_regs regs;
	unsigned int i;

	*vmp = vm_create_guest(GUEST_MODE_PROTECTED, &code_exits, vcpu);
	vcpu_regs_get(*vcpu, &regs);
	regs.rsi = NR_CPUID;
	regs.rdi = NR_OUT;
	vcpu_regs_set(*vcpu, &regs);
	for (i = NR_OUT; i > 0; i--)
		KVM_ASSERT(vcpu_run_value(*vcpu) == i, "bad report");
	vcpu_run(*vcpu);
	KVM_ASSERT((*vcpu)->run->exit_reason == KVM_EXIT_HLT,
		   "expected HLT, got %s", vcpu_exit_str(*vcpu));
}

/* The name ("<pid>-<id>") of this process's only VM directory in debugfs. */
static int find_vm_dir(char *name, size_t size)
{
	char prefix[32];
	struct dirent *d;
	int found = 0;
	DIR *dir;

	dir = opendir(HVX_DEBUGFS);
	if (!dir)
		return -errno;
	snprintf(prefix, sizeof(prefix), "%d-", getpid());
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(name, size, "%s", d->d_name);
		found++;
	}
	closedir(dir);
	return found == 1 ? 0 : -ENOENT;
}

/* A counter from a debugfs statistics file ("<name> <value>" lines). */
static long long stat_value(const char *path, const char *counter)
{
	char line[256], name[128];
	long long value, r = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", name, &value) == 2 &&
		    !strcmp(name, counter))
			r = value;	/* absent: zero */
	}
	fclose(f);
	return r;
}

/* As "echo text > file": O_TRUNC clears the trace buffer or a list. */
static int tracefs_write(const char *file, const char *text)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = *text ? write(fd, text, strlen(text)) : 0;
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static bool tracefs_has_hvx(void)
{
	return access(TRACEFS "/events/hvx/hvx_exit/enable", W_OK) == 0;
}

/* Every hvx event on, for this process only, into an empty buffer. */
static int trace_start(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (tracefs_write("tracing_on", "0\n") ||
	    tracefs_write("set_event_pid", pid) ||
	    tracefs_write("buffer_size_kb", "4096\n") ||
	    tracefs_write("trace", "") ||
	    tracefs_write("events/hvx/enable", "1\n") ||
	    tracefs_write("tracing_on", "1\n"))
		return -1;
	return 0;
}

/* Events off; the buffer keeps them; tracing back on (the default). */
static void trace_stop(void)
{
	tracefs_write("tracing_on", "0\n");
	tracefs_write("events/hvx/enable", "0\n");
	tracefs_write("set_event_pid", "");
}

static void trace_restore(void)
{
	trace_stop();
	tracefs_write("tracing_on", "1\n");
}

/* What the trace says about VM vm_id. */
struct trace_counts {
	long entries, exits, cpuid, io, hlt, bad_io;
	long user_io, user_hlt, user_other, user_bad_ret;
	long fault_ins, bad_fault;
	long vm_create, vcpu_create, vcpu_destroy, vm_destroy;
	long inject_ud, entry_ud;
	unsigned long long cpuid_rip, io_rip;
	bool cpuid_rip_varies, io_rip_varies;
	long written, in_buffer;
};

static void count_line(struct trace_counts *c, const char *line,
		       unsigned int vm_id)
{
	unsigned long long qual, rip, gpa, pfn;
	unsigned int vm, vcpu, reason, info, slot;
	char name[64];
	const char *p;
	int pid, ret;

	p = strstr(line, ": hvx_");
	if (!p)
		return;
	p += 2;
	if (sscanf(p, "hvx_vm_create: vm %u pid %d", &vm, &pid) == 2) {
		c->vm_create += vm == vm_id && pid == getpid();
	} else if (sscanf(p, "hvx_vm_destroy: vm %u", &vm) == 1) {
		c->vm_destroy += vm == vm_id;
	} else if (sscanf(p, "hvx_vcpu_create: vm %u vcpu %u", &vm,
			  &vcpu) == 2) {
		c->vcpu_create += vm == vm_id && vcpu == 0;
	} else if (sscanf(p, "hvx_vcpu_destroy: vm %u vcpu %u", &vm,
			  &vcpu) == 2) {
		c->vcpu_destroy += vm == vm_id && vcpu == 0;
	} else if (sscanf(p, "hvx_entry: vm %u vcpu %u rip %llx intr_info %x",
			  &vm, &vcpu, &rip, &info) == 4) {
		c->entries += vm == vm_id && vcpu == 0;
		/* Valid, hardware exception, vector 6 (Intel SDM 25.8.3). */
		c->entry_ud += vm == vm_id && info == 0x80000306;
	} else if (sscanf(p, "hvx_inject: vcpu %u vector %u type %63s", &vcpu,
			  &reason, name) == 3) {
		c->inject_ud += vcpu == 0 && reason == 6 &&
				!strcmp(name, "HARD_EXCEPTION");
	} else if (sscanf(p,
			  "hvx_exit: vm %u vcpu %u reason %63s (%x) qual %llx rip %llx intr_info %x",
			  &vm, &vcpu, name, &reason, &qual, &rip,
			  &info) == 7) {
		if (vm != vm_id || vcpu != 0)
			return;
		c->exits++;
		if (reason == EXIT_REASON_CPUID && !strcmp(name, "CPUID")) {
			if (c->cpuid && rip != c->cpuid_rip)
				c->cpuid_rip_varies = true;
			c->cpuid_rip = rip;
			c->cpuid++;
		} else if (reason == EXIT_REASON_IO_INSTRUCTION &&
			   !strcmp(name, "IO_INSTRUCTION")) {
			/*
			 * OUT imm8 of 4 bytes (Intel SDM Vol. 3C, Table
			 * 28-5): port in 31:16, immediate operand (bit 6),
			 * size - 1 in 2:0, direction 0 (out).
			 */
			if (qual != ((UCALL_PORT_VALUE << 16) | 0x40 | 3))
				c->bad_io++;
			if (c->io && rip != c->io_rip)
				c->io_rip_varies = true;
			c->io_rip = rip;
			c->io++;
		} else if (reason == EXIT_REASON_HLT && !strcmp(name, "HLT")) {
			c->hlt++;
		}
	} else if (sscanf(p,
			  "hvx_userspace_exit: vm %u vcpu %u reason %63s (%u) ret %d",
			  &vm, &vcpu, name, &reason, &ret) == 5) {
		if (vm != vm_id || vcpu != 0)
			return;
		if (ret)
			c->user_bad_ret++;
		if (reason == KVM_EXIT_IO && !strcmp(name, "IO"))
			c->user_io++;
		else if (reason == KVM_EXIT_HLT && !strcmp(name, "HLT"))
			c->user_hlt++;
		else
			c->user_other++;
	} else if (sscanf(p, "hvx_fault_in: vm %u gpa %llx slot %u pfn %llx",
			  &vm, &gpa, &slot, &pfn) == 4) {
		if (vm != vm_id)
			return;
		c->fault_ins++;
		if (slot != GUEST_SLOT_MAIN || gpa >= GUEST_MAIN_SIZE || !pfn)
			c->bad_fault++;
	}
}

static int read_trace(struct trace_counts *c, unsigned int vm_id)
{
	char line[512];
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "# entries-in-buffer/entries-written: 123/123   #P:2" */
		if (sscanf(line, "# entries-in-buffer/entries-written: %ld/%ld",
			   &c->in_buffer, &c->written) == 2)
			continue;
		count_line(c, line, vm_id);
	}
	fclose(f);
	return 0;
}

FIXTURE(trace) {
	bool loaded_here;
};

FIXTURE_SETUP(trace)
{
	if (!test_device_is_hvx())
		SKIP(return, "hvx's own tracepoints and debugfs files");
	ASSERT_EQ(0, test_device_prepare(&self->loaded_here));
}

FIXTURE_TEARDOWN(trace)
{
	if (!test_device_is_hvx())
		return;
	if (tracefs_has_hvx())
		trace_restore();
	test_device_release(self->loaded_here);
}

/*
 * Every event fires for the guest's exits with the right fields, and the
 * trace agrees with the counters.
 */
TEST_F(trace, tracepoints)
{
	char dir[256], path[PATH_MAX];
	struct trace_counts c;
	struct kvm_vcpu *vcpu;
	unsigned int vm_id;
	struct kvm_vm *vm;
	long long exits, fault_ins;

	if (!tracefs_has_hvx())
		SKIP(return, "no tracefs with events/hvx at " TRACEFS);
	ASSERT_EQ(0, trace_start());

	run_exits(&vm, &vcpu);
	ASSERT_EQ(0, find_vm_dir(dir, sizeof(dir)));
	vm_id = strtoul(strchr(dir, '-') + 1, NULL, 10);
	snprintf(path, sizeof(path), HVX_DEBUGFS "/%s/vcpu0/stats", dir);
	exits = stat_value(path, "exits");
	fault_ins = stat_value(path, "fault_ins");
	vm_free(vm);
	trace_stop();

	ASSERT_EQ(0, read_trace(&c, vm_id));
	TH_LOG("trace: %ld entries, %ld exits, %ld fault-ins", c.entries,
	       c.exits, c.fault_ins);
	TH_LOG("trace: %ld CPUID, %ld IO, %ld HLT exits", c.cpuid, c.io,
	       c.hlt);
	TH_LOG("counters: %lld exits, %lld fault-ins", exits, fault_ins);
	ASSERT_EQ(c.written, c.in_buffer) TH_LOG("trace events were lost");

	EXPECT_EQ(1, c.vm_create);
	EXPECT_EQ(1, c.vcpu_create);
	EXPECT_EQ(1, c.vcpu_destroy);
	EXPECT_EQ(1, c.vm_destroy);

	EXPECT_EQ(NR_CPUID, c.cpuid);
	EXPECT_FALSE(c.cpuid_rip_varies);
	EXPECT_LE(GUEST_CODE_GPA, c.cpuid_rip);
	EXPECT_GT(GUEST_CODE_GPA + GUEST_CODE_MAX, c.cpuid_rip);
	EXPECT_EQ(NR_OUT, c.io);
	EXPECT_EQ(0, c.bad_io);
	EXPECT_FALSE(c.io_rip_varies);
	EXPECT_LT(c.cpuid_rip, c.io_rip);
	EXPECT_GT(GUEST_CODE_GPA + GUEST_CODE_MAX, c.io_rip);
	EXPECT_EQ(1, c.hlt);
	/* Each exit follows an entry; the first entry's guest faults in. */
	EXPECT_EQ(c.entries, c.exits);
	EXPECT_EQ(exits, c.exits);

	EXPECT_EQ(NR_OUT, c.user_io);
	EXPECT_EQ(1, c.user_hlt);
	EXPECT_EQ(0, c.user_other);
	EXPECT_EQ(0, c.user_bad_ret);

	EXPECT_LT(0, c.fault_ins);
	EXPECT_EQ(fault_ins, c.fault_ins);
	EXPECT_EQ(0, c.bad_fault);
}

/*
 * An injected exception: the hvx_inject event, the entry carrying it, and
 * the injection counter.
 */
TEST_F(trace, injection)
{
	char dir[256], path[PATH_MAX];
	struct trace_counts c;
	struct kvm_vcpu *vcpu;
	unsigned int vm_id;
	struct kvm_vm *vm;

	if (!tracefs_has_hvx())
		SKIP(return, "no tracefs with events/hvx at " TRACEFS);
	ASSERT_EQ(0, trace_start());
	vm = vm_create_guest(GUEST_MODE_PROTECTED, &code_vmcall, &vcpu);
	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_SHUTDOWN, (int)vcpu->run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(vcpu));
	ASSERT_EQ(0, find_vm_dir(dir, sizeof(dir)));
	vm_id = strtoul(strchr(dir, '-') + 1, NULL, 10);
	snprintf(path, sizeof(path), HVX_DEBUGFS "/%s/vcpu0/stats", dir);
	EXPECT_EQ(1, stat_value(path, "injections"));
	EXPECT_EQ(1, stat_value(path, "exit.VMCALL"));
	EXPECT_EQ(1, stat_value(path, "exit.TRIPLE_FAULT"));
	EXPECT_EQ(1, stat_value(path, "user_exit.SHUTDOWN"));
	vm_free(vm);
	trace_stop();

	ASSERT_EQ(0, read_trace(&c, vm_id));
	EXPECT_EQ(1, c.inject_ud);
	/* Again if the delivery faulted in the IDT page (re-injected). */
	EXPECT_LE(1, c.entry_ud);
}

/*
 * The format files the host compiles the bpftrace scripts against have
 * the fields, types, offsets and sizes of the real events.
 */
TEST_F(trace, formats)
{
	char path[PATH_MAX], text[4096], real[4096], copy[4096];
	unsigned int i;

	if (!tracefs_has_hvx())
		SKIP(return, "no tracefs with events/hvx at " TRACEFS);
	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/hvx/%s/format",
			 formats[i].event);
		ASSERT_LT(0, read_text(path, text, sizeof(text)))
			TH_LOG("%s", path);
		format_fields(text, real, sizeof(real));
		format_fields(formats[i].fixture, copy, sizeof(copy));
		EXPECT_STREQ(copy, real)
			TH_LOG("%s differs from userspace/tools/tracefs; real fields:\n%s",
			       path, real);
	}
}

/* A copy of hvx-stat from the directory of this test binary. */
static int hvx_stat_path(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -1;
	self[n] = 0;
	snprintf(path, size, "%s/hvx-stat", dirname(self));
	return access(path, X_OK);
}

/*
 * Tracing off: the counters of the vCPU and of the VM equal the exits the
 * guest made, and hvx-stat --once prints them.
 */
TEST_F(trace, counters)
{
	char dir[256], vcpu_path[PATH_MAX], vm_path[PATH_MAX];
	char tool[PATH_MAX], cmd[PATH_MAX + 512], line[256], name[128];
	long long value, stat_cpuid = -1, stat_hlt = -1, stat_user_io = -1;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	const char *p;
	FILE *f;

	run_exits(&vm, &vcpu);
	ASSERT_EQ(0, find_vm_dir(dir, sizeof(dir)));
	snprintf(vcpu_path, sizeof(vcpu_path), HVX_DEBUGFS "/%s/vcpu0/stats",
		 dir);
	snprintf(vm_path, sizeof(vm_path), HVX_DEBUGFS "/%s/stats", dir);

	for (p = vcpu_path; p; p = p == vcpu_path ? vm_path : NULL) {
		EXPECT_EQ(NR_CPUID, stat_value(p, "exit.CPUID")) TH_LOG("%s", p);
		EXPECT_EQ(NR_OUT, stat_value(p, "exit.IO_INSTRUCTION"))
			TH_LOG("%s", p);
		EXPECT_EQ(1, stat_value(p, "exit.HLT")) TH_LOG("%s", p);
		EXPECT_EQ(NR_OUT, stat_value(p, "user_exit.IO")) TH_LOG("%s", p);
		EXPECT_EQ(1, stat_value(p, "user_exit.HLT")) TH_LOG("%s", p);
		EXPECT_EQ(NR_OUT + 1, stat_value(p, "user_exits"))
			TH_LOG("%s", p);
		EXPECT_EQ(0, stat_value(p, "failed_entries")) TH_LOG("%s", p);
		EXPECT_LT(0, stat_value(p, "fault_ins")) TH_LOG("%s", p);
		EXPECT_LE(NR_CPUID + NR_OUT + 1, stat_value(p, "exits"))
			TH_LOG("%s", p);
	}
	EXPECT_EQ(1, stat_value(vm_path, "vcpus"));

	ASSERT_EQ(0, hvx_stat_path(tool, sizeof(tool)))
		TH_LOG("no hvx-stat next to the test");
	snprintf(cmd, sizeof(cmd), "%s --once --vm %s", tool, dir);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", name, &value) != 2)
			continue;
		if (!strcmp(name, "exit.CPUID"))
			stat_cpuid = value;
		else if (!strcmp(name, "exit.HLT"))
			stat_hlt = value;
		else if (!strcmp(name, "user_exit.IO"))
			stat_user_io = value;
	}
	EXPECT_EQ(0, pclose(f));
	EXPECT_EQ(NR_CPUID, stat_cpuid);
	EXPECT_EQ(1, stat_hlt);
	EXPECT_EQ(NR_OUT, stat_user_io);

	vm_free(vm);
}

/*
 * A statistics file open across the VM's destruction: reads fail with
 * EIO, nothing is touched after free, and the directory is gone.
 */
TEST_F(trace, stats_outlive_vm)
{
	char dir[256], path[PATH_MAX], buf[4096];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int vm_fd, vcpu_fd;

	run_exits(&vm, &vcpu);
	ASSERT_EQ(0, find_vm_dir(dir, sizeof(dir)));
	snprintf(path, sizeof(path), HVX_DEBUGFS "/%s/stats", dir);
	vm_fd = open(path, O_RDONLY);
	ASSERT_LE(0, vm_fd);
	snprintf(path, sizeof(path), HVX_DEBUGFS "/%s/vcpu0/stats", dir);
	vcpu_fd = open(path, O_RDONLY);
	ASSERT_LE(0, vcpu_fd);
	ASSERT_LT(0, read(vcpu_fd, buf, sizeof(buf)));

	vm_free(vm);

	EXPECT_EQ(-1, read(vm_fd, buf, sizeof(buf)));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, read(vcpu_fd, buf, sizeof(buf)));
	EXPECT_EQ(EIO, errno);
	EXPECT_NE(0, find_vm_dir(dir, sizeof(dir)));
	snprintf(path, sizeof(path), HVX_DEBUGFS "/%s", dir);
	EXPECT_EQ(-1, access(path, F_OK));
	close(vm_fd);
	close(vcpu_fd);
}

TEST_HARNESS_MAIN
