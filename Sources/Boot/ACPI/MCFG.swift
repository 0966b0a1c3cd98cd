import GuestMemory

/// The PCI Express memory-mapped configuration space table, "MCFG" (PCI Firmware
/// Specification 3.3, 4.1.2, Tables 4-2 and 4-3): where each PCI segment's ECAM window
/// is and which buses it covers. SwiftVMM's has one entry: segment 0, bus 0.
enum MCFG {
    static let signature = "MCFG"
    static let revision: UInt8 = 1
    /// Eight reserved bytes after the header, then one 16-byte entry per window.
    static let reservedSize = 8
    static let entrySize = 16

    /// Byte offsets within an entry (Table 4-3).
    enum Entry {
        static let baseAddress = 0
        static let segment = 8
        static let startBus = 10
        static let endBus = 11
    }

    /// The table for an ECAM window at `base` covering bus 0 of segment 0.
    static func bytes(base: GuestAddress) -> [UInt8] {
        var fields = ByteFields(count: reservedSize + entrySize)
        fields.write(base.rawValue, at: reservedSize + Entry.baseAddress)
        fields.write(UInt16(0), at: reservedSize + Entry.segment)
        fields.write(UInt8(0), at: reservedSize + Entry.startBus)
        fields.write(UInt8(0), at: reservedSize + Entry.endBus)
        return SystemDescriptionTable.build(signature: signature, revision: revision, body: fields.bytes)
    }
}
