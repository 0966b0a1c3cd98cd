// CKVM's headers include <net/if.h>, after which whole-module builds find MSG_NOSIGNAL
// through CKVM rather than Glibc.
import CKVM
import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// A Unix-domain stream socket (unix(7)): a listening one bound to a path, or one end of
/// a connection. The file descriptor is closed when the value goes. The layers above
/// exchange arrays of bytes with it and hold no pointers.
public final class UnixSocket: Sendable {
    /// Why a socket could not be made: "bind /tmp/v.sock: Address already in use (EADDRINUSE)".
    public struct Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// What failed ("bind", "connect"), the path, and errno.
        public let operation: String
        public let path: String
        public let errno: Errno

        init(operation: String, path: String, errno: Int32) {
            self.operation = operation
            self.path = path
            self.errno = Errno(errno)
        }

        public var description: String { "\(operation) \(path): \(errno)" }
    }

    /// What a receive found.
    public enum Received: Sendable, Equatable {
        case bytes([UInt8])
        case endOfFile
        /// Nothing arrived within the time allowed (or, non-blocking, nothing is there).
        case nothingYet
        case failed(Errno)
    }

    public let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// sun_path's size, with its terminating NUL.
    static let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    private static func address(_ path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < pathCapacity, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }

    private static func withAddress<T>(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A socket listening at `path`, which must not exist yet, with file mode `mode`
    /// (0600: only this user may connect). The mode is the socket's from its creation:
    /// the umask is narrowed around bind(2), then the mode is set exactly.
    public static func listen(at path: String, mode: mode_t = 0o600, backlog: Int32 = 64) throws(Error) -> UnixSocket {
        guard let address = address(path) else { throw Error(operation: "bind", path: path, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Error(operation: "socket", path: path, errno: errno) }
        let socket = UnixSocket(fd: fd)
        let previous = umask(~mode & 0o777)
        let bound = withAddress(address) { bind(fd, $0, $1) }
        let bindError = errno
        umask(previous)
        guard bound == 0 else { throw Error(operation: "bind", path: path, errno: bindError) }
        guard chmod(path, mode) == 0 else { throw Error(operation: "chmod", path: path, errno: errno) }
        guard Glibc.listen(fd, backlog) == 0 else { throw Error(operation: "listen", path: path, errno: errno) }
        return socket
    }

    /// A connection to the socket listening at `path`. With `waiting` false the socket is
    /// non-blocking from the start, and so is the connection: where the listener's backlog
    /// is full, connect(2) fails at once with EAGAIN instead of waiting for it to accept
    /// (unix(7)), so a program that never accepts holds up no thread of the caller's.
    public static func connect(to path: String, waiting: Bool = true) throws(Error) -> UnixSocket {
        guard let address = address(path) else { throw Error(operation: "connect", path: path, errno: ENAMETOOLONG) }
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (waiting ? 0 : Int32(SOCK_NONBLOCK.rawValue))
        let fd = socket(AF_UNIX, flags, 0)
        guard fd >= 0 else { throw Error(operation: "socket", path: path, errno: errno) }
        let socket = UnixSocket(fd: fd)
        while withAddress(address, { Glibc.connect(fd, $0, $1) }) != 0 {
            guard errno == EINTR else { throw Error(operation: "connect", path: path, errno: errno) }
        }
        return socket
    }

    /// Waits for a connection; nil once the socket is shut down or fails.
    public func accept() -> UnixSocket? {
        while true {
            let connection = Glibc.accept(fd, nil, nil)
            if connection >= 0 {
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                return UnixSocket(fd: connection)
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Makes reads and writes return at once instead of waiting.
    public func setNonBlocking() {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Up to `count` bytes, waiting at most `timeoutMilliseconds` (-1: no limit) for them.
    public func receive(upTo count: Int, timeoutMilliseconds: Int32 = -1) -> Received {
        if timeoutMilliseconds >= 0 {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while true {
                let ready = poll(&entry, 1, timeoutMilliseconds)
                if ready == 0 { return .nothingYet }
                if ready > 0 { break }
                if errno != EINTR { return .failed(.current) }
            }
        }
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let result = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if result > 0 { return .bytes(Array(buffer[0..<result])) }
            if result == 0 { return .endOfFile }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .nothingYet }
            return .failed(.current)
        }
    }

    /// Sends all of `bytes` (without SIGPIPE when the peer is gone); false if it could not.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
                continue
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Sends as much of `bytes` as the socket takes now (non-blocking); returns how many
    /// bytes went, or nil when the connection is gone.
    public func sendSome(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return 0 }
        while true {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent >= 0 { return sent }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            return nil
        }
    }

    /// Ends both directions: a thread blocked in `accept` or `receive` returns.
    public func shutdown() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Ends the sending direction only: the peer reads end of file, and may still send.
    public func shutdownSending() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }
}

extension HostIO {
    /// poll(2) on `fds`, each for reading (and for writing where `wantsWrite` says so),
    /// waiting at most `timeoutMilliseconds`. Returns, per descriptor, whether it is
    /// readable (or hung up) and whether it is writable.
    public static func readiness(
        of fds: [(fd: Int32, wantsWrite: Bool)], timeoutMilliseconds: Int32
    ) -> [(readable: Bool, writable: Bool)] {
        var entries = fds.map { pollfd(fd: $0.fd, events: Int16(POLLIN) | ($0.wantsWrite ? Int16(POLLOUT) : 0), revents: 0) }
        while true {
            let ready = entries.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
            if ready >= 0 || errno != EINTR { break }
        }
        return entries.map {
            let readable = Int32($0.revents) & Int32(POLLIN | POLLHUP | POLLERR) != 0
            return (readable, Int32($0.revents) & Int32(POLLOUT | POLLERR | POLLHUP) != 0)
        }
    }
}
