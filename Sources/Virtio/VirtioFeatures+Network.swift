import CUAPI

/// The network device's feature bits (virtio v1.2, 5.1.3), named as the specification
/// names them, without the VIRTIO_NET_F_ prefix.
extension VirtioFeatures {
    /// CSUM: the device takes frames with a partial checksum (the driver's transmit
    /// checksum offload).
    public static let netChecksum = VirtioFeatures(bit: VIRTIO_NET_F_CSUM)
    /// GUEST_CSUM: the driver takes frames with a partial checksum (receive offload).
    public static let netGuestChecksum = VirtioFeatures(bit: VIRTIO_NET_F_GUEST_CSUM)
    /// MTU: `mtu` in the configuration space is the largest the driver should use.
    public static let netMTU = VirtioFeatures(bit: VIRTIO_NET_F_MTU)
    /// MAC: `mac` in the configuration space is the device's address.
    public static let netMAC = VirtioFeatures(bit: VIRTIO_NET_F_MAC)
    /// GUEST_TSO4: the driver takes TCP/IPv4 segments of up to 64 KiB.
    public static let netGuestTSO4 = VirtioFeatures(bit: VIRTIO_NET_F_GUEST_TSO4)
    /// GUEST_TSO6: the driver takes TCP/IPv6 segments of up to 64 KiB.
    public static let netGuestTSO6 = VirtioFeatures(bit: VIRTIO_NET_F_GUEST_TSO6)
    /// HOST_TSO4: the device takes TCP/IPv4 segments of up to 64 KiB, and segments them.
    public static let netHostTSO4 = VirtioFeatures(bit: VIRTIO_NET_F_HOST_TSO4)
    /// HOST_TSO6: the device takes TCP/IPv6 segments of up to 64 KiB.
    public static let netHostTSO6 = VirtioFeatures(bit: VIRTIO_NET_F_HOST_TSO6)
    /// MRG_RXBUF: a received frame may span several receive buffers (`num_buffers`).
    public static let netMergeableReceiveBuffers = VirtioFeatures(bit: VIRTIO_NET_F_MRG_RXBUF)
    /// STATUS: `status` in the configuration space says whether the link is up.
    public static let netStatus = VirtioFeatures(bit: VIRTIO_NET_F_STATUS)

    /// The checksum and segmentation offloads, every one of which needs a backend that
    /// passes the virtio-net header on (a tap with IFF_VNET_HDR).
    public static let netOffloads: VirtioFeatures = [
        .netChecksum, .netGuestChecksum, .netGuestTSO4, .netGuestTSO6, .netHostTSO4, .netHostTSO6,
    ]
}
