import CUAPI
import Devices
import GuestMemory
import KVM
import Virtio

/// Puts the machine's virtio devices on its buses: each device behind its transport at
/// the place `VirtioPlacement` gave it, its interrupts wired to KVM, and, for a device
/// served on its own I/O thread, the ioeventfds of its queues' notifications.
///
/// Any `VirtioDevice` goes through here the same way, all of the machine's in one call
/// (the PCI bus is built with every function on it): the disks are the first kind
/// (`VirtioDisks`). A new kind of device is a `VirtioDevice` with a `VirtqueueHandler`
/// per queue; `Machine.build` places it with the others (`VirtioPlacement.place`) and adds
/// its installation here, and the transports stay as they are.
enum VirtioDevices {
    /// One device to install.
    struct Installation {
        let device: any VirtioDevice
        let place: VirtioPlacement.Place
        let io: VirtioIOMode
    }

    /// The PCI host bridge, configuration mechanism #1 and the PCI memory window, and
    /// every device of `installations` on its transport. Returns each device's service,
    /// in order: the I/O thread that serves its queues (none is started for `.vcpu`).
    static func install(
        _ installations: [Installation], vm: VirtualMachine, memory: GuestMemory, faults: HostFaults,
        portBus: inout IOBus, mmioBus: inout IOBus
    ) throws -> [VirtioService] {
        let router = MSIRouter(vm: vm, faults: faults)
        var services: [VirtioService] = []
        var functions: [UInt8: any SharedPCIFunction] = [0: DeviceSlot(PCIHostBridge())]
        var pciServices: [UInt8: VirtioService] = [:]
        var notifications: [(VirtioService, Int, VirtualMachine.IOEvent)] = []
        for installation in installations {
            let device = installation.device, threaded = installation.io == .thread
            switch installation.place {
            case .pci(_, let number, let barAddress, let gsi):
                let function = VirtioPCIFunction(
                    device, memory: memory, barAddress: barAddress, interruptLine: UInt8(gsi),
                    intx: KVMInterruptLine(vm: vm, irq: gsi, device: device.name, faults: faults),
                    messages: threaded ? router as any MSIDelivery : SignalledMSI(vm: vm, device: device.name, faults: faults))
                functions[number] = function
                let service = VirtioService(name: device.name, vm: vm, faults: faults, serve: function.serveQueue)
                services.append(service)
                guard threaded else { continue }
                pciServices[number] = service
                for queue in device.queueSizes.indices {
                    notifications.append((service, queue, .init(
                        address: UInt64(barAddress) + VirtioPCILayout.notifyAddress(queue: queue),
                        length: VirtioPCILayout.notifyWidth)))
                }
            case .mmio(_, let base, let gsi):
                let line: any InterruptLine = threaded
                    ? try IRQFDInterruptLine(vm: vm, gsi: gsi, device: device.name, faults: faults)
                    : KVMInterruptLine(vm: vm, irq: gsi, device: device.name, faults: faults)
                let transport = VirtioMMIODevice(device, memory: memory, interrupt: line)
                try mmioBus.register(transport, at: IOBus.Range(base: base.rawValue, length: Layout.virtioMMIODeviceSize))
                let service = VirtioService(name: device.name, vm: vm, faults: faults, serve: transport.serveQueue)
                services.append(service)
                guard threaded else { continue }
                for queue in device.queueSizes.indices {
                    // QueueNotify takes the queue index: one address, matched per value.
                    notifications.append((service, queue, .init(
                        address: base.rawValue + UInt64(VIRTIO_MMIO_QUEUE_NOTIFY),
                        length: VirtioMMIODevice.registerWidth, value: UInt64(queue))))
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
        try mmioBus.register(
            PCIEnhancedConfigurationAccess(bus: bus), at: IOBus.Range(base: Layout.pciECAM.rawValue, length: Layout.pciECAMSize))
        try mmioBus.register(PCIMMIOWindow(bus: bus, base: window.base), at: window)
        for (service, queue, match) in notifications { try service.listen(queue: queue, at: match) }
        return services
    }
}
