import CUAPI

/// The header in front of every frame on a network device's queues, `struct
/// virtio_net_hdr_v1` (virtio v1.2, 5.1.6 "Device Operation"): 12 bytes, little-endian.
///
/// ```
///  offset  field         meaning
///  0       flags         NEEDS_CSUM (1): checksum from csum_start, at csum_offset, is
///                        to be filled in; DATA_VALID (2, receive only): it was checked
///  1       gso_type      NONE (0), TCPV4 (1), UDP (3), TCPV6 (4); ECN (0x80) may be or-ed
///  2       hdr_len       le16: bytes of headers before the payload, for segmentation
///  4       gso_size      le16: the payload bytes of each segment
///  6       csum_start    le16: where checksumming starts
///  8       csum_offset   le16: where, from csum_start, the checksum goes
///  10      num_buffers   le16: receive buffers the frame spans (with MRG_RXBUF)
/// ```
/// With VIRTIO_F_VERSION_1 the header is always these 12 bytes, `num_buffers` included
/// (5.1.6.1); a tap opened with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 reads and writes the
/// same layout, so the header goes through to the host's network stack unchanged.
public struct NetHeader: Sendable, Equatable {
    /// Bytes of the header: the size of the kernel's `struct virtio_net_hdr_v1`.
    public static let size = MemoryLayout<virtio_net_hdr_v1>.size
    /// Where `num_buffers` is.
    static let bufferCountOffset = 10

    public static let needsChecksum = UInt8(VIRTIO_NET_HDR_F_NEEDS_CSUM)
    public static let dataValid = UInt8(VIRTIO_NET_HDR_F_DATA_VALID)
    public static let gsoNone = UInt8(VIRTIO_NET_HDR_GSO_NONE)
    public static let gsoTCPv4 = UInt8(VIRTIO_NET_HDR_GSO_TCPV4)
    public static let gsoTCPv6 = UInt8(VIRTIO_NET_HDR_GSO_TCPV6)
    public static let gsoECN = UInt8(VIRTIO_NET_HDR_GSO_ECN)

    public var flags: UInt8 = 0
    public var gsoType: UInt8 = 0
    public var headerLength: UInt16 = 0
    public var gsoSize: UInt16 = 0
    public var checksumStart: UInt16 = 0
    public var checksumOffset: UInt16 = 0
    public var bufferCount: UInt16 = 0

    /// A header of zeros: no offload, no checksum to fill in.
    public init() {}

    /// The header in the first `size` bytes of `bytes` (which must have them).
    public init(_ bytes: ArraySlice<UInt8>) {
        let base = bytes.startIndex
        func le16(_ offset: Int) -> UInt16 { UInt16(bytes[base + offset]) | UInt16(bytes[base + offset + 1]) << 8 }
        flags = bytes[base]
        gsoType = bytes[base + 1]
        headerLength = le16(2)
        gsoSize = le16(4)
        checksumStart = le16(6)
        checksumOffset = le16(8)
        bufferCount = le16(10)
    }

    /// The 12 bytes, little-endian.
    public var bytes: [UInt8] {
        var bytes = [flags, gsoType]
        for field in [headerLength, gsoSize, checksumStart, checksumOffset, bufferCount] {
            bytes += [UInt8(truncatingIfNeeded: field), UInt8(truncatingIfNeeded: field >> 8)]
        }
        return bytes
    }

    /// What is wrong with this header on a frame the driver sends, of `frameLength`
    /// bytes after it, given the `negotiated` features; nil when the device can pass
    /// it on (5.1.6.2):
    /// - NEEDS_CSUM needs VIRTIO_NET_F_CSUM ("If VIRTIO_NET_F_CSUM is not negotiated,
    ///   the driver MUST set flags to zero"), and its checksum field must lie inside
    ///   the frame;
    /// - a segmentation type needs its HOST_TSO feature and a segment size; UDP
    ///   fragmentation and ECN, which the device does not offer, are refused.
    public func transmitProblem(frameLength: Int, negotiated: VirtioFeatures) -> String? {
        if flags & Self.needsChecksum != 0 {
            guard negotiated.contains(.netChecksum) else { return "NEEDS_CSUM without VIRTIO_NET_F_CSUM" }
            guard Int(checksumStart) + Int(checksumOffset) + 2 <= frameLength else {
                return "checksum at \(checksumStart)+\(checksumOffset) past the \(frameLength)-byte frame"
            }
        }
        switch gsoType {
        case Self.gsoNone: return nil
        case Self.gsoTCPv4 where negotiated.contains(.netHostTSO4), Self.gsoTCPv6 where negotiated.contains(.netHostTSO6):
            return gsoSize > 0 ? nil : "segmentation with a segment size of 0"
        default: return "segmentation type 0x\(String(gsoType, radix: 16)) not negotiated"
        }
    }

    /// The header as the device passes it to its backend: flags it does not recognize
    /// cleared (5.1.6.2.2: the device "MUST ignore flag bits that it does not
    /// recognize"), DATA_VALID among them, which only a device may set (5.1.6.2.1:
    /// "The driver MUST NOT set the VIRTIO_NET_HDR_F_DATA_VALID ... bits"), so a guest
    /// cannot tell the host to trust a checksum it never checked; num_buffers 0.
    public var forTransmit: NetHeader {
        var header = self
        header.flags &= Self.needsChecksum
        header.bufferCount = 0
        return header
    }
}
