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
    /// blk_size; fields of features not offered read as zero. Every field this device
    /// offers is read-only (`writeback` needs CONFIG_WCE).
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        PlainBytes.read(PlainBytes.of(configuration), offset: offset, size: size)
    }

    // MARK: Requests (5.2.6)

    /// The request queue's handler. Without VIRTIO_BLK_F_FLUSH the driver cannot ask for
    /// durability, so it makes every write durable before completing it (5.2.6.2).
    public func queueHandler(for queue: Int, features: VirtioFeatures) -> any VirtqueueHandler {
        BlockQueueHandler(
            device: name, queue: queue, backend: backend, capacity: capacity, readOnly: isReadOnly,
            writesThrough: !features.contains(.blockFlush), observer: observer)
    }
}
