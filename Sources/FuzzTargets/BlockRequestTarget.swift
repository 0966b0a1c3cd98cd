import GuestMemory
import Virtio

/// virtio-blk requests (virtio v1.2, 5.2.6) parsed from arbitrary chains over arbitrary
/// guest memory, on a small disk that may be read-only.
///
/// Invariants: the disk is only ever asked for transfers inside itself and inside guest
/// RAM, a read-only disk is never written (both checked by `CheckedDisk`), and the
/// length reported used is no more than the chain's device-writable bytes.
enum BlockRequestTarget: FuzzTarget {
    static let name = "virtio-blk"
    static let sectors = 16

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let readOnly = input.bool()
        let memory = FuzzMemory.fresh()
        var (queue, features) = VirtqueueTarget.queue(from: &input, memory: memory)
        guard (try? queue.activate(features: features, memory: memory)) != nil else { return }
        let block = VirtioBlock(name: "fuzz", backend: CheckedDisk(sectors: sectors, readOnly: readOnly), readOnly: readOnly)
        var handler = block.queueHandler(for: 0, features: features)
        for _ in 0..<VirtqueueTarget.maximumPops {
            guard let chain = try? queue.popAvailable(memory: memory) else { return }
            let used = handler.handle(chain, memory: memory)
            require(UInt64(used) <= chain.writableLength, "used \(used) of \(chain.writableLength) writable bytes")
        }
    }
}

extension BlockRequestTarget {
    /// IN, OUT, FLUSH, GET_ID and an indirect IN, on a read-write and a read-only disk.
    static var seeds: [[UInt8]] {
        [false, true].map { readOnly in [readOnly ? 1 : 0] + RingSeed.queueInput(indirect: true, eventIndex: true) }
    }
}
