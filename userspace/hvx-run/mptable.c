// SPDX-License-Identifier: GPL-2.0
/*
 * The MP configuration table (Intel MultiProcessor Specification 1.4,
 * chapter 4) that tells a guest about its CPUs and interrupt wiring when
 * the device's in-kernel irqchip is used. No ACPI: Linux finds no RSDP,
 * disables ACPI by itself (no "acpi=off" needed) and takes the MP table,
 * which it scans for in the BIOS area 0xf0000-0xfffff (reserved in e820).
 *
 *   processors   APIC IDs 0..N-1, vCPU 0 the bootstrap processor
 *   bus 0        ISA
 *   IOAPIC       ID N, version 0x11, at 0xfec00000 (24 pins)
 *   ISA IRQ n    IOAPIC pin n, n = 0..15 except the cascade IRQ 2, edge,
 *                active high (ISA's conforming defaults)
 *   LINT0        ExtINT (the 8259 in virtual-wire mode), LINT1 NMI, on
 *                every local APIC
 *
 * IRQ 0 goes to pin 0, not to pin 2 as on many real boards (where pin 0
 * carries the 8259's INTR): KVM_CREATE_IRQCHIP's default routing sends
 * GSI n to IOAPIC pin n, and KVM_IRQ_LINE for GSI 0 must reach both the
 * PIC's IRQ 0 and the IOAPIC pin the table names. Identity wiring needs no
 * KVM_SET_GSI_ROUTING and no interrupt source override.
 */
#include <assert.h>
#include <string.h>

#include "hvx-run.h"

#define MP_FLOAT_ADDR	0xf0000
#define MP_TABLE_ADDR	(MP_FLOAT_ADDR + 16)
#define MP_TABLE_MAX	(0x10000 - 16)

#define APIC_DEFAULT_BASE	0xfee00000
#define IOAPIC_BASE		0xfec00000
#define APIC_VERSION		0x14	/* integrated APIC, as KVM's */
#define IOAPIC_VERSION		0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

struct mp_float {
	char signature[4];	/* "_MP_" */
	u32 physptr;
	u8 length;		/* in 16-byte units: 1 */
	u8 spec_rev;
	u8 checksum;
	u8 feature[5];		/* 1: 0, a table follows; 2 bit 7: IMCR */
} __packed;

struct mp_config {
	char signature[4];	/* "PCMP" */
	u16 length;
	u8 spec_rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_ptr;
	u16 oem_size;
	u16 count;
	u32 lapic;
	u16 ext_length;
	u8 ext_checksum;
	u8 reserved;
} __packed;

struct mp_cpu {
	u8 type, apic_id, apic_ver, flags;	/* flags: 1 enabled, 2 BSP */
	u32 signature, features;
	u32 reserved[2];
} __packed;

struct mp_bus {
	u8 type, id;
	char name[6];
} __packed;

struct mp_ioapic {
	u8 type, id, ver, flags;
	u32 addr;
} __packed;

struct mp_irq {
	u8 type, irqtype;
	u16 flags;		/* 1:0 polarity, 3:2 trigger; 0: bus default */
	u8 src_bus, src_irq, dst_apic, dst_pin;
} __packed;

static_assert(sizeof(struct mp_float) == 16, "MP floating pointer");
static_assert(sizeof(struct mp_config) == 44, "MP table header");
static_assert(sizeof(struct mp_cpu) == 20, "MP processor entry");
static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");
static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");
static_assert(sizeof(struct mp_irq) == 8, "MP interrupt entry");

static u8 checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

void mptable_setup(struct machine *m)
{
	u8 *base = guest_ptr(m, MP_FLOAT_ADDR, 0x10000);
	struct mp_float *mpf = (struct mp_float *)base;
	struct mp_config *mpc = (struct mp_config *)(base + 16);
	u8 *p = (u8 *)(mpc + 1);
	u8 ioapic_id = m->nr_vcpus;
	int i, count = 0;

	if (!base)
		die("no RAM at 0x%x for the MP table", MP_FLOAT_ADDR);
	if (sizeof(*mpc) + m->nr_vcpus * sizeof(struct mp_cpu) +
	    sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	    18 * sizeof(struct mp_irq) > MP_TABLE_MAX)
		die("MP table too large");
	memset(base, 0, 0x10000);

	for (i = 0; i < m->nr_vcpus; i++, count++) {
		*(struct mp_cpu *)p = (struct mp_cpu){
			.type = MP_PROCESSOR,
			.apic_id = i,
			.apic_ver = APIC_VERSION,
			.flags = 1 | (i == 0 ? 2 : 0),
			.signature = m->cpu_signature,
			.features = m->cpu_features,
		};
		p += sizeof(struct mp_cpu);
	}
	*(struct mp_bus *)p = (struct mp_bus){
		.type = MP_BUS, .id = 0, .name = "ISA   ",
	};
	p += sizeof(struct mp_bus);
	count++;
	*(struct mp_ioapic *)p = (struct mp_ioapic){
		.type = MP_IOAPIC, .id = ioapic_id, .ver = IOAPIC_VERSION,
		.flags = 1, .addr = IOAPIC_BASE,
	};
	p += sizeof(struct mp_ioapic);
	count++;
	for (i = 0; i < 16; i++) {
		if (i == 2)
			continue;
		*(struct mp_irq *)p = (struct mp_irq){
			.type = MP_INTSRC, .irqtype = MP_INT, .src_bus = 0,
			.src_irq = i, .dst_apic = ioapic_id, .dst_pin = i,
		};
		p += sizeof(struct mp_irq);
		count++;
	}
	*(struct mp_irq *)p = (struct mp_irq){
		.type = MP_LINTSRC, .irqtype = MP_EXTINT, .dst_apic = 0xff,
		.dst_pin = 0,
	};
	p += sizeof(struct mp_irq);
	*(struct mp_irq *)p = (struct mp_irq){
		.type = MP_LINTSRC, .irqtype = MP_NMI, .dst_apic = 0xff,
		.dst_pin = 1,
	};
	p += sizeof(struct mp_irq);
	count += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = p - (u8 *)mpc;
	mpc->spec_rev = 4;
	memcpy(mpc->oem, "HVX     ", 8);
	memcpy(mpc->product, "HVX-RUN     ", 12);
	mpc->count = count;
	mpc->lapic = APIC_DEFAULT_BASE;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = MP_TABLE_ADDR;
	mpf->length = 1;
	mpf->spec_rev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
}
