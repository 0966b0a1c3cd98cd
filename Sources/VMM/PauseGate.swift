import Dispatch
import Locking

/// Where vCPU threads wait while the machine is paused.
///
/// Pausing closes the gate and kicks every vCPU out of KVM_RUN (`VCPUThread.kick`). A
/// vCPU loop that comes back with an interrupted exit (`ExitAction.checkState`) passes
/// through `parkIfClosed()`: with the gate closed it counts itself parked and waits
/// there, outside the guest, until the gate opens. The check costs nothing on other
/// exits, which never reach it.
///
/// Each closing makes a new wake-up semaphore, so a vCPU still on its way out of one
/// pause cannot take the wake-up meant for a vCPU parked in the next.
final class PauseGate: Sendable {
    private struct State {
        var closed = false
        var parked = 0
        var wakeUp = DispatchSemaphore(value: 0)
    }

    private let state = Locked(State())

    /// Whether the gate is closed (the machine is paused or pausing).
    var isClosed: Bool { state.withLock { $0.closed } }

    /// vCPU threads waiting at the gate.
    var parkedCount: Int { state.withLock { $0.parked } }

    /// Closes the gate; vCPUs that reach it from now on wait.
    func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            state.wakeUp = DispatchSemaphore(value: 0)
        }
    }

    /// Opens the gate and wakes every vCPU parked at it.
    func open() {
        state.withLock { state in
            guard state.closed else { return }
            state.closed = false
            for _ in 0..<state.parked { state.wakeUp.signal() }
            state.parked = 0
        }
    }

    /// Called by a vCPU thread between KVM_RUNs: waits while the gate is closed.
    func parkIfClosed() {
        let wakeUp: DispatchSemaphore? = state.withLock { state in
            guard state.closed else { return nil }
            state.parked += 1
            return state.wakeUp
        }
        wakeUp?.wait()
    }
}
