import GuestMemory

/// Writes inputs in the form `FuzzInput` reads them: how each target describes its seeds,
/// so the seed corpus says what it does in code rather than in opaque bytes.
struct FuzzInputBuilder {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        bytes += value.littleEndianBytes
    }

    mutating func bool(_ value: Bool) { byte(value ? 1 : 0) }

    mutating func append(_ more: [UInt8]) { bytes += more }

    /// The byte that makes `FuzzInput.choose` pick `index`.
    mutating func choice(_ index: Int) { byte(UInt8(index)) }

    /// The byte that makes `FuzzInput.accessSize(maximum:)` pick `size`.
    mutating func accessSize(_ size: Int, maximum: Int = 8) {
        choice([1, 2, 4, 8].filter { $0 <= maximum }.firstIndex(of: size)!)
    }
}

/// A small guest memory image: little-endian values placed at addresses, for seeds
/// that lay out rings and requests as a driver would.
struct MemoryImage {
    private(set) var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at address: Int) {
        let end = address + MemoryLayout<T>.size
        if bytes.count < end { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        bytes.replaceSubrange(address..<end, with: value.littleEndianBytes)
    }

    /// Descriptor `index` of the table at `table` (virtio v1.2, 2.7.5: le64 addr, le32 len,
    /// le16 flags, le16 next).
    mutating func descriptor(table: Int, index: Int, address: UInt64, length: UInt32, flags: UInt16, next: UInt16 = 0) {
        let base = table + 16 * index
        put(address, at: base)
        put(length, at: base + 8)
        put(flags, at: base + 12)
        put(next, at: base + 14)
    }

    /// A virtio-blk request header (5.2.6: le32 type, le32 reserved, le64 sector).
    mutating func blockHeader(at address: Int, type: UInt32, sector: UInt64) {
        put(type, at: address)
        put(sector, at: address + 8)
    }
}
