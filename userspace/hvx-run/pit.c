// SPDX-License-Identifier: GPL-2.0
/*
 * The i8254 PIT (ports 0x40-0x43) and the PC's port 0x61 (channel 2 gate
 * and output). Counters are computed from the host's monotonic clock at
 * 1.193182 MHz rather than stepped: a read returns what the counter would
 * hold now. Channel 0 drives IRQ 0: periodically in modes 2 and 3 (Linux's
 * periodic tick), once in modes 0 and 4 (its one-shot clockevent). Channel 2
 * with port 0x61 is what Linux's PIT TSC calibration polls. Mode 1 and 5
 * (hardware-gated one-shots) count like mode 0. Missed channel 0 periods
 * collapse into one interrupt, as on a busy real machine with the IRQ
 * masked: Linux keeps time from the TSC, not from counting ticks.
 */
#include "devices.h"

#define PIT_HZ		1193182ULL

struct pit_channel {
	u32 count;		/* reload value, 1..65536 */
	u8 mode;
	u8 rw;		/* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool write_msb;		/* rw 3: the next write is the MSB */
	bool read_msb;		/* rw 3: the next read is the MSB */
	u8 write_lsb;
	bool armed;		/* a count was written and the gate is high */
	u64 start;		/* ns when counting started */
	bool latched;
	u16 latch;
	bool latch_msb;		/* the next latched read is the MSB */
	bool status_latched;
	u8 status;
	bool gate;
	bool fired;		/* modes 0/1/4/5: the terminal count passed */
	u64 next_irq;	/* channel 0: next IRQ time, 0: none */
};

static struct pit_channel ch[3] = {
	{ .gate = true }, { .gate = true }, { .gate = false },
};

static bool speaker_data;
static bool refresh_toggle;

static u64 ticks_to_ns(u64 ticks)
{
	return ticks * NSEC_PER_SEC / PIT_HZ;
}

static u64 elapsed_ticks(const struct pit_channel *c, u64 now)
{
	return (now - c->start) * PIT_HZ / NSEC_PER_SEC;
}

static bool periodic(const struct pit_channel *c)
{
	return (c->mode & 3) == 2 || (c->mode & 3) == 3;
}

static u16 pit_counter(const struct pit_channel *c, u64 now)
{
	u64 t;

	if (!c->armed)
		return c->count;
	t = elapsed_ticks(c, now);
	if (periodic(c))
		return c->count - t % c->count;
	return (u16)(c->count - t);
}

static bool pit_out(const struct pit_channel *c, u64 now)
{
	u64 t;

	if (!c->armed)
		return c->mode != 0;
	t = elapsed_ticks(c, now);
	switch (c->mode & 3) {
	case 2:
		return t % c->count != c->count - 1;
	case 3:
		return t % c->count < (c->count + 1) / 2;
	default:
		return t >= c->count;
	}
}

static void pit_arm(struct pit_channel *c, u64 now)
{
	c->armed = c->gate;
	c->start = now;
	c->fired = false;
	if (c == &ch[0])
		c->next_irq = c->armed ? now + ticks_to_ns(c->count) : 0;
}

static void pit_write_count(struct pit_channel *c, u8 val)
{
	u32 count;

	switch (c->rw) {
	case 1:
		count = val;
		break;
	case 2:
		count = val << 8;
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = val;
			c->write_msb = true;
			return;
		}
		c->write_msb = false;
		count = c->write_lsb | val << 8;
		break;
	}
	if (c->bcd)
		count = (count >> 12 & 0xf) * 1000 + (count >> 8 & 0xf) * 100 +
			(count >> 4 & 0xf) * 10 + (count & 0xf);
	c->count = count ? count : (c->bcd ? 10000 : 65536);
	pit_arm(c, now_ns());
}

static void pit_control(u8 val, u64 now)
{
	struct pit_channel *c;
	int i;

	if ((val >> 6) == 3) {		/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			c = &ch[i];
			if (!(val & 0x20) && !c->latched) {
				c->latch = pit_counter(c, now);
				c->latched = true;
				c->latch_msb = false;
			}
			if (!(val & 0x10) && !c->status_latched) {
				c->status = pit_out(c, now) << 7 | c->rw << 4 |
					    c->mode << 1 | c->bcd;
				c->status_latched = true;
			}
		}
		return;
	}
	c = &ch[val >> 6];
	if (!(val & 0x30)) {		/* counter latch */
		if (!c->latched) {
			c->latch = pit_counter(c, now);
			c->latched = true;
			c->latch_msb = false;
		}
		return;
	}
	c->rw = val >> 4 & 3;
	c->mode = val >> 1 & 7;
	if (c->mode > 5)
		c->mode &= 3;
	c->bcd = val & 1;
	c->write_msb = false;
	c->read_msb = false;
	c->latched = false;
	/* A new mode stops the counter until its count is written. */
	c->armed = false;
	c->fired = false;
	if (c == &ch[0])
		c->next_irq = 0;
}

static u8 pit_read_data(struct pit_channel *c, u64 now)
{
	u16 v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched) {
		v = c->latch;
		if (c->rw == 3) {
			msb = c->latch_msb;
			c->latch_msb = !msb;
			c->latched = !msb;
		} else {
			msb = c->rw == 2;
			c->latched = false;
		}
	} else {
		v = pit_counter(c, now);
		msb = c->rw == 2 || (c->rw == 3 && c->read_msb);
		if (c->rw == 3)
			c->read_msb = !c->read_msb;
	}
	return msb ? v >> 8 : v & 0xff;
}

u8 pit_read(u16 port)
{
	u64 now = now_ns();

	if (port == 0x61) {
		refresh_toggle = !refresh_toggle;
		return pit_out(&ch[2], now) << 5 | refresh_toggle << 4 |
		       speaker_data << 1 | ch[2].gate;
	}
	if (port == 0x43)
		return 0xff;
	return pit_read_data(&ch[port - 0x40], now);
}

void pit_write(u16 port, u8 val)
{
	u64 now = now_ns();
	bool gate;

	if (port == 0x61) {
		gate = val & 1;
		speaker_data = val & 2;
		/* A rising gate (re)starts channel 2's count. */
		if (gate && !ch[2].gate) {
			ch[2].gate = true;
			if (ch[2].rw)
				pit_arm(&ch[2], now);
		}
		ch[2].gate = gate;
		return;
	}
	if (port == 0x43)
		pit_control(val, now);
	else
		pit_write_count(&ch[port - 0x40], val);
}

/*
 * Raise IRQ 0 for a channel 0 period or terminal count that has passed.
 * Returns the time of the next one, 0 if none is due.
 */
u64 pit_poll(u64 now)
{
	struct pit_channel *c = &ch[0];
	u64 period, n;

	if (!c->next_irq || now < c->next_irq)
		return c->next_irq;
	irq_set(IRQ_PIT, 1);
	irq_set(IRQ_PIT, 0);
	if (periodic(c)) {
		period = ticks_to_ns(c->count);
		n = (now - c->next_irq) / period + 1;
		c->next_irq += n * period;
	} else {
		c->fired = true;
		c->next_irq = 0;
	}
	return c->next_irq;
}
