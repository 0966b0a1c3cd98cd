import JSON

/// An HTTP/1.1 response as Firecracker's API server writes them: a status, and for any
/// status but 204 a JSON body (`Content-Type: application/json`, `Content-Length`).
public struct HTTPResponse: Sendable, Equatable {
    public let status: Int
    /// The JSON body; nil for 204 No Content.
    public let body: String?
    /// Whether the server closes the connection after this response.
    public var closesConnection = false

    public init(status: Int, body: String?) {
        self.status = status
        self.body = body
    }

    /// 204 No Content: a PUT or PATCH that succeeded.
    public static let noContent = HTTPResponse(status: 204, body: nil)

    /// 200 OK with `value` as the body.
    public static func ok(_ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: 200, body: value.compactText)
    }

    /// An error in Firecracker's shape: `{"fault_message": "..."}` (its OpenAPI
    /// description's `Error` definition).
    public static func fault(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, body: JSONValue.object([("fault_message", .string(message))]).compactText)
    }

    /// The reason phrases of the statuses the server sends (RFC 9110, 15).
    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Payload Too Large"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }

    /// The bytes on the wire.
    public var bytes: [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nServer: Firecracker API\r\n"
        text += closesConnection ? "Connection: close\r\n" : "Connection: keep-alive\r\n"
        if let body {
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            text += "\r\n"
        }
        return Array(text.utf8)
    }

    /// What a server sends before the body of a request that asked `Expect: 100-continue`
    /// (RFC 9110, 10.1.1).
    static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
