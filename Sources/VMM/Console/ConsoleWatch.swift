import Devices
import Locking

/// The guest's serial output on its way to the console, watched for a CI boot check:
/// when the first byte came, when the `--ready-marker` string appeared, whether the
/// `--expect` string appeared (and then it stops the machine), and the last lines, to
/// show when the wait times out.
///
/// The machine puts it between the UART and the console only when one of those is asked
/// for; otherwise the UART writes straight to the console.
final class ConsoleWatch: ByteSink {
    /// How much output is kept for `lastLines`: enough for the lines a report shows.
    static let tailCapacity = 4096
    /// How many lines a timeout report shows.
    static let reportedLines = 10

    private struct State {
        var firstByte: UInt64?
        var ready: MarkerMatcher?
        var readyAt: UInt64?
        var expected: MarkerMatcher?
        var expectedAt: UInt64?
        var onExpected: (@Sendable () -> Void)?
        var tail: [UInt8] = []
    }

    private let output: any ByteSink
    private let state: Locked<State>

    /// Watches what is written to `output` for `readyMarker` and `expectedOutput`.
    init(output: any ByteSink, readyMarker: String?, expectedOutput: String?) {
        self.output = output
        self.state = Locked(State(ready: readyMarker.map(MarkerMatcher.init), expected: expectedOutput.map(MarkerMatcher.init)))
    }

    /// Runs `action` (once) when the expected output appears.
    func whenExpectedOutputAppears(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.onExpected = action }
    }

    func write(_ bytes: [UInt8]) {
        // The console first: the marker's last byte is shown before the machine stops.
        output.write(bytes)
        let now = MonotonicClock.now()
        let action: (@Sendable () -> Void)? = state.withLock { state in
            if state.firstByte == nil && !bytes.isEmpty { state.firstByte = now }
            if state.readyAt == nil, state.ready?.feed(bytes) == true { state.readyAt = now }
            state.tail.append(contentsOf: bytes)
            if state.tail.count > 2 * Self.tailCapacity { state.tail.removeFirst(state.tail.count - Self.tailCapacity) }
            guard state.expectedAt == nil, state.expected?.feed(bytes) == true else { return nil }
            state.expectedAt = now
            return state.onExpected
        }
        action?()
    }

    /// When the first byte was written.
    var firstByteTime: UInt64? { state.withLock { $0.firstByte } }
    /// When the ready marker appeared.
    var readyMarkerTime: UInt64? { state.withLock { $0.readyAt } }
    /// Whether the expected output appeared.
    var sawExpectedOutput: Bool { state.withLock { $0.expectedAt != nil } }

    /// The last `reportedLines` lines of output, without line endings; an unfinished last
    /// line is included.
    var lastLines: [String] {
        let tail = state.withLock { $0.tail }
        // Split the bytes, not a String: Swift reads "\r\n" as one Character.
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        return Array(lines.suffix(Self.reportedLines))
    }
}
