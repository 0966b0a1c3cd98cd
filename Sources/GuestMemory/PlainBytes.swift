/// Plain C structs (`virtio_blk_config`, `virtio_blk_outhdr`) as the bytes a guest sees,
/// and back: device register files and requests are laid out as the kernel's UAPI
/// structs, little-endian like the x86-64 host. The one place outside guest memory
/// access where a value's bytes are reinterpreted.
public enum PlainBytes {
    /// The bytes of `value`, in memory order.
    public static func of<T: BitwiseCopyable>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// A `T` from the first bytes of `bytes`, or nil if there are too few.
    public static func load<T: BitwiseCopyable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        guard bytes.count >= MemoryLayout<T>.size else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    /// `size` bytes of `bytes` from `offset`, little-endian; bytes past the end read as 0.
    public static func read(_ bytes: [UInt8], offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<size {
            let (position, overflow) = offset.addingReportingOverflow(UInt64(index))
            guard !overflow, position < UInt64(bytes.count) else { continue }
            value |= UInt64(bytes[Int(position)]) << (8 * UInt64(index))
        }
        return value
    }
}
