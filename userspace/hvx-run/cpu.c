// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID table and the register dump for a dying guest.
 *
 * The guest runs without a local APIC (the device has no in-kernel
 * irqchip and the launcher models none), so CPUID.1 loses APIC, x2APIC
 * and TSC-deadline. The hypervisor leaves (0x40000000 up) are dropped: they
 * describe paravirtual interfaces (kvmclock, PV EOI, ...) this launcher
 * does not provide, and both devices then present the same machine.
 * The topology leaves describe one CPU in one package (1, 4, 0xb, 0x1f):
 * the device reports its host's, which would tell a one-vCPU guest of
 * sibling threads and cores it does not have.
 *
 * Instead the TSC rate is given the architectural way, by leaf 0x15 (Intel
 * SDM Vol. 2A, CPUID "Time Stamp Counter and Nominal Core Crystal Clock
 * Information"): TSC Hz = ECX * EBX / EAX. It comes from hvx's leaf
 * 0x40000010 (EAX = TSC kHz; 0x40000000 says "hvxhvxhvx") or from
 * KVM_GET_TSC_KHZ, so that Linux's
 * native_calibrate_tsc() knows the rate without a PIT calibration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hvx-run.h"

#define CPUID_1_EDX_APIC	BIT(9)
#define CPUID_1_EDX_HTT		BIT(28)
#define CPUID_1_ECX_X2APIC	BIT(21)
#define CPUID_1_ECX_DEADLINE	BIT(24)
#define HVX_CPUID_TSC_LEAF	0x40000010

static struct kvm_cpuid2 *cpuid_get_supported(struct machine *m)
{
	struct kvm_cpuid2 *c;
	int nent;

	for (nent = 64; nent <= 4096; nent *= 2) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			die("out of memory");
		c->nent = nent;
		if (!ioctl(m->sys_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			/* Room for one more entry: leaf 0x15. */
			c = realloc(c, sizeof(*c) +
				    (c->nent + 1) * sizeof(c->entries[0]));
			if (!c)
				die("out of memory");
			return c;
		}
		free(c);
		if (errno != E2BIG)
			die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	die("KVM_GET_SUPPORTED_CPUID: too many entries");
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c,
					   u32 fn, u32 index)
{
	u32 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static u32 tsc_khz(struct machine *m, struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x40000000, 0);
	char sig[12];
	int r;

	if (e) {
		memcpy(sig, &e->ebx, 4);
		memcpy(sig + 4, &e->ecx, 4);
		memcpy(sig + 8, &e->edx, 4);
	}
	if (e && !memcmp(sig, "hvxhvxhvx", 9)) {
		e = cpuid_find(c, HVX_CPUID_TSC_LEAF, 0);
		return e ? e->eax : 0;
	}
	r = ioctl(m->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	return r > 0 ? r : 0;
}

/* One thread, one core, APIC ID 0 (Intel SDM Vol. 3A, 10.9 / 9.6). */
static void cpuid_one_cpu(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e;
	u32 i;

	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* EBX: APIC ID 31:24, logical processors 23:16. */
			e->ebx = (e->ebx & 0xffff) | 1 << 16;
			e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Cores per package - 1 (31:26), sharing threads - 1. */
			e->eax &= ~(0x3fU << 26 | 0xfffU << 14);
			break;
		case 0xb:
		case 0x1f:
			/* Every level: no ID bits, one processor, x2APIC ID 0. */
			if (e->ecx & 0xff00) {
				e->eax = 0;
				e->ebx = 1;
			}
			e->edx = 0;
			break;
		}
	}
}

void cpu_setup_cpuid(struct machine *m)
{
	struct kvm_cpuid2 *c = cpuid_get_supported(m);
	struct kvm_cpuid_entry2 *e;
	u32 i, j, mult;

	m->tsc_khz = tsc_khz(m, c);

	/* Drop the hypervisor range and the PMU leaf. */
	for (i = j = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if ((e->function & 0xf0000000) == 0x40000000 || e->function == 0xa)
			continue;
		c->entries[j++] = *e;
	}
	c->nent = j;

	cpuid_one_cpu(c);
	e = cpuid_find(c, 1, 0);
	if (e) {
		e->edx &= ~CPUID_1_EDX_APIC;
		e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_DEADLINE);
	}

	if (!m->tsc_khz) {
		warnx("the device reports no TSC rate: the guest calibrates its TSC");
	} else {
		e = cpuid_find(c, 0, 0);
		if (e && e->eax < 0x15)
			e->eax = 0x15;
		e = cpuid_find(c, 0x15, 0);
		if (!e)
			e = &c->entries[c->nent++];
		/*
		 * A crystal in whole kHz that fits ECX: the TSC rate itself
		 * when it is below 4.29 GHz, else a divided-down one.
		 */
		mult = 1 + m->tsc_khz / 4000000;
		*e = (struct kvm_cpuid_entry2){
			.function = 0x15,
			.eax = 1,
			.ebx = mult,
			.ecx = m->tsc_khz / mult * 1000,
		};
	}
	if (ioctl(m->vcpu_fd, KVM_SET_CPUID2, c))
		die("KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr,
		"  %-3s sel %04x base %016llx limit %08x type %x p%u dpl%u s%u l%u db%u g%u%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->type, s->present, s->dpl, s->s, s->l, s->db, s->g,
		s->unusable ? " unusable" : "");
}

void cpu_dump(struct machine *m)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(m->vcpu_fd, KVM_GET_REGS, &r) ||
	    ioctl(m->vcpu_fd, KVM_GET_SREGS, &s)) {
		fprintf(stderr, "  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  rip %016llx rflags %08llx\n",
		r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
		r.rip, r.rflags);
	fprintf(stderr,
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n"
		"  efer %016llx gdt %016llx/%04x idt %016llx/%04x\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
	dump_seg("tr", &s.tr);
}
