/*
 * The disk test (`testguest.disk`): drives every virtio block device found on PCI bus 0
 * and on the command line (virtio v1.2, 5.2) and reports each result on the console,
 * where the VMM's tests read them. The benchmark is diskbench.c.
 */
#include "virtio.h"

#define LOCAL_APIC_IRR 0xfee00200u  /* Intel SDM vol. 3A, 11.8.4: 8 registers, 16 bytes apart */
#define LOCAL_APIC_SVR 0xfee000f0u  /* spurious-interrupt vector register (11.9) */
#define SVR_APIC_ENABLED 0x100      /* a software-disabled local APIC accepts no interrupt */
#define PIC_MASTER 0x20
#define PIC_SLAVE 0xa0
#define PIC_READ_IRR 0x0a           /* OCW3: the next read returns IRR */

static u8 rings[MAX_DISKS][4096] __attribute__((aligned(4096)));
u8 blk_data[4096] __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } header __attribute__((aligned(16)));
static volatile u8 status;
static struct virtq_desc indirect_table[3] __attribute__((aligned(16)));

/* Sends one request: header, `len` bytes of data (device-writable when `to_guest`),
 * status. Returns the status byte, or -1 if the device did not answer. */
int blk_request(struct virtio_device *d, u32 type, u64 sector, u32 len, int to_guest, int indirect) {
    header.type = type;
    header.sector = sector;
    status = 0xff;
    struct virtq_desc chain[3];
    int count = 0;
    chain[count++] = (struct virtq_desc){(u64)&header, sizeof header, 0, 0};
    if (len) chain[count++] = (struct virtq_desc){(u64)blk_data, len, to_guest ? VIRTQ_DESC_F_WRITE : 0, 0};
    chain[count++] = (struct virtq_desc){(u64)&status, 1, VIRTQ_DESC_F_WRITE, 0};
    if (indirect) {
        for (int i = 0; i < count; i++) {
            indirect_table[i] = chain[i];
            indirect_table[i].flags |= i + 1 < count ? VIRTQ_DESC_F_NEXT : 0;
            indirect_table[i].next = (u16)(i + 1);
        }
        struct virtq_desc one = {(u64)indirect_table, (u32)(count * sizeof(struct virtq_desc)), VIRTQ_DESC_F_INDIRECT, 0};
        virtq_submit(d, &d->queue, &one, 1);
    } else {
        virtq_submit(d, &d->queue, chain, count);
    }
    u32 used;
    if (virtq_wait(&d->queue, &used) != 0) return -1;
    return status;
}

/* capacity (5.2.4): the first field of struct virtio_blk_config, in 512-byte sectors. */
u64 blk_capacity(struct virtio_device *d) {
    return d->ops->config_read32(d, 0) | (u64)d->ops->config_read32(d, 4) << 32;
}

int blk_find(struct virtio_device *disks, int max, int move_bars) {
    int count = virtio_pci_find(disks, max, VIRTIO_ID_BLOCK, move_bars);
    return count + virtio_mmio_find(disks + count, max - count, VIRTIO_ID_BLOCK);
}

u32 fnv1a(const u8 *bytes, u32 count) {
    u32 hash = 2166136261u;
    for (u32 i = 0; i < count; i++) hash = (hash ^ bytes[i]) * 16777619u;
    return hash;
}

void blk_put_status(int s) {
    if (s == BLK_S_OK) put_string("ok");
    else if (s == BLK_S_IOERR) put_string("IOERR");
    else if (s == BLK_S_UNSUPP) put_string("UNSUPP");
    else if (s < 0) put_string("no answer");
    else { put_string("status "); put_decimal((u64)s); }
    put_char('\n');
}

void blk_put_read(int s) {
    if (s != BLK_S_OK) { blk_put_status(s); return; }
    put_string("fnv ");
    put_hex(fnv1a(blk_data, SECTOR), 8);
    put_char('\n');
}

static void say(int disk, const char *what) {
    put_string("disk");
    put_decimal((u64)disk);
    put_string(": ");
    put_string(what);
}

/* Whether `vector` is pending in the local APIC. The interrupt may follow the used
 * ring update by a little (an irqfd is injected asynchronously): look for a while. */
static int local_apic_has(u8 vector) {
    for (int tries = 0; tries < 10000; tries++) {
        if ((mmio_read32(LOCAL_APIC_IRR + 0x10u * (vector / 32)) >> (vector % 32)) & 1) return 1;
    }
    return 0;
}

static int pic_has(u32 irq) {
    u16 port = irq < 8 ? PIC_MASTER : PIC_SLAVE;
    for (int tries = 0; tries < 1000; tries++) {
        outb(port, PIC_READ_IRR);
        if ((inb(port) >> (irq % 8)) & 1) return 1;
    }
    return 0;
}

static void test_disk(int n, struct virtio_device *d) {
    u64 features;
    int started = virtio_start(d, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_BLK_F_RO
                                  | 1ull << VIRTIO_BLK_F_FLUSH, &features, rings[n]);
    if (started != 0) {
        say(n, "cannot start the device: error ");
        put_decimal((u64)-started);
        put_char('\n');
        return;
    }
    u64 capacity = blk_capacity(d);
    int read_only = (features >> VIRTIO_BLK_F_RO) & 1;
    say(n, d->transport);
    if (d->pci_device) {
        put_string(" 00:");
        put_char((char)('0' + d->pci_device / 10));
        put_char((char)('0' + d->pci_device % 10));
        put_string(".0");
    }
    else { put_string(" at "); put_hex(d->base, 8); put_string(" irq "); put_decimal(d->irq); }
    put_string(", ");
    put_decimal(capacity);
    put_string(read_only ? " sectors, read-only\n" : " sectors, read-write\n");

    say(n, "read sector 0: ");
    int s = blk_request(d, BLK_T_IN, 0, SECTOR, 1, 0);
    blk_put_read(s);

    /* The used-buffer interrupt, before MSI-X is on: ISR status or InterruptStatus. */
    say(n, "interrupt status after a request: ");
    put_hex(d->ops->interrupt_status(d), 1);
    put_char('\n');
    if (!d->pci_device) {
        say(n, "interrupt line ");
        put_decimal(d->irq);
        put_string(pic_has(d->irq) ? ": raised\n" : ": not raised\n");
    }

    say(n, "read last sector through an indirect table: ");
    s = blk_request(d, BLK_T_IN, capacity - 1, SECTOR, 1, 1);
    blk_put_read(s);

    say(n, "get id: ");
    for (int i = 0; i < 21; i++) blk_data[i] = 0;
    s = blk_request(d, BLK_T_GET_ID, 0, 20, 1, 0);
    if (s == BLK_S_OK) { put_char('"'); put_string((const char *)blk_data); put_string("\"\n"); } else blk_put_status(s);

    for (u32 i = 0; i < SECTOR; i++) blk_data[i] = (u8)(i * 13 + 0x5a + n);
    say(n, read_only ? "write to a read-only disk: " : "write sector 1: ");
    blk_put_status(blk_request(d, BLK_T_OUT, 1, SECTOR, 0, 0));
    if (!read_only) {
        say(n, "flush: ");
        blk_put_status(blk_request(d, BLK_T_FLUSH, 0, 0, 0, 0));
        for (u32 i = 0; i < SECTOR; i++) blk_data[i] = 0;
        say(n, "read back sector 1: ");
        s = blk_request(d, BLK_T_IN, 1, SECTOR, 1, 0);
        int same = 1;
        for (u32 i = 0; i < SECTOR; i++) same &= blk_data[i] == (u8)(i * 13 + 0x5a + n);
        if (s == BLK_S_OK) put_string(same ? "matches\n" : "differs\n"); else blk_put_status(s);
    }
    say(n, "read past the end: ");
    blk_put_status(blk_request(d, BLK_T_IN, capacity, SECTOR, 1, 0));
    say(n, "unknown request type: ");
    blk_put_status(blk_request(d, 0x7f, 0, 0, 0, 0));

    if (d->pci_device) {
        u8 vector = (u8)(0x40 + n);
        say(n, "MSI-X vector ");
        put_hex(vector, 2);
        mmio_write32(LOCAL_APIC_SVR, mmio_read32(LOCAL_APIC_SVR) | SVR_APIC_ENABLED);
        if (virtio_pci_enable_msix(d, vector) != 0) { put_string(": refused\n"); return; }
        s = blk_request(d, BLK_T_IN, 0, SECTOR, 1, 0);
        put_string(s == BLK_S_OK && local_apic_has(vector) ? ": delivered\n" : ": not delivered\n");
    }
}

/* With `move_bars`, each virtio-pci BAR is moved 1 MiB up before use, as an OS that
 * reassigns resources would. */
void disk_test(int move_bars) {
    static struct virtio_device disks[MAX_DISKS];
    pci_list();
    int count = blk_find(disks, MAX_DISKS, move_bars);
    put_string("disks: ");
    put_decimal((u64)count);
    put_char('\n');
    for (int n = 0; n < count; n++) test_disk(n, &disks[n]);
}
