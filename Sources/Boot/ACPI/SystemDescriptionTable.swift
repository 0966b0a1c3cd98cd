/// The header every ACPI table except the RSDP begins with, and the checksum rule they
/// all share (ACPI 6.5, 5.2.6 "System Description Table Header"):
///
/// ```
///  offset  size  field
///   0       4    Signature ("APIC", "FACP", "DSDT", "XSDT")
///   4       4    Length of the whole table, header included
///   8       1    Revision of the table's layout
///   9       1    Checksum: all bytes of the table sum to zero (mod 256)
///  10       6    OEM ID
///  16       8    OEM Table ID
///  24       4    OEM Revision
///  28       4    Creator ID (the tool that made the table)
///  32       4    Creator Revision
///  36            the table's own fields
/// ```
enum SystemDescriptionTable {
    static let headerSize = 36

    enum Field {
        static let signature = 0
        static let length = 4
        static let revision = 8
        static let checksum = 9
        static let oemID = 10
        static let oemTableID = 16
        static let oemRevision = 24
        static let creatorID = 28
        static let creatorRevision = 32
    }

    /// Who made the tables, as the header's identification fields say.
    static let oemID = "SWVMM "
    static let oemTableID = "SWIFTVMM"
    static let oemRevision: UInt32 = 1
    static let creatorID = "SVMM"
    static let creatorRevision: UInt32 = 1

    /// A complete table: the header for `signature` and `revision`, then `body`, with the
    /// length and checksum filled in.
    static func build(signature: String, revision: UInt8, body: [UInt8]) -> [UInt8] {
        var table = ByteFields(count: headerSize)
        table.bytes += body
        table.writeASCII(signature, at: Field.signature, count: 4)
        table.write(UInt32(table.bytes.count), at: Field.length)
        table.write(revision, at: Field.revision)
        table.writeASCII(oemID, at: Field.oemID, count: 6)
        table.writeASCII(oemTableID, at: Field.oemTableID, count: 8)
        table.write(oemRevision, at: Field.oemRevision)
        table.writeASCII(creatorID, at: Field.creatorID, count: 4)
        table.write(creatorRevision, at: Field.creatorRevision)
        table.write(checksum(table.bytes), at: Field.checksum)
        return table.bytes
    }

    /// The byte that makes `bytes` (with that byte still zero) sum to zero.
    static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt8 {
        0 &- bytes.reduce(0, &+)
    }
}

extension ByteFields {
    /// Stores `text`'s ASCII bytes at `offset`, exactly `count` of them.
    mutating func writeASCII(_ text: String, at offset: Int, count: Int) {
        let characters = Array(text.utf8)
        precondition(characters.count == count, "'\(text)' must be \(count) ASCII characters")
        bytes.replaceSubrange(offset..<offset + count, with: characters)
    }
}
