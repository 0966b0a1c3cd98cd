/*
 * The network device test (`testguest.net`, virtio v1.2, 5.1): drives every virtio-net
 * device found (PCI bus 0, then the command line). For each: negotiate (the checksum
 * and TSO offloads too with `testguest.netoffload`), post receive buffers, send
 * `testguest.netsend=N` test frames (and, with the offloads, a 4000-byte TCP/IPv4
 * segment and a 4000-byte TCP/IPv6 one for the host to take whole), say "ready", then print each frame received
 * until `testguest.netrecv=M` have come (or `testguest.netwait=SPINS` pass without one),
 * then send frame number N and say whether the link is up. The KVM tests read and write the other end of
 * the tap and compare.
 *
 * Test frames: broadcast, from the device's MAC, EtherType 0x88b5 (IEEE local
 * experimental), then a sequence number and the pattern byte i = 7i + seq.
 */
#include "virtio.h"

#define MAX_NETS 2
#define RX_BUFFERS 8
#define RX_BUFFER_SIZE 2048
#define NET_HDR 12                /* struct virtio_net_hdr_v1 (5.1.6) */
#define ETH_HDR 14
#define ETHERTYPE_TEST 0x88b5
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPV4_HDR 20
#define IPV6_HDR 40
#define TCP_HDR 20
#define IP_PROTO_TCP 6
#define TSO_PAYLOAD 4000
#define TSO_SEGMENT 1000

/* Feature bits (5.1.3). */
#define NET_F_CSUM 0
#define NET_F_GUEST_CSUM 1
#define NET_F_MTU 3
#define NET_F_MAC 5
#define NET_F_GUEST_TSO4 7
#define NET_F_GUEST_TSO6 8
#define NET_F_HOST_TSO4 11
#define NET_F_HOST_TSO6 12

/* virtio_net_hdr fields (5.1.6). */
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_GSO_TCPV4 1
#define NET_HDR_GSO_TCPV6 4
#define TCP_CHECKSUM_OFFSET 16
#define NET_F_MRG_RXBUF 15
#define NET_F_STATUS 16

static u8 net_rings[MAX_NETS][2][4096] __attribute__((aligned(4096)));
static u8 rx_buffers[RX_BUFFERS][RX_BUFFER_SIZE] __attribute__((aligned(64)));
static u8 tx_frame[NET_HDR + ETH_HDR + IPV6_HDR + TCP_HDR + TSO_PAYLOAD] __attribute__((aligned(64)));
static u8 rx_frame[RX_BUFFERS * RX_BUFFER_SIZE];

static void say(int n, const char *what) { put_string("net"); put_decimal((u64)n); put_string(": "); put_string(what); }

static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }  /* network order */
static void put16le(u8 *p, u16 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); }

/* Sends tx_frame[0, length) (header included) on queue 1 and waits for it back. */
static int transmit(struct virtio_device *d, struct virtq *tx, u32 length) {
    tx->desc[0].addr = (u64)tx_frame;
    tx->desc[0].len = length;
    tx->desc[0].flags = 0;
    virtq_publish(tx, 0);
    d->ops->notify(d, 1);
    u32 used;
    return virtq_wait(tx, &used);
}

/* One's-complement sum of 16-bit big-endian words (RFC 1071), not yet inverted. */
static u32 sum16(const u8 *p, u32 count, u32 sum) {
    for (u32 i = 0; i + 1 < count; i += 2) sum += (u32)p[i] << 8 | p[i + 1];
    if (count & 1) sum += (u32)p[count - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* A 4000-byte TCP segment over IPv4 (10.0.0.2 to 10.0.0.1) or IPv6 (fd00::2 to fd00::1),
 * to be cut into 1000-byte segments (HOST_TSO4, HOST_TSO6), its TCP checksum left to
 * the host (NEEDS_CSUM, csum_start at the TCP header, csum_offset 16): the field holds
 * the pseudo-header's sum (RFC 793, RFC 8200 8.1), as Linux's drivers leave it. */
static u32 build_tso_frame(const u8 *mac, int ipv6) {
    u32 ip_header = ipv6 ? IPV6_HDR : IPV4_HDR, headers = ETH_HDR + ip_header + TCP_HDR;
    u8 *h = tx_frame, *e = tx_frame + NET_HDR, *ip = e + ETH_HDR, *tcp = ip + ip_header, *data = tcp + TCP_HDR;
    for (u32 i = 0; i < NET_HDR + headers; i++) h[i] = 0;
    h[0] = NET_HDR_F_NEEDS_CSUM;
    h[1] = ipv6 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4;
    put16le(h + 2, (u16)headers);                /* hdr_len */
    put16le(h + 4, TSO_SEGMENT);                 /* gso_size */
    put16le(h + 6, (u16)(ETH_HDR + ip_header));  /* csum_start */
    put16le(h + 8, TCP_CHECKSUM_OFFSET);         /* csum_offset */
    for (int i = 0; i < 6; i++) { e[i] = i == 0 ? 0x02 : 0; e[6 + i] = mac[i]; }
    put16(e + 12, ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    u8 pseudo[40] = {0};
    u32 pseudo_length;
    if (ipv6) {
        ip[0] = 0x60;                            /* version 6 */
        put16(ip + 4, TCP_HDR + TSO_PAYLOAD);    /* payload length */
        ip[6] = IP_PROTO_TCP;                    /* next header */
        ip[7] = 64;                              /* hop limit */
        ip[8] = 0xfd, ip[23] = 2;                /* fd00::2 */
        ip[24] = 0xfd, ip[39] = 1;               /* fd00::1 */
        for (int i = 0; i < 32; i++) pseudo[i] = ip[8 + i];
        put16(pseudo + 34, TCP_HDR + TSO_PAYLOAD);
        pseudo[39] = IP_PROTO_TCP;
        pseudo_length = 40;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, IPV4_HDR + TCP_HDR + TSO_PAYLOAD);
        put16(ip + 6, 0x4000);                   /* don't fragment */
        ip[8] = 64;
        ip[9] = IP_PROTO_TCP;
        ip[12] = 10, ip[15] = 2;                 /* 10.0.0.2 */
        ip[16] = 10, ip[19] = 1;                 /* 10.0.0.1 */
        put16(ip + 10, (u16)~sum16(ip, IPV4_HDR, 0));
        for (int i = 0; i < 8; i++) pseudo[i] = ip[12 + i];
        pseudo[9] = IP_PROTO_TCP;
        put16(pseudo + 10, TCP_HDR + TSO_PAYLOAD);
        pseudo_length = 12;
    }
    put16(tcp, 40000);
    put16(tcp + 2, 5001);
    tcp[7] = 1;                                  /* sequence number 1 */
    tcp[12] = (TCP_HDR / 4) << 4;
    tcp[13] = 0x18;                              /* ACK, PSH */
    put16(tcp + 14, 0xffff);
    for (u32 i = 0; i < TSO_PAYLOAD; i++) data[i] = (u8)(i * 7);
    put16(tcp + TCP_CHECKSUM_OFFSET, (u16)sum16(pseudo, pseudo_length, 0));
    return NET_HDR + headers + TSO_PAYLOAD;
}

static u32 build_test_frame(const u8 *mac, u32 seq) {
    u32 length = 60 + seq * 200 > 1514 ? 1514 : 60 + seq * 200;
    u8 *e = tx_frame + NET_HDR;
    for (int i = 0; i < NET_HDR; i++) tx_frame[i] = 0;
    for (int i = 0; i < 6; i++) { e[i] = 0xff; e[6 + i] = mac[i]; }
    put16(e + 12, ETHERTYPE_TEST);
    e[14] = (u8)seq;
    for (u32 i = 15; i < length; i++) e[i] = (u8)(i * 7 + seq);
    return NET_HDR + length;
}

static void post_rx(struct virtq *rx, u16 buffer) {
    rx->desc[buffer].addr = (u64)rx_buffers[buffer];
    rx->desc[buffer].len = RX_BUFFER_SIZE;
    rx->desc[buffer].flags = VIRTQ_DESC_F_WRITE;
    virtq_publish(rx, buffer);
}

/* The next used receive entry's buffer and length, or -1 after `spins` looks. */
static int next_rx(struct virtq *rx, u32 *length, u64 spins) {
    for (u64 i = 0; i < spins; i++) {
        barrier();
        if (rx->used[1] != rx->last_used) {
            volatile u32 *element = (volatile u32 *)(rx->used + 2) + 2 * (rx->last_used % rx->size);
            rx->last_used++;
            *length = element[1];
            return (int)element[0];
        }
        __asm__ volatile("pause");
    }
    return -1;
}

/* Sends one more test frame (numbered `seq`), which finds a backend that vanished
 * meanwhile, then says whether the link is up (5.1.4, status). */
static void say_link(int n, struct virtio_device *d, struct virtq *tx, const u8 *mac, u32 seq) {
    transmit(d, tx, build_test_frame(mac, seq));
    say(n, (d->ops->config_read32(d, 4) >> 16) & 1 ? "link up\n" : "link down\n");
}

static void test_device(int n, struct virtio_device *d, int offload, u64 sends, u64 receives, u64 wait) {
    u64 wanted = 1ull << VIRTIO_F_VERSION_1 | 1ull << NET_F_MAC | 1ull << NET_F_STATUS | 1ull << NET_F_MTU
                 | 1ull << NET_F_MRG_RXBUF;
    if (offload) {
        wanted |= 1ull << NET_F_CSUM | 1ull << NET_F_GUEST_CSUM | 1ull << NET_F_HOST_TSO4 | 1ull << NET_F_GUEST_TSO4
                  | 1ull << NET_F_HOST_TSO6 | 1ull << NET_F_GUEST_TSO6;
    }
    u64 features;
    struct virtq rx, tx;
    if (virtio_negotiate(d, wanted, &features) != 0) { say(n, "cannot negotiate\n"); return; }
    virtq_init(&rx, net_rings[n][0]);
    virtq_init(&tx, net_rings[n][1]);
    if (d->ops->setup_queue(d, 0, &rx) != 0 || d->ops->setup_queue(d, 1, &tx) != 0) { say(n, "cannot set up queues\n"); return; }
    d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);

    u8 mac[6];
    u32 config0 = d->ops->config_read32(d, 0), config4 = d->ops->config_read32(d, 4), config8 = d->ops->config_read32(d, 8);
    for (int i = 0; i < 4; i++) mac[i] = (u8)(config0 >> (8 * i));
    mac[4] = (u8)config4, mac[5] = (u8)(config4 >> 8);
    say(n, d->transport);
    put_string(", mac ");
    for (int i = 0; i < 6; i++) { put_char("0123456789abcdef"[mac[i] >> 4]); put_char("0123456789abcdef"[mac[i] & 15]); if (i < 5) put_char(':'); }
    put_string((config4 >> 16) & 1 ? ", link up" : ", link down");
    put_string(", mtu ");
    put_decimal(config8 >> 16);
    int tso4 = (features >> NET_F_HOST_TSO4) & 1 && (features >> NET_F_CSUM) & 1;
    int tso6 = (features >> NET_F_HOST_TSO6) & 1 && (features >> NET_F_CSUM) & 1;
    put_string(tso4 ? ", offloads on\n" : ", offloads off\n");

    for (u16 b = 0; b < RX_BUFFERS; b++) post_rx(&rx, b);
    d->ops->notify(d, 0);

    u64 sent = 0;
    for (u64 seq = 0; seq < sends; seq++) sent += transmit(d, &tx, build_test_frame(mac, (u32)seq)) == 0;
    if (tso4) sent += transmit(d, &tx, build_tso_frame(mac, 0)) == 0;
    if (tso6) sent += transmit(d, &tx, build_tso_frame(mac, 1)) == 0;
    say(n, "sent ");
    put_decimal(sent);
    put_string(" frames\n");
    say(n, "ready\n");

    u64 printed = 0;
    while (printed < receives) {
        u32 length;
        int head = next_rx(&rx, &length, wait);
        if (head < 0) { say(n, "no frame came\n"); say_link(n, d, &tx, mac, (u32)sends); return; }
        u8 *first = rx_buffers[head];
        u16 buffers = (u16)(first[10] | first[11] << 8);
        u32 total = 0;
        for (u16 b = 0; b < buffers; b++) {
            if (b > 0 && (head = next_rx(&rx, &length, wait)) < 0) { say(n, "num_buffers past the used ring\n"); return; }
            for (u32 i = 0; i < length && total + i < sizeof rx_frame; i++) rx_frame[total + i] = rx_buffers[head][i];
            total += length;
            post_rx(&rx, (u16)head);
        }
        barrier();
        if (!(rx.used[0] & 1)) d->ops->notify(d, 0);  /* unless VIRTQ_USED_F_NO_NOTIFY (2.7.10) */
        u16 type = (u16)(rx_frame[NET_HDR + 12] << 8 | rx_frame[NET_HDR + 13]);
        int tcp6 = type == ETHERTYPE_IPV6 && rx_frame[NET_HDR + ETH_HDR + 6] == IP_PROTO_TCP;
        if (type != ETHERTYPE_TEST && type != ETHERTYPE_IPV4 && !tcp6) continue;  /* the host's own chatter */
        say(n, "received ");
        put_decimal(total - NET_HDR);
        put_string(" bytes, buffers ");
        put_decimal(buffers);
        put_string(", flags ");
        put_decimal(rx_frame[0]);
        put_string(", gso ");
        put_decimal(rx_frame[1]);
        put_string(", type ");
        put_hex(type, 4);
        put_string(", fnv ");
        put_hex(fnv1a(rx_frame + NET_HDR, total - NET_HDR), 8);
        put_char('\n');
        printed++;
    }
    say_link(n, d, &tx, mac, (u32)sends);
}

void net_test(const char *option) {
    (void)option;
    static struct virtio_device devices[MAX_NETS];
    int count = virtio_pci_find(devices, MAX_NETS, VIRTIO_ID_NET, 0);
    count += virtio_mmio_find(devices + count, MAX_NETS - count, VIRTIO_ID_NET);
    put_string("nets: ");
    put_decimal((u64)count);
    put_char('\n');
    const char *send = find_option("testguest.netsend"), *recv = find_option("testguest.netrecv");
    u64 wait = option_value(find_option("testguest.netwait"), 50000000);
    for (int n = 0; n < count; n++) {
        test_device(n, &devices[n], find_option("testguest.netoffload") != 0, option_value(send, 4), option_value(recv, 0), wait);
    }
}
