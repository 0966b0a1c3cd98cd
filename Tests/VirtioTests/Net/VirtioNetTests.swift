import CUAPI
import GuestMemory
import Testing
@testable import Virtio

@Suite("virtio-net (virtio v1.2, 5.1): frames between the driver's queues and the backend")
struct VirtioNetTests {
    static let mac = MACAddress("52:54:00:12:34:56")!
    static let rx = VirtioNet.receiveQueue, tx = VirtioNet.transmitQueue

    struct Setup {
        var state: VirtioDeviceState
        let rings: TestRings
        let backend: FakeNetBackend
        let wakeUps: RecordingWakeUps
    }

    func setUp(passesHeader: Bool = true, features: VirtioFeatures = [.version1], offloads: Bool = true) -> Setup {
        let backend = FakeNetBackend(passesHeader: passesHeader), wakeUps = RecordingWakeUps()
        let rings = TestRings(queues: 2)
        var state = VirtioDeviceState(
            device: VirtioNet(name: "net", mac: Self.mac, backend: backend, offloads: offloads, wakeUps: wakeUps),
            memory: rings.memory)
        rings.start(&state, features: features)
        return Setup(state: state, rings: rings, backend: backend, wakeUps: wakeUps)
    }

    /// An Ethernet frame of `count` bytes: bytes i = i mod 251.
    func frame(_ count: Int, salt: Int = 0) -> [UInt8] { (0..<count).map { UInt8(($0 + salt) % 251) } }

    // MARK: Identity and configuration

    @Test("5.1.3: MAC, STATUS, MRG_RXBUF, MTU always; the offloads only over a backend that passes the header")
    func features() {
        let tap = VirtioNet(name: "n", mac: Self.mac, backend: FakeNetBackend(passesHeader: true))
        let bare = VirtioNet(name: "n", mac: Self.mac, backend: FakeNetBackend(passesHeader: false))
        let off = VirtioNet(name: "n", mac: Self.mac, backend: FakeNetBackend(passesHeader: true), offloads: false)
        let base: VirtioFeatures = [.netMAC, .netStatus, .netMergeableReceiveBuffers, .netMTU]
        #expect(tap.features == base.union(.netOffloads))
        #expect(bare.features == base)
        #expect(off.features == base)
        #expect(tap.deviceID == 1 && tap.queueSizes.count == 2)
    }

    @Test("5.1.4: the configuration space holds mac, status LINK_UP, max_virtqueue_pairs 1 and mtu")
    func configuration() {
        let net = VirtioNet(name: "n", mac: Self.mac, mtu: 9000, backend: FakeNetBackend(passesHeader: true))
        #expect((0..<6).map { UInt8(net.readConfiguration(offset: UInt64($0), size: 1)) } == Self.mac.bytes)
        #expect(net.readConfiguration(offset: 6, size: 2) == UInt64(VIRTIO_NET_S_LINK_UP))
        #expect(net.readConfiguration(offset: 8, size: 2) == 1)
        #expect(net.readConfiguration(offset: 10, size: 2) == 9000)
    }

    @Test("GUEST_CSUM and GUEST_TSO4/6 negotiated turn on the backend's receive offloads; TSO needs the checksum offload")
    func receiveOffloads() {
        let setup = setUp(features: [.version1, .netGuestChecksum, .netGuestTSO4, .netGuestTSO6])
        #expect(setup.backend.offloads == [[.checksum, .tso4, .tso6]])
        #expect(ReceiveOffloads(negotiated: [.netGuestTSO4]) == [])
    }

    @Test("MAC addresses: parsed as six hex bytes; a stable one is unicast, locally administered and the same for the same seed")
    func macAddresses() {
        #expect(MACAddress("52:54:00:ab:cd:EF")?.bytes == [0x52, 0x54, 0, 0xab, 0xcd, 0xef])
        for bad in ["", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52:54:00:ab:cd:xy", "525:4:00:ab:cd:ef", "52-54-00-ab-cd-ef"] {
            #expect(MACAddress(bad) == nil, "\(bad)")
        }
        #expect(MACAddress("01:00:5e:00:00:01")!.isMulticast)
        let a = MACAddress.stable(seed: "tap:tap0#0"), b = MACAddress.stable(seed: "tap:tap0#0"), c = MACAddress.stable(seed: "tap:tap1#0")
        #expect(a == b && a != c)
        #expect(a.bytes[0] == 0x02 && !a.isMulticast)
        #expect(a.description.count == 17)
    }

    // MARK: Transmit (5.1.6.2)

    @Test("5.1.6.2: a frame and its header go to a tap whole, the header's NEEDS_CSUM passed on, DATA_VALID cleared")
    func transmitWithHeader() {
        var setup = setUp(features: [.version1, .netChecksum, .netHostTSO4])
        var header = NetHeader()
        header.flags = NetHeader.needsChecksum | NetHeader.dataValid
        header.gsoType = NetHeader.gsoTCPv4
        header.gsoSize = 1448
        header.checksumStart = 34
        header.checksumOffset = 16
        header.bufferCount = 7
        let payload = frame(3000)
        // Split as a driver may: the header alone, then the frame in two pieces.
        let h = setup.rings.place(header.bytes), a = setup.rings.place(Array(payload[..<1000])), b = setup.rings.place(Array(payload[1000...]))
        setup.rings.post(Self.tx, [(h, 12, false), (a, 1000, false), (b, 2000, false)])
        #expect(setup.state.queueNotified(Self.tx) == [.usedBuffer(queue: Self.tx)])
        #expect(setup.rings.takeUsed(Self.tx).map(\.length) == [0])
        var expected = header
        expected.flags = NetHeader.needsChecksum
        expected.bufferCount = 0
        #expect(setup.backend.sent == [expected.bytes + payload])
    }

    @Test("5.1.6.2: to a backend without headers (passt) goes the bare frame")
    func transmitBare() {
        var setup = setUp(passesHeader: false)
        let payload = frame(60)
        setup.rings.post(Self.tx, [(setup.rings.place(NetHeader().bytes + payload), 72, false)])
        _ = setup.state.queueNotified(Self.tx)
        #expect(setup.backend.sent == [payload])
    }

    @Test("hostile transmit chains are dropped, each returned, nothing reaching the backend: too short, over 64 KiB, offloads not negotiated")
    func transmitDrops() {
        var setup = setUp(features: [.version1])
        setup.rings.post(Self.tx, [(setup.rings.place([1, 2, 3]), 3, false)])
        // 12 + maximumFrame + 1 bytes, in one buffer: too large.
        let big = setup.rings.place([UInt8](repeating: 0, count: NetHeader.size + VirtioNet.maximumFrame + 1))
        setup.rings.post(Self.tx, [(big, UInt32(NetHeader.size + VirtioNet.maximumFrame + 1), false)])
        var csum = NetHeader(); csum.flags = NetHeader.needsChecksum
        setup.rings.post(Self.tx, [(setup.rings.place(csum.bytes + frame(100)), 112, false)])
        var tso = NetHeader(); tso.gsoType = NetHeader.gsoTCPv6; tso.gsoSize = 1400
        setup.rings.post(Self.tx, [(setup.rings.place(tso.bytes + frame(100)), 112, false)])
        // A chain of device-writable buffers only: nothing readable, shorter than a header.
        setup.rings.post(Self.tx, [(setup.rings.place(frame(200)), 200, true)])
        _ = setup.state.queueNotified(Self.tx)
        #expect(setup.rings.takeUsed(Self.tx).map(\.length) == [0, 0, 0, 0, 0])
        #expect(setup.backend.sent.isEmpty)
        #expect(setup.state.isLive)
    }

    @Test("NetHeader.transmitProblem: the checksum must lie in the frame; TSO needs its feature and a segment size; UFO and ECN are refused")
    func headerChecks() {
        let all: VirtioFeatures = [.netChecksum, .netHostTSO4, .netHostTSO6]
        var header = NetHeader()
        #expect(header.transmitProblem(frameLength: 0, negotiated: []) == nil)
        header.flags = NetHeader.needsChecksum; header.checksumStart = 90; header.checksumOffset = 8
        #expect(header.transmitProblem(frameLength: 100, negotiated: all) == nil)
        #expect(header.transmitProblem(frameLength: 99, negotiated: all) != nil)
        header.gsoType = NetHeader.gsoTCPv4
        #expect(header.transmitProblem(frameLength: 100, negotiated: all) != nil)  // gso_size 0
        header.gsoSize = 1000
        #expect(header.transmitProblem(frameLength: 100, negotiated: all) == nil)
        #expect(header.transmitProblem(frameLength: 100, negotiated: [.netChecksum]) != nil)
        header.gsoType = NetHeader.gsoTCPv4 | NetHeader.gsoECN
        #expect(header.transmitProblem(frameLength: 100, negotiated: all) != nil)
        header.gsoType = UInt8(VIRTIO_NET_HDR_GSO_UDP)
        #expect(header.transmitProblem(frameLength: 100, negotiated: all) != nil)
        #expect(NetHeader(header.bytes[...]) == header)
        #expect(NetHeader.size == 12)
    }

    @Test("a backend with no room: the frame waits, no further chain is taken, the device watches for room and sends it after")
    func transmitBusy() {
        var setup = setUp()
        setup.backend.busy = true
        for salt in 0..<3 { setup.rings.post(Self.tx, [(setup.rings.place(NetHeader().bytes + frame(50, salt: salt)), 62, false)]) }
        _ = setup.state.queueNotified(Self.tx)
        #expect(setup.rings.takeUsed(Self.tx).count == 1)  // copied out, returned; the rest wait
        #expect(setup.wakeUps.output == [true])
        setup.backend.busy = false
        _ = setup.state.serve(Self.tx)
        #expect(setup.rings.takeUsed(Self.tx).count == 2)
        #expect(setup.backend.sent.map { Array($0.dropFirst(12)) } == (0..<3).map { frame(50, salt: $0) })
        #expect(setup.wakeUps.output == [true, false])
    }

    @Test("a transmit flood, ten queues' worth: every frame reaches the backend in order, every chain comes back")
    func transmitFlood() {
        var setup = setUp()
        var returned = 0
        for round in 0..<10 {
            for index in 0..<16 { setup.rings.post(Self.tx, [(setup.rings.place(NetHeader().bytes + frame(20, salt: round * 16 + index)), 32, false)]) }
            _ = setup.state.queueNotified(Self.tx)
            returned += setup.rings.takeUsed(Self.tx).count
        }
        #expect(returned == 160)
        #expect(setup.backend.sent.map { Array($0.dropFirst(12)) } == (0..<160).map { frame(20, salt: $0) })
    }

    // MARK: Receive (5.1.6.3, 5.1.6.4)

    @Test("5.1.6.4: a frame lands in one buffer behind its header, num_buffers 1; the used length counts both")
    func receiveOne() {
        var setup = setUp()
        var header = NetHeader(); header.flags = NetHeader.dataValid
        setup.backend.queue(header.bytes + frame(100))
        let buffer = setup.rings.postWritable(Self.rx, length: 1526)
        #expect(setup.state.queueNotified(Self.rx) == [.usedBuffer(queue: Self.rx)])
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [112])
        header.bufferCount = 1
        #expect(setup.rings.bytes(at: buffer, count: 112) == header.bytes + frame(100))
    }

    @Test("5.1.6.4: from a backend without headers, a frame gets a header of zeros but num_buffers")
    func receiveBare() {
        var setup = setUp(passesHeader: false)
        setup.backend.queue(frame(64))
        let buffer = setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        var header = NetHeader(); header.bufferCount = 1
        #expect(setup.rings.bytes(at: buffer, count: 76) == header.bytes + frame(64))
    }

    @Test("5.1.6.4 MRG_RXBUF: a 4000-byte frame spans three 1526-byte buffers, num_buffers 3, consecutive used entries")
    func receiveMergeable() {
        var setup = setUp(features: [.version1, .netMergeableReceiveBuffers])
        setup.backend.queue(NetHeader().bytes + frame(4000))
        let buffers = (0..<4).map { _ in setup.rings.postWritable(Self.rx, length: 1526) }
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [1526, 1526, 960])
        let joined = setup.rings.bytes(at: buffers[0], count: 1526) + setup.rings.bytes(at: buffers[1], count: 1526)
            + setup.rings.bytes(at: buffers[2], count: 960)
        var header = NetHeader(); header.bufferCount = 3
        #expect(joined == header.bytes + frame(4000))
        // The fourth buffer waits for the next frame.
        setup.backend.queue(NetHeader().bytes + frame(10))
        _ = setup.state.serve(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [22])
    }

    @Test("MRG_RXBUF with too few buffers: the frame and the chains taken wait until the driver posts more")
    func receiveWaitsForBuffers() {
        var setup = setUp(features: [.version1, .netMergeableReceiveBuffers])
        setup.backend.queue(NetHeader().bytes + frame(3000))
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).isEmpty)
        #expect(setup.wakeUps.input.last != true)
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [1526, 1486])
    }

    @Test("RX stops reading the backend while the guest posts no buffers: frames stay there, the device stops watching it")
    func receiveNeedsBuffers() {
        var setup = setUp()
        for _ in 0..<5 { setup.backend.queue(NetHeader().bytes + frame(100)) }
        _ = setup.state.queueNotified(Self.rx)
        _ = setup.state.serve(Self.rx)
        #expect(setup.backend.reads == 0)
        #expect(setup.backend.pending == 5)
        setup.rings.postWritable(Self.rx, length: 1526)
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).count == 2)
        #expect(setup.backend.pending == 3)
        #expect(setup.wakeUps.input.last != true)
    }

    @Test("an empty backend: the device watches it for input, and stops once it is drained of buffers")
    func receiveWatches() {
        var setup = setUp()
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.wakeUps.input == [true])
        setup.backend.queue(NetHeader().bytes + frame(100))
        _ = setup.state.serve(Self.rx)
        _ = setup.state.serve(Self.rx)
        #expect(setup.wakeUps.input == [true, false])
    }

    @Test("2.7.10: while it has receive buffers and waits for frames the device asks for no notifications (VIRTQ_USED_F_NO_NOTIFY); out of buffers, it asks again")
    func receiveNotificationSuppression() {
        var setup = setUp()
        func flags() -> UInt16 { try! setup.rings.memory.read(UInt16.self, at: setup.rings.used(Self.rx)) }
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(flags() == UInt16(VRING_USED_F_NO_NOTIFY))
        setup.backend.queue(NetHeader().bytes + frame(100))
        _ = setup.state.serve(Self.rx)
        #expect(flags() == 0)
        #expect(setup.wakeUps.input.last == false)
    }

    @Test("hostile receive chains: read-only and shorter than a header are returned unused, untouched; the frame goes to the next good one")
    func receiveHostileChains() {
        var setup = setUp(features: [.version1, .netMergeableReceiveBuffers])
        let readOnly = setup.rings.place([UInt8](repeating: 0x33, count: 2000))
        setup.rings.post(Self.rx, [(readOnly, 2000, false)])
        let short = setup.rings.place([UInt8](repeating: 0x44, count: 8))
        setup.rings.post(Self.rx, [(short, 8, true)])
        let good = setup.rings.postWritable(Self.rx, length: 1526)
        setup.backend.queue(NetHeader().bytes + frame(40))
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [0, 0, 52])
        #expect(setup.rings.bytes(at: readOnly, count: 2000) == [UInt8](repeating: 0x33, count: 2000))
        #expect(setup.rings.bytes(at: short, count: 8) == [UInt8](repeating: 0x44, count: 8))
        #expect(setup.rings.bytes(at: GuestAddress(good.rawValue + 12), count: 40) == frame(40))
        #expect(setup.state.isLive)
    }

    @Test("without MRG_RXBUF, a frame larger than the buffer is dropped and the buffer waits for the next frame")
    func receiveTooLarge() {
        var setup = setUp()
        setup.backend.queue(NetHeader().bytes + frame(3000))
        setup.backend.queue(NetHeader().bytes + frame(30))
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).map(\.length) == [42])
    }

    @Test("the backend vanishing: the link goes down (STATUS), the driver gets a configuration change, TX chains are dropped, nothing is read")
    func backendFails() {
        var setup = setUp(features: [.version1, .netStatus])
        setup.rings.postWritable(Self.rx, length: 1526)
        setup.backend.fail("tap0: read failed: File descriptor in bad state (EBADFD)")
        let interrupts = setup.state.queueNotified(Self.rx)
        #expect(interrupts.contains(.configurationChange))
        #expect(setup.state.readConfiguration(offset: 6, size: 2) == 0)
        #expect(setup.state.queueNotified(Self.rx).isEmpty)  // reported once
        setup.rings.post(Self.tx, [(setup.rings.place(NetHeader().bytes + frame(20)), 32, false)])
        _ = setup.state.queueNotified(Self.tx)
        #expect(setup.rings.takeUsed(Self.tx).map(\.length) == [0])
        #expect(setup.backend.sent.isEmpty)
        #expect(setup.state.isLive)
    }

    @Test("a reset forgets a waiting frame and the chains taken, and stops watching the backend")
    func resetForgets() {
        var setup = setUp(features: [.version1, .netMergeableReceiveBuffers])
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.wakeUps.input == [true])
        // A frame that needs two buffers: one is taken and held, the frame waits.
        setup.backend.queue(NetHeader().bytes + frame(3000))
        _ = setup.state.serve(Self.rx)
        #expect(setup.rings.takeUsed(Self.rx).isEmpty)
        setup.state.writeStatus(0)
        #expect(setup.wakeUps.input.last == false)
        // The driver sets the device up again: the next frame fills its buffer, not the
        // one forgotten.
        let rings = TestRings(queues: 2, memory: setup.rings.memory)
        rings.start(&setup.state, features: [.version1, .netMergeableReceiveBuffers])
        let buffer = rings.postWritable(Self.rx, length: 1526)
        setup.backend.queue(NetHeader().bytes + frame(10))
        _ = setup.state.queueNotified(Self.rx)
        #expect(rings.takeUsed(Self.rx).map(\.length) == [22])
        var header = NetHeader(); header.bufferCount = 1
        #expect(rings.bytes(at: buffer, count: 22) == header.bytes + frame(10))
    }

    @Test("a hostile driver disabling the receive queue while the device watches the backend: the watch ends with the queue's handler, so no thread wakes for a queue no one serves")
    func disabledQueueStopsWatching() {
        var setup = setUp()
        setup.rings.postWritable(Self.rx, length: 1526)
        _ = setup.state.queueNotified(Self.rx)
        #expect(setup.wakeUps.input == [true])
        setup.state.disableQueue(Self.rx)
        #expect(setup.wakeUps.input == [true, false])
        // A frame arriving now is left in the backend: nothing serves the queue.
        setup.backend.queue(NetHeader().bytes + frame(60))
        #expect(setup.state.serve(Self.rx).isEmpty)
        #expect(setup.backend.pending == 1)
    }
}
