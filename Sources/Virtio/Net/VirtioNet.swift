import CUAPI
import GuestMemory

/// A network device (virtio v1.2, 5.1 "Network Device"): one receive queue and one
/// transmit queue, frames to and from a `NetBackend`.
///
/// It offers MAC (a stable address unless one is given), STATUS (the link goes down
/// when the backend fails), MRG_RXBUF, MTU, and, when the backend passes the virtio-net
/// header on (a tap), the checksum and segmentation offloads CSUM, GUEST_CSUM,
/// GUEST_TSO4/6 and HOST_TSO4/6: the header goes through to the backend, so a Linux
/// guest moves 64 KiB segments rather than 1,500-byte frames.
///
/// Memory stays bounded whatever the guest does: the device holds at most one received
/// frame and one frame to send, each in a buffer allocated once; it reads the backend
/// only when the driver has posted a receive buffer (otherwise frames wait in the host
/// kernel, which drops them when its queue is full); it refuses a transmit chain longer
/// than `maximumFrame` before copying any of it.
public struct VirtioNet: VirtioDevice {
    /// The queues (5.1.2): receiveq1 and transmitq1; no control queue.
    public static let receiveQueue = 0
    public static let transmitQueue = 1
    /// Entries in each queue.
    public static let queueSize: UInt16 = 256
    /// The largest frame: an IP packet's 64 KiB limit (65,535 bytes, what TSO segments
    /// reach) behind an Ethernet header (14) and a VLAN tag (4).
    public static let maximumFrame = 65_535 + 14 + 4
    /// The MTU offered (VIRTIO_NET_F_MTU): Ethernet's.
    public static let defaultMTU: UInt16 = 1500
    /// Frames moved in one direction per call, after which the device asks to be
    /// served again: a busy link in one direction never starves the other.
    static let framesPerServe = 64

    public let name: String
    public let observer: (any VirtioObserver)?
    /// The device's address, in the configuration space.
    public let mac: MACAddress
    public let mtu: UInt16
    /// Where frames go and come from.
    public let backend: any NetBackend
    /// How the device asks to be served again when the backend has frames or room.
    public let wakeUps: any VirtioWakeUps
    /// Whether the offloads are offered (they need a backend that passes the header).
    public let offersOffloads: Bool

    /// The features the driver accepted.
    public internal(set) var negotiated: VirtioFeatures = []
    /// VIRTIO_NET_S_LINK_UP: true until the backend fails.
    public internal(set) var isLinkUp = true
    var linkChanged = false

    // Receiving: the frame read from the backend, header room first, and the driver's
    // chains taken for it.
    var receiveBuffer: [UInt8]
    var pendingReceive: Int? = nil
    /// The receive chains taken for a frame that did not fit yet (at most the queue size).
    public internal(set) var heldChains: [DescriptorChain] = []
    var watchingInput = false

    // Sending: a frame copied out of the driver's chain that the backend had no room for.
    var transmitBuffer: [UInt8]
    var pendingTransmit: Range<Int>? = nil
    var watchingOutput = false

    /// A network device named `name` with address `mac`, over `backend`; `offloads`
    /// false keeps the offloads off even over a backend that could take them.
    public init(
        name: String, mac: MACAddress, mtu: UInt16 = VirtioNet.defaultMTU, backend: any NetBackend,
        offloads: Bool = true, wakeUps: any VirtioWakeUps = NoWakeUps(), observer: (any VirtioObserver)? = nil
    ) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.backend = backend
        self.offersOffloads = offloads && backend.passesHeader
        self.wakeUps = wakeUps
        self.observer = observer
        self.receiveBuffer = [UInt8](repeating: 0, count: NetHeader.size + Self.maximumFrame)
        self.transmitBuffer = [UInt8](repeating: 0, count: NetHeader.size + Self.maximumFrame)
    }

    /// VIRTIO_ID_NET: 1 (5 "Device Types").
    public var deviceID: UInt32 { UInt32(VIRTIO_ID_NET) }
    public var queueSizes: [UInt16] { [Self.queueSize, Self.queueSize] }

    public var features: VirtioFeatures {
        let base: VirtioFeatures = [.netMAC, .netStatus, .netMergeableReceiveBuffers, .netMTU]
        return offersOffloads ? base.union(.netOffloads) : base
    }

    // MARK: Configuration space (5.1.4)

    /// `struct virtio_net_config`: mac, status, max_virtqueue_pairs (1), mtu.
    var configuration: virtio_net_config {
        var config = virtio_net_config()
        let m = mac.bytes
        config.mac = (m[0], m[1], m[2], m[3], m[4], m[5])
        config.status = isLinkUp ? UInt16(VIRTIO_NET_S_LINK_UP) : 0
        config.max_virtqueue_pairs = 1
        config.mtu = mtu
        return config
    }

    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(configuration), offset: offset, size: size)
    }

    /// Every field is read-only to the driver (mac is writable only in legacy devices).
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {}

    // MARK: Life cycle

    public mutating func featuresNegotiated(_ features: VirtioFeatures) {
        negotiated = features
        backend.enableReceiveOffloads(ReceiveOffloads(negotiated: features))
    }

    /// A reset forgets the frames held and the chains taken (the driver forgot them
    /// too) and stops reading the backend until buffers are posted again.
    public mutating func reset() {
        negotiated = []
        pendingReceive = nil
        heldChains = []
        pendingTransmit = nil
        watchInput(false)
        watchOutput(false)
    }

    public mutating func takeConfigurationChange() -> Bool {
        defer { linkChanged = false }
        return linkChanged
    }

    public mutating func serveQueue(
        _ index: Int, _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError) {
        switch index {
        case Self.receiveQueue: try serveReceive(&queue, memory: memory, completed: &completed)
        case Self.transmitQueue: try serveTransmit(&queue, memory: memory, completed: &completed)
        default: break
        }
    }

    /// The backend failed: the link goes down (VIRTIO_NET_S_LINK_UP cleared, the driver
    /// told through a configuration change), and the device stops watching it.
    mutating func backendFailed(_ reason: String) {
        guard isLinkUp else { return }
        isLinkUp = false
        linkChanged = true
        pendingReceive = nil
        pendingTransmit = nil
        watchInput(false)
        watchOutput(false)
        report(.backendFailed(reason))
    }

    mutating func watchInput(_ on: Bool) {
        guard watchingInput != on else { return }
        watchingInput = on
        wakeUps.watchBackendInput(on)
    }

    mutating func watchOutput(_ on: Bool) {
        guard watchingOutput != on else { return }
        watchingOutput = on
        wakeUps.watchBackendOutput(on)
    }

    func report(_ event: NetworkEvent) {
        observer?.observe(.network(event), device: name)
    }
}
