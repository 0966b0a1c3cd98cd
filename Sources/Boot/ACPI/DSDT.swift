import GuestMemory

/// The Differentiated System Description Table (ACPI 6.5, 5.2.11.1): the devices an OS
/// cannot find by probing, in AML. SwiftVMM's declares, under `\_SB` (the system bus):
///
/// ```
///  Device (PCI0)   _HID PNP0A03 (PCI host bridge), _CRS: bus 0, ports 0xcf8-0xcff,
///                  the port windows around them, the BAR window; _PRT: INTx -> GSI
///  Device (COM1)   ISA devices the machine has: _HID, _UID, _CRS (ports, IRQ)
///  Device (VR00)   _HID LNRO0005 (virtio-mmio), _UID, _CRS: registers, interrupt
///  Device (MRES)   _HID PNP0C02 (motherboard resources), _CRS: the PCI ECAM window
/// ```
///
/// and, at the root, `Name (_S5, Package { SLP_TYP, SLP_TYP, 0, 0 })`: the sleep type
/// that powers the machine off through the FADT's sleep control register (ACPI 6.5, 7.4.2
/// "\_Sx (System States)"; the two values are for PM1a and PM1b, which a hardware-reduced
/// machine has not, and the OS passes the first one on).
///
/// With ACPI, Linux on x86 finds PCI root buses only here (drivers/acpi/pci_root.c binds
/// PNP0A03 devices), so a machine with PCI must describe its host bridge.
enum DSDT {
    static let signature = "DSDT"
    /// Revision 2: AML integers are 64 bits wide (5.2.11.1).
    static let revision: UInt8 = 2
    /// The virtio-mmio device ID that Linux's virtio_mmio driver matches
    /// (drivers/virtio/virtio_mmio.c, virtio_mmio_acpi_match).
    static let virtioMMIOHardwareID = "LNRO0005"
    static let pciHostBridgeID = "PNP0A03"
    /// Resources the motherboard decodes that no device's _CRS claims: Linux checks that
    /// an MCFG window is reserved here (arch/x86/pci/mmconfig-shared.c, is_acpi_reserved).
    static let motherboardResourcesID = "PNP0C02"

    static func bytes(platform: ACPIPlatform) -> [UInt8] {
        var body: [UInt8] = []
        for definition in definitions(platform: platform) { definition.encode(into: &body) }
        return SystemDescriptionTable.build(signature: signature, revision: revision, body: body)
    }

    static func definitions(platform: ACPIPlatform) -> [AML] {
        var devices: [AML] = []
        if let bridge = platform.pciHostBridge {
            devices.append(pciHostBridge(bridge))
            if let ecam = bridge.enhancedConfiguration {
                devices.append(.device("MRES", [
                    .name("_HID", .eisaID(motherboardResourcesID)),
                    .name("_UID", .integer(0)),
                    .name("_CRS", .resourceTemplate([
                        .memory32Fixed(base: UInt32(ecam.rawValue), length: UInt32(Layout.pciECAMSize)),
                    ])),
                ]))
            }
        }
        for device in platform.isaDevices {
            devices.append(.device(device.name, [
                .name("_HID", .eisaID(device.hardwareID)),
                .name("_UID", .integer(device.uniqueID)),
                .name("_CRS", .resourceTemplate(device.resources)),
            ]))
        }
        for (index, device) in platform.virtioMMIODevices.enumerated() {
            devices.append(.device(virtioMMIOName(index), [
                .name("_HID", .string(virtioMMIOHardwareID)),
                .name("_UID", .integer(UInt64(index))),
                .name("_CRS", .resourceTemplate([
                    .memory32Fixed(base: UInt32(device.address.rawValue), length: UInt32(device.size)),
                    .interrupt(gsi: device.gsi, trigger: device.trigger),
                ])),
            ]))
        }
        var definitions: [AML] = [.scope("\\_SB", devices)]
        if let sleep = platform.sleepRegisters {
            let type = AML.integer(UInt64(sleep.softOffType))
            definitions.append(.name("_S5_", .package([type, type, .integer(0), .integer(0)])))
        }
        return definitions
    }

    /// "VR00", "VR01", ... "VRFF": the n-th virtio-mmio device's AML name.
    static func virtioMMIOName(_ index: Int) -> String {
        precondition(index < 256, "at most 256 virtio-mmio devices")
        let hex = String(index, radix: 16, uppercase: true)
        return "VR" + (hex.count < 2 ? "0" + hex : hex)
    }

    /// The host bridge of bus 0 (PCI Firmware Specification 3.3, 4.1.1; ACPI 6.5, 6.2.13
    /// "_PRT (PCI Routing Table)").
    static func pciHostBridge(_ bridge: ACPIPlatform.PCIHostBridge) -> AML {
        let ports = bridge.configurationPorts
        let lastPort = ports.base + UInt16(ports.count) - 1
        let resources: [ResourceDescriptor] = [
            .busNumbers(0...0),
            .ioPorts(base: ports.base, length: ports.count),
            .ioWindow(0...ports.base - 1),
            .ioWindow(lastPort + 1...UInt16.max),
            .memoryWindow(bridge.memoryWindow),
        ]
        // Each entry: Package { address (device << 16 | 0xffff: any function), pin,
        // source 0 (no link device: the last field is a GSI), GSI }.
        let routes: [AML] = bridge.routes.map { route in
            .package([
                .integer(UInt64(route.device) << 16 | 0xffff), .integer(UInt64(route.pin)),
                .integer(0), .integer(UInt64(route.gsi)),
            ])
        }
        return .device("PCI0", [
            .name("_HID", .eisaID(pciHostBridgeID)),
            .name("_UID", .integer(0)),
            .name("_SEG", .integer(0)),
            .name("_BBN", .integer(0)),
            .name("_CRS", .resourceTemplate(resources)),
            .name("_PRT", .package(routes)),
        ])
    }
}
