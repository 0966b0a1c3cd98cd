import Locking
import Synchronization

/// A machine's life: created, running, stopping, stopped. The first stop reason wins;
/// later ones (the other vCPUs noticing) are ignored.
///
/// ```
///  created --start()--> running --beginStopping(reason)--> stopping --finishStopping()--> stopped
///     |                                                        ^
///     +----------------- beginStopping(reason) ----------------+   (stopped before it ran)
/// ```
/// - running: vCPU loops enter KVM_RUN while `isRunning` holds.
/// - stopping: entered by the first stop (a vCPU's exit event: reset, debug exit, triple
///   fault, an error; the user; a signal). Its caller kicks every vCPU out of KVM_RUN,
///   and each loop ends at its next check of `isRunning`.
/// - stopped: every vCPU thread has left KVM_RUN and every device has flushed; only
///   then does `Machine.run()` return.
final class Lifecycle: Sendable {
    enum State: Sendable, Equatable {
        case created
        case running
        case stopping(StopReason)
        case stopped(StopReason)
    }

    private let state = Locked<State>(.created)
    /// Whether `state` is `.running`, readable without the lock, as every vCPU asks after
    /// every exit (why: docs/PERFORMANCE.md, the exit path). Written only with the lock
    /// held, as the state changes.
    private let running = Atomic<Bool>(false)

    var current: State { state.withLock { $0 } }

    var isRunning: Bool { running.load(ordering: .acquiring) }

    func start() {
        state.withLock {
            if $0 == .created {
                $0 = .running
                running.store(true, ordering: .releasing)
            }
        }
    }

    /// Records `reason` if no stop was recorded yet. Returns true for the first caller.
    func beginStopping(_ reason: StopReason) -> Bool {
        state.withLock { state in
            switch state {
            case .created, .running:
                state = .stopping(reason)
                running.store(false, ordering: .releasing)
                return true
            case .stopping, .stopped:
                return false
            }
        }
    }

    /// Marks the machine stopped once every vCPU has left KVM_RUN and the devices have
    /// flushed; returns the reason.
    func finishStopping() -> StopReason {
        state.withLock { state in
            switch state {
            case .stopping(let reason), .stopped(let reason):
                state = .stopped(reason)
                return reason
            case .created, .running:
                // A vCPU's life ends only once the machine is stopping (`Machine.run`).
                preconditionFailure("the machine finished stopping without a stop")
            }
        }
    }
}
