/*
 * Disk workloads for the VMM's host-fault tests, on the first disk found. What they
 * print is all the tests need to check the image afterwards; everything is
 * deterministic.
 *
 *   testguest.writer   writes every sector once, from 0 up, flushing after every
 *                      WRITER_BATCH sectors; once a flush is answered it prints
 *                      "writer: sectors A-B written and flushed". A test may kill the
 *                      VMM at any time: every sector of every printed line must then be
 *                      in the image.
 *   testguest.diskio   reads, then writes, sectors 0 to 15 (fewer on a smaller disk)
 *                      and flushes, printing each status. With testguest.pause it then
 *                      waits for a byte on the console (while the test changes the image
 *                      under it) and does it all again.
 *
 * Sector s is written as the pattern byte i = 31 i + 7, its first 8 bytes replaced by
 * WRITER_MAGIC ^ s (little-endian): a sector in the wrong place or not written at all
 * cannot pass for a right one.
 */
#include "virtio.h"

#define WRITER_BATCH 8
#define WRITER_MAGIC 0x5357564d4d575254ull
#define DISKIO_SECTORS 16

static u8 ring[4096] __attribute__((aligned(4096)));

static struct virtio_device *first_disk(const char *name) {
    static struct virtio_device disks[MAX_DISKS];
    u64 features;
    if (blk_find(disks, MAX_DISKS, 0) == 0) {
        put_string(name);
        put_string(": no disk\n");
        return 0;
    }
    if (virtio_start(&disks[0], 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH, &features, ring) != 0) {
        put_string(name);
        put_string(": cannot start the disk\n");
        return 0;
    }
    for (u32 i = 0; i < SECTOR; i++) blk_data[i] = (u8)(i * 31 + 7);
    return &disks[0];
}

/* Writes sector s from the pattern, stamped. */
static int write_sector(struct virtio_device *d, u64 s) {
    *(u64 *)blk_data = WRITER_MAGIC ^ s;
    return blk_request(d, BLK_T_OUT, s, SECTOR, 0, 0);
}

static void writer(void) {
    struct virtio_device *d = first_disk("writer");
    if (!d) return;
    u64 capacity = blk_capacity(d), first = 0;
    for (u64 s = 0; s < capacity; s++) {
        int status = write_sector(d, s);
        if (status == BLK_S_OK && ((s + 1) % WRITER_BATCH == 0 || s + 1 == capacity)) status = blk_request(d, BLK_T_FLUSH, 0, 0, 0, 0);
        if (status != BLK_S_OK) {
            put_string("writer: sector ");
            put_decimal(s);
            put_string(": ");
            blk_put_status(status);
            return;
        }
        if ((s + 1) % WRITER_BATCH == 0 || s + 1 == capacity) {
            put_string("writer: sectors ");
            put_decimal(first);
            put_char('-');
            put_decimal(s);
            put_string(" written and flushed\n");
            first = s + 1;
        }
    }
    put_string("writer: done\n");
}

static void put_short_status(int status) {
    put_char(' ');
    if (status == BLK_S_OK) put_string("ok");
    else if (status == BLK_S_IOERR) put_string("IOERR");
    else if (status < 0) put_string("none");
    else put_decimal((u64)status);
}

static void diskio_round(struct virtio_device *d, const char *round) {
    u64 count = blk_capacity(d) < DISKIO_SECTORS ? blk_capacity(d) : DISKIO_SECTORS;
    put_string("diskio ");
    put_string(round);
    put_string(": read:");
    for (u64 s = 0; s < count; s++) put_short_status(blk_request(d, BLK_T_IN, s, SECTOR, 1, 0));
    for (u32 i = 0; i < SECTOR; i++) blk_data[i] = (u8)(i * 31 + 7);
    put_string("\ndiskio ");
    put_string(round);
    put_string(": write:");
    for (u64 s = 0; s < count; s++) put_short_status(write_sector(d, s));
    put_string("\ndiskio ");
    put_string(round);
    put_string(": flush:");
    put_short_status(blk_request(d, BLK_T_FLUSH, 0, 0, 0, 0));
    put_char('\n');
}

static void diskio(void) {
    struct virtio_device *d = first_disk("diskio");
    if (!d) return;
    diskio_round(d, "first");
    if (!find_option("testguest.pause")) return;
    put_string("diskio: paused until a byte arrives\n");
    (void)console_read();
    diskio_round(d, "second");
}

void fault_workloads(void) {
    if (find_option("testguest.writer")) writer();
    if (find_option("testguest.diskio")) diskio();
}
