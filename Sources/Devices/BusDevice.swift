/// What a device asks of the machine after an access, beyond returning data.
public enum DeviceEffect: Sendable, Equatable {
    /// Nothing beyond the access itself.
    case none
    /// The guest asked for a machine reset (i8042 command 0xfe, how Linux restarts a PC).
    case reset
    /// The guest powered the machine off (ACPI sleep state S5, Linux's `poweroff`).
    case powerOff
    /// The guest wrote `value` to a QEMU-compatible isa-debug-exit port.
    case debugExit(value: UInt32)
}

/// A device as a bus sees it: a register file at some offset range, read and written
/// with accesses of 1, 2 or 4 bytes (port I/O) or up to 8 bytes (MMIO).
///
/// Devices are value types holding their register state. They hold no locks: the bus
/// wraps each one in a mutex (`DeviceSlot`), so one access at a time reaches a device.
/// (A device that must not serialize every access conforms to `SharedBusDevice` instead.)
public protocol BusDevice: Sendable {
    /// A short name for messages and statistics ("serial0", "cmos").
    var name: String { get }

    /// Reads `size` bytes at `offset` from the device's base. Unused high bytes are zero.
    mutating func read(offset: UInt64, size: Int) -> UInt64

    /// Writes the low `size` bytes of `value` at `offset` from the device's base.
    mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect

    /// The name of what answers an access at `offset`, for traces and statistics: the
    /// device itself, or for a device that forwards accesses (the PCI MMIO window), the
    /// one it forwards this access to.
    func deviceName(at offset: UInt64) -> String
}

extension BusDevice {
    /// The device answers every access itself.
    public func deviceName(at offset: UInt64) -> String { name }
}

/// An interrupt line from a device to the machine's interrupt controller.
///
/// Devices drive a level: raised while they have an interrupt pending, lowered when it
/// is acknowledged. How the level reaches the guest (KVM_IRQ_LINE, an irqfd) is the
/// machine's business; tests pass a fake that records levels.
public protocol InterruptLine: Sendable {
    /// Drives the line high (interrupt requested) or low.
    func setLevel(_ high: Bool)
    /// Raises and lowers the line: one edge, for an edge-triggered input (an ISA line
    /// such as a virtio-mmio device's). A machine may do it in one step (an irqfd).
    func pulse()
}

extension InterruptLine {
    /// One edge, as two level changes.
    public func pulse() {
        setLevel(true)
        setLevel(false)
    }
}

/// Where a device's output bytes go (the serial console's transmitter, for one).
public protocol ByteSink: Sendable {
    /// Takes `bytes`, in order; it must not block the device for long.
    func write(_ bytes: [UInt8])

    /// Writes one byte. A UART sends one per exit; a sink on the exit path implements
    /// this without building an array (a heap allocation per byte otherwise).
    func write(byte: UInt8)
}

extension ByteSink {
    /// By default a one-byte array; sinks on the exit path write the byte directly.
    public func write(byte: UInt8) { write([byte]) }
}
