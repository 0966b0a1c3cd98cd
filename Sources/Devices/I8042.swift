/// The PC's keyboard controller, an Intel 8042 (ports 0x60 and 0x64), as far as guests
/// need one: with no keyboard and no mouse plugged in.
///
/// What guests use it for is the reset line: command 0xfe pulses the CPU reset, which is
/// how Linux's `reboot=k` (and its fallback when ACPI reset fails) restarts a PC.
/// Beyond that the model answers the controller commands Linux's i8042 driver sends
/// while probing, so the probe finds a controller quickly and ports with nothing behind
/// them: the self-test, the command byte, enabling and disabling the ports, and the
/// loopback commands it uses to find the mouse port.
///
/// The model raises no interrupts: nothing attached could send a byte unasked, and
/// replies to controller commands are polled through the status register's OBF bit
/// (Linux's `i8042_command` polls). Bytes written for the keyboard are dropped, as no
/// keyboard is attached; the guest's keyboard driver times out and finds none (Linux's
/// `i8042.nokbd` and `i8042.noaux` skip those probes).
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
        /// SYS: system flag, reported in the status register.
        static let systemFlag: UInt8 = 0x04
        /// EN (inverted): keyboard interface disabled.
        static let keyboardDisabled: UInt8 = 0x10
        /// EN2 (inverted): auxiliary interface disabled.
        static let auxiliaryDisabled: UInt8 = 0x20
        /// The command byte as firmware leaves it: keyboard interrupt enabled (0x01),
        /// SYS set, scan code translation on (0x40). Only SYS and the two disable bits
        /// mean anything to this model; the rest is stored and read back.
        static let reset: UInt8 = 0x45
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
        /// Commands 0xf0-0xff pulse the output port lines whose bit is 0 in the low
        /// nibble; bit 0 is the CPU reset line. 0xfe pulses reset alone.
        static let pulseOutputPort: ClosedRange<UInt8> = 0xf0...0xff
        static let pulseResetLine: UInt8 = 0x01
    }

    /// The command that resets the machine: pulse the output port with only the reset
    /// line (bit 0) low. What Linux's `reboot=k` writes to port 0x64, and the value the
    /// FADT's reset register names.
    public static let resetCommand: UInt8 = Command.pulseOutputPort.upperBound & ~Command.pulseResetLine

    /// The self-test's "passed" answer.
    static let selfTestPassed: UInt8 = 0x55
    /// An interface test's "no fault" answer.
    static let interfaceTestPassed: UInt8 = 0x00

    public let name: String
    private var commandByte = CommandByte.reset
    /// The output buffer: the byte port 0x60 reads next, and whether it is from the
    /// auxiliary port.
    private var outputBuffer: (byte: UInt8, fromAuxiliary: Bool)?
    /// Port 0x60 keeps returning the last byte once the buffer is empty.
    private var lastOutput: UInt8 = 0
    /// The command waiting for its data byte at port 0x60, if any.
    private var commandAwaitingData: UInt8?
    private var lastWriteWasCommand = false
    /// Bytes from the keyboard waiting for the output buffer (`typeKeys`).
    private var keyboardBytes: [UInt8] = []

    /// A controller after power-on: output buffer empty, nothing awaiting data.
    public init(name: String = "i8042") {
        self.name = name
    }

    /// Port 0x60 reads (and empties) the output buffer; port 0x64 reads the status register.
    public mutating func readByte(at offset: UInt64) -> UInt8 {
        switch offset {
        case Port.data:
            if let output = outputBuffer {
                lastOutput = output.byte
                outputBuffer = nil
            }
            if !keyboardBytes.isEmpty { outputBuffer = (keyboardBytes.removeFirst(), false) }
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
            return .none
        case Port.command:
            lastWriteWasCommand = true
            return execute(value)
        default:
            return .none
        }
    }

    private var status: UInt8 {
        var status = Status.keyboardNotInhibited
        if let output = outputBuffer {
            status |= Status.outputBufferFull
            if output.fromAuxiliary { status |= Status.auxiliaryData }
        }
        if commandByte & CommandByte.systemFlag != 0 { status |= Status.systemFlag }
        if lastWriteWasCommand { status |= Status.lastWriteWasCommand }
        return status
    }

    private mutating func execute(_ command: UInt8) -> DeviceEffect {
        commandAwaitingData = nil
        switch command {
        case Command.readCommandByte:
            outputBuffer = (commandByte, false)
        case Command.writeCommandByte, Command.writeKeyboardOutput, Command.writeAuxiliaryOutput:
            commandAwaitingData = command
        case Command.disableAuxiliary:
            commandByte |= CommandByte.auxiliaryDisabled
        case Command.enableAuxiliary:
            commandByte &= ~CommandByte.auxiliaryDisabled
        case Command.testAuxiliary, Command.testKeyboard:
            outputBuffer = (Self.interfaceTestPassed, false)
        case Command.selfTest:
            outputBuffer = (Self.selfTestPassed, false)
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
            // A byte for the keyboard, and there is no keyboard.
            return
        }
        commandAwaitingData = nil
        switch command {
        case Command.writeCommandByte:
            commandByte = value
        case Command.writeKeyboardOutput:
            outputBuffer = (value, false)
        default:  // Command.writeAuxiliaryOutput
            outputBuffer = (value, true)
        }
    }
}

extension I8042 {
    /// Scan codes of the keys `typeKeys` knows, in the two sets a keyboard may speak
    /// (IBM PC AT Technical Reference, "Keyboard Scan Codes"): set 2 is what the keyboard
    /// sends; set 1 is what the controller hands the CPU when the command byte's XLATE
    /// bit (0x40) asks it to translate, as firmware leaves it. A key's break code is its
    /// make code with 0x80 set (set 1) or behind 0xf0 (set 2); 0xe0 marks extended keys.
    public enum Key: Sendable, CaseIterable {
        case leftControl, leftAlt, delete

        /// The make code: (set 1, set 2).
        var make: (set1: [UInt8], set2: [UInt8]) {
            switch self {
            case .leftControl: return ([0x1d], [0x14])
            case .leftAlt: return ([0x38], [0x11])
            case .delete: return ([0xe0, 0x53], [0xe0, 0x71])
            }
        }
    }

    /// The command byte's XLATE bit: translate set 2 to set 1.
    static let translateBit: UInt8 = 0x40

    /// Presses `keys` in order, then releases them in reverse, as a keyboard would send
    /// them: the make and break codes go to the output buffer one at a time, each read
    /// of port 0x60 bringing the next. Returns whether a byte is now waiting, so the
    /// caller raises the keyboard interrupt (IRQ 1). Ctrl-Alt-Del is
    /// `[.leftControl, .leftAlt, .delete]`.
    public mutating func typeKeys(_ keys: [Key]) -> Bool {
        let translated = commandByte & Self.translateBit != 0
        var bytes: [UInt8] = []
        for key in keys { bytes += translated ? key.make.set1 : key.make.set2 }
        for key in keys.reversed() {
            let make = translated ? key.make.set1 : key.make.set2
            let prefix = make.count > 1 ? [make[0]] : []
            bytes += translated ? prefix + [make.last! | 0x80] : prefix + [0xf0, make.last!]
        }
        keyboardBytes += bytes
        if outputBuffer == nil { outputBuffer = (keyboardBytes.removeFirst(), false) }
        return true
    }
}
