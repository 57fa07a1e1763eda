/*
 * Tiny x86_64 test guests: a few instructions entered through the PVH note
 * (32-bit protected mode, paging off) that exercise one VMM path each and
 * report on the serial port.  Built in several variants by meson:
 *
 *   (default)      print TINY-OK, power off through the ACPI sleep register
 *   TINY_RESET     print, then reset through the FADT reset register
 *   TINY_I8042     print, then pulse reset through the i8042
 *   TINY_TRIPLE    print, then triple-fault (no IDT + int3)
 *   TINY_HOLE      read unclaimed MMIO and an unclaimed port; both must
 *                  read all ones, then print TINY-OK and power off
 */
#define COM1		0x3f8
#define PM_SLEEP_CTL	0x600
#define PM_RESET	0x602
#define SLP_S5_EN	((5 << 2) | (1 << 5))

	.code32
	.text
	.globl _start
_start:
#ifdef TINY_HOLE
	movl	0xd0001000, %eax	/* no device there */
	cmpl	$0xffffffff, %eax
	jne	fail
	movw	$0xcfc, %dx		/* no PCI */
	inl	%dx, %eax
	cmpl	$0xffffffff, %eax
	jne	fail
#endif
	leal	msg_ok, %esi
	call	puts
#if defined(TINY_RESET)
	movw	$PM_RESET, %dx
	movb	$1, %al
	outb	%al, %dx
#elif defined(TINY_I8042)
	movb	$0xfe, %al
	outb	%al, $0x64
#elif defined(TINY_TRIPLE)
	lidt	null_idt
	int3
#else
	movw	$PM_SLEEP_CTL, %dx
	movb	$SLP_S5_EN, %al
	outb	%al, %dx
#endif
1:	hlt
	jmp	1b

fail:
	leal	msg_fail, %esi
	call	puts
	movw	$PM_SLEEP_CTL, %dx
	movb	$SLP_S5_EN, %al
	outb	%al, %dx
	jmp	1b

/* Writes the NUL-terminated string at %esi to COM1. */
puts:
	movw	$COM1, %dx
2:	lodsb
	testb	%al, %al
	jz	3f
	outb	%al, %dx
	jmp	2b
3:	ret

	.data
msg_ok:		.asciz "TINY-OK\n"
msg_fail:	.asciz "TINY-FAIL\n"
	.balign 8
null_idt:	.word 0
		.long 0

/* XEN_ELFNOTE_PHYS32_ENTRY: where a PVH loader enters. */
	.section .note.Xen, "a", @note
	.balign 4
	.long	4		/* namesz */
	.long	4		/* descsz */
	.long	18		/* type */
	.asciz	"Xen"
	.long	_start
