import Testing
@testable import Devices

@Suite("PCI Express ECAM for bus 0")
struct PCIEnhancedConfigurationAccessTests {
    /// A bus with the scratch function at device 3, and its ECAM window and mechanism #1.
    func machine() -> (ecam: PCIEnhancedConfigurationAccess, conf1: PCIConfigMechanism1, slot: DeviceSlot<ScratchFunction>) {
        let slot = DeviceSlot(ScratchFunction(barAddress: 0xc000_1000))
        let bus = PCIBus(functions: [3: slot])
        return (PCIEnhancedConfigurationAccess(bus: bus), PCIConfigMechanism1(bus: bus), slot)
    }

    /// The ECAM offset of bus 0, `device`, `function`, `register` (PCIe 4.0, Table 7-1).
    func offset(device: UInt64, function: UInt64 = 0, register: UInt64) -> UInt64 {
        device << 15 | function << 12 | register
    }

    @Test("PCIe 4.0 7.2.2: a register read through ECAM is the one mechanism #1 reads, at every width")
    func sameRegisters() {
        var (ecam, conf1, _) = machine()
        for register: UInt64 in [0x00, 0x02, 0x08, 0x10, 0x3c] {
            for size in [1, 2, 4] where register % UInt64(size) == 0 {
                _ = conf1.write(offset: 0, size: 4, value: configAddress(device: 3, register: UInt32(register & ~3)))
                let viaPorts = conf1.read(offset: 4 + register % 4, size: size)
                #expect(ecam.read(offset: offset(device: 3, register: register), size: size) == viaPorts)
            }
        }
        #expect(ecam.read(offset: offset(device: 3, register: 0), size: 4) == 0x5678_1234)
    }

    @Test("PCIe 4.0 7.2.2: a write through ECAM reaches the function's configuration space")
    func writes() {
        var (ecam, _, slot) = machine()
        _ = ecam.write(offset: offset(device: 3, register: 0x10), size: 4, value: 0xc000_5000)
        #expect(slot.withLock { $0.configurationSpace.get32(0x10) } == 0xc000_5000)
    }

    @Test("absent devices and functions, extended space (256-4095) and accesses across a register read all ones and do nothing")
    func absent() {
        var (ecam, _, slot) = machine()
        #expect(ecam.read(offset: offset(device: 4, register: 0), size: 4) == 0xffff_ffff)
        #expect(ecam.read(offset: offset(device: 3, function: 1, register: 0), size: 4) == 0xffff_ffff)
        #expect(ecam.read(offset: offset(device: 3, register: 0x100), size: 4) == 0xffff_ffff)
        #expect(ecam.read(offset: offset(device: 3, register: 0xffc), size: 4) == 0xffff_ffff)
        #expect(ecam.read(offset: offset(device: 3, register: 0x02), size: 4) == 0xffff_ffff)
        #expect(ecam.read(offset: offset(device: 3, register: 0x00), size: 8) == UInt64.max)
        _ = ecam.write(offset: offset(device: 3, register: 0x12), size: 4, value: 0)
        _ = ecam.write(offset: offset(device: 3, register: 0x110), size: 4, value: 0)
        #expect(slot.withLock { $0.configurationSpace.get32(0x10) } == 0xc000_1000)
    }
}

@Suite("ACPI sleep control and status registers")
struct ACPISleepRegistersTests {
    @Test("ACPI 6.5 4.8.3.7: SLP_EN with the S5 sleep type (what Linux's poweroff writes) powers the machine off")
    func softOff() {
        var registers = ACPISleepRegisters()
        let s5 = ACPISleepRegisters.softOffSleepType << 2 | 1 << 5
        #expect(registers.write(offset: ACPISleepRegisters.Register.control, size: 1, value: UInt64(s5)) == .powerOff)
    }

    @Test("other sleep types, SLP_TYP without SLP_EN, and writes to the status register do nothing")
    func otherWrites() {
        var registers = ACPISleepRegisters()
        for type: UInt8 in 0...7 where type != ACPISleepRegisters.softOffSleepType {
            #expect(registers.write(offset: 0, size: 1, value: UInt64(type << 2 | 1 << 5)) == .none)
        }
        #expect(registers.write(offset: 0, size: 1, value: UInt64(ACPISleepRegisters.softOffSleepType << 2)) == .none)
        // acpi_hw_extended_sleep clears WAK_STS (bit 7) first.
        #expect(registers.write(offset: ACPISleepRegisters.Register.status, size: 1, value: 0x80) == .none)
    }

    @Test("the status register reads WAK_STS clear: a machine that never sleeps never wakes")
    func status() {
        var registers = ACPISleepRegisters()
        #expect(registers.read(offset: ACPISleepRegisters.Register.status, size: 1) == 0)
    }
}
