import GuestMemory
import CUAPI
import Devices

/// Where a virtio-pci function keeps its registers (virtio v1.2, 4.1.4 "Virtio Structure
/// PCI Capabilities"): one 32-bit memory BAR, a page per structure, each page described
/// by a vendor capability in configuration space.
///
/// ```
///  BAR 0 offset  structure                         capability
///  0x0000        common configuration (0x3c bytes) VIRTIO_PCI_CAP_COMMON_CFG
///  0x1000        ISR status (1 byte)               VIRTIO_PCI_CAP_ISR_CFG
///  0x2000        device configuration              VIRTIO_PCI_CAP_DEVICE_CFG
///  0x3000        notifications: queue q at +4q     VIRTIO_PCI_CAP_NOTIFY_CFG
///  0x4000        MSI-X table (16 bytes a vector)   MSI-X capability
///  0x5000        MSI-X pending bit array
/// ```
/// Each structure has its own 4 KiB page, as the PCI specification recommends for the
/// MSI-X table (PCI 3.0, 6.8.2) and so that a notification write can be caught by an
/// ioeventfd without catching anything else.
public enum VirtioPCILayout {
    /// The BAR holding every structure.
    public static let bar = 0
    public static let barSize: UInt32 = 0x8000
    static let page: UInt64 = 0x1000

    public static let commonOffset: UInt64 = 0x0000
    public static let isrOffset: UInt64 = 0x1000
    public static let deviceOffset: UInt64 = 0x2000
    public static let notifyOffset: UInt64 = 0x3000
    public static let msixTableOffset: UInt64 = 0x4000
    public static let msixPendingOffset: UInt64 = 0x5000
    /// Bytes between two queues' notification addresses (`notify_off_multiplier`): each
    /// queue has its own address, so an ioeventfd needs no data match.
    public static let notifyMultiplier: UInt32 = 4
    /// The width of a notification write: the 16-bit queue index (4.1.5.2).
    public static let notifyWidth: UInt32 = 2

    /// The queue whose notification address `offset` of BAR `bar` is, if it is one
    /// (4.1.4.4: queue q's is `queue_notify_off * notify_off_multiplier`, and ours is q).
    public static func notifiedQueue(bar: Int, offset: UInt64) -> Int? {
        guard bar == Self.bar, offset >= notifyOffset, offset < msixTableOffset else { return nil }
        let relative = offset - notifyOffset
        guard relative % UInt64(notifyMultiplier) == 0 else { return nil }
        return Int(relative / UInt64(notifyMultiplier))
    }

    /// The notification address of queue `queue` inside the BAR.
    public static func notifyAddress(queue: Int) -> UInt64 {
        notifyOffset + UInt64(notifyMultiplier) * UInt64(queue)
    }

    /// ISR status bits (4.1.4.5): a queue interrupt, and a configuration change
    /// (VIRTIO_PCI_ISR_CONFIG; the queue bit has no name in the kernel's header).
    public static let isrQueue: UInt8 = 0x1
    public static let isrConfiguration = UInt8(VIRTIO_PCI_ISR_CONFIG)

    /// PCI IDs (4.1.2): Red Hat's virtio vendor ID, device ID 0x1040 + the virtio device
    /// ID, revision 1 (a non-transitional, virtio 1.x-only device, 4.1.2.1).
    public static let vendorID: UInt16 = 0x1af4
    public static let deviceIDBase: UInt16 = 0x1040
    public static let revision: UInt8 = 1
    /// "Non-transitional devices SHOULD have a PCI Subsystem Device ID of 0x40 or higher."
    public static let subsystemID: UInt16 = 0x40

    /// The PCI class of a virtio device type (PCI 3.0, appendix D): a block device is a
    /// mass storage controller (01), other (80); anything else is unclassified.
    static func classCode(deviceID: UInt32) -> (base: UInt8, subclass: UInt8, interface: UInt8) {
        deviceID == UInt32(VIRTIO_ID_BLOCK) ? (0x01, 0x80, 0x00) : (0xff, 0x00, 0x00)
    }

    /// The configuration space of a virtio-pci function: header, BAR 0 at `barAddress`,
    /// the virtio capabilities and MSI-X. Returns it with the offsets of the
    /// VIRTIO_PCI_CAP_PCI_CFG and MSI-X capabilities.
    static func configurationSpace(
        deviceID: UInt32, vectors: Int, barAddress: UInt32, interruptLine: UInt8
    ) -> (space: PCIConfigurationSpace, pciCfgCapability: Int, msixCapability: Int) {
        var space = PCIConfigurationSpace(
            .init(vendorID: vendorID, deviceID: deviceIDBase + UInt16(deviceID), revision: revision,
                  classCode: classCode(deviceID: deviceID), subsystemVendorID: vendorID, subsystemID: subsystemID),
            interruptPin: 1, interruptLine: interruptLine)
        space.addMemoryBAR(bar, size: barSize, address: barAddress)
        let structures: [(Int32, UInt64)] = [
            (VIRTIO_PCI_CAP_COMMON_CFG, commonOffset), (VIRTIO_PCI_CAP_ISR_CFG, isrOffset),
            (VIRTIO_PCI_CAP_DEVICE_CFG, deviceOffset),
        ]
        for (type, offset) in structures {
            space.addCapability(id: UInt8(PCI_CAP_ID_VNDR), body: virtioCapability(type: type, offset: offset, length: page))
        }
        space.addCapability(
            id: UInt8(PCI_CAP_ID_VNDR),
            body: virtioCapability(type: VIRTIO_PCI_CAP_NOTIFY_CFG, offset: notifyOffset, length: page) + notifyMultiplier.littleEndianBytes)
        // VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window into the BARs through configuration
        // space. bar, offset, length and pci_cfg_data are the driver's to write.
        let pciCfg = space.addCapability(
            id: UInt8(PCI_CAP_ID_VNDR),
            body: virtioCapability(type: VIRTIO_PCI_CAP_PCI_CFG, offset: 0, length: 0) + [0, 0, 0, 0],
            writableMask: [0, 0, 0xff, 0, 0, 0] + [UInt8](repeating: 0xff, count: 12))
        let msix = MSIXTable.capability(
            vectors: vectors, bar: bar, tableOffset: UInt32(msixTableOffset), pendingOffset: UInt32(msixPendingOffset))
        let msixCapability = space.addCapability(id: UInt8(PCI_CAP_ID_MSIX), body: msix.body, writableMask: msix.writable)
        return (space, pciCfg, msixCapability)
    }

    /// `struct virtio_pci_cap` after its first two bytes: cap_len, cfg_type, bar, id,
    /// padding, offset, length.
    private static func virtioCapability(type: Int32, offset: UInt64, length: UInt64) -> [UInt8] {
        let size = UInt8(MemoryLayout<virtio_pci_cap>.size + (type == VIRTIO_PCI_CAP_NOTIFY_CFG || type == VIRTIO_PCI_CAP_PCI_CFG ? 4 : 0))
        return [size, UInt8(type), UInt8(bar), 0, 0, 0] + UInt32(offset).littleEndianBytes + UInt32(length).littleEndianBytes
    }

    // Offsets inside the VIRTIO_PCI_CAP_PCI_CFG capability.
    static let pciCfgBar = MemoryLayout.offset(of: \virtio_pci_cap.bar)!
    static let pciCfgOffset = MemoryLayout.offset(of: \virtio_pci_cap.offset)!
    static let pciCfgLength = MemoryLayout.offset(of: \virtio_pci_cap.length)!
    static let pciCfgData = MemoryLayout<virtio_pci_cap>.size
}
