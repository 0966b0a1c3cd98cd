import Dispatch
import KVM
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// One vCPU's thread: a serial Dispatch queue of its own (never a global queue: KVM_RUN
/// blocks its thread for as long as the guest runs), whose one work item is the vCPU's
/// whole life: take the kick signal, run, give the signal back and leave.
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
    /// The thread the life runs on while it runs, for the kick.
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

    /// Runs `life` on this vCPU's queue, as part of `group`, which it leaves when the
    /// life ends. Dispatch's worker threads block every signal; the kick is let through
    /// for the life's length, and blocked again before the thread goes back to Dispatch.
    func start(group: DispatchGroup, life: @escaping @Sendable (VCPU) -> Void) {
        queue.async(group: group) { [unowned self] in
            var kick = sigset_t()
            sigemptyset(&kick)
            sigaddset(&kick, Self.kickSignal)
            pthread_sigmask(SIG_UNBLOCK, &kick, nil)
            thread.withLock { $0 = pthread_self() }
            life(vcpu)
            thread.withLock { $0 = nil }
            pthread_sigmask(SIG_BLOCK, &kick, nil)
        }
    }

    /// True while the vCPU's life runs on its thread (between KVM_RUNs or inside one).
    var isLiving: Bool { thread.withLock { $0 != nil } }

    /// Makes the vCPU leave KVM_RUN promptly. Safe from any thread, at any time.
    func kick() {
        vcpu.requestImmediateExit(true)
        thread.withLock { thread in
            if let thread { pthread_kill(thread, Self.kickSignal) }
        }
    }
}
