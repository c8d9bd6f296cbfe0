// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART at 0x3f8 on IRQ 4 (COM1). Transmission is instantaneous:
 * a byte written to THR goes to the launcher's output at once, so THR and
 * the transmitter are always empty again by the next read of LSR. Received
 * bytes come from the launcher's input through a 16-byte FIFO. Interrupts:
 * receiver line status, received data, THR empty and modem status, with
 * the 16550's IIR priorities; the THRE interrupt is cleared by reading IIR
 * or writing THR, and raised again when THR becomes empty or IER enables
 * it (what Linux's 8250 THRE test expects). Loopback (MCR bit 4) reflects
 * the modem control outputs in MSR. Ctrl-A x on the input quits the
 * launcher, Ctrl-A Ctrl-A sends one Ctrl-A (QEMU's convention).
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "devices.h"

#define UART_BASE	0x3f8
#define FIFO_SIZE	16

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08

#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MCR_LOOP	0x10

static struct {
	u8 ier, lcr, mcr, scr, fcr, msr_delta, dll, dlm;
	bool lsr_oe;
	bool thr_ipending;
	u8 fifo[FIFO_SIZE];
	unsigned int head, count;
	/* Launcher input not yet in the FIFO. */
	u8 inbuf[4096];
	unsigned int in_head, in_count;
	bool escape;		/* the last input byte was Ctrl-A */
	bool in_eof;
	int in_fd, out_fd;
} u = { .dll = 12 };

void serial_init(int in_fd, int out_fd)
{
	u.in_fd = in_fd;
	u.out_fd = out_fd;
}

int serial_input_fd(void)
{
	return u.in_eof || u.in_count == sizeof(u.inbuf) ? -1 : u.in_fd;
}

static u8 serial_msr(void)
{
	u8 m = u.mcr;

	if (u.mcr & MCR_LOOP)	/* DCD = OUT2, RI = OUT1, DSR = DTR, CTS = RTS */
		return (m & 0x08) << 4 | (m & 0x04) << 4 | (m & 0x01) << 5 |
		       (m & 0x02) << 3 | u.msr_delta;
	return 0xb0 | u.msr_delta;	/* DCD, DSR, CTS asserted */
}

static u8 serial_iir(void)
{
	u8 fifo = u.fcr & 1 ? IIR_FIFO : 0;

	if ((u.ier & IER_RLSI) && u.lsr_oe)
		return fifo | IIR_RLSI;
	if ((u.ier & IER_RDI) && u.count)
		return fifo | IIR_RDI;
	if ((u.ier & IER_THRI) && u.thr_ipending)
		return fifo | IIR_THRI;
	if ((u.ier & IER_MSI) && u.msr_delta)
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* OUT2 gates the interrupt line to the PIC (and IOAPIC) on a PC. */
static void serial_update_irq(void)
{
	irq_set(IRQ_COM1, (u.mcr & 0x08) && !(serial_iir() & IIR_NONE));
}

static void serial_output(u8 c)
{
	ssize_t n;

	if (u.mcr & MCR_LOOP) {
		if (u.count < FIFO_SIZE)
			u.fifo[(u.head + u.count++) % FIFO_SIZE] = c;
		else
			u.lsr_oe = true;
		return;
	}
	do {
		n = write(u.out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
}

u8 serial_read(u16 port)
{
	u8 v = 0xff;

	switch (port - UART_BASE) {
	case 0:
		if (u.lcr & 0x80) {
			v = u.dll;
			break;
		}
		v = 0;
		if (u.count) {
			v = u.fifo[u.head];
			u.head = (u.head + 1) % FIFO_SIZE;
			u.count--;
		}
		break;
	case 1:
		v = u.lcr & 0x80 ? u.dlm : u.ier;
		break;
	case 2:
		v = serial_iir();
		if ((v & 0x0f) == IIR_THRI)
			u.thr_ipending = false;
		break;
	case 3:
		v = u.lcr;
		break;
	case 4:
		v = u.mcr;
		break;
	case 5:
		v = LSR_THRE | LSR_TEMT | (u.count ? LSR_DR : 0) |
		    (u.lsr_oe ? LSR_OE : 0);
		u.lsr_oe = false;
		break;
	case 6:
		v = serial_msr();
		u.msr_delta = 0;
		break;
	case 7:
		v = u.scr;
		break;
	}
	serial_update_irq();
	return v;
}

void serial_write(u16 port, u8 val)
{
	switch (port - UART_BASE) {
	case 0:
		if (u.lcr & 0x80) {
			u.dll = val;
			break;
		}
		serial_output(val);
		/* Sent at once: THR is empty again. */
		u.thr_ipending = true;
		break;
	case 1:
		if (u.lcr & 0x80) {
			u.dlm = val;
			break;
		}
		if ((val & IER_THRI) && !(u.ier & IER_THRI))
			u.thr_ipending = true;
		u.ier = val & 0x0f;
		break;
	case 2:
		if (val & 0x02)
			u.count = 0;
		u.fcr = val & 0xc9;
		break;
	case 3:
		u.lcr = val;
		break;
	case 4: {
		u8 old = serial_msr() & 0xf0;

		u.mcr = val & 0x1f;
		/* Loopback changes the modem inputs: latch the deltas. */
		u.msr_delta |= (old ^ serial_msr()) >> 4 & 0x0b;
		break;
	}
	case 7:
		u.scr = val;
		break;
	}
	serial_update_irq();
}

/* Launcher input to the FIFO, as far as it has room. */
static void serial_feed(void)
{
	while (u.in_count && u.count < FIFO_SIZE && !(u.mcr & MCR_LOOP)) {
		u.fifo[(u.head + u.count++) % FIFO_SIZE] = u.inbuf[u.in_head];
		u.in_head = (u.in_head + 1) % sizeof(u.inbuf);
		u.in_count--;
	}
}

/*
 * Queue input bytes for the guest, acting on the Ctrl-A escapes as they
 * arrive (so that Ctrl-A x works even when the guest reads nothing).
 */
static void serial_input(struct machine *m, const u8 *buf, size_t n)
{
	size_t i;
	u8 c;

	for (i = 0; i < n; i++) {
		c = buf[i];
		if (u.escape) {
			u.escape = false;
			if (c == 'x') {
				machine_end(m, END_QUIT, 0);
				return;
			}
			if (c != 0x01)
				continue;
		} else if (c == 0x01) {
			u.escape = true;
			continue;
		}
		u.inbuf[(u.in_head + u.in_count++) % sizeof(u.inbuf)] = c;
	}
}

/* Called on every exit and after a wait: pull pending input, non-blocking. */
void serial_poll(struct machine *m)
{
	struct pollfd pfd = { .fd = u.in_fd, .events = POLLIN };
	u8 buf[sizeof(u.inbuf)];
	ssize_t n;

	if (!u.in_eof && u.in_count < sizeof(u.inbuf) &&
	    poll(&pfd, 1, 0) > 0) {
		n = read(u.in_fd, buf, sizeof(u.inbuf) - u.in_count);
		if (n > 0)
			serial_input(m, buf, n);
		else if (n == 0 || errno != EINTR)
			u.in_eof = true;
	}
	serial_feed();
	serial_update_irq();
}
