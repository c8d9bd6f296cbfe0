/* SPDX-License-Identifier: GPL-2.0 */
/*
 * flat.S: a real-mode guest for "hvx-run --flat 0x10000". It prints a
 * banner with one string OUT (rep outsb, a multi-count KVM_EXIT_IO),
 * programs the PIC pair (vectors 0x08/0x70) and the PIT (channel 0, mode
 * 2, 100 Hz), takes 10 timer interrupts with sti; hlt, then prints the
 * count and writes 0x21 to the debug-exit port 0x501: hvx-run must exit
 * with status (0x21 << 1) | 1 = 67.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0xfff0, %sp

	/* The banner in one rep outsb. */
	mov	$banner, %si
	mov	$banner_len, %cx
	mov	$0x3f8, %dx
	cld
	rep outsb

	/* IVT entry 8 (IRQ 0 after the PIC setup below) -> tick. */
	xor	%ax, %ax
	mov	%ax, %es
	movw	$tick, %es:(8 * 4)
	mov	%cs, %es:(8 * 4 + 2)

	/* PIC: ICW1 edge + ICW4, ICW2 base, ICW3 cascade, ICW4 8086. */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x08, %al
	out	%al, $0x21
	mov	$0x70, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xfe, %al		/* only IRQ 0 */
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1

	/* PIT channel 0: lobyte/hibyte, mode 2, 1193182 / 11932 = 100 Hz. */
	mov	$0x34, %al
	out	%al, $0x43
	mov	$11932 & 0xff, %al
	out	%al, $0x40
	mov	$11932 >> 8, %al
	out	%al, $0x40

	sti
1:	hlt
	cmpw	$10, ticks
	jb	1b
	cli

	mov	$ticks_msg, %si
	call	puts
	mov	ticks, %al
	add	$'0' - 10, %al		/* prints "1" then the units digit */
	push	%ax
	mov	$'1', %al
	call	putc
	pop	%ax
	call	putc
	mov	$'\n', %al
	call	putc

	mov	$0x21, %al
	mov	$0x501, %dx
	out	%al, %dx
	/* Not reached when the launcher honours --debug-exit. */
2:	hlt
	jmp	2b

tick:
	push	%ax
	incw	%cs:ticks
	mov	$0x20, %al		/* non-specific EOI */
	out	%al, $0x20
	pop	%ax
	iret

/* putc: AL to COM1, waiting for THR empty. */
putc:
	push	%dx
	push	%ax
	mov	$0x3fd, %dx
3:	in	%dx, %al
	test	$0x20, %al
	jz	3b
	pop	%ax
	mov	$0x3f8, %dx
	out	%al, %dx
	pop	%dx
	ret

/* puts: the NUL-terminated string at DS:SI. */
puts:
	lodsb
	test	%al, %al
	jz	4f
	call	putc
	jmp	puts
4:	ret

banner:	.ascii	"HVX-FLAT-START real mode\n"
	.set	banner_len, . - banner
ticks_msg:
	.asciz	"HVX-FLAT-TICKS "
ticks:	.word	0
