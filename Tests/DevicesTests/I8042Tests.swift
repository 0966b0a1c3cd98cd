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
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        let status = controller.status()
        #expect(status & (outputBufferFull | inputBufferFull) == 0)
        #expect(status & systemFlag != 0)
    }

    @Test("i8042: command 0xfe pulses the reset line (how Linux restarts a PC)")
    func pulseResetLine() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        #expect(controller.command(0xfe) == .reset)
        // 0xff pulses no line; 0xfc pulses reset together with the A20 gate.
        #expect(controller.command(0xff) == .none)
        #expect(controller.command(0xfc) == .reset)
    }

    @Test("i8042: the self-test answers 0x55 through the output buffer")
    func selfTest() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        #expect(controller.command(0xaa) == .none)
        #expect(controller.status() & outputBufferFull != 0)
        #expect(controller.data() == 0x55)
        #expect(controller.status() & outputBufferFull == 0)
    }

    @Test("i8042: the command byte reads back what 0x60 wrote, and 0xa7/0xa8/0xad/0xae flip its disable bits")
    func commandByte() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
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
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
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
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        _ = controller.command(0xab)
        #expect(controller.data() == 0x00)
        _ = controller.command(0xa9)
        #expect(controller.data() == 0x00)
    }

    /// Every byte the controller has for the guest, read as Linux's interrupt handler
    /// reads them: while OBF is set.
    static func drain(_ controller: inout I8042) -> [UInt8] {
        var bytes: [UInt8] = []
        while controller.status() & outputBufferFull != 0 { bytes.append(controller.data()) }
        return bytes
    }

    @Test("PS/2 keyboard: atkbd's probe is answered: disable, identify (0xAB 0x41 through translation), set, enable, LEDs")
    func keyboardProbe() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        controller.send(0xf5)                                    // ATKBD_CMD_RESET_DIS
        #expect(Self.drain(&controller) == [0xfa])
        controller.send(0xf2)                                    // ATKBD_CMD_GETID
        #expect(Self.drain(&controller) == [0xfa, 0xab, 0x41])   // translated, as with XLATE set
        controller.send(0xf0)                                    // ATKBD_CMD_SSCANSET, then 0: which set?
        #expect(Self.drain(&controller) == [0xfa])
        controller.send(0x00)
        #expect(Self.drain(&controller) == [0xfa, 0x41])         // set 2, as translation shows it
        controller.send(0xf4)                                    // ATKBD_CMD_ENABLE
        #expect(Self.drain(&controller) == [0xfa])
        controller.send(0xed)                                    // ATKBD_CMD_SETLEDS, then the LEDs:
        controller.send(0x07)                                    // each byte acknowledged
        #expect(Self.drain(&controller) == [0xfa, 0xfa])
        controller.send(0xff)                                    // ATKBD_CMD_RESET_BAT
        #expect(Self.drain(&controller) == [0xfa, 0xaa])
        controller.send(0x99)                                    // nonsense: "resend"
        #expect(Self.drain(&controller) == [0xfe])
        // Without translation (command byte bit 6 clear), the identity is the keyboard's own.
        _ = controller.command(0x60)
        controller.send(0x05)
        controller.send(0xf2)
        #expect(Self.drain(&controller) == [0xfa, 0xab, 0x83])
    }

    @Test("i8042: each keyboard byte raises IRQ 1 anew: the line drops when port 0x60 is read, and rises for the next byte")
    func keyboardInterruptPerByte() {
        let line = RecordingInterruptLine()
        var controller = I8042(keyboardInterrupt: line)
        controller.send(0xf2)                                    // three bytes: ACK, 0xAB, 0x41
        #expect(line.levels == [true])
        _ = controller.data()
        _ = controller.data()
        _ = controller.data()
        #expect(line.levels == [true, false, true, false, true, false])
        // With the keyboard interrupt disabled in the command byte, bytes are polled.
        _ = controller.command(0x60)
        controller.send(0x44)
        controller.send(0xf2)
        #expect(Self.drain(&controller) == [0xfa, 0xab, 0x41])
        #expect(line.levels.count == 6)
        // Controller replies never interrupt.
        _ = controller.command(0xaa)
        #expect(controller.data() == 0x55)
        #expect(line.levels.count == 6)
    }

    @Test("PS/2 keyboard: Ctrl-Alt-Delete is pressed and released in scan code set 1 through translation, set 2 without")
    func ctrlAltDelete() {
        let line = RecordingInterruptLine()
        var controller = I8042(keyboardInterrupt: line)
        controller.press([.leftControl, .leftAlt, .delete])
        #expect(line.isHigh)
        #expect(Self.drain(&controller) == [0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d])
        _ = controller.command(0x60)
        controller.send(0x05)                                    // translation off
        controller.press([.leftControl, .leftAlt, .delete])
        #expect(Self.drain(&controller) == [0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14])
    }

    @Test("PS/2 keyboard: keys pressed while scanning is disabled, or the keyboard interface is, wait or are dropped as on hardware")
    func disabledKeyboard() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        controller.send(0xf5)                                    // scanning off
        _ = Self.drain(&controller)
        controller.press([.delete])
        #expect(Self.drain(&controller).isEmpty)
        controller.send(0xf4)                                    // scanning on
        _ = Self.drain(&controller)
        _ = controller.command(0xad)                             // keyboard interface off: bytes wait
        controller.press([.delete])
        #expect(Self.drain(&controller).isEmpty)
        _ = controller.command(0xae)
        #expect(Self.drain(&controller) == [0xe0, 0x53, 0xe0, 0xd3])
    }

    @Test("i8042: a byte sent to the (absent) mouse with 0xd4 is dropped, not taken by the keyboard")
    func noMouse() {
        var controller = I8042(keyboardInterrupt: RecordingInterruptLine())
        _ = controller.command(0xd4)
        controller.send(0xf2)                                    // the mouse's "identify"
        #expect(controller.status() & outputBufferFull == 0)
    }
}
