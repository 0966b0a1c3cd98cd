import GuestMemory

/// Transmitting (virtio v1.2, 5.1.6.2 "Packet Transmission"): the driver's frames to
/// the backend.
extension VirtioNet {
    /// Sends the driver's frames while the backend takes them. Each chain is copied
    /// out and returned at once; a frame the backend has no room for waits in
    /// `transmitBuffer`, and no further chain is taken until it is sent.
    mutating func serveTransmit(_ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool) throws(VirtqueueError) {
        guard sendPending() else { return }
        var sent = 0
        repeat {
            while sent < Self.framesPerServe, let chain = try queue.popAvailable(memory: memory) {
                let written = handle(chain, queue: Self.transmitQueue, memory: memory)
                try queue.pushUsed(head: chain.head, length: written, memory: memory)
                completed = true
                sent += 1
                guard sendPending() else { return }
            }
            if sent == Self.framesPerServe {
                // More may be waiting: come back after the other direction had its turn.
                wakeUps.serveAgain(queue: Self.transmitQueue, afterNanoseconds: 0)
                return
            }
        } while try queue.armAvailableNotification(memory: memory)
    }

    /// Tries the frame waiting for room, if any; true when none waits any more.
    private mutating func sendPending() -> Bool {
        guard let range = pendingTransmit else {
            watchOutput(false)
            return true
        }
        switch backend.send(transmitBuffer[range]) {
        case .sent:
            pendingTransmit = nil
            report(.transmitted(bytes: range.count - (backend.passesHeader ? NetHeader.size : 0)))
            watchOutput(false)
            return true
        case .busy:
            watchOutput(true)
            return false
        case .rejected:
            pendingTransmit = nil
            report(.dropped(.backendRejected))
            watchOutput(false)
            return true
        case .failed(let reason):
            backendFailed(reason)
            return true
        }
    }

    /// Takes one frame from a transmit chain: checks its length before copying it,
    /// then its header, and hands it to the backend (or leaves it pending). Writes
    /// nothing into the chain: the used length is 0 (5.1.6.2.2).
    public mutating func handle(_ chain: DescriptorChain, queue: Int, memory: GuestMemory) -> UInt32 {
        guard isLinkUp else {
            report(.dropped(.linkDown))
            return 0
        }
        guard chain.readableLength >= UInt64(NetHeader.size) else {
            report(.dropped(.transmitShorterThanHeader))
            return 0
        }
        guard chain.readableLength <= UInt64(transmitBuffer.count) else {
            report(.dropped(.transmitTooLarge))
            return 0
        }
        let total = Int(chain.readableLength)
        guard chain.copyReadable(into: &transmitBuffer, memory: memory) == total else { return 0 }
        let header = NetHeader(transmitBuffer[0..<NetHeader.size])
        if header.transmitProblem(frameLength: total - NetHeader.size, negotiated: negotiated) != nil {
            report(.dropped(.transmitBadHeader))
            return 0
        }
        transmitBuffer.replaceSubrange(0..<NetHeader.size, with: header.forTransmit.bytes)
        pendingTransmit = (backend.passesHeader ? 0 : NetHeader.size)..<total
        return 0
    }
}
