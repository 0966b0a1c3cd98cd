import GuestMemory
import Locking
import Testing
@testable import Virtio

/// virtio-vsock behind virtio-mmio, driven by the fake driver: its queue 0 is the rx queue.
private func vsockSetup(wakes: Locked<Int> = Locked(0)) -> (driver: FakeDriver, transport: MMIOTransport, muxer: VsockMuxer) {
    let memory = fakeGuestMemory()
    let muxer = VsockMuxer(guestCID: 3, connectToHost: { _ in nil }, wake: { wakes.withLock { $0 += 1 } })
    let transport = MMIOTransport(VirtioVsock(name: "vsock", muxer: muxer), memory: memory)
    // EVENT_IDX: the device asks to be notified again after each round, and then looks
    // whether chains arrived meanwhile (2.7.10), which rx buffers always have.
    let driver = FakeDriver(transport, memory: memory, features: [.version1, .eventIndex])
    return (driver, transport, muxer)
}

/// Posts an empty rx buffer, with room for a header and `payload` bytes.
private func postReceiveBuffer(_ driver: FakeDriver, payload: Int = 4096) -> GuestAddress {
    let address = driver.place([UInt8](repeating: 0, count: VsockPacket.headerSize + payload))
    driver.submit([(address, UInt32(VsockPacket.headerSize + payload), true)])
    return address
}

@Suite("virtio-vsock's rx queue (virtio v1.2, 5.10.6): buffers taken only for packets")
struct VsockQueueTests {
    @Test("rx buffers wait while the device has nothing: the round ends, none is used", .timeLimit(.minutes(1)))
    func buffersWait() {
        let (driver, _, _) = vsockSetup()
        _ = postReceiveBuffer(driver)
        _ = postReceiveBuffer(driver)
        #expect(driver.usedIndex == 0, "an empty packet took a guest buffer")
        #expect(driver.status.contains(.driverOK) && !driver.status.contains(.needsReset))
    }

    @Test("a packet for the guest fills one buffer when the queue is served again; the other waits", .timeLimit(.minutes(1)))
    func packetFillsOneBuffer() throws {
        let (driver, transport, muxer) = vsockSetup()
        let first = postReceiveBuffer(driver)
        _ = postReceiveBuffer(driver)
        let local = try #require(muxer.hostConnected(FakeStream(), port: 1234))
        transport.device.serveQueue(VirtioVsock.rxQueue)
        #expect(driver.usedIndex == 1)
        #expect(driver.lastUsed.length == UInt32(VsockPacket.headerSize))
        let packet = VsockPacket.parse(try driver.memory.readBytes(at: first, count: VsockPacket.headerSize))
        #expect(packet?.operation == .request && packet?.sourcePort == local && packet?.destinationPort == 1234)
        #expect(transport.takeUsedBufferInterrupt())
        transport.device.serveQueue(VirtioVsock.rxQueue)
        #expect(driver.usedIndex == 1, "the second buffer waits for a packet")
    }

    @Test("held packets (a paused machine) reach no buffer; let go, they do", .timeLimit(.minutes(1)))
    func heldPackets() throws {
        let wakes = Locked(0)
        let (driver, transport, muxer) = vsockSetup(wakes: wakes)
        _ = postReceiveBuffer(driver)
        muxer.holdPacketsForGuest(true)
        _ = try #require(muxer.hostConnected(FakeStream(), port: 1234))
        #expect(!muxer.hasPacketForGuest && muxer.nextPacketForGuest(maximumPayload: 4096) == nil)
        transport.device.serveQueue(VirtioVsock.rxQueue)
        #expect(driver.usedIndex == 0)
        let before = wakes.withLock { $0 }
        muxer.holdPacketsForGuest(false)
        #expect(wakes.withLock { $0 } == before + 1, "letting go wakes the host side, which serves the queue")
        transport.device.serveQueue(VirtioVsock.rxQueue)
        #expect(driver.usedIndex == 1)
    }
}
