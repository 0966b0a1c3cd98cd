import Boot
import Devices
import GuestMemory
import Virtio

/// Where the machine's virtio devices go, decided before KVM exists: the ACPI tables and
/// the kernel command line describe them.
///
/// ```
///  transport  device                       registers                        interrupt
///  pci        00:0n.0 (n = 1, 2, ...)      BAR 0 at pciMMIOWindow +         MSI-X, or INTA# on
///                                          (n - 1) * 32 KiB                  pciInterrupts[(n-1) % 8]
///  mmio       virtio-mmio device i         virtioMMIODevices + i * 4 KiB    virtioMMIOInterrupts[i]
///                                          (i + 1 with the boot timer)
/// ```
/// The PCI host bridge (00:00.0) and configuration mechanism #1 are there whether or not
/// there are virtio-pci devices.
struct VirtioPlacement: Sendable {
    /// One device's place.
    enum Place: Sendable, Equatable {
        /// PCI function `device`:0 on bus 0, BAR 0 at `barAddress`, INTA# on `gsi`; the
        /// `index`th virtio-pci device.
        case pci(index: Int, device: UInt8, barAddress: UInt32, gsi: UInt32)
        /// The `index`th virtio-mmio device: its registers at `base`, its interrupt `gsi`.
        case mmio(index: Int, base: GuestAddress, gsi: UInt32)
    }

    /// The places, in the order the devices were given.
    let places: [Place]

    /// The most virtio-pci devices: PCI bus 0 less the host bridge, and the BARs that fit
    /// in the MMIO window.
    static var pciLimit: Int {
        min(PCIBus.deviceCount - 1, Int(Layout.pciMMIOWindowSize / UInt64(VirtioPCILayout.barSize)))
    }

    /// Places devices on `transports`, in order; virtio-mmio devices from slot
    /// `firstMMIOSlot` of `Layout.virtioMMIODevices` (the slots before it hold something
    /// else: the boot timer). Throws when there are more of either kind than the machine
    /// has room (or interrupt lines) for.
    static func place(_ transports: [VirtioTransport], firstMMIOSlot: Int = 0) throws(ConfigurationError) -> VirtioPlacement {
        let pciCount = transports.filter { $0 == .pci }.count
        let mmioCount = transports.count - pciCount
        guard pciCount <= pciLimit else { throw .tooManyPCIDevices(pciCount, limit: pciLimit) }
        guard mmioCount <= Layout.virtioMMIOInterrupts.count else {
            throw .tooManyMMIODevices(mmioCount, limit: Layout.virtioMMIOInterrupts.count)
        }
        var pci = 0, mmio = 0
        let places = transports.map { transport -> Place in
            switch transport {
            case .pci:
                defer { pci += 1 }
                return .pci(index: pci, device: UInt8(pci + 1),
                            barAddress: UInt32(Layout.pciMMIOWindow.rawValue) + UInt32(pci) * VirtioPCILayout.barSize,
                            gsi: Layout.pciInterrupts[pci % Layout.pciInterrupts.count])
            case .mmio:
                defer { mmio += 1 }
                return .mmio(index: mmio,
                             base: GuestAddress(Layout.virtioMMIODevices.rawValue
                                 + UInt64(firstMMIOSlot + mmio) * Layout.virtioMMIODeviceSize),
                             gsi: Layout.virtioMMIOInterrupts[mmio])
            }
        }
        return VirtioPlacement(places: places)
    }

    /// The machine's devices as its ACPI tables describe them: the PCI host bridge,
    /// always there, with an INTA# route per virtio-pci device, and each virtio-mmio
    /// device, whose interrupt is a pulse (`VirtioMMIODevice`), so edge-triggered.
    var acpiPlatform: ACPIPlatform {
        var routes: [ACPIPlatform.PCIRoute] = [], mmio: [ACPIPlatform.VirtioMMIODevice] = []
        for place in places {
            switch place {
            case .pci(_, let device, _, let gsi): routes.append(.init(device: device, pin: 0, gsi: gsi))
            case .mmio(_, let base, let gsi): mmio.append(.init(address: base, gsi: gsi, trigger: .edge))
            }
        }
        return MachinePlatform.acpi(
            pciHostBridge: .init(
                configurationPorts: (UInt16(LegacyPorts.pciConfiguration.base), UInt8(LegacyPorts.pciConfiguration.length)),
                routes: routes, enhancedConfiguration: Layout.pciECAM),
            virtioMMIODevices: mmio)
    }

    /// What the kernel command line must say for the guest to find the virtio-mmio
    /// devices (Documentation/admin-guide/kernel-parameters.txt, virtio_mmio.device).
    var commandLineOptions: [String] {
        places.compactMap { place in
            guard case .mmio(_, let base, let gsi) = place else { return nil }
            return "virtio_mmio.device=\(Layout.virtioMMIODeviceSize >> 10)K@0x\(String(base.rawValue, radix: 16)):\(gsi)"
        }
    }
}
