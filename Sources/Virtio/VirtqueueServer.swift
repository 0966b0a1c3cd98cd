import GuestMemory
import Locking
import Synchronization

/// One virtqueue once the driver has enabled it, with its handler, and the lock that
/// makes both belong to whoever serves them: the vCPU thread that wrote the queue's
/// notification register, or the device's I/O thread that an ioeventfd woke. The
/// transport's registers have a lock of their own, which serving never takes, so a
/// request that waits on the host's disk holds up no register access (Cloud Hypervisor
/// gives each queue a thread that owns it and its disk; kvmtool a thread per disk).
///
/// The transport starts and stops it under its register lock, and reads `generation`
/// there: the order of the two locks is always registers first, then the queue.
public final class VirtqueueServer: Sendable {
    /// What one round of serving did, for the transport to act on under its register lock.
    public struct Outcome: Sendable, Equatable {
        /// Chains went back to the driver.
        public var completed = false
        /// ... and the driver wants a used-buffer notification for them (2.7.7.2).
        public var interrupt = false
        /// The ring broke a rule, and the device must set DEVICE_NEEDS_RESET (2.1.2).
        public var failure: VirtqueueError? = nil
        /// The handler changed the device's configuration: the driver is told (2.5).
        public var configurationChanged = false
        /// Which activation of the queue was served (see `generation`).
        public var generation = 0

        /// Whether the transport has anything to do.
        public var needsTransport: Bool { interrupt || failure != nil || configurationChanged }
    }

    /// The queue while it is enabled, and its handler.
    private struct Active {
        var queue: Virtqueue
        var handler: any VirtqueueHandler
    }

    let index: Int
    private let memory: GuestMemory
    private let active = Locked<Active?>(nil)
    /// Whether the device is live (DRIVER_OK, and not DEVICE_NEEDS_RESET): only then is
    /// the queue served (3.1.1, 2.1.2). Written by the transport, read before every chain.
    private let live = Atomic<Bool>(false)
    /// Counts the queue's starts and stops: an outcome of an earlier activation (served
    /// just before a reset) is not acted on. Written with both locks held.
    private let activation = Atomic<Int>(0)

    /// The server of queue `index`, disabled, over `memory`.
    init(index: Int, memory: GuestMemory) {
        self.index = index
        self.memory = memory
    }

    /// The current activation.
    var generation: Int { activation.load(ordering: .relaxed) }

    /// The driver enabled the queue: from now on `queue` (activated) and `handler` serve it.
    func start(_ queue: Virtqueue, handler: any VirtqueueHandler) {
        active.withLock { active in
            activation.wrappingAdd(1, ordering: .relaxed)
            active = Active(queue: queue, handler: handler)
        }
    }

    /// The driver disabled the queue or reset the device: once the round being served (if
    /// any) ends, nothing touches the queue's rings again.
    func stop() {
        active.withLock { active in
            activation.wrappingAdd(1, ordering: .relaxed)
            active = nil
        }
    }

    /// The device became live, or stopped being live.
    func setLive(_ isLive: Bool) {
        live.store(isLive, ordering: .releasing)
    }

    /// Serves every chain the driver made available, looking again after asking to be
    /// notified of more (2.7.10), and says whether the driver wants an interrupt.
    func serve() -> Outcome {
        guard live.load(ordering: .acquiring) else { return Outcome() }
        return active.withLock { active in
            var outcome = Outcome(generation: activation.load(ordering: .relaxed))
            guard let queue = active?.queue else { return outcome }
            var served = ServedVirtqueue(queue, memory: memory)
            do throws(VirtqueueError) {
                repeat {
                    guard live.load(ordering: .acquiring) else { break }
                    served.tookAll = false
                    // In place: the handler is not copied out of the lock's storage.
                    try active!.handler.serve(&served)
                    // A handler that left chains waiting is not asked again at once: the
                    // chains would still be there, and the round would never end.
                } while served.tookAll ? try served.virtqueue.armAvailableNotification(memory: memory) : false
                outcome.completed = served.completed > 0
                if outcome.completed { outcome.interrupt = try served.virtqueue.needsNotification(memory: memory) }
            } catch {
                // Requests completed before the error are the driver's: tell it about them.
                outcome.completed = served.completed > 0
                outcome.interrupt = outcome.completed
                outcome.failure = error
            }
            outcome.configurationChanged = served.configurationChanged
            active!.queue = served.virtqueue
            return outcome
        }
    }
}
