import Boot
import Devices

/// The machine's devices as its ACPI tables describe them, built from the device models'
/// own constants so the tables cannot disagree with the devices.
enum MachinePlatform {
    /// The legacy devices every SwiftVMM machine has. `pciHostBridge` and
    /// `virtioMMIODevices` describe the machine's other devices, when it has them.
    static func acpi(
        pciHostBridge: ACPIPlatform.PCIHostBridge? = nil,
        virtioMMIODevices: [ACPIPlatform.VirtioMMIODevice] = []
    ) -> ACPIPlatform {
        ACPIPlatform(
            isaDevices: [
                // PNP0501: a 16550A-compatible UART.
                .init(name: "COM1", hardwareID: "PNP0501", uniqueID: 1, resources: [
                    .ioPorts(base: UInt16(LegacyPorts.com1.base), length: UInt8(LegacyPorts.com1.length)),
                    .isaIRQ(UInt8(LegacyPorts.com1IRQ)),
                ]),
                // PNP0303: an IBM enhanced keyboard controller (8042) with its keyboard's
                // IRQ. No mouse (PNP0F13) is listed: none is plugged in, and Linux then
                // leaves the mouse port alone (drivers/input/serio/i8042-acpipnpio.h).
                .init(name: "PS2K", hardwareID: "PNP0303", uniqueID: 0, resources: [
                    .ioPorts(base: UInt16(LegacyPorts.i8042Data.base), length: UInt8(LegacyPorts.i8042Data.length)),
                    .ioPorts(base: UInt16(LegacyPorts.i8042Command.base), length: UInt8(LegacyPorts.i8042Command.length)),
                    .isaIRQ(UInt8(LegacyPorts.keyboardIRQ)),
                ]),
                // PNP0B00: an AT real-time clock. The CMOS model raises no interrupt
                // (no alarm, no periodic or update interrupt), so no IRQ is listed: Linux's
                // rtc-cmos then binds it without one, and reads the time by polling.
                .init(name: "RTC0", hardwareID: "PNP0B00", uniqueID: 0, resources: [
                    .ioPorts(base: UInt16(LegacyPorts.cmos.base), length: UInt8(LegacyPorts.cmos.length)),
                ]),
            ],
            pciHostBridge: pciHostBridge,
            virtioMMIODevices: virtioMMIODevices,
            resetRegister: .init(port: UInt16(LegacyPorts.i8042Command.base), value: I8042.resetCommand),
            sleepRegisters: .init(
                controlPort: UInt16(LegacyPorts.acpiSleep.base + ACPISleepRegisters.Register.control),
                statusPort: UInt16(LegacyPorts.acpiSleep.base + ACPISleepRegisters.Register.status),
                softOffType: ACPISleepRegisters.softOffSleepType),
            cmosCenturyIndex: CMOS.centuryIndex)
    }
}
