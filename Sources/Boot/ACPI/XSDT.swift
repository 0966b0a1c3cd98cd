import GuestMemory

/// The Extended System Description Table: the header, then the 64-bit address of every
/// other table but the DSDT (which the FADT points to) (ACPI 6.5, 5.2.8 "Extended System
/// Description Table (XSDT)").
enum XSDT {
    static let signature = "XSDT"
    static let revision: UInt8 = 1

    static func bytes(pointingAt tables: [GuestAddress]) -> [UInt8] {
        SystemDescriptionTable.build(
            signature: signature, revision: revision, body: tables.flatMap { ($0.rawValue).littleEndianBytes })
    }
}
