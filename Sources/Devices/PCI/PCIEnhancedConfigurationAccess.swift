/// PCI Express's Enhanced Configuration Access Mechanism (ECAM) for bus 0: every
/// function's configuration space mapped in memory, 4 KiB each (PCI Express Base
/// Specification 4.0, 7.2.2, Table 7-1):
///
/// ```
///  address bits  27-20 bus (0 here: the window is 1 MiB), 19-15 device, 14-12 function,
///                11-0 register
/// ```
///
/// The same registers configuration mechanism #1 reaches through ports 0xcf8/0xcfc
/// (`PCIConfigMechanism1`); the ACPI MCFG table tells the guest where the window is, and
/// with it Linux knows that extended configuration space can be asked for. The functions
/// are conventional PCI, with 256 bytes of configuration space: offsets 256-4095 read
/// all ones and ignore writes, as do functions that do not exist. An access must lie
/// within one 32-bit register (7.2.2.2): others read all ones and are ignored.
public struct PCIEnhancedConfigurationAccess: BusDevice {
    public let name = "pci-ecam"
    /// Each function's share of the window.
    public static let functionSize: UInt64 = 0x1000
    /// A conventional PCI function's configuration space.
    static let conventionalSize: UInt64 = 0x100
    static let deviceShift: UInt64 = 15
    static let functionShift: UInt64 = 12

    private let bus: PCIBus

    /// The window of `bus` (bus 0), offset 0 at its base.
    public init(bus: PCIBus) {
        self.bus = bus
    }

    /// The device and register an access at `offset` of `size` bytes reaches, if any.
    private func target(_ offset: UInt64, size: Int) -> (device: UInt8, register: UInt64)? {
        let register = offset & (Self.functionSize - 1)
        let function = (offset >> Self.functionShift) & 0x7
        let device = (offset >> Self.deviceShift) & 0x1f
        // Only function 0 of each device exists (PCIBus), and only bus 0 is mapped.
        guard offset >> 20 == 0, function == 0, register < Self.conventionalSize,
              size <= 4, register % 4 + UInt64(size) <= 4
        else { return nil }
        return (UInt8(device), register)
    }

    /// The register's value; all ones where there is none.
    public mutating func read(offset: UInt64, size: Int) -> UInt64 {
        guard let (device, register) = target(offset, size: size),
              let value = bus.readConfiguration(device: device, offset: register, size: size)
        else { return AbsentDevice.floatingBus(size: size) }
        return value
    }

    /// Writes the register, if there is one.
    public mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        if let (device, register) = target(offset, size: size) {
            bus.writeConfiguration(device: device, offset: register, size: size, value: value)
        }
        return .none
    }
}
