#if canImport(Glibc)
import Glibc
#endif

extension HostIO {
    /// One descriptor to wait on, and for what.
    public struct PollRequest: Sendable, Equatable {
        public let fd: Int32
        public let readable: Bool
        public let writable: Bool

        /// Wait on `fd` for input (`readable`) or room (`writable`).
        public init(fd: Int32, readable: Bool = true, writable: Bool = false) {
            self.fd = fd
            self.readable = readable
            self.writable = writable
        }
    }

    /// What poll(2) said of one descriptor.
    public struct PollResult: Sendable, Equatable {
        public let readable: Bool
        public let writable: Bool
        /// POLLERR, POLLHUP or POLLNVAL: the descriptor is broken or closed; a read or
        /// write will say why.
        public let failed: Bool
    }

    /// poll(2) on `requests`, for at most `timeoutMilliseconds` (-1: no limit); one
    /// result per request, in order (all false on a timeout or EINTR).
    public static func poll(_ requests: [PollRequest], timeoutMilliseconds: Int32) -> [PollResult] {
        var fds = requests.map { request in
            pollfd(fd: request.fd, events: Int16((request.readable ? POLLIN : 0) | (request.writable ? POLLOUT : 0)), revents: 0)
        }
        let count = Glibc.poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        return fds.map { entry in
            let events = Int32(entry.revents)
            guard count > 0 else { return PollResult(readable: false, writable: false, failed: false) }
            return PollResult(
                readable: events & Int32(POLLIN) != 0, writable: events & Int32(POLLOUT) != 0,
                failed: events & Int32(POLLERR | POLLHUP | POLLNVAL) != 0)
        }
    }
}
