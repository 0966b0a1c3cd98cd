import Locking
import Testing

@testable import Devices

/// 2023-11-14 22:13:20 UTC, a Tuesday.
private let tuesdayEvening = 1_700_000_000

private extension CMOS {
    /// Selects `index` through port 0x70 and reads port 0x71.
    mutating func read(index: UInt8) -> UInt8 {
        _ = write(offset: Port.index, size: 1, value: UInt64(index))
        return UInt8(read(offset: Port.data, size: 1))
    }

    mutating func write(index: UInt8, value: UInt8) {
        _ = write(offset: Port.index, size: 1, value: UInt64(index))
        _ = write(offset: Port.data, size: 1, value: UInt64(value))
    }
}

@Suite("CMOS (MC146818A RTC)")
struct CMOSTests {
    @Test("MC146818A: the time registers give the clock's UTC time in BCD")
    func bcdTime() {
        var cmos = CMOS(clock: { tuesdayEvening })
        #expect(cmos.read(index: 0x00) == 0x20)  // seconds
        #expect(cmos.read(index: 0x02) == 0x13)  // minutes
        #expect(cmos.read(index: 0x04) == 0x22)  // hours, 24-hour
        #expect(cmos.read(index: 0x06) == 0x03)  // day of week, Sunday = 1
        #expect(cmos.read(index: 0x07) == 0x14)  // day of month
        #expect(cmos.read(index: 0x08) == 0x11)  // month
        #expect(cmos.read(index: 0x09) == 0x23)  // year in century
        #expect(cmos.read(index: 0x32) == 0x20)  // century (PC/AT CMOS layout)
    }

    @Test("MC146818A: the last second of the 1900s reads 99-12-31 23:59:59, century 19")
    func endOfCentury() {
        var cmos = CMOS(clock: { 946_684_799 })
        #expect(cmos.read(index: 0x09) == 0x99)
        #expect(cmos.read(index: 0x08) == 0x12)
        #expect(cmos.read(index: 0x07) == 0x31)
        #expect(cmos.read(index: 0x04) == 0x23)
        #expect(cmos.read(index: 0x02) == 0x59)
        #expect(cmos.read(index: 0x00) == 0x59)
        #expect(cmos.read(index: 0x06) == 0x06)  // Friday
        #expect(cmos.read(index: 0x32) == 0x19)
    }

    @Test("MC146818A: every read samples the clock anew")
    func clockIsSampledPerRead() {
        let now = Locked(tuesdayEvening)
        var cmos = CMOS(clock: { now.withLock { $0 } })
        #expect(cmos.read(index: 0x00) == 0x20)
        now.withLock { $0 += 7 }
        #expect(cmos.read(index: 0x00) == 0x27)
    }

    @Test("MC146818A: register A never shows UIP, B is 24-hour BCD, C is 0, D has VRT")
    func statusRegisters() {
        var cmos = CMOS(clock: { tuesdayEvening })
        #expect(cmos.read(index: 0x0a) & 0x80 == 0)
        #expect(cmos.read(index: 0x0a) == 0x26)
        cmos.write(index: 0x0a, value: 0xa6)  // a guest cannot set UIP
        #expect(cmos.read(index: 0x0a) == 0x26)
        #expect(cmos.read(index: 0x0b) == 0x02)
        cmos.write(index: 0x0b, value: 0x04)  // binary mode is not offered
        #expect(cmos.read(index: 0x0b) == 0x02)
        #expect(cmos.read(index: 0x0c) == 0x00)
        #expect(cmos.read(index: 0x0d) == 0x80)
    }

    @Test("PC/AT: index port bit 7 is the NMI mask and does not select a byte")
    func nmiBitIsMasked() {
        var cmos = CMOS(clock: { tuesdayEvening })
        #expect(cmos.read(index: 0x80 | 0x04) == 0x22)
        cmos.write(index: 0x80 | 0x40, value: 0x99)
        #expect(cmos.read(index: 0x40) == 0x99)
    }

    @Test("MC146818A: bytes outside the clock are plain RAM; writes to the time are ignored")
    func ramAndIgnoredTimeWrites() {
        var cmos = CMOS(clock: { tuesdayEvening })
        for index: UInt8 in [0x01, 0x0e, 0x10, 0x40, 0x7f] {
            #expect(cmos.read(index: index) == 0)
            cmos.write(index: index, value: index ^ 0xa5)
            #expect(cmos.read(index: index) == index ^ 0xa5)
        }
        cmos.write(index: 0x00, value: 0x45)
        cmos.write(index: 0x09, value: 0x01)
        cmos.write(index: 0x0d, value: 0x00)
        #expect(cmos.read(index: 0x00) == 0x20)
        #expect(cmos.read(index: 0x09) == 0x23)
        #expect(cmos.read(index: 0x0d) == 0x80)
    }

    @Test("PC/AT: the index port is write-only and reads as absent")
    func indexPortReadsAbsent() {
        var cmos = CMOS(clock: { tuesdayEvening })
        _ = cmos.write(offset: CMOS.Port.index, size: 1, value: 0x0a)
        #expect(cmos.read(offset: CMOS.Port.index, size: 1) == 0xff)
    }

    @Test("BCD packs tens in the high nibble and units in the low")
    func bcdEncoding() {
        #expect(CMOS.bcd(0) == 0x00)
        #expect(CMOS.bcd(9) == 0x09)
        #expect(CMOS.bcd(10) == 0x10)
        #expect(CMOS.bcd(59) == 0x59)
        #expect(CMOS.bcd(99) == 0x99)
    }
}
