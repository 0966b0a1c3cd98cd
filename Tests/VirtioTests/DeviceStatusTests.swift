import CUAPI
import GuestMemory
import Testing
@testable import Virtio

@Suite("Device status and feature negotiation (virtio v1.2, 2.1, 3.1)")
struct DeviceStatusTests {
    func fresh(_ kind: TransportKind, readOnly: Bool = false) -> (any FakeTransport, GuestMemory) {
        let memory = fakeGuestMemory()
        return (kind.makeTransport(VirtioBlock(name: "vda", backend: MemoryDisk(sectors: 8), readOnly: readOnly), memory: memory), memory)
    }

    @Test("the offered features: VERSION_1, INDIRECT_DESC, EVENT_IDX, SEG_MAX, BLK_SIZE, FLUSH", arguments: TransportKind.allCases)
    func offered(kind: TransportKind) {
        let (transport, _) = fresh(kind)
        let offered = VirtioFeatures(rawValue: transport.deviceFeatures)
        #expect(offered == [.version1, .indirectDescriptors, .eventIndex, .blockSegmentMaximum, .blockSize, .blockFlush])
    }

    @Test("3.1.1: FEATURES_OK does not stick without VERSION_1, or with features not offered", arguments: TransportKind.allCases)
    func featuresOK(kind: TransportKind) {
        for (features, accepted) in [
            (VirtioFeatures.blockFlush, false), (VirtioFeatures([.version1, .blockReadOnly]), false),
            (VirtioFeatures(rawValue: 1 << 40) .union(.version1), false), (VirtioFeatures([.version1, .blockFlush]), true),
        ] {
            let (transport, _) = fresh(kind)
            transport.writeStatus(1)
            transport.writeStatus(3)
            transport.writeDriverFeatures(features.rawValue)
            transport.writeStatus(0xb)
            #expect(DeviceStatus(rawValue: transport.status).contains(.featuresOK) == accepted, "\(features)")
            // DRIVER_OK without FEATURES_OK does not stick either.
            transport.writeStatus(accepted ? 0xf : 0x7)
            #expect(DeviceStatus(rawValue: transport.status).contains(.driverOK) == accepted)
        }
    }

    @Test("2.1.1: a status write that clears bits is ignored; 0 resets; features are fixed after FEATURES_OK", arguments: TransportKind.allCases)
    func statusRules(kind: TransportKind) {
        let (transport, memory) = fresh(kind)
        let driver = FakeDriver(transport, memory: memory)
        transport.writeStatus(0x3)
        #expect(transport.status == 0xf)
        let negotiated = transport.negotiatedFeatures
        #expect(negotiated == [.version1, .blockFlush])
        transport.writeDriverFeatures(0)
        #expect(transport.negotiatedFeatures == negotiated)
        #expect(driver.request(type: VIRTIO_BLK_T_FLUSH).status == statusOK)
        transport.writeStatus(0)
        #expect(transport.status == 0)
        // After a reset, the queue is disabled: a notification does nothing.
        transport.notify(0)
        #expect(driver.usedIndex == 1)
    }

    @Test("before DRIVER_OK, notifications are not served", arguments: TransportKind.allCases)
    func notLiveBeforeDriverOK(kind: TransportKind) {
        let (transport, memory) = fresh(kind)
        transport.writeStatus(1)
        transport.writeStatus(3)
        transport.writeDriverFeatures(VirtioFeatures.version1.rawValue)
        transport.writeStatus(0xb)
        transport.configureQueue(0, size: 16, descriptors: 0x1_0000, available: 0x1_1000, used: 0x1_2000)
        transport.enableQueue(0)
        try! memory.write(UInt16(1), at: GuestAddress(0x1_1002))
        transport.notify(0)
        #expect(try! memory.read(UInt16.self, at: GuestAddress(0x1_2002)) == 0)
    }

    @Test("2.7.7.2, 2.7.10: with EVENT_IDX the device interrupts only when used_event is passed, and publishes avail_event",
          arguments: TransportKind.allCases)
    func eventIndex(kind: TransportKind) {
        let (driver, _) = blockSetup(kind, features: [.version1, .eventIndex])
        // The first completion always interrupts.
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(driver.transport.takeUsedBufferInterrupt())
        #expect(driver.availableEvent == 1)
        // used_event = 3: the second completion (used index 2) does not interrupt...
        driver.setUsedEvent(3)
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(!driver.transport.takeUsedBufferInterrupt())
        #expect(driver.availableEvent == 2)
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(!driver.transport.takeUsedBufferInterrupt())
        // ...the fourth (used index 4 passes used_event 3) does.
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(driver.transport.takeUsedBufferInterrupt())
    }

    @Test("2.7.7: without EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt", arguments: TransportKind.allCases)
    func noInterruptFlag(kind: TransportKind) {
        let (driver, _) = blockSetup(kind)
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(driver.transport.takeUsedBufferInterrupt())
        try! driver.memory.write(UInt16(VRING_AVAIL_F_NO_INTERRUPT), at: FakeDriver.availableRing)
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(!driver.transport.takeUsedBufferInterrupt())
    }

    @Test("several chains made available at once are all served on one notification", arguments: TransportKind.allCases)
    func batch(kind: TransportKind) {
        let (driver, disk) = blockSetup(kind)
        var statuses: [GuestAddress] = []
        for sector in 0..<4 {
            let header = driver.header(type: VIRTIO_BLK_T_OUT, sector: UInt64(sector))
            let data = driver.place([UInt8](repeating: UInt8(0xa0 + sector), count: 512)), status = driver.place([0xff])
            statuses.append(status)
            let head = UInt16(sector * 3)
            driver.writeDescriptor(head, address: header.rawValue, length: 16, flags: DescriptorChain.next, next: head + 1)
            driver.writeDescriptor(head + 1, address: data.rawValue, length: 512, flags: DescriptorChain.next, next: head + 2)
            driver.writeDescriptor(head + 2, address: status.rawValue, length: 1, flags: DescriptorChain.write)
            driver.makeAvailable(head, notify: sector == 3)
        }
        #expect(driver.usedIndex == 4)
        for (sector, status) in statuses.enumerated() {
            #expect(try! driver.memory.read(UInt8.self, at: status) == statusOK)
            #expect(disk.bytes[sector * 512] == UInt8(0xa0 + sector))
        }
    }
}
