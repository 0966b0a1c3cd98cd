/// The PC's keyboard controller, an Intel 8042 (ports 0x60 and 0x64), with a PS/2
/// keyboard (`PS2Keyboard`) on its first port and nothing on its second (mouse) port.
///
/// Guests use it for three things. The reset line: command 0xfe pulses the CPU reset,
/// how Linux restarts a PC (through the FADT's reset register, with `reboot=k`, and from
/// the reset vector's code, `ResetVector`). The
/// keyboard: Linux's i8042 and atkbd drivers probe the controller and the keyboard and
/// bind them, so the machine can press Ctrl-Alt-Delete for the user. And the probes in
/// between: the self-test, the command byte, enabling and disabling the ports, the
/// loopback commands.
///
/// Interrupts: the keyboard's bytes raise IRQ 1 while the command byte enables it (bit
/// 0), one byte at a time, as the hardware does: a byte moves into the output buffer,
/// the line goes high; the guest reads port 0x60, the line drops, and the next byte
/// follows. Replies to controller commands are polled through the status register's OBF
/// bit (Linux's `i8042_command` polls) and raise no interrupt. The mouse port has no
/// interrupt: nothing is plugged in there, and IRQ 12 serves virtio-mmio devices; the
/// ACPI tables list no mouse, so Linux does not probe one.
///
/// Port 0x60 is offset `Port.data` and port 0x64 offset `Port.command`, so the machine
/// registers one slot at both ports (`IOBus.register(_:at:offset:)`). Command and bit
/// names follow Linux's drivers/input/serio/i8042.h and the IBM PC AT Technical
/// Reference, "Keyboard Controller".
public struct I8042: ByteRegisterDevice {
    /// Offsets of the two ports from 0x60.
    public enum Port {
        /// Port 0x60: the output buffer (read) and the input buffer for data (write).
        public static let data: UInt64 = 0
        /// Port 0x64: the status register (read) and the input buffer for commands (write).
        public static let command: UInt64 = 4
    }

    /// Status register bits (port 0x64, read).
    enum Status {
        /// OBF: output buffer full, a byte waits at port 0x60.
        static let outputBufferFull: UInt8 = 0x01
        // IBF (0x02), input buffer full, is never set: writes are consumed at once.
        /// SYS: system flag, a copy of the command byte's SYS bit (POST passed).
        static let systemFlag: UInt8 = 0x04
        /// A2: the last write was a command (port 0x64) rather than data (port 0x60).
        static let lastWriteWasCommand: UInt8 = 0x08
        /// INH: 1 when the keyboard is not inhibited by the keylock switch.
        static let keyboardNotInhibited: UInt8 = 0x10
        /// AUXB: the byte in the output buffer came from the auxiliary (mouse) port.
        static let auxiliaryData: UInt8 = 0x20
    }

    /// Command byte ("controller configuration byte") bits.
    enum CommandByte {
        /// INT: interrupt (IRQ 1) when a keyboard byte is in the output buffer.
        static let keyboardInterrupt: UInt8 = 0x01
        /// SYS: system flag, reported in the status register.
        static let systemFlag: UInt8 = 0x04
        /// EN (inverted): keyboard interface disabled.
        static let keyboardDisabled: UInt8 = 0x10
        /// EN2 (inverted): auxiliary interface disabled.
        static let auxiliaryDisabled: UInt8 = 0x20
        /// XLATE: translate the keyboard's scan code set 2 to set 1.
        static let translate: UInt8 = 0x40
        /// The command byte as firmware leaves it: keyboard interrupt enabled, SYS set,
        /// scan code translation on. The mouse interrupt bit (0x02) is stored and read
        /// back; there is no mouse to interrupt.
        static let reset: UInt8 = keyboardInterrupt | systemFlag | translate
    }

    /// Controller commands (port 0x64, write).
    enum Command {
        /// Read the command byte into the output buffer.
        static let readCommandByte: UInt8 = 0x20
        /// Write the next data byte to the command byte.
        static let writeCommandByte: UInt8 = 0x60
        static let disableAuxiliary: UInt8 = 0xa7
        static let enableAuxiliary: UInt8 = 0xa8
        /// Test the auxiliary interface's clock and data lines; 0x00 means no fault.
        static let testAuxiliary: UInt8 = 0xa9
        /// Controller self-test; answers `selfTestPassed`.
        static let selfTest: UInt8 = 0xaa
        /// Test the keyboard interface's clock and data lines; 0x00 means no fault.
        static let testKeyboard: UInt8 = 0xab
        static let disableKeyboard: UInt8 = 0xad
        static let enableKeyboard: UInt8 = 0xae
        /// Put the next data byte in the output buffer as if the keyboard sent it.
        static let writeKeyboardOutput: UInt8 = 0xd2
        /// Put the next data byte in the output buffer as if the mouse sent it (Linux's
        /// I8042_CMD_AUX_LOOP, with which it looks for an active multiplexer and an
        /// auxiliary port).
        static let writeAuxiliaryOutput: UInt8 = 0xd3
        /// Send the next data byte to the mouse (Linux's I8042_CMD_AUX_SEND). There is no
        /// mouse: the byte is dropped.
        static let writeAuxiliary: UInt8 = 0xd4
        /// Commands 0xf0-0xff pulse the output port lines whose bit is 0 in the low
        /// nibble; bit 0 is the CPU reset line. 0xfe pulses reset alone.
        static let pulseOutputPort: ClosedRange<UInt8> = 0xf0...0xff
        static let pulseResetLine: UInt8 = 0x01
    }

    /// The command that resets the machine: pulse the output port with only the reset
    /// line (bit 0) low. What Linux writes to port 0x64 to restart a PC, and the value the
    /// FADT's reset register names.
    public static let resetCommand: UInt8 = Command.pulseOutputPort.upperBound & ~Command.pulseResetLine

    /// The self-test's "passed" answer.
    static let selfTestPassed: UInt8 = 0x55
    /// An interface test's "no fault" answer.
    static let interfaceTestPassed: UInt8 = 0x00

    public let name: String
    private var commandByte = CommandByte.reset
    /// The keyboard on the first port.
    private var keyboard = PS2Keyboard()
    /// IRQ 1, driven while a keyboard byte waits and the command byte enables it.
    private let keyboardInterrupt: any InterruptLine
    private var keyboardInterruptLevel = false
    /// Who put a byte in the output buffer: the controller (a command's reply), the
    /// keyboard, or the auxiliary port (a loopback byte).
    enum Source { case controller, keyboard, auxiliary }
    /// The output buffer: the byte port 0x60 reads next, and where it came from.
    private var outputBuffer: (byte: UInt8, source: Source)?
    /// Port 0x60 keeps returning the last byte once the buffer is empty.
    private var lastOutput: UInt8 = 0
    /// The command waiting for its data byte at port 0x60, if any.
    private var commandAwaitingData: UInt8?
    private var lastWriteWasCommand = false

    /// A controller after power-on: output buffer empty, nothing awaiting data, its
    /// keyboard's bytes raising `keyboardInterrupt` (IRQ 1).
    public init(name: String = "i8042", keyboardInterrupt: any InterruptLine) {
        self.name = name
        self.keyboardInterrupt = keyboardInterrupt
    }

    /// Presses `keys` on the keyboard, then releases them (Ctrl-Alt-Delete, for one);
    /// their scan codes reach the guest as a keyboard's would.
    public mutating func press(_ keys: [PS2Keyboard.Key]) {
        keyboard.press(keys, translated: translates)
        deliverKeyboardBytes()
    }

    /// Port 0x60 reads (and empties) the output buffer; port 0x64 reads the status register.
    public mutating func readByte(at offset: UInt64) -> UInt8 {
        switch offset {
        case Port.data:
            if let output = outputBuffer {
                lastOutput = output.byte
                outputBuffer = nil
                // The line drops with the byte taken, before the next byte raises it
                // again: IRQ 1 is edge-triggered, and each byte needs its own edge.
                setKeyboardInterrupt(false)
                deliverKeyboardBytes()
            }
            return lastOutput
        case Port.command:
            return status
        default:
            return Self.absentByte
        }
    }

    /// Port 0x60 takes data (for the keyboard, or a command's parameter); port 0x64 takes
    /// a controller command. Command 0xfe pulses the reset line: `.reset`.
    public mutating func writeByte(_ value: UInt8, at offset: UInt64) -> DeviceEffect {
        switch offset {
        case Port.data:
            lastWriteWasCommand = false
            writeData(value)
            deliverKeyboardBytes()
            return .none
        case Port.command:
            lastWriteWasCommand = true
            let effect = execute(value)
            deliverKeyboardBytes()
            return effect
        default:
            return .none
        }
    }

    private var status: UInt8 {
        var status = Status.keyboardNotInhibited
        if let output = outputBuffer {
            status |= Status.outputBufferFull
            if output.source == .auxiliary { status |= Status.auxiliaryData }
        }
        if commandByte & CommandByte.systemFlag != 0 { status |= Status.systemFlag }
        if lastWriteWasCommand { status |= Status.lastWriteWasCommand }
        return status
    }

    private var translates: Bool { commandByte & CommandByte.translate != 0 }

    /// Moves the keyboard's next byte into an empty output buffer, unless the keyboard
    /// interface is disabled, and drives IRQ 1 to match: high while a keyboard byte waits
    /// and the command byte enables the interrupt.
    private mutating func deliverKeyboardBytes() {
        if outputBuffer == nil, commandByte & CommandByte.keyboardDisabled == 0, let byte = keyboard.takePending() {
            outputBuffer = (byte, .keyboard)
        }
        setKeyboardInterrupt(outputBuffer?.source == .keyboard && commandByte & CommandByte.keyboardInterrupt != 0)
    }

    /// Drives IRQ 1, telling the line only of changes.
    private mutating func setKeyboardInterrupt(_ raised: Bool) {
        if raised != keyboardInterruptLevel {
            keyboardInterruptLevel = raised
            keyboardInterrupt.setLevel(raised)
        }
    }

    private mutating func execute(_ command: UInt8) -> DeviceEffect {
        commandAwaitingData = nil
        switch command {
        case Command.readCommandByte:
            outputBuffer = (commandByte, .controller)
        case Command.writeCommandByte, Command.writeKeyboardOutput, Command.writeAuxiliaryOutput,
            Command.writeAuxiliary:
            commandAwaitingData = command
        case Command.disableAuxiliary:
            commandByte |= CommandByte.auxiliaryDisabled
        case Command.enableAuxiliary:
            commandByte &= ~CommandByte.auxiliaryDisabled
        case Command.testAuxiliary, Command.testKeyboard:
            outputBuffer = (Self.interfaceTestPassed, .controller)
        case Command.selfTest:
            outputBuffer = (Self.selfTestPassed, .controller)
        case Command.disableKeyboard:
            commandByte |= CommandByte.keyboardDisabled
        case Command.enableKeyboard:
            commandByte &= ~CommandByte.keyboardDisabled
        case Command.pulseOutputPort where command & Command.pulseResetLine == 0:
            return .reset
        default:
            // Other commands (password, output port access, ...) concern hardware a
            // virtual machine does not have; a controller ignores what it does not know.
            break
        }
        return .none
    }

    private mutating func writeData(_ value: UInt8) {
        guard let command = commandAwaitingData else {
            // A byte for the keyboard. Sending it enables the keyboard interface, as an
            // 8042 does: the keyboard could not answer otherwise.
            commandByte &= ~CommandByte.keyboardDisabled
            keyboard.receive(value, translated: translates)
            return
        }
        commandAwaitingData = nil
        switch command {
        case Command.writeCommandByte:
            commandByte = value
        case Command.writeKeyboardOutput:
            outputBuffer = (value, .keyboard)
        case Command.writeAuxiliaryOutput:
            outputBuffer = (value, .auxiliary)
        default:  // Command.writeAuxiliary: no mouse to take it
            break
        }
    }
}
