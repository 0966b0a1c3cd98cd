import Locking
import CUAPI
import Testing
@testable import Devices

/// A function with one 4 KiB memory BAR that remembers the last BAR write.
struct ScratchFunction: PCIFunction {
    let name = "scratch"
    var configurationSpace: PCIConfigurationSpace
    var lastWrite: (offset: UInt64, value: UInt64)? = nil

    init(barAddress: UInt32) {
        configurationSpace = PCIConfigurationSpace(.init(vendorID: 0x1234, deviceID: 0x5678, revision: 2, classCode: (0xff, 0, 0)), interruptPin: 1, interruptLine: 16)
        configurationSpace.addMemoryBAR(0, size: 0x1000, address: barAddress)
    }

    mutating func read(offset: UInt64, size: Int) -> UInt64 { UInt64(configurationSpace.read(offset: Int(offset), size: size)) }
    mutating func write(offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        configurationSpace.write(offset: Int(offset), size: size, value: UInt32(truncatingIfNeeded: value))
        return .none
    }
    mutating func readBAR(_ bar: Int, offset: UInt64, size: Int) -> UInt64 { 0xab00 + offset }
    mutating func writeBAR(_ bar: Int, offset: UInt64, size: Int, value: UInt64) -> DeviceEffect {
        lastWrite = (offset, value)
        return .none
    }
}

/// CONFIG_ADDRESS for bus 0, `device`, function `function`, register `register`.
func configAddress(device: UInt32, function: UInt32 = 0, register: UInt32) -> UInt64 {
    UInt64(0x8000_0000 | device << 11 | function << 8 | register)
}

@Suite("PCI: configuration space, mechanism #1, BARs, MSI-X")
struct PCITests {
    @Test("PCI 3.0 6.2.5.1: writing all ones to a BAR reads back its size; the address is kept")
    func barSizing() {
        var space = ScratchFunction(barAddress: 0xc000_1000).configurationSpace
        #expect(space.get32(0x10) == 0xc000_1000)
        space.write(offset: 0x10, size: 4, value: 0xffff_ffff)
        #expect(space.get32(0x10) == 0xffff_f000)
        space.write(offset: 0x10, size: 4, value: 0xc000_2000)
        #expect(space.get32(0x10) == 0xc000_2000)
        // An unimplemented BAR reads 0 whatever is written.
        space.write(offset: 0x14, size: 4, value: 0xffff_ffff)
        #expect(space.get32(0x14) == 0)
        // IDs are read-only.
        space.write(offset: 0, size: 4, value: 0)
        #expect(space.get32(0) == 0x5678_1234)
    }

    @Test("a BAR answers only while memory decoding is on and it is placed")
    func barMapping() {
        var space = ScratchFunction(barAddress: 0xc000_1000).configurationSpace
        #expect(space.mappings.isEmpty)
        space.write(offset: Int(PCI_COMMAND), size: 2, value: UInt32(PCI_COMMAND_MEMORY))
        #expect(space.mappings == [PCIBARMapping(bar: 0, address: 0xc000_1000, size: 0x1000)])
        space.write(offset: 0x10, size: 4, value: 0xffff_ffff)
        #expect(space.mappings.isEmpty)
    }

    @Test("PCI 3.0 6.7: capabilities are linked from 0x34 and flagged in Status")
    func capabilities() {
        var space = ScratchFunction(barAddress: 0xc000_0000).configurationSpace
        let first = space.addCapability(id: 0x09, body: [4, 1])
        let second = space.addCapability(id: 0x11, body: [0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(space.read(offset: Int(PCI_STATUS), size: 2) & UInt32(PCI_STATUS_CAP_LIST) != 0)
        #expect(space.read(offset: Int(PCI_CAPABILITY_LIST), size: 1) == UInt32(first))
        #expect(space.read(offset: first + 1, size: 1) == UInt32(second))
        #expect(space.read(offset: second + 1, size: 1) == 0)
        #expect(first % 4 == 0 && second % 4 == 0 && first >= 0x40)
    }

    @Test("mechanism #1: Linux's probe reads 0x80000000 back, finds the host bridge, and absent functions read all ones")
    func mechanism1() {
        let bus = PCIBus(functions: [0: DeviceSlot(PCIHostBridge()), 3: DeviceSlot(ScratchFunction(barAddress: 0xc000_0000))])
        var conf = PCIConfigMechanism1(bus: bus)
        _ = conf.write(offset: 0, size: 4, value: 0x8000_0000)
        #expect(conf.read(offset: 0, size: 4) == 0x8000_0000)
        #expect(conf.read(offset: 4, size: 4) == 0x0008_1b36)
        _ = conf.write(offset: 0, size: 4, value: configAddress(device: 0, register: 8))
        #expect(conf.read(offset: 4, size: 4) >> 8 == 0x06_0000)
        _ = conf.write(offset: 0, size: 4, value: configAddress(device: 3, register: 0))
        #expect(conf.read(offset: 4, size: 2) == 0x1234)
        #expect(conf.read(offset: 6, size: 2) == 0x5678)
        for address in [configAddress(device: 5, register: 0), configAddress(device: 3, function: 1, register: 0), 0x0001_0000 | configAddress(device: 3, register: 0), UInt64(3 << 11)] {
            _ = conf.write(offset: 0, size: 4, value: address)
            #expect(conf.read(offset: 4, size: 4) == 0xffff_ffff, "0x\(String(address, radix: 16))")
        }
        // A byte write to 0xcfb (Linux writes 0x01 there first) does not move CONFIG_ADDRESS.
        _ = conf.write(offset: 0, size: 4, value: 0x8000_0000)
        _ = conf.write(offset: 3, size: 1, value: 1)
        #expect(conf.read(offset: 0, size: 4) == 0x8000_0000)
    }

    @Test("the MMIO window reaches a BAR where the guest placed it, and reports moves")
    func windowAndMoves() {
        let slot = DeviceSlot(ScratchFunction(barAddress: 0xc000_1000))
        let moves = RecordingMoves()
        let bus = PCIBus(functions: [1: slot]) { device, old, new in moves.record(device, old, new) }
        var conf = PCIConfigMechanism1(bus: bus)
        let window = PCIMMIOWindow(bus: bus, base: 0xc000_0000)
        #expect(window.read(offset: 0x1010, size: 4) == 0xffff_ffff)  // decoding off
        _ = conf.write(offset: 0, size: 4, value: configAddress(device: 1, register: UInt32(PCI_COMMAND)))
        _ = conf.write(offset: 4, size: 2, value: UInt64(PCI_COMMAND_MEMORY))
        #expect(window.read(offset: 0x1010, size: 4) == 0xab10)
        _ = conf.write(offset: 0, size: 4, value: configAddress(device: 1, register: 0x10))
        _ = conf.write(offset: 4, size: 4, value: 0xc000_8000)
        #expect(window.read(offset: 0x1010, size: 4) == 0xffff_ffff)
        _ = window.write(offset: 0x8004, size: 4, value: 99)
        #expect(slot.withLock { $0.lastWrite?.offset } == 4)
        #expect(moves.addresses == [[0xc000_1000], [0xc000_8000]])
    }

    @Test("PCI 3.0 6.8.2: MSI-X vectors start masked; a masked signal is pending until unmasked")
    func msix() {
        var table = MSIXTable(vectors: 2)
        table.isEnabled = true
        #expect(table.signal(0) == nil)
        #expect(table.readPendingArray(offset: 0, size: 8) == 1)
        #expect(table.writeTable(offset: 0, size: 4, value: 0xfee0_0000).isEmpty)
        #expect(table.writeTable(offset: 8, size: 4, value: 0x41).isEmpty)
        #expect(table.writeTable(offset: 12, size: 4, value: 0) == [MSIMessage(address: 0xfee0_0000, data: 0x41)])
        #expect(table.readPendingArray(offset: 0, size: 8) == 0)
        #expect(table.signal(0) == MSIMessage(address: 0xfee0_0000, data: 0x41))
        table.isFunctionMasked = true
        #expect(table.signal(0) == nil)
        // While the function is masked, nothing is released, even for unmasked vectors.
        #expect(table.releasePending().isEmpty)
        #expect(table.readPendingArray(offset: 0, size: 8) == 1)
        table.isFunctionMasked = false
        #expect(table.releasePending() == [MSIMessage(address: 0xfee0_0000, data: 0x41)])
        #expect(table.readTable(offset: 8, size: 4) == 0x41)
        #expect(table.readTable(offset: 12, size: 4) == 0)
        #expect(table.readTable(offset: 16 + 12, size: 4) == 1)  // vector 1 still masked
        #expect(table.signal(7) == nil)  // no such vector: dropped
        #expect(table.readTable(offset: 2, size: 4) == 0)  // misaligned: nothing
    }
}

final class RecordingMoves: Sendable {
    private let moves = Locked<[[UInt64]]>([])
    func record(_ device: UInt8, _ old: [PCIBARMapping], _ new: [PCIBARMapping]) { moves.withLock { $0.append(new.map(\.address)) } }
    var addresses: [[UInt64]] { moves.withLock { $0 } }
}
