/*
 * The SwiftVMM test guest, also the demo that `swiftvmm run` boots with no kernel.
 *
 * It reads what the VMM handed it through the Linux boot protocol (the zero page: the
 * command line, the e820 map, the initrd), prints it over the serial console, runs the
 * checks its command line asks for, and ends the VM. Options (see README.md):
 *   testguest.quiet  testguest.outs=N  testguest.mmio=N  testguest.chatter=N  testguest.boottimer
 *   testguest.port=0xNNNN  testguest.echo=N
 *   testguest.triplefault  testguest.int3  testguest.exit=N  testguest.disk
 *   [testguest.movebar]  testguest.diskbench=N[,...] (diskbench.c)  testguest.flushbench=N[,...] (flushbench.c)
 *   testguest.noacpi  testguest.hostile=NAME (hostile.c)
 *   testguest.writer  testguest.diskio [testguest.pause] (faults.c)
 *   testguest.keyboard (keyboard.c)
 *   testguest.vsock.listen=PORT,COUNT  testguest.vsock.connect=PORT,COUNT,SIZE (vsock.c)
 *   testguest.net [testguest.netoffload testguest.netsend=N testguest.netrecv=M] (net.c)
 *   testguest.rng=N (rng.c)  testguest.netbench=MODE,COUNT (netbench.c)
 * and those of smp.c, which starts every CPU the ACPI MADT lists.
 * Integer-only, freestanding: no SSE, no x87, no int3 (KVM's instruction emulator, which
 * runs guests on hosts without VT-x/AMD-V, cannot execute them).
 */
#include "guest.h"
#include "smp.h"
#include "virtio.h"

static const u8 *boot_params;

static u8 bp8(u32 offset) { return *(volatile const u8 *)(boot_params + offset); }
static u32 bp32(u32 offset) { return *(volatile const u32 *)(boot_params + offset); }
static u64 bp64(u32 offset) { return *(volatile const u64 *)(boot_params + offset); }

/* --- The command line ----------------------------------------------------------- */

const char *command_line(void) { return (const char *)(u64)bp32(BP_CMD_LINE_PTR); }

/* Finds the word `name` (or `name=value`) on the command line; returns a pointer just
 * past the name, or 0. */
const char *find_option(const char *name) {
    const char *p = command_line();
    while (*p) {
        while (*p == ' ') p++;
        const char *word = p, *n = name;
        while (*n && *p == *n) p++, n++;
        if (!*n && (*p == ' ' || *p == '=' || *p == 0)) return p;
        p = word;
        while (*p && *p != ' ') p++;
    }
    return 0;
}

/* Parses a decimal or 0x-prefixed hexadecimal number at `p`; returns where it ends. */
const char *parse_number(const char *p, u64 *value) {
    u64 v = 0, base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
    for (;; p++) {
        u64 digit;
        if (*p >= '0' && *p <= '9') digit = (u64)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f') digit = (u64)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F') digit = (u64)(*p - 'A' + 10);
        else break;
        v = v * base + digit;
    }
    *value = v;
    return p;
}

/* The number after '=' (see parse_number); `fallback` if none. */
u64 option_value(const char *after_name, u64 fallback) {
    if (!after_name || *after_name != '=') return fallback;
    u64 value;
    parse_number(after_name + 1, &value);
    return value;
}

/* --- What the guest found ------------------------------------------------------- */

void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Prints the four characters packed in a CPUID register, stopping at a NUL. */
static void put_register_text(u32 value) {
    for (int i = 0; i < 4; i++) {
        char c = (char)((value >> (8 * i)) & 0xff);
        if (c) put_char(c);
    }
}

static void report_cpu(void) {
    u32 a, b, c, d;
    cpuid(0, &a, &b, &c, &d);
    put_string("  CPU: ");
    put_register_text(b), put_register_text(d), put_register_text(c);
    cpuid(1, &a, &b, &c, &d);
    if (c & (1u << 31)) { /* CPUID.1:ECX.hypervisor */
        cpuid(0x40000000, &a, &b, &c, &d);
        put_string(", hypervisor ");
        put_register_text(b), put_register_text(c), put_register_text(d);
    }
    put_char('\n');
}

static void report_memory(void) {
    u8 count = bp8(BP_E820_ENTRIES);
    u64 usable = 0;
    put_string("  memory map (e820, ");
    put_decimal(count);
    put_string(" entries):\n");
    for (u32 i = 0; i < count; i++) {
        u32 entry = BP_E820_TABLE + i * E820_ENTRY_SIZE;
        u64 start = bp64(entry), size = bp64(entry + 8);
        u32 type = bp32(entry + 16);
        put_string("    ");
        put_hex(start, 16);
        put_char('-');
        put_hex(start + size - 1, 16);
        put_string(type == E820_RAM ? "  RAM\n" : "  reserved\n");
        if (type == E820_RAM) usable += size;
    }
    put_string("  RAM: ");
    put_decimal(usable >> 20);
    put_string(" MiB usable\n");
}

static void report_boot(void) {
    put_string("  entered in 64-bit mode, boot_params at ");
    put_hex((u64)boot_params, 8);
    put_string(", loader type ");
    put_hex(bp8(BP_TYPE_OF_LOADER), 2);
    put_string("\n  command line: \"");
    put_string(command_line());
    put_string("\"\n");
    report_memory();
    report_cpu();
    u32 initrd = bp32(BP_RAMDISK_IMAGE), initrd_size = bp32(BP_RAMDISK_SIZE);
    if (initrd_size) {
        put_string("  initrd: ");
        put_decimal(initrd_size);
        put_string(" bytes at ");
        put_hex(initrd, 8);
        put_char('\n');
    } else {
        put_string("  initrd: none\n");
    }
}

/* --- Checks the command line asks for ------------------------------------------- */

static void do_outs(u64 count) {
    for (u64 i = 0; i < count; i++) outb(POST_PORT, 0);
    put_string("outs: ");
    put_decimal(count);
    put_string(" done\n");
}

/* testguest.chatter=N: N lines of output, more than a pipe holds when N is large. */
static void do_chatter(u64 lines) {
    for (u64 i = 0; i < lines; i++) {
        put_string("chatter: a line of console output, number ");
        put_decimal(i);
        put_char('\n');
    }
}

static void do_port(u16 port) {
    u8 value = inb(port);
    outb(port, 0x5a);
    put_string("port ");
    put_hex(port, 4);
    put_string(" read ");
    put_hex(value, 2);
    put_char('\n');
}

static void do_echo(u64 count) {
    put_string("echo: send ");
    put_decimal(count);
    put_string(" bytes\n");
    put_string("echo: got \"");
    for (u64 i = 0; i < count; i++) {
        int c = console_read();
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            put_char((char)c);
        } else {
            put_string("\\x");
            put_char("0123456789abcdef"[(c >> 4) & 0xf]);
            put_char("0123456789abcdef"[c & 0xf]);
        }
    }
    put_string("\"\n");
}

void triple_fault(void) {
    /* With an empty IDT, a divide error (#DE) cannot be delivered: #GP, then #DF, then
     * a triple fault, which shuts the CPU down (SDM vol. 3A, 6.15 "Interrupt 8"). */
    struct __attribute__((packed)) { u16 limit; u64 base; } empty = {0, 0};
    __asm__ volatile("lidt %0\n\txor %%ecx, %%ecx\n\tdiv %%ecx" : : "m"(empty) : "eax", "ecx", "edx");
}

static void do_triple_fault(void) {
    put_string("triple fault: now\n");
    triple_fault();
}

static void do_int3(void) {
    put_string("int3: now\n");
    /* A breakpoint trap. Where KVM runs guests through its instruction emulator (no
     * VT-x/AMD-V), the emulator cannot run it and the VMM reports an emulation failure;
     * on other hosts the empty IDT turns it into a triple fault. Either way the VMM
     * must say where the guest stopped. */
    __asm__ volatile(".byte 0xcc");
}

/* --- Entry ---------------------------------------------------------------------- */

void guest_main(const u8 *params) {
    boot_params = params;
    console_init();
    put_string("Hello from the SwiftVMM demo guest!\n");
    if (!find_option("testguest.quiet")) report_boot();
    /* testguest.noacpi: no ACPI and no other CPUs, so the guest's work is the same on
     * any VMM (without tables it would scan the BIOS area for an RSDP, ~0.1 s here). */
    if (!find_option("testguest.noacpi") && !smp_main(params)) {
        put_string("Goodbye: not every CPU started; exiting through port 0xf4 with value 1.\n");
        outb(DEBUG_EXIT, 1);
    }

    const char *option;
    if ((option = find_option("testguest.outs"))) do_outs(option_value(option, 0));
    if ((option = find_option("testguest.mmio"))) do_mmio(option_value(option, 0));
    if (find_option("testguest.boottimer")) boot_timer();
    if ((option = find_option("testguest.chatter"))) do_chatter(option_value(option, 0));
    if ((option = find_option("testguest.port"))) do_port((u16)option_value(option, 0));
    if ((option = find_option("testguest.echo"))) do_echo(option_value(option, 1));
    if (find_option("testguest.disk")) disk_test(find_option("testguest.movebar") != 0);
    if ((option = find_option("testguest.diskbench"))) disk_bench(option);
    if ((option = find_option("testguest.flushbench"))) flush_bench(option);
    if ((option = find_option("testguest.rng"))) rng_test(option_value(option, 4096));
    if ((option = find_option("testguest.net"))) net_test(option);
    if ((option = find_option("testguest.netbench"))) net_bench(option);
    if ((option = find_option("testguest.hostile"))) hostile_main(option, params);
    fault_workloads();
    vsock_main();
    if (find_option("testguest.keyboard")) keyboard_wait_ctrl_alt_del();
    if (find_option("testguest.triplefault")) do_triple_fault();
    if (find_option("testguest.int3")) do_int3();

    if ((option = find_option("testguest.exit"))) {
        u64 value = option_value(option, 0);
        put_string("Goodbye: exiting through port 0xf4 with value ");
        put_decimal(value);
        put_string(".\n");
        outb(DEBUG_EXIT, (u8)value);
    } else {
        put_string("Goodbye: exiting with status 0.\n");
        outb(I8042_COMMAND, I8042_RESET);
    }
    for (;;) __asm__ volatile("hlt");
}
