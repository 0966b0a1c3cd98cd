import Boot
import Testing
@testable import Devices
@testable import VMM

@Suite("The ACPI platform agrees with the device models")
struct MachinePlatformTests {
    @Test("the FADT's reset register, written as the guest would, resets the machine through the i8042")
    func resetRegister() throws {
        let reset = try #require(MachinePlatform.acpi().resetRegister)
        var bus = IOBus()
        _ = try LegacyPorts.install(on: &bus, serialOutput: CapturedOutput(), serialInterrupt: NoInterrupt(),
            keyboardInterrupt: NoInterrupt())
        #expect(bus.write(at: UInt64(reset.port), size: 1, value: UInt64(reset.value)) == .reset)
    }

    @Test("the FADT's CENTURY index is the CMOS model's century register")
    func century() throws {
        #expect(MachinePlatform.acpi().cmosCenturyIndex == CMOS.Register.century)
    }

    @Test("COM1 is described at the UART's ports and IRQ")
    func serialPort() throws {
        let com1 = try #require(MachinePlatform.acpi().isaDevices.first { $0.name == "COM1" })
        #expect(com1.resources == [.ioPorts(base: 0x3f8, length: 8), .isaIRQ(UInt8(LegacyPorts.com1IRQ))])
    }
}

struct NoInterrupt: InterruptLine {
    func setLevel(_ high: Bool) {}
}
