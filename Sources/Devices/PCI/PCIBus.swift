import Synchronization

/// PCI bus 0: its functions by device number (function 0 of each), shared by the
/// configuration mechanism and the MMIO window through which their BARs answer.
///
/// Where each BAR answers is kept in an address map of its own, one atomic word per
/// BAR, rewritten when a configuration write moves it: a BAR access finds its function
/// without taking any function's lock, and only the function it reaches serializes it.
public final class PCIBus: Sendable {
    /// Device numbers on a bus: 0-31 (PCI 3.0, 3.2.2.3.1).
    public static let deviceCount = 32

    /// Called when a function's BAR starts or stops answering at an address (the guest
    /// moved it, or turned memory decoding on or off): the machine re-registers what it
    /// placed at fixed guest addresses inside the BAR (ioeventfds).
    public typealias MappingObserver = @Sendable (_ device: UInt8, _ old: [PCIBARMapping], _ new: [PCIBARMapping]) -> Void

    /// Where one BAR of one function answers now.
    final class Placement: Sendable {
        let device: UInt8
        let function: any SharedPCIFunction
        let bar: Int
        let size: UInt64
        /// The BAR's guest physical address, or 0 while it answers nowhere (0 is never a
        /// placed BAR: `PCIConfigurationSpace.mapping(ofBAR:)`).
        let address: Atomic<UInt64>

        init(device: UInt8, function: any SharedPCIFunction, bar: Int, size: UInt64) {
            self.device = device
            self.function = function
            self.bar = bar
            self.size = size
            self.address = Atomic(function.mapping(ofBAR: bar)?.address ?? 0)
        }

        var mapping: PCIBARMapping? {
            let base = address.load(ordering: .acquiring)
            return base == 0 ? nil : PCIBARMapping(bar: bar, address: base, size: size)
        }

        /// The offset of `physical` inside the BAR, if the BAR covers it now.
        func offset(of physical: UInt64) -> UInt64? {
            let base = address.load(ordering: .acquiring)
            guard base != 0, physical >= base, physical - base < size else { return nil }
            return physical - base
        }
    }

    private let functions: [UInt8: any SharedPCIFunction]
    /// Every BAR of every function, by device number: the address map.
    private let placements: [Placement]
    private let observer: MappingObserver?

    /// A bus with `functions` at their device numbers (0-31).
    public init(functions: [UInt8: any SharedPCIFunction], observer: MappingObserver? = nil) {
        precondition(functions.keys.allSatisfy { Int($0) < Self.deviceCount })
        self.functions = functions
        self.placements = functions.keys.sorted().flatMap { device in
            functions[device]!.barSizes.map { Placement(device: device, function: functions[device]!, bar: $0.bar, size: $0.size) }
        }
        self.observer = observer
    }

    // MARK: Configuration space

    func readConfiguration(device: UInt8, offset: UInt64, size: Int) -> UInt64? {
        functions[device]?.readConfiguration(offset: offset, size: size)
    }

    /// Writes a function's configuration space, then rewrites the address map of its BARs.
    /// Configuration writes come one at a time (configuration mechanism #1 serializes
    /// them), so the map has one writer.
    func writeConfiguration(device: UInt8, offset: UInt64, size: Int, value: UInt64) {
        guard let function = functions[device] else { return }
        function.writeConfiguration(offset: offset, size: size, value: value)
        var old: [PCIBARMapping] = [], new: [PCIBARMapping] = []
        for placement in placements where placement.device == device {
            let before = placement.mapping, after = function.mapping(ofBAR: placement.bar)
            if let before { old.append(before) }
            if let after { new.append(after) }
            if before != after { placement.address.store(after?.address ?? 0, ordering: .releasing) }
        }
        if old != new { observer?(device, old, new) }
    }

    // MARK: Memory space

    private func placement(at address: UInt64) -> (Placement, offset: UInt64)? {
        for placement in placements {
            if let offset = placement.offset(of: address) { return (placement, offset) }
        }
        return nil
    }

    /// The name of the function whose BAR covers `address` now, if any.
    func functionName(at address: UInt64) -> String? {
        placement(at: address)?.0.function.name
    }

    func readMemory(at address: UInt64, size: Int) -> UInt64? {
        guard let (placement, offset) = placement(at: address) else { return nil }
        return placement.function.readBAR(placement.bar, offset: offset, size: size)
    }

    func writeMemory(at address: UInt64, size: Int, value: UInt64) -> DeviceEffect? {
        guard let (placement, offset) = placement(at: address) else { return nil }
        return placement.function.writeBAR(placement.bar, offset: offset, size: size, value: value)
    }
}
