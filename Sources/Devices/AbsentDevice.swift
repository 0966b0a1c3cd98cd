/// A range of ports where a PC could have hardware and this machine has none.
///
/// On the ISA bus nobody drives the data lines when a port is absent, and the pull-up
/// resistors make every bit read as 1; writes go nowhere. Registering such ranges by
/// name, rather than leaving them unclaimed, keeps the ports a guest is known to probe
/// apart from accesses that are worth reporting. Drivers take the all-ones answer as
/// "nothing here": Linux's 8250 driver finds no UART because IER does not read back,
/// the PCI probe finds no configuration mechanism because 0xcf8 does not.
///
/// It holds no state, so it needs no lock: every vCPU reaches it at once (Linux's
/// `io_delay` writes port 0x80 all the time).
public final class AbsentDevice: SharedBusDevice {
    public let name: String

    /// Absent hardware where the PC might have `name`.
    public init(name: String) {
        self.name = name
    }

    /// Every bit reads 1: nobody drives the ISA data lines.
    public func read(offset: UInt64, size: Int) -> UInt64 {
        Self.floatingBus(size: size)
    }

    /// Goes nowhere.
    public func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        .none
    }

    /// What a read of `size` bytes from nowhere returns: all ones in each byte read.
    public static func floatingBus(size: Int) -> UInt64 {
        size >= 8 ? .max : (1 << (8 * UInt64(size))) - 1
    }
}
