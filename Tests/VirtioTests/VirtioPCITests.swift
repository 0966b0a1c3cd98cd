import CUAPI
import Devices
import GuestMemory
import Testing
@testable import Virtio

@Suite("virtio-pci: capabilities, MSI-X, INTx, the PCI configuration access window")
struct VirtioPCITests {
    func setup(features: VirtioFeatures = [.version1]) -> (FakeDriver, PCITransport, MemoryDisk) {
        let (driver, disk) = blockSetup(.pci, features: features)
        return (driver, driver.transport as! PCITransport, disk)
    }

    @Test("4.1.4: the capability list names each structure's BAR, offset and length; 4.1.2: IDs")
    func capabilities() {
        let (_, pci, _) = setup()
        let space = pci.function.configurationSpace
        #expect(space.get16(0) == 0x1af4 && space.get16(2) == 0x1042)
        #expect(space.read(offset: Int(PCI_REVISION_ID), size: 1) == 1)
        #expect(space.get16(Int(PCI_SUBSYSTEM_ID)) >= 0x40)
        var found: [Int32: (bar: UInt32, offset: UInt32, length: UInt32)] = [:]
        var msix = false
        var cap = Int(space.read(offset: Int(PCI_CAPABILITY_LIST), size: 1))
        while cap != 0 {
            if space.read(offset: cap, size: 1) == UInt32(PCI_CAP_ID_VNDR) {
                let type = Int32(space.read(offset: cap + 3, size: 1))
                found[type] = (space.read(offset: cap + 4, size: 1), space.get32(cap + 8), space.get32(cap + 12))
                if type == VIRTIO_PCI_CAP_NOTIFY_CFG { #expect(space.get32(cap + 16) == VirtioPCILayout.notifyMultiplier) }
            }
            if space.read(offset: cap, size: 1) == UInt32(PCI_CAP_ID_MSIX) {
                msix = true
                #expect(space.get16(cap + 2) & 0x7ff == 1)  // two vectors: queue and configuration
            }
            cap = Int(space.read(offset: cap + 1, size: 1))
        }
        #expect(msix)
        #expect(found[VIRTIO_PCI_CAP_COMMON_CFG]?.offset == UInt32(VirtioPCILayout.commonOffset))
        #expect(found[VIRTIO_PCI_CAP_ISR_CFG]?.offset == UInt32(VirtioPCILayout.isrOffset))
        #expect(found[VIRTIO_PCI_CAP_DEVICE_CFG]?.offset == UInt32(VirtioPCILayout.deviceOffset))
        #expect(found[VIRTIO_PCI_CAP_NOTIFY_CFG]?.offset == UInt32(VirtioPCILayout.notifyOffset))
        #expect(found[VIRTIO_PCI_CAP_PCI_CFG] != nil)
        #expect(found.values.allSatisfy { $0.bar == 0 })
    }

    @Test("4.1.4.5: without MSI-X, INTx is asserted with ISR status and deasserted by reading it")
    func intx() {
        let (driver, pci, _) = setup()
        func interruptStatusBit() -> Bool {
            pci.function.readConfiguration(offset: UInt64(PCI_STATUS), size: 2) & UInt64(PCI_STATUS_INTERRUPT) != 0
        }
        #expect(!interruptStatusBit())
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(pci.intx.isHigh)
        #expect(interruptStatusBit())  // 4.1.4.5.1: Status.Interrupt is ISR's OR
        #expect(pci.function.readBAR(0, offset: VirtioPCILayout.isrOffset, size: 1) == 1)
        #expect(!pci.intx.isHigh)
        #expect(!interruptStatusBit())
        #expect(pci.function.readBAR(0, offset: VirtioPCILayout.isrOffset, size: 1) == 0)
        // INTx Disable in the command register keeps the line low, but not the status bit.
        pci.function.writeConfiguration(offset: UInt64(PCI_COMMAND), size: 2, value: UInt64(PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE))
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(!pci.intx.isHigh)
        #expect(interruptStatusBit())
        // The guest cannot write the bit: Status is read-only here.
        pci.function.writeConfiguration(offset: UInt64(PCI_STATUS), size: 2, value: 0)
        #expect(interruptStatusBit())
    }

    @Test("4.1.5.1.2: with MSI-X on, a queue's interrupt is its vector's message, and INTx is left alone")
    func msix() {
        let (driver, pci, _) = setup()
        let table = VirtioPCILayout.msixTableOffset
        _ = pci.function.writeBAR(0, offset: table + 16, size: 4, value: 0xfee0_0000)
        _ = pci.function.writeBAR(0, offset: table + 24, size: 4, value: 0x45)
        _ = pci.function.writeBAR(0, offset: table + 28, size: 4, value: 0)
        pci.writeCommon(\.queue_select, 2, 0)
        pci.writeCommon(\.queue_msix_vector, 2, 1)
        #expect(pci.readCommon(\.queue_msix_vector, 2) == 1)
        pci.writeCommon(\.queue_msix_vector, 2, 9)  // no such vector
        #expect(pci.readCommon(\.queue_msix_vector, 2) == UInt64(VIRTIO_MSI_NO_VECTOR))
        pci.writeCommon(\.queue_msix_vector, 2, 1)
        let msixCap = capabilityOffset(pci, id: UInt8(PCI_CAP_ID_MSIX))
        pci.function.writeConfiguration(offset: UInt64(msixCap + 2), size: 2, value: UInt64(PCI_MSIX_FLAGS_ENABLE))
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(pci.msi.messages == [MSIMessage(address: 0xfee0_0000, data: 0x45)])
        #expect(!pci.intx.isHigh)
        #expect(pci.intx.calls == 0)  // the line never left its low level: KVM is not asked
        // Masking the vector holds the next interrupt back; unmasking sends it.
        _ = pci.function.writeBAR(0, offset: table + 28, size: 4, value: 1)
        _ = driver.request(type: VIRTIO_BLK_T_IN, inLength: 512)
        #expect(pci.msi.messages.count == 1)
        #expect(pci.function.readBAR(0, offset: VirtioPCILayout.msixPendingOffset, size: 8) == 2)
        _ = pci.function.writeBAR(0, offset: table + 28, size: 4, value: 0)
        #expect(pci.msi.messages.count == 2)
    }

    @Test("4.1.4.9: VIRTIO_PCI_CAP_PCI_CFG reaches the BAR through configuration space")
    func pciCfgWindow() {
        let (_, pci, _) = setup()
        let cap = capabilityOffset(pci, id: UInt8(PCI_CAP_ID_VNDR), type: VIRTIO_PCI_CAP_PCI_CFG)
        // Read the device status (common configuration offset 0x14, one byte).
        pci.function.writeConfiguration(offset: UInt64(cap + VirtioPCILayout.pciCfgBar), size: 1, value: 0)
        pci.function.writeConfiguration(offset: UInt64(cap + VirtioPCILayout.pciCfgOffset), size: 4, value: 0x14)
        pci.function.writeConfiguration(offset: UInt64(cap + VirtioPCILayout.pciCfgLength), size: 4, value: 1)
        #expect(pci.function.readConfiguration(offset: UInt64(cap + VirtioPCILayout.pciCfgData), size: 4) == 0xf)
        // Write it: 0 resets the device.
        pci.function.writeConfiguration(offset: UInt64(cap + VirtioPCILayout.pciCfgData), size: 1, value: 0)
        #expect(pci.status == 0)
    }

    func capabilityOffset(_ pci: PCITransport, id: UInt8, type: Int32? = nil) -> Int {
        let space = pci.function.configurationSpace
        var cap = Int(space.read(offset: Int(PCI_CAPABILITY_LIST), size: 1))
        while cap != 0 {
            if space.read(offset: cap, size: 1) == UInt32(id), type == nil || space.read(offset: cap + 3, size: 1) == UInt32(type!) { return cap }
            cap = Int(space.read(offset: cap + 1, size: 1))
        }
        Issue.record("capability \(id) not found")
        return 0
    }
}
