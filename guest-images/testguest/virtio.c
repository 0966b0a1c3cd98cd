/*
 * A split virtqueue, driver side (virtio v1.2, 2.7), and device initialization (3.1.1).
 */
#include "virtio.h"

/* A queue's parts, one after another from `pages` (4 KiB-aligned): the descriptor table
 * at 0, the available ring right after it, the used ring at the next 256-byte boundary
 * (more than the 16, 2 and 4 bytes of alignment 2.7 asks of each). For QUEUE_SIZE that
 * is one page: descriptors at 0, available ring at 0x100, used ring at 0x200. */
static u32 avail_offset(u16 size) { return 16u * size; }
static u32 used_offset(u16 size) { return (avail_offset(size) + 6u + 2u * size + 0xffu) & ~0xffu; }

/* The rings' flags and indices start at 0 (2.7.6, 2.7.8): memory used before (a device
 * reset and set up again) still holds the old ones, and a stale used index would pass
 * for a completion. */
void virtq_init_sized(struct virtq *q, u8 *pages, u16 size) {
    q->desc = (volatile struct virtq_desc *)pages;
    q->avail = (volatile u16 *)(pages + avail_offset(size));
    q->used = (volatile u16 *)(pages + used_offset(size));
    q->avail[0] = q->avail[1] = 0;
    q->used[0] = q->used[1] = 0;
    q->size = size;
    q->avail_idx = 0;
    q->last_used = 0;
}

void virtq_init(struct virtq *q, u8 *page) { virtq_init_sized(q, page, QUEUE_SIZE); }

/* Makes the chain at `head` the next available entry (2.7.13), without notifying. */
void virtq_publish(struct virtq *q, u16 head) {
    q->avail[2 + q->avail_idx % q->size] = head;
    barrier();  /* x86 keeps stores in order; the compiler must too (2.7.13) */
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    barrier();
}

/* Makes the chain at `head` the next available entry and notifies the device (2.7.13). */
void virtq_make_available(struct virtio_device *d, struct virtq *q, u16 head) {
    virtq_publish(q, head);
    d->ops->notify(d, 0);
}

/* Copies `chain` into the descriptor table from entry 0 on, makes it available, and
 * notifies the device. One request at a time, so entry 0 is free. */
void virtq_submit(struct virtio_device *d, struct virtq *q, const struct virtq_desc *chain, int count) {
    for (int i = 0; i < count; i++) {
        q->desc[i].addr = chain[i].addr;
        q->desc[i].len = chain[i].len;
        q->desc[i].flags = chain[i].flags | (i + 1 < count ? VIRTQ_DESC_F_NEXT : 0);
        q->desc[i].next = (u16)(i + 1);
    }
    virtq_make_available(d, q, 0);
}

/* Polls the used ring until the device returns a chain; gives its length. Returns 0,
 * or -1 if the device gave up (DEVICE_NEEDS_RESET) or took too long. */
int virtq_wait(struct virtq *q, u32 *used_len) {
    for (u64 spins = 0; spins < 2000000; spins++) {
        barrier();
        if (q->used[1] != q->last_used) {
            u16 slot = q->last_used % q->size;
            volatile u32 *element = (volatile u32 *)(q->used + 2) + 2 * slot;
            *used_len = element[1];
            q->last_used++;
            return 0;
        }
        __asm__ volatile("pause");
    }
    return -1;
}

/* Device initialization (3.1.1) up to the queues: reset, ACKNOWLEDGE, DRIVER, features,
 * FEATURES_OK (checked). Accepts the offered subset of `wanted`. */
int virtio_negotiate(struct virtio_device *d, u64 wanted, u64 *accepted) {
    d->ops->set_status(d, 0);
    if (d->ops->get_status(d) != 0) return -1;
    u8 status = VIRTIO_STATUS_ACKNOWLEDGE;
    d->ops->set_status(d, status);
    status |= VIRTIO_STATUS_DRIVER;
    d->ops->set_status(d, status);
    u64 offered = d->ops->get_features(d, 0) | (u64)d->ops->get_features(d, 1) << 32;
    *accepted = offered & wanted;
    d->ops->set_features(d, 0, (u32)*accepted);
    d->ops->set_features(d, 1, (u32)(*accepted >> 32));
    status |= VIRTIO_STATUS_FEATURES_OK;
    d->ops->set_status(d, status);
    if (!(d->ops->get_status(d) & VIRTIO_STATUS_FEATURES_OK)) return -2;
    return 0;
}

/* The whole of device initialization (3.1.1): negotiation, queue 0 of `size` entries
 * over `ring_pages` (laid out as virtq_init_sized says), DRIVER_OK. */
int virtio_start_sized(struct virtio_device *d, u64 wanted, u64 *accepted, u8 *ring_pages, u16 size) {
    int error = virtio_negotiate(d, wanted, accepted);
    if (error) return error;
    virtq_init_sized(&d->queue, ring_pages, size);
    if (d->ops->setup_queue(d, 0, &d->queue) != 0) return -3;
    d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK
                              | VIRTIO_STATUS_DRIVER_OK);
    return 0;
}

/* The same with a queue of QUEUE_SIZE in one page. */
int virtio_start(struct virtio_device *d, u64 wanted, u64 *accepted, u8 *ring_page) {
    return virtio_start_sized(d, wanted, accepted, ring_page, QUEUE_SIZE);
}
