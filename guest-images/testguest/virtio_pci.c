/*
 * The virtio-pci modern transport, driver side (virtio v1.2, 4.1): find the function,
 * walk its capability list for the virtio structures (4.1.4), drive the common
 * configuration structure (4.1.4.3), and set up MSI-X (PCI 3.0, 6.8.2).
 */
#include "virtio.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR0 0x10
#define PCI_CAPABILITIES 0x34
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX 0x11
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4

/* struct virtio_pci_common_cfg (4.1.4.3) */
#define COMMON_DEVICE_FEATURE_SELECT 0x00
#define COMMON_DEVICE_FEATURE 0x04
#define COMMON_DRIVER_FEATURE_SELECT 0x08
#define COMMON_DRIVER_FEATURE 0x0c
#define COMMON_MSIX_CONFIG 0x10
#define COMMON_STATUS 0x14
#define COMMON_QUEUE_SELECT 0x16
#define COMMON_QUEUE_SIZE 0x18
#define COMMON_QUEUE_MSIX_VECTOR 0x1a
#define COMMON_QUEUE_ENABLE 0x1c
#define COMMON_QUEUE_NOTIFY_OFF 0x1e
#define COMMON_QUEUE_DESC 0x20
#define COMMON_QUEUE_DRIVER 0x28
#define COMMON_QUEUE_DEVICE 0x30

static u8 get_status(struct virtio_device *d) { return mmio_read8(d->common + COMMON_STATUS); }
static void set_status(struct virtio_device *d, u8 s) { mmio_write8(d->common + COMMON_STATUS, s); }

static u32 get_features(struct virtio_device *d, u32 word) {
    mmio_write32(d->common + COMMON_DEVICE_FEATURE_SELECT, word);
    return mmio_read32(d->common + COMMON_DEVICE_FEATURE);
}

static void set_features(struct virtio_device *d, u32 word, u32 value) {
    mmio_write32(d->common + COMMON_DRIVER_FEATURE_SELECT, word);
    mmio_write32(d->common + COMMON_DRIVER_FEATURE, value);
}

/* Until the driver writes it, queue_size holds the largest size the device accepts (4.1.4.3). */
static u16 queue_max(struct virtio_device *d, u16 index) {
    mmio_write16(d->common + COMMON_QUEUE_SELECT, index);
    return mmio_read16(d->common + COMMON_QUEUE_SIZE);
}

static int setup_queue(struct virtio_device *d, u16 index, struct virtq *q) {
    if (index >= VIRTIO_DRIVER_QUEUES || queue_max(d, index) < QUEUE_SIZE) return -1;
    mmio_write16(d->common + COMMON_QUEUE_SIZE, q->size);
    mmio_write64(d->common + COMMON_QUEUE_DESC, (u64)q->desc);
    mmio_write64(d->common + COMMON_QUEUE_DRIVER, (u64)q->avail);
    mmio_write64(d->common + COMMON_QUEUE_DEVICE, (u64)q->used);
    u16 offset = mmio_read16(d->common + COMMON_QUEUE_NOTIFY_OFF);
    d->queue_notify[index] = d->notify + (u64)offset * d->notify_multiplier;
    mmio_write16(d->common + COMMON_QUEUE_ENABLE, 1);
    return 0;
}

/* The queue's address was worked out when it was set up (4.1.4.4). */
static void notify(struct virtio_device *d, u16 index) { mmio_write16(d->queue_notify[index], index); }

static u32 config_read32(struct virtio_device *d, u32 offset) { return mmio_read32(d->device_cfg + offset); }
/* Reading ISR status acknowledges it (4.1.4.5). */
static u32 interrupt_status(struct virtio_device *d) { return mmio_read8(d->isr); }

static const struct virtio_ops pci_ops = {
    get_status, set_status, get_features, set_features, queue_max, setup_queue, notify, config_read32, interrupt_status,
};

#define BAR_MOVE 0x100000

/* Finds function 0 of every device on bus 0 with PCI ID 1af4:(1040 + device_id),
 * optionally moves its BAR 0 up by BAR_MOVE (decoding off meanwhile), enables memory
 * decoding and bus mastering, and locates its structures. */
int virtio_pci_find(struct virtio_device *devices, int max, u16 device_id, int move_bars) {
    int found = 0;
    for (u8 dev = 0; dev < 32 && found < max; dev++) {
        u32 id = pci_read32(dev, 0x00);
        if (id != (0x1af4u | (u32)(0x1040 + device_id) << 16)) continue;
        struct virtio_device *d = &devices[found];
        d->ops = &pci_ops;
        d->transport = "pci";
        d->pci_device = dev;
        if (move_bars) {
            pci_write16(dev, PCI_COMMAND, 0);
            pci_write32(dev, PCI_BAR0, (pci_read32(dev, PCI_BAR0) & ~0xfu) + BAR_MOVE);
        }
        d->base = pci_read32(dev, PCI_BAR0) & ~0xfu;
        pci_write16(dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        for (u8 cap = pci_read8(dev, PCI_CAPABILITIES); cap; cap = pci_read8(dev, cap + 1)) {
            u8 type = pci_read8(dev, cap);
            if (type == PCI_CAP_MSIX) { d->msix_cap = cap; continue; }
            if (type != PCI_CAP_VENDOR || pci_read8(dev, cap + 4) != 0) continue;  /* BAR 0 only */
            u64 address = d->base + pci_read32(dev, cap + 8);
            switch (pci_read8(dev, cap + 3)) {
            case VIRTIO_PCI_CAP_COMMON: d->common = address; break;
            case VIRTIO_PCI_CAP_NOTIFY: d->notify = address; d->notify_multiplier = pci_read32(dev, cap + 16); break;
            case VIRTIO_PCI_CAP_ISR: d->isr = address; break;
            case VIRTIO_PCI_CAP_DEVICE: d->device_cfg = address; break;
            }
        }
        if (d->common && d->notify && d->isr && d->device_cfg) found++;
    }
    return found;
}

/* Routes queue 0's interrupts to `vector` on the boot CPU's local APIC through MSI-X
 * entry 0, and enables MSI-X. Returns 0, or -1 if the device refused the vector. */
int virtio_pci_enable_msix(struct virtio_device *d, u8 vector) {
    if (!d->msix_cap) return -1;
    u32 table = pci_read32(d->pci_device, d->msix_cap + 4);
    if ((table & 7) != 0) return -1;  /* the table is in BAR 0 here */
    u64 entry = d->base + (table & ~7u);
    mmio_write32(entry + 0, 0xfee00000u);  /* message address: local APIC ID 0 */
    mmio_write32(entry + 4, 0);
    mmio_write32(entry + 8, vector);       /* fixed delivery, edge */
    mmio_write32(entry + 12, 0);           /* unmasked */
    mmio_write16(d->common + COMMON_QUEUE_SELECT, 0);
    mmio_write16(d->common + COMMON_QUEUE_MSIX_VECTOR, 0);
    if (mmio_read16(d->common + COMMON_QUEUE_MSIX_VECTOR) != 0) return -1;
    u16 control = pci_read16(d->pci_device, d->msix_cap + 2);
    pci_write16(d->pci_device, d->msix_cap + 2, control | 0x8000);  /* MSI-X Enable */
    return 0;
}
