import Synchronization
import Virtio

/// Hears one disk's virtio events (`VirtioObserver`): counts the bytes its requests move
/// for `--stats`, and passes the events to the tracer for `--trace virtio`.
///
/// Requests are served under the device's lock, on a vCPU thread or the disk's I/O
/// thread; the counters are atomics, read once the machine has stopped.
final class DiskMonitor: VirtioObserver {
    /// The image file, as the user named it.
    let path: String
    private let tracer: Tracer?
    private let requests = Atomic<Int>(0)
    private let bytesRead = Atomic<UInt64>(0)
    private let bytesWritten = Atomic<UInt64>(0)

    /// A monitor for the disk backed by `path`, tracing to `tracer` if it shows virtio events.
    init(path: String, tracer: Tracer?) {
        self.path = path
        self.tracer = tracer?.categories.contains(.virtio) == true ? tracer : nil
    }

    func observe(_ event: VirtioEvent, device: String) {
        if case .blockRequest(_, let request) = event {
            requests.wrappingAdd(1, ordering: .relaxed)
            if request.isRead { bytesRead.wrappingAdd(request.dataBytes, ordering: .relaxed) }
            if request.isWrite { bytesWritten.wrappingAdd(request.dataBytes, ordering: .relaxed) }
        }
        tracer?.trace(event, device: device)
    }

    /// The disk's counts, under the device name `device`.
    func tally(device: String) -> MachineStatistics.DiskTally {
        MachineStatistics.DiskTally(
            device: device, path: path, requests: requests.load(ordering: .relaxed),
            bytesRead: bytesRead.load(ordering: .relaxed), bytesWritten: bytesWritten.load(ordering: .relaxed))
    }
}
