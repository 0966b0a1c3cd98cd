/// A PCI function on bus 0. As a `BusDevice` it is its configuration space: offsets are
/// configuration registers, which the host bridge's configuration mechanism reaches
/// (`PCIConfigMechanism1`). Its memory BARs are reached through `readBAR`/`writeBAR`,
/// wherever the guest placed them (`PCIMMIOWindow`).
public protocol PCIFunction: BusDevice {
    /// The configuration space, which says where the BARs are.
    var configurationSpace: PCIConfigurationSpace { get }
    /// Reads `size` bytes at `offset` in BAR `bar`.
    mutating func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64
    /// Writes the low `size` bytes of `value` at `offset` in BAR `bar`.
    mutating func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect
}

/// The face of a PCI function's slot that the bus uses, type-erased.
protocol AnyPCIFunctionSlot: AnyDeviceSlot {
    /// Where the function's BARs are placed now.
    var mappings: [PCIBARMapping] { get }
    /// Whether one of the function's BARs covers guest physical `address`.
    func covers(_ address: UInt64) -> Bool
    /// Reads at guest physical `address` if one of the function's BARs covers it.
    func readMemory(at address: UInt64, size: Int) -> UInt64?
    /// Writes at guest physical `address` if one of the function's BARs covers it.
    func writeMemory(at address: UInt64, size: Int, value: UInt64) -> DeviceEffect?
}

extension DeviceSlot: AnyPCIFunctionSlot where Device: PCIFunction {
    var mappings: [PCIBARMapping] { withLock { $0.configurationSpace.mappings } }

    func covers(_ address: UInt64) -> Bool {
        withLock { $0.configurationSpace.mapping(containing: address) != nil }
    }

    func readMemory(at address: UInt64, size: Int) -> UInt64? {
        withLock { function in
            guard let mapping = function.configurationSpace.mapping(containing: address) else { return nil }
            return function.readBAR(mapping.bar, offset: address - mapping.address, size: size)
        }
    }

    func writeMemory(at address: UInt64, size: Int, value: UInt64) -> DeviceEffect? {
        withLock { function in
            guard let mapping = function.configurationSpace.mapping(containing: address) else { return nil }
            return function.writeBAR(mapping.bar, offset: address - mapping.address, size: size, value: value)
        }
    }
}

/// The host bridge at 00:00.0: a configuration space that tells the guest this is a PCI
/// bus (class 06 00 00, "host bridge"), with no BARs and no interrupt.
///
/// Its ID, 1b36:0008, is the PCI ID Red Hat assigned to the generic PCIe host bridge of
/// virtual machines (QEMU's docs/specs/pci-ids.rst); operating systems need no driver for it.
public struct PCIHostBridge: PCIFunction {
    public let name = "pci-host-bridge"
    public private(set) var configurationSpace = PCIConfigurationSpace(.init(
        vendorID: 0x1b36, deviceID: 0x0008, revision: 0, classCode: (base: 0x06, subclass: 0x00, interface: 0x00)))

    /// The host bridge, its configuration space as after reset.
    public init() {}

    /// Reads its configuration space.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        UInt64(configurationSpace.read(offset: Int(offset), size: size))
    }

    /// Writes its configuration space, where the masks allow.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        configurationSpace.write(offset: Int(offset), size: size, value: UInt32(truncatingIfNeeded: value))
        return .none
    }

    /// It has no BARs: never called.
    public mutating func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64 { 0 }
    /// It has no BARs: never called.
    public mutating func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect { .none }
}
