import CUAPI

/// The device status field (virtio v1.2, 2.1 "Device Status Field"): the driver sets
/// bits as it initializes the device (3.1.1); the device adds DEVICE_NEEDS_RESET when
/// it cannot go on; writing 0 resets the device.
public struct DeviceStatus: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    /// The status field with exactly the bits of `rawValue` (virtio v1.2, 2.1).
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    init(_ bits: Int32) { self.rawValue = UInt8(bits) }

    /// The guest OS has found the device.
    public static let acknowledge = DeviceStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE)
    /// The guest OS knows how to drive the device.
    public static let driver = DeviceStatus(VIRTIO_CONFIG_S_DRIVER)
    /// The driver is set up and ready: the device is live.
    public static let driverOK = DeviceStatus(VIRTIO_CONFIG_S_DRIVER_OK)
    /// The driver has acknowledged the features it understands; negotiation is over.
    public static let featuresOK = DeviceStatus(VIRTIO_CONFIG_S_FEATURES_OK)
    /// Set by the device: it hit an error it cannot recover from without a reset.
    public static let needsReset = DeviceStatus(VIRTIO_CONFIG_S_NEEDS_RESET)
    /// Set by the driver: it has given up on the device.
    public static let failed = DeviceStatus(VIRTIO_CONFIG_S_FAILED)

    /// The value in hexadecimal, as a driver would print it.
    public var description: String { "0x" + String(rawValue, radix: 16) }

    /// The bits set, by their names in the specification without the VIRTIO_CONFIG_S_
    /// prefix, lowest first: `ACKNOWLEDGE|DRIVER`; `RESET` for 0, the value that resets
    /// the device (2.4).
    public var names: String {
        let named: [(DeviceStatus, String)] = [
            (.acknowledge, "ACKNOWLEDGE"), (.driver, "DRIVER"), (.driverOK, "DRIVER_OK"),
            (.featuresOK, "FEATURES_OK"), (.needsReset, "NEEDS_RESET"), (.failed, "FAILED"),
        ]
        let set = named.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "RESET" : set.joined(separator: "|")
    }
}
