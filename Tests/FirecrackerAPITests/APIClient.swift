import Foundation
import HostIO
import Testing
@testable import FirecrackerAPI

/// A test's HTTP client on a Unix socket: sends raw bytes, reads one response (status
/// and body) or notices the server closed the connection.
final class APIClient {
    let socket: UnixSocket

    init(_ path: String) throws {
        socket = try UnixSocket.connect(to: path)
    }

    func send(_ text: String) { socket.send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) { socket.send(bytes) }

    /// `METHOD path` with `body` as JSON.
    func request(_ method: String, _ path: String, _ body: String? = nil) {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body } else { text += "\r\n" }
        send(text)
    }

    private var buffered: [UInt8] = []

    /// The next response: (status, body), or nil when the connection closed (or nothing
    /// came within `seconds`).
    func response(within seconds: Double = 10) -> (status: Int, body: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let parsed = parse() { return parsed }
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard left > 0 else { return nil }
            switch socket.receive(upTo: 65536, timeoutMilliseconds: left) {
            case .bytes(let bytes): buffered += bytes
            default: return nil
            }
        }
    }

    /// Whether the server closed the connection (end of file) within `seconds`, reading
    /// and dropping whatever came before.
    func closed(within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while deadline.timeIntervalSinceNow > 0 {
            switch socket.receive(upTo: 65536, timeoutMilliseconds: Int32(max(1, deadline.timeIntervalSinceNow * 1000))) {
            case .bytes: continue
            case .endOfFile, .failed: return true
            case .nothingYet: return false
            }
        }
        return false
    }

    private func parse() -> (Int, String)? {
        let text = String(decoding: buffered, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<end.lowerBound]
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var length = 0
        for line in head.split(separator: "\r\n").dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let headerBytes = text[..<end.upperBound].utf8.count
        guard buffered.count >= headerBytes + length else { return nil }
        let body = String(decoding: buffered[headerBytes..<headerBytes + length], as: UTF8.self)
        buffered.removeFirst(headerBytes + length)
        if status == 100 { return parse() }
        return (status, body)
    }
}

/// A scratch directory for sockets (short paths: sun_path holds 108 bytes).
func scratchDirectory() -> String {
    let path = "/tmp/svmm-fc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    mkdir(path, 0o700)
    return path
}
