import Foundation
import Locking
import Testing

/// A `swiftvmm` process watched while it runs: its stdout and stderr are collected as
/// they come, so a test can act on what the guest says (signal the VMM, kill it), and
/// waiting for it has a time limit, so a hung VMM fails the test instead of hanging it.
final class RunningVMM {
    /// What the VMM's stdout is.
    enum Output {
        /// A pipe the test reads.
        case collected
        /// Closed: the VMM starts without the standard streams `redirections` close,
        /// such as `>&-` (no file descriptor 1) or `<&- >&- 2>&-`.
        case closed(_ redirections: String)
        /// A pipe whose reading end the test closes at once: every write fails (EPIPE),
        /// and would raise SIGPIPE.
        case unread
    }

    let process = Process()
    private let stdout = Locked<Data>(Data())
    private let stderr = Locked<Data>(Data())
    private let readers = DispatchGroup()

    /// Starts `swiftvmm arguments` (the built one, or `executable`), with `environment`
    /// added to the test's own, through `launcher` if given (a command that ends by
    /// running the executable and arguments that follow its own).
    init(
        _ arguments: [String], output: Output = .collected, environment: [String: String] = [:], launcher: [String] = [],
        executable: String? = nil
    ) throws {
        let executable = try #require(executable ?? SwiftVMMProcess.executable, "the swiftvmm executable was not built next to the tests")
        var command = launcher + [executable] + arguments
        if case .closed(let redirections) = output {
            // The shell closes the descriptors, then becomes the command (same process ID).
            command = ["/bin/sh", "-c", "exec \"$0\" \"$@\" " + redirections] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if case .unread = output { try out.fileHandleForReading.close() } else { collect(out, into: stdout) }
        collect(err, into: stderr)
    }

    private func collect(_ pipe: Pipe, into buffer: Locked<Data>) {
        // read(2) itself: FileHandle.availableData traps on EINTR, which the signals
        // these tests send can cause.
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async(group: readers) {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                buffer.withLock { $0.append(contentsOf: chunk[0..<count]) }
            }
            _ = handle  // keeps the descriptor open until the end
        }
    }

    var output: String { String(decoding: stdout.withLock { $0 }, as: UTF8.self) }
    var errors: String { String(decoding: stderr.withLock { $0 }, as: UTF8.self) }

    /// The complete lines of stdout so far (a line still being written is left out).
    var lines: [String] {
        let text = output.replacingOccurrences(of: "\r\n", with: "\n")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // what follows the last newline: incomplete, or empty
        return lines
    }

    /// Waits until `condition` holds for the lines so far; false if the VMM exited or
    /// `seconds` went by first.
    func waitFor(seconds: Double = 30, _ condition: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(lines) { return true }
            if !process.isRunning { return condition(lines) }
            usleep(5000)
        }
        return false
    }

    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the VMM to exit and returns its status; after `seconds` it is killed
    /// and the test fails.
    func exitStatus(within seconds: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning {
            Issue.record("swiftvmm did not exit within \(seconds) s; killed")
            send(SIGKILL)
        }
        process.waitUntilExit()
        readers.wait()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
}
