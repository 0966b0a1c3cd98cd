import Locking
import Testing
import Virtio

/// A host stream that takes `capacity` bytes at most (then none until drained), and
/// records what it was sent.
final class FakeStream: VsockStream {
    let sent = Locked<[UInt8]>([])
    let shut = Locked(false)
    let capacity: Int
    init(capacity: Int = .max) { self.capacity = capacity }
    func sendSome(_ bytes: ArraySlice<UInt8>) -> Int? {
        sent.withLock { sent in
            let count = min(bytes.count, capacity - sent.count)
            sent += bytes.prefix(count)
            return count
        }
    }
    func shutdownSending() { shut.withLock { $0 = true } }
    var text: String { String(decoding: sent.withLock { $0 }, as: UTF8.self) }
}

private let guestCID: UInt64 = 3

private func fromGuest(_ op: VsockPacket.Operation, guestPort: UInt32, hostPort: UInt32, payload: [UInt8] = [],
                       bufferAllocation: UInt32 = 1 << 16, forwardCount: UInt32 = 0, flags: UInt32 = 0) -> VsockPacket {
    VsockPacket(sourceCID: guestCID, destinationCID: VsockMuxer.hostCID, sourcePort: guestPort, destinationPort: hostPort,
                op: op, flags: flags, bufferAllocation: bufferAllocation, forwardCount: forwardCount, payload: payload)
}

@Suite("virtio-vsock (virtio v1.2, 5.10): packets, connections and credit")
struct VsockTests {
    @Test("5.10.6: the header is 44 bytes, little-endian, and a packet reads back as written")
    func packetBytes() throws {
        let packet = VsockPacket(sourceCID: 2, destinationCID: 0x1_0000_0003, sourcePort: 0x0102_0304, destinationPort: 5,
                                 op: .readWrite, flags: 2, bufferAllocation: 7, forwardCount: 9, payload: [0xaa, 0xbb])
        let bytes = packet.bytes
        #expect(bytes.count == 46)
        #expect(Array(bytes[0..<8]) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[8..<16]) == [3, 0, 0, 0, 1, 0, 0, 0])
        #expect(Array(bytes[16..<20]) == [4, 3, 2, 1])
        #expect(Array(bytes[24..<32]) == [2, 0, 0, 0, 1, 0, 5, 0])  // len, type STREAM, op RW
        #expect(VsockPacket.parse(bytes) == packet)
        #expect(VsockPacket.parse(Array(bytes.dropLast())) == nil, "a payload shorter than len")
        #expect(VsockPacket.parse(Array(bytes.prefix(43))) == nil, "a short header")
    }

    @Test("a guest connection to a host port with a listener is answered RESPONSE; without one, RST")
    func guestConnects() {
        let stream = FakeStream()
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { $0 == 5000 ? stream : nil }, wake: {})
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2000, hostPort: 5000))
        let response = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(response?.operation == .response && response?.destinationPort == 2000 && response?.sourcePort == 5000)
        #expect(response?.bufferAllocation == VsockMuxer.bufferAllocation)
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2001, hostPort: 6000))
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096)?.operation == .reset)
        muxer.receiveFromGuest(fromGuest(.readWrite, guestPort: 2000, hostPort: 5000, payload: Array("hello".utf8)))
        #expect(stream.text == "hello")
        #expect(muxer.connectionCount == 1)
    }

    @Test("a host CONNECT becomes OP_REQUEST; the guest's RESPONSE sends the program 'OK HOSTPORT'")
    func hostConnects() throws {
        let stream = FakeStream()
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in nil }, wake: {})
        let local = try #require(muxer.hostConnected(stream, port: 1234))
        let request = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(request?.operation == .request && request?.destinationPort == 1234 && request?.sourcePort == local)
        #expect(request?.destinationCID == guestCID && request?.sourceCID == 2)
        muxer.receiveFromGuest(fromGuest(.response, guestPort: 1234, hostPort: local))
        #expect(stream.text == "OK \(local)\n")
    }

    @Test("5.10.6.3: host data goes to the guest only within its credit, and the read budget says so")
    func credit() throws {
        let stream = FakeStream()
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in stream }, wake: {})
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2000, hostPort: 5000, bufferAllocation: 100))
        _ = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(muxer.hostInterest().first?.readBudget == 100)
        muxer.hostSent([UInt8](repeating: 1, count: 150), on: stream)
        let first = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(first?.operation == .readWrite && first?.payload.count == 100)
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096) == nil, "no credit left")
        #expect(!muxer.hasPacketForGuest)
        #expect(muxer.hostInterest().first?.readBudget == 0)
        // The guest consumed 60 bytes: 60 more may go.
        muxer.receiveFromGuest(fromGuest(.creditUpdate, guestPort: 2000, hostPort: 5000, bufferAllocation: 100, forwardCount: 60))
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096)?.payload.count == 50)
    }

    @Test("a guest that sends past the buffer it was offered loses the connection (RST)")
    func overrun() {
        let stream = FakeStream(capacity: 0)  // a host program that never reads
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in stream }, wake: {})
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2000, hostPort: 5000))
        _ = muxer.nextPacketForGuest(maximumPayload: 4096)
        let chunk = [UInt8](repeating: 7, count: 64 << 10)
        for _ in 0..<Int(VsockMuxer.bufferAllocation) / chunk.count {
            muxer.receiveFromGuest(fromGuest(.readWrite, guestPort: 2000, hostPort: 5000, payload: chunk))
        }
        #expect(muxer.connectionCount == 1, "up to the offered buffer is held")
        muxer.receiveFromGuest(fromGuest(.readWrite, guestPort: 2000, hostPort: 5000, payload: [1]))
        #expect(muxer.connectionCount == 0)
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096)?.operation == .reset)
    }

    @Test("the host program leaving: its data first, then SHUTDOWN; the guest's RST ends the connection")
    func hostCloses() {
        let stream = FakeStream()
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in stream }, wake: {})
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2000, hostPort: 5000))
        _ = muxer.nextPacketForGuest(maximumPayload: 4096)
        muxer.hostSent([1, 2, 3], on: stream)
        muxer.hostClosed(stream)
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096)?.payload == [1, 2, 3])
        let shutdown = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(shutdown?.operation == .shutdown && shutdown?.flags == 3)
        muxer.receiveFromGuest(fromGuest(.reset, guestPort: 2000, hostPort: 5000))
        #expect(muxer.connectionCount == 0)
    }

    @Test("what a guest may not send is answered RST: another CID, another type, an unknown op, a stranger's data")
    func hostile() {
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in FakeStream() }, wake: {})
        var spoofed = fromGuest(.request, guestPort: 1, hostPort: 2)
        spoofed.sourceCID = 9
        var seqpacket = fromGuest(.request, guestPort: 1, hostPort: 2)
        seqpacket.type = 2
        var unknown = fromGuest(.request, guestPort: 1, hostPort: 2)
        unknown.op = 99
        for packet in [spoofed, seqpacket, unknown, fromGuest(.readWrite, guestPort: 5, hostPort: 6, payload: [1])] {
            muxer.receiveFromGuest(packet)
            #expect(muxer.nextPacketForGuest(maximumPayload: 4096)?.operation == .reset)
        }
        #expect(muxer.connectionCount == 0)
        muxer.receiveFromGuest(fromGuest(.reset, guestPort: 5, hostPort: 6))
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096) == nil, "a reset is never answered")
    }

    @Test("a device reset (5.10.6.1) ends the connections the guest knew; a host CONNECT still waiting is asked again")
    func reset() throws {
        let stream = FakeStream(), waiting = FakeStream()
        let muxer = VsockMuxer(guestCID: guestCID, connectToHost: { _ in stream }, wake: {})
        muxer.receiveFromGuest(fromGuest(.request, guestPort: 2000, hostPort: 5000))
        let local = try #require(muxer.hostConnected(waiting, port: 1234))
        muxer.reset()
        #expect(muxer.connectionCount == 1 && stream.shut.withLock { $0 } && !waiting.shut.withLock { $0 })
        let request = muxer.nextPacketForGuest(maximumPayload: 4096)
        #expect(request?.operation == .request && request?.sourcePort == local && request?.destinationPort == 1234)
        #expect(muxer.nextPacketForGuest(maximumPayload: 4096) == nil, "asked once, not twice")
    }
}
