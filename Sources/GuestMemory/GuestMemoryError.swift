import SystemErrors

/// Why an access to guest memory was refused.
public enum GuestMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The range [address, address + length) is not entirely inside one RAM region.
    case outOfBounds(address: GuestAddress, length: UInt64)
    /// address + length does not fit in 64 bits.
    case overflow(address: GuestAddress, length: UInt64)
    /// An atomic access at an address not aligned to its size.
    case misaligned(address: GuestAddress, alignment: Int)
    /// The host could not reserve the mapping (mmap failed).
    case mappingFailed(size: UInt64, errno: Errno)
    /// The requested layout is not usable (empty, overlapping or unaligned regions).
    case invalidLayout(String)

    public var description: String {
        switch self {
        case .outOfBounds(let address, let length):
            return "guest range \(address)+0x\(String(length, radix: 16)) is outside guest RAM"
        case .overflow(let address, let length):
            return "guest range \(address)+0x\(String(length, radix: 16)) overflows 64 bits"
        case .misaligned(let address, let alignment):
            return "guest address \(address) is not \(alignment)-byte aligned for an atomic access"
        case .mappingFailed(let size, let errno):
            return "cannot map \(size >> 20) MiB of guest RAM: \(errno)"
        case .invalidLayout(let why):
            return "invalid guest memory layout: \(why)"
        }
    }
}
