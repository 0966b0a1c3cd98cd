import CUAPI
import GuestMemory

/// A virtio block device (virtio v1.2, 5.2 "Block Device"), backed by a `BlockBackend`.
///
/// It offers VIRTIO_BLK_F_SEG_MAX, BLK_SIZE and FLUSH, and RO for a read-only disk, and
/// executes IN, OUT, FLUSH and GET_ID requests; any other type answers
/// VIRTIO_BLK_S_UNSUPP. A request past the end of the disk, a write to a read-only
/// disk, a malformed request or a host I/O error answers VIRTIO_BLK_S_IOERR, and the
/// guest goes on.
public struct VirtioBlock: VirtioDevice {
    /// The unit of `sector` in requests and of `capacity`, whatever `blk_size` says (5.2.4).
    public static let sectorSize: UInt64 = 512
    /// The one request queue's size: room for 256 requests in flight.
    public static let queueSize: UInt16 = 256
    /// The bytes of the GET_ID answer (VIRTIO_BLK_ID_BYTES): a string, NUL-padded.
    public static let serialLength = Int(VIRTIO_BLK_ID_BYTES)

    public let name: String
    /// Where the disk's bytes are.
    public let backend: any BlockBackend
    /// Whether the device offers VIRTIO_BLK_F_RO and refuses writes (5.2.3).
    public let isReadOnly: Bool
    /// Whether a write must be on stable storage before it completes: when the driver
    /// did not negotiate VIRTIO_BLK_F_FLUSH, which this device offers, it has no other
    /// way to make writes durable (5.2.6.2: such writes are "stable writes", and "the
    /// device MUST ensure that stable writes are committed to non-volatile storage before
    /// reporting completion").
    public private(set) var writesThrough = true
    public let observer: (any VirtioObserver)?

    /// A block device named `name` over `backend`; `observer` hears of every request.
    public init(name: String, backend: any BlockBackend, readOnly: Bool, observer: (any VirtioObserver)? = nil) {
        self.name = name
        self.backend = backend
        self.isReadOnly = readOnly
        self.observer = observer
    }

    public var deviceID: UInt32 { UInt32(VIRTIO_ID_BLOCK) }
    public var queueSizes: [UInt16] { [Self.queueSize] }
    public var capacity: UInt64 { backend.size / Self.sectorSize }

    public var features: VirtioFeatures {
        var features: VirtioFeatures = [.blockSegmentMaximum, .blockSize, .blockFlush]
        if isReadOnly { features.insert(.blockReadOnly) }
        return features
    }

    /// The most data buffers a request may have: the queue less the header and status
    /// descriptors (`seg_max`).
    public static var segmentMaximum: UInt32 { UInt32(queueSize) - 2 }

    // MARK: Configuration space (5.2.4)

    /// `struct virtio_blk_config` with the fields this device offers filled in.
    var configuration: virtio_blk_config {
        var config = virtio_blk_config()
        config.capacity = capacity
        config.seg_max = Self.segmentMaximum
        config.blk_size = UInt32(Self.sectorSize)
        return config
    }

    /// Reads `struct virtio_blk_config` (5.2.4): capacity in 512-byte sectors, seg_max,
    /// blk_size; fields of features not offered read as zero.
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(configuration), offset: offset, size: size)
    }

    /// Every field this device offers is read-only (`writeback` needs CONFIG_WCE).
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {}

    /// A reset forgets the negotiated features, so writes go through until FLUSH is
    /// negotiated again (5.2.6.2).
    public mutating func reset() {
        writesThrough = true
    }

    /// Without VIRTIO_BLK_F_FLUSH the driver cannot ask for durability, so every write
    /// is made durable before it completes (5.2.6.2).
    public mutating func featuresNegotiated(_ features: VirtioFeatures) {
        writesThrough = !features.contains(.blockFlush)
    }

    // MARK: Requests (5.2.6)

    /// Executes one request (5.2.6): reads the header, moves the data, writes the status
    /// byte into the last device-writable byte, and tells the observer. Returns the bytes
    /// written into the chain (data read plus the status byte), the used element's `len`
    /// (2.7.8).
    public mutating func handle(_ chain: DescriptorChain, queue: Int, memory: GuestMemory) -> UInt32 {
        let request = BlockRequest(chain: chain)
        // Without a device-writable last byte there is nowhere to put a status: the
        // chain goes back with nothing written.
        guard let statusAddress = request.statusAddress else {
            return 0
        }
        var written: UInt32 = 0, moved: UInt64 = 0
        let header = request.header(memory: memory)
        let status = execute(request, header: header, memory: memory, written: &written, moved: &moved)
        if let observer, let header {
            observer.observe(.blockRequest(queue: queue, BlockRequestRecord(
                type: header.type, sector: header.sector, dataBytes: moved, status: status)), device: name)
        }
        do {
            try memory.write(status, at: statusAddress)
        } catch {
            return written  // cannot happen: the chain's buffers were checked to be RAM
        }
        return written + 1
    }

    /// Executes `request`; returns its status, counts the bytes written to the guest's
    /// buffers (`written`) and the disk data moved either way (`moved`).
    private mutating func execute(
        _ request: BlockRequest, header: virtio_blk_outhdr?, memory: GuestMemory, written: inout UInt32, moved: inout UInt64
    ) -> UInt8 {
        guard let header else { return UInt8(VIRTIO_BLK_S_IOERR) }
        // `type` is a le32 (5.2.6): any of its 2^32 values may arrive.
        switch Int32(bitPattern: header.type) {
        case VIRTIO_BLK_T_IN:
            let status = transfer(request, sector: header.sector, toGuest: true, memory: memory, moved: &moved)
            written = UInt32(truncatingIfNeeded: moved)  // at most the chain's length, a UInt32
            return status
        case VIRTIO_BLK_T_OUT:
            guard !isReadOnly else { return UInt8(VIRTIO_BLK_S_IOERR) }
            return transfer(request, sector: header.sector, toGuest: false, memory: memory, moved: &moved)
        case VIRTIO_BLK_T_FLUSH:
            do { try backend.flush() } catch { return UInt8(VIRTIO_BLK_S_IOERR) }
            return UInt8(VIRTIO_BLK_S_OK)
        case VIRTIO_BLK_T_GET_ID:
            let id = Array(backend.serial.utf8.prefix(Self.serialLength))
            let padded = id + [UInt8](repeating: 0, count: Self.serialLength - id.count)
            let count = Int(min(UInt64(Self.serialLength), request.dataLength(toGuest: true)))
            guard request.copy(Array(padded.prefix(count)), toGuest: memory) else { return UInt8(VIRTIO_BLK_S_IOERR) }
            written = UInt32(count)
            return UInt8(VIRTIO_BLK_S_OK)
        default:
            return UInt8(VIRTIO_BLK_S_UNSUPP)
        }
    }

    /// IN or OUT: the data buffers, in order, against the disk from `sector` on; `moved`
    /// counts the bytes transferred (for IN, also the bytes written to the guest).
    private mutating func transfer(
        _ request: BlockRequest, sector: UInt64, toGuest: Bool, memory: GuestMemory, moved: inout UInt64
    ) -> UInt8 {
        let length = request.dataLength(toGuest: toGuest)
        // 5.2.6.2: data is a multiple of 512 bytes; the range must lie on the disk.
        let (start, overflow) = sector.multipliedReportingOverflow(by: Self.sectorSize)
        guard length % Self.sectorSize == 0, !overflow, start <= backend.size, length <= backend.size - start else {
            return UInt8(VIRTIO_BLK_S_IOERR)
        }
        var offset = start
        do {
            for segment in request.dataSegments(toGuest: toGuest) {
                if toGuest {
                    try backend.read(at: offset, into: memory, at: segment.address, count: segment.count)
                } else {
                    try backend.write(at: offset, from: memory, at: segment.address, count: segment.count)
                }
                moved += UInt64(segment.count)
                offset += UInt64(segment.count)
            }
            if !toGuest && writesThrough { try backend.flush() }
        } catch {
            return UInt8(VIRTIO_BLK_S_IOERR)
        }
        return UInt8(VIRTIO_BLK_S_OK)
    }
}
