/// Reads a fuzzer's bytes as the values a target needs. Past the end it answers zeros,
/// so every input, however short, is a complete run.
struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// A little-endian integer from the next `MemoryLayout<T>.size` bytes.
    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type = T.self) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(byte()) << (8 * index) }
        return value
    }

    mutating func bool() -> Bool { byte() & 1 != 0 }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func bytes(_ count: Int) -> [UInt8] {
        let taken = bytes.prefix(count)
        bytes = bytes.dropFirst(taken.count)
        return Array(taken)
    }

    /// Everything not read yet.
    mutating func rest() -> [UInt8] { bytes(bytes.count) }

    /// One of `options`, chosen by the next byte.
    mutating func choose<T>(_ options: [T]) -> T { options[Int(byte()) % options.count] }

    /// An access size: 1, 2, 4 or 8 bytes (at most `maximum`).
    mutating func accessSize(maximum: Int = 8) -> Int {
        choose([1, 2, 4, 8].filter { $0 <= maximum })
    }
}
