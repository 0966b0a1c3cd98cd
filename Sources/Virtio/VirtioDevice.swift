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

    /// The driver reset the device: forget negotiated state.
    mutating func reset()

    /// Whether the device takes a chain from queue `queue` now. A device that fills
    /// buffers only when it has something for them (virtio-vsock's rx queue) answers
    /// false while it has nothing, and the chains wait for it.
    func takesChain(fromQueue queue: Int) -> Bool

    /// FEATURES_OK stuck: `features` are the ones negotiated (3.1.1, step 5), which some
    /// devices must behave by (a block device without VIRTIO_BLK_F_FLUSH writes through).
    mutating func featuresNegotiated(_ features: VirtioFeatures)
}

extension VirtioDevice {
    /// By default every chain made available is served at once.
    public func takesChain(fromQueue queue: Int) -> Bool { true }

    /// By default nothing: most devices behave the same whatever was negotiated.
    public mutating func featuresNegotiated(_ features: VirtioFeatures) {}
}

/// What a device asks its transport to signal to the driver.
public enum VirtioInterrupt: Sendable, Equatable {
    /// Used buffer notification: queue `queue` has new used entries (2.7.7).
    case usedBuffer(queue: Int)
    /// Configuration change notification: device configuration or status changed,
    /// DEVICE_NEEDS_RESET among others (2.1.2, 4.1.4.5, 4.2.2).
    case configurationChange
}
