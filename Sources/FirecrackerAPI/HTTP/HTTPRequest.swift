/// One HTTP/1.1 request as `HTTPRequestReader` read it (RFC 9112): the method, the path,
/// the header fields that matter to the API, and the body.
public struct HTTPRequest: Sendable, Equatable {
    /// The methods Firecracker's API uses; any other is refused while reading.
    public enum Method: String, Sendable, CaseIterable {
        case get = "GET"
        case put = "PUT"
        case patch = "PATCH"
    }

    public let method: Method
    /// The request target's path ("/drives/rootfs"), without a query.
    public let path: String
    /// HTTP/1.0 closes the connection after the response unless asked not to.
    public let keepAlive: Bool
    /// The body; empty when the request has none (no Content-Length, or 0).
    public let body: [UInt8]

    public init(method: Method, path: String, keepAlive: Bool = true, body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.keepAlive = keepAlive
        self.body = body
    }
}
