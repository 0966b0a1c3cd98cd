import CUAPI

/// One virtio-vsock packet (virtio v1.2, 5.10.6 "Device Operation"): the 44-byte
/// `struct virtio_vsock_hdr`, little-endian and packed, then `len` bytes of payload.
///
/// ```
///  offset  field      size
///   0      src_cid    le64     who sent it (the host is CID 2, VMADDR_CID_HOST)
///   8      dst_cid    le64
///  16      src_port   le32
///  20      dst_port   le32
///  24      len        le32     payload bytes that follow
///  28      type       le16     1: VIRTIO_VSOCK_TYPE_STREAM
///  30      op         le16     VIRTIO_VSOCK_OP_*
///  32      flags      le32     SHUTDOWN's RCV (1) and SEND (2)
///  36      buf_alloc  le32     the sender's receive buffer for this connection
///  40      fwd_cnt    le32     bytes the sender has taken from that buffer so far
/// ```
/// `buf_alloc` and `fwd_cnt` ride on every packet: they are the credit-based flow
/// control of 5.10.6.3 (a sender keeps at most `buf_alloc - (sent - fwd_cnt)` bytes in
/// flight to its peer).
public struct VsockPacket: Sendable, Equatable {
    /// The header's size; the kernel's struct is packed to exactly this.
    public static let headerSize = 44

    /// VIRTIO_VSOCK_OP_* (5.10.6).
    public enum Operation: UInt16, Sendable {
        case invalid = 0
        case request = 1
        case response = 2
        case reset = 3
        case shutdown = 4
        case readWrite = 5
        case creditUpdate = 6
        case creditRequest = 7
    }

    /// VIRTIO_VSOCK_SHUTDOWN_RCV and _SEND: the sender will receive, or send, no more.
    public struct ShutdownFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let receive = ShutdownFlags(rawValue: UInt32(VIRTIO_VSOCK_SHUTDOWN_RCV.rawValue))
        public static let send = ShutdownFlags(rawValue: UInt32(VIRTIO_VSOCK_SHUTDOWN_SEND.rawValue))
    }

    /// VIRTIO_VSOCK_TYPE_STREAM: the only socket type this device offers (it does not
    /// offer VIRTIO_VSOCK_F_SEQPACKET).
    public static let streamType = UInt16(VIRTIO_VSOCK_TYPE_STREAM.rawValue)

    public var sourceCID: UInt64
    public var destinationCID: UInt64
    public var sourcePort: UInt32
    public var destinationPort: UInt32
    public var type: UInt16 = VsockPacket.streamType
    /// The raw op: a hostile driver may send any 16-bit value.
    public var op: UInt16
    public var flags: UInt32 = 0
    public var bufferAllocation: UInt32 = 0
    public var forwardCount: UInt32 = 0
    public var payload: [UInt8] = []

    public init(
        sourceCID: UInt64, destinationCID: UInt64, sourcePort: UInt32, destinationPort: UInt32,
        op: Operation, flags: UInt32 = 0, bufferAllocation: UInt32 = 0, forwardCount: UInt32 = 0, payload: [UInt8] = []
    ) {
        self.sourceCID = sourceCID
        self.destinationCID = destinationCID
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.op = op.rawValue
        self.flags = flags
        self.bufferAllocation = bufferAllocation
        self.forwardCount = forwardCount
        self.payload = payload
    }

    /// The operation, if `op` names one.
    public var operation: Operation? { Operation(rawValue: op) }

    /// Reads a packet from `bytes`: a whole header, then `len` bytes of payload, which
    /// must all be there. Nil when they are not.
    public static func parse(_ bytes: [UInt8]) -> VsockPacket? {
        guard bytes.count >= headerSize else { return nil }
        func le(_ offset: Int, _ count: Int) -> UInt64 {
            (0..<count).reversed().reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
        }
        let length = Int(le(24, 4))
        guard bytes.count - headerSize >= length else { return nil }
        var packet = VsockPacket(
            sourceCID: le(0, 8), destinationCID: le(8, 8), sourcePort: UInt32(le(16, 4)),
            destinationPort: UInt32(le(20, 4)), op: .invalid, flags: UInt32(le(32, 4)),
            bufferAllocation: UInt32(le(36, 4)), forwardCount: UInt32(le(40, 4)),
            payload: Array(bytes[headerSize..<headerSize + length]))
        packet.type = UInt16(le(28, 2))
        packet.op = UInt16(le(30, 2))
        return packet
    }

    /// The header and payload, as the driver reads them.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + payload.count)
        func le(_ value: UInt64, _ count: Int) {
            for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
        }
        le(sourceCID, 8); le(destinationCID, 8); le(UInt64(sourcePort), 4); le(UInt64(destinationPort), 4)
        le(UInt64(payload.count), 4); le(UInt64(type), 2); le(UInt64(op), 2); le(UInt64(flags), 4)
        le(UInt64(bufferAllocation), 4); le(UInt64(forwardCount), 4)
        return bytes + payload
    }
}
