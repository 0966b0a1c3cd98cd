/*
 * The disk benchmark, on the first virtio block device found:
 *
 *   testguest.diskbench=COUNT[,size=BYTES][,depth=D][,write]
 *
 * COUNT requests of BYTES each (default 4K; a multiple of 512 up to 1M, with an optional
 * K or M suffix), sequential from sector 0 and wrapping round at the end of the disk,
 * reads unless `write`, with up to D of them in flight at once (default 1; `depth=max`
 * is the most this driver keeps in flight). It prints
 *
 *   diskbench: COUNT reads of BYTES bytes, depth D, F failed
 *
 * COUNT = 0 starts the device and does nothing more: a benchmark subtracts such a run.
 *
 * Each request is one descriptor chain of three descriptors (virtio v1.2, 5.2.6): its
 * header, one data buffer over contiguous guest memory, its status byte. Request slot s
 * owns descriptors 3s to 3s + 2, written once; a request only changes its header's
 * sector and its status. The guest polls the used ring (interrupts stay off), refills the
 * slot of every request the device returned, makes them all available at once and
 * notifies the device once per pass, as a driver batching its submissions does.
 */
#include "virtio.h"

/* The queue: the device's largest, up to BENCH_QUEUE_SIZE; its parts fit in ring_pages. */
#define BENCH_QUEUE_SIZE 256
#define BENCH_MAX_DEPTH (BENCH_QUEUE_SIZE / 3)
#define BENCH_MAX_SIZE (1u << 20)
/* Polls of the used ring without a completion before the device counts as gone. */
#define BENCH_PATIENCE 20000000u
/* The data buffers, BENCH_MAX_SIZE apart, start at the first 2 MiB boundary past the
 * image (link.ld): depth=max with 1 MiB requests needs RAM up to about 88 MiB. */
#define BUFFER_ALIGNMENT 0x200000u

extern u8 image_end[];  /* link.ld */

static u8 ring_pages[2 * 4096] __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } headers[BENCH_MAX_DEPTH] __attribute__((aligned(16)));
static volatile u8 statuses[BENCH_MAX_DEPTH];

struct bench_options {
    u64 count;
    u32 size;
    u32 depth;  /* 0: the most this driver keeps in flight */
    int write;
};

/* Parses "COUNT[,size=S][,depth=D|max][,write]" after "testguest.diskbench="; returns 0
 * on an option it does not know. */
static int parse(const char *p, struct bench_options *o) {
    o->count = 0, o->size = 4096, o->depth = 1, o->write = 0;
    if (*p++ != '=') return 0;
    p = parse_number(p, &o->count);
    while (*p == ',') {
        p++;
        u64 value;
        if (p[0] == 's' && p[1] == 'i' && p[2] == 'z' && p[3] == 'e' && p[4] == '=') {
            p = parse_number(p + 5, &value);
            if (*p == 'K' || *p == 'k') value <<= 10, p++;
            else if (*p == 'M' || *p == 'm') value <<= 20, p++;
            if (value == 0 || value % SECTOR || value > BENCH_MAX_SIZE) return 0;
            o->size = (u32)value;
        } else if (p[0] == 'd' && p[1] == 'e' && p[2] == 'p' && p[3] == 't' && p[4] == 'h' && p[5] == '=') {
            p += 6;
            if (p[0] == 'm' && p[1] == 'a' && p[2] == 'x') { o->depth = 0; p += 3; continue; }
            p = parse_number(p, &value);
            if (value == 0) return 0;
            o->depth = value > BENCH_MAX_DEPTH ? BENCH_MAX_DEPTH : (u32)value;
        } else if (p[0] == 'w' && p[1] == 'r' && p[2] == 'i' && p[3] == 't' && p[4] == 'e') {
            o->write = 1;
            p += 5;
        } else {
            return 0;
        }
    }
    return *p == ' ' || *p == 0;
}

/* The requests' progress over the disk. */
struct stream {
    struct virtq *q;
    u16 size;
    u64 sector, span, per_request, issued;
};

/* The next request goes out in slot s: the next sectors, its status reset, its head in
 * the available ring (the index is published after the whole batch). */
static void issue(struct stream *r, u32 s) {
    headers[s].sector = r->sector;
    r->sector = r->sector + r->per_request == r->span ? 0 : r->sector + r->per_request;
    statuses[s] = 0xff;
    r->q->avail[2 + r->q->avail_idx++ % r->size] = (u16)(3 * s);
    r->issued++;
}

/* Makes every entry added to the available ring visible, then notifies (2.7.13). */
static void publish(struct virtio_device *d, struct virtq *q) {
    barrier();  /* x86 keeps stores in order; the compiler must too */
    q->avail[1] = q->avail_idx;
    barrier();
    d->ops->notify(d, 0);
}

static void report(const struct bench_options *o, u64 failed) {
    put_string("diskbench: ");
    put_decimal(o->count);
    put_string(o->write ? " writes of " : " reads of ");
    put_decimal(o->size);
    put_string(" bytes, depth ");
    put_decimal(o->depth);
    put_string(", ");
    put_decimal(failed);
    put_string(" failed\n");
}

void disk_bench(const char *option) {
    static struct virtio_device disks[MAX_DISKS];
    struct bench_options o;
    if (!parse(option, &o)) {
        put_string("diskbench: expected COUNT[,size=BYTES][,depth=D|max][,write]\n");
        return;
    }
    if (blk_find(disks, MAX_DISKS, 0) == 0) { put_string("diskbench: no disk\n"); return; }
    struct virtio_device *d = &disks[0];
    u16 size = BENCH_QUEUE_SIZE, max = d->ops->queue_max(d, 0);
    while (size > max && size > QUEUE_SIZE) size /= 2;
    u64 features;
    /* FLUSH, as Linux's driver takes it: writes then complete from the host's cache
     * (without it each would be synced first, virtio v1.2 5.2.6.2). */
    if (virtio_start_sized(d, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH, &features, ring_pages, size) != 0) {
        put_string("diskbench: cannot start the disk\n");
        return;
    }
    struct virtq *q = &d->queue;
    u32 deepest = size / 3;
    if (o.depth == 0 || o.depth > deepest) o.depth = deepest;
    u64 per_request = o.size / SECTOR, capacity = blk_capacity(d);
    u64 span = capacity / per_request * per_request;  /* the sectors sequential requests cover */
    if (span == 0) { put_string("diskbench: the disk is smaller than one request\n"); return; }

    u64 buffers = ((u64)image_end + BUFFER_ALIGNMENT - 1) & ~(u64)(BUFFER_ALIGNMENT - 1);
    for (u32 s = 0; s < o.depth; s++) {
        headers[s].type = o.write ? BLK_T_OUT : BLK_T_IN;
        q->desc[3 * s] = (struct virtq_desc){(u64)&headers[s], sizeof headers[s], VIRTQ_DESC_F_NEXT, (u16)(3 * s + 1)};
        q->desc[3 * s + 1] = (struct virtq_desc){buffers + (u64)s * BENCH_MAX_SIZE, o.size,
                                                 (u16)(VIRTQ_DESC_F_NEXT | (o.write ? 0 : VIRTQ_DESC_F_WRITE)), (u16)(3 * s + 2)};
        q->desc[3 * s + 2] = (struct virtq_desc){(u64)&statuses[s], 1, VIRTQ_DESC_F_WRITE, 0};
    }

    struct stream r = {q, size, 0, span, per_request, 0};
    u64 done = 0, failed = 0;
    for (u32 s = 0; s < o.depth && r.issued < o.count; s++) issue(&r, s);
    if (r.issued) publish(d, q);
    while (done < o.count) {
        u16 used = q->used[1];
        for (u32 spins = 0; used == q->last_used; used = q->used[1]) {
            if (++spins == BENCH_PATIENCE) {
                put_string("diskbench: no answer from the device\n");
                failed += o.count - done;
                report(&o, failed);
                return;
            }
            __asm__ volatile("pause");
        }
        barrier();
        u64 before = r.issued;
        for (; q->last_used != used; q->last_used++) {
            volatile u32 *element = (volatile u32 *)(q->used + 2) + 2 * (q->last_used % size);
            u32 s = element[0] / 3;  /* the head, 3s */
            failed += statuses[s] != BLK_S_OK;
            done++;
            if (r.issued < o.count) issue(&r, s);
        }
        if (r.issued != before) publish(d, q);
    }
    report(&o, failed);
}
