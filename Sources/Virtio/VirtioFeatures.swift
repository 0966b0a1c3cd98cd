import CUAPI

/// Feature bits a device offers and a driver accepts (virtio v1.2, 2.2 "Feature Bits";
/// the reserved, transport-level bits are in 6 "Reserved Feature Bits"). Bit numbers come
/// from the kernel's UAPI headers, which use the specification's names.
public struct VirtioFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    /// The features whose bits are set in `rawValue` (bit n is feature n, 2.2).
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    init(bit: Int32) { self.rawValue = 1 << UInt64(bit) }

    // Reserved feature bits (virtio v1.2, 6).
    /// VIRTIO_F_VERSION_1: the device follows virtio 1.x, not the legacy interface.
    /// A device without it is "legacy"; SwiftVMM's devices require it of drivers.
    public static let version1 = VirtioFeatures(bit: VIRTIO_F_VERSION_1)
    /// VIRTIO_F_RING_INDIRECT_DESC: descriptors may point at tables of descriptors.
    public static let indirectDescriptors = VirtioFeatures(bit: VIRTIO_RING_F_INDIRECT_DESC)
    /// VIRTIO_F_RING_EVENT_IDX: notifications are suppressed by ring indices
    /// (`used_event`, `avail_event`) rather than flags.
    public static let eventIndex = VirtioFeatures(bit: VIRTIO_RING_F_EVENT_IDX)

    // Block device feature bits (virtio v1.2, 5.2.3).
    /// VIRTIO_BLK_F_SEG_MAX: `seg_max` says how many data segments a request may have.
    public static let blockSegmentMaximum = VirtioFeatures(bit: VIRTIO_BLK_F_SEG_MAX)
    /// VIRTIO_BLK_F_RO: the disk is read-only.
    public static let blockReadOnly = VirtioFeatures(bit: VIRTIO_BLK_F_RO)
    /// VIRTIO_BLK_F_BLK_SIZE: `blk_size` gives the disk's block size.
    public static let blockSize = VirtioFeatures(bit: VIRTIO_BLK_F_BLK_SIZE)
    /// VIRTIO_BLK_F_FLUSH: the device executes VIRTIO_BLK_T_FLUSH.
    public static let blockFlush = VirtioFeatures(bit: VIRTIO_BLK_F_FLUSH)

    /// 32 bits of the set, as transports expose them: word 0 is bits 0-31, word 1 bits 32-63.
    public func word(_ index: UInt32) -> UInt32 {
        index < 2 ? UInt32(truncatingIfNeeded: rawValue >> (32 * UInt64(index))) : 0
    }

    /// This set with word `index` replaced by `value`; words past 1 hold no bits.
    public func replacingWord(_ index: UInt32, with value: UInt32) -> VirtioFeatures {
        guard index < 2 else { return self }
        let shift = 32 * UInt64(index)
        return VirtioFeatures(rawValue: rawValue & ~(0xffff_ffff << shift) | UInt64(value) << shift)
    }

    public var description: String { "0x" + String(rawValue, radix: 16) }
}
