/// An Ethernet MAC address (IEEE 802-2014, 8.2), six bytes, written as `52:54:00:12:34:56`.
public struct MACAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The six bytes, first transmitted first.
    public let bytes: [UInt8]

    /// The address `text` names (six hexadecimal bytes, `:` between them), or nil.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...2).contains(part.count), let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// The address with these six bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6)
        self.bytes = bytes
    }

    /// The I/G bit (bit 0 of the first byte): a group address, which no network card may
    /// have as its own.
    public var isMulticast: Bool { bytes[0] & 1 != 0 }

    /// A locally administered unicast address (first byte `0x02`: U/L bit set, I/G
    /// clear) that depends only on `seed`: the same machine configuration gets the same
    /// address on every run, so the guest's network configuration (DHCP leases,
    /// neighbour tables) survives a restart. The other five bytes are the 64-bit FNV-1a
    /// hash of the seed, folded.
    public static func stable(seed: String) -> MACAddress {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let folded = hash ^ (hash >> 40)
        return MACAddress(bytes: [0x02] + (0..<5).map { UInt8(truncatingIfNeeded: folded >> (8 * UInt64($0))) })
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
