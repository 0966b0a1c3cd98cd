import JSON

/// `PUT /entropy` (Firecracker's `EntropyDevice`): a virtio-rng device, the `--rng` of the
/// command line, at its default rate.
struct EntropyDevice: Equatable {
    static let fields = ["rate_limiter"]

    init(_ value: JSONValue) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        _ = try RateLimiter.read("rate_limiter", of: object)
    }

    var json: JSONValue { .object([]) }
}
