import GuestMemory

/// A virtio device model: what a device of one type offers its driver and what serves
/// its queues (virtio v1.2, 5 "Device Types"). It knows nothing of transports: the
/// device-status machine, feature negotiation and queue configuration are
/// `VirtioDeviceState`'s, the registers and interrupts the transport's
/// (`VirtioMMIODevice`, `VirtioPCIFunction`), and both transports take any device.
///
/// A new device type is a value conforming to this protocol and a `VirtqueueHandler` for
/// its queues; nothing in the transports changes.
public protocol VirtioDevice: Sendable {
    /// A short name for messages ("virtio-blk-pci0").
    var name: String { get }
    /// The device ID (5 "Device Types": 2 is a block device).
    var deviceID: UInt32 { get }
    /// The device-type feature bits it offers; `VirtioDeviceState` adds the transport bits.
    var features: VirtioFeatures { get }
    /// The largest size of each of its queues; the count is the number of queues.
    var queueSizes: [UInt16] { get }
    /// Who is told what the device and its transport do (`VirtioEvent`), if anyone.
    var observer: (any VirtioObserver)? { get }

    /// Reads the device configuration space ("device-specific configuration", 2.5).
    func readConfiguration(offset: UInt64, size: Int) -> UInt64
    /// Writes it; most fields are read-only.
    mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64)
    /// The driver reset the device (2.4): forget what it configured.
    mutating func reset()

    /// What serves queue `queue` from the moment the driver enables it, given the
    /// features the driver accepted (final by then: FEATURES_OK comes first, 3.1.1). The
    /// handler owns what the queue's requests need; whoever serves the queue holds it.
    func queueHandler(for queue: Int, features: VirtioFeatures) -> any VirtqueueHandler
}

extension VirtioDevice {
    /// By default every field is read-only.
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {}
    /// By default there is nothing the driver configured in the device itself.
    public mutating func reset() {}
}

/// What a device asks its transport to signal to the driver.
public enum VirtioInterrupt: Sendable, Equatable {
    /// Used buffer notification: queue `queue` has new used entries (2.7.7).
    case usedBuffer(queue: Int)
    /// Configuration change notification: device configuration or status changed,
    /// DEVICE_NEEDS_RESET among others (2.1.2, 4.1.4.5, 4.2.2).
    case configurationChange
}
