import CUAPI
import GuestMemory

/// A descriptor chain the driver made available: the buffers of one request, walked and
/// checked (virtio v1.2, 2.7.5 "The Virtqueue Descriptor Table").
///
/// Every descriptor is copied out of guest memory once and checked before use: its
/// buffer lies inside guest RAM, its index inside its table, the chain is no longer than
/// the queue (so a loop ends), and device-readable buffers come before device-writable
/// ones. The device then reads and writes the buffers only through this value.
public struct DescriptorChain: Sendable, Equatable {
    /// One guest buffer of the chain.
    public struct Buffer: Sendable, Equatable {
        public let address: GuestAddress
        public let length: UInt32
        /// VIRTQ_DESC_F_WRITE: the device writes it (otherwise it only reads it).
        public let isWritable: Bool
    }

    /// The index of the chain's first descriptor, which the used ring reports back.
    public let head: UInt16
    /// The buffers, device-readable ones first.
    public let buffers: [Buffer]

    /// Total bytes the device may read, and may write, added up as the chain is walked.
    public let readableLength: UInt64
    public let writableLength: UInt64

    // VIRTQ_DESC_F_* (2.7.5).
    static let next = UInt16(VRING_DESC_F_NEXT)
    static let write = UInt16(VRING_DESC_F_WRITE)
    static let indirect = UInt16(VRING_DESC_F_INDIRECT)
    /// Bytes per descriptor: `struct virtq_desc` (le64 addr, le32 len, le16 flags, le16 next).
    static let descriptorSize = UInt64(MemoryLayout<vring_desc>.size)

    /// Walks the chain starting at `head` in the table at `table` of `queueSize` entries.
    ///
    /// - Parameter indirectAllowed: whether VIRTIO_F_INDIRECT_DESC was negotiated.
    static func walk(
        head: UInt16, table: GuestAddress, queueSize: UInt16, indirectAllowed: Bool, memory: GuestMemory
    ) throws(VirtqueueError) -> DescriptorChain {
        var buffers: [Buffer] = []
        // Room for a block request's usual three buffers (header, data, status) at once,
        // not grown one append at a time: one allocation per request, not three.
        buffers.reserveCapacity(3)
        var readable: UInt64 = 0, writable: UInt64 = 0
        var seenWritable = false
        // 2.7.5.3.1: "The driver MUST NOT create a descriptor chain longer than the Queue
        // Size of the device", indirect descriptors included. Counting every descriptor
        // visited against that bound is what makes a looping chain end.
        var budget = Int(queueSize)

        func accept(_ descriptor: vring_desc) throws(VirtqueueError) {
            let address = GuestAddress(descriptor.addr)
            let length = descriptor.len
            guard memory.contains(address, length: UInt64(length)) else {
                throw .bufferOutsideRAM(address: address, length: length)
            }
            let isWritable = descriptor.flags & write != 0
            if isWritable { seenWritable = true } else if seenWritable { throw .readableAfterWritable }
            if isWritable { writable += UInt64(length) } else { readable += UInt64(length) }
            guard readable + writable <= UInt64(UInt32.max) else { throw .chainTooLarge }
            buffers.append(Buffer(address: address, length: length, isWritable: isWritable))
        }

        func load(_ index: UInt16, from base: GuestAddress, count: UInt64) throws(VirtqueueError) -> vring_desc {
            guard UInt64(index) < count else { throw .descriptorIndexOutOfRange(index) }
            budget -= 1
            guard budget >= 0 else { throw .chainTooLong }
            // Cannot overflow: the table was checked to lie in RAM.
            let address = GuestAddress(base.rawValue + UInt64(index) * descriptorSize)
            do { return try memory.readValue(vring_desc.self, at: address) } catch { throw .memory(error) }
        }

        var index = head
        while true {
            let descriptor = try load(index, from: table, count: UInt64(queueSize))
            if descriptor.flags & indirect != 0 {
                try walkIndirect(descriptor, allowed: indirectAllowed, load: load, accept: accept, memory: memory)
                break
            }
            try accept(descriptor)
            guard descriptor.flags & next != 0 else { break }
            index = descriptor.next
        }
        return DescriptorChain(head: head, buffers: buffers, readableLength: readable, writableLength: writable)
    }

    /// Walks the table an indirect descriptor points at (2.7.5.3): a chain of its own,
    /// starting at entry 0, which may not point at further tables.
    private static func walkIndirect(
        _ descriptor: vring_desc, allowed: Bool,
        load: (UInt16, GuestAddress, UInt64) throws(VirtqueueError) -> vring_desc,
        accept: (vring_desc) throws(VirtqueueError) -> Void,
        memory: GuestMemory
    ) throws(VirtqueueError) {
        guard allowed else { throw .invalidIndirect("VIRTIO_F_INDIRECT_DESC was not negotiated") }
        guard descriptor.flags & next == 0 else { throw .invalidIndirect("both INDIRECT and NEXT are set") }
        let length = UInt64(descriptor.len)
        guard length > 0, length % descriptorSize == 0 else {
            throw .invalidIndirect("table length \(length) is not a whole number of descriptors")
        }
        let table = GuestAddress(descriptor.addr)
        guard memory.contains(table, length: length) else {
            throw .bufferOutsideRAM(address: table, length: descriptor.len)
        }
        let count = length / descriptorSize
        var index: UInt16 = 0
        while true {
            let entry = try load(index, table, count)
            guard entry.flags & indirect == 0 else { throw .invalidIndirect("an indirect table points at another") }
            try accept(entry)
            guard entry.flags & next != 0 else { return }
            index = entry.next
        }
    }
}
