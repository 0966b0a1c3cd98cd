import CUAPI
import GuestMemory
import Testing
@testable import Virtio

/// The transports a fake driver can reach the block device through.
enum TransportKind: String, CaseIterable, CustomTestStringConvertible {
    case mmio, pci
    var testDescription: String { rawValue }

    func makeTransport(_ block: VirtioBlock, memory: GuestMemory) -> any FakeTransport {
        switch self {
        case .mmio: return MMIOTransport(block, memory: memory)
        case .pci: return PCITransport(block, memory: memory)
        }
    }
}

/// A block device behind `kind`, with a driver that has set it up.
func blockSetup(
    _ kind: TransportKind, sectors: Int = 8, readOnly: Bool = false,
    features: VirtioFeatures = [.version1, .blockFlush]
) -> (driver: FakeDriver, disk: MemoryDisk) {
    let memory = fakeGuestMemory()
    let disk = MemoryDisk(sectors: sectors)
    let block = VirtioBlock(name: "vda", backend: disk, readOnly: readOnly)
    let driver = FakeDriver(kind.makeTransport(block, memory: memory), memory: memory, features: features)
    return (driver, disk)
}

let statusOK = UInt8(VIRTIO_BLK_S_OK), statusIOError = UInt8(VIRTIO_BLK_S_IOERR), statusUnsupported = UInt8(VIRTIO_BLK_S_UNSUPP)

@Suite("virtio-blk requests, through a fake driver in fake guest memory")
struct VirtioBlockTests {
    @Test("virtio v1.2 5.2.4: capacity, seg_max and blk_size in the configuration space", arguments: TransportKind.allCases)
    func configuration(kind: TransportKind) {
        let (driver, _) = blockSetup(kind, sectors: 8)
        #expect(driver.transport.readConfiguration(offset: 0, size: 8) == 8)
        #expect(driver.transport.readConfiguration(offset: 12, size: 4) == UInt64(VirtioBlock.queueSize - 2))
        #expect(driver.transport.readConfiguration(offset: 20, size: 4) == 512)
        // A read of the capacity in two halves agrees with the 64-bit read.
        #expect(driver.transport.readConfiguration(offset: 4, size: 4) == 0)
    }

    @Test("5.2.6: IN reads the sectors asked for into the guest's buffer", arguments: TransportKind.allCases)
    func read(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let completion = driver.request(type: VIRTIO_BLK_T_IN, sector: 2, inLength: 1024)
        #expect(completion.status == statusOK)
        #expect(completion.usedLength == 1025)
        #expect(completion.data == Array(disk.bytes[1024..<2048]))
        #expect(driver.status.contains(.driverOK) && !driver.status.contains(.needsReset))
    }

    @Test("5.2.6: OUT writes the guest's data to the disk, and only there", arguments: TransportKind.allCases)
    func write(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let before = disk.bytes
        let pattern = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let completion = driver.request(type: VIRTIO_BLK_T_OUT, sector: 5, outData: pattern)
        #expect(completion.status == statusOK)
        #expect(completion.usedLength == 1)
        var expected = before
        expected.replaceSubrange(2560..<3072, with: pattern)
        #expect(disk.bytes == expected)
    }

    @Test("5.2.6: data split over several buffers, read and written in order", arguments: TransportKind.allCases)
    func scatterGather(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let first = driver.place([UInt8](repeating: 0xaa, count: 512)), second = driver.place([UInt8](repeating: 0xbb, count: 512))
        let status = driver.place([0xff])
        driver.submit([(driver.header(type: VIRTIO_BLK_T_OUT, sector: 1), 16, false), (first, 512, false), (second, 512, false), (status, 1, true)])
        #expect(try! driver.memory.read(UInt8.self, at: status) == statusOK)
        #expect(Array(disk.bytes[512..<1536]) == [UInt8](repeating: 0xaa, count: 512) + [UInt8](repeating: 0xbb, count: 512))
        // The header split in two buffers is read as one (2.6.4: no framing assumptions).
        let header = driver.header(type: VIRTIO_BLK_T_IN, sector: 3)
        let data = driver.place([UInt8](repeating: 0, count: 512)), status2 = driver.place([0xff])
        driver.submit([(header, 4, false), (GuestAddress(header.rawValue + 4), 12, false), (data, 512, true), (status2, 1, true)])
        #expect(try! driver.memory.read(UInt8.self, at: status2) == statusOK)
        #expect(try! driver.memory.readBytes(at: data, count: 512) == Array(disk.bytes[1536..<2048]))
    }

    @Test("5.2.6: FLUSH reaches the backend; a failing flush answers IOERR", arguments: TransportKind.allCases)
    func flush(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        #expect(driver.request(type: VIRTIO_BLK_T_FLUSH).status == statusOK)
        #expect(disk.flushes == 1)
        disk.failing = true
        #expect(driver.request(type: VIRTIO_BLK_T_FLUSH).status == statusIOError)
        #expect(disk.flushes == 1)
    }

    @Test("5.2.6: GET_ID answers the backend's serial in 20 bytes", arguments: TransportKind.allCases)
    func getID(kind: TransportKind) {
        let (driver, _) = blockSetup(kind)
        let completion = driver.request(type: VIRTIO_BLK_T_GET_ID, inLength: 20)
        #expect(completion.status == statusOK)
        #expect(completion.usedLength == 21)
        #expect(completion.data == Array("fake-disk-serial-012".utf8))
    }

    @Test("5.2.6.2: without FLUSH negotiated, a write is on stable storage before it completes; with it, only at FLUSH",
          arguments: TransportKind.allCases)
    func stableWrites(kind: TransportKind) {
        let data = [UInt8](repeating: 0x5a, count: 512)
        let (writeThrough, disk) = blockSetup(kind, features: [.version1])
        #expect(writeThrough.request(type: VIRTIO_BLK_T_OUT, sector: 1, outData: data).status == statusOK)
        #expect(disk.flushes == 1)
        #expect(writeThrough.request(type: VIRTIO_BLK_T_IN, sector: 1, inLength: 512).status == statusOK)
        #expect(disk.flushes == 1)  // reads need no flush

        let (writeBack, cached) = blockSetup(kind, features: [.version1, .blockFlush])
        #expect(writeBack.request(type: VIRTIO_BLK_T_OUT, sector: 1, outData: data).status == statusOK)
        #expect(cached.flushes == 0)
        #expect(writeBack.request(type: VIRTIO_BLK_T_FLUSH).status == statusOK)
        #expect(cached.flushes == 1)

        // A write the disk cannot make stable is not acknowledged as done.
        let (failing, broken) = blockSetup(kind, features: [.version1])
        broken.failFlushes = true
        #expect(failing.request(type: VIRTIO_BLK_T_OUT, sector: 1, outData: data).status == statusIOError)
    }

    @Test("5.2.6: unknown request types answer UNSUPP and the device goes on", arguments: TransportKind.allCases)
    func unsupported(kind: TransportKind) {
        let (driver, _) = blockSetup(kind)
        // Types from 2^31 on included: the field is a le32 (found by fuzzing: they trapped).
        for type in [VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, 3, 0x7fff_ffff, Int32(bitPattern: 0x8000_0000), -1] {
            #expect(driver.request(type: type, inLength: 512).status == statusUnsupported)
        }
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusOK)
    }

    @Test("5.2.6: a read or write past the end of the disk answers IOERR", arguments: TransportKind.allCases)
    func pastEnd(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind, sectors: 8)
        let before = disk.bytes
        #expect(driver.request(type: VIRTIO_BLK_T_IN, sector: 8, inLength: 512).status == statusIOError)
        #expect(driver.request(type: VIRTIO_BLK_T_IN, sector: 7, inLength: 1024).status == statusIOError)
        #expect(driver.request(type: VIRTIO_BLK_T_OUT, sector: 7, outData: [UInt8](repeating: 1, count: 1024)).status == statusIOError)
        // A sector number whose byte offset overflows 64 bits.
        #expect(driver.request(type: VIRTIO_BLK_T_IN, sector: UInt64.max / 256, inLength: 512).status == statusIOError)
        #expect(disk.bytes == before)
        #expect(driver.request(type: VIRTIO_BLK_T_IN, sector: 7, inLength: 512).status == statusOK)
    }

    @Test("5.2.6: data that is not a whole number of sectors answers IOERR", arguments: TransportKind.allCases)
    func partialSector(kind: TransportKind) {
        let (driver, _) = blockSetup(kind)
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 100).status == statusIOError)
        #expect(driver.request(type: VIRTIO_BLK_T_OUT, outData: [1, 2, 3]).status == statusIOError)
    }

    @Test("5.2.3: a read-only disk offers VIRTIO_BLK_F_RO, reads, and answers writes with IOERR", arguments: TransportKind.allCases)
    func readOnly(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind, readOnly: true)
        let offered = VirtioFeatures(rawValue: driver.transport.deviceFeatures)
        #expect(offered.contains(.blockReadOnly))
        let before = disk.bytes
        #expect(driver.request(type: VIRTIO_BLK_T_OUT, outData: [UInt8](repeating: 9, count: 512)).status == statusIOError)
        #expect(disk.bytes == before)
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusOK)
        let (writable, _) = blockSetup(kind)
        let offeredWritable = VirtioFeatures(rawValue: writable.transport.deviceFeatures)
        #expect(!offeredWritable.contains(.blockReadOnly))
    }

    @Test("a host I/O error answers IOERR; the device and guest go on", arguments: TransportKind.allCases)
    func hostError(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        disk.failing = true
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusIOError)
        #expect(driver.request(type: VIRTIO_BLK_T_OUT, outData: [UInt8](repeating: 1, count: 512)).status == statusIOError)
        disk.failing = false
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusOK)
        #expect(!driver.status.contains(.needsReset))
    }

    @Test("2.7.5.3: a request through an indirect descriptor table", arguments: TransportKind.allCases)
    func indirect(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind, features: [.version1, .indirectDescriptors])
        let read = driver.request(type: VIRTIO_BLK_T_IN, sector: 1, inLength: 1024, indirect: true)
        #expect(read.status == statusOK)
        #expect(read.data == Array(disk.bytes[512..<1536]))
        let pattern = [UInt8](repeating: 0x5a, count: 512)
        #expect(driver.request(type: VIRTIO_BLK_T_OUT, sector: 0, outData: pattern, indirect: true).status == statusOK)
        #expect(Array(disk.bytes[0..<512]) == pattern)
    }

    @Test("2.7.5.3.1: an indirect descriptor without VIRTIO_F_INDIRECT_DESC sets DEVICE_NEEDS_RESET", arguments: TransportKind.allCases)
    func indirectNotNegotiated(kind: TransportKind) {
        let (driver, _) = blockSetup(kind)
        let table = driver.place([UInt8](repeating: 0, count: 32))
        driver.writeDescriptor(0, address: table.rawValue, length: 32, flags: DescriptorChain.indirect)
        driver.makeAvailable(0)
        #expect(driver.status.contains(.needsReset))
        let configurationInterrupt = driver.transport.takeConfigurationInterrupt()
        #expect(configurationInterrupt)
    }
}
