import CUAPI
import GuestMemory

/// An entropy device (virtio v1.2, 5.4 "Entropy Device"): the smallest virtio device,
/// and the one to read first.
///
/// It has one queue, `requestq`; no feature bits of its own; no configuration space
/// (5.4.4). The driver makes device-writable buffers available and notifies; the device
/// fills them with random bytes from its `EntropySource` and returns them used, the
/// used length saying how many bytes it wrote (5.4.6). Everything else, the status
/// machine, feature negotiation, the rings and interrupts, is the shared machinery's
/// (`VirtioDeviceState`, the transports).
///
/// One addition of its own: a rate limit (`TokenBucket`, a token per byte). Without it
/// a guest could keep a host thread busy generating bytes for as long as it likes; with
/// it, once the bucket is empty the device leaves the driver's buffers in the ring and
/// asks to be served again when the bucket has refilled (`VirtioWakeUps.serveAgain`).
public struct VirtioRNG: VirtioDevice {
    /// Entries in the request queue.
    public static let queueSize: UInt16 = 64
    /// The default rate limit: 1 MiB a second, in bursts of up to 64 KiB. Linux's
    /// hw_random core reads a few dozen bytes at a time to feed its entropy pool; a
    /// reader of /dev/hwrng gets a megabyte a second.
    public static let defaultRate: UInt64 = 1 << 20
    public static let defaultBurst: UInt64 = 64 << 10

    public let name: String
    public let observer: (any VirtioObserver)?
    /// Where the bytes come from.
    public let source: any EntropySource
    /// How the device asks to be served again when the limit allows.
    public let wakeUps: any VirtioWakeUps
    /// The rate limit, a token per byte.
    public private(set) var limit: TokenBucket
    /// The monotonic clock the limit runs on, in nanoseconds.
    private let clock: @Sendable () -> UInt64

    /// An entropy device named `name` giving bytes from `source` at up to `rate` bytes a
    /// second (bursts of `burst`), timed by `clock` (nanoseconds, monotonic).
    public init(
        name: String, source: any EntropySource, rate: UInt64 = VirtioRNG.defaultRate,
        burst: UInt64 = VirtioRNG.defaultBurst, clock: @escaping @Sendable () -> UInt64,
        wakeUps: any VirtioWakeUps = NoWakeUps(), observer: (any VirtioObserver)? = nil
    ) {
        self.name = name
        self.source = source
        self.clock = clock
        self.limit = TokenBucket(rate: rate, capacity: burst, now: clock())
        self.wakeUps = wakeUps
        self.observer = observer
    }

    /// VIRTIO_ID_RNG: 4 (5 "Device Types").
    public var deviceID: UInt32 { UInt32(VIRTIO_ID_RNG) }
    /// No device-specific feature bits (5.4.3).
    public var features: VirtioFeatures { [] }
    /// One queue, requestq (5.4.2).
    public var queueSizes: [UInt16] { [Self.queueSize] }

    /// No configuration space (5.4.4): every read is 0.
    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 { 0 }
    /// No configuration space: writes are ignored.
    public mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {}
    /// Nothing is negotiated; the rate limit carries on across resets, or a guest could
    /// refill its bucket by resetting the device.
    public mutating func reset() {}

    /// Serves requests while the limit allows; when it stops them, asks to be served
    /// again once a token has been earned. The chains left wait in the ring.
    public mutating func serveQueue(
        _ index: Int, _ queue: inout Virtqueue, memory: GuestMemory, completed: inout Bool
    ) throws(VirtqueueError) {
        repeat {
            while try queue.hasAvailable(memory: memory) {
                let delay = limit.delayUntilNextToken(now: clock())
                if delay > 0 {
                    wakeUps.serveAgain(queue: index, afterNanoseconds: delay)
                    return
                }
                guard let chain = try queue.popAvailable(memory: memory) else { break }
                let written = handle(chain, queue: index, memory: memory)
                try queue.pushUsed(head: chain.head, length: written, memory: memory)
                completed = true
            }
        } while try queue.armAvailableNotification(memory: memory)
    }

    /// Fills the chain's device-writable buffers with as many random bytes as the limit
    /// allows (5.4.6.1: the device "MUST place one or more random bytes into the buffer,
    /// but it MAY use less than the entire buffer length"); returns how many it wrote.
    /// Device-readable buffers are ignored (5.4.6.2 says the driver offers none).
    public mutating func handle(_ chain: DescriptorChain, queue: Int, memory: GuestMemory) -> UInt32 {
        let wanted = chain.writableLength
        guard wanted > 0 else { return 0 }
        let allowed = limit.take(upTo: wanted, now: clock())
        let bytes = source.randomBytes(Int(allowed))
        let written = chain.writeWritable(bytes[...], memory: memory)
        observer?.observe(.entropyRequest(queue: queue, requested: wanted, written: UInt64(written)), device: name)
        return UInt32(written)
    }
}
