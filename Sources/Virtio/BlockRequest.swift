import CUAPI
import GuestMemory

/// A descriptor chain read as a block request (virtio v1.2, 5.2.6): the device-readable
/// bytes begin with `struct virtio_blk_req`'s header (le32 type, le32 reserved, le64
/// sector) and go on with the data of a write; the device-writable bytes hold the data
/// of a read and end with the one-byte status.
///
/// The device must not depend on how the driver split these into buffers (2.6.4
/// "Message Framing"), so the request is a byte stream over the chain's buffers.
struct BlockRequest {
    /// A piece of guest memory holding request data.
    struct Segment: Equatable {
        let address: GuestAddress
        let count: Int
    }

    static let headerSize = UInt64(MemoryLayout<virtio_blk_outhdr>.size)

    let chain: DescriptorChain

    /// Where the status byte goes: the last device-writable byte, if there is one.
    var statusAddress: GuestAddress? {
        guard let last = chain.buffers.last(where: { $0.isWritable && $0.length > 0 }) else { return nil }
        return GuestAddress(last.address.rawValue + UInt64(last.length) - 1)
    }

    /// The header, copied out once; nil when the readable bytes are too few to hold it
    /// (a device-writable header, say: the device does not read writable buffers).
    func header(memory: GuestMemory) -> virtio_blk_outhdr? {
        guard chain.readableLength >= Self.headerSize else { return nil }
        // As drivers lay it out: the whole header in the first buffer, read in one piece.
        if let first = chain.buffers.first, !first.isWritable, UInt64(first.length) >= Self.headerSize {
            return try? memory.readValue(virtio_blk_outhdr.self, at: first.address)
        }
        var bytes: [UInt8] = []
        for segment in segments(writable: false, skip: 0, length: Self.headerSize) {
            guard let piece = try? memory.readBytes(at: segment.address, count: segment.count) else { return nil }
            bytes += piece
        }
        return PlainBytes.load(virtio_blk_outhdr.self, from: bytes)
    }

    /// Bytes of data: after the header for a write, before the status for a read.
    func dataLength(toGuest: Bool) -> UInt64 {
        toGuest ? chain.writableLength - 1 : chain.readableLength - Self.headerSize
    }

    /// The data's guest memory, in order.
    func dataSegments(toGuest: Bool) -> [Segment] {
        toGuest
            ? segments(writable: true, skip: 0, length: dataLength(toGuest: true))
            : segments(writable: false, skip: Self.headerSize, length: dataLength(toGuest: false))
    }

    /// Copies `bytes` to the start of the device-writable data; false if they do not fit.
    func copy(_ bytes: [UInt8], toGuest memory: GuestMemory) -> Bool {
        var remaining = bytes[...]
        for segment in segments(writable: true, skip: 0, length: UInt64(bytes.count)) {
            guard (try? memory.write(bytes: remaining.prefix(segment.count), at: segment.address)) != nil else { return false }
            remaining = remaining.dropFirst(segment.count)
        }
        return remaining.isEmpty
    }

    /// The pieces of the readable (or writable) bytes [skip, skip + length).
    private func segments(writable: Bool, skip: UInt64, length: UInt64) -> [Segment] {
        var segments: [Segment] = []
        segments.reserveCapacity(chain.buffers.count)  // one allocation, not one per append
        var toSkip = skip, toTake = length
        for buffer in chain.buffers where buffer.isWritable == writable && toTake > 0 {
            var start: UInt64 = 0, available = UInt64(buffer.length)
            if toSkip >= available { toSkip -= available; continue }
            start = toSkip
            available -= toSkip
            toSkip = 0
            let take = min(available, toTake)
            segments.append(Segment(address: GuestAddress(buffer.address.rawValue + start), count: Int(take)))
            toTake -= take
        }
        return segments
    }
}
