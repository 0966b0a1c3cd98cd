import Dispatch
import Locking
import Synchronization

/// Where vCPU threads wait while the machine is paused.
///
/// Pausing closes the gate, then kicks every vCPU out of KVM_RUN (`VCPUThread.kick`).
/// After every exit a vCPU's life (`Machine.live`) looks at the gate, one atomic load
/// like the lifecycle's; with the gate closed it parks there, counted, outside the guest,
/// until the gate opens (`Machine+Run.swift` says what it does about `immediate_exit`).
///
/// Each closing makes a new wake-up semaphore, so a vCPU still on its way out of one
/// pause cannot take the wake-up meant for a vCPU parked in the next.
final class PauseGate: Sendable {
    private struct State {
        var parked = 0
        var wakeUp = DispatchSemaphore(value: 0)
    }

    private let state = Locked(State())
    /// Whether the gate is closed, readable without the lock, as every vCPU asks after
    /// every exit. Written only with the lock held.
    private let closed = Atomic<Bool>(false)

    /// Whether the gate is closed (the machine is paused or pausing).
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// vCPU threads waiting at the gate.
    var parkedCount: Int { state.withLock { $0.parked } }

    /// Closes the gate; vCPUs that reach it from now on wait.
    func close() {
        state.withLock { state in
            guard !closed.load(ordering: .relaxed) else { return }
            closed.store(true, ordering: .releasing)
            state.wakeUp = DispatchSemaphore(value: 0)
        }
    }

    /// Opens the gate and wakes every vCPU parked at it.
    func open() {
        state.withLock { state in
            guard closed.load(ordering: .relaxed) else { return }
            closed.store(false, ordering: .releasing)
            for _ in 0..<state.parked { state.wakeUp.signal() }
            state.parked = 0
        }
    }

    /// Called by a vCPU thread between KVM_RUNs: waits while the gate is closed.
    func park() {
        let wakeUp: DispatchSemaphore? = state.withLock { state in
            guard closed.load(ordering: .relaxed) else { return nil }
            state.parked += 1
            return state.wakeUp
        }
        wakeUp?.wait()
    }
}
