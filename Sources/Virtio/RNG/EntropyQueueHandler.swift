import GuestMemory
import Locking

/// Serves an entropy device's request queue (virtio v1.2, 5.4.6): fills each chain's
/// device-writable buffers with random bytes while the rate limit allows, and when it
/// stops them, leaves the rest in the ring and asks to be served again once a token has
/// been earned.
struct EntropyQueueHandler: VirtqueueHandler {
    /// The device's name, for the observer.
    let device: String
    let queue: Int
    let source: any EntropySource
    let limit: Locked<TokenBucket>
    let clock: @Sendable () -> UInt64
    let wakeUps: any VirtioWakeUps
    let observer: (any VirtioObserver)?

    mutating func serve(_ served: inout ServedVirtqueue) throws(VirtqueueError) {
        while true {
            let now = clock()
            let delay = limit.withLock { $0.delayUntilNextToken(now: now) }
            if delay > 0, try served.hasAvailable() {
                // The chains wait in the ring for the timer.
                wakeUps.serveAgain(queue: queue, afterNanoseconds: delay)
                return
            }
            guard let chain = try served.next() else { return }
            try served.complete(chain, written: handle(chain, memory: served.memory))
        }
    }

    /// Fills the chain's device-writable buffers with as many random bytes as the limit
    /// allows (5.4.6.1: the device "MUST place one or more random bytes into the buffer,
    /// but it MAY use less than the entire buffer length"); returns how many it wrote.
    /// Device-readable buffers are ignored (5.4.6.2 says the driver offers none).
    func handle(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 {
        let wanted = chain.writableLength
        guard wanted > 0 else { return 0 }
        let now = clock()
        let allowed = limit.withLock { $0.take(upTo: wanted, now: now) }
        let bytes = source.randomBytes(Int(allowed))
        let written = chain.writeWritable(bytes[...], memory: memory)
        observer?.observe(.entropyRequest(queue: queue, requested: wanted, written: UInt64(written)), device: device)
        return UInt32(written)
    }
}
