/// The sleep control and status registers of a hardware-reduced ACPI machine (ACPI 6.5,
/// 4.8.3.7 "Sleep Control and Status Registers"), one byte each at consecutive ports.
/// They are how such a machine powers off: the OS looks up the `\_S5` object for the
/// soft-off sleep type and writes it, with SLP_EN, to the control register
/// (ACPI 6.5, 7.4.2 and 16.1.7; Linux's drivers/acpi/acpica/hwxfsleep.c,
/// `acpi_hw_extended_sleep`).
///
/// The machine has one sleep state, S5: any other sleep type written with SLP_EN is
/// ignored (the DSDT offers none). The status register's WAK_STS is never set: a machine
/// that never sleeps never wakes.
public struct ACPISleepRegisters: ByteRegisterDevice {
    /// Offsets of the two registers from the base port.
    public enum Register {
        /// SLEEP_CONTROL_REG: write-only.
        public static let control: UInt64 = 0
        /// SLEEP_STATUS_REG: reads WAK_STS; writing 1 to it clears it.
        public static let status: UInt64 = 1
    }
    /// Both registers.
    public static let size: UInt64 = 2

    /// Sleep control register bits 4:2, SLP_TYPx, and bit 5, SLP_EN (Table 4.20).
    static let sleepTypeShift: UInt8 = 2
    static let sleepTypeMask: UInt8 = 0x7 << 2
    static let sleepEnable: UInt8 = 1 << 5

    /// The SLP_TYPx value of S5, soft off, which the DSDT's `\_S5` package gives. Any value
    /// of 0-7 would do: the hardware defines it and the OS only passes it back.
    public static let softOffSleepType: UInt8 = 5

    public let name: String

    /// The registers, named `name` in messages and statistics.
    public init(name: String = "acpi-sleep") {
        self.name = name
    }

    /// Both registers read 0: WAK_STS clear (and the control register is write-only).
    public mutating func readByte(at offset: UInt64) -> UInt8 {
        offset < Self.size ? 0 : Self.absentByte
    }

    /// SLP_EN with the S5 sleep type powers the machine off.
    public mutating func writeByte(_ value: UInt8, at offset: UInt64) -> DeviceEffect {
        guard offset == Register.control, value & Self.sleepEnable != 0 else { return .none }
        let sleepType = (value & Self.sleepTypeMask) >> Self.sleepTypeShift
        return sleepType == Self.softOffSleepType ? .powerOff : .none
    }
}
