import GuestMemory

/// The devices the ACPI tables describe, as plain values. The machine builder fills it
/// from its own device list; an empty value describes CPUs and interrupt controllers
/// only.
public struct ACPIPlatform: Sendable, Equatable {
    /// ISA IRQs 0-15 are also GSIs 0-15; GSIs from 16 on have no ISA IRQ.
    public static let isaInterrupts: UInt32 = 16

    /// A fixed device on the ISA/LPC bus, bound by its plug-and-play ID.
    public struct ISADevice: Sendable, Equatable {
        /// The AML name: up to four characters ("COM1").
        public var name: String
        /// `_HID`, an EISA ID ("PNP0501" for a 16550A UART).
        public var hardwareID: String
        /// `_UID`, to tell several devices of one kind apart.
        public var uniqueID: UInt64
        /// `_CRS`: its ports and interrupt.
        public var resources: [ResourceDescriptor]

        /// A device named `name` with `_HID` `hardwareID`, `_UID` `uniqueID` and `_CRS` `resources`.
        public init(name: String, hardwareID: String, uniqueID: UInt64, resources: [ResourceDescriptor]) {
            self.name = name
            self.hardwareID = hardwareID
            self.uniqueID = uniqueID
            self.resources = resources
        }
    }

    /// A PCI INTx route: device `device` on bus 0 raises pin `pin` (0 = INTA# ... 3 =
    /// INTD#) on global system interrupt `gsi`.
    public struct PCIRoute: Sendable, Equatable {
        public var device: UInt8
        public var pin: UInt8
        public var gsi: UInt32

        /// Device `device`'s pin `pin` wired to `gsi`.
        public init(device: UInt8, pin: UInt8, gsi: UInt32) {
            self.device = device
            self.pin = pin
            self.gsi = gsi
        }
    }

    /// The PCI host bridge of bus 0, reached through configuration mechanism #1.
    public struct PCIHostBridge: Sendable, Equatable {
        /// CONFIG_ADDRESS and CONFIG_DATA: 0xcf8, 8 ports.
        public var configurationPorts: (base: UInt16, count: UInt8)
        /// Where BARs are placed.
        public var memoryWindow: ClosedRange<UInt32>
        /// The INTx routes of the devices on the bus, listed in `_PRT`.
        public var routes: [PCIRoute]
        /// Where bus 0's memory-mapped configuration space (ECAM, 1 MiB) is, if the bridge
        /// has one: the MCFG table points there, and a motherboard resource reserves it.
        public var enhancedConfiguration: GuestAddress?

        /// A host bridge decoding `configurationPorts`, forwarding `memoryWindow` to its BARs,
        /// with `routes` for `_PRT`.
        public init(
            configurationPorts: (base: UInt16, count: UInt8),
            memoryWindow: ClosedRange<UInt32> = UInt32(Layout.pciMMIOWindow.rawValue)...UInt32(
                Layout.pciMMIOWindow.rawValue + Layout.pciMMIOWindowSize - 1),
            routes: [PCIRoute], enhancedConfiguration: GuestAddress? = nil
        ) {
            self.configurationPorts = configurationPorts
            self.memoryWindow = memoryWindow
            self.routes = routes
            self.enhancedConfiguration = enhancedConfiguration
        }

        /// Equal when the ports, the windows and the routes are (tuples are not Equatable).
        public static func == (lhs: PCIHostBridge, rhs: PCIHostBridge) -> Bool {
            lhs.configurationPorts == rhs.configurationPorts && lhs.memoryWindow == rhs.memoryWindow
                && lhs.routes == rhs.routes && lhs.enhancedConfiguration == rhs.enhancedConfiguration
        }
    }

    /// A virtio-mmio device (virtio v1.2, 4.2 "Virtio Over MMIO"), which Linux's
    /// virtio_mmio driver binds through ACPI by the ID "LNRO0005".
    public struct VirtioMMIODevice: Sendable, Equatable {
        public var address: GuestAddress
        public var size: UInt64
        public var gsi: UInt32
        public var trigger: ResourceDescriptor.InterruptTrigger

        /// A device whose registers are at `address` (`size` bytes) and whose interrupt is `gsi`.
        public init(
            address: GuestAddress, size: UInt64 = Layout.virtioMMIODeviceSize, gsi: UInt32,
            trigger: ResourceDescriptor.InterruptTrigger = .edge
        ) {
            self.address = address
            self.size = size
            self.gsi = gsi
            self.trigger = trigger
        }
    }

    /// A register whose write resets the machine: the FADT's RESET_REG, an I/O port.
    public struct ResetRegister: Sendable, Equatable {
        public var port: UInt16
        public var value: UInt8

        /// Writing `value` to I/O port `port` resets the machine.
        public init(port: UInt16, value: UInt8) {
            self.port = port
            self.value = value
        }
    }

    /// The sleep control and status registers of a hardware-reduced machine (ACPI 6.5,
    /// 4.8.3.7), each an I/O port, and the SLP_TYP value of soft off (S5), which the
    /// DSDT's `\_S5` object gives: how the guest powers the machine off.
    public struct SleepRegisters: Sendable, Equatable {
        public var controlPort: UInt16
        public var statusPort: UInt16
        public var softOffType: UInt8

        /// Registers at `controlPort` and `statusPort`; S5 is `softOffType`.
        public init(controlPort: UInt16, statusPort: UInt16, softOffType: UInt8) {
            self.controlPort = controlPort
            self.statusPort = statusPort
            self.softOffType = softOffType
        }
    }

    public var isaDevices: [ISADevice]
    public var pciHostBridge: PCIHostBridge?
    public var virtioMMIODevices: [VirtioMMIODevice]
    public var resetRegister: ResetRegister?
    public var sleepRegisters: SleepRegisters?
    /// The CMOS RAM index of the century, for the FADT's CENTURY field.
    public var cmosCenturyIndex: UInt8?

    /// A platform with the given devices; by default, none.
    public init(
        isaDevices: [ISADevice] = [], pciHostBridge: PCIHostBridge? = nil,
        virtioMMIODevices: [VirtioMMIODevice] = [], resetRegister: ResetRegister? = nil,
        sleepRegisters: SleepRegisters? = nil, cmosCenturyIndex: UInt8? = nil
    ) {
        self.isaDevices = isaDevices
        self.pciHostBridge = pciHostBridge
        self.virtioMMIODevices = virtioMMIODevices
        self.resetRegister = resetRegister
        self.sleepRegisters = sleepRegisters
        self.cmosCenturyIndex = cmosCenturyIndex
    }
}
