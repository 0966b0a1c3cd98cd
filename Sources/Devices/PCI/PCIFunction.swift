/// A PCI function as `PCIBus` reaches it, from any thread: its configuration space
/// (through configuration mechanism #1) and its memory BARs (through the PCI memory
/// window), each access serialized by the function itself.
///
/// A plain `PCIFunction` value gets that from a `DeviceSlot`; the virtio-pci transport
/// conforms itself, so a queue is served without its register lock.
public protocol SharedPCIFunction: AnyObject, Sendable {
    /// A short name for messages and statistics ("virtio-blk-pci0").
    var name: String { get }
    /// Its memory BARs and their sizes, which never change (PCI 3.0, 6.2.5.1: a BAR's
    /// size is wired into its read-only low bits).
    var barSizes: [(bar: Int, size: UInt64)] { get }
    /// Where BAR `bar` answers now, or nil (not placed, or memory decoding off).
    func mapping(ofBAR bar: Int) -> PCIBARMapping?
    /// Reads `size` bytes of configuration space at `offset`.
    func readConfiguration(offset: UInt64, size: Int) -> UInt64
    /// Writes configuration space at `offset` (which may move a BAR).
    func writeConfiguration(offset: UInt64, size: Int, value: UInt64)
    /// Reads `size` bytes at `offset` in BAR `bar`.
    func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64
    /// Writes the low `size` bytes of `value` at `offset` in BAR `bar`.
    func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect
}

/// A PCI function on bus 0 as a plain value: as a `BusDevice` it is its configuration
/// space (offsets are configuration registers), and its BARs are reached through
/// `readBAR`/`writeBAR`. A `DeviceSlot` makes it a `SharedPCIFunction`.
public protocol PCIFunction: BusDevice {
    /// The configuration space, which says where the BARs are.
    var configurationSpace: PCIConfigurationSpace { get }
    /// Reads `size` bytes at `offset` in BAR `bar`.
    mutating func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64
    /// Writes the low `size` bytes of `value` at `offset` in BAR `bar`.
    mutating func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect
}

extension DeviceSlot: SharedPCIFunction where Device: PCIFunction {
    public var barSizes: [(bar: Int, size: UInt64)] { withLock { $0.configurationSpace.barSizes } }

    public func mapping(ofBAR bar: Int) -> PCIBARMapping? {
        withLock { $0.configurationSpace.mapping(ofBAR: bar) }
    }

    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        read(offset: offset, size: size)
    }

    public func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {
        _ = write(offset: offset, size: size, value: value)
    }

    public func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64 {
        withLock { $0.readBAR(bar, offset: offset, size: size) }
    }

    public func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        withLock { $0.writeBAR(bar, offset: offset, size: size, value: value) }
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
