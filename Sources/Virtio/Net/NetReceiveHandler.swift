import GuestMemory

/// Serves a network device's receive queue (virtio v1.2, 5.1.6.3 "Setting Up Receive
/// Buffers", 5.1.6.4 "Processing of Incoming Packets"): frames from the backend into the
/// driver's receive buffers.
///
/// It answers only when it has a frame: the backend is read only when a buffer is
/// available, so a driver that posts none leaves frames in the backend, and the handler
/// stops watching it until the driver posts more (its notification serves the queue
/// again). While it has buffers and waits for frames, it asks the driver not to notify
/// (2.7.10): the backend's readiness brings it back.
public struct NetReceiveHandler: VirtqueueHandler {
    let link: NetLink
    /// VIRTIO_NET_F_MRG_RXBUF was negotiated: a frame may span several buffers.
    let mergeable: Bool
    private let watch: BackendWatch
    /// The frame read from the backend, header room first.
    private var buffer: [UInt8]
    /// The bytes of `buffer` that hold a frame not yet delivered, header included.
    private(set) var pending: Int? = nil
    /// The chains taken for a frame that did not fit yet (at most the queue size).
    private(set) var held: [DescriptorChain] = []

    init(link: NetLink, mergeable: Bool) {
        self.link = link
        self.mergeable = mergeable
        self.watch = BackendWatch(.input, wakeUps: link.wakeUps)
        self.buffer = [UInt8](repeating: 0, count: NetHeader.size + VirtioNet.maximumFrame)
    }

    /// How many chains the handler holds for a frame that did not fit yet.
    public var heldChainCount: Int { held.count }

    /// Never called: `serve` takes chains only when it has a frame for them.
    public func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 { 0 }

    /// Moves frames from the backend to the driver while it has buffers for them, at most
    /// `VirtioNet.framesPerServe` of them; then watches the backend for more.
    public mutating func serve(_ queue: inout ServedVirtqueue) throws(VirtqueueError) {
        // The link is down for good: buffers wait in the ring, and nothing is read.
        guard link.isUp else {
            watch.set(false)
            return
        }
        for _ in 0..<VirtioNet.framesPerServe {
            if pending == nil {
                let hasBuffer = try held.isEmpty ? queue.hasAvailable() : true
                guard hasBuffer else {
                    if try waitForBuffers(&queue) { continue }
                    return
                }
                guard try readFrame(&queue) else { return }
            }
            guard try deliverPendingFrame(&queue) else {
                // Not buffers enough for the frame: wait for the driver to post more.
                if try waitForBuffers(&queue) { continue }
                return
            }
        }
        // More may be waiting: the backend's readiness brings the handler back.
        try watchBackend(&queue)
    }

    /// The driver's buffers ran out: ask it to notify when it posts more, and stop
    /// reading the backend; true if buffers came meanwhile (look again).
    private func waitForBuffers(_ queue: inout ServedVirtqueue) throws(VirtqueueError) -> Bool {
        if try queue.requestNotifications() { return true }
        watch.set(false)
        return false
    }

    /// The handler has buffers and waits for frames: the backend's readiness brings it
    /// back, so the driver need not notify it of more buffers meanwhile.
    private func watchBackend(_ queue: inout ServedVirtqueue) throws(VirtqueueError) {
        if !watch.isOn { try queue.suppressNotifications() }
        watch.set(true)
    }

    /// Reads one frame into `buffer`; false when there is none (the handler then watches
    /// the backend) or the backend failed.
    private mutating func readFrame(_ queue: inout ServedVirtqueue) throws(VirtqueueError) -> Bool {
        let offset = link.backend.passesHeader ? 0 : NetHeader.size
        switch link.backend.receive(into: &buffer, at: offset) {
        case .frame(let count) where count >= NetHeader.size - offset:
            if offset > 0 {
                // A backend without headers: a header of zeros, nothing offloaded.
                buffer.replaceSubrange(0..<NetHeader.size, with: NetHeader().bytes)
            }
            pending = offset + count
            return true
        case .frame:
            return true  // too short to be a frame: nothing to deliver; read on
        case .empty:
            try watchBackend(&queue)
            return false
        case .failed(let reason):
            if link.fail(reason) { queue.reportConfigurationChange() }
            watch.set(false)
            return false
        }
    }

    /// Puts the pending frame into the driver's buffers, taking chains until they hold
    /// it (one chain without MRG_RXBUF; as many as it needs with it, 5.1.6.3.2); false
    /// when the ring runs out first (the chains taken stay held for the frame).
    private mutating func deliverPendingFrame(_ queue: inout ServedVirtqueue) throws(VirtqueueError) -> Bool {
        guard let total = pending else { return true }
        var room = held.reduce(0) { $0 + $1.writableLength }
        while held.isEmpty || room < UInt64(total) {
            if !mergeable && !held.isEmpty {
                // 5.1.6.3.1: without MRG_RXBUF and GUEST_TSO, buffers hold 1,526 bytes;
                // a larger frame cannot be put anywhere. The chain waits for the next.
                link.report(.dropped(.receiveFrameTooLarge))
                pending = nil
                return true
            }
            guard let chain = try queue.next() else { return false }
            // 5.1.6.3.1: "each buffer MUST be at least the size of the struct
            // virtio_net_hdr"; receive buffers are device-writable. A chain that is not
            // goes back unused: nothing is written to it.
            guard chain.writableLength >= UInt64(NetHeader.size) else {
                link.report(.dropped(.receiveBufferTooShort))
                try queue.complete(chain, written: 0)
                continue
            }
            held.append(chain)
            room += chain.writableLength
        }
        // How many chains the frame fills, in order: num_buffers (5.1.6.4).
        var count = 0, covered: UInt64 = 0
        while covered < UInt64(total) {
            covered += held[count].writableLength
            count += 1
        }
        buffer[NetHeader.bufferCountOffset] = UInt8(truncatingIfNeeded: count)
        buffer[NetHeader.bufferCountOffset + 1] = UInt8(truncatingIfNeeded: count >> 8)
        var offset = 0
        for chain in held.prefix(count) {
            let written = chain.writeWritable(buffer[offset..<total], memory: queue.memory)
            try queue.complete(chain, written: UInt32(written))
            offset += written
        }
        held.removeFirst(count)
        pending = nil
        link.report(.received(bytes: total - NetHeader.size, buffers: count))
        return true
    }
}
