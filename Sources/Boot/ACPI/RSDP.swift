import GuestMemory

/// The Root System Description Pointer: where an OS starts looking for ACPI tables
/// (ACPI 6.5, 5.2.5.3 "Root System Description Pointer (RSDP) Structure"):
///
/// ```
///  offset  size  field
///   0       8    Signature "RSD PTR "
///   8       1    Checksum of the first 20 bytes (the ACPI 1.0 structure)
///   9       6    OEM ID
///  15       1    Revision: 2 for ACPI 2.0 and later (this layout)
///  16       4    RsdtAddress: 0, SwiftVMM builds no RSDT
///  20       4    Length of the structure: 36
///  24       8    XsdtAddress
///  32       1    Extended checksum of all 36 bytes
///  33       3    Reserved
/// ```
enum RSDP {
    static let size = 36
    static let revision: UInt8 = 2
    static let signature = "RSD PTR "
    /// The ACPI 1.0 part the first checksum covers.
    static let version1Size = 20

    enum Field {
        static let signature = 0
        static let checksum = 8
        static let oemID = 9
        static let revision = 15
        static let rsdtAddress = 16
        static let length = 20
        static let xsdtAddress = 24
        static let extendedChecksum = 32
    }

    static func bytes(xsdt: GuestAddress) -> [UInt8] {
        var fields = ByteFields(count: size)
        fields.writeASCII(signature, at: Field.signature, count: 8)
        fields.writeASCII(SystemDescriptionTable.oemID, at: Field.oemID, count: 6)
        fields.write(revision, at: Field.revision)
        fields.write(UInt32(size), at: Field.length)
        fields.write(xsdt.rawValue, at: Field.xsdtAddress)
        fields.write(SystemDescriptionTable.checksum(fields.bytes[..<version1Size]), at: Field.checksum)
        fields.write(SystemDescriptionTable.checksum(fields.bytes), at: Field.extendedChecksum)
        return fields.bytes
    }
}
