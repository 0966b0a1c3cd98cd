import CUAPI
import GuestMemory
import Testing
@testable import Virtio

/// A driver that breaks the ring's rules: the device must survive, touch nothing outside
/// guest RAM, and set DEVICE_NEEDS_RESET where virtio v1.2 2.1.2 asks for it.
@Suite("Hostile rings: no crash, no access outside RAM, DEVICE_NEEDS_RESET")
struct HostileRingTests {
    /// Asserts the device gave up on the ring: NEEDS_RESET, a configuration interrupt,
    /// nothing returned in the used ring, and no more requests served until a reset.
    func expectNeedsReset(_ driver: FakeDriver, _ disk: MemoryDisk, usedBefore: UInt16 = 0) {
        #expect(driver.status.contains(.needsReset))
        #expect(driver.status.contains(.driverOK))
        #expect(driver.transport.takeConfigurationInterrupt())
        #expect(driver.usedIndex == usedBefore)
        // Further notifications are ignored (2.1.2: no buffers consumed after NEEDS_RESET).
        let before = disk.bytes
        driver.transport.notify(0)
        #expect(driver.usedIndex == usedBefore)
        #expect(disk.bytes == before)
    }

    @Test("2.7.5.2: a descriptor chain that loops is cut off at the queue size", arguments: TransportKind.allCases)
    func loop(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let header = driver.header(type: VIRTIO_BLK_T_IN, sector: 0)
        driver.writeDescriptor(0, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 1)
        driver.writeDescriptor(1, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 0)
        driver.makeAvailable(0)
        expectNeedsReset(driver, disk)
        if let mmio = driver.transport as? MMIOTransport { #expect(mmio.device.failure == .chainTooLong) }
        if let pci = driver.transport as? PCITransport { #expect(pci.function.failure == .chainTooLong) }
    }

    @Test("a self-loop inside an indirect table is cut off too", arguments: TransportKind.allCases)
    func indirectLoop(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind, features: [.version1, .indirectDescriptors])
        let table = driver.place([UInt8](repeating: 0, count: 32))
        let header = driver.header(type: VIRTIO_BLK_T_IN, sector: 0)
        driver.writeDescriptor(0, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 1, table: table)
        driver.writeDescriptor(1, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 0, table: table)
        driver.writeDescriptor(0, address: table.rawValue, length: 32, flags: DescriptorChain.indirect)
        driver.makeAvailable(0)
        expectNeedsReset(driver, disk)
    }

    @Test("a buffer outside guest RAM is never touched", arguments: TransportKind.allCases)
    func outsideRAM(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let header = driver.header(type: VIRTIO_BLK_T_IN, sector: 0)
        let status = driver.place([0xff])
        driver.writeDescriptor(0, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 1)
        // 1 MiB of RAM: this buffer starts inside and ends outside.
        driver.writeDescriptor(1, address: 0xf_ff00, length: 512, flags: DescriptorChain.write | DescriptorChain.next, next: 2)
        driver.writeDescriptor(2, address: status.rawValue, length: 1, flags: DescriptorChain.write)
        driver.makeAvailable(0)
        expectNeedsReset(driver, disk)
        #expect(try! driver.memory.read(UInt8.self, at: status) == 0xff)
    }

    @Test("an address whose end overflows 64 bits, and a chain larger than 4 GiB", arguments: TransportKind.allCases)
    func lengthOverflow(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        driver.writeDescriptor(0, address: UInt64.max - 8, length: 512, flags: DescriptorChain.write)
        driver.makeAvailable(0)
        expectNeedsReset(driver, disk)

        let (second, secondDisk) = blockSetup(kind)
        // Sixteen descriptors of 0.5 GiB would overflow a 32-bit total; each is checked
        // against RAM first, so the first one already fails without any read.
        for index in 0..<16 {
            second.writeDescriptor(UInt16(index), address: 0, length: 0x2000_0000, flags: index < 15 ? DescriptorChain.next : 0, next: UInt16(index + 1))
        }
        second.makeAvailable(0)
        expectNeedsReset(second, secondDisk)
    }

    @Test("2.7.6: an available index that jumps past the queue size", arguments: TransportKind.allCases)
    func availableIndexJump(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        try! driver.memory.write(UInt16(FakeDriver.queueSize + 1), at: GuestAddress(FakeDriver.availableRing.rawValue + 2))
        driver.transport.notify(0)
        expectNeedsReset(driver, disk)
    }

    @Test("2.7.5: a head or next index past the descriptor table", arguments: TransportKind.allCases)
    func indexOutOfRange(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        driver.makeAvailable(FakeDriver.queueSize + 3)
        expectNeedsReset(driver, disk)

        let (second, secondDisk) = blockSetup(kind)
        let header = second.header(type: VIRTIO_BLK_T_IN, sector: 0)
        second.writeDescriptor(0, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: 999)
        second.makeAvailable(0)
        expectNeedsReset(second, secondDisk)
    }

    @Test("2.7.4.2: a device-readable buffer after a device-writable one", arguments: TransportKind.allCases)
    func readableAfterWritable(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let status = driver.place([0xff]), header = driver.header(type: VIRTIO_BLK_T_IN, sector: 0)
        driver.submit([(status, 1, true), (header, 16, false)])
        expectNeedsReset(driver, disk)
    }

    @Test("2.7.5.3.1: an indirect table with NEXT, one pointing at another, or a partial descriptor", arguments: TransportKind.allCases)
    func badIndirect(kind: TransportKind) {
        for variant in 0..<3 {
            let (driver, disk) = blockSetup(kind, features: [.version1, .indirectDescriptors])
            let table = driver.place([UInt8](repeating: 0, count: 64))
            switch variant {
            case 0: driver.writeDescriptor(0, address: table.rawValue, length: 32, flags: DescriptorChain.indirect | DescriptorChain.next, next: 1)
            case 1:
                driver.writeDescriptor(0, address: table.rawValue, length: 32, flags: DescriptorChain.indirect, table: table)
                driver.writeDescriptor(0, address: table.rawValue, length: 32, flags: DescriptorChain.indirect)
            default: driver.writeDescriptor(0, address: table.rawValue, length: 20, flags: DescriptorChain.indirect)
            }
            driver.makeAvailable(0)
            expectNeedsReset(driver, disk)
        }
    }

    @Test("5.2.6: a device-writable header is not read: the request answers IOERR, the device goes on", arguments: TransportKind.allCases)
    func writableHeader(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let before = disk.bytes
        let header = driver.header(type: VIRTIO_BLK_T_OUT, sector: 0)
        let data = driver.place([UInt8](repeating: 7, count: 512)), status = driver.place([0xff])
        driver.submit([(header, 16, true), (data, 512, true), (status, 1, true)])
        #expect(try! driver.memory.read(UInt8.self, at: status) == statusIOError)
        #expect(driver.lastUsed.length == 1)
        #expect(disk.bytes == before)
        #expect(!driver.status.contains(.needsReset))
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusOK)
    }

    @Test("5.2.6: a request with no status byte goes back with nothing written", arguments: TransportKind.allCases)
    func noStatusByte(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        let before = disk.bytes
        let header = driver.header(type: VIRTIO_BLK_T_OUT, sector: 0)
        let data = driver.place([UInt8](repeating: 7, count: 512))
        driver.submit([(header, 16, false), (data, 512, false)])
        #expect(driver.usedIndex == 1)
        #expect(driver.lastUsed.length == 0)
        #expect(disk.bytes == before)
        #expect(!driver.status.contains(.needsReset))
    }

    /// A device that negotiated features and was asked to enable queue 0 as given, with
    /// its guest memory.
    func enableQueue(
        _ kind: TransportKind, size: UInt16 = FakeDriver.queueSize, descriptors: UInt64, available: UInt64, used: UInt64
    ) -> (transport: any FakeTransport, memory: GuestMemory) {
        let memory = fakeGuestMemory()
        let transport = kind.makeTransport(VirtioBlock(name: "vda", backend: MemoryDisk(sectors: 8), readOnly: false), memory: memory)
        transport.writeStatus(0)
        for status: UInt8 in [1, 3] { transport.writeStatus(status) }
        transport.writeDriverFeatures(VirtioFeatures.version1.rawValue)
        transport.writeStatus(0xb)
        transport.configureQueue(0, size: size, descriptors: descriptors, available: available, used: used)
        transport.enableQueue(0)
        return (transport, memory)
    }

    /// After a reset the same device works again (2.4).
    func expectWorksAfterReset(_ transport: any FakeTransport, memory: GuestMemory) {
        transport.writeStatus(0xf)
        let driver = FakeDriver(transport, memory: memory)
        #expect(!driver.status.contains(.needsReset))
        #expect(driver.request(type: VIRTIO_BLK_T_IN, inLength: 512).status == statusOK)
    }

    @Test("2.7: a queue size that is not a power of two, or rings outside RAM, cannot be enabled", arguments: TransportKind.allCases)
    func badQueueConfiguration(kind: TransportKind) {
        for (size, descriptors) in [(UInt16(12), UInt64(0x1_0000)), (16, 0xff_fff0), (16, 0x1_0008)] {
            let (transport, memory) = enableQueue(kind, size: size, descriptors: descriptors, available: 0x1_1000, used: 0x1_2000)
            #expect(DeviceStatus(rawValue: transport.status).contains(.needsReset), "size \(size) at \(descriptors)")
            expectWorksAfterReset(transport, memory: memory)
        }
    }

    @Test("2.7: a used ring that shares a byte with the descriptor table or the available ring cannot be enabled",
          arguments: TransportKind.allCases)
    func overlappingRings(kind: TransportKind) {
        // 16 entries: the table is 256 bytes, the available ring 38, the used ring 134.
        let table: UInt64 = 0x1_0000, available: UInt64 = 0x1_1000
        for used in [table, table + 0xf0, available, available + 0x24, available - 0x84] {
            let (transport, memory) = enableQueue(kind, descriptors: table, available: available, used: used)
            #expect(DeviceStatus(rawValue: transport.status).contains(.needsReset), "used ring at \(used)")
            expectWorksAfterReset(transport, memory: memory)
        }
        // Touching is not overlapping; the driver's two parts may share bytes (they are
        // both the driver's to write).
        for (available, used) in [(available, table + 0x100), (available, available + 0x28), (table, available)] {
            let (transport, _) = enableQueue(kind, descriptors: table, available: available, used: used)
            #expect(!DeviceStatus(rawValue: transport.status).contains(.needsReset), "available ring at \(available), used ring at \(used)")
        }
    }

    @Test("2.4: a reset after DEVICE_NEEDS_RESET gives a working device", arguments: TransportKind.allCases)
    func recoveryAfterReset(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        driver.makeAvailable(FakeDriver.queueSize + 3)
        expectNeedsReset(driver, disk)
        let again = FakeDriver(driver.transport, memory: driver.memory)
        #expect(!again.status.contains(.needsReset))
        #expect(again.request(type: VIRTIO_BLK_T_IN, sector: 1, inLength: 512).data == Array(disk.bytes[512..<1024]))
    }
}
