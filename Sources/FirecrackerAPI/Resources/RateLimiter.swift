import JSON

/// Firecracker's `RateLimiter`: token buckets for bandwidth and operations. SwiftVMM
/// limits no device's rate, so a limiter that would limit anything is refused; one with
/// empty buckets (size 0, Firecracker's "no limit") is taken and does nothing.
struct RateLimiter: Equatable {
    /// `TokenBucket`: size, refill_time (ms), one_time_burst.
    struct TokenBucket: Equatable {
        var size: Int64
        var refillTime: Int64
        var oneTimeBurst: Int64?

        init(_ value: JSONValue) throws(APIError) {
            let object = try JSONObject(value, fields: ["size", "refill_time", "one_time_burst"])
            size = try object.requiredInteger("size", in: 0...Int64.max)
            refillTime = try object.requiredInteger("refill_time", in: 0...Int64.max)
            oneTimeBurst = try object.integer("one_time_burst", in: 0...Int64.max)
        }

        var limits: Bool { size > 0 && refillTime > 0 || (oneTimeBurst ?? 0) > 0 }
    }

    var bandwidth: TokenBucket?
    var ops: TokenBucket?

    /// The member `name` of `object`, if given; refused if it would limit anything.
    static func read(_ name: String, of object: JSONObject) throws(APIError) -> RateLimiter? {
        guard let value = object.value(name) else { return nil }
        let limiter = try JSONObject(value, fields: ["bandwidth", "ops"])
        var result = RateLimiter()
        if let bucket = limiter.value("bandwidth") { result.bandwidth = try TokenBucket(bucket) }
        if let bucket = limiter.value("ops") { result.ops = try TokenBucket(bucket) }
        if result.bandwidth?.limits == true || result.ops?.limits == true {
            throw .unsupported("rate limiters (`\(name)`): leave the buckets out, or give them size 0")
        }
        return result
    }
}
