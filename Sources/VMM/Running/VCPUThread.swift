import Dispatch
import KVM
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// One vCPU's run loop, on its own serial Dispatch queue (never a global queue: KVM_RUN
/// blocks its thread for as long as the guest runs).
///
/// Stopping a vCPU from another thread takes two steps (api.rst 5, "immediate_exit"):
/// set `immediate_exit`, so a KVM_RUN about to start returns at once, then send the
/// thread a signal, so a KVM_RUN already in the guest returns with EINTR.
final class VCPUThread: Sendable {
    /// The signal that kicks a vCPU thread out of KVM_RUN. Its handler does nothing;
    /// the point is the interrupted system call.
    static let kickSignal = SIGUSR1

    let vcpu: VCPU
    private let queue: DispatchQueue
    private let thread = Locked<pthread_t?>(nil)

    init(vcpu: VCPU) {
        self.vcpu = vcpu
        self.queue = DispatchQueue(label: "swiftvmm.vcpu\(vcpu.id)")
    }

    /// Installs the do-nothing handler for `kickSignal`, without SA_RESTART so KVM_RUN
    /// is interrupted rather than restarted. Called once, before any vCPU starts.
    static func installKickHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(kickSignal, &action, nil)
    }

    /// Runs `loop` on this vCPU's queue, as part of `group`.
    func start(group: DispatchGroup, loop: @escaping @Sendable (VCPU) -> Void) {
        queue.async(group: group) { [self] in
            // Dispatch worker threads start with signals blocked; the kick must get through.
            var kick = sigset_t()
            sigemptyset(&kick)
            sigaddset(&kick, Self.kickSignal)
            pthread_sigmask(SIG_UNBLOCK, &kick, nil)
            thread.withLock { $0 = pthread_self() }
            loop(vcpu)
            thread.withLock { $0 = nil }
            pthread_sigmask(SIG_BLOCK, &kick, nil)
        }
    }

    /// Returns once the run loop's block is finished and let go of. A DispatchGroup is
    /// left when the block returns, but the block (and what it holds: the machine, this
    /// vCPU) is released a moment later on its worker thread; a serial queue runs the
    /// next block only after that, so an empty one marks the moment.
    func waitUntilReleased() {
        queue.sync {}
    }

    /// True while the run loop is on its thread (between KVM_RUNs or inside one).
    var isRunningLoop: Bool { thread.withLock { $0 != nil } }

    /// Makes the vCPU leave KVM_RUN promptly. Safe from any thread, at any time.
    func kick() {
        vcpu.requestImmediateExit(true)
        thread.withLock { thread in
            if let thread { pthread_kill(thread, Self.kickSignal) }
        }
    }
}
