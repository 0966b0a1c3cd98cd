import Dispatch
import KVM
import Locking
import Synchronization

/// Serves one virtio device's queues on its own I/O thread (`VirtioIOMode.thread`): a
/// guest's queue notification is caught by an ioeventfd inside KVM, so the vCPU goes on
/// at once, and the device's serial Dispatch queue serves the requests (kvmtool serves
/// each disk on a thread an eventfd wakes, `virtio/blk.c`). With `.vcpu` there is none:
/// the notification exits to user space and the vCPU thread serves the queue itself.
final class VirtioService: Sendable {
    /// A queue notification address, as KVM_IOEVENTFD matches it.
    struct Notification: Sendable {
        let queue: Int
        let event: EventFD
        let match: VirtualMachine.IOEvent
    }

    /// The device's name ("virtio-blk-pci0").
    let name: String
    private let vm: VirtualMachine
    private let faults: HostFaults
    private let queue: DispatchQueue
    /// Entered for every notification source, left when its cancellation has finished.
    private let cancelled = DispatchGroup()
    /// Serves queue n: the transport's `serveQueue`.
    private let serve: @Sendable (Int) -> Void
    private let state = Locked<(notifications: [Notification], sources: [any DispatchSourceRead])>(([], []))
    private let wakeUps = Atomic<Int>(0)

    /// How many times the I/O thread was woken by a queue notification.
    var notificationsServed: Int { wakeUps.load(ordering: .relaxed) }

    /// The service of the device `name`, whose queue n `serve(n)` serves.
    init(name: String, vm: VirtualMachine, faults: HostFaults, serve: @escaping @Sendable (Int) -> Void) {
        self.name = name
        self.vm = vm
        self.faults = faults
        self.serve = serve
        self.queue = DispatchQueue(label: "swiftvmm.\(name)")
    }

    /// A machine built but never run still lets go of its eventfds.
    deinit {
        state.withLock { state in
            for source in state.sources { source.cancel() }
        }
    }

    /// Starts serving queue `index`'s notifications, which KVM matches as `match`, on the
    /// I/O thread.
    func listen(queue index: Int, at match: VirtualMachine.IOEvent) throws(KVMError) {
        let event = try EventFD()
        try vm.assignIOEventFD(event, for: match)
        let source = DispatchSource.makeReadSource(fileDescriptor: event.rawValue, queue: queue)
        source.setEventHandler { [serve, weak self] in
            event.drain()
            self?.wakeUps.wrappingAdd(1, ordering: .relaxed)
            serve(index)
        }
        // libdispatch lets go of the event handler (and the device it reaches) just
        // before it runs the cancel handler: `stop` waits for that.
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

    /// Returns once the I/O thread has finished what it was serving (the machine pauses).
    func waitUntilIdle() {
        queue.sync {}
    }

    /// Called once every vCPU has left KVM_RUN: stops the I/O thread after the request it
    /// may be serving, and returns once every handler is done and let go of (nothing on
    /// the I/O thread still holds the device, its interrupt routes or the VM).
    func stop() {
        state.withLock { state in
            for source in state.sources { source.cancel() }
        }
        cancelled.wait()
    }
}
