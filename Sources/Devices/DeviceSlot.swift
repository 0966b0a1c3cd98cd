import Locking

/// A device together with the lock that serializes access to it: "the device the bus
/// sees". vCPU threads reach it through the bus; other threads (the console's input
/// reader, say) reach it through the slot they were handed when it was registered.
public final class DeviceSlot<Device: BusDevice>: @unchecked Sendable {
    // @unchecked: `device` is read and written only inside `lock.withLock`.
    //
    // Why not one Locked<Device>: the bus reaches a slot through code that is generic over
    // Device, and there every access to a lock holding a Device looks up that type's
    // metadata at run time, several hundred instructions on every exit (benchmarks/,
    // callgrind). A lock holding nothing, beside the device, guards the same state
    // without the lookup. The lock is what makes access exclusive, so the run-time
    // exclusivity check, a hundred instructions more per access, is off for `device`.
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

/// The type-erased face of a `DeviceSlot`, which the bus stores. Class-bound: copying
/// one is a reference count, not an opaque existential's value-witness calls.
protocol AnyDeviceSlot: AnyObject, Sendable {
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
