import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pair of connected Unix stream sockets (socketpair(2)): one end for this process,
/// the other for a child it starts (passt's `--fd`), so no socket path has to be named,
/// raced for or cleaned up.
public final class UnixSocketPair: Sendable {
    /// This process's end: non-blocking, closed on exec.
    public let local: Int32
    /// The child's end: blocking, as a program handed a descriptor expects, and closed
    /// on exec too (the child gets its own copy through `ChildProcess`'s descriptor map).
    public let remote: Int32

    /// A new connected pair; nil with errno set when the system refuses.
    public init?() {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return nil }
        local = fds[0]
        remote = fds[1]
        _ = fcntl(local, F_SETFL, fcntl(local, F_GETFL) | O_NONBLOCK)
    }

    private let remoteOpen = Atomic(true)

    /// Closes the child's end once the child holds its own copy.
    public func closeRemote() {
        if remoteOpen.exchange(false, ordering: .acquiringAndReleasing) { close(remote) }
    }

    deinit {
        close(local)
        closeRemote()
    }
}
