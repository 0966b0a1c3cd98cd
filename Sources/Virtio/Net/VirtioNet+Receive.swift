import GuestMemory

/// Receiving (virtio v1.2, 5.1.6.3 "Setting Up Receive Buffers", 5.1.6.4 "Processing of
/// Incoming Packets"): frames from the backend into the driver's receive buffers.
extension VirtioNet {
    /// Moves frames from the backend to the driver while it has buffers for them. The
    /// backend is read only when a buffer is available, so a driver that posts none
    /// leaves frames in the backend, and the device stops watching it until the driver
    /// posts more (its notification serves this queue again).
    mutating func serveReceive(_ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool) throws(VirtqueueError) {
        guard isLinkUp else { return }
        for _ in 0..<Self.framesPerServe {
            if pendingReceive == nil {
                let hasBuffer = try heldChains.isEmpty ? queue.hasAvailable(memory: memory) : true
                guard hasBuffer else {
                    if try waitForBuffers(&queue, memory: memory) { continue }
                    return
                }
                guard try readFrame(&queue, memory: memory) else { return }
            }
            guard try deliverPendingFrame(&queue, memory: memory, completed: &completed) else {
                // Not buffers enough for the frame: wait for the driver to post more.
                if try waitForBuffers(&queue, memory: memory) { continue }
                return
            }
        }
        // More may be waiting: the backend's readiness brings the device back.
        try watchBackend(&queue, memory: memory)
    }

    /// The driver's buffers ran out: ask it to notify when it posts more, and stop
    /// reading the backend; true if buffers came meanwhile (look again).
    private mutating func waitForBuffers(_ queue: inout Virtqueue, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        if try queue.requestNotifications(memory: memory) { return true }
        watchInput(false)
        return false
    }

    /// The device has buffers and waits for frames: the backend's readiness brings it
    /// back, so the driver need not notify it of more buffers meanwhile.
    private mutating func watchBackend(_ queue: inout Virtqueue, memory: GuestMemory) throws(VirtqueueError) {
        if !watchingInput { try queue.suppressNotifications(memory: memory) }
        watchInput(true)
    }

    /// Reads one frame into `receiveBuffer`; false when there is none (the device then
    /// watches the backend) or the backend failed.
    private mutating func readFrame(_ queue: inout Virtqueue, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let offset = backend.passesHeader ? 0 : NetHeader.size
        switch backend.receive(into: &receiveBuffer, at: offset) {
        case .frame(let count) where count >= NetHeader.size - offset:
            if offset > 0 {
                // A backend without headers: a header of zeros, nothing offloaded.
                receiveBuffer.replaceSubrange(0..<NetHeader.size, with: NetHeader().bytes)
            }
            pendingReceive = offset + count
            return true
        case .frame:
            return true  // too short to be a frame: nothing to deliver; read on
        case .empty:
            try watchBackend(&queue, memory: memory)
            return false
        case .failed(let reason):
            backendFailed(reason)
            return false
        }
    }

    /// Puts the pending frame into the driver's buffers, taking chains until they hold
    /// it (one chain without MRG_RXBUF; as many as it needs with it, 5.1.6.3.2); false
    /// when the ring runs out first (the chains taken stay held for the frame).
    private mutating func deliverPendingFrame(
        _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError) -> Bool {
        guard let total = pendingReceive else { return true }
        let mergeable = negotiated.contains(.netMergeableReceiveBuffers)
        var room = heldChains.reduce(0) { $0 + $1.writableLength }
        while heldChains.isEmpty || room < UInt64(total) {
            if !mergeable && !heldChains.isEmpty {
                // 5.1.6.3.1: without MRG_RXBUF and GUEST_TSO, buffers hold 1,526 bytes;
                // a larger frame cannot be put anywhere. The chain waits for the next.
                report(.dropped(.receiveFrameTooLarge))
                pendingReceive = nil
                return true
            }
            guard let chain = try queue.popAvailable(memory: memory) else { return false }
            // 5.1.6.3.1: "each buffer MUST be at least the size of the struct
            // virtio_net_hdr"; receive buffers are device-writable. A chain that is not
            // goes back unused: nothing is written to it.
            guard chain.writableLength >= UInt64(NetHeader.size) else {
                report(.dropped(.receiveBufferTooShort))
                try queue.pushUsed(head: chain.head, length: 0, memory: memory)
                completed = true
                continue
            }
            heldChains.append(chain)
            room += chain.writableLength
        }
        // How many chains the frame fills, in order: num_buffers (5.1.6.4).
        var count = 0, covered: UInt64 = 0
        while covered < UInt64(total) {
            covered += heldChains[count].writableLength
            count += 1
        }
        receiveBuffer[NetHeader.bufferCountOffset] = UInt8(truncatingIfNeeded: count)
        receiveBuffer[NetHeader.bufferCountOffset + 1] = UInt8(truncatingIfNeeded: count >> 8)
        var offset = 0
        for chain in heldChains.prefix(count) {
            let written = chain.writeWritable(receiveBuffer[offset..<total], memory: memory)
            try queue.pushUsed(head: chain.head, length: UInt32(written), memory: memory)
            offset += written
        }
        heldChains.removeFirst(count)
        pendingReceive = nil
        completed = true
        report(.received(bytes: total - NetHeader.size, buffers: count))
        return true
    }
}
