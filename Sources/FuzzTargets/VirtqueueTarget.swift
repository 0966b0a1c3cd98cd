import GuestMemory
import Virtio

/// The split-virtqueue walker over arbitrary guest memory: a queue of any size placed
/// anywhere, with any descriptor table, available ring and used ring contents, and
/// VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX on or off.
///
/// Invariants for every chain the device accepts: each buffer lies inside guest RAM,
/// device-readable buffers come before device-writable ones, the chain has no more
/// descriptors than the queue size (so a loop cannot run forever), and its head is a
/// valid index. A rejected ring is an error value, never a crash.
enum VirtqueueTarget: FuzzTarget {
    static let name = "virtqueue"
    /// More pops than any ring can hold entries: the loop must still end.
    static let maximumPops = 300

    /// A queue configured from the input, over guest memory filled with the rest of it.
    static func queue(from input: inout FuzzInput, memory: GuestMemory) -> (Virtqueue, VirtioFeatures) {
        var queue = Virtqueue(maximumSize: 256)
        // Mostly powers of two, sometimes anything (which activation must refuse).
        queue.size = input.bool() ? UInt16(1) << (input.byte() % 10) : input.integer(UInt16.self)
        func address() -> GuestAddress {
            // Mostly inside the 64 KiB of RAM, sometimes any 64-bit value.
            input.byte() < 224 ? GuestAddress(UInt64(input.integer(UInt16.self))) : GuestAddress(input.integer(UInt64.self))
        }
        queue.descriptorTable = address()
        queue.availableRing = address()
        queue.usedRing = address()
        var features: VirtioFeatures = [.version1]
        if input.bool() { features.insert(.indirectDescriptors) }
        if input.bool() { features.insert(.eventIndex) }
        let contents = input.rest()
        do { try memory.write(bytes: contents.prefix(Int(FuzzMemory.size)), at: GuestAddress(0)) } catch {}
        return (queue, features)
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let memory = FuzzMemory.fresh()
        var (queue, features) = queue(from: &input, memory: memory)
        guard (try? queue.activate(features: features, memory: memory)) != nil else { return }
        for _ in 0..<maximumPops {
            let chain: DescriptorChain
            do {
                guard let next = try queue.popAvailable(memory: memory) else { return }
                chain = next
            } catch {
                return  // a malformed ring: the device stops using the queue
            }
            check(chain, queue: queue, memory: memory)
            do {
                try queue.pushUsed(head: chain.head, length: UInt32(truncatingIfNeeded: chain.writableLength), memory: memory)
                _ = try queue.needsNotification(memory: memory)
            } catch {
                return
            }
        }
    }

    static func check(_ chain: DescriptorChain, queue: Virtqueue, memory: GuestMemory) {
        require(chain.head < queue.size, "the head \(chain.head) indexes a queue of \(queue.size)")
        require(chain.buffers.count <= Int(queue.size), "\(chain.buffers.count) descriptors in a queue of \(queue.size)")
        var seenWritable = false
        for buffer in chain.buffers {
            require(memory.contains(buffer.address, length: UInt64(buffer.length)), "buffer \(buffer.address)+\(buffer.length) is RAM")
            if buffer.isWritable { seenWritable = true } else { require(!seenWritable, "readable after writable") }
        }
    }
}

extension VirtqueueTarget {
    /// Five requests in a ring, with and without indirect descriptors and event index.
    static var seeds: [[UInt8]] {
        [RingSeed.queueInput(indirect: true, eventIndex: true), RingSeed.queueInput(indirect: false, eventIndex: false)]
    }
}
