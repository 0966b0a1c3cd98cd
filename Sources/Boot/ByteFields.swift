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
    mutating func write<T: FixedWidthInteger & BitwiseCopyable>(_ value: T, at offset: Int) {
        write(CollectionOfOne(value), at: offset)
    }

    /// Stores `values` one after another from `offset` (a table of entries); the caller
    /// guarantees they fit. One store each through the array's span (bounds-checked), not
    /// a store per byte: page tables are 2,000 entries at every start.
    mutating func write<T: FixedWidthInteger & BitwiseCopyable>(_ values: some Collection<T>, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset <= bytes.count - size * values.count, "fields outside the buffer")
        var span = bytes.mutableSpan
        var fields = span.mutableBytes
        for (index, value) in values.enumerated() {
            fields.storeBytes(of: value.littleEndian, toByteOffset: offset + index * size, as: T.self)
        }
    }
}
