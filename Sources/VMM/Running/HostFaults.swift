import Devices
import HostIO
import Locking

/// What the running machine does when a host call it makes for a device fails: an
/// interrupt it cannot raise, a message it cannot send, a notification it cannot move.
/// None may pass in silence. A failure that would leave the guest waiting for ever (an
/// interrupt line KVM refuses) stops the machine with a reason; one the machine works
/// around, or one the guest caused (an MSI-X message addressed to no CPU), is a warning,
/// written once for each device and call, and listed in the report.
final class HostFaults: Sendable {
    private struct State {
        var warned: Set<String> = []
        var warnings: [String] = []
        var stop: (@Sendable (StopReason) -> Void)?
        var pendingStop: StopReason?
    }

    private let state = Locked(State())
    private let output: (any ByteSink)?

    /// Faults whose warnings are written, as lines, to `output` (stderr), if given.
    init(output: (any ByteSink)?) {
        self.output = output
    }

    /// Warns about `message` once for `key` (a device and a call, say): later faults of
    /// the same key are counted in the first one's place, not repeated.
    func warnOnce(_ key: String, _ message: String) {
        let first: Bool = state.withLock { state in
            guard state.warned.insert(key).inserted else { return false }
            state.warnings.append(message)
            return true
        }
        if first { output?.write(Array("swiftvmm: warning: \(message)\n".utf8)) }
    }

    /// Stops the machine for `reason`; a fault before the machine runs stops it as soon
    /// as it does.
    func stopMachine(_ reason: StopReason) {
        let stop: (@Sendable (StopReason) -> Void)? = state.withLock { state in
            if state.stop == nil, state.pendingStop == nil { state.pendingStop = reason }
            return state.stop
        }
        stop?(reason)
    }

    /// From now on faults that stop the machine call `stop`.
    func whenStopping(_ stop: @escaping @Sendable (StopReason) -> Void) {
        let pending: StopReason? = state.withLock { state in
            state.stop = stop
            defer { state.pendingStop = nil }
            return state.pendingStop
        }
        if let pending { stop(pending) }
    }

    /// Every warning written, in order.
    var warnings: [String] { state.withLock { $0.warnings } }
}
