import CUAPI
import GuestMemory
import Locking
import SystemErrors
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Virtio

/// Records what a block queue handler tells its observer.
final class RecordingObserver: VirtioObserver {
    private let events = Locked<[VirtioEvent]>([])
    func observe(_ event: VirtioEvent, device: String) { events.withLock { $0.append(event) } }
    var requests: [BlockRequestRecord] {
        events.withLock { $0.compactMap { if case .blockRequest(_, let record) = $0 { return record } else { return nil } } }
    }
}

/// virtio v1.2 5.2.6: a request is parsed and checked whole before anything is done, and
/// each reason it is refused carries its VIRTIO_BLK_S_* status.
@Suite("virtio-blk requests parsed, then executed")
struct BlockRequestTests {
    let memory = fakeGuestMemory()
    static let capacity: UInt64 = 8

    /// Writes a header of `type` at `sector` at `at` and returns a chain: the header's
    /// `headerBytes` bytes, then `buffers` (address, length, device-writable), then a
    /// status byte if `status`.
    func chain(type: Int32, sector: UInt64 = 0, headerBytes: UInt32 = 16, at headerAddress: UInt64 = 0x1000,
               _ buffers: [(UInt64, UInt32, Bool)] = [], status: Bool = true) throws -> DescriptorChain {
        var header = virtio_blk_outhdr()
        header.type = UInt32(bitPattern: type)
        header.sector = sector
        try memory.writeValue(header, at: GuestAddress(headerAddress))
        var all: [DescriptorChain.Buffer] = [.init(address: GuestAddress(headerAddress), length: headerBytes, isWritable: false)]
        all += buffers.map { .init(address: GuestAddress($0.0), length: $0.1, isWritable: $0.2) }
        if status { all.append(.init(address: GuestAddress(0x9000), length: 1, isWritable: true)) }
        return DescriptorChain(
            head: 0, buffers: all, readableLength: all.filter { !$0.isWritable }.reduce(0) { $0 + UInt64($1.length) },
            writableLength: all.filter(\.isWritable).reduce(0) { $0 + UInt64($1.length) })
    }

    func parse(_ chain: DescriptorChain, readOnly: Bool = false) throws(BlockRequestError) -> BlockRequest {
        let header = try BlockRequest.header(of: chain, memory: memory)
        return try BlockRequest.parse(chain, header: header, capacity: Self.capacity, readOnly: readOnly)
    }

    @Test("each check refuses with its own reason and status")
    func refusals() throws {
        let cases: [(DescriptorChain, Bool, BlockRequestError, Int32)] = [
            (try chain(type: VIRTIO_BLK_T_IN, headerBytes: 8), false, .headerTooShort(readableBytes: 8), VIRTIO_BLK_S_IOERR),
            (try chain(type: 0x7f, at: 0x1100), false, .unsupportedType(0x7f), VIRTIO_BLK_S_UNSUPP),
            (try chain(type: VIRTIO_BLK_T_IN, at: 0x1200, [(0x2000, 100, true)]), false, .notWholeSectors(bytes: 100), VIRTIO_BLK_S_IOERR),
            (try chain(type: VIRTIO_BLK_T_IN, sector: 7, at: 0x1300, [(0x2000, 1024, true)]), false,
             .pastEnd(sector: 7, sectors: 2, capacity: Self.capacity), VIRTIO_BLK_S_IOERR),
            (try chain(type: VIRTIO_BLK_T_OUT, sector: UInt64.max, at: 0x1400, [(0x2000, 512, false)]), false,
             .pastEnd(sector: UInt64.max, sectors: 1, capacity: Self.capacity), VIRTIO_BLK_S_IOERR),
            (try chain(type: VIRTIO_BLK_T_OUT, at: 0x1500, [(0x2000, 512, false)]), true, .readOnly, VIRTIO_BLK_S_IOERR),
        ]
        for (chain, readOnly, expected, status) in cases {
            #expect(throws: expected) { try parse(chain, readOnly: readOnly) }
            #expect(expected.status == UInt8(status), "\(expected)")
        }
        #expect(BlockRequestError.hostIO(SystemCallError("pwrite", Errno(ENOSPC))).status == UInt8(VIRTIO_BLK_S_IOERR))
    }

    @Test("virtio v1.2 2.6.4: the chain is a byte stream; a header split over buffers and data over several are read in order")
    func byteStream() throws {
        try memory.write(bytes: [UInt8](repeating: 0, count: 16), at: GuestAddress(0x3000))
        var header = virtio_blk_outhdr()
        header.type = UInt32(VIRTIO_BLK_T_OUT)
        header.sector = 3
        let bytes = withUnsafeBytes(of: header) { Array($0) }
        try memory.write(bytes: bytes.prefix(5), at: GuestAddress(0x3000))
        try memory.write(bytes: bytes.dropFirst(5), at: GuestAddress(0x3100))
        let chain = DescriptorChain(head: 0, buffers: [
            .init(address: GuestAddress(0x3000), length: 5, isWritable: false),
            .init(address: GuestAddress(0x3100), length: 11 + 200, isWritable: false),  // header's end, then data
            .init(address: GuestAddress(0x4000), length: 312, isWritable: false),
            .init(address: GuestAddress(0x9000), length: 1, isWritable: true),
        ], readableLength: 528, writableLength: 1)
        let request = try parse(chain)
        #expect(request.type == UInt32(VIRTIO_BLK_T_OUT) && request.sector == 3 && request.dataBytes == 512)
        guard case .write(let offset, let segments) = request.operation else {
            Issue.record("not a write: \(request.operation)")
            return
        }
        #expect(offset == 3 * 512)
        #expect(segments == [.init(address: GuestAddress(0x310b), count: 200), .init(address: GuestAddress(0x4000), count: 312)])
        #expect(BlockRequest.statusAddress(in: chain) == GuestAddress(0x9000))
    }

    @Test("a chain with no device-writable byte has nowhere for a status: it goes back untouched, and the reason is told")
    func noStatusByte() throws {
        let observer = RecordingObserver()
        var handler = VirtioBlock(name: "vda", backend: MemoryDisk(sectors: 8), readOnly: false, observer: observer)
            .queueHandler(for: 0, features: [.version1, .blockFlush])
        #expect(handler.handle(try chain(type: VIRTIO_BLK_T_FLUSH, status: false), memory: memory) == 0)
        #expect(observer.requests.map(\.failure) == [.noStatusByte])
    }

    @Test("execution only moves data: a host I/O error is the request's failure, with the call and errno, and IOERR")
    func hostFailure() throws {
        let observer = RecordingObserver()
        let disk = MemoryDisk(sectors: 8)
        var handler = VirtioBlock(name: "vda", backend: disk, readOnly: false, observer: observer)
            .queueHandler(for: 0, features: [.version1, .blockFlush])
        disk.failing = true
        #expect(handler.handle(try chain(type: VIRTIO_BLK_T_IN, sector: 1, [(0x2000, 512, true)]), memory: memory) == 1)
        #expect(try memory.read(UInt8.self, at: GuestAddress(0x9000)) == UInt8(VIRTIO_BLK_S_IOERR))
        #expect(observer.requests.map(\.failure) == [.hostIO(SystemCallError("read", Errno(EIO)))])
        disk.failing = false
        #expect(handler.handle(try chain(type: VIRTIO_BLK_T_IN, sector: 1, [(0x2000, 512, true)]), memory: memory) == 513)
        #expect(observer.requests.last == BlockRequestRecord(type: 0, sector: 1, dataBytes: 512, status: 0))
    }
}
