import Testing

@testable import Devices

private func installedBus(withDebugExit: Bool = true) throws -> (
    bus: IOBus, serial: DeviceSlot<Serial8250>, output: RecordingByteSink,
    line: RecordingInterruptLine
) {
    var bus = IOBus()
    let output = RecordingByteSink()
    let line = RecordingInterruptLine()
    let serial = try LegacyPorts.install(
        on: &bus, serialOutput: output, serialInterrupt: line, keyboardInterrupt: RecordingInterruptLine(),
        clock: { 1_700_000_000 }, withDebugExit: withDebugExit).serial
    return (bus, serial, output, line)
}

@Suite("LegacyPorts")
struct LegacyPortsTests {
    @Test("PC ports: every device is installed at its port without overlaps")
    func installNamesEveryRange() throws {
        let (bus, _, _, _) = try installedBus()
        #expect(bus.deviceName(at: 0x3f8) == "com1")
        #expect(bus.deviceName(at: 0x3ff) == "com1")
        #expect(bus.deviceName(at: 0x70) == "cmos")
        #expect(bus.deviceName(at: 0x60) == "i8042")
        #expect(bus.deviceName(at: 0x64) == "i8042")
        #expect(bus.deviceName(at: 0xf4) == "debug-exit")
        for (name, range) in LegacyPorts.absentRanges {
            #expect(bus.deviceName(at: range.base) == name)
            #expect(bus.deviceName(at: range.base + range.length - 1) == name)
        }
        // In KVM, not here: the PICs, the PIT, port B, the ELCR.
        for port: UInt64 in [0x20, 0x40, 0x43, 0x61, 0xa0, 0x4d0] {
            #expect(bus.deviceName(at: port) == nil)
        }
    }

    @Test("PC ports: COM1 transmits through the bus and receives through its slot")
    func com1() throws {
        let (bus, serial, output, line) = try installedBus()
        #expect(bus.write(at: 0x3f8, size: 1, value: 0x4f) == DeviceEffect.none)
        #expect(output.bytes == [0x4f])
        #expect(bus.write(at: 0x3f9, size: 1, value: 0x01) == DeviceEffect.none)  // IER.ERBFI
        #expect(serial.withLock { $0.receive([0x6b]) } == 0)  // not before the guest raises DTR
        #expect(bus.write(at: 0x3fc, size: 1, value: 0x01) == DeviceEffect.none)  // MCR.DTR
        #expect(serial.withLock { $0.receive([0x6b]) } == 1)
        #expect(line.levels == [true])
        #expect(bus.read(at: 0x3fd, size: 1)! & 0x01 == 0x01)  // LSR.DR
        #expect(bus.read(at: 0x3f8, size: 1) == 0x6b)
        #expect(line.levels == [true, false])
    }

    @Test("PC ports: Linux's 8250 probe finds no UART at COM2-COM4")
    func absentUARTsFailTheScratchTest() throws {
        let (bus, _, _, _) = try installedBus()
        for base: UInt64 in [0x2f8, 0x3e8, 0x2e8] {
            // autoconfig(): write 0 to IER and expect IER & 0x0f to read back 0.
            _ = bus.write(at: base + 1, size: 1, value: 0)
            #expect(bus.read(at: base + 1, size: 1)! & 0x0f != 0)
        }
    }

    @Test("PC ports: 0xcf8-0xcff are left free for the PCI host bridge's configuration mechanism")
    func pciPortsLeftToTheHostBridge() throws {
        let (bus, _, _, _) = try installedBus()
        #expect(bus.read(at: 0xcf8, size: 4) == nil)
        #expect(bus.read(at: 0xcff, size: 1) == nil)
        #expect(LegacyPorts.pciConfiguration == IOBus.Range(base: 0xcf8, length: 8))
    }

    @Test("PC ports: the RTC and the keyboard controller answer at their ports")
    func cmosAndKeyboardController() throws {
        let (bus, _, _, _) = try installedBus()
        _ = bus.write(at: 0x70, size: 1, value: 0x04)
        #expect(bus.read(at: 0x71, size: 1) == 0x22)
        _ = bus.write(at: 0x64, size: 1, value: 0xaa)
        #expect(bus.read(at: 0x64, size: 1)! & 0x01 == 0x01)
        #expect(bus.read(at: 0x60, size: 1) == 0x55)
        #expect(bus.write(at: 0x64, size: 1, value: 0xfe) == .reset)
    }

    @Test("PC ports: isa-debug-exit at 0xf4 is optional")
    func debugExit() throws {
        let (bus, _, _, _) = try installedBus()
        #expect(bus.write(at: 0xf4, size: 4, value: 3) == .debugExit(value: 3))
        let (plainBus, _, _, _) = try installedBus(withDebugExit: false)
        #expect(plainBus.write(at: 0xf4, size: 1, value: 3) == nil)
    }

    @Test("PC ports: installing twice on one bus is an overlap")
    func installTwice() throws {
        var (bus, _, _, _) = try installedBus()
        #expect(throws: IOBus.OverlapError.self) {
            try LegacyPorts.install(
                on: &bus, serialOutput: RecordingByteSink(),
                serialInterrupt: RecordingInterruptLine(), keyboardInterrupt: RecordingInterruptLine())
        }
    }
}
