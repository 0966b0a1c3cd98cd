/*
 * The test guest's shared declarations: port I/O, the console, and the few fields of
 * struct boot_params it reads (Documentation/arch/x86/zero-page.rst).
 */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

/* Ports of the PC that SwiftVMM emulates. */
#define COM1 0x3f8          /* 16550A UART */
#define POST_PORT 0x80      /* POST diagnostic port: writes are ignored */
#define I8042_COMMAND 0x64  /* keyboard controller; command 0xfe pulses reset */
#define I8042_RESET 0xfe
#define DEBUG_EXIT 0xf4     /* isa-debug-exit: writing v ends the VM with (v << 1) | 1 */

/* A page in the MMIO hole that no device occupies, ever (Layout.unbackedMMIO in
 * Sources/GuestMemory/Layout.swift): accesses there exit to the VMM and reach nothing. */
#define UNBACKED_MMIO 0xfe000000UL
/* Firecracker's boot timer (Layout.bootTimer), there with --boot-timer. */
#define BOOT_TIMER 0xd0000000UL

/* struct boot_params offsets (zero-page.rst; boot.rst "The Real-Mode Kernel Header"). */
#define BP_E820_ENTRIES 0x1e8   /* u8 */
#define BP_TYPE_OF_LOADER 0x210 /* u8 */
#define BP_RAMDISK_IMAGE 0x218  /* u32 */
#define BP_RAMDISK_SIZE 0x21c   /* u32 */
#define BP_CMD_LINE_PTR 0x228   /* u32 */
#define BP_E820_TABLE 0x2d0     /* struct boot_e820_entry[128] */
#define E820_ENTRY_SIZE 20      /* u64 addr, u64 size, u32 type */
#define E820_RAM 1

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 value; __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port)); return value; }

void console_init(void);
void put_char(char c);
void put_string(const char *s);
void put_hex(u64 value, int digits);
void put_decimal(u64 value);
int console_read(void); /* blocks until a byte arrives */
const char *command_line(void); /* main.c: the kernel command line */
const char *parse_number(const char *p, u64 *value); /* main.c: decimal or 0x hex */

/* main.c: the command line's testguest.* options, and CPUID. */
const char *find_option(const char *name); /* just past `name`, or 0 */
u64 option_value(const char *after_name, u64 fallback);
void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d);

void do_mmio(u64 count); /* bench.c */
void boot_timer(void);  /* bench.c */
void keyboard_wait_ctrl_alt_del(void); /* keyboard.c: testguest.keyboard */
void triple_fault(void); /* main.c: shuts the CPU down */

#endif
