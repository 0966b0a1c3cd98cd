import CUAPI
import Devices
import GuestMemory
import HostIO
import KVM
import Virtio
#if canImport(Glibc)
import Glibc
#endif

extension VirtioPeripherals {
    /// What installing left for the machine: the PCI functions (which the disks' PCI bus
    /// takes), what to do when one's BAR moves, and the services to stop.
    struct Installed {
        var pciFunctions: [UInt8: PCIBus.Function] = [:]
        var barMoved: [UInt8: @Sendable (UInt64?) -> Void] = [:]
        var services: [DeviceService] = []
        /// Run after the services stop: passt is stopped.
        var stops: [@Sendable () -> Void] = []
    }

    /// Builds every device over its backend, places the virtio-mmio ones on `mmioBus`,
    /// and starts serving every queue on the device's own thread.
    func install(
        vm: VirtualMachine, memory: GuestMemory, mmioBus: inout IOBus, router: MSIRouter, tracer: Tracer?
    ) throws -> Installed {
        var installed = Installed()
        let clock: @Sendable () -> UInt64 = { MonotonicClock.now() }
        for item in placed {
            let service = try DeviceService(name: item.name, vm: vm)
            let monitor = PeripheralMonitor(tracer: tracer)
            let wakeUps = WeakWakeUps(service: service)
            switch item.kind {
            case .net(let configuration, let mac, let backend):
                let device = VirtioNet(
                    name: item.name, mac: mac, backend: backend, offloads: configuration.offloads,
                    wakeUps: wakeUps, observer: monitor)
                try place(device, item, service: service, vm: vm, memory: memory, mmioBus: &mmioBus, router: router, into: &installed)
                if let tap = backend as? TapBackend {
                    service.watchBackend(fd: tap.fd, inputQueue: VirtioNet.receiveQueue, outputQueue: VirtioNet.transmitQueue)
                } else if let passt = backend as? PasstBackend {
                    service.watchBackend(fd: passt.fd, inputQueue: VirtioNet.receiveQueue, outputQueue: VirtioNet.transmitQueue)
                    installed.stops.append { passt.stop() }
                }
            case .rng(let configuration):
                let device = VirtioRNG(
                    name: item.name, source: HostEntropy(), rate: configuration.rate,
                    burst: min(VirtioRNG.defaultBurst, configuration.rate), clock: clock,
                    wakeUps: wakeUps, observer: monitor)
                try place(device, item, service: service, vm: vm, memory: memory, mmioBus: &mmioBus, router: router, into: &installed)
            }
            service.start()
            installed.services.append(service)
        }
        return installed
    }

    /// `device` behind its transport: on the PCI bus (MSI-X through irqfds, INTA#) or on
    /// the MMIO bus (its line through an irqfd), each queue's notification an ioeventfd.
    private func place<Device: VirtioDevice>(
        _ device: Device, _ item: Placed, service: DeviceService, vm: VirtualMachine, memory: GuestMemory,
        mmioBus: inout IOBus, router: MSIRouter, into installed: inout Installed
    ) throws {
        switch item.transport {
        case .pci:
            let slot = DeviceSlot(VirtioPCIFunction(
                device, memory: memory, barAddress: item.barAddress, interruptLine: UInt8(item.gsi),
                intx: KVMInterruptLine(vm: vm, irq: item.gsi), messages: router))
            service.setServe { queue in slot.withLock { $0.serveQueue(queue) } }
            installed.pciFunctions[item.device] = PCIBus.Function(slot)
            installed.barMoved[item.device] = { [weak service] base in
                service?.moveNotifications(to: base, offset: VirtioPCILayout.notifyAddress(queue:))
            }
            for queue in device.queueSizes.indices {
                try service.serve(queue: queue, at: .init(
                    address: UInt64(item.barAddress) + VirtioPCILayout.notifyAddress(queue: queue),
                    length: VirtioPCILayout.notifyWidth))
            }
        case .mmio:
            let slot = try mmioBus.register(
                VirtioMMIODevice(device, memory: memory, interrupt: try IRQFDInterruptLine(vm: vm, gsi: item.gsi)),
                at: IOBus.Range(base: item.base.rawValue, length: Layout.virtioMMIODeviceSize))
            service.setServe { queue in slot.withLock { $0.serveQueue(queue) } }
            for queue in device.queueSizes.indices {
                // QueueNotify takes the queue index: one address, matched per value.
                try service.serve(queue: queue, at: .init(
                    address: item.base.rawValue + UInt64(VIRTIO_MMIO_QUEUE_NOTIFY),
                    length: VirtioMMIODevice<Device>.registerWidth, value: UInt64(queue)))
            }
        }
    }
}

/// Hears a network or entropy device's events: passes them to the tracer for
/// `--trace virtio`, and says on stderr, once, when a backend fails and the link goes
/// down (the guest runs on without a network).
final class PeripheralMonitor: VirtioObserver {
    private let tracer: Tracer?

    init(tracer: Tracer?) {
        self.tracer = tracer?.categories.contains(.virtio) == true ? tracer : nil
    }

    func observe(_ event: VirtioEvent, device: String) {
        if case .network(.backendFailed(let reason)) = event {
            HostIO.write(STDERR_FILENO, Array("swiftvmm: \(device): \(reason); the link is down\n".utf8))
        }
        tracer?.trace(event, device: device)
    }
}
