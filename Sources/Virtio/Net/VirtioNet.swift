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
/// Each queue has its handler (`NetReceiveHandler`, `NetTransmitHandler`); what the two
/// share, the backend and the link's state, is the device's `NetLink`. Memory stays
/// bounded whatever the guest does: each handler holds at most one frame, in a buffer
/// allocated once; the receive handler reads the backend only when the driver has
/// posted a buffer (otherwise frames wait in the host kernel, which drops them when its
/// queue is full); the transmit handler refuses a chain longer than `maximumFrame`
/// before copying any of it.
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
    /// Frames moved in one direction per round, after which the device asks to be
    /// served again: a busy link in one direction never starves the other.
    static let framesPerServe = 64

    public let name: String
    public let observer: (any VirtioObserver)?
    /// The device's address, in the configuration space.
    public let mac: MACAddress
    public let mtu: UInt16
    /// The backend, the link's state, and how the handlers ask to be served again.
    public let link: NetLink
    /// Whether the offloads are offered (they need a backend that passes the header).
    public let offersOffloads: Bool

    /// A network device named `name` with address `mac`, over `backend`; `offloads`
    /// false keeps the offloads off even over a backend that could take them.
    /// `wakeUps` is told when the device waits on its backend.
    public init(
        name: String, mac: MACAddress, mtu: UInt16 = VirtioNet.defaultMTU, backend: any NetBackend,
        offloads: Bool = true, wakeUps: any VirtioWakeUps = NoWakeUps(), observer: (any VirtioObserver)? = nil
    ) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.offersOffloads = offloads && backend.passesHeader
        self.observer = observer
        self.link = NetLink(device: name, backend: backend, wakeUps: wakeUps, observer: observer)
    }

    /// The backend frames go to and come from.
    public var backend: any NetBackend { link.backend }

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
        config.status = link.isUp ? UInt16(VIRTIO_NET_S_LINK_UP) : 0
        config.max_virtqueue_pairs = 1
        config.mtu = mtu
        return config
    }

    /// Every field is read-only to the driver (mac is writable only in legacy devices).
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(configuration), offset: offset, size: size)
    }

    // MARK: Queues (5.1.6)

    /// The receive queue's handler, or the transmit queue's. Enabling the receive queue
    /// also tells the backend which receive offloads the driver accepted (the features
    /// are final by then), so it may hand over partial checksums and 64 KiB segments.
    /// A handler let go of (the queue disabled, the device reset) forgets the frame it
    /// held and the chains it took, and stops watching the backend.
    public func queueHandler(for queue: Int, features: VirtioFeatures) -> any VirtqueueHandler {
        if queue == Self.receiveQueue {
            link.backend.enableReceiveOffloads(ReceiveOffloads(negotiated: features))
            return NetReceiveHandler(link: link, mergeable: features.contains(.netMergeableReceiveBuffers))
        }
        return NetTransmitHandler(link: link, negotiated: features)
    }
}
