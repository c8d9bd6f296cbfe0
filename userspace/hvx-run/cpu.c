// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID table (when the device offers KVM_CAP_EXT_CPUID) and
 * the register dump for a dying guest.
 *
 * With --irqchip=user the guest runs without a local APIC (the launcher
 * models none), so CPUID.1 loses APIC, x2APIC and TSC-deadline. With the
 * in-kernel irqchip each vCPU keeps APIC, and x2APIC and TSC-deadline when
 * the device offers them (its supported table, or KVM_CAP_TSC_DEADLINE_TIMER
 * as QEMU reads it), and gets its own table: initial APIC ID = vCPU id in
 * leaf 1 EBX[31:24] and in the x2APIC ID of leaves 0xb/0x1f.
 *
 * The hypervisor leaves (0x40000000 up) are dropped: they describe
 * paravirtual interfaces (kvmclock, PV EOI, ...) this launcher does not
 * provide, and both devices then present the same machine. The topology
 * leaves (1, 4, 0xb, 0x1f) describe the --smp N vCPUs as N cores of one
 * package, one thread each (Intel SDM Vol. 3A, 10.9 "Programming
 * Considerations for Hardware Multi-threading Capable Processors"): the
 * device reports its host's, which would tell of siblings that do not
 * exist.
 *
 * The TSC rate is given the architectural way, by leaf 0x15 (Intel
 * SDM Vol. 2A, CPUID "Time Stamp Counter and Nominal Core Crystal Clock
 * Information"): TSC Hz = ECX * EBX / EAX. It comes from hvx's leaf
 * 0x40000010 (EAX = TSC kHz; 0x40000000 says "hvxhvxhvx") or from
 * KVM_GET_TSC_KHZ, so that Linux's native_calibrate_tsc() knows the rate
 * without a PIT calibration. Linux also takes the crystal (ECX) as the
 * local APIC timer's clock (lapic_timer_period), so with an in-kernel APIC
 * ECX is that timer's rate: 1 GHz, KVM's APIC bus cycle of 1 ns (the
 * default of KVM_CAP_X86_APIC_BUS_CYCLES_NS), with EBX/EAX the TSC ratio
 * (cpuid_tsc_ratio()).
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

/* Bits of an x2APIC ID that number N cores: ceil(log2(N)). */
static u32 core_shift(u32 n)
{
	u32 s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/*
 * N cores of one thread in one package; this vCPU has APIC ID @id (Intel
 * SDM Vol. 2A, CPUID leaves 01H, 04H, 0BH and 1FH). Leaves 0xb and 0x1f
 * are rebuilt with their SMT and core levels when the table has them.
 */
static void cpuid_topology(struct kvm_cpuid2 *c, u32 n, u32 id)
{
	u32 shift = core_shift(n), i, j, lvl;
	bool has_b = false, has_1f = false;
	struct kvm_cpuid_entry2 *e;

	for (i = j = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* EBX: APIC ID 31:24, addressable IDs 23:16. */
			e->ebx = (e->ebx & 0xffff) | id << 24 |
				 (n > 1 ? 1u << shift : 1) << 16;
			if (n > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4:
			/*
			 * Core IDs per package - 1 (31:26); threads sharing
			 * the cache - 1 (25:14): all cores share level 3.
			 */
			e->eax &= ~(0x3fU << 26 | 0xfffU << 14);
			e->eax |= ((1u << shift) - 1) << 26;
			if ((e->eax >> 5 & 7) == 3)
				e->eax |= ((1u << shift) - 1) << 14;
			break;
		case 0xb:
			has_b = true;
			continue;
		case 0x1f:
			has_1f = true;
			continue;
		}
		c->entries[j++] = *e;
	}
	c->nent = j;
	for (i = 0; i < 2; i++) {
		if (!(i ? has_1f : has_b))
			continue;
		/* SMT (type 1), core (type 2), then an invalid level. */
		for (lvl = 0; lvl < 3; lvl++)
			c->entries[c->nent++] = (struct kvm_cpuid_entry2){
				.function = i ? 0x1f : 0xb,
				.index = lvl,
				.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
				.eax = lvl == 1 ? shift : 0,
				.ebx = lvl == 0 ? 1 : lvl == 1 ? n : 0,
				.ecx = lvl | (lvl < 2 ? (lvl + 1) << 8 : 0),
				.edx = id,
			};
	}
}

static u32 gcd(u32 a, u32 b)
{
	u32 t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * Leaf 0x15 with a 1 GHz crystal (the APIC timer) and EBX/EAX = TSC kHz /
 * 10^6. Linux multiplies the crystal in kHz by EBX in 32 bits
 * (native_calibrate_tsc()), so EBX stays at most 4294: exact when the
 * reduced fraction fits (200 MHz is 1/5), else the nearest ratio with
 * that numerator bound, within 0.5/4294 (120 ppm).
 */
static void cpuid_tsc_ratio(struct kvm_cpuid_entry2 *e, u32 tsc_khz)
{
	const u32 crystal_khz = 1000000, max_num = 0xffffffffU / crystal_khz;
	u32 g = gcd(tsc_khz, crystal_khz), num = tsc_khz / g;
	u32 den = crystal_khz / g;

	if (num > max_num) {
		den = (u64)max_num * crystal_khz / tsc_khz;
		num = ((u64)tsc_khz * den + crystal_khz / 2) / crystal_khz;
	}
	e->eax = den;
	e->ebx = num;
	e->ecx = crystal_khz * 1000;
}

static void cpuid_set_tables(struct machine *m)
{
	struct kvm_cpuid2 *c = cpuid_get_supported(m), *v;
	struct kvm_cpuid_entry2 *e;
	size_t size;
	u32 i, j, mult;
	int id;

	m->tsc_khz = tsc_khz(m, c);

	/* Drop the hypervisor range and the PMU leaf. */
	for (i = j = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if ((e->function & 0xf0000000) == 0x40000000 || e->function == 0xa)
			continue;
		c->entries[j++] = *e;
	}
	c->nent = j;

	e = cpuid_find(c, 1, 0);
	if (e && !m->kernel_irqchip) {
		e->edx &= ~CPUID_1_EDX_APIC;
		e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_DEADLINE);
	} else if (e && ioctl(m->sys_fd, KVM_CHECK_EXTENSION,
			      KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		e->ecx |= CPUID_1_ECX_DEADLINE;
	}
	if (e) {
		m->cpu_signature = e->eax;
		m->cpu_features = e->edx;
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
		 * Without an APIC: a crystal in whole kHz that fits ECX, the
		 * TSC rate itself when it is below 4.29 GHz, else a divided-
		 * down one. With one: the APIC timer's 1 GHz, and the ratio.
		 */
		mult = 1 + m->tsc_khz / 4000000;
		*e = (struct kvm_cpuid_entry2){
			.function = 0x15,
			.eax = 1,
			.ebx = mult,
			.ecx = m->tsc_khz / mult * 1000,
		};
		if (m->kernel_irqchip)
			cpuid_tsc_ratio(e, m->tsc_khz);
	}

	/* Per vCPU: room for the rebuilt 0xb and 0x1f levels. */
	size = sizeof(*c) + (c->nent + 6) * sizeof(c->entries[0]);
	v = malloc(size);
	if (!v)
		die("out of memory");
	for (id = 0; id < m->nr_vcpus; id++) {
		memcpy(v, c, sizeof(*c) + c->nent * sizeof(c->entries[0]));
		cpuid_topology(v, m->nr_vcpus, id);
		if (ioctl(m->vcpus[id].fd, KVM_SET_CPUID2, v))
			die("KVM_SET_CPUID2 (vCPU %d): %s", id, strerror(errno));
	}
	free(v);
	free(c);
}

/*
 * Without CPUID support a flat or multiboot guest sees the device's
 * default (load_guest() refuses to boot Linux).
 */
void cpu_setup_cpuid(struct machine *m)
{
	if (ioctl(m->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID) > 0)
		cpuid_set_tables(m);
	else if (m->nr_vcpus > 1)
		die("%s lacks KVM_CAP_EXT_CPUID, needed to give each of the %d vCPUs its APIC ID",
		    m->opt->device, m->nr_vcpus);
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr,
		"  %-3s sel %04x base %016llx limit %08x type %x p%u dpl%u s%u l%u db%u g%u%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->type, s->present, s->dpl, s->s, s->l, s->db, s->g,
		s->unusable ? " unusable" : "");
}

void cpu_dump(int vcpu_fd)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &s)) {
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
