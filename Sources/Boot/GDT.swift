import GuestMemory

/// The boot GDT: flat segments for the 64-bit entry. Selectors follow the boot
/// protocol: __BOOT_CS is 0x10 and __BOOT_DS is 0x18 (Documentation/arch/x86/boot.rst,
/// "64-bit BOOT PROTOCOL": "__BOOT_CS(0x10) ... __BOOT_DS(0x18)").
public enum GDT {
    /// Access bytes (SDM vol. 3A, 3.4.5): present, DPL 0, and the type.
    static let codeAccess: UInt8 = 0x9b  // P | S | execute/read, accessed
    static let dataAccess: UInt8 = 0x93  // P | S | read/write, accessed
    static let tssAccess: UInt8 = 0x8b   // P | busy 64-bit TSS (system segment)
    /// Flag nibbles: G (4 KiB granularity) with L (64-bit code) or D/B (32-bit data).
    static let codeFlags: UInt8 = 0xa    // G | L
    static let dataFlags: UInt8 = 0xc    // G | D/B
    static let tssFlags: UInt8 = 0x8     // G
    static let flatLimit: UInt32 = 0xf_ffff

    public static let codeSelector: UInt16 = 0x10
    public static let dataSelector: UInt16 = 0x18
    public static let tssSelector: UInt16 = 0x20

    /// The entries, indexed by selector / 8: two nulls, code, data, and the TSS, whose
    /// descriptor takes two slots in long mode: a system descriptor is 16 bytes, the
    /// second 8 holding base bits 63-32, zero here (SDM vol. 3A, 8.2.3 "TSS Descriptor in
    /// 64-bit mode"). TR is loaded from KVM_SET_SREGS, not from this table, but a guest
    /// that reads the table finds a well-formed descriptor.
    static let entries: [UInt64] = [
        0,
        0,
        SegmentDescriptor.encode(base: 0, limit: flatLimit, access: codeAccess, flags: codeFlags),
        SegmentDescriptor.encode(base: 0, limit: flatLimit, access: dataAccess, flags: dataFlags),
        SegmentDescriptor.encode(base: 0, limit: flatLimit, access: tssAccess, flags: tssFlags),
        0,  // the TSS descriptor's upper half: base 63-32, reserved
    ]

    /// GDTR.limit: the table's size minus one.
    public static var limit: UInt16 { UInt16(entries.count * 8 - 1) }

    public static var bytes: [UInt8] {
        var fields = ByteFields(count: entries.count * 8)
        for (index, entry) in entries.enumerated() { fields.write(entry, at: index * 8) }
        return fields.bytes
    }

    /// The entry a selector names (its index is the selector divided by 8: SDM vol. 3A,
    /// 3.4.2 "Segment Selectors"), decoded for KVM's segment registers.
    public static func descriptor(_ selector: UInt16) -> SegmentDescriptor {
        SegmentDescriptor(selector: selector, encoded: entries[Int(selector) / 8])
    }
}
