/*
 * The virtio-mmio transport, version 2, driver side (virtio v1.2, 4.2). Devices are
 * found as Linux finds them without a device tree: `virtio_mmio.device=SIZE@ADDR:IRQ`
 * on the command line.
 */
#include "virtio.h"

#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0
#define MMIO_CONFIG 0x100

static u8 get_status(struct virtio_device *d) { return (u8)mmio_read32(d->base + MMIO_STATUS); }
static void set_status(struct virtio_device *d, u8 s) { mmio_write32(d->base + MMIO_STATUS, s); }

static u32 get_features(struct virtio_device *d, u32 word) {
    mmio_write32(d->base + MMIO_DEVICE_FEATURES_SEL, word);
    return mmio_read32(d->base + MMIO_DEVICE_FEATURES);
}

static void set_features(struct virtio_device *d, u32 word, u32 value) {
    mmio_write32(d->base + MMIO_DRIVER_FEATURES_SEL, word);
    mmio_write32(d->base + MMIO_DRIVER_FEATURES, value);
}

static u16 queue_max(struct virtio_device *d, u16 index) {
    mmio_write32(d->base + MMIO_QUEUE_SEL, index);
    u32 max = mmio_read32(d->base + MMIO_QUEUE_NUM_MAX);
    return max > 0x8000 ? 0x8000 : (u16)max;  /* 2.7: a split queue holds at most 32768 */
}

static int setup_queue(struct virtio_device *d, u16 index, struct virtq *q) {
    if (queue_max(d, index) < QUEUE_SIZE) return -1;
    mmio_write32(d->base + MMIO_QUEUE_NUM, q->size);
    mmio_write64(d->base + MMIO_QUEUE_DESC, (u64)q->desc);
    mmio_write64(d->base + MMIO_QUEUE_DRIVER, (u64)q->avail);
    mmio_write64(d->base + MMIO_QUEUE_DEVICE, (u64)q->used);
    mmio_write32(d->base + MMIO_QUEUE_READY, 1);
    return 0;
}

static void notify(struct virtio_device *d, u16 index) { mmio_write32(d->base + MMIO_QUEUE_NOTIFY, index); }
static u32 config_read32(struct virtio_device *d, u32 offset) { return mmio_read32(d->base + MMIO_CONFIG + offset); }

static u32 interrupt_status(struct virtio_device *d) {
    u32 status = mmio_read32(d->base + MMIO_INTERRUPT_STATUS);
    mmio_write32(d->base + MMIO_INTERRUPT_ACK, status);
    return status;
}

static const struct virtio_ops mmio_ops = {
    get_status, set_status, get_features, set_features, queue_max, setup_queue, notify, config_read32, interrupt_status,
};

/* Every `virtio_mmio.device=<size>[K]@<base>:<irq>` whose registers say "virt",
 * version 2, device `device_id`. SwiftVMM writes the size as "4K"; QEMU's microvm, in
 * bytes ("512@0xfeb00e00:12"). */
int virtio_mmio_find(struct virtio_device *devices, int max, u32 device_id) {
    static const char key[] = "virtio_mmio.device=";
    int found = 0;
    for (const char *p = command_line(); *p && found < max; p++) {
        if (p != command_line() && p[-1] != ' ') continue;
        int i = 0;
        while (key[i] && p[i] == key[i]) i++;
        if (key[i]) continue;
        u64 size, base, irq;
        const char *q = parse_number(p + i, &size);
        if (*q == 'K' || *q == 'k') q++;
        if (*q++ != '@') continue;
        q = parse_number(q, &base);
        if (*q++ != ':') continue;
        parse_number(q, &irq);
        if (mmio_read32(base + MMIO_MAGIC) != 0x74726976 || mmio_read32(base + MMIO_VERSION) != 2) continue;
        if (mmio_read32(base + MMIO_DEVICE_ID) != device_id) continue;
        struct virtio_device *d = &devices[found++];
        d->ops = &mmio_ops;
        d->transport = "mmio";
        d->base = base;
        d->irq = (u32)irq;
    }
    return found;
}
