/// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2): the
/// host bridge's CONFIG_ADDRESS register at port 0xcf8 selects a function and register,
/// and CONFIG_DATA at 0xcfc-0xcff reads or writes it.
///
/// ```
///  CONFIG_ADDRESS  bit 31     enable
///                  bits 23-16 bus, 15-11 device, 10-8 function, 7-2 register
/// ```
/// Only bus 0, function 0 of each device exists; anything else reads all ones (no
/// device) and ignores writes. Linux finds the mechanism by writing 0x80000000 to
/// CONFIG_ADDRESS and reading it back (arch/x86/pci/direct.c, pci_check_type1).
public struct PCIConfigMechanism1: BusDevice {
    public let name = "pci-conf1"
    /// The ports: CONFIG_ADDRESS and CONFIG_DATA.
    public static let portCount: UInt64 = 8
    static let dataOffset: UInt64 = 4
    static let enable: UInt32 = 1 << 31

    private let bus: PCIBus
    /// CONFIG_ADDRESS; bits 1-0 read as zero.
    public private(set) var address: UInt32 = 0

    /// The mechanism for `bus`, CONFIG_ADDRESS clear.
    public init(bus: PCIBus) {
        self.bus = bus
    }

    /// The device and register CONFIG_ADDRESS selects, plus `byte`; nil for a function
    /// that does not exist or when the enable bit is clear.
    private func target(byte: UInt64) -> (device: UInt8, offset: UInt64)? {
        guard address & Self.enable != 0 else { return nil }
        let busNumber = (address >> 16) & 0xff, device = (address >> 11) & 0x1f, function = (address >> 8) & 0x7
        guard busNumber == 0, function == 0 else { return nil }
        return (UInt8(device), UInt64(address & 0xfc) + byte)
    }

    /// Reads CONFIG_ADDRESS (a 32-bit access at 0xcf8 only) or, at 0xcfc-0xcff, the
    /// selected register of the selected function.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        if offset < Self.dataOffset {
            // Only a 32-bit access reaches CONFIG_ADDRESS; narrower ones find nothing.
            return offset == 0 && size == 4 ? UInt64(address) : AbsentDevice.floatingBus(size: size)
        }
        guard let (device, register) = target(byte: offset - Self.dataOffset),
              let value = bus.readConfiguration(device: device, offset: register, size: size)
        else { return AbsentDevice.floatingBus(size: size) }
        return value
    }

    /// Writes CONFIG_ADDRESS (a 32-bit access at 0xcf8 only) or, at 0xcfc-0xcff, the
    /// selected register of the selected function.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        if offset < Self.dataOffset {
            if offset == 0 && size == 4 { address = UInt32(truncatingIfNeeded: value) & ~0x3 }
            return .none
        }
        if let (device, register) = target(byte: offset - Self.dataOffset) {
            bus.writeConfiguration(device: device, offset: register, size: size, value: value)
        }
        return .none
    }
}
