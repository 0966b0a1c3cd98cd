/*
 * testguest.hostile=scramble: pseudo-random writes to, and reads of, every register of
 * every device the VMM emulates: the 16550A, the CMOS, the i8042, the ports where
 * nothing answers, PCI configuration mechanism #1 and the configuration space of
 * functions 00:00.0-00:03.0 and 00:1f.0, every structure in each virtio-pci BAR, and
 * each virtio-mmio register page. The sequence comes from a fixed seed
 * (testguest.seed=N changes it, see hostile.c), so a run is repeatable.
 *
 * The guest keeps itself alive, so that it can report what is left of the devices: it
 * never writes the isa-debug-exit port or an i8042 command that pulses the reset line,
 * keeps MSI-X off while the MSI-X tables hold random messages (an NMI or INIT message
 * would end the guest, not the VMM), and then puts back what it needs: the console, and
 * each virtio-pci function's BAR, command register and MSI-X control. hostile.c then
 * resets every disk and reads from it.
 */
#include "virtio.h"

#define PCI_COMMAND 0x04
#define PCI_BAR0 0x10
#define I8042_COMMAND_PORT 0x64
#define I8042_PULSE_LINES 0xf0   /* commands 0xf0-0xff pulse the output lines whose bit is 0 */
#define I8042_RESET_LINE 0x01
#define BAR_SIZE 0x8000          /* VirtioPCILayout.barSize */
#define MMIO_WINDOW 0x1000       /* one virtio-mmio register page */
#define WRITES_PER_REGISTER 8

static u64 seed = 0x5eed;
static u64 writes, reads;

/* Any seed but 0, which xorshift would never leave. */
void seed_random(u64 value) { seed = value | 1; }

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"). */
u64 next_random(void) {
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 0x2545f4914f6cdd1dull;
}

/* --- Port I/O ----------------------------------------------------------------------- */

static const struct { u16 base, count; } ports[] = {
    {0x3f8, 8},                                        /* COM1 */
    {0x70, 2},                                         /* CMOS index and data */
    {0x60, 1}, {0x64, 1},                              /* i8042 */
    {0x80, 1}, {0xed, 1}, {0x2f8, 8}, {0x3e8, 8},      /* absent: delay ports, COM2-4 */
    {0x2e8, 8}, {0x3bc, 4}, {0x378, 8}, {0x278, 8},    /* absent: COM4, LPT */
    {0x3c0, 0x20}, {0x3f0, 6}, {0x3f7, 1},             /* absent: VGA, floppy */
    {0xcf8, 8},                                        /* PCI configuration mechanism #1 */
    {0x500, 4}, {0xfff8, 4},                           /* nothing at all */
};

/* Whether a `size`-byte write of `value` at `port` would end the run: the debug-exit
 * port, or a pulse of the i8042's reset line. */
static int fatal(u16 port, int size, u64 value) {
    if (port <= DEBUG_EXIT && DEBUG_EXIT < port + size) return 1;
    if (port <= I8042_COMMAND_PORT && I8042_COMMAND_PORT < port + size) {
        u8 byte = (u8)(value >> (8 * (I8042_COMMAND_PORT - port)));
        return byte >= I8042_PULSE_LINES && !(byte & I8042_RESET_LINE);
    }
    return 0;
}

static void port_write(u16 port, int size, u32 value) {
    if (fatal(port, size, value)) return;
    if (size == 1) outb(port, (u8)value);
    else if (size == 2) outw(port, (u16)value);
    else outl(port, value);
    writes++;
}

static void port_read(u16 port, int size) {
    if (size == 1) (void)inb(port);
    else if (size == 2) (void)inw(port);
    else (void)inl(port);
    reads++;
}

static void scramble_ports(void) {
    for (u32 r = 0; r < sizeof ports / sizeof ports[0]; r++) {
        for (u16 port = ports[r].base; port < ports[r].base + ports[r].count; port++) {
            for (int i = 0; i < WRITES_PER_REGISTER; i++) {
                u64 random = next_random();
                int size = 1 << (random % 3);
                port_write(port, size, (u32)(random >> 8));
                port_read(port, 1 << ((random >> 2) % 3));
            }
        }
    }
}

/* --- PCI configuration space ----------------------------------------------------------- */

static const u8 pci_devices[] = {0, 1, 2, 3, 31};

static void scramble_configuration(void) {
    for (u32 i = 0; i < sizeof pci_devices; i++) {
        for (u32 offset = 0; offset < 256; offset += 4) {
            for (int n = 0; n < 2; n++) {
                u64 random = next_random();
                u8 at = (u8)(offset + (random & 3));
                switch ((random >> 2) % 3) {
                case 0: pci_write32(pci_devices[i], (u8)offset, (u32)(random >> 32)); break;
                case 1: pci_write16(pci_devices[i], at & ~1, (u16)(random >> 32)); break;
                default:  /* one byte of CONFIG_DATA */
                    outl(0xcf8, 0x80000000u | (u32)pci_devices[i] << 11 | offset);
                    outb((u16)(0xcfc + (at & 3)), (u8)(random >> 32));
                    break;
                }
                writes++;
                (void)pci_read32(pci_devices[i], (u8)offset);
                reads++;
            }
        }
    }
    /* CONFIG_ADDRESS itself, with other buses and functions. */
    for (int n = 0; n < 64; n++) {
        u64 random = next_random();
        pci_write32((u8)(random >> 8), (u8)random, (u32)(random >> 32));
        outl(0xcf8, (u32)(random >> 16));
        (void)inl(0xcfc);
        writes += 2, reads++;
    }
}

/* --- MMIO -------------------------------------------------------------------------------- */

static void mmio_write(u64 address, int size, u64 value) {
    if (size == 1) mmio_write8(address, (u8)value);
    else if (size == 2) mmio_write16(address, (u16)value);
    else if (size == 4) mmio_write32(address, (u32)value);
    else *(volatile u64 *)address = value;
    writes++;
}

static void mmio_read(u64 address, int size) {
    if (size == 1) (void)mmio_read8(address);
    else if (size == 2) (void)mmio_read16(address);
    else if (size == 4) (void)mmio_read32(address);
    else (void)*(volatile u64 *)address;
    reads++;
}

/* Every register in [base + start, base + end), a few times each, in widths 1, 2, 4 and
 * 8, aligned; then `extra` accesses at random offsets below `span`. */
static void scramble_window(u64 base, u32 start, u32 end, u32 span, int extra) {
    for (u32 offset = start; offset < end; offset += 4) {
        for (int i = 0; i < WRITES_PER_REGISTER / 2; i++) {
            u64 random = next_random();
            int size = 1 << (random % 4);
            u32 at = size == 8 ? offset & ~7u : offset + (u32)((random >> 2) & 3 & ~(size - 1));
            mmio_write(base + at, size, next_random());
            mmio_read(base + at, size);
        }
    }
    for (int i = 0; i < extra; i++) {
        u64 random = next_random();
        int size = 1 << (random % 4);
        u32 at = (u32)(random >> 8) % span & ~(u32)(size - 1);
        mmio_write(base + at, size, next_random());
        mmio_read(base + at, size);
    }
}

/* --- Entry ----------------------------------------------------------------------------------- */

static void report(const char *what) {
    put_string("\nhostile scramble: ");
    put_string(what);
    put_string(": ");
    put_decimal(writes);
    put_string(" writes, ");
    put_decimal(reads);
    put_string(" reads\n");
    writes = reads = 0;
}

void scramble(struct virtio_device *disks, int count) {
    scramble_ports();
    console_init();  /* the UART's line settings, FIFOs and loopback bit were random */
    report("legacy ports");

    u32 bars[MAX_DISKS];
    u16 commands[MAX_DISKS];
    for (int n = 0; n < count; n++) {
        if (!disks[n].pci_device) continue;
        bars[n] = pci_read32(disks[n].pci_device, PCI_BAR0);
        commands[n] = pci_read16(disks[n].pci_device, PCI_COMMAND);
    }
    scramble_configuration();
    for (int n = 0; n < count; n++) {
        u8 dev = disks[n].pci_device;
        if (!dev) continue;
        pci_write16(dev, PCI_COMMAND, 0);
        pci_write16(dev, disks[n].msix_cap + 2, 0);  /* MSI-X Message Control: off, unmasked */
        pci_write32(dev, PCI_BAR0, bars[n]);
        pci_write16(dev, PCI_COMMAND, commands[n]);
    }
    report("PCI configuration space");

    for (int n = 0; n < count; n++) {
        struct virtio_device *d = &disks[n];
        if (d->pci_device) {
            for (u32 page = 0; page < BAR_SIZE; page += 0x1000) scramble_window(d->base, page, page + 0x48, BAR_SIZE, 8);
        } else {
            scramble_window(d->base, 0, 0x140, MMIO_WINDOW, 64);
        }
    }
    report("virtio registers");
}
