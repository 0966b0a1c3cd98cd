import Dispatch
import HostIO
import Locking
import Synchronization
import VMM

/// Serves Firecracker's API on a Unix socket: HTTP/1.1 requests read by
/// `HTTPRequestReader`, answered by the controller, one connection per thread of its own.
///
/// A client can hold the server up only for itself: a request must arrive whole within
/// `requestTimeout` of its first byte (else 408, and the connection closes), an idle
/// connection is closed after `idleTimeout`, and at most `maximumConnections` are open
/// at once (more are closed on arrival). Whatever one connection does, the others and
/// the machine go on.
public final class APIServer: Sendable {
    public struct Limits: Sendable {
        public var request = HTTPRequestReader.Limits()
        public var maximumConnections = 32
        public var requestTimeoutMilliseconds: Int32 = 5_000
        public var idleTimeoutMilliseconds: Int32 = 120_000
        public init() {}
    }

    private let listener: UnixSocket
    private let handle: @Sendable (HTTPRequest) -> HTTPResponse
    private let limits: Limits
    private let open = Atomic<Int>(0)
    private let acceptQueue = DispatchQueue(label: "swiftvmm.api.accept")
    /// Entered per connection and by the accept loop; `wait()` waits for all of them.
    private let active = DispatchGroup()
    /// The open connections, so `stop()` can end them.
    private let connections = Locked<[ObjectIdentifier: UnixSocket]>([:])

    /// A server on `listener` that answers each request with `handle`.
    public init(listener: UnixSocket, limits: Limits = Limits(), handle: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.listener = listener
        self.limits = limits
        self.handle = handle
    }

    /// Connections open now.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Starts accepting connections on a thread of its own.
    public func start() {
        active.enter()
        acceptQueue.async { [self] in
            defer { active.leave() }
            var number = 0
            while let connection = listener.accept() {
                guard open.load(ordering: .relaxed) < limits.maximumConnections else { continue }
                open.wrappingAdd(1, ordering: .relaxed)
                number += 1
                active.enter()
                connections.withLock { $0[ObjectIdentifier(connection)] = connection }
                DispatchQueue(label: "swiftvmm.api.connection\(number)").async { [self] in
                    serve(connection)
                    connections.withLock { $0[ObjectIdentifier(connection)] = nil }
                    open.wrappingSubtract(1, ordering: .relaxed)
                    active.leave()
                }
            }
        }
    }

    /// Stops accepting, and ends every open connection (a request being answered is
    /// answered first).
    public func stop() {
        listener.shutdown()
        connections.withLock { connections in
            for connection in connections.values { connection.shutdown() }
        }
    }

    /// Waits until the accept loop and every connection have ended (after `stop()`).
    public func wait() { active.wait() }

    /// One connection's life: read requests, answer each, until the client leaves, breaks
    /// the protocol, or falls silent for too long.
    private func serve(_ connection: UnixSocket) {
        var reader = HTTPRequestReader(limits: limits.request)
        // When the request being read must be whole: set by its first byte.
        var deadline: UInt64?
        while true {
            let started = reader.bufferedByteCount > 0
            if !started { deadline = nil }
            if started && deadline == nil {
                deadline = MonotonicClock.now() + UInt64(limits.requestTimeoutMilliseconds) * 1_000_000
            }
            var timeout = limits.idleTimeoutMilliseconds
            if let deadline {
                let now = MonotonicClock.now()
                timeout = now >= deadline ? 0 : Int32((deadline - now) / 1_000_000)
            }
            switch connection.receive(upTo: 4096, timeoutMilliseconds: timeout) {
            case .bytes(let bytes):
                if deadline == nil { deadline = MonotonicClock.now() + UInt64(limits.requestTimeoutMilliseconds) * 1_000_000 }
                reader.append(bytes)
            case .nothingYet:
                if started {
                    var response = HTTPResponse.fault(408, "The request did not arrive whole within \(limits.requestTimeoutMilliseconds) ms.")
                    response.closesConnection = true
                    connection.send(response.bytes)
                }
                return
            case .endOfFile, .failed:
                return
            }
            // Every whole request in the buffer, in order.
            while true {
                switch reader.next() {
                case .incomplete(let sendContinue):
                    if sendContinue { connection.send(HTTPResponse.continueBytes) }
                case .request(let request):
                    deadline = nil
                    var response = handle(request)
                    if !request.keepAlive { response.closesConnection = true }
                    guard connection.send(response.bytes), !response.closesConnection else { return }
                    continue
                case .refused(let response):
                    connection.send(response.bytes)
                    return
                }
                break
            }
        }
    }
}
