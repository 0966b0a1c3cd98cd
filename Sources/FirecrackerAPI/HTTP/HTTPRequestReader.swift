/// Reads HTTP/1.1 requests from the bytes of one connection (RFC 9112), strictly and
/// within limits: what it cannot read exactly, it refuses with a status, and the
/// connection is closed after that answer.
///
/// Bytes arrive as the socket delivers them (`append`); `next()` says whether a whole
/// request is there. Requests may follow each other on one connection (keep-alive).
///
/// Strict, where RFC 9112 lets a server choose: lines end in CRLF (2.2), a header field
/// line folded onto the next is refused (5.2, obs-fold), whitespace before a field's
/// colon is refused (5.1), a body is sized by one Content-Length and never chunked
/// (6.1: a server may answer 501 to a transfer coding it does not understand), and
/// only GET, PUT and PATCH are taken.
public struct HTTPRequestReader: Sendable {
    /// How much one request may hold.
    public struct Limits: Sendable {
        /// The request line and header fields, with their line ends.
        public var headerBytes: Int
        /// The body: Firecracker's default limit for API payloads, 51,200 bytes.
        public var bodyBytes: Int
        /// Header field lines.
        public var headerFields: Int

        public init(headerBytes: Int = 8192, bodyBytes: Int = 51_200, headerFields: Int = 64) {
            self.headerBytes = headerBytes
            self.bodyBytes = bodyBytes
            self.headerFields = headerFields
        }
    }

    /// What the bytes so far amount to.
    public enum Outcome: Sendable, Equatable {
        /// Not a whole request yet. `sendContinue`: the header is complete and asked for
        /// `Expect: 100-continue`; the server answers 100 once, then waits for the body.
        case incomplete(sendContinue: Bool)
        /// A whole request, taken out of the buffer.
        case request(HTTPRequest)
        /// Not a request this server reads: answer with this, then close.
        case refused(HTTPResponse)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// How far the search for the header's end has looked.
    private var scanned = 0
    /// The parsed header of the request whose body is still arriving.
    private var pending: (head: Head, headerLength: Int)?
    private var continueSent = false

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Bytes buffered and not yet part of a request.
    public var bufferedByteCount: Int { buffer.count }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: [UInt8]) { buffer += bytes }

    /// The next request, if the bytes so far hold one.
    public mutating func next() -> Outcome {
        if pending == nil {
            guard let end = headerEnd() else {
                if buffer.count > limits.headerBytes { return .refused(refusal(431, "The request header is larger than \(limits.headerBytes) bytes.")) }
                return .incomplete(sendContinue: false)
            }
            guard end >= 0 else { return .refused(refusal(400, "A line of the request header does not end in CRLF.")) }
            guard end <= limits.headerBytes else { return .refused(refusal(431, "The request header is larger than \(limits.headerBytes) bytes.")) }
            switch Head.parse(Array(buffer[0..<end - 4]), limits: limits) {
            case .success(let head): pending = (head, end)
            case .failure(let response): return .refused(response)
            }
        }
        let (head, headerLength) = pending!
        guard buffer.count - headerLength >= head.contentLength else {
            let sendContinue = head.expectsContinue && !continueSent
            if sendContinue { continueSent = true }
            return .incomplete(sendContinue: sendContinue)
        }
        let body = Array(buffer[headerLength..<headerLength + head.contentLength])
        buffer.removeFirst(headerLength + head.contentLength)
        pending = nil
        scanned = 0
        continueSent = false
        return .request(HTTPRequest(method: head.method, path: head.path, keepAlive: head.keepAlive, body: body))
    }

    /// The offset just past the CRLF CRLF that ends the header, if it has arrived; -1
    /// when a line feed without its carriage return shows the header is malformed (it
    /// would never end for a strict reader: refused at once instead of waited for).
    private mutating func headerEnd() -> Int? {
        var index = scanned
        while index < buffer.count {
            if buffer[index] == 0x0a {
                guard index > 0, buffer[index - 1] == 0x0d else { return -1 }
                if index >= 3 && buffer[index - 2] == 0x0a && buffer[index - 3] == 0x0d { return index + 1 }
            }
            index += 1
        }
        scanned = buffer.count
        return nil
    }

    private func refusal(_ status: Int, _ message: String) -> HTTPResponse {
        var response = HTTPResponse.fault(status, message)
        response.closesConnection = true
        return response
    }
}

/// A request line and its header fields, parsed.
struct Head: Sendable {
    var method: HTTPRequest.Method
    var path: String
    var keepAlive: Bool
    var contentLength = 0
    var expectsContinue = false

    enum Result {
        case success(Head)
        case failure(HTTPResponse)
    }

    /// Parses the bytes before the blank line: the request line and the field lines.
    static func parse(_ bytes: [UInt8], limits: HTTPRequestReader.Limits) -> Result {
        func refuse(_ status: Int, _ message: String) -> Result {
            var response = HTTPResponse.fault(status, message)
            response.closesConnection = true
            return .failure(response)
        }
        // Lines end in CRLF; a CR or LF anywhere else is malformed (RFC 9112, 2.2).
        var lines: [ArraySlice<UInt8>] = []
        var start = 0, index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0d {
                guard index + 1 < bytes.count, bytes[index + 1] == 0x0a else { return refuse(400, "A bare CR in the request header.") }
                lines.append(bytes[start..<index])
                index += 2
                start = index
                continue
            }
            if byte == 0x0a { return refuse(400, "A line of the request header does not end in CRLF.") }
            if byte == 0 { return refuse(400, "A NUL byte in the request header.") }
            index += 1
        }
        lines.append(bytes[start..<bytes.count])

        // The request line: method SP request-target SP HTTP-version (RFC 9112, 3).
        let parts = lines[0].split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, let target = String(validating: parts[1], as: UTF8.self),
              let versionText = String(validating: parts[2], as: UTF8.self),
              let methodText = String(validating: parts[0], as: UTF8.self)
        else { return refuse(400, "The request line is not 'METHOD /path HTTP/1.1'.") }
        let version: (major: Int, minor: Int)
        switch versionText {
        case "HTTP/1.1": version = (1, 1)
        case "HTTP/1.0": version = (1, 0)
        default:
            if versionText.hasPrefix("HTTP/") { return refuse(505, "Unsupported HTTP version: \(versionText).") }
            return refuse(400, "The request line is not 'METHOD /path HTTP/1.1'.")
        }
        guard let method = HTTPRequest.Method(rawValue: methodText) else {
            return refuse(400, "Unsupported HTTP method: \(methodText.prefix(32)). The API takes GET, PUT and PATCH.")
        }
        // origin-form only (RFC 9112, 3.2.1): a path, printable ASCII, a query ignored.
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return refuse(400, "The request target must be a path beginning with '/'.")
        }
        let path = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        var head = Head(method: method, path: path, keepAlive: version.minor >= 1)

        // Header fields: name ":" OWS value OWS (RFC 9112, 5).
        guard lines.count - 1 <= limits.headerFields else {
            return refuse(431, "More than \(limits.headerFields) header fields.")
        }
        var seenLength = false
        for line in lines.dropFirst() {
            guard let first = line.first else { return refuse(400, "An empty header field line.") }
            if first == 0x20 || first == 0x09 { return refuse(400, "A folded header field line (obs-fold) is not accepted.") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                return refuse(400, "A header field line without a name and ':'.")
            }
            let nameBytes = line[line.startIndex..<colon]
            guard nameBytes.allSatisfy(isTokenCharacter) else { return refuse(400, "A header field name with a character a token cannot have.") }
            let name = String(decoding: nameBytes, as: UTF8.self).lowercased()
            var value = line[(colon + 1)...]
            while let byte = value.first, byte == 0x20 || byte == 0x09 { value = value.dropFirst() }
            while let byte = value.last, byte == 0x20 || byte == 0x09 { value = value.dropLast() }
            let text = String(decoding: value, as: UTF8.self)
            switch name {
            case "content-length":
                guard !seenLength else { return refuse(400, "Content-Length is given twice.") }
                seenLength = true
                guard !value.isEmpty, value.count <= 10, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text) else {
                    return refuse(400, "Content-Length is not a number: \(text.prefix(32)).")
                }
                guard length <= limits.bodyBytes else {
                    return refuse(413, "The request body is \(length) bytes; at most \(limits.bodyBytes) are accepted.")
                }
                head.contentLength = length
            case "transfer-encoding":
                return refuse(501, "Transfer-Encoding is not supported: send a body with Content-Length.")
            case "expect":
                guard text.lowercased() == "100-continue" else { return refuse(400, "Unsupported Expect: \(text.prefix(32)).") }
                head.expectsContinue = true
            case "connection":
                let options = text.lowercased().split(separator: ",").map { $0.trimmingSpaces }
                if options.contains("close") { head.keepAlive = false }
                if options.contains("keep-alive") { head.keepAlive = true }
            default:
                break
            }
        }
        return .success(head)
    }

    /// tchar (RFC 9110, 5.6.2).
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var slice = self[...]
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
