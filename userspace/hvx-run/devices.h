/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx-run's device models: the emulated PC's port I/O (io.c) and devices
 * (pic.c, pit.c, serial.c, cmos.c), their interrupt lines (irq.c) and the
 * launcher's terminal (console.c). They use machine.h and one another
 * only; the vCPU loops (vcpu.c, smp.c) call them.
 */
#ifndef HVX_RUN_DEVICES_H
#define HVX_RUN_DEVICES_H

#include "machine.h"

/* IRQ lines of the emulated PC. */
#define IRQ_PIT		0
#define IRQ_COM1	4

/* irq.c: ISA interrupt lines, to the userspace PIC or KVM_IRQ_LINE */
void irq_init(struct machine *m);
void irq_set(int irq, int level);

/* io.c: port I/O dispatch */
void io_access(struct machine *m, u16 port, u8 *data, int size,
	       bool out);
/* Catch up device time and input; returns the next timer deadline (ns). */
u64 devices_poll(struct machine *m);

/* pic.c: the i8259 pair */
void pic_set_irq(int irq, int level);
bool pic_pending(void);
int pic_ack(void);
u8 pic_read(u16 port);
void pic_write(u16 port, u8 val);

/* pit.c: the i8254 and port 0x61 */
u8 pit_read(u16 port);
void pit_write(u16 port, u8 val);
u64 pit_poll(u64 now);

/* serial.c: the 16550A at 0x3f8 */
void serial_init(int in_fd, int out_fd);
u8 serial_read(u16 port);
void serial_write(u16 port, u8 val);
void serial_poll(struct machine *m);
int serial_input_fd(void);

/* console.c: the launcher's terminal */
void console_init(void);
void console_restore(void);

/* cmos.c */
u8 cmos_read(u16 port);
void cmos_write(u16 port, u8 val);

#endif
