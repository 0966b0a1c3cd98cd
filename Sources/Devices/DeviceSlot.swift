import Locking

/// A device together with the lock that serializes access to it: "the device the bus
/// sees" (rust-vmm vm-device: a `Mutex<Device>`). vCPU threads reach it through the bus;
/// other threads (the console's input reader, say) reach it through the slot they were
/// handed when it was registered.
public final class DeviceSlot<Device: BusDevice>: @unchecked Sendable {
    // @unchecked: `device` is read and written only inside `lock.withLock`. The lock holds
    // nothing and sits beside the device, and the exclusivity check is off for the device,
    // which the lock already makes exclusive (docs/PERFORMANCE.md, figure 1).
    private let lock = Locked(())
    @exclusivity(unchecked) private var device: Device
    public let name: String

    /// `device` behind a lock of its own.
    public init(_ device: Device) {
        self.name = device.name
        self.device = device
    }

    /// Runs `body` with exclusive access to the device.
    public func withLock<Result: Sendable>(_ body: (inout Device) -> Result) -> Result {
        lock.withLock { _ in body(&device) }
    }
}

extension DeviceSlot: SharedBusDevice {
    public func deviceName(at offset: UInt64) -> String {
        withLock { $0.deviceName(at: offset) }
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        withLock { $0.read(offset: offset, size: size) }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        withLock { $0.write(offset: offset, size: size, value: value) }
    }
}
