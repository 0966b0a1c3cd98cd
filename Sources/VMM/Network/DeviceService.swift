import Dispatch
import HostIO
import KVM
import Locking
import Virtio

/// The thread a network or entropy device is served on: one loop, in poll(2), over the
/// guest's queue notifications (ioeventfds: the vCPU goes on at once), the backend's
/// descriptor (a frame to read, room to write) and timers (a rate limit running out).
/// It interrupts the guest through irqfds; no vCPU thread ever waits on the host for it.
///
/// It is the device's `VirtioWakeUps`: the device says what it waits for, and the loop
/// polls for exactly that, so an idle device costs nothing and a guest that posts no
/// receive buffers leaves frames in the host kernel. One thread, woken straight from
/// poll, keeps a frame's trip short: its latency is the round-trip figure of
/// docs/PERFORMANCE.md.
final class DeviceService: VirtioWakeUps {
    /// The device's name ("virtio-net-pci0").
    let name: String
    private let vm: VirtualMachine
    /// Wakes the loop when what it waits for changes, and when it must stop.
    private let control: EventFD
    private let thread: DispatchQueue
    private let finished = DispatchGroup()
    /// Serves queue n under the device's lock; set once the device is on its bus, and
    /// cleared when the service stops. A class holds the closure: a closure kept in a
    /// `Locked` value directly is wrapped in two more reabstraction thunks by every
    /// `withLock`, which read it back through `inout` (a chain that grew with every
    /// frame, found with perf).
    private let serve = Locked<Server?>(nil)

    private final class Server: Sendable {
        let body: @Sendable (Int) -> Void
        init(_ body: @escaping @Sendable (Int) -> Void) { self.body = body }
    }
    private let state = Locked(State())

    private struct State {
        var notifications: [DiskService.Notification] = []
        var backend: (fd: Int32, inputQueue: Int, outputQueue: Int)? = nil
        var watchingInput = false
        var watchingOutput = false
        /// Queues to serve at these times (MonotonicClock nanoseconds).
        var timers: [(deadline: UInt64, queue: Int)] = []
        var started = false
        var stopped = false
    }

    init(name: String, vm: VirtualMachine) throws(KVMError) {
        self.name = name
        self.vm = vm
        self.control = try EventFD()
        self.thread = DispatchQueue(label: "swiftvmm.\(name)")
        thread.setSpecific(key: Self.onLoop, value: true)
    }

    /// Marks the loop's thread: a service let go of there (its last holder the loop's
    /// own moment of use) must not wait for the loop to end.
    private static let onLoop = DispatchSpecificKey<Bool>()

    /// A machine built but never run still lets go of its thread and eventfds.
    deinit { stop() }

    /// What serves queue n: the transport's `serveQueue`, under the device's lock.
    func setServe(_ body: @escaping @Sendable (Int) -> Void) {
        let server = Server(body)
        serve.withLock { $0 = server }
    }

    /// Serves queue `index`'s notifications, which KVM matches as `match`.
    func serve(queue index: Int, at match: VirtualMachine.IOEvent) throws(KVMError) {
        let event = try EventFD()
        try vm.assignIOEventFD(event, for: match)
        state.withLock { $0.notifications.append(DiskService.Notification(queue: index, event: event, match: match)) }
    }

    /// Watches the backend's descriptor `fd`: readable serves `inputQueue`, writable
    /// `outputQueue`, each only while the device asks for it.
    func watchBackend(fd: Int32, inputQueue: Int, outputQueue: Int) {
        state.withLock { $0.backend = (fd, inputQueue, outputQueue) }
    }

    /// The guest moved the registers the notifications are in (see `DiskService`).
    func moveNotifications(to base: UInt64?, offset: (Int) -> UInt64) {
        state.withLock { state in
            state.notifications = state.notifications.map { notification in
                try? vm.deassignIOEventFD(notification.event, for: notification.match)
                guard let base else { return notification }
                let match = VirtualMachine.IOEvent(
                    address: base + offset(notification.queue), length: notification.match.length,
                    value: notification.match.value)
                try? vm.assignIOEventFD(notification.event, for: match)
                return DiskService.Notification(queue: notification.queue, event: notification.event, match: match)
            }
        }
    }

    // MARK: The loop

    /// Starts the device's thread. It holds the service only while it handles what poll
    /// returned, never while it waits, so a service let go of ends its thread.
    func start() {
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
                control.drain()
                guard let self, self.handle(results, actions) else { return }
            }
        }
    }

    /// What a ready descriptor means.
    private enum Action {
        case control
        case notification(EventFD, queue: Int)
        case backend(inputQueue: Int, outputQueue: Int)
    }

    /// The descriptors to wait on now, what each means, and how long to wait (until the
    /// next timer); nil once stopped.
    private func pollSet() -> ([HostIO.PollRequest], [Action], Int32)? {
        state.withLock { state in
            guard !state.stopped else { return nil }
            var requests = [HostIO.PollRequest(fd: control.rawValue)]
            var actions: [Action] = [.control]
            for notification in state.notifications {
                requests.append(HostIO.PollRequest(fd: notification.event.rawValue))
                actions.append(.notification(notification.event, queue: notification.queue))
            }
            if let backend = state.backend, state.watchingInput || state.watchingOutput {
                requests.append(HostIO.PollRequest(fd: backend.fd, readable: state.watchingInput, writable: state.watchingOutput))
                actions.append(.backend(inputQueue: backend.inputQueue, outputQueue: backend.outputQueue))
            }
            var timeout: Int32 = -1
            if let next = state.timers.map(\.deadline).min() {
                let now = MonotonicClock.now()
                timeout = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
            }
            return (requests, actions, timeout)
        }
    }

    /// Serves what poll found ready, then the timers that are due; false once stopped.
    private func handle(_ results: [HostIO.PollResult], _ actions: [Action]) -> Bool {
        guard let server = serve.withLock({ $0 }) else { return false }
        let body = server.body
        for (result, action) in zip(results, actions) {
            switch action {
            case .control:
                continue
            case .notification(let event, let queue):
                if result.readable {
                    event.drain()
                    body(queue)
                }
            case .backend(let inputQueue, let outputQueue):
                // A broken descriptor (a tap deleted) reads as input: the read says why.
                if result.readable || result.failed { body(inputQueue) }
                if result.writable { body(outputQueue) }
            }
        }
        let now = MonotonicClock.now()
        let due: [Int] = state.withLock { state in
            let due = state.timers.filter { $0.deadline <= now }.map(\.queue)
            state.timers.removeAll { $0.deadline <= now }
            return due
        }
        for queue in Set(due) { body(queue) }
        return !state.withLock { $0.stopped }
    }

    // MARK: VirtioWakeUps

    func watchBackendInput(_ watching: Bool) {
        let changed = state.withLock { state in
            defer { state.watchingInput = watching }
            return state.watchingInput != watching
        }
        if changed { control.signal() }
    }

    func watchBackendOutput(_ watching: Bool) {
        let changed = state.withLock { state in
            defer { state.watchingOutput = watching }
            return state.watchingOutput != watching
        }
        if changed { control.signal() }
    }

    func serveAgain(queue index: Int, afterNanoseconds nanoseconds: UInt64) {
        let deadline = MonotonicClock.now() &+ nanoseconds
        state.withLock { $0.timers.append((deadline, index)) }
        control.signal()
    }

    // MARK: Stopping

    /// Called once every vCPU has left KVM_RUN: ends the loop after what it is serving,
    /// waits for it, and lets go of the device.
    func stop() {
        state.withLock { $0.stopped = true }
        control.signal()
        if DispatchQueue.getSpecific(key: Self.onLoop) == nil { finished.wait() }
        serve.withLock { $0 = nil }
    }
}

/// The device's handle on its service, held weakly: the service holds the device (through
/// its serve closure), and the device must not hold it back.
struct WeakWakeUps: VirtioWakeUps {
    weak var service: DeviceService?

    func serveAgain(queue: Int, afterNanoseconds nanoseconds: UInt64) {
        service?.serveAgain(queue: queue, afterNanoseconds: nanoseconds)
    }
    func watchBackendInput(_ watching: Bool) { service?.watchBackendInput(watching) }
    func watchBackendOutput(_ watching: Bool) { service?.watchBackendOutput(watching) }
}
