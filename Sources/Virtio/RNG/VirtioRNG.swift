import CUAPI
import GuestMemory
import Locking

/// An entropy device (virtio v1.2, 5.4 "Entropy Device"): the smallest virtio device,
/// and the one to read first.
///
/// It has one queue, `requestq`; no feature bits of its own; no configuration space
/// (5.4.4). The driver makes device-writable buffers available and notifies; the
/// device's `EntropyQueueHandler` fills them with random bytes from its `EntropySource`
/// and returns them used, the used length saying how many bytes it wrote (5.4.6).
/// Everything else, the status machine, feature negotiation, the rings and interrupts,
/// is the shared machinery's (`VirtioDeviceState`, `VirtqueueServer`, the transports).
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
    /// The rate limit, a token per byte. It carries on across resets (each queue
    /// handler shares it), or a guest could refill its bucket by resetting the device.
    let limit: Locked<TokenBucket>
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
        self.limit = Locked(TokenBucket(rate: rate, capacity: burst, now: clock()))
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

    /// The request queue's handler, sharing the device's rate limit.
    public func queueHandler(for queue: Int, features: VirtioFeatures) -> any VirtqueueHandler {
        EntropyQueueHandler(
            device: name, queue: queue, source: source, limit: limit, clock: clock, wakeUps: wakeUps, observer: observer)
    }
}
