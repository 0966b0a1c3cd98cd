import HostIO
import JSON
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// The front end's log and metrics files (`PUT /logger`, `--log-path`, `--level`;
/// `PUT /metrics`, `FlushMetrics`). Lines go to the log file when one is set, at the
/// level set (Info by default); a metrics flush writes one JSON object on one line.
public final class APILog: Sendable {
    private struct State {
        var fd: Int32?
        var level = LoggerConfig.levels.firstIndex(of: "Info")!
        var showLevel = false
        var metricsFD: Int32?
    }

    private let state = Locked(State())
    private let instanceID: String

    public init(instanceID: String) { self.instanceID = instanceID }

    deinit {
        state.withLock { state in
            if let fd = state.fd { close(fd) }
            if let fd = state.metricsFD { close(fd) }
        }
    }

    /// Opens `path` for appending, as Firecracker does: an existing file or named pipe
    /// (created if missing).
    static func openForAppending(_ path: String, role: String) throws(APIError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw APIError("Cannot open the \(role) file \(path): \(String(cString: strerror(errno))).") }
        return fd
    }

    /// Applies `--level`/`--log-path` or a `PUT /logger`.
    func configure(_ config: LoggerConfig) throws(APIError) {
        let fd = try config.logPath.map { (path: String) throws(APIError) in try Self.openForAppending(path, role: "log") }
        state.withLock { state in
            if let fd {
                if let old = state.fd { close(old) }
                state.fd = fd
            }
            if let level = config.level, let index = LoggerConfig.levels.firstIndex(of: level) { state.level = index }
            state.showLevel = config.showLevel
        }
    }

    /// `--level LEVEL` / `--log-path PATH` from the command line.
    public func configure(level: String?, path: String?) throws(APIError) {
        try configure(LoggerConfig(level: level, logPath: path))
    }

    func configureMetrics(_ path: String) throws(APIError) {
        let fd = try Self.openForAppending(path, role: "metrics")
        try state.withLock { (state: inout State) throws(APIError) in
            if state.metricsFD != nil {
                close(fd)
                throw APIError("Reinitialization of metrics not allowed.")
            }
            state.metricsFD = fd
        }
    }

    func flushMetrics(_ document: JSONValue) throws(APIError) {
        let line = Array((document.compactText + "\n").utf8)
        let written: Bool? = state.withLock { state in state.metricsFD.map { HostIO.write($0, line) } }
        guard let written else { throw APIError("The metrics system is not initialized: PUT /metrics first.") }
        guard written else { throw APIError("Cannot write the metrics file.") }
    }

    func error(_ message: String) { write(message, level: "Error") }
    func info(_ message: String) { write(message, level: "Info") }

    /// The boot timer's line (`--boot-timer`), in Firecracker's words: the time from the
    /// process's start to the guest's write, wall and CPU, each in microseconds and
    /// milliseconds.
    @Sendable func bootTime(wall: UInt64, cpu: UInt64) {
        func padded(_ value: UInt64) -> String {
            let text = String(value)
            return String(repeating: " ", count: max(0, 6 - text.count)) + text
        }
        let wallMicroseconds = wall / 1000, cpuMicroseconds = cpu / 1000
        info("Guest-boot-time = \(padded(wallMicroseconds)) us \(wallMicroseconds / 1000) ms, "
            + "\(padded(cpuMicroseconds)) CPU us \(cpuMicroseconds / 1000) CPU ms")
    }

    private func write(_ message: String, level: String) {
        let index = LoggerConfig.levels.firstIndex(of: level)!
        state.withLock { state in
            guard let fd = state.fd, index <= state.level else { return }
            let prefix = "\(Self.timestamp()) [\(instanceID)\(state.showLevel ? ":\(level.uppercased())" : "")] "
            HostIO.write(fd, Array((prefix + message + "\n").utf8))
        }
    }

    /// Milliseconds since the epoch (CLOCK_REALTIME).
    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private static func timestamp() -> String {
        let milliseconds = wallClockMilliseconds()
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
