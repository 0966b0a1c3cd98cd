/*
 * A hostile driver (`testguest.hostile=NAME`): the test guest breaks the rules of
 * virtio v1.2 on every disk it finds, over virtio-pci and virtio-mmio alike, and prints
 * what the device made of it. A device may refuse a broken ring by setting
 * DEVICE_NEEDS_RESET (2.1.2); it must never consume the ring after that, and a reset
 * must give back a working device. The VMM's tests compare the lines printed here.
 *
 *   loop       a descriptor chain whose last `next` points back at its head (2.7.5)
 *   outside    a data buffer 64 GiB up, outside guest RAM
 *   registers  a data buffer on the device's own registers (the MMIO hole)
 *   span       a data buffer across the end of the RAM region below 4 GiB: into
 *              nothing, or with more than 3 GiB of RAM into the MMIO hole
 *   across     a 1 GiB data buffer from that region's end across the hole
 *   jump       an available index that jumps 1000 entries ahead (2.7.6)
 *   head       an available ring entry naming descriptor 999 of 16
 *   qsize      queue sizes 12 (not a power of two), 0 and 512 (above the maximum)
 *   overlap    a used ring on the descriptor table, then on the available ring (2.7:
 *              each part is writable by the driver or the device, not both)
 *   storm      thousands of notifications of queues 0, 1 and 0xffff with nothing
 *              available, then one request notified 300 times
 *   msix       (virtio-pci) each of 100 requests interrupts through an MSI-X message
 *              the guest has just changed to random contents: the VMM routes or
 *              signals 100 messages it has never seen (only the delivery mode stays
 *              "fixed": an NMI or INIT would end the guest)
 *   scramble   pseudo-random values written to every register of every device the
 *              VMM emulates (see scramble.c)
 */
#include "virtio.h"

#define STATUS_OK_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define MMIO_QUEUE_NOTIFY 0x050       /* virtio-mmio QueueNotify (4.2.2) */
#define OUTSIDE_RAM 0x1000000000ull   /* 64 GiB: above any RAM the tests give the guest */
#define STORM_ROUNDS 1000             /* three notifications each */
#define STORM_REPEATS 300             /* notifications of the one request */
#define POLLS 20000                   /* status reads while waiting for the device */

static u8 rings[MAX_DISKS][4096] __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } header __attribute__((aligned(16)));
static volatile u8 status;

/* The end of the e820 RAM region holding the guest's code, which is below 4 GiB. */
static u64 low_ram_end(const u8 *boot_params) {
    u8 count = boot_params[BP_E820_ENTRIES];
    for (u32 i = 0; i < count; i++) {
        const u8 *entry = boot_params + BP_E820_TABLE + i * E820_ENTRY_SIZE;
        u64 start = *(const u64 *)entry, size = *(const u64 *)(entry + 8);
        if (*(const u32 *)(entry + 16) == E820_RAM && start <= (u64)rings && (u64)rings < start + size) return start + size;
    }
    return 0;
}

static int same(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static void say(const char *scenario, int n, struct virtio_device *d) {
    put_string("hostile ");
    put_string(scenario);
    put_string(": disk");
    put_decimal((u64)n);
    put_char(' ');
    put_string(d->transport);
    put_string(": ");
}

static void put_field(const char *name, u64 value, int hex_digits) {
    put_string(name);
    if (hex_digits) put_hex(value, hex_digits); else put_decimal(value);
}

/* Reads the status until `bit` is set or POLLS reads went by (with io=thread the device
 * answers on its own thread, a little later). */
static u8 wait_status(struct virtio_device *d, u8 bit) {
    u8 s = d->ops->get_status(d);
    for (int i = 0; i < POLLS && !(s & bit); i++) s = d->ops->get_status(d);
    return s;
}

/* "; after reset: read sector 0: fnv 0x...": the device works again once reset (2.4). */
static void after_reset(struct virtio_device *d, u8 *ring) {
    u64 features;
    put_string("; after reset: ");
    if (virtio_start(d, 1ull << VIRTIO_F_VERSION_1, &features, ring) != 0) { put_string("cannot start\n"); return; }
    int s = blk_request(d, BLK_T_IN, 0, SECTOR, 1, 0);
    put_string("read sector 0: ");
    blk_put_read(s);
}

/* Makes head `head` available as the next entry and notifies queue 0. */
static void make_available(struct virtio_device *d, u16 head) { virtq_make_available(d, &d->queue, head); }

static void set_descriptor(struct virtq *q, u16 index, u64 address, u32 length, u16 flags, u16 next) {
    q->desc[index].addr = address;
    q->desc[index].len = length;
    q->desc[index].flags = flags;
    q->desc[index].next = next;
}

/* A read of sector 0 into [address, address + length), in descriptors 0-2. */
static void read_request(struct virtq *q, u64 address, u32 length) {
    header.type = BLK_T_IN;
    header.sector = 0;
    status = 0xff;
    set_descriptor(q, 0, (u64)&header, sizeof header, VIRTQ_DESC_F_NEXT, 1);
    set_descriptor(q, 1, address, length, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    set_descriptor(q, 2, (u64)&status, 1, VIRTQ_DESC_F_WRITE, 0);
}

/* --- Broken chains and rings on a live queue -------------------------------------- */

/* Breaks the live queue as `scenario` says, then reports the status, the used index and
 * the interrupt status; notifies again and reports the used index; resets. */
static void broken_ring(const char *scenario, int n, struct virtio_device *d, u64 ram_end) {
    u64 features;
    if (virtio_start(d, 1ull << VIRTIO_F_VERSION_1, &features, rings[n]) != 0) return;
    struct virtq *q = &d->queue;
    if (same(scenario, "loop")) {
        header.type = BLK_T_IN;
        set_descriptor(q, 0, (u64)&header, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_descriptor(q, 1, (u64)blk_data, SECTOR, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
        make_available(d, 0);
    } else if (same(scenario, "outside")) {
        read_request(q, OUTSIDE_RAM, SECTOR);
        make_available(d, 0);
    } else if (same(scenario, "registers")) {
        read_request(q, d->base, SECTOR);
        make_available(d, 0);
    } else if (same(scenario, "span")) {
        read_request(q, ram_end - SECTOR / 2, SECTOR);
        make_available(d, 0);
    } else if (same(scenario, "across")) {
        read_request(q, ram_end - SECTOR, 0x40000000u + 2 * SECTOR);
        make_available(d, 0);
    } else if (same(scenario, "jump")) {
        q->avail_idx += 1000;
        q->avail[1] = q->avail_idx;
        d->ops->notify(d, 0);
    } else if (same(scenario, "head")) {
        make_available(d, 999);
    }
    say(scenario, n, d);
    put_field("status ", wait_status(d, VIRTIO_STATUS_NEEDS_RESET), 2);
    put_field(", used ", q->used[1], 0);
    put_field(", interrupt ", d->ops->interrupt_status(d), 1);
    d->ops->notify(d, 0);
    put_field("; notified again: used ", q->used[1], 0);
    after_reset(d, rings[n]);
}

/* --- Queues the device cannot use -------------------------------------------------- */

/* Enables queue 0 as `q` describes it, on a device that has negotiated its features;
 * reports the status and interrupt status, then whether a request is served anyway. */
static void bad_queue(struct virtio_device *d, struct virtq *q) {
    d->ops->setup_queue(d, 0, q);
    put_field("status ", d->ops->get_status(d), 2);
    put_field(", interrupt ", d->ops->interrupt_status(d), 1);
    d->ops->set_status(d, STATUS_OK_BITS | VIRTIO_STATUS_DRIVER_OK);
    /* A well-formed request on the queue the device refused: it must stay unserved. */
    d->queue = *q;
    d->queue.size = QUEUE_SIZE;
    read_request(&d->queue, (u64)blk_data, SECTOR);
    make_available(d, 0);
    int polls = 0;
    while (status == 0xff && polls < POLLS / 10) polls++, barrier();
    put_string(status == 0xff ? "; a request anyway: not served" : "; a request anyway: served");
}

static void queue_sizes(int n, struct virtio_device *d) {
    static const u16 sizes[] = {12, 0, 512};
    for (u32 i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        u64 features;
        virtio_negotiate(d, 1ull << VIRTIO_F_VERSION_1, &features);
        struct virtq q;
        virtq_init(&q, rings[n]);
        q.size = sizes[i];
        say("qsize", n, d);
        put_field("size ", sizes[i], 0);
        put_string(": ");
        bad_queue(d, &q);
        after_reset(d, rings[n]);
    }
}

static void overlapping_rings(int n, struct virtio_device *d) {
    for (int variant = 0; variant < 2; variant++) {
        u64 features;
        virtio_negotiate(d, 1ull << VIRTIO_F_VERSION_1, &features);
        struct virtq q;
        virtq_init(&q, rings[n]);
        q.used = variant == 0 ? (volatile u16 *)q.desc : q.avail;
        say("overlap", n, d);
        put_string(variant == 0 ? "used ring on the descriptor table: " : "used ring on the available ring: ");
        bad_queue(d, &q);
        after_reset(d, rings[n]);
    }
}

/* --- Notifications --------------------------------------------------------------- */

static void notify_queue(struct virtio_device *d, u16 queue) {
    if (d->pci_device) mmio_write16(d->notify + (u64)queue * d->notify_multiplier, queue);
    else mmio_write32(d->base + MMIO_QUEUE_NOTIFY, queue);
}

static void storm(int n, struct virtio_device *d) {
    u64 features;
    if (virtio_start(d, 1ull << VIRTIO_F_VERSION_1, &features, rings[n]) != 0) return;
    struct virtq *q = &d->queue;
    for (int i = 0; i < STORM_ROUNDS; i++) {
        notify_queue(d, 0);
        notify_queue(d, 1);
        notify_queue(d, 0xffff);
    }
    say("storm", n, d);
    put_field("", 3 * STORM_ROUNDS, 0);
    put_field(" notifications with nothing available: used ", q->used[1], 0);
    put_field(", status ", d->ops->get_status(d), 2);
    read_request(q, (u64)blk_data, SECTOR);
    make_available(d, 0);
    for (int i = 1; i < STORM_REPEATS; i++) notify_queue(d, 0);
    u32 length;
    int answered = virtq_wait(q, &length) == 0;
    put_field("; one request notified ", STORM_REPEATS, 0);
    put_field(" times: used ", q->used[1], 0);
    if (answered && status == BLK_S_OK) put_field(", read sector 0: fnv ", fnv1a(blk_data, SECTOR), 8);
    else put_string(", not served");
    after_reset(d, rings[n]);
}

/* --- MSI-X messages ------------------------------------------------------------------ */

#define MSIX_MESSAGES 100
#define MSI_DELIVERY_MODE 0x700u  /* data bits 10-8 (SDM vol. 3A, 11.11.2); 0 is fixed */

static void random_messages(int n, struct virtio_device *d) {
    u64 features;
    if (!d->pci_device || virtio_start(d, 1ull << VIRTIO_F_VERSION_1, &features, rings[n]) != 0) return;
    say("msix", n, d);
    if (virtio_pci_enable_msix(d, 0x40) != 0) { put_string("MSI-X refused\n"); return; }
    u64 entry = d->base + (pci_read32(d->pci_device, d->msix_cap + 4) & ~7u);  /* table entry 0 */
    int served = 0;
    for (int i = 0; i < MSIX_MESSAGES; i++) {
        u64 random = next_random();
        mmio_write32(entry + 0, (u32)random);
        mmio_write32(entry + 4, i % 2 ? (u32)(random >> 32) : 0);
        mmio_write32(entry + 8, (u32)(random >> 16) & ~MSI_DELIVERY_MODE);
        served += blk_request(d, BLK_T_IN, 0, SECTOR, 1, 0) == BLK_S_OK;
    }
    put_field("", MSIX_MESSAGES, 0);
    put_field(" requests, each interrupting through a new random message: ", (u64)served, 0);
    put_string(" served");
    after_reset(d, rings[n]);
}

/* --- Entry --------------------------------------------------------------------------- */

static const char *const scenarios[] = {
    "loop", "outside", "registers", "span", "across", "jump", "head", "qsize", "overlap", "storm", "msix", "scramble",
};

void hostile_main(const char *option, const u8 *boot_params) {
    static struct virtio_device disks[MAX_DISKS];
    char scenario[16];
    int length = 0, known = 0;
    for (const char *p = option + 1; *p && *p != ' ' && length < 15; p++) scenario[length++] = *p;
    scenario[length] = 0;
    for (u32 i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) known |= same(scenario, scenarios[i]);
    if (!known) {
        put_string("hostile ");
        put_string(scenario);
        put_string(": no such scenario\n");
        return;
    }
    const char *seed = find_option("testguest.seed");
    if (seed) seed_random(option_value(seed, 0));
    int count = blk_find(disks, MAX_DISKS, 0);
    u64 ram_end = low_ram_end(boot_params);
    put_string("hostile ");
    put_string(scenario);
    put_field(": ", (u64)count, 0);
    put_field(" disks, RAM below 4 GiB ends at ", ram_end, 8);
    put_char('\n');
    if (same(scenario, "scramble")) scramble(disks, count);
    for (int n = 0; n < count; n++) {
        if (same(scenario, "scramble")) {
            say(scenario, n, &disks[n]);
            put_string("registers scrambled");
            after_reset(&disks[n], rings[n]);
        } else if (same(scenario, "qsize")) queue_sizes(n, &disks[n]);
        else if (same(scenario, "overlap")) overlapping_rings(n, &disks[n]);
        else if (same(scenario, "storm")) storm(n, &disks[n]);
        else if (same(scenario, "msix")) random_messages(n, &disks[n]);
        else broken_ring(scenario, n, &disks[n], ram_end);
    }
}
