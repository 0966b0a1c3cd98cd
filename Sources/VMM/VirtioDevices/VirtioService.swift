import Dispatch
import HostIO
import KVM
import Locking
import Synchronization
import Virtio

/// Serves one virtio device's queues on its own I/O thread (`VirtioIOMode.thread`): one
/// loop, in poll(2), over the guest's queue notifications (ioeventfds inside KVM, so the
/// vCPU goes on at once), the device's backend (a frame to read, room to write), timers
/// (a rate limit running out) and a control eventfd. kvmtool serves each disk on a thread
/// an eventfd wakes (`virtio/blk.c`). With `.vcpu` there is no thread: the notification
/// exits to user space and the vCPU thread serves the queue itself.
///
/// It is the device's `VirtioWakeUps` (through `VirtioWakeUpRelay`): a device that waits
/// on something besides its driver says what, and the loop polls for exactly that, so
/// an idle device costs nothing and a guest that posts no receive buffers leaves frames
/// in the host kernel. One thread, woken straight from poll, keeps a frame's trip short
/// (the round-trip figure of docs/PERFORMANCE.md).
final class VirtioService: VirtioWakeUps {
    /// A queue notification address, as KVM_IOEVENTFD matches it.
    struct Notification: Sendable {
        let queue: Int
        let event: EventFD
        let match: VirtualMachine.IOEvent
    }

    /// A descriptor the device reads and writes besides its rings (a tap's): readable
    /// serves `inputQueue`, writable `outputQueue`, each only while the device asks.
    struct Backend: Sendable {
        let fd: Int32
        let inputQueue: Int
        let outputQueue: Int
    }

    /// The device's name ("virtio-blk-pci0").
    let name: String
    private let vm: VirtualMachine
    private let faults: HostFaults
    /// Wakes the loop when what it waits for changes, and when it must stop.
    private let control: EventFD
    private let thread: DispatchQueue
    private let finished = DispatchGroup()
    /// What serves the queues; set at start, let go of when the service stops. A class
    /// holds the closures: closures kept in a `Locked` value directly are wrapped in two
    /// more reabstraction thunks by every `withLock`, which reads them back through
    /// `inout` (a chain that grew with every frame, found with perf).
    private let server: Locked<Server?>
    /// Held by the loop while it serves what woke it (`waitUntilIdle`).
    private let serving = Locked(())
    private let state = Locked(State())
    private let wakeUps = Atomic<Int>(0)

    private final class Server: Sendable {
        /// Serves queue n after the driver's notification: the transport's `serveQueue`.
        let notified: @Sendable (Int) -> Void
        /// Serves queue n for the device's own reasons: the transport's `serve(queue:)`.
        let woken: @Sendable (Int) -> Void

        init(notified: @escaping @Sendable (Int) -> Void, woken: @escaping @Sendable (Int) -> Void) {
            self.notified = notified
            self.woken = woken
        }
    }

    private struct State {
        var notifications: [Notification] = []
        var backend: Backend? = nil
        var watchingInput = false
        var watchingOutput = false
        /// Queues to serve at these times (MonotonicClock nanoseconds).
        var timers: [(deadline: UInt64, queue: Int)] = []
        var started = false
        var stopped = false
        /// What the loop polls, kept until a notification, the backend or what the device
        /// watches it for changes: a wake-up then allocates nothing to build it.
        var pollSet: (requests: [HostIO.PollRequest], actions: [Action])? = nil
    }

    /// How many times the I/O thread was woken by a queue notification.
    var notificationsServed: Int { wakeUps.load(ordering: .relaxed) }

    /// The service of the device `name`, whose queue n `serve(n)` serves after a
    /// notification and `wake(n)` (by default `serve`) when the device has work of its own.
    init(
        name: String, vm: VirtualMachine, faults: HostFaults,
        serve: @escaping @Sendable (Int) -> Void, wake: (@Sendable (Int) -> Void)? = nil
    ) throws(KVMError) {
        self.name = name
        self.vm = vm
        self.faults = faults
        self.control = try EventFD()
        self.server = Locked(Server(notified: serve, woken: wake ?? serve))
        self.thread = DispatchQueue(label: "swiftvmm.\(name)")
        thread.setSpecific(key: Self.onLoop, value: true)
    }

    /// Marks the loop's thread: a service let go of there (its last holder the loop's
    /// own moment of use) must not wait for the loop to end.
    private static let onLoop = DispatchSpecificKey<Bool>()

    /// A machine built but never run still lets go of its thread and eventfds.
    deinit { stop() }

    /// Starts serving queue `index`'s notifications, which KVM matches as `match`, on the
    /// I/O thread (started with the first).
    func listen(queue index: Int, at match: VirtualMachine.IOEvent) throws(KVMError) {
        let event = try EventFD()
        try vm.assignIOEventFD(event, for: match)
        state.withLock { state in
            state.notifications.append(Notification(queue: index, event: event, match: match))
            state.pollSet = nil
        }
        start()
        wakeLoop()
    }

    /// Watches `backend` for what the device asks (`watchBackendInput`,
    /// `watchBackendOutput`).
    func watch(_ backend: Backend) {
        state.withLock { state in
            state.backend = backend
            state.pollSet = nil
        }
        wakeLoop()
    }

    /// Wakes the I/O thread for queue `index`, as a guest write of its notification
    /// address does through KVM.
    func kick(queue index: Int) {
        state.withLock { state in
            for notification in state.notifications where notification.queue == index {
                do {
                    try notification.event.signal()
                } catch {
                    faults.warnOnce("\(name) kick", "\(name): cannot wake the I/O thread: \(error)")
                }
            }
        }
    }

    /// The guest moved the registers the notifications are in to `base`, or turned them
    /// off (nil): KVM must match queue n's notification at `base + offset(n)` now. When
    /// KVM refuses, the notification is not lost: the write exits to user space, where the
    /// vCPU serves the queue itself. The machine says so once.
    func moveNotifications(to base: UInt64?, offset: (Int) -> UInt64) {
        state.withLock { state in
            state.notifications = state.notifications.map { notification in
                do {
                    try vm.deassignIOEventFD(notification.event, for: notification.match)
                } catch {
                    faults.warnOnce("\(name) ioeventfd", "\(name): cannot move a queue notification: \(error)")
                }
                guard let base else { return notification }
                let match = VirtualMachine.IOEvent(
                    address: base + offset(notification.queue), length: notification.match.length,
                    value: notification.match.value)
                do {
                    try vm.assignIOEventFD(notification.event, for: match)
                } catch {
                    faults.warnOnce("\(name) ioeventfd", "\(name): cannot move a queue notification: \(error); "
                        + "the vCPU that writes it serves the queue instead")
                }
                return Notification(queue: notification.queue, event: notification.event, match: match)
            }
        }
    }

    // MARK: VirtioWakeUps

    func watchBackendInput(_ watching: Bool) {
        setWatch(\.watchingInput, to: watching)
    }

    func watchBackendOutput(_ watching: Bool) {
        setWatch(\.watchingOutput, to: watching)
    }

    /// Sets one direction of the backend watch; a change rebuilds the poll set and wakes
    /// the loop to poll it.
    private func setWatch(_ direction: WritableKeyPath<State, Bool>, to watching: Bool) {
        let changed = state.withLock { state in
            guard state[keyPath: direction] != watching else { return false }
            state[keyPath: direction] = watching
            state.pollSet = nil
            return true
        }
        if changed { wakeLoop() }
    }

    func serveAgain(queue index: Int, afterNanoseconds nanoseconds: UInt64) {
        let deadline = MonotonicClock.now() &+ nanoseconds
        state.withLock { $0.timers.append((deadline, index)) }
        wakeLoop()
    }

    // MARK: Pausing and stopping

    /// Returns once the I/O thread has finished what it was serving (the machine pauses).
    func waitUntilIdle() {
        serving.withLock { _ in }
    }

    /// Called once every vCPU has left KVM_RUN: ends the loop after what it is serving,
    /// and returns once it has (nothing on the I/O thread still holds the device, its
    /// interrupt routes or the VM).
    func stop() {
        state.withLock { $0.stopped = true }
        wakeLoop()
        if DispatchQueue.getSpecific(key: Self.onLoop) == nil { finished.wait() }
        server.withLock { $0 = nil }
    }

    /// The loop looks again at what it waits for.
    private func wakeLoop() {
        do {
            try control.signal()
        } catch {
            faults.warnOnce("\(name) control", "\(name): cannot wake the I/O thread: \(error)")
        }
    }
}

// MARK: The loop

extension VirtioService {
    /// What a ready descriptor means.
    fileprivate enum Action {
        case control
        case notification(EventFD, queue: Int)
        case backend(Backend)
    }

    /// Starts the device's thread, once. It holds the service only while it handles what
    /// poll returned, never while it waits, so a service let go of ends its thread.
    private func start() {
        guard state.withLock({ state in
            defer { state.started = true }
            return !state.started && !state.stopped
        }) else { return }
        finished.enter()
        thread.async { [weak self, control, finished] in
            defer { finished.leave() }
            while true {
                guard let (requests, actions, timeout) = self?.pollSet() else { return }
                let results = HostIO.poll(requests, timeoutMilliseconds: timeout)
                _ = control.drain()
                guard let self, self.serving.withLock({ _ in self.handle(results, actions) }) else { return }
            }
        }
    }

    /// The descriptors to wait on now, what each means, and how long to wait (until the
    /// next timer); nil once stopped.
    private func pollSet() -> ([HostIO.PollRequest], [Action], Int32)? {
        state.withLock { state in
            guard !state.stopped else { return nil }
            if state.pollSet == nil {
                var requests = [HostIO.PollRequest(fd: control.rawValue)]
                var actions: [Action] = [.control]
                for notification in state.notifications {
                    requests.append(HostIO.PollRequest(fd: notification.event.rawValue))
                    actions.append(.notification(notification.event, queue: notification.queue))
                }
                if let backend = state.backend, state.watchingInput || state.watchingOutput {
                    requests.append(HostIO.PollRequest(fd: backend.fd, readable: state.watchingInput, writable: state.watchingOutput))
                    actions.append(.backend(backend))
                }
                state.pollSet = (requests, actions)
            }
            var timeout: Int32 = -1
            if let next = state.timers.lazy.map(\.deadline).min() {
                let now = MonotonicClock.now()
                timeout = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
            }
            return (state.pollSet!.requests, state.pollSet!.actions, timeout)
        }
    }

    /// Serves what poll found ready, then the timers that are due; false once stopped.
    private func handle(_ results: [HostIO.PollResult], _ actions: [Action]) -> Bool {
        guard let server = server.withLock({ $0 }) else { return false }
        for (result, action) in zip(results, actions) {
            switch action {
            case .control:
                continue
            case .notification(let event, let queue):
                if result.readable {
                    _ = event.drain()
                    wakeUps.wrappingAdd(1, ordering: .relaxed)
                    server.notified(queue)
                }
            case .backend(let backend):
                // A broken descriptor (a tap deleted) serves both directions: the read or
                // the write says why, and the device stops watching it.
                if result.readable || result.failed { server.woken(backend.inputQueue) }
                if result.writable || result.failed { server.woken(backend.outputQueue) }
            }
        }
        let due: [Int] = state.withLock { state in
            guard !state.timers.isEmpty else { return [] }
            let now = MonotonicClock.now()
            let due = state.timers.filter { $0.deadline <= now }.map(\.queue)
            state.timers.removeAll { $0.deadline <= now }
            return due
        }
        if !due.isEmpty {
            for queue in Set(due) { server.woken(queue) }
        }
        return !state.withLock { $0.stopped }
    }
}
