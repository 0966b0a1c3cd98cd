import Devices
import GuestMemory
import Locking

/// The virtio-pci transport, "modern" (virtio v1.2, 4.1 "Virtio Over PCI Bus"): a PCI
/// function whose configuration space lists where the virtio structures are in its BAR
/// (`VirtioPCILayout`), with MSI-X for queue and configuration interrupts and INTx with
/// the ISR status register for drivers that do not enable MSI-X.
///
/// The registers (`VirtioPCIRegisters`) are behind a lock of their own; a write to a
/// queue's notification address, or its ioeventfd, serves the queue through its
/// `VirtqueueServer` without it, and takes the lock only to send the interrupt the
/// requests owe.
public final class VirtioPCIFunction: SharedPCIFunction {
    public let name: String
    private let registers: Locked<VirtioPCIRegisters>
    private let servers: [VirtqueueServer]
    private let observer: (any VirtioObserver)?
    public let barSizes: [(bar: Int, size: UInt64)]

    /// - Parameters:
    ///   - barAddress: where BAR 0 starts, as firmware would have assigned it.
    ///   - interruptLine: the GSI INTA# is wired to, reported in Interrupt Line.
    ///   - intx: the INTA# line (level-triggered).
    ///   - messages: where MSI-X messages go.
    public init(
        _ device: any VirtioDevice, memory: GuestMemory, barAddress: UInt32, interruptLine: UInt8,
        intx: any InterruptLine, messages: any MSIDelivery
    ) {
        let registers = VirtioPCIRegisters(
            device, memory: memory, barAddress: barAddress, interruptLine: interruptLine, intx: intx, messages: messages)
        self.name = device.name
        self.servers = registers.state.servers
        self.observer = device.observer
        self.barSizes = registers.configurationSpace.barSizes
        self.registers = Locked(registers)
    }

    public func mapping(ofBAR bar: Int) -> PCIBARMapping? {
        registers.withLock { $0.configurationSpace.mapping(ofBAR: bar) }
    }

    public func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        registers.withLock { $0.readConfiguration(offset: offset, size: size) }
    }

    public func writeConfiguration(offset: UInt64, size: Int, value: UInt64) {
        if let queue = registers.withLock({ $0.writeConfiguration(offset: offset, size: size, value: value) }) {
            serveQueue(queue)
        }
    }

    public func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64 {
        registers.withLock { $0.readBAR(bar, offset: offset, size: size) }
    }

    public func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        // The queue's notification address: served at once, the registers untouched.
        if let queue = VirtioPCILayout.notifiedQueue(bar: bar, offset: offset) {
            serveQueue(queue)
        } else {
            registers.withLock { _ = $0.writeBAR(bar, offset: offset, size: size, value: value) }
        }
        return .none
    }

    /// An available buffer notification for queue `index` (a write to its notification
    /// address, or that address's ioeventfd): serves the queue, then interrupts the
    /// driver if it wants.
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
    /// ISR status, without the read that clears it.
    public var interruptStatus: UInt8 { registers.withLock { $0.interruptStatus } }
    /// The MSI-X table and pending bits.
    public var msix: MSIXTable { registers.withLock { $0.msix } }
    /// The configuration space.
    public var configurationSpace: PCIConfigurationSpace { registers.withLock { $0.configurationSpace } }
}
