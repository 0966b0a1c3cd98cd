/*
 * The test guest's virtio drivers: a split virtqueue (virtio v1.2, 2.7), the
 * virtio-pci modern transport (4.1) and the virtio-mmio transport (4.2), behind one
 * small interface, and the block device test that uses them (5.2). Polling only: the
 * guest runs with interrupts off, and checks interrupt delivery by looking at the
 * ISR/InterruptStatus registers, the local APIC's IRR and the PIC's IRR.
 */
#ifndef VIRTIO_H
#define VIRTIO_H
#include "guest.h"

/* Device status bits (2.1) and feature bits (6, 5.2.3). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

/* A split virtqueue's parts (2.7.5, 2.7.6, 2.7.8). */
struct virtq_desc { u64 addr; u32 len; u16 flags; u16 next; };
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define QUEUE_SIZE 16

struct virtq {
    volatile struct virtq_desc *desc;
    volatile u16 *avail;   /* flags, idx, ring[size], used_event */
    volatile u16 *used;    /* flags, idx, then {u32 id, u32 len}[size] */
    u16 size;              /* the size setup_queue asks for: QUEUE_SIZE after virtq_init */
    u16 avail_idx;
    u16 last_used;
};

/* What a transport provides. */
struct virtio_device;
struct virtio_ops {
    u8 (*get_status)(struct virtio_device *);
    void (*set_status)(struct virtio_device *, u8);
    u32 (*get_features)(struct virtio_device *, u32 word);
    void (*set_features)(struct virtio_device *, u32 word, u32 value);
    u16 (*queue_max)(struct virtio_device *, u16 index);  /* the largest size it accepts */
    int (*setup_queue)(struct virtio_device *, u16 index, struct virtq *);
    void (*notify)(struct virtio_device *, u16 index);
    u32 (*config_read32)(struct virtio_device *, u32 offset);
    u32 (*interrupt_status)(struct virtio_device *);  /* reads and acknowledges */
};

/* The most queues a device of the test guest's has: vsock's rx, tx and event queues. */
#define VIRTIO_DRIVER_QUEUES 3

struct virtio_device {
    const struct virtio_ops *ops;
    const char *transport;
    u64 base;          /* mmio: register page; pci: BAR 0 */
    u32 irq;           /* mmio: interrupt line */
    u8 pci_device;     /* pci: device number on bus 0 */
    /* pci: where the structures are */
    u64 common, notify, isr, device_cfg;
    u32 notify_multiplier;
    u64 queue_notify[VIRTIO_DRIVER_QUEUES]; /* pci: each queue's notification address, as Linux caches them */
    u8 msix_cap;
    struct virtq queue;
};

/* virtio.c */
void virtq_init(struct virtq *q, u8 *page);
void virtq_init_sized(struct virtq *q, u8 *pages, u16 size);
void virtq_make_available(struct virtio_device *d, struct virtq *q, u16 head);
void virtq_submit(struct virtio_device *d, struct virtq *q, const struct virtq_desc *chain, int count);
int virtq_wait(struct virtq *q, u32 *used_len);
int virtio_negotiate(struct virtio_device *d, u64 wanted, u64 *accepted);
int virtio_start(struct virtio_device *d, u64 wanted, u64 *accepted, u8 *ring_page);
int virtio_start_sized(struct virtio_device *d, u64 wanted, u64 *accepted, u8 *ring_pages, u16 size);

/* virtio_pci.c, virtio_mmio.c: fill `devices` with what they find; return the count. */
int virtio_pci_find(struct virtio_device *devices, int max, u16 device_id, int move_bars);
int virtio_pci_enable_msix(struct virtio_device *d, u8 vector);
int virtio_mmio_find(struct virtio_device *devices, int max, u32 device_id);

/* pci.c: configuration mechanism #1, bus 0, function 0. */
u32 pci_read32(u8 device, u8 offset);
u16 pci_read16(u8 device, u8 offset);
u8 pci_read8(u8 device, u8 offset);
void pci_write32(u8 device, u8 offset, u32 value);
void pci_write16(u8 device, u8 offset, u16 value);
void pci_list(void);

/* blk.c: block requests (virtio v1.2, 5.2.6), one at a time on queue 0. */
#define VIRTIO_ID_BLOCK 2
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define SECTOR 512
#define MAX_DISKS 4
extern u8 blk_data[4096];  /* the data buffer of blk_request */
/* Header, `len` bytes of blk_data (device-writable when `to_guest`), status; through an
 * indirect table with `indirect`. Returns the status byte, or -1 if the device did not answer. */
int blk_request(struct virtio_device *d, u32 type, u64 sector, u32 len, int to_guest, int indirect);
void blk_put_status(int s);  /* "ok", "IOERR", "UNSUPP", "no answer", "status N"; a newline */
void blk_put_read(int s);    /* after a read into blk_data: "fnv 0x..." of a sector, or the status */
u32 fnv1a(const u8 *bytes, u32 count);  /* 32-bit FNV-1a */
void disk_test(int move_bars);

/* net.c: testguest.net (virtio v1.2, 5.1) and rng.c: testguest.rng=N (5.4). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_RNG 4
void net_test(const char *option);
void net_bench(const char *option);  /* netbench.c: testguest.netbench=MODE,COUNT */
void rng_test(u64 bytes);
/* Makes the chain at `head` the next available entry of `q` (no notification). */
void virtq_publish(struct virtq *q, u16 head);

/* diskbench.c: testguest.diskbench=COUNT[,size=S][,depth=D][,write] on the first disk. */
void disk_bench(const char *option);

/* flushbench.c: testguest.flushbench=READS[,write=MIB]: disk 1's reads while disk 0 flushes. */
void flush_bench(const char *option);

/* hostile.c, scramble.c: a driver that breaks the rules (testguest.hostile=NAME). */
void hostile_main(const char *option, const u8 *boot_params);
void scramble(struct virtio_device *disks, int count);
void seed_random(u64 value);  /* testguest.seed=N */
u64 next_random(void);

/* faults.c: disk workloads for host-fault tests (testguest.writer, testguest.diskio). */
void fault_workloads(void);
u64 blk_capacity(struct virtio_device *d);  /* in 512-byte sectors */
/* Every virtio block device on PCI bus 0, then on the command line (see
 * virtio_pci_find for `move_bars`): fills `disks`, returns the count. */
int blk_find(struct virtio_device *disks, int max, int move_bars);

/* vsock.c: testguest.vsock.listen=PORT,COUNT and testguest.vsock.connect=PORT,COUNT,SIZE. */
void vsock_main(void);
u8 vsock_pattern(u32 connection, u32 byte);

static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)a; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
/* A 64-bit register written as two 32-bit halves, low first (virtio v1.2, 4.1.3.1). */
static inline void mmio_write64(u64 a, u64 v) { mmio_write32(a, (u32)v); mmio_write32(a + 4, (u32)(v >> 32)); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void outl(u16 port, u32 value) { __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(u16 port, u16 value) { __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }

#endif
