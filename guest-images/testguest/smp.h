/*
 * The test guest's multiprocessor start-up: what acpi.c finds in the ACPI tables,
 * what smp.c does with it, and where trampoline.S runs. Shared by C and assembly.
 */
#ifndef SMP_H
#define SMP_H

/* Where the application processors' real-mode start-up code runs: a page of RAM
 * below 1 MiB (a start-up IPI's vector is a page number, so the code starts in real
 * mode at vector << 12). 0x90000 is RAM in the e820 map, and SwiftVMM's own boot data
 * stops at 0x30000 (Sources/GuestMemory/Layout.swift): the page is free. */
#define TRAMPOLINE_BASE 0x90000

/* Selectors of the trampoline's GDT. */
#define TRAMPOLINE_CODE32 0x08
#define TRAMPOLINE_DATA 0x10
#define TRAMPOLINE_CODE64 0x18

#ifndef __ASSEMBLER__
#include "guest.h"

#define MAX_CPUS 64

/* What the MADT says (ACPI 6.5, 5.2.12). */
struct madt_info {
    u64 rsdp;               /* where the RSDP is */
    int rsdp_from_zero_page; /* 1: boot_params.acpi_rsdp_addr; 0: found by scanning */
    u32 local_apic;         /* the local APICs' address */
    u32 io_apic;            /* the first I/O APIC's address, 0 if none */
    u32 cpu_count;          /* enabled processors listed */
    u32 apic_ids[MAX_CPUS]; /* their APIC IDs, in MADT order (the first MAX_CPUS) */
};

/* acpi.c: finds the RSDP (the zero page's acpi_rsdp_addr, else the BIOS area), checks
 * every checksum on the way, and reads the MADT. Returns 1 when it did; ACPI_ABSENT when
 * there is no RSDP at all (a machine without ACPI); 0, saying why, when the tables are
 * there but broken. */
#define ACPI_ABSENT (-1)
int acpi_read_madt(const u8 *boot_params, struct madt_info *info);

/* smp.c: reads the MADT, says how many CPUs it lists, starts every application
 * processor in it and does what the command line's testguest.* options ask for.
 * Returns 1 when every CPU arrived and every check passed. */
int smp_main(const u8 *boot_params);

/* smp.c: starts the first application processor smp_main started once more (INIT and
 * start-up IPIs), to run `work` and park again, and returns without waiting for it.
 * Returns 0 when there is no such AP. */
int smp_run_on_ap(void (*work)(void));

/* The symbols of trampoline.S, copied to TRAMPOLINE_BASE and patched before each SIPI. */
extern const u8 trampoline_start[], trampoline_end[];
extern u8 trampoline_cr3[], trampoline_stack[], trampoline_entry[];

/* The console lock: a spinlock on xchg, so lines from several CPUs do not mix. */
void console_lock(void);
void console_unlock(void);
#endif

#endif
