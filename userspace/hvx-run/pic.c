// SPDX-License-Identifier: GPL-2.0
/*
 * The two cascaded i8259A PICs of a PC (master at 0x20, slave at 0xa0, the
 * slave on the master's IRQ 2), edge triggered, fully nested mode: what
 * Linux's arch/x86/kernel/i8259.c programs. ICW1-4, OCW1 (IMR), OCW2 (EOI,
 * specific EOI; rotation commands are treated as their EOI part), OCW3
 * (read IRR/ISR, poll), and the ELCR registers at 0x4d0/0x4d1 (stored).
 */
#include "devices.h"

struct pic {
	u8 irr;		/* requests latched on a rising edge */
	u8 isr;		/* in service */
	u8 imr;		/* masked */
	u8 level;		/* the input lines */
	u8 base;		/* vector of IRQ 0, from ICW2 */
	u8 init_step;	/* 0: ready; 1..3: expecting ICW2..ICW4 */
	bool icw4;		/* ICW1 said an ICW4 follows */
	bool single;		/* ICW1: no cascade (ICW3 skipped) */
	bool auto_eoi;
	bool read_isr;		/* OCW3: port 0 reads ISR, not IRR */
	bool poll;		/* OCW3 poll command pending */
	u8 elcr;
};

static struct pic pics[2];

/* Highest-priority (lowest-numbered) deliverable IRQ of one chip, or -1. */
static int pic_best(const struct pic *p)
{
	u8 req = p->irr & ~p->imr;
	int i;

	for (i = 0; i < 8; i++) {
		if (p->isr & (1u << i))
			return -1;	/* an equal or higher one is in service */
		if (req & (1u << i))
			return i;
	}
	return -1;
}

static void pic_line(struct pic *p, int irq, int level)
{
	u8 mask = 1u << irq;

	if (level) {
		if (!(p->level & mask))
			p->irr |= mask;
		p->level |= mask;
	} else {
		p->level &= ~mask;
	}
}

/* The slave's INT output drives the master's IRQ 2. */
static void pic_cascade(void)
{
	pic_line(&pics[0], 2, pic_best(&pics[1]) >= 0);
}

void pic_set_irq(int irq, int level)
{
	pic_line(&pics[irq >> 3], irq & 7, level);
	pic_cascade();
}

bool pic_pending(void)
{
	return pic_best(&pics[0]) >= 0;
}

/* INTA on one chip: IRR -> ISR. Returns the IRQ, or 7 (spurious). */
static int pic_ack_one(struct pic *p)
{
	int irq = pic_best(p);

	if (irq < 0)
		return 7;
	p->irr &= ~(1u << irq);
	if (!p->auto_eoi)
		p->isr |= 1u << irq;
	return irq;
}

/* The INTA cycle: the vector to inject. Call only when pic_pending(). */
int pic_ack(void)
{
	int irq = pic_ack_one(&pics[0]);
	int vec;

	if (irq == 2)
		vec = pics[1].base + pic_ack_one(&pics[1]);
	else
		vec = pics[0].base + irq;
	pic_cascade();
	return vec;
}

static void pic_eoi(struct pic *p, int irq)
{
	int i;

	if (irq < 0) {
		/* Non-specific: the highest-priority in-service IRQ. */
		for (i = 0; i < 8; i++) {
			if (p->isr & (1u << i)) {
				irq = i;
				break;
			}
		}
		if (irq < 0)
			return;
	}
	p->isr &= ~(1u << irq);
}

u8 pic_read(u16 port)
{
	struct pic *p;
	int irq;

	if (port == 0x4d0 || port == 0x4d1)
		return pics[port & 1].elcr;
	p = &pics[port >= 0xa0];
	if (p->poll) {
		p->poll = false;
		irq = pic_best(p);
		if (irq < 0)
			return 0;
		pic_ack_one(p);
		pic_cascade();
		return 0x80 | irq;
	}
	if (port & 1)
		return p->imr;
	return p->read_isr ? p->isr : p->irr;
}

void pic_write(u16 port, u8 val)
{
	struct pic *p;

	if (port == 0x4d0 || port == 0x4d1) {
		/* IRQs 0, 1, 2, 8 and 13 are edge only. */
		pics[port & 1].elcr = val & (port & 1 ? 0xde : 0xf8);
		return;
	}
	p = &pics[port >= 0xa0];
	if (!(port & 1)) {
		if (val & 0x10) {		/* ICW1 */
			u8 elcr = p->elcr, level = p->level;

			*p = (struct pic){ .elcr = elcr, .level = level };
			p->icw4 = val & 0x01;
			p->single = val & 0x02;
			p->init_step = 1;
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				p->poll = true;
			if (val & 0x02)
				p->read_isr = val & 0x01;
		} else {			/* OCW2 */
			switch (val >> 5) {
			case 1:			/* non-specific EOI */
			case 5:			/* ... and rotate */
				pic_eoi(p, -1);
				break;
			case 3:			/* specific EOI */
			case 7:			/* ... and rotate */
				pic_eoi(p, val & 7);
				break;
			default:		/* priority rotation: unused */
				break;
			}
		}
	} else {
		switch (p->init_step) {
		case 1:				/* ICW2 */
			p->base = val & 0xf8;
			p->init_step = p->single ? (p->icw4 ? 3 : 0) : 2;
			break;
		case 2:				/* ICW3 */
			p->init_step = p->icw4 ? 3 : 0;
			break;
		case 3:				/* ICW4 */
			p->auto_eoi = val & 0x02;
			p->init_step = 0;
			break;
		default:			/* OCW1 */
			p->imr = val;
			break;
		}
	}
	pic_cascade();
}
