/// A token bucket: a rate limit that allows bursts. The bucket holds up to `capacity`
/// tokens and gains `rate` tokens a second; taking tokens empties it, and an empty
/// bucket says how long until the next one. The entropy device spends one token per
/// byte, so a guest reading without pause gets `rate` bytes a second and no more:
/// the host thread serving it sleeps in between instead of spinning.
///
/// Time is passed in (nanoseconds of a monotonic clock), so the arithmetic is
/// testable without waiting.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens gained per second.
    public let rate: UInt64
    /// The most tokens the bucket holds: the largest burst.
    public let capacity: UInt64
    /// Tokens in the bucket as of `lastRefill`.
    public private(set) var tokens: UInt64
    private var lastRefill: UInt64

    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// A full bucket of `capacity` tokens gaining `rate` a second (both at least 1), as
    /// of time `now`.
    public init(rate: UInt64, capacity: UInt64, now: UInt64) {
        self.rate = max(rate, 1)
        self.capacity = max(capacity, 1)
        self.tokens = self.capacity
        self.lastRefill = now
    }

    /// Adds the tokens earned since the last refill, up to the capacity. Only whole
    /// tokens are added, and only the time they took is used up, so no fraction of a
    /// token is lost between calls.
    private mutating func refill(now: UInt64) {
        guard now > lastRefill else { return }
        let product = (now - lastRefill).multipliedFullWidth(by: rate)
        // More than 2^64 tokens' worth of time: the bucket is full whatever it held.
        let earned = product.high >= Self.nanosecondsPerSecond
            ? UInt64.max : Self.nanosecondsPerSecond.dividingFullWidth(product).quotient
        if earned >= capacity - tokens {
            tokens = capacity
            lastRefill = now
        } else if earned > 0 {
            tokens += earned
            // The time those tokens took (no more than the time elapsed, so it fits).
            lastRefill += rate.dividingFullWidth(earned.multipliedFullWidth(by: Self.nanosecondsPerSecond)).quotient
        }
    }

    /// Takes up to `wanted` tokens at time `now`; returns how many it took (0 when the
    /// bucket is empty).
    public mutating func take(upTo wanted: UInt64, now: UInt64) -> UInt64 {
        refill(now: now)
        let taken = min(wanted, tokens)
        tokens -= taken
        return taken
    }

    /// Nanoseconds from `now` until the bucket holds at least one token (0 if it does).
    public mutating func delayUntilNextToken(now: UInt64) -> UInt64 {
        refill(now: now)
        guard tokens == 0 else { return 0 }
        let owed = Self.nanosecondsPerSecond.divided(rate, roundingUp: true)
        let elapsed = now > lastRefill ? now - lastRefill : 0
        return owed > elapsed ? owed - elapsed : 1
    }
}

extension UInt64 {
    /// self / divisor, rounded up.
    func divided(_ divisor: UInt64, roundingUp: Bool) -> UInt64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return quotient + (roundingUp && remainder != 0 ? 1 : 0)
    }
}
