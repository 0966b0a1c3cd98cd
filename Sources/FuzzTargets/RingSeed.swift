/// A driver's virtqueue with five virtio-blk requests in it, as seeds lay it out in
/// guest memory: IN, OUT, FLUSH and GET_ID chains, and an IN through an indirect table
/// (virtio v1.2, 2.7.5 and 5.2.6).
enum RingSeed {
    static let queueSize: UInt16 = 16
    static let table = 0x1000
    static let available = 0x2000
    static let used = 0x3000
    static let data = 0x4000
    static let indirectTable = 0x5000
    /// The requests' status bytes, one after another.
    static let statusBytes = data + 0x400
    static let requests = 5

    // VIRTQ_DESC_F_* and VIRTIO_BLK_T_*.
    static let next: UInt16 = 1, writable: UInt16 = 2, indirect: UInt16 = 4
    static let typeIn: UInt32 = 0, typeOut: UInt32 = 1, typeFlush: UInt32 = 4, typeGetID: UInt32 = 8

    static var memory: MemoryImage {
        var image = MemoryImage()
        let status = UInt64(statusBytes)
        // IN, sector 1: header, 512 bytes to fill, status.
        image.blockHeader(at: data, type: typeIn, sector: 1)
        image.descriptor(table: table, index: 0, address: UInt64(data), length: 16, flags: next, next: 1)
        image.descriptor(table: table, index: 1, address: UInt64(data + 0x100), length: 512, flags: writable | next, next: 2)
        image.descriptor(table: table, index: 2, address: status, length: 1, flags: writable)
        // OUT, sector 2.
        image.blockHeader(at: data + 0x10, type: typeOut, sector: 2)
        image.descriptor(table: table, index: 3, address: UInt64(data + 0x10), length: 16, flags: next, next: 4)
        image.descriptor(table: table, index: 4, address: UInt64(data + 0x500), length: 512, flags: next, next: 5)
        image.descriptor(table: table, index: 5, address: status + 1, length: 1, flags: writable)
        // FLUSH.
        image.blockHeader(at: data + 0x20, type: typeFlush, sector: 0)
        image.descriptor(table: table, index: 6, address: UInt64(data + 0x20), length: 16, flags: next, next: 7)
        image.descriptor(table: table, index: 7, address: status + 2, length: 1, flags: writable)
        // GET_ID: 20 bytes of serial.
        image.blockHeader(at: data + 0x30, type: typeGetID, sector: 0)
        image.descriptor(table: table, index: 8, address: UInt64(data + 0x30), length: 16, flags: next, next: 9)
        image.descriptor(table: table, index: 9, address: UInt64(data + 0x800), length: 20, flags: writable | next, next: 10)
        image.descriptor(table: table, index: 10, address: status + 3, length: 1, flags: writable)
        // IN, sector 0, through an indirect table of three descriptors.
        image.blockHeader(at: data + 0x40, type: typeIn, sector: 0)
        image.descriptor(table: table, index: 11, address: UInt64(indirectTable), length: 48, flags: indirect)
        image.descriptor(table: indirectTable, index: 0, address: UInt64(data + 0x40), length: 16, flags: next, next: 1)
        image.descriptor(table: indirectTable, index: 1, address: UInt64(data + 0x900), length: 512, flags: writable | next, next: 2)
        image.descriptor(table: indirectTable, index: 2, address: status + 4, length: 1, flags: writable)
        // Status bytes the device must overwrite (VIRTIO_BLK_S_OK is 0).
        for index in 0..<requests { image.put(UInt8(0xff), at: Int(status) + index) }
        // The available ring: flags 0, idx 5, the five heads.
        image.put(UInt16(5), at: available + 2)
        for (slot, head) in [0, 3, 6, 8, 11].enumerated() { image.put(UInt16(head), at: available + 4 + 2 * slot) }
        image.put(UInt16(0), at: used + 4 + 8 * Int(queueSize))  // avail_event
        return image
    }

    /// The queue configuration as `VirtqueueTarget.queue(from:memory:)` reads it, then the
    /// memory image.
    static func queueInput(indirect: Bool, eventIndex: Bool) -> [UInt8] {
        var builder = FuzzInputBuilder()
        builder.bool(true)
        builder.byte(UInt8(queueSize.trailingZeroBitCount))  // size = 1 << 4
        for address in [table, available, used] {
            builder.byte(0)  // "inside RAM"
            builder.integer(UInt16(address))
        }
        builder.bool(indirect)
        builder.bool(eventIndex)
        builder.append(memory.bytes)
        return builder.bytes
    }
}
