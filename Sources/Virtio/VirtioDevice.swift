import GuestMemory

/// A virtio device model: what a device of one type does with the requests its driver
/// queues (virtio v1.2, 5 "Device Types"). It knows nothing of transports: the
/// device-status machine, feature negotiation and rings are `VirtioDeviceState`'s; the
/// registers and interrupts are the transport's (`VirtioMMIODevice`, `VirtioPCIFunction`).
public protocol VirtioDevice: Sendable {
    /// A short name for messages ("virtio-blk0").
    var name: String { get }
    /// The device ID (5 "Device Types": 2 is a block device).
    var deviceID: UInt32 { get }
    /// The device-type feature bits it offers; `VirtioDeviceState` adds the transport bits.
    var features: VirtioFeatures { get }
    /// The largest size of each of its queues; the count is the number of queues.
    var queueSizes: [UInt16] { get }
    /// Who is told what the device and its transport do (`VirtioEvent`), if anyone.
    var observer: (any VirtioObserver)? { get }

    /// Reads the device configuration space ("device-specific configuration").
    func readConfiguration(offset: UInt64, size: Int) -> UInt64
    /// Writes it; most fields are read-only.
    mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64)

    /// Executes the request in `chain` from queue `queue`; returns how many bytes it
    /// wrote into the chain's device-writable buffers (the used element's `len`).
    mutating func handle(_ chain: DescriptorChain, queue: Int, memory: GuestMemory) -> UInt32

    /// Serves queue `index` (after the driver's notification, or when the device has work
    /// of its own, such as a frame arriving): takes the chains the driver made available
    /// and returns them used, setting `completed` once it returned any (so the transport
    /// can decide on a used-buffer notification, even when a later chain throws).
    /// `VirtioDeviceState` calls it; the default is `serveEveryChain`, which suits
    /// devices that answer each request at once.
    mutating func serveQueue(
        _ index: Int, _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError)

    /// The driver reset the device: forget negotiated state.
    mutating func reset()

    /// Whether the device configuration changed since the last call (a network link
    /// went down): the driver is then sent a configuration change notification.
    mutating func takeConfigurationChange() -> Bool

    /// FEATURES_OK stuck: `features` are the ones negotiated (3.1.1, step 5), which some
    /// devices must behave by (a block device without VIRTIO_BLK_F_FLUSH writes through).
    mutating func featuresNegotiated(_ features: VirtioFeatures)
}

extension VirtioDevice {
    /// By default nothing: most devices behave the same whatever was negotiated.
    public mutating func featuresNegotiated(_ features: VirtioFeatures) {}

    /// By default the configuration never changes under the driver.
    public mutating func takeConfigurationChange() -> Bool { false }

    /// By default every available chain, each through `handle`.
    public mutating func serveQueue(
        _ index: Int, _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError) {
        try serveEveryChain(index, &queue, memory: memory, completed: &completed)
    }

    /// Takes every chain the driver made available, executes each with `handle` and
    /// returns it used; with EVENT_IDX, looks once more after asking to be notified, so
    /// a chain made available meanwhile is not missed (2.7.10). Sets `completed` once a
    /// chain was returned.
    public mutating func serveEveryChain(
        _ index: Int, _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError) {
        repeat {
            while let chain = try queue.popAvailable(memory: memory) {
                let written = handle(chain, queue: index, memory: memory)
                try queue.pushUsed(head: chain.head, length: written, memory: memory)
                completed = true
            }
        } while try queue.armAvailableNotification(memory: memory)
    }
}

/// What a device asks its transport to signal to the driver.
public enum VirtioInterrupt: Sendable, Equatable {
    /// Used buffer notification: queue `queue` has new used entries (2.7.7).
    case usedBuffer(queue: Int)
    /// Configuration change notification: device configuration or status changed,
    /// DEVICE_NEEDS_RESET among others (2.1.2, 4.1.4.5, 4.2.2).
    case configurationChange
}
