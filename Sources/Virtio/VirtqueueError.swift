import GuestMemory

/// Why a virtqueue cannot be used: the driver broke the ring's rules. Each of these is
/// the guest's fault, never the VMM's; the device answers it by setting
/// DEVICE_NEEDS_RESET and touching the queue no more (virtio v1.2, 2.1.2).
public enum VirtqueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The queue's size is zero, above the maximum, or not a power of two (2.7).
    case invalidSize(UInt16)
    /// A ring is not entirely in guest RAM, or is misaligned (2.7, table "Virtqueue Part
    /// Alignment").
    case ringOutsideRAM(part: String, address: GuestAddress)
    /// The used ring, which the device writes, overlaps a part the driver writes (2.7).
    case ringsOverlap(part: String, usedRing: GuestAddress)
    /// The available index moved further ahead than the queue has entries (2.7.6).
    case availableIndexJumped(from: UInt16, to: UInt16)
    /// A ring entry or `next` field names a descriptor past the table's end (2.7.5).
    case descriptorIndexOutOfRange(UInt16)
    /// A chain has more descriptors than the queue size: a loop (2.7.5.3.1, 2.7.5.2).
    case chainTooLong
    /// A chain's lengths add up past 2^32 bytes (2.7.5.2).
    case chainTooLarge
    /// A buffer is not entirely in guest RAM, or its end overflows.
    case bufferOutsideRAM(address: GuestAddress, length: UInt32)
    /// A device-readable buffer follows a device-writable one (2.7.4.2).
    case readableAfterWritable
    /// VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC, together with NEXT, inside an
    /// indirect table, or with a length that is not a whole number of descriptors (2.7.5.3.1).
    case invalidIndirect(String)
    /// Guest memory refused an access the checks above should have caught.
    case memory(GuestMemoryError)

    public var description: String {
        switch self {
        case .invalidSize(let size): return "queue size \(size) is not a power of two up to the maximum"
        case .ringOutsideRAM(let part, let address): return "\(part) at \(address) is not in guest RAM or misaligned"
        case .ringsOverlap(let part, let usedRing): return "used ring at \(usedRing) overlaps the \(part)"
        case .availableIndexJumped(let from, let to): return "available index jumped from \(from) to \(to)"
        case .descriptorIndexOutOfRange(let index): return "descriptor index \(index) is past the table"
        case .chainTooLong: return "descriptor chain longer than the queue (a loop?)"
        case .chainTooLarge: return "descriptor chain larger than 4 GiB"
        case .bufferOutsideRAM(let address, let length): return "buffer \(address)+\(length) is not in guest RAM"
        case .readableAfterWritable: return "device-readable descriptor after a device-writable one"
        case .invalidIndirect(let why): return "invalid indirect descriptor: \(why)"
        case .memory(let error): return error.description
        }
    }
}
