import CUAPI
import Devices
import GuestMemory

/// The registers of the virtio-pci transport (virtio v1.2, 4.1): the configuration
/// space with the virtio capabilities, and in BAR 0 the common configuration, ISR status,
/// device configuration and MSI-X table (`VirtioPCILayout`); INTx and MSI-X delivery.
/// `VirtioPCIFunction` keeps them under its register lock.
///
/// A write to a queue's notification address is not the registers' business: the write
/// returns the queue, which the function serves without the register lock.
struct VirtioPCIRegisters: Sendable {
    var state: VirtioDeviceState
    private(set) var configurationSpace: PCIConfigurationSpace
    private(set) var msix: MSIXTable
    /// ISR status (4.1.4.5): bit 0 queue interrupt, bit 1 configuration change.
    private(set) var interruptStatus: UInt8 = 0

    private let pciCfgCapability: Int
    private let msixCapability: Int
    private let intx: any InterruptLine
    /// The level INTA# was last driven to; it starts low, as KVM's lines do.
    private var intxLevel = false
    private let messages: any MSIDelivery

    // Common configuration registers (4.1.4.3).
    var deviceFeatureSelect: UInt32 = 0
    var driverFeatureSelect: UInt32 = 0
    var queueSelect: UInt16 = 0
    var configurationVector = UInt16(VIRTIO_MSI_NO_VECTOR)
    var queueVectors: [UInt16]

    /// - Parameters:
    ///   - barAddress: where BAR 0 starts, as firmware would have assigned it.
    ///   - interruptLine: the GSI INTA# is wired to, reported in Interrupt Line.
    ///   - intx: the INTA# line (level-triggered).
    ///   - messages: where MSI-X messages go.
    init(
        _ device: any VirtioDevice, memory: GuestMemory, barAddress: UInt32, interruptLine: UInt8,
        intx: any InterruptLine, messages: any MSIDelivery
    ) {
        let vectors = device.queueSizes.count + 1
        let (space, pciCfg, msixCapability) = VirtioPCILayout.configurationSpace(
            deviceID: device.deviceID, vectors: vectors, barAddress: barAddress, interruptLine: interruptLine)
        self.state = VirtioDeviceState(device: device, memory: memory)
        self.configurationSpace = space
        self.pciCfgCapability = pciCfg
        self.msixCapability = msixCapability
        self.msix = MSIXTable(vectors: vectors)
        self.intx = intx
        self.messages = messages
        self.queueVectors = [UInt16](repeating: UInt16(VIRTIO_MSI_NO_VECTOR), count: device.queueSizes.count)
    }

    // MARK: Configuration space

    private var pciCfgData: Int { pciCfgCapability + VirtioPCILayout.pciCfgData }

    /// Reads configuration space; pci_cfg_data reads the BAR through the
    /// VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9).
    mutating func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        let offset = Int(offset)
        if offset >= pciCfgData && offset < pciCfgData + 4 { return readThroughPCICfg(size: size) }
        return UInt64(configurationSpace.read(offset: offset, size: size))
    }

    /// Writes configuration space, then follows MSI-X Enable, Function Mask and INTx
    /// Disable; pci_cfg_data writes the BAR through the VIRTIO_PCI_CAP_PCI_CFG window
    /// (4.1.4.9). Returns the queue such a write notified, if it did.
    mutating func writeConfiguration(offset: UInt64, size: Int, value: UInt64) -> Int? {
        let offset = Int(offset)
        if offset >= pciCfgData && offset < pciCfgData + 4 { return writeThroughPCICfg(size: size, value: value) }
        configurationSpace.write(offset: offset, size: size, value: UInt32(truncatingIfNeeded: value))
        updateInterruptMode()
        return nil
    }

    /// Follows Message Control's Enable and Function Mask bits and the INTx Disable bit.
    private mutating func updateInterruptMode() {
        let control = configurationSpace.get16(msixCapability + Int(PCI_MSIX_FLAGS))
        msix.isEnabled = control & UInt16(PCI_MSIX_FLAGS_ENABLE) != 0
        msix.isFunctionMasked = control & UInt16(PCI_MSIX_FLAGS_MASKALL) != 0
        for message in msix.releasePending() { messages.deliver(message) }
        updateINTx()
    }

    /// INTA# is asserted while ISR has a bit set, MSI-X is off and INTx is not disabled.
    /// The PCI Status register's Interrupt Status bit shows the same interrupt whether or
    /// not INTx is disabled: virtio v1.2 4.1.4.5.1, with MSI-X off the device "MUST set
    /// the Interrupt Status bit in the PCI Status register ... to the logical OR of all
    /// bits in ISR status"; PCI Local Bus 3.0, 6.2.3, Interrupt Disable "has no effect on
    /// the state of this bit".
    private mutating func updateINTx() {
        let pending = interruptStatus != 0 && !msix.isEnabled
        let status = configurationSpace.get16(Int(PCI_STATUS))
        let interruptBit = UInt16(PCI_STATUS_INTERRUPT)
        configurationSpace.set16(Int(PCI_STATUS), pending ? status | interruptBit : status & ~interruptBit)
        let disabled = configurationSpace.command & UInt16(PCI_COMMAND_INTX_DISABLE) != 0
        // Only changes reach the line: each is a KVM_IRQ_LINE call, and with MSI-X on
        // every batch of completions would otherwise drive an idle line low again.
        let level = pending && !disabled
        guard level != intxLevel else { return }
        intxLevel = level
        intx.setLevel(level)
    }

    // The VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9): bar, offset and length select a BAR
    // access of 1, 2 or 4 bytes that a read or write of pci_cfg_data performs.
    private var pciCfgAccess: (bar: Int, offset: UInt64, length: Int)? {
        let bar = Int(configurationSpace.read(offset: pciCfgCapability + VirtioPCILayout.pciCfgBar, size: 1))
        let offset = UInt64(configurationSpace.get32(pciCfgCapability + VirtioPCILayout.pciCfgOffset))
        let length = Int(configurationSpace.get32(pciCfgCapability + VirtioPCILayout.pciCfgLength))
        guard bar == VirtioPCILayout.bar, [1, 2, 4].contains(length), offset % UInt64(length) == 0 else { return nil }
        return (bar, offset, length)
    }

    private mutating func readThroughPCICfg(size: Int) -> UInt64 {
        guard let access = pciCfgAccess else { return 0 }
        // The bytes of pci_cfg_data the access covers; the rest read as zero.
        return readBAR(access.bar, offset: access.offset, size: access.length) & AbsentDevice.floatingBus(size: size)
    }

    private mutating func writeThroughPCICfg(size: Int, value: UInt64) -> Int? {
        guard let access = pciCfgAccess else { return nil }
        return writeBAR(access.bar, offset: access.offset, size: access.length, value: value)
    }

    // MARK: The BAR

    /// Reads BAR 0: common configuration (4.1.4.3), ISR status (4.1.4.5: the read clears
    /// it), device configuration (4.1.4.6), the MSI-X table and PBA (PCI 3.0, 6.8.2).
    mutating func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64 {
        guard bar == VirtioPCILayout.bar else { return 0 }
        switch offset {
        case VirtioPCILayout.commonOffset..<VirtioPCILayout.isrOffset:
            return readCommon(offset: offset - VirtioPCILayout.commonOffset, size: size)
        case VirtioPCILayout.isrOffset:
            // Reading ISR status clears it and deasserts INTx (4.1.4.5.1).
            let value = interruptStatus
            interruptStatus = 0
            updateINTx()
            return UInt64(value)
        case VirtioPCILayout.deviceOffset..<VirtioPCILayout.notifyOffset:
            return state.readConfiguration(offset: offset - VirtioPCILayout.deviceOffset, size: size)
        case VirtioPCILayout.msixTableOffset..<VirtioPCILayout.msixPendingOffset:
            return msix.readTable(offset: offset - VirtioPCILayout.msixTableOffset, size: size)
        case VirtioPCILayout.msixPendingOffset..<UInt64(VirtioPCILayout.barSize):
            return msix.readPendingArray(offset: offset - VirtioPCILayout.msixPendingOffset, size: size)
        default:
            return 0
        }
    }

    /// Writes BAR 0: common configuration, device configuration, the MSI-X table. A write
    /// to a queue's notification address (4.1.4.4) returns the queue instead.
    mutating func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> Int? {
        guard bar == VirtioPCILayout.bar else { return nil }
        switch offset {
        case VirtioPCILayout.commonOffset..<VirtioPCILayout.isrOffset:
            writeCommon(offset: offset - VirtioPCILayout.commonOffset, size: size, value: value)
        case VirtioPCILayout.deviceOffset..<VirtioPCILayout.notifyOffset:
            state.writeConfiguration(offset: offset - VirtioPCILayout.deviceOffset, size: size, value: value)
        case VirtioPCILayout.notifyOffset..<VirtioPCILayout.msixTableOffset:
            return VirtioPCILayout.notifiedQueue(bar: bar, offset: offset)
        case VirtioPCILayout.msixTableOffset..<VirtioPCILayout.msixPendingOffset:
            for message in msix.writeTable(offset: offset - VirtioPCILayout.msixTableOffset, size: size, value: value) {
                messages.deliver(message)
            }
        default:
            break
        }
        return nil
    }

    // MARK: Interrupts

    /// Raises each interrupt the way the driver set the function up: the message of its
    /// MSI-X vector, or ISR status and INTA# (4.1.4.5, 4.1.5.1.2).
    mutating func deliver(_ interrupts: [VirtioInterrupt]) {
        for interrupt in interrupts {
            let vector: UInt16
            switch interrupt {
            case .usedBuffer(let queue):
                interruptStatus |= VirtioPCILayout.isrQueue
                vector = queueVectors.indices.contains(queue) ? queueVectors[queue] : UInt16(VIRTIO_MSI_NO_VECTOR)
            case .configurationChange:
                interruptStatus |= VirtioPCILayout.isrConfiguration
                vector = configurationVector
            }
            // With MSI-X on, a vector of NO_VECTOR means no interrupt (4.1.5.1.2).
            let route: VirtioInterruptRoute
            if !msix.isEnabled {
                route = .intx
            } else if vector == UInt16(VIRTIO_MSI_NO_VECTOR) {
                route = .noVector
            } else if let message = msix.signal(Int(vector)) {
                messages.deliver(message)
                route = .msix(vector: vector)
            } else {
                route = .msixPending(vector: vector)
            }
            state.report(.interruptSent(interrupt, route: route))
        }
        if !interrupts.isEmpty { updateINTx() }
    }

    /// The transport's part of a device reset (status 0): vectors unassigned, ISR clear.
    mutating func resetTransport() {
        deviceFeatureSelect = 0
        driverFeatureSelect = 0
        queueSelect = 0
        configurationVector = UInt16(VIRTIO_MSI_NO_VECTOR)
        queueVectors = queueVectors.map { _ in UInt16(VIRTIO_MSI_NO_VECTOR) }
        interruptStatus = 0
        updateINTx()
    }
}
