/// The devices a machine placed that firmware tables must describe to the guest: the PCI
/// host bridge and how its interrupts are wired, and the virtio-mmio devices. The
/// machine builds this value; the ACPI builder turns it into the DSDT (a PCI root bridge
/// with `_CRS` and `_PRT`, a device per virtio-mmio window).
public struct PlatformDevices: Sendable, Equatable {
    /// PCI bus 0 behind configuration mechanism #1.
    public struct PCIHostBridge: Sendable, Equatable {
        /// The bus number: 0.
        public let bus: UInt8
        /// The ports of configuration mechanism #1 (0xcf8, 8 ports).
        public let configurationPorts: ClosedRange<UInt16>
        /// The memory window BARs are placed in.
        public let mmioWindow: GuestAddress
        public let mmioWindowSize: UInt64

        public init(bus: UInt8, configurationPorts: ClosedRange<UInt16>, mmioWindow: GuestAddress, mmioWindowSize: UInt64) {
            self.bus = bus
            self.configurationPorts = configurationPorts
            self.mmioWindow = mmioWindow
            self.mmioWindowSize = mmioWindowSize
        }
    }

    /// One INTx routing entry (an ACPI `_PRT` entry): pin `pin` (0 = INTA#) of device
    /// `device` on bus 0 drives global system interrupt `gsi`, level-triggered, active low.
    public struct PCIInterruptRoute: Sendable, Equatable {
        public let device: UInt8
        public let pin: UInt8
        public let gsi: UInt32

        public init(device: UInt8, pin: UInt8, gsi: UInt32) {
            self.device = device
            self.pin = pin
            self.gsi = gsi
        }
    }

    /// A virtio-mmio device: its register window and interrupt (edge-triggered).
    public struct VirtioMMIODevice: Sendable, Equatable {
        public let base: GuestAddress
        public let size: UInt64
        public let gsi: UInt32

        public init(base: GuestAddress, size: UInt64, gsi: UInt32) {
            self.base = base
            self.size = size
            self.gsi = gsi
        }
    }

    public let pciHostBridge: PCIHostBridge
    public let pciInterruptRoutes: [PCIInterruptRoute]
    public let virtioMMIO: [VirtioMMIODevice]

    public init(pciHostBridge: PCIHostBridge, pciInterruptRoutes: [PCIInterruptRoute], virtioMMIO: [VirtioMMIODevice]) {
        self.pciHostBridge = pciHostBridge
        self.pciInterruptRoutes = pciInterruptRoutes
        self.virtioMMIO = virtioMMIO
    }
}
