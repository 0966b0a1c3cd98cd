import GuestMemory
import Locking
import Virtio

/// virtio-net's transmit and receive paths (virtio v1.2, 5.1.6) over arbitrary rings in
/// arbitrary guest memory, with any negotiated features, a backend with or without the
/// header, busy or failing on demand, handing over frames of any length.
///
/// Invariants: the backend is never handed a frame longer than a header and
/// `VirtioNet.maximumFrame`; every header it gets asks only for offloads the driver
/// negotiated, with DATA_VALID clear and its checksum inside the frame; a transmit
/// chain's used length is 0; the device holds no more chains than the queue has.
enum NetTarget: FuzzTarget {
    static let name = "virtio-net"

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let transmit = input.bool()
        let offered = VirtioNet(name: "f", mac: MACAddress(bytes: [2, 0, 0, 0, 0, 1]), backend: CheckedNetBackend(passesHeader: true, frames: [], negotiated: [])).features
        let negotiated = VirtioFeatures(rawValue: UInt64(input.integer(UInt32.self))).intersection(offered).union(.version1)
        let passesHeader = input.bool()
        let busyEvery = Int(input.byte() % 8)
        let frames = (0..<Int(input.byte() % 6)).map { index in
            [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: Int(input.integer(UInt16.self)) % (VirtioNet.maximumFrame + 40))
        }
        let failAfter = input.byte()
        let memory = FuzzMemory.fresh()
        var (queue, features) = VirtqueueTarget.queue(from: &input, memory: memory)
        guard (try? queue.activate(features: features.union(negotiated), memory: memory)) != nil else { return }
        let backend = CheckedNetBackend(passesHeader: passesHeader, frames: frames, negotiated: negotiated)
        backend.busyEvery = busyEvery
        backend.failAfter = Int(failAfter)
        let net = VirtioNet(name: "fuzz", mac: MACAddress(bytes: [2, 0, 0, 0, 0, 1]), backend: backend)
        let index = transmit ? VirtioNet.transmitQueue : VirtioNet.receiveQueue
        var handler = net.queueHandler(for: index, features: negotiated)
        var usedSoFar = queue.nextUsed
        for _ in 0..<8 {
            var served = ServedVirtqueue(queue, memory: memory)
            do {
                try handler.serve(&served)
            } catch {
                return  // a malformed ring: DEVICE_NEEDS_RESET, the queue is not touched again
            }
            queue = served.virtqueue
            if let receive = handler as? NetReceiveHandler {
                require(receive.heldChainCount <= Int(queue.size), "\(receive.heldChainCount) chains held in a queue of \(queue.size)")
            }
            checkUsed(from: usedSoFar, to: queue.nextUsed, queue: queue, memory: memory, transmit: transmit)
            usedSoFar = queue.nextUsed
            backend.busyEvery = 0
        }
    }

    /// The used entries published since `start`: lengths within reason. Only on the
    /// transmit queue, which never writes guest memory: a receive buffer may lie over the
    /// used ring itself (the guest's choice), and a frame written into it then overwrites
    /// the lengths already published there, as it would in a real guest. (The receive
    /// path's lengths are bounded where they are made: `writeWritable` returns at most
    /// the chain's writable bytes.)
    static func checkUsed(from start: UInt16, to end: UInt16, queue: Virtqueue, memory: GuestMemory, transmit: Bool) {
        guard transmit else { return }
        var index = start
        while index != end {
            let slot = GuestAddress(queue.usedRing.rawValue + 4 + 8 * UInt64(index % queue.size))
            let length = (try? memory.read(UInt32.self, at: GuestAddress(slot.rawValue + 4))) ?? 0
            require(length == 0, "a transmit chain's used length is 0, not \(length)")
            index &+= 1
        }
    }
}

extension NetTarget {
    /// The block seeds' ring read as frames to send, and as buffers to receive into.
    static var seeds: [[UInt8]] {
        [true, false].flatMap { transmit in
            [UInt32(0), 0xffff_ffff].map { features in
                var builder = FuzzInputBuilder()
                builder.bool(transmit)
                builder.integer(features)
                builder.bool(true)
                builder.byte(3)
                builder.byte(3)
                for length in [60, 1514, 4000] { builder.integer(UInt16(length)) }
                builder.byte(0)
                builder.append(RingSeed.queueInput(indirect: true, eventIndex: true))
                return builder.bytes
            }
        }
    }
}

/// A network backend that checks what the device hands it and gives it `frames`.
final class CheckedNetBackend: NetBackend, @unchecked Sendable {
    // @unchecked: one fuzz run at a time drives it, on one thread.
    let passesHeader: Bool
    let negotiated: VirtioFeatures
    private var frames: [[UInt8]]
    var busyEvery = 0
    var failAfter = 0
    private var calls = 0

    init(passesHeader: Bool, frames: [[UInt8]], negotiated: VirtioFeatures) {
        self.passesHeader = passesHeader
        self.frames = frames
        self.negotiated = negotiated
    }

    private func tick() -> (busy: Bool, failed: Bool) {
        calls += 1
        return (busyEvery > 0 && calls % busyEvery == 0, failAfter > 0 && calls > failAfter)
    }

    func receive(into buffer: inout [UInt8], at offset: Int) -> NetReceiveResult {
        let (busy, failed) = tick()
        if failed { return .failed("fuzz") }
        guard !busy, !frames.isEmpty else { return .empty }
        let frame = frames.removeFirst()
        let count = min(frame.count, buffer.count - offset)
        buffer.replaceSubrange(offset..<offset + count, with: frame.prefix(count))
        return .frame(count)
    }

    func send(_ frame: ArraySlice<UInt8>) -> NetSendResult {
        let limit = (passesHeader ? NetHeader.size : 0) + VirtioNet.maximumFrame
        require(frame.count <= limit, "a frame of \(frame.count) bytes, past \(limit)")
        if passesHeader {
            require(frame.count >= NetHeader.size, "a frame shorter than its header")
            let header = NetHeader(frame.prefix(NetHeader.size))
            require(header.flags & NetHeader.dataValid == 0, "DATA_VALID reaches the backend")
            require(header.transmitProblem(frameLength: frame.count - NetHeader.size, negotiated: negotiated) == nil,
                    "a header the driver may not send reaches the backend")
        }
        let (busy, failed) = tick()
        if failed { return .failed("fuzz") }
        return busy ? .busy : .sent
    }
}
