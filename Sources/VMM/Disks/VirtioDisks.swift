import Devices
import GuestMemory
import HostIO
import KVM
import Virtio

/// The machine's disks: their images opened and locked before KVM is touched
/// (`prepare`), then, at the places the machine's `VirtioPlacement` gave them, a
/// virtio-blk device each for `VirtioDevices.install` (`devices(at:)`).
struct VirtioDisks {
    let configurations: [DiskConfiguration]
    let images: [RawDiskImage]

    /// Opens and locks every image. Touches no KVM state: every error is the user's
    /// input, and nothing is left open.
    static func prepare(_ configurations: [DiskConfiguration]) throws(MachineError) -> VirtioDisks {
        var images: [RawDiskImage] = []
        for configuration in configurations {
            do {
                images.append(try RawDiskImage(
                    path: configuration.path, readOnly: configuration.readOnly, sectorSize: VirtioBlock.sectorSize))
            } catch {
                throw .file(error)
            }
        }
        return VirtioDisks(configurations: configurations, images: images)
    }

    /// Each disk's device name: "virtio-blk-pci0", "virtio-blk-mmio0", ...
    static func name(of place: VirtioPlacement.Place) -> String {
        switch place {
        case .pci(let index, _, _, _): return "virtio-blk-pci\(index)"
        case .mmio(let index, _, _): return "virtio-blk-mmio\(index)"
        }
    }

    /// One disk's virtio-blk device, ready to install, and what the machine keeps of it.
    struct Pending {
        let installation: VirtioDevices.Installation
        let path: String
        let backend: any BlockBackend
        let monitor: DiskMonitor?

        /// The disk as the machine keeps it, its queue served by `service`.
        func installed(_ service: VirtioService) -> Disk {
            Disk(name: installation.device.name, path: path, backend: backend, monitor: monitor, service: service)
        }
    }

    /// A virtio-blk device per disk, at `places` (one per disk, in order), each reaching
    /// its image through `backend(image)`: the image itself, but for tests that inject
    /// faults. `tracer`, if given, and `counting` ask for a `DiskMonitor` on each disk.
    func devices(
        at places: some Sequence<VirtioPlacement.Place>, backend: (RawDiskImage) -> any BlockBackend = { $0 },
        tracer: Tracer? = nil, counting: Bool = false
    ) -> [Pending] {
        let watched = counting || tracer?.categories.contains(.virtio) == true
        return zip(zip(configurations, images), places).map { disk, place in
            let (configuration, image) = disk
            let name = Self.name(of: place), reached = backend(image)
            let monitor = watched ? DiskMonitor(path: configuration.path, tracer: tracer) : nil
            let block = VirtioBlock(name: name, backend: reached, readOnly: configuration.readOnly, observer: monitor)
            return Pending(
                installation: .init(device: block, place: place, io: configuration.io),
                path: configuration.path, backend: reached, monitor: monitor)
        }
    }
}

/// One disk of the built machine: its device's name, its image, what watches it, and the
/// service of its queue.
final class Disk: Sendable {
    /// The device's name ("virtio-blk-pci0").
    let name: String
    /// The image file, as the user named it.
    let path: String
    let backend: any BlockBackend
    /// What counts and traces the disk's requests, when statistics or tracing are on.
    let monitor: DiskMonitor?
    let service: VirtioService

    init(name: String, path: String, backend: any BlockBackend, monitor: DiskMonitor?, service: VirtioService) {
        self.name = name
        self.path = path
        self.backend = backend
        self.monitor = monitor
        self.service = service
    }

    /// Called once every vCPU has left KVM_RUN: stops the I/O thread after the request it
    /// may be serving, makes everything acknowledged durable (fdatasync), then closes the
    /// image, releasing its lock at once rather than whenever the last reference to it goes.
    func stopAndFlush() throws {
        service.stop()
        defer { backend.close() }
        try backend.flush()
    }
}
