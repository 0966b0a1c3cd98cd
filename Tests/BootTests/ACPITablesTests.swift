import Foundation
import GuestMemory
import Testing
@testable import Boot

/// The tables as an OS finds them: a copy of the ACPI area, read by physical address.
struct ACPIArea {
    let base = Layout.acpiTables.rawValue
    var image = [UInt8](repeating: 0, count: Int(Layout.acpiTablesCapacity))

    init(_ tables: ACPITables) {
        for table in tables.tables {
            let start = Int(table.address.rawValue - base)
            image.replaceSubrange(start..<start + table.bytes.count, with: table.bytes)
        }
    }

    func bytes(at address: UInt64, count: Int) -> [UInt8] {
        Array(image[Int(address - base)..<Int(address - base) + count])
    }

    /// The table at `address`: its header says how long it is.
    func table(at address: UInt64) -> [UInt8] {
        bytes(at: address, count: Int(field(bytes(at: address, count: 8), 4, as: UInt32.self)))
    }
}

func sum(_ bytes: [UInt8]) -> UInt8 { bytes.reduce(0, &+) }
func signature(_ table: [UInt8]) -> String { String(decoding: table[0..<4], as: UTF8.self) }

/// Follows RSDP -> XSDT -> tables, checking each header, and returns them by signature.
func walk(_ tables: ACPITables) throws -> (area: ACPIArea, bySignature: [String: (address: UInt64, bytes: [UInt8])]) {
    let area = ACPIArea(tables)
    let rsdp = area.bytes(at: tables.rsdpAddress.rawValue, count: 36)
    let xsdtAddress: UInt64 = field(rsdp, 24)
    let xsdt = area.table(at: xsdtAddress)
    var found: [String: (UInt64, [UInt8])] = ["XSDT": (xsdtAddress, xsdt)]
    for index in 0..<(xsdt.count - 36) / 8 {
        let address: UInt64 = field(xsdt, 36 + 8 * index)
        let table = area.table(at: address)
        found[signature(table)] = (address, table)
    }
    if let fadt = found["FACP"]?.1 {
        let dsdtAddress: UInt64 = field(fadt, 140)
        found["DSDT"] = (dsdtAddress, area.table(at: dsdtAddress))
    }
    return (area, found)
}

/// The MADT's entries as (type, bytes).
func madtEntries(_ madt: [UInt8]) -> [(type: UInt8, bytes: [UInt8])] {
    var entries: [(UInt8, [UInt8])] = []
    var offset = 44
    while offset + 2 <= madt.count {
        let length = Int(madt[offset + 1])
        entries.append((madt[offset], Array(madt[offset..<offset + length])))
        offset += length
    }
    return entries
}

@Suite("ACPI tables, parsed back against the ACPI 6.5 layouts")
struct ACPITablesTests {
    @Test("ACPI 6.5 5.2.5.3: the RSDP is at 0xE0000, revision 2, with both checksums right and the XSDT's address")
    func rsdp() throws {
        let tables = try ACPITables.build(vcpuCount: 2)
        #expect(tables.rsdpAddress == Layout.acpiTables)
        let rsdp = ACPIArea(tables).bytes(at: tables.rsdpAddress.rawValue, count: 36)
        #expect(String(decoding: rsdp[0..<8], as: UTF8.self) == "RSD PTR ")
        #expect(sum(Array(rsdp[0..<20])) == 0)
        #expect(sum(rsdp) == 0)
        #expect(rsdp[15] == 2)
        #expect(field(rsdp, 16, as: UInt32.self) == 0)      // no RSDT
        #expect(field(rsdp, 20, as: UInt32.self) == 36)
        let xsdt: UInt64 = field(rsdp, 24)
        #expect(tables.tables.contains { $0.signature == "XSDT" && $0.address.rawValue == xsdt })
    }

    @Test("ACPI 6.5 5.2.6: every table's length is its size, its checksum sums to zero, and it lies in the reserved ACPI area")
    func headers() throws {
        let tables = try ACPITables.build(vcpuCount: 4, platform: .sample)
        let (_, found) = try walk(tables)
        #expect(Set(found.keys) == ["XSDT", "FACP", "APIC", "DSDT", "MCFG"])
        let revisions: [String: UInt8] = ["XSDT": 1, "FACP": 6, "APIC": 5, "DSDT": 2, "MCFG": 1]
        for (name, table) in found {
            #expect(Int(field(table.bytes, 4, as: UInt32.self)) == table.bytes.count, "\(name) length")
            #expect(sum(table.bytes) == 0, "\(name) checksum")
            #expect(table.bytes[8] == revisions[name], "\(name) revision")
            #expect(table.address % 8 == 0)
            #expect(String(decoding: table.bytes[10..<16], as: UTF8.self) == "SWVMM ")
        }
        let end = tables.tables.map { $0.address.rawValue + UInt64($0.bytes.count) }.max()!
        #expect(end <= Layout.acpiTables.rawValue + Layout.acpiTablesCapacity)
        // Below 1 MiB, above the EBDA: the e820 map's reserved hole.
        let reserved = E820Map(ramRegions: Layout.ramRegions(ramSize: 64 << 20)).entries.first { $0.type == .reserved }!
        #expect(reserved.start <= Layout.acpiTables.rawValue && end <= reserved.end)
    }

    @Test("ACPI 6.5 5.2.9: the FADT is 276 bytes, hardware-reduced, points at the DSDT twice, and names the i8042 as reset register")
    func fadt() throws {
        let tables = try ACPITables.build(vcpuCount: 1, platform: .sample)
        let (_, found) = try walk(tables)
        let fadt = try #require(found["FACP"]).bytes
        let dsdt = try #require(found["DSDT"])
        #expect(fadt.count == 276)
        #expect(UInt64(field(fadt, 40, as: UInt32.self)) == dsdt.address)
        #expect(field(fadt, 140, as: UInt64.self) == dsdt.address)
        let flags: UInt32 = field(fadt, 112)
        #expect(flags & (1 << 20) != 0)                      // HW_REDUCED_ACPI
        #expect(flags & (1 << 10) != 0)                      // RESET_REG_SUP
        let bootArchitecture: UInt16 = field(fadt, 109)
        #expect(bootArchitecture & 0b11 == 0b11)             // LEGACY_DEVICES, 8042
        #expect(bootArchitecture & (1 << 2) != 0)            // VGA not present
        #expect(bootArchitecture & (1 << 5) == 0)            // the CMOS RTC is present
        #expect(Array(fadt[116..<128]) == [1, 8, 0, 1, 0x64, 0, 0, 0, 0, 0, 0, 0])  // GAS: system I/O, 8 bits, port 0x64
        #expect(fadt[128] == 0xfe)
        #expect(fadt[108] == 0x32)                           // CENTURY
        #expect(fadt[131] == 5)                              // minor version
        #expect(field(fadt, 36, as: UInt32.self) == 0)       // no FACS
        #expect(field(fadt, 46, as: UInt16.self) == 0)       // no SCI
    }

    @Test("ACPI 6.5 4.8.3.7: the FADT's SLEEP_CONTROL_REG (offset 244) and SLEEP_STATUS_REG (256) are byte-wide I/O registers")
    func sleepRegisters() throws {
        let fadt = try #require(try walk(ACPITables.build(vcpuCount: 1, platform: .sample)).bySignature["FACP"]).bytes
        #expect(Array(fadt[244..<256]) == [1, 8, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0])  // system I/O, 8 bits, port 0x600
        #expect(Array(fadt[256..<268]) == [1, 8, 0, 1, 0x01, 0x06, 0, 0, 0, 0, 0, 0])  // port 0x601
        // Without sleep registers, both stay zero: Linux then offers no S5 (acpi_sleep_state_supported).
        let plain = try #require(try walk(ACPITables.build(vcpuCount: 1)).bySignature["FACP"]).bytes
        #expect(plain[244..<268].allSatisfy { $0 == 0 })
    }

    @Test("PCI Firmware 3.3 4.1.2: the MCFG lists one ECAM window, segment 0, buses 0-0, and is in the XSDT only with ECAM")
    func mcfg() throws {
        let (_, found) = try walk(ACPITables.build(vcpuCount: 1, platform: .sample))
        let mcfg = try #require(found["MCFG"]).bytes
        #expect(mcfg.count == 36 + 8 + 16)
        #expect(sum(mcfg) == 0)
        #expect(field(mcfg, 44, as: UInt64.self) == Layout.pciECAM.rawValue)
        #expect(field(mcfg, 52, as: UInt16.self) == 0)        // PCI segment group
        #expect(mcfg[54] == 0 && mcfg[55] == 0)               // start and end bus
        #expect(try walk(ACPITables.build(vcpuCount: 1)).bySignature["MCFG"] == nil)
        // The window is reserved in the e820 map, as Linux checks of an MCFG window.
        let map = E820Map(ramRegions: Layout.ramRegions(ramSize: 64 << 20))
        #expect(map.entries.contains { $0.type == .reserved && $0.start == Layout.pciECAM.rawValue && $0.size == Layout.pciECAMSize })
    }

    @Test("ACPI 6.5 5.2.12: the MADT lists one enabled local APIC per vCPU, the I/O APIC at GSI 0 and LINT1 as NMI")
    func madt() throws {
        let tables = try ACPITables.build(vcpuCount: 4)
        let madt = try #require(try walk(tables).bySignature["APIC"]).bytes
        #expect(field(madt, 36, as: UInt32.self) == 0xfee0_0000)
        #expect(field(madt, 40, as: UInt32.self) & 1 == 1)   // PCAT_COMPAT
        let entries = madtEntries(madt)
        let processors = entries.filter { $0.type == 0 }
        #expect(processors.map { $0.bytes[3] } == [0, 1, 2, 3])   // APIC IDs
        #expect(processors.map { $0.bytes[2] } == [0, 1, 2, 3])   // processor UIDs
        #expect(processors.allSatisfy { $0.bytes.count == 8 && field($0.bytes, 4, as: UInt32.self) & 1 == 1 })
        let ioAPICs = entries.filter { $0.type == 1 }
        #expect(ioAPICs.count == 1)
        #expect(field(ioAPICs[0].bytes, 4, as: UInt32.self) == 0xfec0_0000)
        #expect(field(ioAPICs[0].bytes, 8, as: UInt32.self) == 0)
        let nmi = try #require(entries.first { $0.type == 4 })
        #expect(nmi.bytes == [4, 6, 0xff, 0, 0, 1])
        #expect(!entries.contains { $0.type == 9 })
        // The entries fill the table exactly.
        #expect(44 + entries.map(\.bytes.count).reduce(0, +) == madt.count)
    }

    @Test("ACPI 6.5 5.2.12.5: IRQ 0 is GSI 0 (KVM routes the PIT to pin 0), never GSI 2; virtio-mmio lines are edge-triggered")
    func interruptOverrides() throws {
        let tables = try ACPITables.build(vcpuCount: 1, platform: .sample)
        let entries = madtEntries(try #require(try walk(tables).bySignature["APIC"]).bytes)
        let overrides = entries.filter { $0.type == 2 }.map {
            (irq: $0.bytes[3], gsi: field($0.bytes, 4, as: UInt32.self), flags: field($0.bytes, 8, as: UInt16.self))
        }
        #expect(overrides.allSatisfy { $0.irq == $0.gsi })
        #expect(overrides.contains { $0.irq == 0 && $0.gsi == 0 })
        #expect(!overrides.contains { $0.gsi == 2 })
        let virtio = try #require(overrides.first { $0.irq == 5 })
        #expect(virtio.flags == 0b0101)                      // edge-triggered, active high
        #expect(overrides.count == 2)
    }

    @Test("ACPI 6.5 5.2.12.12: APIC IDs from 255 on get Processor Local x2APIC entries, and an x2APIC NMI entry")
    func x2APICEntries() throws {
        let tables = try ACPITables.build(vcpuCount: 300)
        let entries = madtEntries(try #require(try walk(tables).bySignature["APIC"]).bytes)
        let xapic = entries.filter { $0.type == 0 }.map { $0.bytes[3] }
        let x2apic = entries.filter { $0.type == 9 }
        #expect(xapic.count == 255 && xapic.last == 254)
        #expect(x2apic.map { field($0.bytes, 4, as: UInt32.self) } == Array(255..<300).map(UInt32.init))
        #expect(x2apic.allSatisfy { $0.bytes.count == 16 && field($0.bytes, 8, as: UInt32.self) & 1 == 1 })
        #expect(x2apic.allSatisfy { field($0.bytes, 12, as: UInt32.self) == field($0.bytes, 4, as: UInt32.self) })
        #expect(entries.filter { $0.type == 10 }.map(\.bytes) == [[10, 12, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]])
    }

    @Test("the tables for more vCPUs than fit in the reserved area are refused, naming --cpus")
    func tooManyVCPUs() {
        #expect(throws: BootError.self) { try ACPITables.build(vcpuCount: 5000) }
        do {
            _ = try ACPITables.build(vcpuCount: 5000)
        } catch {
            #expect(error.description.hasPrefix("--cpus 5000: the ACPI tables"))
            #expect(error.concernsMachine)
        }
    }

    @Test("a boot plan writes the tables and points boot_params.acpi_rsdp_addr (offset 0x070) at the RSDP")
    func bootPlan() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let kernel = try [UInt8](Data(contentsOf: root.appendingPathComponent("guest-images/testguest/testguest.elf")))
        let plan = try BootPlan.plan(kernel: kernel, initrdSize: nil, commandLine: "", ramSize: 64 << 20, vcpuCount: 3)
        let zeroPage = try #require(plan.writes.first { $0.what == "zero page" })
        #expect(field(Array(zeroPage.bytes), 0x70, as: UInt64.self) == Layout.acpiTables.rawValue)
        for table in plan.acpiTables.tables {
            #expect(plan.writes.contains { $0.address == table.address && Array($0.bytes) == table.bytes })
        }
        let madt = try #require(plan.acpiTables.tables.first { $0.signature == "APIC" })
        #expect(madtEntries(madt.bytes).filter { $0.type == 0 }.count == 3)
    }
}

extension ACPIPlatform {
    /// A platform with one of everything.
    static let sample = ACPIPlatform(
        isaDevices: [.init(name: "COM1", hardwareID: "PNP0501", uniqueID: 1, resources: [.ioPorts(base: 0x3f8, length: 8), .isaIRQ(4)])],
        pciHostBridge: .init(configurationPorts: (0xcf8, 8), routes: [
            .init(device: 1, pin: 0, gsi: 16), .init(device: 2, pin: 0, gsi: 17), .init(device: 2, pin: 1, gsi: 18),
        ], enhancedConfiguration: Layout.pciECAM),
        virtioMMIODevices: [.init(address: Layout.virtioMMIODevices, gsi: 5), .init(address: GuestAddress(0xd000_1000), gsi: 16)],
        resetRegister: .init(port: 0x64, value: 0xfe),
        sleepRegisters: .init(controlPort: 0x600, statusPort: 0x601, softOffType: 5),
        cmosCenturyIndex: 0x32)
}
