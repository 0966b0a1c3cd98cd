import Virtio

/// Hears a network or entropy device's events (`VirtioObserver`): passes them to the
/// tracer for `--trace virtio`, and warns, once, when a backend fails and the link goes
/// down (the guest runs on without a network).
final class PeripheralMonitor: VirtioObserver {
    private let tracer: Tracer?
    private let faults: HostFaults

    /// A monitor tracing to `tracer` if it shows virtio events, warning through `faults`.
    init(tracer: Tracer?, faults: HostFaults) {
        self.tracer = tracer?.categories.contains(.virtio) == true ? tracer : nil
        self.faults = faults
    }

    func observe(_ event: VirtioEvent, device: String) {
        if case .network(.backendFailed(let reason)) = event {
            faults.warnOnce("\(device) link", "\(device): \(reason); the link is down")
        }
        tracer?.trace(event, device: device)
    }
}
