import Devices
import GuestMemory
import HostIO
import KVM
import Virtio

/// The machine's disks: their images opened and locked and their places chosen before
/// KVM is touched (`prepare`), then their virtio-blk devices installed (`install`).
struct VirtioDisks {
    let configurations: [DiskConfiguration]
    let images: [RawDiskImage]
    let placement: VirtioPlacement

    /// Gives each disk its place and opens and locks every image. Touches no KVM state:
    /// every error is the user's input, and nothing is left open.
    static func prepare(_ configurations: [DiskConfiguration]) throws(MachineError) -> VirtioDisks {
        let placement: VirtioPlacement
        do {
            placement = try VirtioPlacement.place(configurations.map(\.transport))
        } catch {
            throw .configuration(error)
        }
        var images: [RawDiskImage] = []
        for configuration in configurations {
            do {
                images.append(try RawDiskImage(
                    path: configuration.path, readOnly: configuration.readOnly, sectorSize: VirtioBlock.sectorSize))
            } catch {
                throw .file(error)
            }
        }
        return VirtioDisks(configurations: configurations, images: images, placement: placement)
    }

    /// Each disk's device name: "virtio-blk-pci0", "virtio-blk-mmio0", ...
    static func name(of place: VirtioPlacement.Place) -> String {
        switch place {
        case .pci(let index, _, _, _): return "virtio-blk-pci\(index)"
        case .mmio(let index, _, _): return "virtio-blk-mmio\(index)"
        }
    }

    /// Installs a virtio-blk device per disk (with the PCI bus, whether or not there are
    /// PCI disks), each reaching its image through `backend(image)`: the image itself,
    /// but for tests that inject faults. `tracer`, if given, and `counting` ask for a
    /// `DiskMonitor` on each disk.
    func install(
        vm: VirtualMachine, memory: GuestMemory, faults: HostFaults, portBus: inout IOBus, mmioBus: inout IOBus,
        backend: (RawDiskImage) -> any BlockBackend = { $0 }, tracer: Tracer? = nil, counting: Bool = false
    ) throws -> [Disk] {
        let watched = counting || tracer?.categories.contains(.virtio) == true
        var installations: [VirtioDevices.Installation] = [], parts: [(String, String, any BlockBackend, DiskMonitor?)] = []
        for (index, configuration) in configurations.enumerated() {
            let place = placement.places[index], name = Self.name(of: place), disk = backend(images[index])
            let monitor = watched ? DiskMonitor(path: configuration.path, tracer: tracer) : nil
            let block = VirtioBlock(name: name, backend: disk, readOnly: configuration.readOnly, observer: monitor)
            installations.append(.init(device: block, place: place, io: configuration.io))
            parts.append((name, configuration.path, disk, monitor))
        }
        let services = try VirtioDevices.install(
            installations, vm: vm, memory: memory, faults: faults, portBus: &portBus, mmioBus: &mmioBus)
        return zip(parts, services).map { part, service in
            Disk(name: part.0, path: part.1, backend: part.2, monitor: part.3, service: service)
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
