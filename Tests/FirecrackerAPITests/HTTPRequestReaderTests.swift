import Testing
@testable import FirecrackerAPI

/// Feeds `text` to a reader (all at once, or `chunk` bytes at a time) and returns what it made of it.
private func read(_ text: String, chunk: Int? = nil, limits: HTTPRequestReader.Limits = .init()) -> [HTTPRequestReader.Outcome] {
    var reader = HTTPRequestReader(limits: limits)
    var outcomes: [HTTPRequestReader.Outcome] = []
    let bytes = Array(text.utf8)
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + (chunk ?? bytes.count))
        reader.append(Array(bytes[offset..<end]))
        offset = end
        while true {
            let outcome = reader.next()
            if case .incomplete(let sendContinue) = outcome {
                if sendContinue { outcomes.append(outcome) }
                break
            }
            outcomes.append(outcome)
            if case .refused = outcome { return outcomes }
        }
    } while offset < bytes.count
    return outcomes
}

private func status(_ outcomes: [HTTPRequestReader.Outcome]) -> Int? {
    if case .refused(let response)? = outcomes.last { return response.status }
    return nil
}

@Suite("HTTP/1.1 request reader (RFC 9112)")
struct HTTPRequestReaderTests {
    @Test("a GET and a PUT with a body, one after the other on one connection")
    func pipelined() {
        let outcomes = read("GET / HTTP/1.1\r\nHost: localhost\r\n\r\nPUT /drives/rootfs HTTP/1.1\r\nContent-Length: 4\r\n\r\n{\"a\"")
        #expect(outcomes == [
            .request(HTTPRequest(method: .get, path: "/")),
            .request(HTTPRequest(method: .put, path: "/drives/rootfs", body: Array("{\"a\"".utf8))),
        ])
    }

    @Test("the same requests arriving one byte at a time read the same")
    func byteByByte() {
        let text = "PATCH /vm?x=1 HTTP/1.1\r\ncontent-length:  19 \r\n\r\n{\"state\":\"Paused\"}\n"
        #expect(read(text, chunk: 1) == [.request(HTTPRequest(method: .patch, path: "/vm", body: Array("{\"state\":\"Paused\"}\n".utf8)))])
    }

    @Test("Expect: 100-continue is answered once the header is whole, before the body")
    func expectContinue() {
        let header = "PUT /logger HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        let outcomes = read(header + "{}", chunk: header.utf8.count)
        #expect(outcomes.first == .incomplete(sendContinue: true))
        #expect(outcomes.last == .request(HTTPRequest(method: .put, path: "/logger", body: Array("{}".utf8))))
    }

    @Test("HTTP/1.0 and Connection: close end the connection after the answer")
    func connectionClose() {
        #expect(read("GET / HTTP/1.0\r\n\r\n") == [.request(HTTPRequest(method: .get, path: "/", keepAlive: false))])
        #expect(read("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == [.request(HTTPRequest(method: .get, path: "/", keepAlive: false))])
    }

    @Test("malformed requests are refused with 400 and close the connection", arguments: [
        "GET / HTTP/1.1\n\n",                              // bare LF
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",               // bare CR
        "GET  / HTTP/1.1\r\n\r\n",                         // two spaces
        "GET /\r\n\r\n",                                   // no version
        "GET http://x/ HTTP/1.1\r\n\r\n",                  // absolute form
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",       // obs-fold
        "GET / HTTP/1.1\r\nName : value\r\n\r\n",          // space before the colon
        "GET / HTTP/1.1\r\nno colon\r\n\r\n",
        "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "PUT / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
        "DELETE / HTTP/1.1\r\n\r\n",
        "get / HTTP/1.1\r\n\r\n",
        "GET /\u{7f} HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nA\u{0}: b\r\n\r\n",
    ])
    func malformed(_ text: String) {
        let outcomes = read(text)
        #expect(status(outcomes) == 400, "\(text.debugDescription): \(outcomes)")
        if case .refused(let response)? = outcomes.last { #expect(response.closesConnection) }
    }

    @Test("a header larger than the limit is refused with 431 before it ends")
    func hugeHeader() {
        let limits = HTTPRequestReader.Limits(headerBytes: 1024)
        let outcomes = read("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 5000), chunk: 100, limits: limits)
        #expect(status(outcomes) == 431)
        #expect(status(read("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 65) + "\r\n")) == 431)
    }

    @Test("a body larger than the limit is refused with 413 from its Content-Length alone")
    func hugeBody() {
        #expect(status(read("PUT /vsock HTTP/1.1\r\nContent-Length: 51201\r\n\r\n")) == 413)
        #expect(status(read("PUT /vsock HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")) == 400)
    }

    @Test("chunked bodies answer 501, other HTTP versions 505")
    func unsupported() {
        #expect(status(read("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")) == 501)
        #expect(status(read("GET / HTTP/2.0\r\n\r\n")) == 505)
    }

    @Test("an incomplete body waits for more, and never becomes a request")
    func incompleteBody() {
        var reader = HTTPRequestReader()
        reader.append(Array("PUT /logger HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}".utf8))
        #expect(reader.next() == .incomplete(sendContinue: false))
        #expect(reader.bufferedByteCount > 0)
    }

    @Test("the response bytes: status line, Firecracker's Server header, JSON body with its length")
    func responseBytes() {
        let response = HTTPResponse.fault(400, "bad")
        #expect(String(decoding: response.bytes, as: UTF8.self) ==
            "HTTP/1.1 400 Bad Request\r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{\"fault_message\":\"bad\"}")
        #expect(String(decoding: HTTPResponse.noContent.bytes, as: UTF8.self) ==
            "HTTP/1.1 204 No Content\r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n")
    }
}
