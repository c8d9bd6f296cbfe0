// SPDX-License-Identifier: GPL-2.0
/*
 * CMOS RAM and the MC146818 RTC at 0x70/0x71: the clock registers read the
 * host's UTC time in BCD, 24-hour format (status B = 0x02), never in an
 * update cycle (status A bit 7 clear); the rest is 128 bytes of RAM. Bit 7
 * of the index port is the NMI mask, ignored. No RTC interrupts.
 */
#include <time.h>

#include "devices.h"

static u8 index_reg;
static u8 ram[128] = {
	[0x0a] = 0x26,		/* 32.768 kHz time base, 1024 Hz rate */
	[0x0b] = 0x02,		/* 24-hour, BCD, no interrupts */
	[0x0d] = 0x80,		/* battery good */
};

static u8 bcd(int v)
{
	return (v / 10) << 4 | v % 10;
}

u8 cmos_read(u16 port)
{
	time_t t = time(NULL);
	struct tm tm;

	if (port == 0x70)
		return 0xff;
	gmtime_r(&t, &tm);
	switch (index_reg) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100);
	case 0x0c: return 0;	/* no interrupt flags */
	default: return ram[index_reg];
	}
}

void cmos_write(u16 port, u8 val)
{
	if (port == 0x70) {
		index_reg = val & 0x7f;
		return;
	}
	/* The clock and status C/D are read-only here. */
	if (index_reg >= 0x0e || index_reg == 0x0a || index_reg == 0x0b)
		ram[index_reg] = val;
}
