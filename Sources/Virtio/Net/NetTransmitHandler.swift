import GuestMemory

/// Serves a network device's transmit queue (virtio v1.2, 5.1.6.2 "Packet
/// Transmission"): the driver's frames to the backend. Each chain is copied out and
/// returned at once; a frame the backend has no room for waits in `buffer`, and no
/// further chain is taken until it is sent (the handler then watches the backend for
/// room).
struct NetTransmitHandler: VirtqueueHandler {
    let link: NetLink
    /// The features the driver accepted, which a frame's header must keep to.
    let negotiated: VirtioFeatures
    private let watch: BackendWatch
    /// A frame copied out of the driver's chain, header first.
    private var buffer: [UInt8]
    /// The bytes of `buffer` the backend has not taken yet.
    private var pending: Range<Int>? = nil

    init(link: NetLink, negotiated: VirtioFeatures) {
        self.link = link
        self.negotiated = negotiated
        self.watch = BackendWatch(.output, wakeUps: link.wakeUps)
        self.buffer = [UInt8](repeating: 0, count: NetHeader.size + VirtioNet.maximumFrame)
    }

    /// Sends the driver's frames while the backend takes them, at most
    /// `VirtioNet.framesPerServe` a round; past that, asks to be served again after the
    /// other direction had its turn.
    mutating func serve(_ queue: inout ServedVirtqueue) throws(VirtqueueError) {
        guard sendPending(&queue) else { return }
        var sent = 0
        while let chain = try queue.next() {
            try queue.complete(chain, written: handle(chain, memory: queue.memory))
            sent += 1
            guard sendPending(&queue) else { return }
            if sent == VirtioNet.framesPerServe {
                link.wakeUps.serveAgain(queue: VirtioNet.transmitQueue, afterNanoseconds: 0)
                return
            }
        }
    }

    /// Tries the frame waiting for room, if any; true when none waits any more.
    private mutating func sendPending(_ queue: inout ServedVirtqueue) -> Bool {
        guard let range = pending else {
            watch.set(false)
            return true
        }
        switch link.backend.send(buffer[range]) {
        case .sent:
            pending = nil
            link.report(.transmitted(bytes: range.count - (link.backend.passesHeader ? NetHeader.size : 0)))
            watch.set(false)
            return true
        case .busy:
            watch.set(true)
            return false
        case .rejected:
            pending = nil
            link.report(.dropped(.backendRejected))
            watch.set(false)
            return true
        case .failed(let reason):
            pending = nil
            if link.fail(reason) { queue.reportConfigurationChange() }
            watch.set(false)
            return true
        }
    }

    /// Takes one frame from a transmit chain: checks its length before copying it,
    /// then its header, and leaves it for the backend. Writes nothing into the chain:
    /// the used length is 0 (5.1.6.2.2).
    mutating func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 {
        guard link.isUp else {
            link.report(.dropped(.linkDown))
            return 0
        }
        guard chain.readableLength >= UInt64(NetHeader.size) else {
            link.report(.dropped(.transmitShorterThanHeader))
            return 0
        }
        guard chain.readableLength <= UInt64(buffer.count) else {
            link.report(.dropped(.transmitTooLarge))
            return 0
        }
        let total = Int(chain.readableLength)
        guard chain.copyReadable(into: &buffer, memory: memory) == total else { return 0 }
        let header = NetHeader(buffer[0..<NetHeader.size])
        if header.transmitProblem(frameLength: total - NetHeader.size, negotiated: negotiated) != nil {
            link.report(.dropped(.transmitBadHeader))
            return 0
        }
        buffer.replaceSubrange(0..<NetHeader.size, with: header.forTransmit.bytes)
        pending = (link.backend.passesHeader ? 0 : NetHeader.size)..<total
        return 0
    }
}
