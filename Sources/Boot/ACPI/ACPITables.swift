import GuestMemory

/// The ACPI tables of a machine and where they go: the RSDP first at `Layout.acpiTables`
/// (where an OS that scans the BIOS area finds it), then the DSDT, FADT, MADT and XSDT,
/// each on a 16-byte boundary.
///
/// ```
///  RSDP --XsdtAddress--> XSDT --> FADT --X_DSDT--> DSDT
///                             \-> MADT
///                             \-> MCFG (with a PCI host bridge that has ECAM)
/// ```
///
/// The area lies in the e820 map's reserved range below 1 MiB (0x9fc00-0xfffff), so the
/// tables stay where they are for as long as the guest runs: SwiftVMM does not mark them
/// ACPI-reclaimable (e820 type 3), because the RSDP must stay findable in the BIOS area,
/// and an OS that reclaims the range would reclaim the RSDP with it. Like everything
/// else in Boot, building the tables writes no guest memory: they are `writes` of a plan.
public struct ACPITables: Sendable {
    /// One table and where it goes.
    public struct Table: Sendable {
        public let signature: String
        public let address: GuestAddress
        public let bytes: [UInt8]
    }

    /// Tables start on 16-byte boundaries (the RSDP must; the others need 8).
    static let alignment: UInt64 = 16

    /// Every table, the RSDP first.
    public let tables: [Table]

    /// Where the RSDP is: what `boot_params.acpi_rsdp_addr` says.
    public var rsdpAddress: GuestAddress { tables[0].address }

    /// The tables as writes of a boot plan.
    public var writes: [BootPlan.MemoryWrite] {
        tables.map { BootPlan.MemoryWrite(address: $0.address, bytes: $0.bytes[...], what: "ACPI \($0.signature)") }
    }

    /// The tables for `vcpuCount` vCPUs (APIC IDs 0 to vcpuCount - 1) and `platform`'s
    /// devices. Throws when they do not fit in `Layout.acpiTablesCapacity`.
    public static func build(vcpuCount: Int, platform: ACPIPlatform = ACPIPlatform()) throws(BootError) -> ACPITables {
        precondition(vcpuCount >= 1, "a machine has at least one vCPU")
        // The MADT's processor entries alone must fit: checked before anything is built,
        // so `--cpus 100000000` is an error at once, not minutes of building tables.
        let processorEntries = MADT.processorEntriesSize(vcpuCount: vcpuCount)
        guard processorEntries <= Layout.acpiTablesCapacity else {
            throw .acpiTablesTooLarge(vcpuCount: vcpuCount, size: processorEntries, capacity: Layout.acpiTablesCapacity)
        }
        var tables: [Table] = []
        var next = Layout.acpiTables.rawValue + UInt64(RSDP.size)
        func place(_ signature: String, _ bytes: [UInt8]) -> GuestAddress {
            let address = GuestAddress(next).alignedUp(to: alignment)!
            tables.append(Table(signature: signature, address: address, bytes: bytes))
            next = address.rawValue + UInt64(bytes.count)
            return address
        }
        let dsdt = place(DSDT.signature, DSDT.bytes(platform: platform))
        let fadt = place(FADT.signature, FADT.bytes(dsdt: dsdt, platform: platform))
        let madt = place(MADT.signature, MADT.bytes(vcpuCount: vcpuCount, platform: platform))
        var described = [fadt, madt]
        if let ecam = platform.pciHostBridge?.enhancedConfiguration {
            described.append(place(MCFG.signature, MCFG.bytes(base: ecam)))
        }
        let xsdt = place(XSDT.signature, XSDT.bytes(pointingAt: described))
        tables.insert(Table(signature: "RSDP", address: Layout.acpiTables, bytes: RSDP.bytes(xsdt: xsdt)), at: 0)

        let size = next - Layout.acpiTables.rawValue
        guard size <= Layout.acpiTablesCapacity else {
            throw .acpiTablesTooLarge(vcpuCount: vcpuCount, size: size, capacity: Layout.acpiTablesCapacity)
        }
        return ACPITables(tables: tables)
    }
}
