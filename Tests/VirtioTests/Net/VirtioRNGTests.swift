import CUAPI
import GuestMemory
import Locking
import Testing
@testable import Virtio

/// Bytes 1, 2, 3, ... (mod 256), counted.
final class CountingEntropy: EntropySource {
    private let given = Locked(0)
    func randomBytes(_ count: Int) -> [UInt8] {
        given.withLock { given in
            defer { given += count }
            return (0..<count).map { UInt8(truncatingIfNeeded: given + $0 + 1) }
        }
    }
    var total: Int { given.withLock { $0 } }
}

@Suite("virtio-rng (virtio v1.2, 5.4) and its rate limit")
struct VirtioRNGTests {
    func device(rate: UInt64 = 1 << 20, burst: UInt64 = 64 << 10, clock: ManualClock, wakeUps: RecordingWakeUps, source: CountingEntropy)
        -> (VirtioDeviceState, TestRings)
    {
        let rings = TestRings(queues: 1)
        var state = VirtioDeviceState(
            device: VirtioRNG(name: "rng", source: source, rate: rate, burst: burst, clock: { clock.now }, wakeUps: wakeUps),
            memory: rings.memory)
        rings.start(&state, features: [.version1])
        return (state, rings)
    }

    @Test("5.4: device ID 4, one queue, no feature bits, no configuration space")
    func identity() {
        let rng = VirtioRNG(name: "rng", source: CountingEntropy(), clock: { 0 })
        #expect(rng.deviceID == 4)
        #expect(rng.queueSizes == [VirtioRNG.queueSize])
        #expect(rng.features == [])
        #expect(rng.readConfiguration(offset: 0, size: 4) == 0)
    }

    @Test("5.4.6: a device-writable buffer is filled with the source's bytes; the used length says how many")
    func fillsBuffers() {
        let clock = ManualClock(), wakeUps = RecordingWakeUps(), source = CountingEntropy()
        var (state, rings) = device(clock: clock, wakeUps: wakeUps, source: source)
        let first = rings.postWritable(0, length: 100)
        let second = rings.postWritable(0, length: 7)
        #expect(state.queueNotified(0) == [.usedBuffer(queue: 0)])
        let used = rings.takeUsed(0)
        #expect(used.map(\.length) == [100, 7])
        #expect(rings.bytes(at: first, count: 100) == (1...100).map { UInt8($0) })
        #expect(rings.bytes(at: second, count: 7) == (101...107).map { UInt8($0) })
        #expect(wakeUps.delays.isEmpty)
    }

    @Test("5.4.6.2: device-readable buffers are never written; a chain with none writable gets 0 bytes")
    func readOnlyBuffersUntouched() {
        let clock = ManualClock(), wakeUps = RecordingWakeUps(), source = CountingEntropy()
        var (state, rings) = device(clock: clock, wakeUps: wakeUps, source: source)
        let readOnly = rings.place([UInt8](repeating: 0x55, count: 32))
        rings.post(0, [(readOnly, 32, false)])
        _ = state.queueNotified(0)
        #expect(rings.takeUsed(0).map(\.length) == [0])
        #expect(rings.bytes(at: readOnly, count: 32) == [UInt8](repeating: 0x55, count: 32))
        #expect(source.total == 0)
    }

    @Test("rate limit: past the burst, buffers wait in the ring and the device asks to be served when a token is earned")
    func rateLimited() {
        let clock = ManualClock(), wakeUps = RecordingWakeUps(), source = CountingEntropy()
        // 1000 bytes a second, bursts of 100.
        var (state, rings) = device(rate: 1000, burst: 100, clock: clock, wakeUps: wakeUps, source: source)
        for _ in 0..<3 { rings.postWritable(0, length: 64) }
        _ = state.queueNotified(0)
        // 64 bytes, then the 36 left in the bucket; the third waits.
        #expect(rings.takeUsed(0).map(\.length) == [64, 36])
        #expect(source.total == 100)
        #expect(wakeUps.delays == [1_000_000])  // one token: 1 ms at 1000/s
        // 50 ms later the bucket holds 50 tokens.
        clock.advance(50_000_000)
        _ = state.serve(0)
        #expect(rings.takeUsed(0).map(\.length) == [50])
        #expect(source.total == 150)
    }

    @Test("rate limit: a guest reading without pause gets the rate, however it splits its reads")
    func sustainedRate() {
        let clock = ManualClock(), wakeUps = RecordingWakeUps(), source = CountingEntropy()
        var (state, rings) = device(rate: 10_000, burst: 1000, clock: clock, wakeUps: wakeUps, source: source)
        for _ in 0..<200 {
            rings.postWritable(0, length: 333)
            _ = state.queueNotified(0)
            _ = rings.takeUsed(0)
            clock.advance(10_000_000)  // 10 ms: 100 tokens
        }
        // 2 s of reading at 10,000 bytes/s, plus the first burst of 1000.
        #expect(source.total <= 21_000)
        #expect(source.total >= 19_000)
    }

    @Test("token bucket: refills whole tokens, keeps the remainder of time, caps at capacity")
    func tokenBucket() {
        var bucket = TokenBucket(rate: 3, capacity: 10, now: 0)
        #expect(bucket.take(upTo: 20, now: 0) == 10)
        #expect(bucket.delayUntilNextToken(now: 0) == 333_333_334)
        #expect(bucket.take(upTo: 5, now: 500_000_000) == 1)  // 1.5 tokens earned: 1
        #expect(bucket.take(upTo: 5, now: 700_000_000) == 1)  // the half carried over
        #expect(bucket.take(upTo: 100, now: 100_000_000_000) == 10)
        var huge = TokenBucket(rate: .max, capacity: .max, now: 0)
        #expect(huge.take(upTo: .max, now: 0) == .max)
        #expect(huge.take(upTo: 5, now: .max) == 5)
    }
}
