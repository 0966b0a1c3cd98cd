import Synchronization

/// One direction of a network device's interest in its backend (input: a frame to
/// read; output: room to write), held by the queue handler that waits on it. Let go of
/// with its handler (the queue disabled, the device reset), it stops the watch, so the
/// device's thread never wakes for a queue no one serves.
final class BackendWatch: Sendable {
    enum Direction: Sendable { case input, output }

    private let direction: Direction
    private let wakeUps: any VirtioWakeUps
    private let on = Atomic<Bool>(false)

    init(_ direction: Direction, wakeUps: any VirtioWakeUps) {
        self.direction = direction
        self.wakeUps = wakeUps
    }

    deinit { set(false) }

    /// Whether the backend is being watched for this direction.
    var isOn: Bool { on.load(ordering: .relaxed) }

    /// Starts or stops watching; tells the wake-ups only of a change.
    func set(_ watching: Bool) {
        guard on.exchange(watching, ordering: .relaxed) != watching else { return }
        switch direction {
        case .input: wakeUps.watchBackendInput(watching)
        case .output: wakeUps.watchBackendOutput(watching)
        }
    }
}
