import Boot
import CKVM
import CUAPI
import Devices
import GuestMemory
import KVM
import Virtio

/// The machine's disks: their images opened and locked, their places in the guest's
/// address space, and (once installed) their devices on the buses.
///
/// ```
///  transport  device                       registers                        interrupt
///  pci        00:0n.0 (n = 1, 2, ...)      BAR 0 at pciMMIOWindow +         MSI-X, or INTA# on
///                                          (n - 1) * 32 KiB                  pciInterrupts[(n-1) % 8]
///  mmio       virtio-mmio device i         virtioMMIODevices + i * 4 KiB    virtioMMIOInterrupts[i]
/// ```
/// The PCI host bridge (00:00.0) and configuration mechanism #1 are placed whether or not
/// there are PCI disks.
struct VirtioDisks {
    struct PCIDisk {
        let configuration: DiskConfiguration
        let image: RawDiskImage
        let device: UInt8
        let barAddress: UInt32
        let gsi: UInt32
    }

    struct MMIODisk {
        let configuration: DiskConfiguration
        let image: RawDiskImage
        let base: GuestAddress
        let gsi: UInt32
    }

    let pci: [PCIDisk]
    let mmio: [MMIODisk]

    /// Opens and locks every image and gives each disk its place. Touches no KVM state:
    /// every error is the user's input, and nothing is left open.
    static func prepare(_ configurations: [DiskConfiguration]) throws(MachineError) -> VirtioDisks {
        let pciCount = configurations.filter { $0.transport == .pci }.count
        let mmioCount = configurations.count - pciCount
        let pciLimit = min(PCIBus.deviceCount - 1, Int(Layout.pciMMIOWindowSize / UInt64(VirtioPCILayout.barSize)))
        guard pciCount <= pciLimit else {
            throw .badInput("--disk: \(pciCount) virtio-pci disks; at most \(pciLimit) fit on PCI bus 0")
        }
        guard mmioCount <= Layout.virtioMMIOInterrupts.count else {
            throw .badInput("--disk: \(mmioCount) virtio-mmio disks; at most \(Layout.virtioMMIOInterrupts.count) have an interrupt line")
        }
        var pci: [PCIDisk] = [], mmio: [MMIODisk] = []
        for configuration in configurations {
            let image = try RawDiskImage(path: configuration.path, readOnly: configuration.readOnly)
            switch configuration.transport {
            case .pci:
                let index = pci.count
                pci.append(PCIDisk(
                    configuration: configuration, image: image, device: UInt8(index + 1),
                    barAddress: UInt32(Layout.pciMMIOWindow.rawValue) + UInt32(index) * VirtioPCILayout.barSize,
                    gsi: Layout.pciInterrupts[index % Layout.pciInterrupts.count]))
            case .mmio:
                let index = mmio.count
                mmio.append(MMIODisk(
                    configuration: configuration, image: image,
                    base: GuestAddress(Layout.virtioMMIODevices.rawValue + UInt64(index) * Layout.virtioMMIODeviceSize),
                    gsi: Layout.virtioMMIOInterrupts[index]))
            }
        }
        return VirtioDisks(pci: pci, mmio: mmio)
    }

    /// The machine's devices as its ACPI tables describe them: the PCI host bridge,
    /// always there, with an INTA# route per virtio-pci disk, and each virtio-mmio disk,
    /// whose interrupt is a pulse (`VirtioMMIODevice`), so edge-triggered.
    var acpiPlatform: ACPIPlatform {
        MachinePlatform.acpi(
            pciHostBridge: .init(
                configurationPorts: (UInt16(LegacyPorts.pciConfiguration.base), UInt8(LegacyPorts.pciConfiguration.length)),
                routes: pci.map { .init(device: $0.device, pin: 0, gsi: $0.gsi) }),
            virtioMMIODevices: mmio.map { .init(address: $0.base, gsi: $0.gsi, trigger: .edge) })
    }

    /// What the kernel command line must say for the guest to find the virtio-mmio disks
    /// (Documentation/admin-guide/kernel-parameters.txt, virtio_mmio.device).
    var commandLineOptions: [String] {
        mmio.map { "virtio_mmio.device=\(Layout.virtioMMIODeviceSize >> 10)K@0x\(String($0.base.rawValue, radix: 16)):\($0.gsi)" }
    }

    // MARK: Installing

    /// Places the PCI host bridge and every disk on the buses, wires their interrupts,
    /// and starts the I/O threads of disks served there. Returns the disks' services,
    /// which the machine stops and flushes when it stops. Each disk reaches its image
    /// through `backend(image)`: the image itself, but for tests that inject faults.
    /// `tracer`, if given, and `counting` ask for a `DiskMonitor` on each disk.
    func install(
        vm: VirtualMachine, memory: GuestMemory, portBus: inout IOBus, mmioBus: inout IOBus,
        backend: (RawDiskImage) -> any BlockBackend = { $0 },
        tracer: Tracer? = nil, counting: Bool = false, otherFunctions: [UInt8: PCIBus.Function] = [:]
    ) throws -> [DiskService] {
        var services: [DiskService] = []
        /// A disk's device model named `name`, and the monitor watching it, if asked for.
        func blockDevice(named name: String, _ disk: DiskConfiguration, _ image: RawDiskImage) -> (VirtioBlock, DiskMonitor?) {
            let watched = counting || tracer?.categories.contains(.virtio) == true
            let monitor = watched ? DiskMonitor(path: disk.path, tracer: tracer) : nil
            return (VirtioBlock(name: name, backend: backend(image), readOnly: disk.readOnly, observer: monitor), monitor)
        }
        /// The service of `block`'s requests, whichever its transport: `notify` serves a queue.
        func diskService(
            of block: VirtioBlock, _ disk: DiskConfiguration, _ monitor: DiskMonitor?,
            notify: @escaping @Sendable (Int) -> Void
        ) -> DiskService {
            let service = DiskService(
                name: block.name, path: disk.path, backend: block.backend, vm: vm, monitor: monitor, notify: notify)
            services.append(service)
            return service
        }
        let router = MSIRouter(vm: vm)

        // virtio-pci disks, behind the host bridge.
        // `otherFunctions`: the machine's other virtio-pci devices, placed after the disks.
        var functions: [UInt8: PCIBus.Function] = otherFunctions.merging([0: PCIBus.Function(DeviceSlot(PCIHostBridge()))]) { $1 }
        var pciServices: [UInt8: DiskService] = [:]
        var pending: [(DiskService, Int, VirtualMachine.IOEvent)] = []
        for (index, disk) in pci.enumerated() {
            let threaded = disk.configuration.io == .thread
            let (block, monitor) = blockDevice(named: "virtio-blk-pci\(index)", disk.configuration, disk.image)
            let slot = DeviceSlot(VirtioPCIFunction(
                block, memory: memory, barAddress: disk.barAddress, interruptLine: UInt8(disk.gsi),
                intx: KVMInterruptLine(vm: vm, irq: disk.gsi),
                messages: threaded ? router as any MSIDelivery : SignalledMSI(vm: vm)))
            functions[disk.device] = PCIBus.Function(slot)
            let service = diskService(of: block, disk.configuration, monitor) { queue in slot.withLock { $0.notifyQueue(queue) } }
            if threaded {
                pciServices[disk.device] = service
                for queue in block.queueSizes.indices {
                    pending.append((service, queue, .init(
                        address: UInt64(disk.barAddress) + VirtioPCILayout.notifyAddress(queue: queue),
                        length: VirtioPCILayout.notifyWidth)))
                }
            }
        }
        let window = IOBus.Range(base: Layout.pciMMIOWindow.rawValue, length: Layout.pciMMIOWindowSize)
        let bus = PCIBus(functions: functions) { [pciServices] device, _, new in
            guard let service = pciServices[device] else { return }
            // A BAR moved outside the window answers nowhere; neither do its notifications.
            let bar = new.first { $0.bar == VirtioPCILayout.bar && $0.address >= window.base && $0.address + $0.size <= window.base + window.length }
            service.moveNotifications(to: bar?.address, offset: VirtioPCILayout.notifyAddress(queue:))
        }
        try portBus.register(PCIConfigMechanism1(bus: bus), at: LegacyPorts.pciConfiguration)
        try mmioBus.register(PCIMMIOWindow(bus: bus, base: window.base), at: window)

        // virtio-mmio disks.
        for (index, disk) in mmio.enumerated() {
            let threaded = disk.configuration.io == .thread
            let (block, monitor) = blockDevice(named: "virtio-blk-mmio\(index)", disk.configuration, disk.image)
            let line: any InterruptLine = threaded ? try IRQFDInterruptLine(vm: vm, gsi: disk.gsi) : KVMInterruptLine(vm: vm, irq: disk.gsi)
            let slot = try mmioBus.register(
                VirtioMMIODevice(block, memory: memory, interrupt: line),
                at: IOBus.Range(base: disk.base.rawValue, length: Layout.virtioMMIODeviceSize))
            let service = diskService(of: block, disk.configuration, monitor) { queue in slot.withLock { $0.notifyQueue(queue) } }
            if threaded {
                for queue in block.queueSizes.indices {
                    // QueueNotify takes the queue index: one address, matched per value.
                    pending.append((service, queue, .init(
                        address: disk.base.rawValue + UInt64(VIRTIO_MMIO_QUEUE_NOTIFY),
                        length: VirtioMMIODevice<VirtioBlock>.registerWidth, value: UInt64(queue))))
                }
            }
        }
        for (service, queue, match) in pending { try service.serve(queue: queue, at: match) }
        return services
    }
}
