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
 *
 * This file: the command line and the top-level sequence. The layers
 * below it, and who calls whom, are in Documentation/hvx-run.rst
 * ("Source layout").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/hvx.h>

#include "hvx-run.h"

#define MEM_MIN		(2 * MIB)
#define MEM_MAX		(64 * GIB)

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

int main(int argc, char **argv)
{
	struct options opt;
	struct machine m = { .opt = &opt };

	parse_options(argc, argv, &opt);
	vm_create(&m);
	/* CPUID first: KVM_SET_SREGS checks EFER and CR4 against it. */
	cpu_setup_cpuid(&m);
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
	return machine_report_end(&m);
}
