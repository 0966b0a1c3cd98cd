/// PCI bus 0: its functions by device number (function 0 of each), shared by the
/// configuration mechanism and the MMIO window through which their BARs answer.
///
/// Built with the machine and read-only after; each function has its own lock (its
/// `DeviceSlot`).
public final class PCIBus: Sendable {
    /// Device numbers on a bus: 0-31 (PCI 3.0, 3.2.2.3.1).
    public static let deviceCount = 32

    /// Called when a function's BAR starts or stops answering at an address (the guest
    /// moved it, or turned memory decoding on or off): the machine re-registers what it
    /// placed at fixed guest addresses inside the BAR (ioeventfds).
    public typealias MappingObserver = @Sendable (_ device: UInt8, _ old: [PCIBARMapping], _ new: [PCIBARMapping]) -> Void

    private let functions: [UInt8: any AnyPCIFunctionSlot]
    private let observer: MappingObserver?

    /// A function to place on the bus: its slot, type-erased.
    public struct Function: Sendable {
        let slot: any AnyPCIFunctionSlot
        /// The function in `slot`.
        public init<Device: PCIFunction>(_ slot: DeviceSlot<Device>) { self.slot = slot }
    }

    /// A bus with `functions` at their device numbers (0-31).
    public init(functions: [UInt8: Function], observer: MappingObserver? = nil) {
        precondition(functions.keys.allSatisfy { Int($0) < Self.deviceCount })
        self.functions = functions.mapValues(\.slot)
        self.observer = observer
    }

    // MARK: Configuration space

    func readConfiguration(device: UInt8, offset: UInt64, size: Int) -> UInt64? {
        functions[device]?.read(offset: offset, size: size)
    }

    func writeConfiguration(device: UInt8, offset: UInt64, size: Int, value: UInt64) {
        guard let function = functions[device] else { return }
        let before = function.mappings
        _ = function.write(offset: offset, size: size, value: value)
        let after = function.mappings
        if before != after { observer?(device, before, after) }
    }

    // MARK: Memory space

    /// The name of the function whose BAR covers `address` now, if any.
    func functionName(at address: UInt64) -> String? {
        functions.values.first { $0.covers(address) }?.name
    }

    func readMemory(at address: UInt64, size: Int) -> UInt64? {
        for function in functions.values {
            if let value = function.readMemory(at: address, size: size) { return value }
        }
        return nil
    }

    func writeMemory(at address: UInt64, size: Int, value: UInt64) -> DeviceEffect? {
        for function in functions.values {
            if let effect = function.writeMemory(at: address, size: size, value: value) { return effect }
        }
        return nil
    }
}

/// The MMIO window PCI BARs are placed in, as one device on the machine's MMIO bus: an
/// access reaches whichever function's BAR covers the address now.
public struct PCIMMIOWindow: BusDevice {
    public let name = "pci-mmio-window"
    private let bus: PCIBus
    private let base: UInt64

    /// The window of `bus`, whose offset 0 is guest physical `base`.
    public init(bus: PCIBus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    /// Reads from the BAR that covers the address; all ones where none does.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        // Nothing there: as on a PCI bus, a read nobody claims returns all ones.
        bus.readMemory(at: base + offset, size: size) ?? AbsentDevice.floatingBus(size: size)
    }

    /// Writes to the BAR that covers the address; nothing where none does.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        bus.writeMemory(at: base + offset, size: size, value: value) ?? .none
    }

    /// The function whose BAR the access reaches, or the window itself where none is.
    public func deviceName(at offset: UInt64) -> String {
        bus.functionName(at: base + offset) ?? name
    }
}
