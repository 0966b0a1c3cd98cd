import GuestMemory
import Testing
@testable import Boot

/// Finds the value of `Name(name, ...)` among `terms`.
func named(_ name: String, in terms: [AML]) -> AML? {
    for case .name(name, let value) in terms { return value }
    return nil
}

/// The devices in `\_SB`, by name.
func systemBusDevices(_ terms: [AML]) -> [String: [AML]] {
    var devices: [String: [AML]] = [:]
    for case .scope("\\_SB", let body) in terms {
        for case .device(let name, let contents) in body { devices[name] = contents }
    }
    return devices
}

@Suite("DSDT: the devices in AML, decoded back")
struct DSDTTests {
    func decodedDSDT(_ platform: ACPIPlatform) throws -> [String: [AML]] {
        let tables = try ACPITables.build(vcpuCount: 1, platform: platform)
        let dsdt = try #require(tables.tables.first { $0.signature == "DSDT" }).bytes
        #expect(sum(dsdt) == 0)
        return systemBusDevices(try AMLDecoder.decodeTermList(Array(dsdt[36...])))
    }

    @Test("an empty platform has an empty \\_SB scope: no PCI host bridge that is not there")
    func empty() throws {
        #expect(try decodedDSDT(ACPIPlatform()).isEmpty)
    }

    @Test("PCI Firmware 3.3 / ACPI 6.5 6.2.13: PCI0 is a PNP0A03 bridge of bus 0 with conf1 ports, port windows, the BAR window and a _PRT")
    func pciHostBridge() throws {
        let pci = try #require(try decodedDSDT(.sample)["PCI0"])
        #expect(named("_HID", in: pci) == .integer(0x030a_d041))
        #expect(named("_BBN", in: pci) == .integer(0))
        guard case .buffer(let crs)? = named("_CRS", in: pci), let items = ResourceDecoder.items(crs) else {
            Issue.record("PCI0 has no well-formed _CRS")
            return
        }
        // WordBusNumber 0-0; IO 0xcf8 x8; WordIO 0-0xcf7 and 0xd00-0xffff; DWordMemory over the BAR window.
        #expect(items.map(\.tag) == [0x88, 0x47, 0x88, 0x88, 0x87, 0x79])
        #expect(items[0].body[0] == 2 && field(items[0].body, 5, as: UInt16.self) == 0 && field(items[0].body, 7, as: UInt16.self) == 0)
        #expect(field(items[1].body, 1, as: UInt16.self) == 0xcf8 && items[1].body[6] == 8)
        #expect(field(items[2].body, 5, as: UInt16.self) == 0 && field(items[2].body, 7, as: UInt16.self) == 0xcf7)
        #expect(field(items[3].body, 5, as: UInt16.self) == 0xd00 && field(items[3].body, 7, as: UInt16.self) == 0xffff)
        #expect(UInt64(field(items[4].body, 7, as: UInt32.self)) == Layout.pciMMIOWindow.rawValue)
        #expect(UInt64(field(items[4].body, 19, as: UInt32.self)) == Layout.pciMMIOWindowSize)
        #expect(named("_PRT", in: pci) == .package([
            .package([.integer(0x1_ffff), .integer(0), .integer(0), .integer(16)]),
            .package([.integer(0x2_ffff), .integer(0), .integer(0), .integer(17)]),
            .package([.integer(0x2_ffff), .integer(1), .integer(0), .integer(18)]),
        ]))
    }

    @Test("virtio-mmio devices are LNRO0005 with their register page and interrupt; ISA devices keep their _HID and _CRS")
    func devices() throws {
        let devices = try decodedDSDT(.sample)
        #expect(Set(devices.keys) == ["PCI0", "MRES", "COM1", "VR00", "VR01"])
        let first = try #require(devices["VR00"])
        #expect(named("_HID", in: first) == .string("LNRO0005"))
        #expect(named("_UID", in: first) == .integer(0))
        #expect(named("_UID", in: try #require(devices["VR01"])) == .integer(1))
        #expect(named("_CRS", in: first) == .resourceTemplate([
            .memory32Fixed(base: 0xd000_0000, length: 0x1000), .interrupt(gsi: 5, trigger: .edge),
        ]))
        let com1 = try #require(devices["COM1"])
        #expect(named("_HID", in: com1) == .integer(0x0105_d041))
        #expect(named("_CRS", in: com1) == .resourceTemplate([.ioPorts(base: 0x3f8, length: 8), .isaIRQ(4)]))
    }

    @Test("ACPI 6.5 7.4.2: \\_S5 gives the soft-off sleep type twice, at the root, only with sleep registers")
    func softOff() throws {
        func root(_ platform: ACPIPlatform) throws -> [AML] {
            let tables = try ACPITables.build(vcpuCount: 1, platform: platform)
            let dsdt = try #require(tables.tables.first { $0.signature == "DSDT" }).bytes
            return try AMLDecoder.decodeTermList(Array(dsdt[36...]))
        }
        let decoded = try root(.sample)
        #expect(named("_S5", in: decoded) == .package([.integer(5), .integer(5), .integer(0), .integer(0)]))
        #expect(named("_S5", in: try root(ACPIPlatform())) == nil)
    }

    @Test("the PCI ECAM window is a PNP0C02 motherboard resource, as Linux wants of an MCFG window")
    func motherboardResources() throws {
        let resources = try #require(try decodedDSDT(.sample)["MRES"])
        #expect(named("_HID", in: resources) == .integer(0x020c_d041))
        #expect(named("_CRS", in: resources) == .resourceTemplate([
            .memory32Fixed(base: UInt32(Layout.pciECAM.rawValue), length: UInt32(Layout.pciECAMSize)),
        ]))
    }
}
