import Glibc

/// The PC's real-time clock and CMOS RAM, a Motorola MC146818A at ports 0x70-0x71.
///
/// Port 0x70 selects one of 128 bytes (its bit 7 masks NMI on a PC, which a virtual
/// machine has no reason to honour); port 0x71 reads or writes the selected byte.
/// Bytes 0x00-0x0d are the clock's registers (MC146818A datasheet, "Address Map"), the
/// rest battery-backed RAM that firmware uses for its settings.
///
/// The clock is the host's: every read of a time register converts the injected clock
/// to UTC, so the guest never sees the clock mid-update and writes to the time
/// registers (`hwclock --systohc`, or Linux's periodic NTP sync) are ignored. The data
/// format is fixed at what Linux's rtc-cmos driver wants: BCD, 24-hour.
public struct CMOS: ByteRegisterDevice {
    /// A source of the current time: seconds since 1970-01-01 00:00:00 UTC.
    public typealias Clock = @Sendable () -> Int

    /// The host's clock (`time(2)`).
    public static let systemClock: Clock = { Int(time(nil)) }

    /// Offsets from the base port 0x70.
    enum Port {
        /// The index (address) register, write-only.
        static let index: UInt64 = 0
        /// The data register: the byte the index selects.
        static let data: UInt64 = 1
    }

    /// Index port bit 7: NMI disable on a PC, not part of the index.
    static let nmiDisable: UInt8 = 0x80

    /// The MC146818A's 64 bytes, extended to 128 by the PC's CMOS RAM.
    static let size = 128

    /// Byte indices of the clock registers (MC146818A, "Address Map").
    enum Register {
        static let seconds: UInt8 = 0x00
        static let minutes: UInt8 = 0x02
        static let hours: UInt8 = 0x04
        /// Day of the week, 1 (Sunday) to 7.
        static let dayOfWeek: UInt8 = 0x06
        static let dayOfMonth: UInt8 = 0x07
        static let month: UInt8 = 0x08
        /// The year within the century, 0-99.
        static let year: UInt8 = 0x09
        /// Register A: update in progress and the time base and rate selects.
        static let a: UInt8 = 0x0a
        /// Register B: interrupt enables and the data format.
        static let b: UInt8 = 0x0b
        /// Register C: interrupt flags, cleared by reading.
        static let c: UInt8 = 0x0c
        /// Register D: valid RAM and time.
        static let d: UInt8 = 0x0d
        /// The century in BCD: not the MC146818A's but the IBM PC/AT's CMOS layout (IBM
        /// PC AT Technical Reference, "CMOS RAM Address Map"); ACPI's FADT CENTURY field
        /// usually points here.
        static let century: UInt8 = 0x32
    }

    /// The CMOS index of the century (for the FADT's CENTURY field).
    public static let centuryIndex = Register.century
    // Bytes 0x01, 0x03 and 0x05 are the seconds, minutes and hours alarm: plain RAM here.

    /// Register A bit 7, UIP: update in progress. Never set, so a guest that waits for
    /// it to clear before reading the time never waits.
    static let updateInProgress: UInt8 = 0x80

    /// Register A after firmware set-up: DV2-DV0 = 010 (32.768 kHz time base), RS3-RS0 =
    /// 0110 (1.024 kHz periodic interrupt rate). Stored and read back, but unused.
    static let registerAReset: UInt8 = 0x26

    /// Register B, fixed: bit 1 (24/12) set for 24-hour mode, bit 2 (DM) clear for BCD,
    /// every interrupt enable clear (this RTC raises no interrupts).
    static let registerBFixed: UInt8 = 0x02

    /// Register D bit 7, VRT: valid RAM and time (the battery is good).
    static let validRAMAndTime: UInt8 = 0x80

    public let name: String
    private let clock: Clock
    /// The byte the index port selected.
    private var index: UInt8 = 0
    /// The CMOS RAM; the clock registers' slots hold nothing but register A.
    private var ram: [UInt8]

    /// A clock reading the time from `clock`, with the RAM zeroed (no floppy drives,
    /// no firmware settings).
    public init(name: String = "cmos", clock: @escaping Clock = CMOS.systemClock) {
        self.name = name
        self.clock = clock
        self.ram = [UInt8](repeating: 0, count: Self.size)
        ram[Int(Register.a)] = Self.registerAReset
    }

    /// Port 0x71 reads the byte port 0x70 selected; port 0x70 itself is write-only on the
    /// PC/AT and reads as absent.
    public mutating func readByte(at offset: UInt64) -> UInt8 {
        switch offset {
        case Port.data:
            return readSelectedByte()
        default:
            // The index register is write-only on the PC/AT.
            return Self.absentByte
        }
    }

    /// Port 0x70 selects a byte (bit 7, NMI disable, is dropped); port 0x71 writes it.
    public mutating func writeByte(_ value: UInt8, at offset: UInt64) -> DeviceEffect {
        switch offset {
        case Port.index:
            index = value & ~Self.nmiDisable
        case Port.data:
            writeSelectedByte(value)
        default:
            break
        }
        return .none
    }

    private func readSelectedByte() -> UInt8 {
        switch index {
        case Register.seconds, Register.minutes, Register.hours, Register.dayOfWeek,
            Register.dayOfMonth, Register.month, Register.year, Register.century:
            return timeRegister(index, of: utcNow())
        case Register.a:
            return ram[Int(index)] & ~Self.updateInProgress
        case Register.b:
            return Self.registerBFixed
        case Register.c:
            return 0
        case Register.d:
            return Self.validRAMAndTime
        default:
            return ram[Int(index)]
        }
    }

    private mutating func writeSelectedByte(_ value: UInt8) {
        switch index {
        case Register.seconds, Register.minutes, Register.hours, Register.dayOfWeek,
            Register.dayOfMonth, Register.month, Register.year, Register.century,
            Register.b, Register.c, Register.d:
            // The time is the host's; B's format is fixed; C and D are read-only.
            break
        case Register.a:
            ram[Int(index)] = value & ~Self.updateInProgress
        default:
            ram[Int(index)] = value
        }
    }

    /// The clock's current time broken down in UTC.
    private func utcNow() -> tm {
        var seconds = time_t(clock())
        var fields = tm()
        _ = gmtime_r(&seconds, &fields)
        return fields
    }

    /// The BCD value of time register `register` at `time`.
    private func timeRegister(_ register: UInt8, of time: tm) -> UInt8 {
        let value: Int32 =
            switch register {
            case Register.seconds: time.tm_sec
            case Register.minutes: time.tm_min
            case Register.hours: time.tm_hour
            case Register.dayOfWeek: time.tm_wday + 1  // tm_wday counts from Sunday = 0
            case Register.dayOfMonth: time.tm_mday
            case Register.month: time.tm_mon + 1  // tm_mon counts from January = 0
            case Register.year: time.tm_year % 100  // tm_year counts from 1900
            default: (time.tm_year + 1900) / 100  // Register.century
            }
        return Self.bcd(value)
    }

    /// Binary-coded decimal: the tens digit in the high nibble, the units in the low.
    static func bcd(_ value: Int32) -> UInt8 {
        UInt8((value / 10) << 4 | (value % 10))
    }
}
