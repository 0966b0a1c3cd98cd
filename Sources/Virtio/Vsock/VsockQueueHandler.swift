import GuestMemory

/// Serves one of virtio-vsock's queues (virtio v1.2, 5.10.6): packets the guest sends on
/// tx go to the muxer; the muxer's packets for the guest go into the buffers it posted on
/// rx, one packet a buffer, taken only when there is a packet for it; the event queue's
/// buffers are never taken, as this device has no event to send.
struct VsockQueueHandler: VirtqueueHandler {
    let queue: Int
    let muxer: VsockMuxer

    mutating func serve(_ served: inout ServedVirtqueue) throws(VirtqueueError) {
        switch queue {
        case VirtioVsock.txQueue:
            while let chain = try served.next() {
                try served.complete(chain, written: handle(chain, memory: served.memory))
            }
        case VirtioVsock.rxQueue:
            // The buffers wait while there is nothing for them; the machine serves the
            // queue again when there is (`VsockMuxer`'s wake).
            while muxer.hasPacketForGuest, let chain = try served.next() {
                try served.complete(chain, written: handle(chain, memory: served.memory))
            }
        default:
            return
        }
    }

    func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 {
        let stream = ChainBytes(chain: chain)
        switch queue {
        case VirtioVsock.txQueue:
            // 5.10.6.2: the header and payload as one byte stream of readable buffers.
            guard chain.readableLength <= UInt64(VsockPacket.headerSize + VirtioVsock.maximumPayload),
                  let bytes = stream.readable(memory: memory), let packet = VsockPacket.parse(bytes)
            else { return 0 }
            muxer.receiveFromGuest(packet)
            return 0
        case VirtioVsock.rxQueue:
            let room = Int(min(chain.writableLength, UInt64(Int32.max)))
            guard room >= VsockPacket.headerSize,
                  let packet = muxer.nextPacketForGuest(
                    maximumPayload: min(VirtioVsock.maximumPayload, room - VsockPacket.headerSize))
            else { return 0 }
            let bytes = packet.bytes
            return stream.write(bytes, memory: memory) ? UInt32(bytes.count) : 0
        default:
            return 0
        }
    }
}

/// A descriptor chain as a byte stream (virtio v1.2, 2.6.4 "Message Framing"): its
/// device-readable bytes in order, and its device-writable bytes in order.
struct ChainBytes {
    let chain: DescriptorChain

    /// Every device-readable byte, copied out once.
    func readable(memory: GuestMemory) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(chain.readableLength))
        for buffer in chain.buffers where !buffer.isWritable && buffer.length > 0 {
            guard let piece = try? memory.readBytes(at: buffer.address, count: Int(buffer.length)) else { return nil }
            bytes += piece
        }
        return bytes
    }

    /// Writes `bytes` into the device-writable buffers from their start; false when they
    /// do not fit.
    func write(_ bytes: [UInt8], memory: GuestMemory) -> Bool {
        var remaining = bytes[...]
        for buffer in chain.buffers where buffer.isWritable && !remaining.isEmpty {
            let count = min(Int(buffer.length), remaining.count)
            guard (try? memory.write(bytes: remaining.prefix(count), at: buffer.address)) != nil else { return false }
            remaining = remaining.dropFirst(count)
        }
        return remaining.isEmpty
    }
}
