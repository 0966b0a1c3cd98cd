/*
 * Entry points of the test guest.
 *
 * The image is laid out like a Linux kernel's protected-mode part, loaded at 1 MiB:
 * offset 0 is the 32-bit entry (startup_32, unused: SwiftVMM enters 64-bit kernels),
 * offset 0x200 is the 64-bit entry (startup_64), as Documentation/arch/x86/boot.rst,
 * "64-bit BOOT PROTOCOL", specifies for a bzImage. The ELF image's entry point is the
 * same startup_64, so both formats run the same code.
 *
 * At startup_64 the CPU is in long mode with an identity map, interrupts off, and RSI
 * holds the address of struct boot_params (the zero page).
 */
    .section .text.head, "ax"
    .code32
    .globl startup_32
startup_32:
    cli
1:  hlt
    jmp 1b

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    cli
    lea stack_top(%rip), %rsp       /* our own stack: never rely on the loader's */
    mov %rsi, %rdi                  /* guest_main(boot_params) */
    call guest_main
2:  hlt
    jmp 2b

    .section .bss
    .balign 16
stack_bottom:
    .skip 16384
stack_top:
