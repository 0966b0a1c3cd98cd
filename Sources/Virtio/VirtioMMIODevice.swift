import Devices
import GuestMemory
import Locking

/// The virtio-mmio transport, version 2 (virtio v1.2, 4.2 "Virtio Over MMIO"): a page of
/// 32-bit registers, then the device configuration space at 0x100. A guest learns of it
/// from its command line (`virtio_mmio.device=4K@0xd0000000:5`), or from a device tree
/// or ACPI table. Interrupts go out on one edge-triggered line, with InterruptStatus
/// saying why (bit 0: used buffers, bit 1: configuration change) until the driver
/// acknowledges.
///
/// The registers (`VirtioMMIORegisters`) are behind a lock of their own; a QueueNotify
/// write, or its ioeventfd, serves the queue through its `VirtqueueServer` without it,
/// and takes the lock only to send the interrupt the requests owe.
public final class VirtioMMIODevice: SharedBusDevice {
    /// The register file's constants, for drivers and tests.
    public static var magicValue: UInt32 { VirtioMMIORegisters.magicValue }
    public static var version: UInt32 { VirtioMMIORegisters.version }
    public static var registerWidth: UInt32 { VirtioMMIORegisters.registerWidth }

    public let name: String
    private let registers: Locked<VirtioMMIORegisters>
    private let servers: [VirtqueueServer]
    private let observer: (any VirtioObserver)?

    /// `device` behind virtio-mmio registers, in its reset state, interrupting on `interrupt`.
    public init(_ device: any VirtioDevice, memory: GuestMemory, interrupt: any InterruptLine) {
        let registers = VirtioMMIORegisters(device, memory: memory, interrupt: interrupt)
        self.name = device.name
        self.servers = registers.state.servers
        self.observer = device.observer
        self.registers = Locked(registers)
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        registers.withLock { $0.read(offset: offset, size: size) }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        if let queue = VirtioMMIORegisters.notifiedQueue(offset: offset, size: size, value: value) {
            serveQueue(queue)
        } else {
            registers.withLock { $0.write(offset: offset, size: size, value: value) }
        }
        return .none
    }

    /// An available buffer notification for queue `index` (a QueueNotify write, or its
    /// ioeventfd): serves the queue, then interrupts the driver if it wants.
    public func serveQueue(_ index: Int) {
        observer?.observe(.queueNotified(queue: index), device: name)
        guard servers.indices.contains(index) else { return }
        let outcome = servers[index].serve()
        guard outcome.needsTransport else { return }
        registers.withLock { $0.deliver($0.state.queueServed(index, outcome)) }
    }

    // MARK: For tests and diagnosis

    /// The device status field.
    public var status: DeviceStatus { registers.withLock { $0.state.status } }
    /// The features the driver accepted.
    public var driverFeatures: VirtioFeatures { registers.withLock { $0.state.driverFeatures } }
    /// Why the device set DEVICE_NEEDS_RESET, if it did.
    public var failure: VirtqueueError? { registers.withLock { $0.state.failure } }
    /// InterruptStatus.
    public var interruptStatus: UInt32 { registers.withLock { $0.interruptStatus } }
}
