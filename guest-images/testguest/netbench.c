/*
 * The network benchmark (`testguest.netbench=MODE,COUNT`) on the first virtio-net
 * device, the same on any VMM: the host times whole runs against a run with COUNT 0.
 *   tx     COUNT frames of 60 bytes (`size=S`: S bytes), up to a queue's worth in flight,
 *          one notification per batch: small-frame packets per second
 *   tso    COUNT TCP/IPv4 segments of 64,000 bytes (HOST_TSO4): bulk throughput
 *   ping   COUNT round trips: a frame out, wait for the host's echo: latency
 * It prints `netbench: MODE COUNT done, F failed`.
 */
#include "virtio.h"

#define NET_HDR 12
#define BENCH_PAYLOAD 64000

static u8 bench_rings[2][4096] __attribute__((aligned(4096)));
static u8 bench_frame[NET_HDR + 14 + 40 + BENCH_PAYLOAD] __attribute__((aligned(64)));
static u8 bench_rx[16][2048] __attribute__((aligned(64)));

static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }

/* Reclaims used transmit entries; returns how many came back. */
static u32 reclaim(struct virtq *tx) {
    u32 count = 0;
    barrier();
    while (tx->used[1] != tx->last_used) { tx->last_used++; count++; }
    return count;
}

static u32 tso_frame(const u8 *mac) {
    u8 *h = bench_frame, *e = h + NET_HDR, *ip = e + 14, *tcp = ip + 20;
    h[0] = 1; h[1] = 1;                                       /* NEEDS_CSUM, GSO_TCPV4 */
    h[2] = 54; h[3] = 0; h[4] = (u8)1448; h[5] = 1448 >> 8;   /* hdr_len, gso_size */
    h[6] = 34; h[7] = 0; h[8] = 16; h[9] = 0;                 /* csum_start, csum_offset */
    for (int i = 0; i < 6; i++) { e[i] = i ? 0 : 2; e[6 + i] = mac[i]; }
    put16(e + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, 40 + BENCH_PAYLOAD);
    ip[8] = 64, ip[9] = 6, ip[12] = 10, ip[15] = 2, ip[16] = 10, ip[19] = 1;
    tcp[12] = 5 << 4;
    tcp[13] = 0x10;
    return NET_HDR + 14 + 40 + BENCH_PAYLOAD;
}

void net_bench(const char *option) {
    static struct virtio_device devices[1];
    const char *p = option + 1;  /* past '=' */
    int mode = p[0] == 't' && p[1] == 's' ? 1 : p[0] == 'p' ? 2 : 0;
    while (*p && *p != ',') p++;
    u64 count = 0, size = 60;
    if (*p == ',') p = parse_number(p + 1, &count);
    if (p[0] == ',' && p[1] == 's') parse_number(p + 6, &size);
    if (size < 60 || size > 1514) size = 60;
    int found = virtio_pci_find(devices, 1, VIRTIO_ID_NET, 0);
    if (!found) found = virtio_mmio_find(devices, 1, VIRTIO_ID_NET);
    if (!found) { put_string("netbench: no network device\n"); return; }
    struct virtio_device *d = &devices[0];
    u64 wanted = 1ull << VIRTIO_F_VERSION_1 | 1ull << 5 /* MAC */;
    if (mode == 1) wanted |= 1ull << 0 /* CSUM */ | 1ull << 11 /* HOST_TSO4 */;
    u64 features;
    struct virtq rx, tx;
    if (virtio_negotiate(d, wanted, &features) != 0) { put_string("netbench: cannot negotiate\n"); return; }
    virtq_init(&rx, bench_rings[0]);
    virtq_init(&tx, bench_rings[1]);
    if (d->ops->setup_queue(d, 0, &rx) != 0 || d->ops->setup_queue(d, 1, &tx) != 0) return;
    d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    u8 mac[6];
    u32 c0 = d->ops->config_read32(d, 0), c4 = d->ops->config_read32(d, 4);
    for (int i = 0; i < 4; i++) mac[i] = (u8)(c0 >> (8 * i));
    mac[4] = (u8)c4, mac[5] = (u8)(c4 >> 8);
    if (mode == 1 && !((features >> 11) & 1)) { put_string("netbench: no TSO\n"); return; }

    u32 length;
    if (mode == 1) {
        length = tso_frame(mac);
    } else {
        for (int i = 0; i < 6; i++) { bench_frame[NET_HDR + i] = 0xff; bench_frame[NET_HDR + 6 + i] = mac[i]; }
        put16(bench_frame + NET_HDR + 12, 0x88b5);
        length = NET_HDR + (u32)size;
    }
    for (u16 i = 0; i < tx.size; i++) { tx.desc[i].addr = (u64)bench_frame; tx.desc[i].len = length; tx.desc[i].flags = 0; }
    for (u16 i = 0; i < 16; i++) {
        rx.desc[i].addr = (u64)bench_rx[i]; rx.desc[i].len = 2048; rx.desc[i].flags = VIRTQ_DESC_F_WRITE;
        virtq_publish(&rx, i);
    }
    d->ops->notify(d, 0);
    put_string("netbench: ready\n");

    u64 failed = 0, done = 0, inflight = 0;
    if (mode == 2) {
        for (; done < count; done++) {
            tx.desc[0].len = NET_HDR + 60;
            virtq_publish(&tx, 0);
            barrier();
            if (!(tx.used[0] & 1)) d->ops->notify(d, 1);
            u64 spins = 0;
            for (;;) {
                barrier();
                if (rx.used[1] != rx.last_used) {
                    volatile u32 *element = (volatile u32 *)(rx.used + 2) + 2 * (rx.last_used % rx.size);
                    u16 head = (u16)element[0];
                    rx.last_used++;
                    virtq_publish(&rx, head);
                    /* As Linux's driver: no notification while the device says it
                     * needs none (VIRTQ_USED_F_NO_NOTIFY, 2.7.10). */
                    barrier();
                    if (!(rx.used[0] & 1)) d->ops->notify(d, 0);
                    if (bench_rx[head][NET_HDR + 12] == 0x88 && bench_rx[head][NET_HDR + 13] == 0xb6) break;
                }
                if (++spins > 20000000) { failed++; break; }
                __asm__ volatile("pause");
            }
            reclaim(&tx);
        }
    } else {
        while (done < count) {
            u32 batch = 0;
            while (inflight < tx.size && done + inflight < count) {
                virtq_publish(&tx, (u16)((done + inflight) % tx.size));
                inflight++, batch++;
            }
            barrier();
            if (batch && !(tx.used[0] & 1)) d->ops->notify(d, 1);
            u64 spins = 0;
            u32 back;
            while ((back = reclaim(&tx)) == 0) {
                if (++spins > 20000000) break;
                __asm__ volatile("pause");
            }
            if (!back) { failed = count - done; break; }
            done += back;
            inflight -= back;
        }
    }
    put_string("netbench: ");
    put_string(mode == 1 ? "tso " : mode == 2 ? "ping " : "tx ");
    put_decimal(count);
    put_string(" done, ");
    put_decimal(failed);
    put_string(" failed\n");
}
