/// A segment descriptor: as the GDT stores it (8 bytes), and decoded into the fields a
/// segment register's hidden part holds (Intel SDM vol. 3A, 3.4.5 "Segment Descriptors").
public struct SegmentDescriptor: Sendable, Equatable {
    public let selector: UInt16
    public let base: UInt64
    /// The limit in bytes (already scaled by 4 KiB when G is set).
    public let limit: UInt32
    /// Type field (bits 8-11 of the access byte): 0xb = execute/read code, accessed;
    /// 0x3 = read/write data, accessed; 0xb with S clear = busy 64-bit TSS.
    public let type: UInt8
    /// S: a code or data segment (true) or a system segment such as a TSS (false).
    public let s: Bool
    public let dpl: UInt8
    public let present: Bool
    public let avl: Bool
    /// L: 64-bit code segment.
    public let l: Bool
    /// D/B: 32-bit default operand size (must be clear when L is set).
    public let db: Bool
    /// G: limit counted in 4 KiB units.
    public let g: Bool

    /// Decodes an 8-byte GDT entry found at `selector`.
    public init(selector: UInt16, encoded: UInt64) {
        self.selector = selector
        base = (encoded >> 16) & 0xff_ffff | ((encoded >> 56) & 0xff) << 24
        let rawLimit = UInt32(encoded & 0xffff) | UInt32((encoded >> 48) & 0xf) << 16
        let access = UInt8((encoded >> 40) & 0xff)
        let flags = UInt8((encoded >> 52) & 0xf)
        type = access & 0xf
        s = access & 0x10 != 0
        dpl = (access >> 5) & 0x3
        present = access & 0x80 != 0
        avl = flags & 0x1 != 0
        l = flags & 0x2 != 0
        db = flags & 0x4 != 0
        g = flags & 0x8 != 0
        limit = g ? rawLimit << 12 | 0xfff : rawLimit
    }

    /// Encodes a GDT entry from its parts: `access` is the byte holding P, DPL, S and
    /// type; `flags` the nibble holding G, D/B, L and AVL.
    static func encode(base: UInt32, limit: UInt32, access: UInt8, flags: UInt8) -> UInt64 {
        UInt64(limit & 0xffff)
            | UInt64(base & 0xff_ffff) << 16
            | UInt64(access) << 40
            | UInt64((limit >> 16) & 0xf) << 48
            | UInt64(flags & 0xf) << 52
            | UInt64((base >> 24) & 0xff) << 56
    }
}
