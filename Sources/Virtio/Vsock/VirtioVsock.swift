import CUAPI
import GuestMemory

/// A virtio socket device (virtio v1.2, 5.10 "Socket Device"): stream connections
/// between the guest and host programs, which `VsockMuxer` carries to Unix sockets.
///
/// Three queues (5.10.2): the guest posts empty buffers on rx (0), which the device fills
/// with packets only when it has one (`takesChain`); it sends packets on tx (1); the
/// event queue (2) would carry VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, which this device
/// never sends (it does not migrate). The configuration space holds the guest's CID
/// (5.10.4). No feature bits of its own: streams only, no SEQPACKET (5.10.3).
public struct VirtioVsock: VirtioDevice {
    public static let rxQueue = 0
    public static let txQueue = 1
    public static let eventQueue = 2
    public static let queueSize: UInt16 = 128
    /// The most payload one packet carries either way: 64 KiB, as Linux's
    /// VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. A TX packet claiming more is dropped.
    public static let maximumPayload = 64 << 10

    public let name: String
    public let muxer: VsockMuxer
    public let observer: (any VirtioObserver)?

    public init(name: String, muxer: VsockMuxer, observer: (any VirtioObserver)? = nil) {
        self.name = name
        self.muxer = muxer
        self.observer = observer
    }

    public var deviceID: UInt32 { UInt32(VIRTIO_ID_VSOCK) }
    public var features: VirtioFeatures { [] }
    public var queueSizes: [UInt16] { [Self.queueSize, Self.queueSize, Self.queueSize] }

    /// `struct virtio_vsock_config`: le64 guest_cid (5.10.4).
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(muxer.guestCID.littleEndian), offset: offset, size: size)
    }

    /// guest_cid is read-only.
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {}

    /// RX buffers are taken only for a packet waiting; event buffers never.
    public func takesChain(fromQueue queue: Int) -> Bool {
        switch queue {
        case Self.rxQueue: return muxer.hasPacketForGuest
        case Self.txQueue: return true
        default: return false
        }
    }

    public mutating func handle(_ chain: DescriptorChain, queue: Int, memory: GuestMemory) -> UInt32 {
        let stream = ChainBytes(chain: chain)
        switch queue {
        case Self.txQueue:
            // 5.10.6.2: the header and payload as one byte stream of readable buffers.
            guard chain.readableLength <= UInt64(VsockPacket.headerSize + Self.maximumPayload),
                  let bytes = stream.readable(memory: memory), let packet = VsockPacket.parse(bytes)
            else { return 0 }
            muxer.receiveFromGuest(packet)
            return 0
        case Self.rxQueue:
            let room = Int(min(chain.writableLength, UInt64(Int32.max)))
            guard room >= VsockPacket.headerSize,
                  let packet = muxer.nextPacketForGuest(maximumPayload: min(Self.maximumPayload, room - VsockPacket.headerSize))
            else { return 0 }
            let bytes = packet.bytes
            return stream.write(bytes, memory: memory) ? UInt32(bytes.count) : 0
        default:
            return 0
        }
    }

    /// A reset ends every connection (5.10.6.1).
    public mutating func reset() {
        muxer.reset()
    }
}

/// A descriptor chain as a byte stream (virtio v1.2, 2.6.4 "Message Framing"): its
/// device-readable bytes in order, and its device-writable bytes in order.
struct ChainBytes {
    let chain: DescriptorChain

    /// Every device-readable byte, copied out once.
    func readable(memory: GuestMemory) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(chain.readableLength))
        for buffer in chain.buffers where !buffer.isWritable && buffer.length > 0 {
            guard let piece = try? memory.readBytes(at: buffer.address, count: Int(buffer.length)) else { return nil }
            bytes += piece
        }
        return bytes
    }

    /// Writes `bytes` into the device-writable buffers from their start; false when they
    /// do not fit.
    func write(_ bytes: [UInt8], memory: GuestMemory) -> Bool {
        var remaining = bytes[...]
        for buffer in chain.buffers where buffer.isWritable && !remaining.isEmpty {
            let count = min(Int(buffer.length), remaining.count)
            guard (try? memory.write(bytes: remaining.prefix(count), at: buffer.address)) != nil else { return false }
            remaining = remaining.dropFirst(count)
        }
        return remaining.isEmpty
    }
}
