import Locking

/// The connections of one virtio-vsock device, in Firecracker's hybrid design: the
/// guest's vsock streams meet host programs on Unix sockets (virtio v1.2, 5.10).
///
/// - A host program connects to the device's socket and writes `CONNECT PORT\n`; the
///   machine's vsock thread reads that line and calls `hostConnected`, which asks the
///   guest for a connection to PORT (OP_REQUEST). When the guest accepts (OP_RESPONSE),
///   the program reads `OK HOSTPORT\n` and the stream is open.
/// - A guest connection to host port P (OP_REQUEST to CID 2) reaches a program listening
///   at `uds_path_P`, through `connectToHost`; OP_RESPONSE if it is there, OP_RST if not.
///
/// The device's queue handlers (`VsockQueueHandler`) call in from whichever thread
/// serves their queue, holding that queue's lock; the vsock thread calls in holding
/// none. The muxer's own lock orders them (always taken after a queue's lock, never
/// before one). `wake` tells the vsock thread that there is new work: packets for the
/// guest, bytes for the host.
public final class VsockMuxer: Sendable {
    /// CID 2, VMADDR_CID_HOST: the host's address as the guest sees it (5.10.4).
    public static let hostCID: UInt64 = 2
    /// The receive buffer the host side offers the guest per connection: the most bytes
    /// from the guest SwiftVMM holds for a host program that does not read.
    public static let bufferAllocation: UInt32 = 256 << 10
    /// The most bytes read from a host program ahead of the guest's credit, per connection.
    public static let hostReadAhead = 64 << 10
    /// Host ports of host-initiated connections: from 2^30, as Firecracker numbers them,
    /// clear of the ports guests listen on.
    static let firstLocalPort: UInt32 = 1 << 30
    /// Most connections at once: a guest cannot make SwiftVMM hold unbounded state.
    public static let maximumConnections = 1024

    struct Key: Hashable {
        let localPort: UInt32
        let peerPort: UInt32
    }

    struct State {
        var connections: [Key: VsockConnection] = [:]
        /// Control packets (RESPONSE, RST, SHUTDOWN, CREDIT_*) waiting for the guest, in order.
        var control: [VsockPacket] = []
        var nextLocalPort = VsockMuxer.firstLocalPort
        /// While true (the machine is paused) no packet goes to the guest.
        var held = false
    }

    public let guestCID: UInt64
    private let state = Locked(State())
    private let connectToHost: @Sendable (UInt32) -> (any VsockStream)?
    private let wake: @Sendable () -> Void

    /// A muxer for the guest at `guestCID`; `connectToHost(port)` opens a stream to the
    /// host program listening for guest port connections to `port` (nil if none is).
    public init(
        guestCID: UInt64, connectToHost: @escaping @Sendable (UInt32) -> (any VsockStream)?,
        wake: @escaping @Sendable () -> Void
    ) {
        self.guestCID = guestCID
        self.connectToHost = connectToHost
        self.wake = wake
    }

    /// Connections open now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    // MARK: Packets from the guest (the TX queue)

    /// Acts on one packet the guest sent (5.10.6.4-5.10.6.6).
    public func receiveFromGuest(_ packet: VsockPacket) {
        state.withLock { state in
            let key = Key(localPort: packet.destinationPort, peerPort: packet.sourcePort)
            // Only streams, from the guest's own CID, to the host, are served; anything
            // else is answered with a reset (5.10.6.4: an unknown type gets RST).
            guard packet.type == VsockPacket.streamType, packet.sourceCID == guestCID,
                  packet.destinationCID == Self.hostCID, let operation = packet.operation
            else {
                if packet.operation != .reset { state.control.append(reset(key)) }
                return
            }
            if operation == .request {
                openFromGuest(packet, key: key, state: &state)
                return
            }
            guard var connection = state.connections[key] else {
                if operation != .reset { state.control.append(reset(key)) }
                return
            }
            connection.peerBufferAllocation = packet.bufferAllocation
            connection.peerForwardCount = packet.forwardCount
            switch operation {
            case .response:
                guard connection.state == .connecting else { return close(key, state: &state, reset: true) }
                connection.state = .established
                // The host program learns its connection is open, and its port.
                _ = connection.stream.sendSome(Array("OK \(connection.localPort)\n".utf8)[...])
            case .readWrite:
                guard connection.state == .established else { return close(key, state: &state, reset: true) }
                // 5.10.6.3: the guest may not send more than the buffer it was offered.
                guard connection.toHost.count + packet.payload.count <= Int(Self.bufferAllocation) else {
                    return close(key, state: &state, reset: true)
                }
                connection.toHost += packet.payload
                guard connection.flushToHost() else { return close(key, state: &state, reset: true) }
                // Tell the guest of freed space before it must ask (5.10.6.3).
                if connection.forwardCount &- connection.forwardCountTold >= Self.bufferAllocation / 4 {
                    state.control.append(creditUpdate(&connection))
                }
            case .creditRequest:
                state.control.append(creditUpdate(&connection))
            case .creditUpdate:
                break  // the new credit is taken above
            case .shutdown:
                let flags = VsockPacket.ShutdownFlags(rawValue: packet.flags)
                if flags.contains([.receive, .send]) {
                    // The guest is done both ways: reset to finish, as the peer closing
                    // last does (5.10.6.6).
                    return close(key, state: &state, reset: true)
                }
                if flags.contains(.send) {
                    connection.guestSendClosed = true
                    guard connection.flushToHost() else { return close(key, state: &state, reset: true) }
                }
            case .reset:
                return close(key, state: &state, reset: false)
            case .request, .invalid:
                return close(key, state: &state, reset: true)
            }
            state.connections[key] = connection
        }
        wake()
    }

    private func openFromGuest(_ packet: VsockPacket, key: Key, state: inout State) {
        guard state.connections[key] == nil, state.connections.count < Self.maximumConnections,
              let stream = connectToHost(packet.destinationPort)
        else {
            state.control.append(reset(key))
            return
        }
        var connection = VsockConnection(localPort: key.localPort, peerPort: key.peerPort, stream: stream, state: .established)
        connection.peerBufferAllocation = packet.bufferAllocation
        connection.peerForwardCount = packet.forwardCount
        state.control.append(header(.response, &connection))
        state.connections[key] = connection
    }

    /// Drops connection `key` (its stream closes when the last reference goes), and
    /// resets the guest's end when `reset`.
    private func close(_ key: Key, state: inout State, reset sendReset: Bool) {
        if let connection = state.connections.removeValue(forKey: key) {
            connection.stream.shutdownSending()
        }
        if sendReset { state.control.append(reset(key)) }
    }

    // MARK: Packets for the guest (the RX queue)

    /// Whether a packet waits for the guest: the device takes an RX buffer only then.
    /// None does while packets are held.
    public var hasPacketForGuest: Bool {
        state.withLock { state in
            guard !state.held else { return false }
            return !state.control.isEmpty || state.connections.values.contains {
                $0.state == .established && ((!$0.toGuest.isEmpty && $0.peerCredit > 0) || ($0.hostClosed && $0.toGuest.isEmpty && !$0.shutdownSent))
            }
        }
    }

    /// The next packet for the guest, with at most `maximumPayload` bytes of data: control
    /// packets first, then data within each connection's credit, then SHUTDOWN for
    /// connections whose host program left once their data is through.
    public func nextPacketForGuest(maximumPayload: Int) -> VsockPacket? {
        state.withLock { state in
            if state.held { return nil }
            if !state.control.isEmpty { return state.control.removeFirst() }
            for key in state.connections.keys.sorted(by: { ($0.localPort, $0.peerPort) < ($1.localPort, $1.peerPort) }) {
                guard var connection = state.connections[key], connection.state == .established else { continue }
                let count = min(connection.toGuest.count, Int(connection.peerCredit), maximumPayload)
                if count > 0 {
                    var packet = header(.readWrite, &connection)
                    packet.payload = Array(connection.toGuest.prefix(count))
                    connection.toGuest.removeFirst(count)
                    connection.sentToPeer &+= UInt32(count)
                    state.connections[key] = connection
                    return packet
                }
                if connection.hostClosed && connection.toGuest.isEmpty && !connection.shutdownSent {
                    var packet = header(.shutdown, &connection)
                    packet.flags = VsockPacket.ShutdownFlags([.receive, .send]).rawValue
                    connection.shutdownSent = true
                    state.connections[key] = connection
                    return packet
                }
            }
            return nil
        }
    }

    private func header(_ operation: VsockPacket.Operation, _ connection: inout VsockConnection) -> VsockPacket {
        connection.forwardCountTold = connection.forwardCount
        return VsockPacket(
            sourceCID: Self.hostCID, destinationCID: guestCID, sourcePort: connection.localPort,
            destinationPort: connection.peerPort, op: operation,
            bufferAllocation: Self.bufferAllocation, forwardCount: connection.forwardCount)
    }

    private func creditUpdate(_ connection: inout VsockConnection) -> VsockPacket {
        header(.creditUpdate, &connection)
    }

    private func reset(_ key: Key) -> VsockPacket {
        VsockPacket(sourceCID: Self.hostCID, destinationCID: guestCID, sourcePort: key.localPort,
                    destinationPort: key.peerPort, op: .reset)
    }

    /// Holds every packet for the guest (the machine pauses), or lets them go again.
    /// Once held, no packet leaves the muxer: one that a queue's server took just before
    /// is the last, and that server's round is the last to write one.
    public func holdPacketsForGuest(_ held: Bool) {
        state.withLock { $0.held = held }
        if !held { wake() }
    }

    // MARK: The host side (the machine's vsock thread)

    /// A host program asked for guest port `port`: the guest is asked (OP_REQUEST).
    /// `early` holds bytes the program sent after its CONNECT line. Returns the
    /// connection's host port, or nil when no more connections may open.
    public func hostConnected(_ stream: any VsockStream, port: UInt32, early: [UInt8] = []) -> UInt32? {
        let localPort: UInt32? = state.withLock { state in
            guard state.connections.count < Self.maximumConnections else { return nil }
            var local = state.nextLocalPort
            while state.connections.keys.contains(where: { $0.localPort == local }) { local &+= 1 }
            state.nextLocalPort = local &+ 1 < Self.firstLocalPort ? Self.firstLocalPort : local &+ 1
            var connection = VsockConnection(localPort: local, peerPort: port, stream: stream, state: .connecting)
            connection.toGuest = early
            state.control.append(header(.request, &connection))
            state.connections[Key(localPort: local, peerPort: port)] = connection
            return local
        }
        wake()
        return localPort
    }

    /// What the vsock thread should watch: per connection, its stream, how many bytes may
    /// be read from it now, and whether bytes wait for it to take them.
    public func hostInterest() -> [(stream: any VsockStream, readBudget: Int, wantsWrite: Bool)] {
        state.withLock { state in
            state.connections.values.map { connection in
                let room = connection.hostClosed || connection.state != .established
                    ? 0 : max(0, min(Int(connection.peerCredit), Self.hostReadAhead) - connection.toGuest.count)
                return (connection.stream, room, !connection.toHost.isEmpty)
            }
        }
    }

    /// Bytes a host program sent on `stream`, for the guest.
    public func hostSent(_ bytes: [UInt8], on stream: any VsockStream) {
        state.withLock { state in
            guard let key = state.connections.first(where: { $0.value.stream === stream })?.key else { return }
            state.connections[key]!.toGuest += bytes
        }
    }

    /// The host program closed `stream` (or it failed): the guest hears SHUTDOWN once
    /// the bytes before it are through.
    public func hostClosed(_ stream: any VsockStream) {
        state.withLock { state in
            guard let key = state.connections.first(where: { $0.value.stream === stream })?.key else { return }
            if state.connections[key]!.state == .connecting {
                close(key, state: &state, reset: true)
            } else {
                state.connections[key]!.hostClosed = true
            }
        }
    }

    /// `stream` can take bytes again: passes on what the guest sent.
    public func hostWritable(_ stream: any VsockStream) {
        state.withLock { state in
            guard let key = state.connections.first(where: { $0.value.stream === stream })?.key else { return }
            var connection = state.connections[key]!
            guard connection.flushToHost() else { return close(key, state: &state, reset: true) }
            if connection.forwardCount &- connection.forwardCountTold >= Self.bufferAllocation / 4 {
                state.control.append(creditUpdate(&connection))
            }
            state.connections[key] = connection
        }
    }

    /// The driver reset the device (5.10.6.1: its connections do not survive it): every
    /// connection the guest knew of ends. Host programs still waiting for the guest to
    /// answer their CONNECT keep waiting, and are asked for again: a program that
    /// connects before the guest's driver has started (which begins with a reset) is
    /// served once it has.
    public func reset() {
        state.withLock { state in
            state.control.removeAll()
            for (key, connection) in state.connections {
                if connection.state == .connecting {
                    var waiting = connection
                    state.control.append(header(.request, &waiting))
                } else {
                    connection.stream.shutdownSending()
                    state.connections.removeValue(forKey: key)
                }
            }
        }
    }
}
