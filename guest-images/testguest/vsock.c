/*
 * A virtio-vsock driver (virtio v1.2, 5.10) over virtio-pci, polled, and the two
 * workloads the vsock tests give the host:
 *   testguest.vsock.listen=PORT,COUNT        accepts COUNT connections from the host on
 *       PORT and echoes every byte back, then prints what each carried;
 *   testguest.vsock.connect=PORT,COUNT,SIZE  opens COUNT connections to host port PORT at
 *       once, sends SIZE bytes of a known pattern on each (connection i's byte j is
 *       vsock_pattern(i, j)) and checks the host echoes them back exactly.
 * Both may be given; the guest goes on once every connection has ended.
 *
 * Packets: the 44-byte header (5.10.6), then the payload, in one buffer. Flow control
 * (5.10.6.3): every packet tells the host this side's buffer (VSOCK_BUF_ALLOC) and how
 * much of it was consumed (fwd_cnt); data is sent only within the host's credit.
 */
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define HOST_CID 2
#define TYPE_STREAM 1
enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST };
#define SHUTDOWN_BOTH 3             /* VIRTIO_VSOCK_SHUTDOWN_RCV | _SEND */
#define VSOCK_BUF_ALLOC 65536u       /* this side's receive buffer, per connection */
#define RX_QUEUE 0
#define TX_QUEUE 1
#define EVENT_QUEUE 2
#define RX_BUFFERS 8
#define BUFFER_SIZE 4096
#define CHUNK 1024                  /* payload per packet the guest sends */
#define MAX_CONNECTIONS 8
#define FIRST_GUEST_PORT 2000
#define SPIN_LIMIT 400000000ul

struct vsock_hdr {
    u64 src_cid, dst_cid;
    u32 src_port, dst_port, len;
    u16 type, op;
    u32 flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct connection {
    int state;                      /* 0 free, 1 connecting, 2 established */
    int outgoing, index;
    u32 local_port, peer_port;
    u32 peer_buf_alloc, peer_fwd_cnt, tx_cnt, fwd_cnt;
    u32 size, sent, verified, mismatch_at;
    int mismatch;
};

static u8 rings[3][4096] __attribute__((aligned(4096)));
static u8 rx_buffers[RX_BUFFERS][BUFFER_SIZE] __attribute__((aligned(16)));
static u8 tx_buffer[BUFFER_SIZE] __attribute__((aligned(16)));
static struct virtq queues[3];
static struct virtio_device device;
static u64 guest_cid;
static struct connection connections[MAX_CONNECTIONS];
static u32 listen_port, listen_count, served, connect_count, completed, failures;

u8 vsock_pattern(u32 connection, u32 byte) { return (u8)(byte * 131u + connection * 17u + (byte >> 8)); }

static void notify(int queue) { device.ops->notify(&device, (u16)queue); }

/* Puts descriptor `index` (already filled) on the available ring of `queue`. */
static void make_available(int queue, u16 index) {
    struct virtq *q = &queues[queue];
    q->avail[2 + q->avail_idx % q->size] = index;
    barrier();
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    barrier();
}

static void post_rx(u16 index) {
    queues[RX_QUEUE].desc[index].addr = (u64)rx_buffers[index];
    queues[RX_QUEUE].desc[index].len = BUFFER_SIZE;
    queues[RX_QUEUE].desc[index].flags = VIRTQ_DESC_F_WRITE;
    make_available(RX_QUEUE, index);
}

static void send_packet(struct connection *c, u16 op, u32 flags, const u8 *payload, u32 length) {
    struct vsock_hdr *h = (struct vsock_hdr *)tx_buffer;
    h->src_cid = guest_cid;
    h->dst_cid = HOST_CID;
    h->src_port = c->local_port;
    h->dst_port = c->peer_port;
    h->len = length;
    h->type = TYPE_STREAM;
    h->op = op;
    h->flags = flags;
    h->buf_alloc = VSOCK_BUF_ALLOC;
    h->fwd_cnt = c->fwd_cnt;
    for (u32 i = 0; i < length; i++) tx_buffer[sizeof *h + i] = payload[i];
    struct virtq *q = &queues[TX_QUEUE];
    q->desc[0].addr = (u64)tx_buffer;
    q->desc[0].len = (u32)sizeof *h + length;
    q->desc[0].flags = 0;
    make_available(TX_QUEUE, 0);
    notify(TX_QUEUE);
    u32 used;
    if (virtq_wait(q, &used) != 0) put_string("vsock: the device did not take a packet\n");
    if (op == OP_RW) c->tx_cnt += length;
}

static void send_reset(u32 local_port, u32 peer_port) {
    struct connection c = {0};
    c.local_port = local_port;
    c.peer_port = peer_port;
    send_packet(&c, OP_RST, 0, 0, 0);
}

/* The host's room for more data on `c` (5.10.6.3). */
static u32 peer_credit(struct connection *c) {
    u32 in_flight = c->tx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static struct connection *find(u32 local_port, u32 peer_port) {
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &connections[i];
        if (c->state && c->local_port == local_port && c->peer_port == peer_port) return c;
    }
    return 0;
}

static void report(struct connection *c, const char *how) {
    if (c->outgoing) {
        put_string("vsock: connection ");
        put_decimal((u64)c->index);
        put_string(" to host port ");
        put_decimal(c->peer_port);
        put_string(": ");
        put_decimal(c->sent);
        put_string(" bytes sent, ");
        put_decimal(c->verified);
        if (!c->mismatch && c->verified == c->size) {
            put_string(" echoed exactly");
            completed++;
        } else {
            put_string(c->mismatch ? " echoed, MISMATCH at byte " : " echoed, INCOMPLETE");
            if (c->mismatch) put_decimal(c->mismatch_at);
            failures++;
        }
    } else {
        put_string("vsock: port ");
        put_decimal(c->local_port);
        put_string(": connection from host port ");
        put_decimal(c->peer_port);
        put_string(", ");
        put_decimal(c->fwd_cnt);
        put_string(" bytes echoed");
        served++;
    }
    put_string(how);
    put_char('\n');
    c->state = 0;
}

static void receive(const struct vsock_hdr *h, const u8 *payload) {
    struct connection *c = find(h->dst_port, h->src_port);
    if (h->op == OP_REQUEST) {
        if (c || h->dst_port != listen_port || served >= listen_count) { send_reset(h->dst_port, h->src_port); return; }
        for (int i = 0; i < MAX_CONNECTIONS && !c; i++) if (!connections[i].state) c = &connections[i];
        if (!c) { send_reset(h->dst_port, h->src_port); return; }
        *c = (struct connection){0};
        c->state = 2;
        c->local_port = h->dst_port;
        c->peer_port = h->src_port;
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;
        send_packet(c, OP_RESPONSE, 0, 0, 0);
        return;
    }
    if (!c) {
        if (h->op != OP_RST) send_reset(h->dst_port, h->src_port);
        return;
    }
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    switch (h->op) {
    case OP_RESPONSE:
        if (c->state == 1) c->state = 2;
        break;
    case OP_RW:
        if (c->outgoing) {
            for (u32 i = 0; i < h->len; i++) {
                if (!c->mismatch && payload[i] != vsock_pattern((u32)c->index, c->verified + i)) {
                    c->mismatch = 1;
                    c->mismatch_at = c->verified + i;
                }
            }
            c->verified += h->len;
            c->fwd_cnt += h->len;
            if (c->verified >= c->size) send_packet(c, OP_SHUTDOWN, SHUTDOWN_BOTH, 0, 0);
        } else {
            if (peer_credit(c) < h->len) {
                put_string("vsock: the host gave no credit for an echo\n");
                failures++;
            }
            c->fwd_cnt += h->len;
            send_packet(c, OP_RW, 0, payload, h->len);
        }
        break;
    case OP_CREDIT_REQUEST:
        send_packet(c, OP_CREDIT_UPDATE, 0, 0, 0);
        break;
    case OP_SHUTDOWN:
        send_reset(c->local_port, c->peer_port);
        report(c, ", closed by the host");
        break;
    case OP_RST:
        report(c, "");
        break;
    default:
        break;
    }
}

/* Sends what the connect workload still has to send, within the host's credit. */
static void send_pending(void) {
    u8 chunk[CHUNK];
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &connections[i];
        if (c->state != 2 || !c->outgoing || c->sent >= c->size) continue;
        u32 count = c->size - c->sent;
        if (count > CHUNK) count = CHUNK;
        if (count > peer_credit(c)) count = peer_credit(c);
        if (!count) continue;
        for (u32 j = 0; j < count; j++) chunk[j] = vsock_pattern((u32)c->index, c->sent + j);
        send_packet(c, OP_RW, 0, chunk, count);
        c->sent += count;
    }
}

static int start_device(void) {
    if (virtio_pci_find(&device, 1, VIRTIO_ID_VSOCK, 0) != 1) return -1;
    u64 accepted;
    if (virtio_negotiate(&device, 1ul << VIRTIO_F_VERSION_1, &accepted) != 0) return -2;
    for (int queue = 0; queue < 3; queue++) {
        virtq_init(&queues[queue], rings[queue]);
        if (device.ops->setup_queue(&device, (u16)queue, &queues[queue]) != 0) return -3;
    }
    device.ops->set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK
                                        | VIRTIO_STATUS_DRIVER_OK);
    guest_cid = device.ops->config_read32(&device, 0) | (u64)device.ops->config_read32(&device, 4) << 32;
    for (u16 i = 0; i < RX_BUFFERS; i++) post_rx(i);
    notify(RX_QUEUE);
    return 0;
}

void vsock_main(void) {
    const char *listen = find_option("testguest.vsock.listen");
    const char *connect = find_option("testguest.vsock.connect");
    if (!listen && !connect) return;
    u64 value;
    if (listen && *listen == '=') {
        const char *p = parse_number(listen + 1, &value);
        listen_port = (u32)value;
        listen_count = 1;
        if (*p == ',') { parse_number(p + 1, &value); listen_count = (u32)value; }
    }
    u32 connect_port = 0, size = 0;
    if (connect && *connect == '=') {
        const char *p = parse_number(connect + 1, &value);
        connect_port = (u32)value;
        connect_count = 1;
        size = 4096;
        if (*p == ',') { p = parse_number(p + 1, &value); connect_count = (u32)value; }
        if (*p == ',') { parse_number(p + 1, &value); size = (u32)value; }
        if (connect_count > MAX_CONNECTIONS) connect_count = MAX_CONNECTIONS;
    }
    int error = start_device();
    if (error) {
        put_string("vsock: no device (");
        put_decimal((u64)-error);
        put_string(")\n");
        return;
    }
    put_string("vsock: guest CID ");
    put_decimal(guest_cid);
    put_string(", PCI device ");
    put_decimal(device.pci_device);
    put_char('\n');
    for (u32 i = 0; i < connect_count; i++) {
        struct connection *c = &connections[i];
        *c = (struct connection){0};
        c->state = 1;
        c->outgoing = 1;
        c->index = (int)i;
        c->local_port = FIRST_GUEST_PORT + i;
        c->peer_port = connect_port;
        c->size = size;
        send_packet(c, OP_REQUEST, 0, 0, 0);
    }
    if (listen_count) {
        put_string("vsock: listening on port ");
        put_decimal(listen_port);
        put_char('\n');
    }
    struct virtq *rx = &queues[RX_QUEUE];
    for (u64 spins = 0; spins < SPIN_LIMIT; spins++) {
        int open = 0;
        for (int i = 0; i < MAX_CONNECTIONS; i++) open |= connections[i].state != 0;
        if (!open && served >= listen_count && completed + failures >= connect_count) break;
        barrier();
        while (rx->used[1] != rx->last_used) {
            u16 slot = rx->last_used % rx->size;
            volatile u32 *element = (volatile u32 *)(rx->used + 2) + 2 * slot;
            u16 index = (u16)element[0];
            u32 length = element[1];
            rx->last_used++;
            const struct vsock_hdr *h = (const struct vsock_hdr *)rx_buffers[index % RX_BUFFERS];
            if (length >= sizeof *h && h->len <= length - sizeof *h) receive(h, rx_buffers[index % RX_BUFFERS] + sizeof *h);
            post_rx(index % RX_BUFFERS);
            notify(RX_QUEUE);
        }
        send_pending();
        __asm__ volatile("pause");
    }
    put_string("vsock: done: ");
    put_decimal(served);
    put_string(" served, ");
    put_decimal(completed);
    put_string(" echoed exactly, ");
    put_decimal(failures);
    put_string(" failed\n");
}
