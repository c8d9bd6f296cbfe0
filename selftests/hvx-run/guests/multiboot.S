/* SPDX-License-Identifier: GPL-2.0 */
/*
 * multiboot.S: a multiboot v1 ELF kernel for hvx-run. It checks the boot
 * magic in EAX, prints its command line and the memory size from the
 * multiboot information (EBX), and ends with cli; hlt, which hvx-run
 * treats as a power-off (exit status 0). A bad magic ends in the
 * debug-exit port 0x501 with 0x10 (status 33).
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000002	/* memory information wanted */

	.section .multiboot, "a"
	.align	4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.code32
	.text
	.globl	_start
_start:
	mov	$stack_top, %esp
	cmp	$0x2badb002, %eax
	jne	bad_magic
	mov	%ebx, %ebp

	mov	$msg_start, %esi
	call	puts
	testl	$(1 << 2), (%ebp)	/* cmdline present */
	jz	1f
	mov	16(%ebp), %esi
	call	puts
1:	mov	$msg_mem, %esi
	call	puts
	testl	$1, (%ebp)		/* mem_lower/mem_upper present */
	jz	2f
	mov	8(%ebp), %eax		/* mem_upper, KiB */
	call	putdec
2:	mov	$'\n', %al
	call	putc
	cli
	hlt
	jmp	.

bad_magic:
	mov	$0x10, %al
	mov	$0x501, %dx
	out	%al, %dx
	jmp	.

putc:
	push	%edx
	push	%eax
	mov	$0x3fd, %dx
3:	in	%dx, %al
	test	$0x20, %al
	jz	3b
	pop	%eax
	mov	$0x3f8, %dx
	out	%al, %dx
	pop	%edx
	ret

puts:
	lodsb
	test	%al, %al
	jz	4f
	call	putc
	jmp	puts
4:	ret

/* putdec: EAX in decimal. */
putdec:
	mov	$10, %ecx
	xor	%edi, %edi
5:	xor	%edx, %edx
	div	%ecx
	push	%edx
	inc	%edi
	test	%eax, %eax
	jnz	5b
6:	pop	%eax
	add	$'0', %al
	call	putc
	dec	%edi
	jnz	6b
	ret

	.section .rodata
msg_start:	.asciz	"HVX-MB-CMDLINE "
msg_mem:	.asciz	"\nHVX-MB-MEM-UPPER-KIB "

	.bss
	.align	16
	.space	4096
stack_top:
