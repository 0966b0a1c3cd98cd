import Locking

/// A device together with the lock that serializes access to it: "the device the bus
/// sees". vCPU threads reach it through the bus; other threads (the console's input
/// reader, say) reach it through the slot they were handed when it was registered.
public final class DeviceSlot<Device: BusDevice>: Sendable {
    private let state: Locked<Device>
    public let name: String

    /// `device` behind a lock of its own.
    public init(_ device: Device) {
        self.name = device.name
        self.state = Locked(device)
    }

    /// Runs `body` with exclusive access to the device.
    public func withLock<Result: Sendable>(_ body: (inout Device) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}

/// The type-erased face of a `DeviceSlot`, which the bus stores.
protocol AnyDeviceSlot: Sendable {
    var name: String { get }
    func deviceName(at offset: UInt64) -> String
    func read(offset: UInt64, size: Int) -> UInt64
    func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect
}

extension DeviceSlot: AnyDeviceSlot {
    func deviceName(at offset: UInt64) -> String {
        withLock { $0.deviceName(at: offset) }
    }

    func read(offset: UInt64, size: Int) -> UInt64 {
        withLock { $0.read(offset: offset, size: size) }
    }

    func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        withLock { $0.write(offset: offset, size: size, value: value) }
    }
}
