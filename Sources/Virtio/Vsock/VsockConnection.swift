/// The host end of a stream the guest sees as a vsock connection: a Unix socket in
/// SwiftVMM (`VsockMuxer` never reads it: the machine's vsock thread does, and hands
/// the bytes over), given to the Virtio layer as this protocol so it needs no sockets.
public protocol VsockStream: AnyObject, Sendable {
    /// Sends as much of `bytes` as the stream takes now, without waiting; nil when the
    /// peer is gone.
    func sendSome(_ bytes: ArraySlice<UInt8>) -> Int?
    /// No more bytes will be sent: the peer reads end of file.
    func shutdownSending()
}

/// One connection's state and credit (virtio v1.2, 5.10.6.3 "Buffer Space Management").
///
/// "Local" is the host side (CID 2), "peer" the guest. Counters are free-running 32-bit
/// values, compared by wrapping difference, as the specification's are.
struct VsockConnection {
    enum State: Equatable {
        /// A host program asked for it (`CONNECT port`); the guest has not answered.
        case connecting
        case established
    }

    let localPort: UInt32
    let peerPort: UInt32
    let stream: any VsockStream
    var state: State

    // What the guest said of its receive buffer, on its last packet.
    var peerBufferAllocation: UInt32 = 0
    var peerForwardCount: UInt32 = 0
    /// Payload bytes sent to the guest so far (the peer's "rx_cnt" as seen from here).
    var sentToPeer: UInt32 = 0
    /// Payload bytes from the guest passed on to the host stream ("fwd_cnt").
    var forwardCount: UInt32 = 0
    /// `forwardCount` as last told to the guest.
    var forwardCountTold: UInt32 = 0

    /// Bytes from the guest the host stream has not taken yet: at most `bufferAllocation`
    /// (the guest may not send more; one that does loses the connection).
    var toHost: [UInt8] = []
    /// Bytes from the host read and not yet sent to the guest.
    var toGuest: [UInt8] = []
    /// The host closed its end: once `toGuest` is sent, the guest is told (SHUTDOWN).
    var hostClosed = false
    var shutdownSent = false
    /// The guest will send no more: once `toHost` is flushed, the host stream's sending
    /// side is shut.
    var guestSendClosed = false
    var hostSendShut = false

    init(localPort: UInt32, peerPort: UInt32, stream: any VsockStream, state: State) {
        self.localPort = localPort
        self.peerPort = peerPort
        self.stream = stream
        self.state = state
    }

    /// Bytes the guest can take now: its buffer less what is in flight (5.10.6.3).
    var peerCredit: UInt32 {
        let inFlight = sentToPeer &- peerForwardCount
        return inFlight >= peerBufferAllocation ? 0 : peerBufferAllocation - inFlight
    }

    /// Passes what it can of `toHost` to the host stream; false if the stream is gone.
    mutating func flushToHost() -> Bool {
        if !toHost.isEmpty {
            guard let sent = stream.sendSome(toHost[...]) else { return false }
            toHost.removeFirst(sent)
            forwardCount &+= UInt32(sent)
        }
        if toHost.isEmpty && guestSendClosed && !hostSendShut {
            stream.shutdownSending()
            hostSendShut = true
        }
        return true
    }
}
