import Testing

@testable import Devices

private typealias Port = I8042.Port

private extension I8042 {
    mutating func status() -> UInt8 { UInt8(read(offset: Port.command, size: 1)) }
    mutating func data() -> UInt8 { UInt8(read(offset: Port.data, size: 1)) }
    mutating func command(_ value: UInt8) -> DeviceEffect {
        write(offset: Port.command, size: 1, value: UInt64(value))
    }
    mutating func send(_ value: UInt8) {
        #expect(write(offset: Port.data, size: 1, value: UInt64(value)) == .none)
    }
}

/// Status bits, as Linux's drivers/input/serio/i8042.h names them.
private let outputBufferFull: UInt8 = 0x01
private let inputBufferFull: UInt8 = 0x02
private let systemFlag: UInt8 = 0x04
private let auxiliaryData: UInt8 = 0x20

@Suite("I8042 (keyboard controller)")
struct I8042Tests {
    @Test("i8042: an idle controller has both buffers empty and the system flag set")
    func idleStatus() {
        var controller = I8042()
        let status = controller.status()
        #expect(status & (outputBufferFull | inputBufferFull) == 0)
        #expect(status & systemFlag != 0)
    }

    @Test("i8042: command 0xfe pulses the reset line (reboot=k)")
    func pulseResetLine() {
        var controller = I8042()
        #expect(controller.command(0xfe) == .reset)
        // 0xff pulses no line; 0xfc pulses reset together with the A20 gate.
        #expect(controller.command(0xff) == .none)
        #expect(controller.command(0xfc) == .reset)
    }

    @Test("i8042: the self-test answers 0x55 through the output buffer")
    func selfTest() {
        var controller = I8042()
        #expect(controller.command(0xaa) == .none)
        #expect(controller.status() & outputBufferFull != 0)
        #expect(controller.data() == 0x55)
        #expect(controller.status() & outputBufferFull == 0)
    }

    @Test("i8042: the command byte reads back what 0x60 wrote, and 0xa7/0xa8/0xad/0xae flip its disable bits")
    func commandByte() {
        var controller = I8042()
        #expect(controller.command(0x20) == .none)
        #expect(controller.data() == 0x45)
        #expect(controller.command(0x60) == .none)
        controller.send(0x30)
        #expect(controller.command(0x20) == .none)
        #expect(controller.data() == 0x30)
        #expect(controller.status() & systemFlag == 0, "SYS follows the command byte")

        _ = controller.command(0xa8)  // enable aux: clears bit 5
        _ = controller.command(0xae)  // enable keyboard: clears bit 4
        _ = controller.command(0x20)
        #expect(controller.data() == 0x00)
        _ = controller.command(0xa7)
        _ = controller.command(0xad)
        _ = controller.command(0x20)
        #expect(controller.data() == 0x30)
    }

    @Test("i8042: the aux loopback command echoes the next byte marked as mouse data")
    func auxiliaryLoopback() {
        var controller = I8042()
        _ = controller.command(0xd3)
        controller.send(0x5a)
        #expect(controller.status() & (outputBufferFull | auxiliaryData) == outputBufferFull | auxiliaryData)
        #expect(controller.data() == 0x5a)
        _ = controller.command(0xd2)
        controller.send(0xa5)
        #expect(controller.status() & (outputBufferFull | auxiliaryData) == outputBufferFull)
        #expect(controller.data() == 0xa5)
    }

    @Test("i8042: interface tests report no fault")
    func interfaceTests() {
        var controller = I8042()
        _ = controller.command(0xab)
        #expect(controller.data() == 0x00)
        _ = controller.command(0xa9)
        #expect(controller.data() == 0x00)
    }

    @Test("i8042: bytes for the absent keyboard are dropped and nothing answers")
    func noKeyboard() {
        var controller = I8042()
        controller.send(0xf2)  // the keyboard's "identify"
        #expect(controller.status() & outputBufferFull == 0)
    }
}
