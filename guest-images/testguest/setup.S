/*
 * The real-mode entry of the test guest's bzImage. bzimage.py places this code right
 * after the setup header, where the header's jump at offset 0x200 lands, so it is what
 * runs when a boot loader starts the image the traditional way: in real mode at the
 * setup code (QEMU's firmware does). Documentation/arch/x86/boot.rst, "Running the
 * Kernel": CS = setup segment + 0x20, IP = 0, DS = ES = SS = the setup segment.
 *
 * It does what the end of Linux's own setup code does (arch/x86/boot/pm.c and
 * pmjump.S): load a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18), turn on
 * protected mode, and jump to code32_start with ESI holding the zero page's address.
 * It asks the BIOS for nothing (no e820 map): the test guest needs none.
 */
    .code16
    .section .text, "ax"
    .globl setup_entry
setup_entry:
    cli
    xor %esi, %esi
    mov %ds, %si
    shl $4, %esi                    /* ESI: the setup area's linear address, which is */
                                    /* boot_params: the header sits at its offsets    */
    lea gdt(%esi), %eax             /* data labels are offsets from DS: the link       */
    mov %eax, gdt_base              /* address of this code is its offset in the image */
    lgdtl gdt_descriptor
    lea protected_mode(%esi), %eax
    pushl $0x10                     /* __BOOT_CS ... */
    pushl %eax                      /* ... : protected_mode, for the lretl below */
    mov %cr0, %eax
    or $0x1, %eax                   /* CR0.PE */
    mov %eax, %cr0
    lretl

    .code32
protected_mode:
    mov $0x18, %eax                 /* __BOOT_DS */
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    jmp *0x214(%esi)                /* code32_start, from the setup header */

    .balign 4                       /* no more: the stub is linked at 0x26c */
gdt:
    .quad 0, 0
    .quad 0x00cf9b000000ffff        /* 0x10: code, 32-bit, flat 4 GiB (SDM vol. 3A, 3.4.5) */
    .quad 0x00cf93000000ffff        /* 0x18: data, flat 4 GiB */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
gdt_base:
    .long 0                         /* filled in above: where the loader put us */
