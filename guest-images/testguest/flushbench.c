/*
 * The flush benchmark: does one disk's flush hold up another disk's requests?
 *
 *   testguest.flushbench=READS[,write=MIB]
 *
 * It needs two virtio disks and a second CPU (ACPI on: no testguest.noacpi). Disk 0 is
 * written, then flushed; disk 1 is read, 4 KiB at a time, one request in flight,
 * sequentially from sector 0 and wrapping round. In order:
 *
 *   1. the boot CPU writes MIB MiB (default 1024) to disk 0 in 1 MiB requests, which
 *      the host keeps in its page cache, dirty;
 *   2. it prints "flushbench: reading, disk 0 idle", reads disk 1 READS times and prints
 *      "flushbench: READS reads, disk 0 idle";
 *   3. it starts the first AP again, which sends disk 0 one FLUSH (the host writes those
 *      MiB out) and waits for it; meanwhile the boot CPU goes on reading disk 1 and
 *      prints "flushbench: reading, disk 0 flushing" when it sees the flush begin and
 *      "flushbench: R reads, disk 0 flushing, status S" when it sees it answered.
 *
 * The harness times the lines as they arrive: READS over the first pair's interval is
 * the reads' rate with disk 0 idle, R over the second pair's with disk 0 flushing, both
 * in the same run. The boot CPU prints nothing else meanwhile, and the AP nothing at
 * all. During the first pair the AP is halted, and during the flush (served on its vCPU,
 * io=vcpu) its thread waits in the host, so the boot CPU has the same share of the host
 * in both.
 */
#include "smp.h"
#include "virtio.h"

#define FLUSHBENCH_READ_SIZE 4096u
#define FLUSHBENCH_WRITE_SIZE (1u << 20)
#define FLUSHBENCH_DEFAULT_MIB 1024
/* The write buffer starts at the first 2 MiB boundary past the image (link.ld). */
#define WRITE_BUFFER_ALIGNMENT 0x200000u

extern u8 image_end[];  /* link.ld */

/* One request at a time on each disk, each with its own header, status and ring. */
struct disk_io {
    struct virtio_device *d;
    struct { u32 type; u32 reserved; u64 sector; } header __attribute__((aligned(16)));
    volatile u8 status;
};

static u8 rings[2][4096] __attribute__((aligned(4096)));
static u8 read_buffer[FLUSHBENCH_READ_SIZE] __attribute__((aligned(4096)));
static struct disk_io flushed, read_disk;

/* The flush's progress, as the AP reports it to the boot CPU. */
enum { FLUSH_WAITING, FLUSH_STARTED, FLUSH_ANSWERED };
static volatile u32 flush_state;
static volatile u8 flush_status;

/* One request of `type` on `io`'s disk: header, `len` bytes at `data` (device-writable when
 * `to_guest`), status. Waits for the answer, however long the host takes; returns the status. */
static u8 request(struct disk_io *io, u32 type, u64 sector, u64 data, u32 len, int to_guest) {
    io->header.type = type;
    io->header.sector = sector;
    io->header.reserved = 0;
    io->status = 0xff;
    struct virtq_desc chain[3];
    int count = 0;
    chain[count++] = (struct virtq_desc){(u64)&io->header, sizeof io->header, 0, 0};
    if (len) chain[count++] = (struct virtq_desc){data, len, to_guest ? VIRTQ_DESC_F_WRITE : 0, 0};
    chain[count++] = (struct virtq_desc){(u64)&io->status, 1, VIRTQ_DESC_F_WRITE, 0};
    struct virtq *q = &io->d->queue;
    virtq_submit(io->d, q, chain, count);
    while (q->used[1] == q->last_used) __asm__ volatile("pause");
    q->last_used++;
    barrier();
    return io->status;
}

/* On the AP: disk 0's flush. */
static void flush_disk0(void) {
    flush_state = FLUSH_STARTED;
    barrier();
    flush_status = request(&flushed, BLK_T_FLUSH, 0, 0, 0, 0);
    barrier();
    flush_state = FLUSH_ANSWERED;
}

/* "flushbench: " and `text`. */
static void say(const char *text) {
    put_string("flushbench: ");
    put_string(text);
}

/* "flushbench: ", `number` and `text`. */
static void say_count(u64 number, const char *text) {
    put_string("flushbench: ");
    put_decimal(number);
    put_string(text);
}

/* Parses "=READS[,write=MIB]" after "testguest.flushbench"; 0 if it is not that. */
static int parse(const char *p, u64 *reads, u64 *mib) {
    *mib = FLUSHBENCH_DEFAULT_MIB;
    if (*p++ != '=') return 0;
    p = parse_number(p, reads);
    if (p[0] == ',' && p[1] == 'w' && p[2] == 'r' && p[3] == 'i' && p[4] == 't' && p[5] == 'e' && p[6] == '=') {
        p = parse_number(p + 7, mib);
    }
    return (*p == ' ' || *p == 0) && *mib > 0;
}

void flush_bench(const char *option) {
    static struct virtio_device disks[MAX_DISKS];
    u64 reads, mib;
    if (!parse(option, &reads, &mib)) { put_string("flushbench: expected READS[,write=MIB]\n"); return; }
    if (blk_find(disks, MAX_DISKS, 0) < 2) { put_string("flushbench: needs two disks\n"); return; }
    u64 features;
    for (int i = 0; i < 2; i++) {
        if (virtio_start(&disks[i], 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH, &features, rings[i]) != 0) {
            put_string("flushbench: cannot start the disks\n");
            return;
        }
    }
    flushed.d = &disks[0];
    read_disk.d = &disks[1];
    u64 span = blk_capacity(read_disk.d) / (FLUSHBENCH_READ_SIZE / SECTOR) * (FLUSHBENCH_READ_SIZE / SECTOR);
    if (span == 0 || blk_capacity(flushed.d) < mib << 11) { put_string("flushbench: a disk is too small\n"); return; }

    /* 1. Dirty the host's cache of disk 0. */
    u64 buffer = ((u64)image_end + WRITE_BUFFER_ALIGNMENT - 1) & ~(u64)(WRITE_BUFFER_ALIGNMENT - 1);
    for (u64 i = 0; i < mib; i++) {
        if (request(&flushed, BLK_T_OUT, i << 11, buffer, FLUSHBENCH_WRITE_SIZE, 0) != BLK_S_OK) {
            put_string("flushbench: a write failed\n");
            return;
        }
    }
    say_count(mib, " MiB written to disk 0\n");

    /* 2. Reads with disk 0 idle. */
    u64 sector = 0, failed = 0;
    say("reading, disk 0 idle\n");
    for (u64 i = 0; i < reads; i++) {
        failed += request(&read_disk, BLK_T_IN, sector, (u64)read_buffer, FLUSHBENCH_READ_SIZE, 1) != BLK_S_OK;
        sector = (sector + FLUSHBENCH_READ_SIZE / SECTOR) % span;
    }
    say_count(reads, " reads, disk 0 idle\n");

    /* 3. Reads while the AP flushes disk 0. */
    if (!smp_run_on_ap(flush_disk0)) { put_string("flushbench: needs a second CPU\n"); return; }
    u64 during = 0;
    int started = 0;
    while (flush_state != FLUSH_ANSWERED) {
        if (!started && flush_state == FLUSH_STARTED) {
            started = 1;
            say("reading, disk 0 flushing\n");
        }
        failed += request(&read_disk, BLK_T_IN, sector, (u64)read_buffer, FLUSHBENCH_READ_SIZE, 1) != BLK_S_OK;
        sector = (sector + FLUSHBENCH_READ_SIZE / SECTOR) % span;
        if (started) during++;
    }
    if (!started) say("reading, disk 0 flushing\n");
    say_count(during, " reads, disk 0 flushing, status ");
    put_decimal(flush_status);
    put_string(failed ? ", some reads failed\n" : "\n");
}
