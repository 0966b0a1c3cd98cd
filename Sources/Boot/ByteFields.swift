/// Little-endian fields in a byte array, read and written at offsets, bounds-checked.
///
/// Offsets into the kernel's structs come from the structs themselves
/// (`MemoryLayout<boot_params>.offset(of:)`), so the kernel's UAPI header stays the one
/// definition of where each field lives.
struct ByteFields {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    /// The integer at `offset`, or nil when it would run past the end.
    func read<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= bytes.count - size else { return nil }
        var value: T = 0
        for index in (0..<size).reversed() { value = value << 8 | T(bytes[offset + index]) }
        return value
    }

    /// Stores `value` at `offset`; the caller guarantees the field is inside the array.
    mutating func write<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset <= bytes.count - size, "field outside the buffer")
        for index in 0..<size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}
