import GuestMemory

/// A chain's buffers read as one stream of bytes (virtio v1.2, 2.6.4 "Message Framing":
/// the device must not depend on how the driver split a message into buffers).
extension DescriptorChain {
    /// The first `count` device-readable bytes, copied out of guest memory in order;
    /// nil if the chain has fewer.
    public func readableBytes(count: Int, memory: GuestMemory) -> [UInt8]? {
        guard count >= 0, UInt64(count) <= readableLength else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for buffer in buffers where !buffer.isWritable && bytes.count < count {
            let take = min(Int(buffer.length), count - bytes.count)
            // Cannot fail: every buffer was checked to lie in RAM when the chain was walked.
            guard let piece = try? memory.readBytes(at: buffer.address, count: take) else { return nil }
            bytes += piece
        }
        return bytes
    }

    /// Copies the device-readable bytes into `destination` from index 0 on, at most
    /// `destination.count` of them; returns how many it copied, or nil if guest memory
    /// refused (it cannot: the buffers were checked).
    public func copyReadable(into destination: inout [UInt8], memory: GuestMemory) -> Int? {
        var copied = 0
        for buffer in buffers where !buffer.isWritable && copied < destination.count {
            let take = min(Int(buffer.length), destination.count - copied)
            guard let piece = try? memory.readBytes(at: buffer.address, count: take) else { return nil }
            destination.replaceSubrange(copied..<copied + take, with: piece)
            copied += take
        }
        return copied
    }

    /// Writes `bytes` into the device-writable buffers, in order, as far as they go;
    /// returns how many bytes it wrote (fewer than `bytes.count` when the chain is short).
    public func writeWritable(_ bytes: ArraySlice<UInt8>, memory: GuestMemory) -> Int {
        var remaining = bytes
        for buffer in buffers where buffer.isWritable && !remaining.isEmpty {
            let piece = remaining.prefix(Int(buffer.length))
            guard (try? memory.write(bytes: piece, at: buffer.address)) != nil else { break }
            remaining = remaining.dropFirst(piece.count)
        }
        return bytes.count - remaining.count
    }
}
