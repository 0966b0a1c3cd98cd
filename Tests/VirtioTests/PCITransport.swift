import Locking
import CUAPI
import Devices
import GuestMemory
@testable import Virtio

/// Records the MSI messages a device sends.
final class RecordingMSI: MSIDelivery {
    private let recorded = Locked<[MSIMessage]>([])
    func deliver(_ message: MSIMessage) { recorded.withLock { $0.append(message) } }
    var messages: [MSIMessage] { recorded.withLock { $0 } }
}

/// The virtio-pci transport as a fake driver reaches it: common configuration and
/// notifications in BAR 0, interrupts through ISR status and INTx unless MSI-X is enabled.
final class PCITransport: FakeTransport {
    static let barAddress: UInt32 = 0xc000_0000
    let function: VirtioPCIFunction
    var negotiatedFeatures: VirtioFeatures { function.driverFeatures }
    let intx = CountingLine()
    let msi = RecordingMSI()
    private var isr: UInt8 = 0

    init(_ block: VirtioBlock, memory: GuestMemory, barAddress: UInt32 = PCITransport.barAddress) {
        function = VirtioPCIFunction(
            block, memory: memory, barAddress: barAddress, interruptLine: 16, intx: intx, messages: msi)
        // Memory decoding on, as firmware leaves it.
        function.writeConfiguration(offset: UInt64(PCI_COMMAND), size: 2, value: UInt64(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
    }

    static func common(_ field: PartialKeyPath<virtio_pci_common_cfg>) -> UInt64 {
        UInt64(MemoryLayout<virtio_pci_common_cfg>.offset(of: field)!)
    }
    func readCommon(_ field: PartialKeyPath<virtio_pci_common_cfg>, _ size: Int) -> UInt64 {
        function.readBAR(0, offset: Self.common(field), size: size)
    }
    func writeCommon(_ field: PartialKeyPath<virtio_pci_common_cfg>, _ size: Int, _ value: UInt64) {
        _ = function.writeBAR(0, offset: Self.common(field), size: size, value: value)
    }

    var status: UInt8 { get { UInt8(readCommon(\.device_status, 1)) } }
    func writeStatus(_ value: UInt8) { writeCommon(\.device_status, 1, UInt64(value)) }
    var deviceFeatures: UInt64 {
        get {
            writeCommon(\.device_feature_select, 4, 1)
            let high = readCommon(\.device_feature, 4)
            writeCommon(\.device_feature_select, 4, 0)
            return high << 32 | readCommon(\.device_feature, 4)
        }
    }
    func writeDriverFeatures(_ value: UInt64) {
        writeCommon(\.guest_feature_select, 4, 0)
        writeCommon(\.guest_feature, 4, value & 0xffff_ffff)
        writeCommon(\.guest_feature_select, 4, 1)
        writeCommon(\.guest_feature, 4, value >> 32)
    }
    func configureQueue(_ index: Int, size: UInt16, descriptors: UInt64, available: UInt64, used: UInt64) {
        writeCommon(\.queue_select, 2, UInt64(index))
        writeCommon(\.queue_size, 2, UInt64(size))
        // Linux writes 64-bit fields as two 32-bit halves; the descriptor table as one
        // 64-bit write here, to cover both.
        writeCommon(\.queue_desc_lo, 8, descriptors)
        writeCommon(\.queue_avail_lo, 4, available & 0xffff_ffff)
        writeCommon(\.queue_avail_hi, 4, available >> 32)
        writeCommon(\.queue_used_lo, 4, used & 0xffff_ffff)
        writeCommon(\.queue_used_hi, 4, used >> 32)
    }
    func enableQueue(_ index: Int) {
        writeCommon(\.queue_select, 2, UInt64(index))
        writeCommon(\.queue_enable, 2, 1)
    }
    /// How a notification reaches the function: its BAR directly, unless a test routes it
    /// elsewhere (through a PCI memory window).
    var notifier: ((Int) -> Void)?

    func notify(_ index: Int) {
        if let notifier { return notifier(index) }
        _ = function.writeBAR(0, offset: VirtioPCILayout.notifyAddress(queue: index), size: 2, value: UInt64(index))
    }
    func readConfiguration(offset: UInt64, size: Int) -> UInt64 {
        function.readBAR(0, offset: VirtioPCILayout.deviceOffset + offset, size: size)
    }
    func take(_ bit: UInt8) -> Bool {
        isr |= UInt8(function.readBAR(0, offset: VirtioPCILayout.isrOffset, size: 1))
        defer { isr &= ~bit }
        return isr & bit != 0
    }
    func takeUsedBufferInterrupt() -> Bool { take(VirtioPCILayout.isrQueue) }
    func takeConfigurationInterrupt() -> Bool { take(VirtioPCILayout.isrConfiguration) }
}
