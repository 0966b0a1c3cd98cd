/*
 * Where an application processor starts: real mode -> protected mode -> long mode.
 *
 * The BSP copies trampoline_start..trampoline_end to TRAMPOLINE_BASE and patches the
 * three quadwords at the end (CR3, stack, entry) before each start-up IPI. The SIPI's
 * vector, TRAMPOLINE_BASE >> 12, starts the AP at CS = vector << 8, IP = 0 in real mode
 * (Intel SDM vol. 3A, 9.4.4 "MP Initialization Example"). From there, the steps of SDM
 * vol. 3A, 10.9.1 "Switching to Protected Mode" and 10.8.5 "Initializing IA-32e Mode":
 * load a GDT, set CR0.PE, far jump; set CR4.PAE, CR3, EFER.LME, CR0.PG, far jump to a
 * 64-bit code segment. The AP shares the BSP's page tables (an identity map).
 */
#include "smp.h"

/* Offsets inside the copy, and addresses of the copy. */
#define OFFSET(label) ((label) - trampoline_start)
#define ADDRESS(label) (TRAMPOLINE_BASE + OFFSET(label))

#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

    .section .rodata.trampoline, "a"
    .code16
    .globl trampoline_start
trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds                    /* DS base = TRAMPOLINE_BASE */
    lgdtl OFFSET(trampoline_gdtr)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $TRAMPOLINE_CODE32, $ADDRESS(protected_mode)

    .code32
protected_mode:
    mov $TRAMPOLINE_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov ADDRESS(trampoline_cr3), %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $TRAMPOLINE_CODE64, $ADDRESS(long_mode)

    .code64
long_mode:
    mov ADDRESS(trampoline_stack), %rsp
    mov ADDRESS(trampoline_entry), %rax
    jmp *%rax

    .balign 8
trampoline_gdt:
    .quad 0                         /* null */
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff        /* 0x10: data, flat */
    .quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
trampoline_gdtr:
    .word trampoline_gdtr - trampoline_gdt - 1
    .long ADDRESS(trampoline_gdt)

    .balign 8
    .globl trampoline_cr3, trampoline_stack, trampoline_entry
trampoline_cr3:
    .quad 0
trampoline_stack:
    .quad 0
trampoline_entry:
    .quad 0
    .globl trampoline_end
trampoline_end:
