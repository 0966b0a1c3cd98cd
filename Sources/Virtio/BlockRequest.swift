import CUAPI
import GuestMemory

/// A block request, parsed from a descriptor chain and checked before anything is done
/// (virtio v1.2, 5.2.6): its header, type, sector range, data and the read-only flag.
/// Executing it (`BlockQueueHandler`) then only moves data.
///
/// The chain is read as a byte stream over its buffers, as 2.6.4 "Message Framing" asks:
/// the device-readable bytes are `struct virtio_blk_req`'s header (le32 type, le32
/// reserved, le64 sector) followed by the data of a write; the device-writable bytes are
/// the data of a read followed by the one-byte status. How the driver split them into
/// buffers does not matter.
struct BlockRequest {
    /// A piece of guest memory holding request data.
    struct Segment: Equatable {
        let address: GuestAddress
        let count: Int
    }

    /// What the request asks for, with the guest memory it moves data through.
    enum Operation {
        /// VIRTIO_BLK_T_IN: the disk from byte `offset` into `segments`, in order.
        case read(offset: UInt64, segments: [Segment])
        /// VIRTIO_BLK_T_OUT: `segments`, in order, onto the disk from byte `offset`.
        case write(offset: UInt64, segments: [Segment])
        /// VIRTIO_BLK_T_FLUSH: every completed write on stable storage.
        case flush
        /// VIRTIO_BLK_T_GET_ID: the serial into `segments` (at most 20 bytes of them).
        case getID(segments: [Segment])
    }

    static let headerSize = UInt64(MemoryLayout<virtio_blk_outhdr>.size)

    /// VIRTIO_BLK_T_*, as the header says.
    let type: UInt32
    /// The first 512-byte sector, as the header says.
    let sector: UInt64
    let operation: Operation
    /// Bytes of data the request moves (for GET_ID, the room the driver gave).
    let dataBytes: UInt64

    /// Where the status byte goes: the chain's last device-writable byte (5.2.6), or nil
    /// when it has none, and the device has nowhere to answer.
    static func statusAddress(in chain: DescriptorChain) -> GuestAddress? {
        guard let last = chain.buffers.last(where: { $0.isWritable && $0.length > 0 }) else { return nil }
        return GuestAddress(last.address.rawValue + UInt64(last.length) - 1)
    }

    /// Reads the request in `chain` (which has a status byte, and whose header is
    /// `header`) for a disk of `capacity` sectors, and checks it: throws the reason it
    /// cannot be executed, which carries the status the driver gets.
    static func parse(
        _ chain: DescriptorChain, header: virtio_blk_outhdr, capacity: UInt64, readOnly: Bool
    ) throws(BlockRequestError) -> BlockRequest {
        let sector = header.sector
        // `type` is a le32 (5.2.6): any of its 2^32 values may arrive.
        switch Int32(bitPattern: header.type) {
        case VIRTIO_BLK_T_IN:
            let length = chain.writableLength - 1  // all but the status byte
            let offset = try range(sector: sector, length: length, capacity: capacity)
            return BlockRequest(type: header.type, sector: sector,
                                operation: .read(offset: offset, segments: segments(of: chain, writable: true, skip: 0, length: length)),
                                dataBytes: length)
        case VIRTIO_BLK_T_OUT:
            guard !readOnly else { throw .readOnly }
            let length = chain.readableLength - headerSize
            let offset = try range(sector: sector, length: length, capacity: capacity)
            return BlockRequest(type: header.type, sector: sector,
                                operation: .write(offset: offset, segments: segments(of: chain, writable: false, skip: headerSize, length: length)),
                                dataBytes: length)
        case VIRTIO_BLK_T_FLUSH:
            return BlockRequest(type: header.type, sector: sector, operation: .flush, dataBytes: 0)
        case VIRTIO_BLK_T_GET_ID:
            let length = min(UInt64(VirtioBlock.serialLength), chain.writableLength - 1)
            return BlockRequest(type: header.type, sector: sector,
                                operation: .getID(segments: segments(of: chain, writable: true, skip: 0, length: length)),
                                dataBytes: length)
        default:
            throw .unsupportedType(header.type)
        }
    }

    /// The header, copied out of guest memory once.
    static func header(of chain: DescriptorChain, memory: GuestMemory) throws(BlockRequestError) -> virtio_blk_outhdr {
        // A device-writable header leaves the readable part too short: the device does
        // not read the buffers it writes.
        guard chain.readableLength >= headerSize else { throw .headerTooShort(readableBytes: chain.readableLength) }
        var bytes: [UInt8] = []
        do {
            // As drivers lay it out: the whole header in the first buffer, read in one piece.
            if let first = chain.buffers.first, !first.isWritable, UInt64(first.length) >= headerSize {
                return try memory.readValue(virtio_blk_outhdr.self, at: first.address)
            }
            for segment in segments(of: chain, writable: false, skip: 0, length: headerSize) {
                bytes += try memory.readBytes(at: segment.address, count: segment.count)
            }
        } catch {
            throw .guestMemory(error)
        }
        guard let header = PlainBytes.load(virtio_blk_outhdr.self, from: bytes) else {
            throw .headerTooShort(readableBytes: UInt64(bytes.count))
        }
        return header
    }

    /// The byte offset of `length` bytes of data from `sector`, checked: whole sectors
    /// (5.2.6.2: data is "a multiple of 512 bytes") inside the disk.
    private static func range(sector: UInt64, length: UInt64, capacity: UInt64) throws(BlockRequestError) -> UInt64 {
        guard length % VirtioBlock.sectorSize == 0 else { throw .notWholeSectors(bytes: length) }
        let (sectors, _) = length.dividedReportingOverflow(by: VirtioBlock.sectorSize)
        let (end, overflow) = sector.addingReportingOverflow(sectors)
        guard !overflow, end <= capacity else { throw .pastEnd(sector: sector, sectors: sectors, capacity: capacity) }
        return sector * VirtioBlock.sectorSize
    }

    /// The pieces of the chain's readable (or writable) bytes [skip, skip + length).
    private static func segments(of chain: DescriptorChain, writable: Bool, skip: UInt64, length: UInt64) -> [Segment] {
        var segments: [Segment] = []
        segments.reserveCapacity(chain.buffers.count)  // one allocation, not one per append
        var toSkip = skip, toTake = length
        for buffer in chain.buffers where buffer.isWritable == writable && toTake > 0 {
            var available = UInt64(buffer.length)
            if toSkip >= available {
                toSkip -= available
                continue
            }
            let start = toSkip
            available -= toSkip
            toSkip = 0
            let take = min(available, toTake)
            segments.append(Segment(address: GuestAddress(buffer.address.rawValue + start), count: Int(take)))
            toTake -= take
        }
        return segments
    }
}
