/// Firecracker's boot timer (`--boot-timer`): an MMIO page a guest's init writes one byte
/// to when the guest has booted, so the VMM can log how long that took. The contract, as
/// Firecracker's test init programs use it: a 1-byte write of `bootComplete` (123) at
/// offset 0 of the page at `Layout.bootTimer`, reached through `/dev/mem`.
///
/// Every other access is ignored; reads answer 0. Each magic write calls `signal`: the
/// machine decides what to measure and where to say it.
public struct BootTimer: BusDevice {
    /// The byte that says "booted".
    public static let bootComplete: UInt8 = 123

    public let name: String
    private let signal: @Sendable () -> Void

    /// A timer that calls `signal` at each magic write.
    public init(name: String = "boot-timer", signal: @escaping @Sendable () -> Void) {
        self.name = name
        self.signal = signal
    }

    public mutating func read(offset: UInt64, size: Int) -> UInt64 { 0 }

    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        if offset == 0, size == 1, UInt8(truncatingIfNeeded: value) == Self.bootComplete { signal() }
        return .none
    }
}
