/// The MMIO window PCI BARs are placed in, as one device on the machine's MMIO bus: an
/// access reaches whichever function's BAR covers the address now (`PCIBus`'s address
/// map). It holds no state, so it takes no lock: accesses to different functions never
/// wait for each other.
public final class PCIMMIOWindow: SharedBusDevice {
    public let name = "pci-mmio-window"
    private let bus: PCIBus
    private let base: UInt64

    /// The window of `bus`, whose offset 0 is guest physical `base`.
    public init(bus: PCIBus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    /// Reads from the BAR that covers the address; all ones where none does.
    public func read(offset: UInt64, size: Int) -> UInt64 {
        // Nothing there: as on a PCI bus, a read nobody claims returns all ones.
        bus.readMemory(at: base + offset, size: size) ?? AbsentDevice.floatingBus(size: size)
    }

    /// Writes to the BAR that covers the address; nothing where none does.
    public func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        bus.writeMemory(at: base + offset, size: size, value: value) ?? .none
    }

    /// The function whose BAR the access reaches, or the window itself where none is.
    public func deviceName(at offset: UInt64) -> String {
        bus.functionName(at: base + offset) ?? name
    }
}
