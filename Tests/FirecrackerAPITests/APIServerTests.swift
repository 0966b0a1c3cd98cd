import Foundation
import HostIO
import Testing
@testable import FirecrackerAPI

/// A server on a fresh socket answering every request with 204, or the path's echo for
/// GET, with short timeouts.
private func makeServer(_ configure: (inout APIServer.Limits) -> Void = { _ in }) throws -> (APIServer, String) {
    let path = scratchDirectory() + "/api.sock"
    var limits = APIServer.Limits()
    limits.requestTimeoutMilliseconds = 500
    limits.idleTimeoutMilliseconds = 1500
    configure(&limits)
    let server = APIServer(listener: try UnixSocket.listen(at: path), limits: limits) { request in
        request.method == .get ? .ok(.string(request.path)) : .noContent
    }
    server.start()
    return (server, path)
}

/// A well-behaved request still answers.
private func stillServes(_ path: String) throws {
    let client = try APIClient(path)
    client.request("GET", "/still")
    #expect(client.response()?.body == "\"/still\"")
}

@Suite("Firecracker API server: hostile clients get an error or a closed connection, and the server goes on")
struct APIServerTests {
    @Test("the socket is created mode 0600")
    func socketMode() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
    }

    @Test("keep-alive: several requests on one connection, each answered in order")
    func keepAlive() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let client = try APIClient(path)
        client.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPUT /c HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        #expect(client.response()?.body == "\"/a\"")
        #expect(client.response()?.body == "\"/b\"")
        #expect(client.response()?.status == 204)
    }

    @Test("malformed HTTP: 400 with a fault_message, then the connection closes")
    func malformed() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let client = try APIClient(path)
        client.send("HELLO\r\n\r\n")
        let response = client.response()
        #expect(response?.status == 400)
        #expect(response?.body.contains("fault_message") == true)
        #expect(client.closed())
        try stillServes(path)
    }

    @Test("a huge header: 431 once past the limit, and the connection closes")
    func hugeHeader() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let client = try APIClient(path)
        client.send("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "x", count: 100_000))
        #expect(client.response()?.status == 431)
        #expect(client.closed())
        try stillServes(path)
    }

    @Test("a body that never ends: 408 at the request timeout, and the connection closes")
    func endlessBody() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let client = try APIClient(path)
        client.send("PUT /drives/x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"drive_id\":")
        let started = Date()
        #expect(client.response(within: 5)?.status == 408)
        #expect(client.closed())
        #expect(Date().timeIntervalSince(started) < 3)
        try stillServes(path)
    }

    @Test("a client that trickles a byte at a time cannot hold its connection past the request timeout")
    func trickle() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let client = try APIClient(path)
        let started = Date()
        var closed = false
        for byte in Array("GET / HTTP/1.1\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "y"), count: 100) {
            client.send([byte])
            if client.closed(within: 0.1) { closed = true; break }
        }
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 3)
        try stillServes(path)
    }

    @Test("a client that connects and says nothing blocks no one, and is closed when idle too long")
    func silentClient() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        let silent = try APIClient(path)
        try stillServes(path)
        #expect(silent.closed(within: 5))
    }

    @Test("more connections than the limit: the extra ones are closed at once, the others served")
    func connectionLimit() throws {
        let (server, path) = try makeServer { $0.maximumConnections = 2 }
        defer { server.stop() }
        let first = try APIClient(path), second = try APIClient(path)
        first.request("GET", "/1")
        second.request("GET", "/2")
        #expect(first.response() != nil && second.response() != nil)
        let third = try APIClient(path)
        #expect(third.closed(within: 2))
    }

    @Test("random bytes from many clients: every one gets an answer or a close, and the server goes on")
    func garbage() throws {
        let (server, path) = try makeServer()
        defer { server.stop() }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let client = try APIClient(path)
            client.send((0..<Int.random(in: 1...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } + Array("\r\n\r\n".utf8))
            _ = client.response(within: 2)
        }
        try stillServes(path)
    }
}
