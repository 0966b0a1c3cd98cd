import CUAPI
import GuestMemory
import SystemErrors

/// Serves a virtio-blk request queue (virtio v1.2, 5.2.6): each chain is parsed and
/// checked into a `BlockRequest`, executed against the disk, and answered with its
/// status byte in the chain's last device-writable byte. Whoever serves the queue holds
/// it, and the host's reads, writes and flushes happen there, under no register lock.
public struct BlockQueueHandler: VirtqueueHandler {
    /// The device's name, for the observer.
    let device: String
    let queue: Int
    let backend: any BlockBackend
    /// The disk's size in 512-byte sectors.
    let capacity: UInt64
    let readOnly: Bool
    /// Whether a write must be on stable storage before it completes: when the driver
    /// did not negotiate VIRTIO_BLK_F_FLUSH, which the device offers, it has no other way
    /// to make writes durable (5.2.6.2: such writes are "stable writes", and "the device
    /// MUST ensure that stable writes are committed to non-volatile storage before
    /// reporting completion").
    let writesThrough: Bool
    let observer: (any VirtioObserver)?

    /// Executes one request; returns the bytes written into the chain (data read plus the
    /// status byte), the used element's `len` (2.7.8), or 0 when it has nowhere for a status.
    /// It changes nothing of the handler's own.
    public func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 {
        guard let statusAddress = BlockRequest.statusAddress(in: chain) else {
            observe(type: nil, sector: nil, moved: 0, status: UInt8(VIRTIO_BLK_S_IOERR), failure: .noStatusByte)
            return 0
        }
        var header: virtio_blk_outhdr? = nil
        var written: UInt32 = 0, moved: UInt64 = 0
        var failure: BlockRequestError? = nil
        do {
            header = try BlockRequest.header(of: chain, memory: memory)
            let request = try BlockRequest.parse(chain, header: header!, capacity: capacity, readOnly: readOnly)
            written = try execute(request, memory: memory, moved: &moved)
        } catch {
            failure = error
        }
        let status = failure?.status ?? UInt8(VIRTIO_BLK_S_OK)
        observe(type: header?.type, sector: header?.sector, moved: moved, status: status, failure: failure)
        do {
            try memory.write(status, at: statusAddress)
        } catch {
            return written  // cannot happen: the chain's buffers were checked to be RAM
        }
        return written + 1
    }

    /// Moves the request's data, and nothing else: it was checked whole. Returns the bytes
    /// written into the guest's buffers; `moved` counts the disk data moved either way,
    /// up to a failure.
    private func execute(_ request: BlockRequest, memory: GuestMemory, moved: inout UInt64) throws(BlockRequestError) -> UInt32 {
        switch request.operation {
        case .read(var offset, let segments):
            for segment in segments {
                try hostIO { () throws(SystemCallError) in
                    try backend.read(at: offset, into: memory, at: segment.address, count: segment.count)
                }
                moved += UInt64(segment.count)
                offset += UInt64(segment.count)
            }
            return UInt32(truncatingIfNeeded: moved)  // at most the chain's length, a UInt32
        case .write(var offset, let segments):
            for segment in segments {
                try hostIO { () throws(SystemCallError) in
                    try backend.write(at: offset, from: memory, at: segment.address, count: segment.count)
                }
                moved += UInt64(segment.count)
                offset += UInt64(segment.count)
            }
            if writesThrough { try hostIO(backend.flush) }
            return 0
        case .flush:
            try hostIO(backend.flush)
            return 0
        case .getID(let segments):
            return try copySerial(into: segments, memory: memory)
        }
    }

    /// Runs one of the backend's calls; its failure is the request's.
    private func hostIO(_ call: () throws(SystemCallError) -> Void) throws(BlockRequestError) {
        do { try call() } catch { throw .hostIO(error) }
    }

    /// VIRTIO_BLK_T_GET_ID: the serial, NUL-padded to 20 bytes, into as much of the
    /// driver's buffers as there is (5.2.6: VIRTIO_BLK_ID_BYTES).
    private func copySerial(into segments: [BlockRequest.Segment], memory: GuestMemory) throws(BlockRequestError) -> UInt32 {
        let id = Array(backend.serial.utf8.prefix(VirtioBlock.serialLength))
        var remaining = (id + [UInt8](repeating: 0, count: VirtioBlock.serialLength - id.count))[...]
        var written = 0
        for segment in segments {
            do { try memory.write(bytes: remaining.prefix(segment.count), at: segment.address) } catch { throw .guestMemory(error) }
            remaining = remaining.dropFirst(segment.count)
            written += segment.count
        }
        return UInt32(written)
    }

    private func observe(type: UInt32?, sector: UInt64?, moved: UInt64, status: UInt8, failure: BlockRequestError?) {
        guard let observer else { return }
        observer.observe(.blockRequest(queue: queue, BlockRequestRecord(
            type: type, sector: sector, dataBytes: moved, status: status, failure: failure)), device: device)
    }
}
