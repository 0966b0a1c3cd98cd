import CUAPI
import GuestMemory

/// A virtio socket device (virtio v1.2, 5.10 "Socket Device"): stream connections
/// between the guest and host programs, which `VsockMuxer` carries to Unix sockets.
///
/// Three queues (5.10.2): the guest posts empty buffers on rx (0), which the device fills
/// with packets only when it has one (`VsockQueueHandler`); it sends packets on tx (1);
/// the event queue (2) would carry VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, which this device
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

    /// `struct virtio_vsock_config`: le64 guest_cid (5.10.4), read-only.
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(muxer.guestCID.littleEndian), offset: offset, size: size)
    }

    /// A reset ends every connection (5.10.6.1).
    public mutating func reset() {
        muxer.reset()
    }

    /// Each queue's handler: all three reach the one muxer, whose lock orders them.
    public func queueHandler(for queue: Int, features: VirtioFeatures) -> any VirtqueueHandler {
        VsockQueueHandler(queue: queue, muxer: muxer)
    }
}
