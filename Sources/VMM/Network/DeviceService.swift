import Dispatch
import KVM
import Locking
import Virtio

/// The thread a network or entropy device is served on: a serial Dispatch queue woken
/// by the guest's queue notifications (ioeventfds: the vCPU goes on at once), by its
/// backend's descriptor (a frame to read, room to write) and by timers (a rate limit
/// running out). It interrupts the guest through irqfds; no vCPU thread ever waits on
/// the host for it.
///
/// It is the device's `VirtioWakeUps`: the device says what it waits for, and this
/// resumes or suspends the matching Dispatch source, so an idle device costs nothing
/// and a guest that posts no receive buffers leaves frames in the host kernel.
final class DeviceService: VirtioWakeUps {
    /// The device's name ("virtio-net-pci0").
    let name: String
    private let vm: VirtualMachine
    let queue: DispatchQueue
    private let cancelled = DispatchGroup()
    /// Serves queue n under the device's lock; set once the device is on its bus, and
    /// cleared when the service stops.
    private let serve = Locked<(@Sendable (Int) -> Void)?>(nil)
    private let state = Locked(State())

    private struct State {
        var notifications: [DiskService.Notification] = []
        var sources: [Source] = []
        /// The backend's sources, and whether each is resumed (they start suspended).
        var input: (source: Source, resumed: Bool)? = nil
        var output: (source: Source, resumed: Bool)? = nil
        var stopped = false
    }

    /// A Dispatch source, which libdispatch lets any thread resume, suspend and cancel.
    private struct Source: @unchecked Sendable {
        let source: any DispatchSourceProtocol
    }

    init(name: String, vm: VirtualMachine) {
        self.name = name
        self.vm = vm
        self.queue = DispatchQueue(label: "swiftvmm.\(name)")
    }

    /// A machine built but never run still lets go of its eventfds and sources.
    deinit { stop() }

    /// What serves queue n: the transport's `serveQueue`, under the device's lock.
    func setServe(_ body: @escaping @Sendable (Int) -> Void) {
        serve.withLock { $0 = body }
    }

    private func run(_ index: Int) {
        let body = serve.withLock { $0 }
        body?(index)
    }

    // MARK: Sources

    /// Starts serving queue `index`'s notifications, which KVM matches as `match`.
    func serve(queue index: Int, at match: VirtualMachine.IOEvent) throws(KVMError) {
        let event = try EventFD()
        try vm.assignIOEventFD(event, for: match)
        let source = DispatchSource.makeReadSource(fileDescriptor: event.rawValue, queue: queue)
        source.setEventHandler { [weak self] in
            event.drain()
            self?.run(index)
        }
        add(source)
        source.resume()
        state.withLock { $0.notifications.append(DiskService.Notification(queue: index, event: event, match: match)) }
    }

    /// Watches the backend's descriptor `fd`: readable serves `inputQueue`, writable
    /// `outputQueue`, each only while the device asks for it.
    func watchBackend(fd: Int32, inputQueue: Int, outputQueue: Int) {
        let input = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        input.setEventHandler { [weak self] in self?.run(inputQueue) }
        let output = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        output.setEventHandler { [weak self] in self?.run(outputQueue) }
        add(input)
        add(output)
        // Sources start suspended: the device resumes them when it waits on them.
        let (inputSource, outputSource) = (Source(source: input), Source(source: output))
        state.withLock {
            $0.input = (inputSource, false)
            $0.output = (outputSource, false)
        }
    }

    private func add(_ source: any DispatchSourceProtocol) {
        // libdispatch lets go of the handler (and what it reaches) just before it runs
        // the cancel handler: `stop` waits for that.
        cancelled.enter()
        source.setCancelHandler { [cancelled] in cancelled.leave() }
        let entry = Source(source: source)
        state.withLock { $0.sources.append(entry) }
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

    // MARK: VirtioWakeUps

    func watchBackendInput(_ watching: Bool) {
        state.withLock { state in
            guard !state.stopped, let input = state.input, input.resumed != watching else { return }
            if watching { input.source.source.resume() } else { input.source.source.suspend() }
            state.input?.resumed = watching
        }
    }

    func watchBackendOutput(_ watching: Bool) {
        state.withLock { state in
            guard !state.stopped, let output = state.output, output.resumed != watching else { return }
            if watching { output.source.source.resume() } else { output.source.source.suspend() }
            state.output?.resumed = watching
        }
    }

    func serveAgain(queue index: Int, afterNanoseconds nanoseconds: UInt64) {
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(min(nanoseconds, UInt64(Int.max))))) { [weak self] in
            guard let self, !self.state.withLock({ $0.stopped }) else { return }
            self.run(index)
        }
    }

    // MARK: Stopping

    /// Called once every vCPU has left KVM_RUN: cancels every source (resuming the
    /// suspended ones, which could not run their cancel handlers otherwise), waits until
    /// none runs any more, and lets go of the device.
    func stop() {
        let sources: [Source] = state.withLock { state in
            guard !state.stopped else { return [] }
            state.stopped = true
            if let input = state.input, !input.resumed { input.source.source.resume() }
            if let output = state.output, !output.resumed { output.source.source.resume() }
            return state.sources
        }
        for entry in sources { entry.source.cancel() }
        cancelled.wait()
        // A timer already queued finds the service stopped; the device goes now.
        queue.sync {}
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
