/*
 * The entropy device test (`testguest.rng=N`, virtio v1.2, 5.4): reads N bytes from
 * every virtio-rng device found (PCI bus 0, then the command line), 512 bytes a
 * request, and prints how many it got, in how many requests, how many distinct byte
 * values they hold and their checksum.
 */
#include "virtio.h"

#define MAX_RNGS 2
static u8 rng_rings[MAX_RNGS][4096] __attribute__((aligned(4096)));
static u8 rng_buffer[512] __attribute__((aligned(64)));

static void read_device(int n, struct virtio_device *d, u64 bytes) {
    u64 features;
    put_string("rng");
    put_decimal((u64)n);
    if (virtio_start(d, 1ull << VIRTIO_F_VERSION_1, &features, rng_rings[n]) != 0) {
        put_string(": cannot start the device\n");
        return;
    }
    static u8 seen[256];
    for (int i = 0; i < 256; i++) ((volatile u8 *)seen)[i] = 0;
    u64 got = 0, requests = 0;
    u32 hash = 2166136261u;
    while (got < bytes) {
        u32 want = bytes - got < sizeof rng_buffer ? (u32)(bytes - got) : sizeof rng_buffer;
        struct virtq_desc one = {(u64)rng_buffer, want, VIRTQ_DESC_F_WRITE, 0};
        virtq_submit(d, &d->queue, &one, 1);
        u32 used;
        if (virtq_wait(&d->queue, &used) != 0 || used > want) break;
        for (u32 i = 0; i < used; i++) { seen[rng_buffer[i]] = 1; hash = (hash ^ rng_buffer[i]) * 16777619u; }
        got += used;
        requests++;
    }
    u32 distinct = 0;
    for (int i = 0; i < 256; i++) distinct += seen[i];
    put_string(": ");
    put_string(d->transport);
    put_string(", read ");
    put_decimal(got);
    put_string(" bytes in ");
    put_decimal(requests);
    put_string(" requests, ");
    put_decimal(distinct);
    put_string(" distinct values, fnv ");
    put_hex(hash, 8);
    put_char('\n');
}

void rng_test(u64 bytes) {
    static struct virtio_device devices[MAX_RNGS];
    int count = virtio_pci_find(devices, MAX_RNGS, VIRTIO_ID_RNG, 0);
    count += virtio_mmio_find(devices + count, MAX_RNGS - count, VIRTIO_ID_RNG);
    put_string("rngs: ");
    put_decimal((u64)count);
    put_char('\n');
    for (int n = 0; n < count; n++) read_device(n, &devices[n], bytes);
}
