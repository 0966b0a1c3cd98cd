import Dispatch
import KVM
import Locking
import Synchronization
import Virtio

/// Serves one disk's queues and flushes it when the machine stops.
///
/// With `DiskConfiguration.IOMode.thread`, a guest's queue notification is caught by an
/// ioeventfd inside KVM, so the vCPU goes on at once, and the disk's own serial Dispatch
/// queue (its I/O thread) serves the requests. With `.vcpu`, the notification exits to
/// user space and the vCPU thread serves them itself; this object then only flushes.
final class DiskService: Sendable {
    /// A queue notification address, as KVM_IOEVENTFD matches it.
    struct Notification: Sendable {
        let queue: Int
        let event: EventFD
        let match: VirtualMachine.IOEvent
    }

    /// The device's name ("virtio-blk-pci0").
    let name: String
    /// The image file, as the user named it.
    let path: String
    /// What counts and traces the disk's requests, when statistics or tracing are on.
    let monitor: DiskMonitor?
    private let backend: any BlockBackend
    private let vm: VirtualMachine
    private let queue: DispatchQueue
    /// Entered for every notification source, left when its cancellation has finished.
    private let cancelled = DispatchGroup()
    /// Serves queue n under the device's lock.
    private let notify: @Sendable (Int) -> Void
    private let state = Locked<(notifications: [Notification], sources: [any DispatchSourceRead])>(([], []))
    private let wakeUps = Atomic<Int>(0)

    /// How many times the I/O thread was woken by a queue notification.
    var notificationsServed: Int { wakeUps.load(ordering: .relaxed) }

    init(
        name: String, path: String, backend: any BlockBackend, vm: VirtualMachine, monitor: DiskMonitor? = nil,
        notify: @escaping @Sendable (Int) -> Void
    ) {
        self.name = name
        self.path = path
        self.monitor = monitor
        self.backend = backend
        self.vm = vm
        self.notify = notify
        self.queue = DispatchQueue(label: "swiftvmm.\(name)")
    }

    /// A machine built but never run still lets go of its eventfds (and so its image).
    deinit {
        state.withLock { state in
            for source in state.sources { source.cancel() }
        }
    }

    /// Starts serving queue `queue`'s notifications, which KVM matches as `match`, on
    /// the I/O thread.
    func serve(queue index: Int, at match: VirtualMachine.IOEvent) throws(KVMError) {
        let event = try EventFD()
        try vm.assignIOEventFD(event, for: match)
        let source = DispatchSource.makeReadSource(fileDescriptor: event.rawValue, queue: queue)
        source.setEventHandler { [notify, weak self] in
            event.drain()
            self?.wakeUps.wrappingAdd(1, ordering: .relaxed)
            notify(index)
        }
        // libdispatch lets go of the event handler (and the device it reaches) just
        // before it runs the cancel handler: `stopAndFlush` waits for that.
        cancelled.enter()
        source.setCancelHandler { [cancelled] in cancelled.leave() }
        source.resume()
        state.withLock {
            $0.notifications.append(Notification(queue: index, event: event, match: match))
            $0.sources.append(source)
        }
    }

    /// Wakes the I/O thread for queue `index`, as a guest write of its notification
    /// address does through KVM.
    func kick(queue index: Int) {
        state.withLock { state in
            for notification in state.notifications where notification.queue == index { notification.event.signal() }
        }
    }

    /// The guest moved the registers the notifications are in to `base`, or turned them
    /// off (nil): KVM must match queue n's notification at `base + offset(n)` now.
    func moveNotifications(to base: UInt64?, offset: (Int) -> UInt64) {
        state.withLock { state in
            state.notifications = state.notifications.map { notification in
                try? vm.deassignIOEventFD(notification.event, for: notification.match)
                guard let base else { return notification }
                let match = VirtualMachine.IOEvent(
                    address: base + offset(notification.queue), length: notification.match.length,
                    value: notification.match.value)
                // A failure leaves the queue to the vCPU path: writes then exit to user space.
                try? vm.assignIOEventFD(notification.event, for: match)
                return Notification(queue: notification.queue, event: notification.event, match: match)
            }
        }
    }

    /// Returns once the I/O thread has finished what it was serving (the machine pauses).
    func waitUntilIdle() {
        queue.sync {}
    }

    /// Called once every vCPU has left KVM_RUN: stops the I/O thread after the request it
    /// may be serving, makes everything acknowledged durable (fdatasync), then closes the
    /// image, releasing its lock at once rather than whenever the last reference to it
    /// goes (the I/O thread's cancelled handlers are let go of asynchronously).
    func stopAndFlush() throws {
        state.withLock { state in
            for source in state.sources { source.cancel() }
        }
        // Every handler is done and let go of: nothing on the I/O thread still holds the
        // device, its interrupt routes or the VM.
        cancelled.wait()
        defer { backend.close() }
        try backend.flush()
    }
}
