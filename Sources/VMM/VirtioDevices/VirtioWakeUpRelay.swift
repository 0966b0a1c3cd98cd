import Locking
import Virtio

/// The wake-ups a device is built with before its service exists (devices are built,
/// then installed): `VirtioDevices.install` connects it to the device's `VirtioService`,
/// and from then on what the device asks (serve a queue again, watch its backend)
/// reaches the service's loop. Held weakly: the service holds the device (through its
/// transport), and the device must not hold the service back.
final class VirtioWakeUpRelay: VirtioWakeUps {
    /// The descriptor the service watches for the device (a tap's), if it has one.
    let backend: VirtioService.Backend?
    private let target = Locked(Target())

    private struct Target {
        weak var service: VirtioService?
    }

    /// Wake-ups for a device whose backend is `backend`, or which has none.
    init(backend: VirtioService.Backend? = nil) {
        self.backend = backend
    }

    /// From now on `service` serves the device.
    func connect(_ service: VirtioService) {
        target.withLock { $0.service = service }
        if let backend { service.watch(backend) }
    }

    private var service: VirtioService? { target.withLock { $0.service } }

    func serveAgain(queue: Int, afterNanoseconds nanoseconds: UInt64) {
        service?.serveAgain(queue: queue, afterNanoseconds: nanoseconds)
    }

    func watchBackendInput(_ watching: Bool) { service?.watchBackendInput(watching) }

    func watchBackendOutput(_ watching: Bool) { service?.watchBackendOutput(watching) }
}
