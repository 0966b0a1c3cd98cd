/// A guest physical address: where something is as the guest sees it, never a host pointer.
///
/// Arithmetic on guest addresses is checked: a guest can hand the VMM any 64-bit value
/// (a descriptor address, a length), and an overflow must become an error, not a wrap.
public struct GuestAddress: RawRepresentable, Hashable, Comparable, Sendable,
    CustomStringConvertible
{
    public var rawValue: UInt64

    /// The guest physical address `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The guest physical address `rawValue`.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// This address plus `offset`, or nil if the sum does not fit in 64 bits.
    public func adding(_ offset: UInt64) -> GuestAddress? {
        let (sum, overflow) = rawValue.addingReportingOverflow(offset)
        return overflow ? nil : GuestAddress(sum)
    }

    /// The distance from `other` up to this address, or nil if `other` is above it.
    public func offset(from other: GuestAddress) -> UInt64? {
        rawValue >= other.rawValue ? rawValue - other.rawValue : nil
    }

    /// This address rounded up to a multiple of `alignment` (a power of two), or nil on overflow.
    public func alignedUp(to alignment: UInt64) -> GuestAddress? {
        precondition(alignment.nonzeroBitCount == 1, "alignment must be a power of two")
        let (sum, overflow) = rawValue.addingReportingOverflow(alignment - 1)
        return overflow ? nil : GuestAddress(sum & ~(alignment - 1))
    }

    /// This address rounded down to a multiple of `alignment` (a power of two).
    public func alignedDown(to alignment: UInt64) -> GuestAddress {
        precondition(alignment.nonzeroBitCount == 1, "alignment must be a power of two")
        return GuestAddress(rawValue & ~(alignment - 1))
    }

    /// Lower in the guest physical address space.
    public static func < (lhs: GuestAddress, rhs: GuestAddress) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { "0x" + String(rawValue, radix: 16) }
}
