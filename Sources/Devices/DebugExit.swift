/// A port a guest writes to end the machine, compatible with QEMU's `isa-debug-exit`
/// device (default port 0xf4, one port wide).
///
/// A write of `v`, of 1, 2 or 4 bytes, asks the machine to stop; the machine exits
/// with status `(v << 1) | 1`, as QEMU does, so a status of 0 or 1 can never mean "the
/// guest asked for it". Test kernels and firmware use it to report a result. Reads
/// answer as an absent port.
public struct DebugExit: BusDevice {
    public let name: String

    /// The device, named `name` in messages and statistics.
    public init(name: String = "debug-exit") {
        self.name = name
    }

    /// Reads as an absent port, as QEMU's does.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        AbsentDevice.floatingBus(size: size)
    }

    /// Asks the machine to stop with the bytes written as `v`.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        // Only the bytes written count, whatever the register's upper bits held.
        let written = value & AbsentDevice.floatingBus(size: size)
        return .debugExit(value: UInt32(truncatingIfNeeded: written))
    }
}
