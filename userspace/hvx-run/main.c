// SPDX-License-Identifier: GPL-2.0
/*
 * hvx-run: boot a Linux bzImage, a multiboot kernel or a flat real-mode
 * binary on /dev/hvx, or on /dev/kvm with exactly the same code: --smp N
 * vCPUs with the device's in-kernel irqchip (local APICs, IOAPIC, PIC), or
 * one vCPU with the PIC in this process (--irqchip=user); the PIT, the
 * UART and the rest of the PC in this process either way.
 *
 *   hvx-run [-m SIZE] [--device PATH] --kernel FILE [--initrd FILE]
 *           [--append CMDLINE] [--flat ADDR] [--debug-exit PORT] [-v]
 *           [--smp N] [--irqchip=kernel|user]
 *
 * Exit status: 0 when the guest powers off (HLT with interrupts disabled)
 * or resets (keyboard controller or port 0xcf9), or on Ctrl-A x; the
 * debug-exit value v as (v << 1) | 1; 1 when the guest dies (triple fault,
 * failed entry, internal error) or the launcher fails; 2 for bad usage.
 * See Documentation/hvx-run.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/hvx.h>

#include "hvx-run.h"

#define MEM_MIN		(2 * MIB)
#define MEM_MAX		(64 * GIB)
/* Where KVM's Intel real-mode support may put its TSS (as QEMU does). */
#define TSS_REGION	0xfffbd000

/* What the launcher needs from the device. */
static const struct {
	long cap;
	const char *name;
	const char *why;
	bool linux_only;
} caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY",
	  "guest RAM (KVM_SET_USER_MEMORY_REGION)", false },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
	  "stopping the vCPU for timer interrupts", false },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID",
	  "the guest CPUID table (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2)",
	  true },
};

/* What the in-kernel irqchip model needs in addition. */
static const struct {
	long cap;
	const char *name;
	const char *why;
} irqchip_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP",
	  "the in-kernel irqchip (KVM_CREATE_IRQCHIP, KVM_IRQ_LINE)" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE",
	  "seeing the guest power off (KVM_GET_MP_STATE)" },
};

static const char *prog = "hvx-run";

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

void *guest_ptr(struct machine *m, u64 gpa, u64 len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= m->low_size)
		return m->ram + gpa;
	if (gpa >= HIGH_RAM_BASE &&
	    gpa + len - HIGH_RAM_BASE <= m->ram_size - m->low_size)
		return m->ram + m->low_size + (gpa - HIGH_RAM_BASE);
	return NULL;
}

static void print_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"Usage: %s [options] --kernel FILE\n"
		"  -k, --kernel FILE      bzImage, multiboot ELF, or flat binary (--flat)\n"
		"  -i, --initrd FILE      Linux initrd (multiboot: loaded as a module)\n"
		"  -a, --append CMDLINE   kernel command line\n"
		"  -m, --mem SIZE         guest RAM, K/M/G suffix, default 256M\n"
		"  -d, --device PATH      KVM-API device, default %s (or /dev/kvm)\n"
		"  -f, --flat ADDR        load FILE at ADDR, start in real mode there\n"
		"  -x, --debug-exit PORT  port whose write of v ends with (v << 1) | 1\n"
		"  -v, --verbose          report unclaimed MMIO and the end of the guest\n"
		"  -s, --smp N            N vCPUs (1-%d, default 1); needs the kernel irqchip\n"
		"      --irqchip=MODE     kernel (the default when the device has\n"
		"                         KVM_CAP_IRQCHIP) or user (PIC in hvx-run, 1 vCPU)\n"
		"Console: the guest's COM1; Ctrl-A x quits.\n",
		prog, HVX_DEVICE_PATH, SMP_MAX);
	exit(status);
}

static u64 parse_number(const char *what, const char *s, bool size)
{
	u64 v, shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		goto bad;
	if (size) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			end++;
			break;
		case 'm':
		case 'M':
			shift = 20;
			end++;
			break;
		case '\0':
			shift = 20;	/* MiB by default, as QEMU's -m */
			break;
		case 'g':
		case 'G':
			shift = 30;
			end++;
			break;
		}
		if (v > (UINT64_MAX >> shift))
			goto bad;
		v <<= shift;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'd' },
		{ "flat", required_argument, NULL, 'f' },
		{ "debug-exit", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "smp", required_argument, NULL, 's' },
		{ "irqchip", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	u64 v;
	int c;

	*o = (struct options){
		.device = HVX_DEVICE_PATH,
		.mem_size = 256 * MIB,
		.debug_exit_port = -1,
		.smp = 1,
	};
	while ((c = getopt_long(argc, argv, "k:i:a:m:d:f:x:s:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'a':
			o->append = optarg;
			break;
		case 'd':
			o->device = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			print_usage(0);
			break;
		case 'm':
			o->mem_size = parse_number("memory size", optarg, true);
			if (o->mem_size < MEM_MIN || o->mem_size > MEM_MAX ||
			    o->mem_size % 4096) {
				fprintf(stderr,
					"%s: memory size '%s': 2 MiB to 64 GiB, in 4 KiB units\n",
					prog, optarg);
				exit(2);
			}
			break;
		case 'f':
			o->flat_addr = parse_number("--flat address", optarg, false);
			o->flat = true;
			break;
		case 'x':
			v = parse_number("--debug-exit port", optarg, false);
			if (v > 0xffff) {
				fprintf(stderr, "%s: --debug-exit port 0x%llx is above 0xffff\n",
					prog, (unsigned long long)v);
				exit(2);
			}
			o->debug_exit_port = v;
			break;
		case 's':
			v = parse_number("--smp count", optarg, false);
			if (v < 1 || v > SMP_MAX) {
				fprintf(stderr, "%s: --smp %s: 1 to %d vCPUs\n",
					prog, optarg, SMP_MAX);
				exit(2);
			}
			o->smp = v;
			break;
		case 'I':
			if (!strcmp(optarg, "kernel")) {
				o->irqchip = IRQCHIP_KERNEL;
			} else if (!strcmp(optarg, "user")) {
				o->irqchip = IRQCHIP_USER;
			} else {
				fprintf(stderr, "%s: --irqchip '%s': kernel or user\n",
					prog, optarg);
				exit(2);
			}
			break;
		default:
			print_usage(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		print_usage(2);
	}
	if (!o->kernel) {
		fprintf(stderr, "%s: --kernel is required\n", prog);
		print_usage(2);
	}
	if (o->smp > 1 && o->irqchip == IRQCHIP_USER) {
		fprintf(stderr,
			"%s: --smp %d needs --irqchip=kernel (the userspace PIC serves one vCPU)\n",
			prog, o->smp);
		exit(2);
	}
}

static int check_cap(struct machine *m, long cap)
{
	return ioctl(m->sys_fd, KVM_CHECK_EXTENSION, cap);
}

/*
 * The interrupt model: what was asked for, else the in-kernel irqchip
 * when the device offers it (it is what SMP and a stock Linux command line
 * need), else the userspace PIC.
 */
static void choose_irqchip(struct machine *m)
{
	const struct options *o = m->opt;
	unsigned int i;
	int max;

	m->kernel_irqchip = o->irqchip == IRQCHIP_KERNEL ||
		(o->irqchip == IRQCHIP_DEFAULT &&
		 check_cap(m, KVM_CAP_IRQCHIP) > 0);
	if (!m->kernel_irqchip) {
		if (o->smp > 1)
			die("%s lacks KVM_CAP_IRQCHIP, needed for --smp %d",
			    o->device, o->smp);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(irqchip_caps); i++)
		if (check_cap(m, irqchip_caps[i].cap) <= 0)
			die("%s lacks %s, needed for %s%s", o->device,
			    irqchip_caps[i].name, irqchip_caps[i].why,
			    o->irqchip == IRQCHIP_KERNEL ? "" :
			    " (--irqchip=user does without)");
	/* api.rst, KVM_CAP_NR_VCPUS: 4 when the capability is absent. */
	max = check_cap(m, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = check_cap(m, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (o->smp > max)
		die("%s runs at most %d vCPUs per VM (--smp %d)", o->device,
		    max, o->smp);
}

static void vcpu_create(struct machine *m, int id)
{
	struct vcpu *v = &m->vcpus[id];

	v->m = m;
	v->id = id;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		die("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		die("cannot map the kvm_run of vCPU %d: %s", id,
		    strerror(errno));
}

void check_caps(struct machine *m, bool for_linux)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		if (caps[i].linux_only != for_linux)
			continue;
		if (ioctl(m->sys_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
			die("%s lacks %s, needed for %s%s", m->opt->device,
			    caps[i].name, caps[i].why,
			    for_linux ? " to boot Linux" : "");
	}
}

static void set_memory(struct machine *m, u32 slot, u64 gpa,
		       u64 size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION (%llu MiB at 0x%llx): %s",
		    (unsigned long long)size / MIB, (unsigned long long)gpa,
		    strerror(errno));
}

static void machine_create(struct machine *m)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int i, r;

	m->sys_fd = open(m->opt->device, O_RDWR | O_CLOEXEC);
	if (m->sys_fd < 0)
		die("cannot open %s: %s%s", m->opt->device, strerror(errno),
		    errno == ENOENT && !strcmp(m->opt->device, HVX_DEVICE_PATH) ?
		    " (is hvx.ko loaded?)" : "");
	r = ioctl(m->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		die("%s: KVM API version %d, expected %d (not a KVM-API device?)",
		    m->opt->device, r, KVM_API_VERSION);
	check_caps(m, false);

	choose_irqchip(m);

	m->vm_fd = ioctl(m->sys_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	/* Before the vCPUs: they get their local APICs at creation. */
	if (m->kernel_irqchip && ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(m->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(m->vm_fd, KVM_SET_TSS_ADDR, TSS_REGION))
		die("KVM_SET_TSS_ADDR: %s", strerror(errno));

	m->ram_size = m->opt->mem_size;
	m->low_size = m->ram_size < LOW_RAM_MAX ? m->ram_size : LOW_RAM_MAX;
	m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED)
		die("cannot allocate %llu MiB of guest RAM: %s",
		    (unsigned long long)m->ram_size / MIB, strerror(errno));
	set_memory(m, 0, 0, m->low_size, m->ram);
	if (m->ram_size > m->low_size)
		set_memory(m, 1, HIGH_RAM_BASE, m->ram_size - m->low_size,
			   m->ram + m->low_size);

	r = ioctl(m->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE: %d", r);
	m->run_size = r;
	m->nr_vcpus = m->opt->smp;
	m->vcpus = calloc(m->nr_vcpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		die("out of memory");
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_create(m, i);
	m->vcpu_fd = m->vcpus[0].fd;
	m->run = m->vcpus[0].run;
	/* The bootstrap processor's; the others' come with INIT/SIPI. */
	if (ioctl(m->vcpu_fd, KVM_SET_FPU, &fpu))
		die("KVM_SET_FPU: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct options opt;
	struct machine m = { .opt = &opt };

	parse_options(argc, argv, &opt);
	machine_create(&m);
	/*
	 * CPUID first: KVM_SET_SREGS checks EFER and CR4 against it. Without
	 * CPUID support a flat or multiboot guest sees the device's default
	 * (load_guest() refuses to boot Linux).
	 */
	if (ioctl(m.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID) > 0)
		cpu_setup_cpuid(&m);
	else if (m.nr_vcpus > 1)
		die("%s lacks KVM_CAP_EXT_CPUID, needed to give each of the %d vCPUs its APIC ID",
		    opt.device, m.nr_vcpus);
	/* Before the kernel: a flat image that overlaps it wins. */
	if (m.kernel_irqchip)
		mptable_setup(&m);
	load_guest(&m);

	irq_init(&m);
	serial_init(STDIN_FILENO, STDOUT_FILENO);
	console_init();
	if (m.kernel_irqchip)
		smp_run(&m);
	else
		vcpu_loop(&m);
	console_restore();

	switch (m.end) {
	case END_RESET:
		warnx("the guest reset the machine");
		break;
	case END_POWEROFF:
		if (opt.verbose)
			warnx("the guest powered off");
		break;
	case END_QUIT:
		warnx("quit (Ctrl-A x)");
		break;
	default:
		break;
	}
	return m.exit_status;
}
