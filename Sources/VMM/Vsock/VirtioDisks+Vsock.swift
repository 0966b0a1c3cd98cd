import Boot
import Devices
import GuestMemory
import KVM
import Virtio

/// Where the virtio-vsock device goes: on PCI bus 0 after the virtio-pci disks, as one
/// more function of the same kind (`VirtioDisks` describes the layout).
struct VsockPlacement {
    let device: UInt8
    let barAddress: UInt32
    let gsi: UInt32

    /// The next free PCI slot after `disks`' virtio-pci disks.
    init(after disks: VirtioDisks) throws(MachineError) {
        let index = disks.pci.count
        let limit = min(PCIBus.deviceCount - 1, Int(Layout.pciMMIOWindowSize / UInt64(VirtioPCILayout.barSize)))
        guard index + 1 <= limit else {
            throw .badInput("--vsock: no room on PCI bus 0 after \(index) virtio-pci disks; at most \(limit) devices fit")
        }
        device = UInt8(index + 1)
        barAddress = UInt32(Layout.pciMMIOWindow.rawValue) + UInt32(index) * VirtioPCILayout.barSize
        gsi = Layout.pciInterrupts[index % Layout.pciInterrupts.count]
    }

    /// The device's PCI function, its interrupts by ioctl (it is served on the vCPU thread
    /// for tx, and on the vsock thread for rx), and the rx queue's service.
    func function(
        _ service: VsockService, vm: VirtualMachine, memory: GuestMemory
    ) -> (PCIBus.Function, deliver: @Sendable () -> Void) {
        let slot = DeviceSlot(VirtioPCIFunction(
            VirtioVsock(name: "virtio-vsock-pci", muxer: service.muxer), memory: memory, barAddress: barAddress,
            interruptLine: UInt8(gsi), intx: KVMInterruptLine(vm: vm, irq: gsi), messages: SignalledMSI(vm: vm)))
        return (PCIBus.Function(slot), { slot.withLock { $0.notifyQueue(VirtioVsock.rxQueue) } })
    }
}

extension VirtioDisks {
    /// The ACPI platform with the vsock device's INTA# route added, when there is one.
    func acpiPlatform(adding vsock: VsockPlacement?) -> ACPIPlatform {
        var platform = acpiPlatform
        if let vsock { platform.pciHostBridge?.routes.append(.init(device: vsock.device, pin: 0, gsi: vsock.gsi)) }
        return platform
    }
}
