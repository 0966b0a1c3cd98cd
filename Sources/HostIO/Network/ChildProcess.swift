import SystemErrors
#if canImport(Glibc)
import Glibc
#endif

/// A program this process starts and stops (passt, for user-mode networking): spawned
/// with posix_spawn(3), one descriptor of ours handed to it at a number it is told,
/// terminated with SIGTERM and reaped when we are done with it.
public final class ChildProcess: Sendable {
    /// The child's process ID.
    public let pid: pid_t

    /// Why a program could not be started.
    public struct SpawnError: Error, Equatable, Sendable {
        public let program: String
        public let errno: Errno
    }

    /// Starts `path` with `arguments` (argv[0] included), `descriptor` duplicated onto
    /// `childDescriptor` in the child, stdin from /dev/null, stdout and stderr ours.
    public init(path: String, arguments: [String], passing descriptor: Int32, as childDescriptor: Int32) throws(SpawnError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptor, childDescriptor)
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard result == 0 else { throw SpawnError(program: path, errno: Errno(result)) }
        self.pid = pid
    }

    /// Whether the child has exited (reaping it if so); its exit status or signal then.
    public func exited() -> (exited: Bool, status: Int32) {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return (result == pid || (result < 0 && errno == ECHILD), status)
    }

    /// Sends SIGTERM and waits for the child to end (SIGKILL after `grace` seconds).
    public func terminate(grace: Double = 2) {
        guard !exited().exited else { return }
        kill(pid, SIGTERM)
        let deadline = Double(Self.monotonicNanoseconds()) + grace * 1e9
        while Double(Self.monotonicNanoseconds()) < deadline {
            if exited().exited { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// The first of `names` found on PATH (or `path` itself if it has a slash), as
    /// execvp(3) would find it; nil if none is there.
    public static func find(_ name: String, path: String? = getenv("PATH").map { String(cString: $0) }) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// CLOCK_MONOTONIC in nanoseconds, for the grace period.
    private static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
