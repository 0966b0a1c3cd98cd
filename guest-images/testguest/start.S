/*
 * Entry points of the test guest.
 *
 * The image is laid out like a Linux kernel's protected-mode part, loaded at 1 MiB:
 * offset 0 is the 32-bit entry (startup_32), offset 0x200 is the 64-bit entry
 * (startup_64), as Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL", specifies
 * for a bzImage. The ELF image's entry point is the same startup_64, so both formats
 * run the same code. SwiftVMM enters at startup_64; loaders that only know the 32-bit
 * protocol (QEMU's firmware, through the real-mode stub in setup.S) enter at
 * startup_32, which switches to long mode itself and continues at startup_64.
 *
 * At startup_64 the CPU is in long mode with an identity map, interrupts off, and RSI
 * holds the address of struct boot_params (the zero page).
 */
/* Bits for startup_32 (Intel SDM vol. 3A, 2.5 and 4.5; vol. 4 for IA32_EFER). */
#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define PTE_PRESENT_WRITABLE 0x3
#define PDE_LARGE_PAGE 0x80

    .section .text.head, "ax"
    .code32
    .globl startup_32
startup_32:
    /* boot.rst, "32-bit BOOT PROTOCOL": flat __BOOT_CS and __BOOT_DS, paging off,
     * interrupts off, ESI = boot_params. Identity-map the first 4 GiB with 2 MiB pages
     * (Intel SDM vol. 3A, 4.5 "4-Level Paging"), then enter long mode (SDM 10.8.5). */
    cli
    movl $(boot_pdpt + PTE_PRESENT_WRITABLE), boot_pml4
    mov $boot_pdpt, %edi            /* PDPT[0..3] -> the four page directories */
    mov $(boot_directories + PTE_PRESENT_WRITABLE), %eax
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    dec %ecx
    jnz 1b
    mov $boot_directories, %edi     /* 2048 PDEs: 2 MiB pages covering 0-4 GiB */
    mov $(PTE_PRESENT_WRITABLE | PDE_LARGE_PAGE), %eax
    mov $2048, %ecx
2:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    dec %ecx
    jnz 2b
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    lgdt long_mode_gdt_descriptor
    mov %cr0, %eax
    or $(CR0_PE | CR0_PG), %eax     /* paging on with EFER.LME: long mode is active */
    mov %eax, %cr0
    ljmp $0x10, $3f
    .code64
3:  mov $0x18, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %esi, %esi                  /* RSI: boot_params, upper half cleared */
    jmp startup_64

    .org 0x200                      /* startup_32 must fit in front of this */
    .code64
    .globl startup_64
startup_64:
    cli
    lea stack_top(%rip), %rsp       /* our own stack: never rely on the loader's */
    mov %rsi, %rdi                  /* guest_main(boot_params) */
    call guest_main
2:  hlt
    jmp 2b

    .section .rodata
    .balign 8
long_mode_gdt:                      /* the boot GDT SwiftVMM gives a 64-bit kernel */
    .quad 0, 0
    .quad 0x00af9b000000ffff        /* 0x10: code, 64-bit (L set) */
    .quad 0x00cf93000000ffff        /* 0x18: data, flat 4 GiB */
long_mode_gdt_end:
long_mode_gdt_descriptor:
    .word long_mode_gdt_end - long_mode_gdt - 1
    .long long_mode_gdt

    .section .bss
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_directories:
    .skip 4 * 4096
    .balign 16
stack_bottom:
    .skip 16384
stack_top:
