// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O dispatch for the emulated PC. Ports no device claims read as
 * all ones and ignore writes, as an empty ISA bus does: that is how Linux's
 * probes (other UARTs, VGA, PCI configuration mechanism #1, ...) conclude
 * that nothing is there.
 *
 *   0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1   i8259 pair and ELCR     (pic.c)
 *   0x40-0x43, 0x61                     i8254, port B           (pit.c)
 *   0x60, 0x64                          keyboard controller: writing 0xfe
 *                                       to 0x64 pulses the reset line
 *   0x70-0x71                           CMOS/RTC                (cmos.c)
 *   0x80                                POST code / I/O delay
 *   0x3f8-0x3ff                         16550A COM1             (serial.c)
 *   0xcf9                               reset control register (byte
 *                                       accesses; 0xcf8-0xcff otherwise
 *                                       are an absent PCI host bridge)
 *   --debug-exit PORT                   QEMU isa-debug-exit
 */
#include <stdio.h>
#include <string.h>

#include "devices.h"

static u8 io_in8(u16 port)
{
	switch (port) {
	case 0x20 ... 0x21:
	case 0xa0 ... 0xa1:
	case 0x4d0 ... 0x4d1:
		return pic_read(port);
	case 0x40 ... 0x43:
	case 0x61:
		return pit_read(port);
	case 0x60:
		return 0;
	case 0x64:
		return 0;	/* no data, input buffer empty */
	case 0x70 ... 0x71:
		return cmos_read(port);
	case 0x3f8 ... 0x3ff:
		return serial_read(port);
	default:
		return 0xff;
	}
}

static void io_out8(struct machine *m, u16 port, u8 val)
{
	switch (port) {
	case 0x20 ... 0x21:
	case 0xa0 ... 0xa1:
	case 0x4d0 ... 0x4d1:
		pic_write(port, val);
		break;
	case 0x40 ... 0x43:
	case 0x61:
		pit_write(port, val);
		break;
	case 0x64:
		if (val == 0xfe)
			machine_end(m, END_RESET, 0);
		break;
	case 0x70 ... 0x71:
		cmos_write(port, val);
		break;
	case 0x3f8 ... 0x3ff:
		serial_write(port, val);
		break;
	case 0xcf9:
		/* Bit 2 starts the reset that bit 1 qualifies (hard/soft). */
		if (val & 0x04)
			machine_end(m, END_RESET, 0);
		break;
	default:
		break;
	}
}

/*
 * One access of SIZE bytes at PORT: wider accesses to byte devices are
 * split into consecutive byte ports, as the ISA bus does. The debug-exit
 * port takes the whole value.
 */
void io_access(struct machine *m, u16 port, u8 *data, int size,
	       bool out)
{
	u32 v = 0;
	int i;

	if (m->opt->debug_exit_port >= 0 && port == m->opt->debug_exit_port) {
		if (out) {
			memcpy(&v, data, size);
			machine_end(m, END_DEBUG_EXIT, (v << 1 | 1) & 0xff);
		} else {
			memset(data, 0xff, size);
		}
		return;
	}
	/*
	 * 0xcf8-0xcff are PCI configuration mechanism #1 (no PCI here: the
	 * dword CONFIG_ADDRESS reads back all ones, which is how Linux
	 * concludes so). Only a byte access to 0xcf9 is the reset control
	 * register: the byte 0xcf9 of a dword written to 0xcf8 is a
	 * device/function number, not a reset request.
	 */
	if (port >= 0xcf8 && port <= 0xcff && !(port == 0xcf9 && size == 1)) {
		if (!out)
			memset(data, 0xff, size);
		return;
	}
	for (i = 0; i < size; i++) {
		if (out)
			io_out8(m, port + i, data[i]);
		else
			data[i] = io_in8(port + i);
	}
}

u64 devices_poll(struct machine *m)
{
	serial_poll(m);
	return pit_poll(now_ns());
}
