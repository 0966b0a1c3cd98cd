/// A 16550A UART, the PC's serial port (COM1 is at ports 0x3f8-0x3ff, IRQ 4).
///
/// Behaviour follows the PC16550D datasheet (National Semiconductor, June 1995); the
/// register map and bit names are in `Serial8250+Registers.swift`. Linux's 8250 driver
/// probes a port by exercising IER, the loopback mode and the FIFO bits, and this model
/// answers those probes as a 16550A does, so the guest drives it as `ttyS0`.
///
/// What a UART with no wire simplifies:
/// - Transmit is instantaneous: a THR write goes straight to the `ByteSink`, so
///   LSR.THRE and LSR.TEMT are always set and the transmit FIFO is always empty.
/// - Receive is fed by the host through `receive(_:)`. The receive FIFO holds
///   `receiveBufferCapacity` bytes rather than the chip's 16 (see there); the
///   received-data interrupt is raised whenever any byte waits, as if the FIFO trigger
///   level were always 1, so the chip's character-timeout interrupt is never needed.
/// - The baud rate divisor, word length, parity and stop bits are stored and read back
///   but change nothing.
///
/// The interrupt line follows the UART's INTR pin: high while an enabled interrupt is
/// pending, low otherwise, changed only on transitions.
///
/// OUT2: on a PC, MCR.OUT2 gates INTR on its way to the PIC, and a driver that leaves
/// OUT2 clear gets no interrupts. This model does not gate, as QEMU's and kvmtool's
/// 8250s do not: Linux sets OUT2 whenever it wants interrupts (serial8250_do_startup),
/// so it cannot tell the difference, while a guest that forgets OUT2 still works.
public struct Serial8250: ByteRegisterDevice {
    /// The depth of the 16550A's own receive FIFO, for reference.
    public static let hardwareFIFODepth = 16

    /// How many received bytes the model buffers while FIFOs are enabled. Deeper than
    /// the chip's 16 so a paste needs fewer host retries; invisible to a driver that
    /// reads RBR while LSR.DR is set, as Linux's does. With FIFOs disabled (16450
    /// "character mode") the receiver holds one byte, as the chip does.
    public static let receiveBufferCapacity = 64

    /// The divisor latch's value after reset: the datasheet leaves it undefined;
    /// 12 gives 9600 baud from the PC's 1.8432 MHz clock (1843200 / (16 * 12)).
    static let resetDivisor: UInt16 = 12

    /// The modem inputs outside loopback: CTS, DSR and DCD asserted, as from a modem
    /// that is on line with carrier present, so software that waits for them proceeds.
    static let connectedModemInputs: UInt8 =
        MSR.clearToSend | MSR.dataSetReady | MSR.dataCarrierDetect

    public let name: String
    private let output: any ByteSink
    private let interrupt: any InterruptLine

    /// DLL and DLM: the baud rate divisor.
    private var divisorLatch = Serial8250.resetDivisor
    /// IER.
    private var interruptEnable: UInt8 = 0
    /// LCR.
    private var lineControl: UInt8 = 0
    /// MCR.
    private var modemControl: UInt8 = 0
    /// SCR.
    private var scratch: UInt8 = 0
    /// FCR bit 0, reported in IIR bits 6-7.
    private var fifosEnabled = false
    /// The receive FIFO (or, with FIFOs disabled, RBR), oldest byte first.
    private var receiveBuffer: [UInt8] = []
    /// LSR.OE, latched until LSR is read.
    private var overrunError = false
    /// The THR-empty interrupt condition: set when THR empties (at once, after every
    /// THR write) or when IER.ETBEI is turned on; cleared by an IIR read that reports it.
    private var transmitterEmptyInterruptPending = false
    /// MSR bits 4-7: the modem inputs as last sampled.
    private var modemInputs = Serial8250.connectedModemInputs
    /// MSR bits 0-3: changes of the modem inputs since MSR was last read.
    private var modemInputDeltas: UInt8 = 0
    /// The level last driven on the interrupt line.
    private var interruptLevel = false

    /// A UART in its reset state whose transmitter writes to `output` and whose INTR
    /// pin drives `interrupt`.
    public init(name: String = "serial0", output: any ByteSink, interrupt: any InterruptLine) {
        self.name = name
        self.output = output
        self.interrupt = interrupt
    }

    // MARK: Host side

    /// Delivers bytes from the host (the console's input) to the receiver. Returns how
    /// many were accepted: the rest did not fit in the receive FIFO and should be
    /// offered again later, so host input is never lost to an overrun.
    ///
    /// The host sends only while the guest asserts MCR.DTR, "data terminal ready",
    /// RS-232's signal that the computer is ready to receive (a terminal that honours
    /// DTR/DSR handshaking). Input that arrives earlier waits on the host instead of
    /// being dropped by the driver's start-up, which clears the receive FIFO: Linux
    /// raises DTR when a program opens the port (tty_port_raise_dtr_rts), after its
    /// 8250 driver has reset the UART. In loopback mode the receiver is disconnected
    /// from the line, so nothing is accepted until the guest leaves it.
    public mutating func receive(_ bytes: [UInt8]) -> Int {
        guard isTerminalReady, !isLoopback else { return 0 }
        let accepted = min(bytes.count, receiveCapacity - receiveBuffer.count)
        receiveBuffer.append(contentsOf: bytes.prefix(accepted))
        updateInterruptLine()
        return accepted
    }

    // MARK: Guest side

    /// Reads register `offset` (PC16550D, Table II "Summary of Registers"): with LCR.DLAB set,
    /// offsets 0 and 1 are the divisor latch; reading RBR, IIR, LSR or MSR has the side
    /// effects the datasheet gives (taking a byte, clearing an interrupt or delta bits).
    public mutating func readByte(at offset: UInt64) -> UInt8 {
        switch offset {
        case Register.data where divisorLatchSelected:
            return UInt8(truncatingIfNeeded: divisorLatch)
        case Register.data:
            return readReceiverBuffer()
        case Register.interruptEnable where divisorLatchSelected:
            return UInt8(truncatingIfNeeded: divisorLatch >> 8)
        case Register.interruptEnable:
            return interruptEnable
        case Register.interruptIdentification:
            return readInterruptIdentification()
        case Register.lineControl:
            return lineControl
        case Register.modemControl:
            return modemControl
        case Register.lineStatus:
            return readLineStatus()
        case Register.modemStatus:
            return readModemStatus()
        case Register.scratch:
            return scratch
        default:
            return Self.absentByte
        }
    }

    /// Writes register `offset` (PC16550D, Table II): THR sends the byte to the output at
    /// once; with LCR.DLAB set, offsets 0 and 1 are the divisor latch.
    public mutating func writeByte(_ value: UInt8, at offset: UInt64) -> DeviceEffect {
        switch offset {
        case Register.data where divisorLatchSelected:
            divisorLatch = (divisorLatch & 0xff00) | UInt16(value)
        case Register.data:
            writeTransmitterHoldingRegister(value)
        case Register.interruptEnable where divisorLatchSelected:
            divisorLatch = (divisorLatch & 0x00ff) | (UInt16(value) << 8)
        case Register.interruptEnable:
            writeInterruptEnable(value)
        case Register.interruptIdentification:
            writeFIFOControl(value)
        case Register.lineControl:
            lineControl = value
        case Register.modemControl:
            writeModemControl(value)
        case Register.scratch:
            scratch = value
        default:
            // LSR and MSR are read-only; the datasheet calls writing them "not
            // recommended" (factory test). Offsets past SCR belong to no register.
            break
        }
        return .none
    }

    // MARK: Registers

    /// LCR.DLAB: offsets 0 and 1 reach the divisor latch instead of RBR/THR and IER.
    private var divisorLatchSelected: Bool { lineControl & LCR.divisorLatchAccess != 0 }

    /// MCR.LOOP.
    private var isLoopback: Bool { modemControl & MCR.loopback != 0 }

    /// MCR.DTR: the guest is ready for the host to send.
    private var isTerminalReady: Bool { modemControl & MCR.dataTerminalReady != 0 }

    /// How many bytes the receiver holds: the FIFO, or RBR alone in character mode.
    private var receiveCapacity: Int { fifosEnabled ? Self.receiveBufferCapacity : 1 }

    /// RBR: the oldest received byte; reading it makes room for the next.
    private mutating func readReceiverBuffer() -> UInt8 {
        guard !receiveBuffer.isEmpty else { return 0 }
        let byte = receiveBuffer.removeFirst()
        updateInterruptLine()
        return byte
    }

    /// THR: the byte leaves at once, to the host or, in loopback, to our own receiver.
    /// The THR-empty interrupt is cleared by the write and set again as the byte leaves,
    /// so the line shows the falling and rising edge an edge-triggered PIC needs.
    private mutating func writeTransmitterHoldingRegister(_ byte: UInt8) {
        transmitterEmptyInterruptPending = false
        updateInterruptLine()
        if isLoopback {
            receiveFromLine(byte)
        } else {
            output.write(byte: byte)
        }
        transmitterEmptyInterruptPending = true
        updateInterruptLine()
    }

    /// A byte arriving from the line (only the loopback path here; host input goes
    /// through `receive(_:)`, which refuses rather than overruns).
    private mutating func receiveFromLine(_ byte: UInt8) {
        if receiveBuffer.count < receiveCapacity {
            receiveBuffer.append(byte)
        } else {
            // LSR.OE. In FIFO mode the new byte is lost and the FIFO kept; in character
            // mode the new byte overwrites the unread one in RBR.
            overrunError = true
            if !fifosEnabled { receiveBuffer[receiveBuffer.count - 1] = byte }
        }
    }

    /// IER. Turning IER.ETBEI on while THR is empty (always, here) makes the THR-empty
    /// interrupt pending again even if an IIR read had cleared it. The datasheet is
    /// silent on this, but real 16550As behave so and Linux relies on it: its
    /// serial8250_do_startup toggles ETBEI to test for the UART_BUG_THRE erratum.
    private mutating func writeInterruptEnable(_ value: UInt8) {
        let newValue = value & IER.implemented
        let changed = interruptEnable ^ newValue
        interruptEnable = newValue
        if changed & IER.transmitterHoldingRegisterEmpty != 0 {
            transmitterEmptyInterruptPending =
                newValue & IER.transmitterHoldingRegisterEmpty != 0
        }
        updateInterruptLine()
    }

    /// IIR: the highest-priority pending interrupt. Reading it acknowledges a THR-empty
    /// interrupt, but only when that is the one reported.
    private mutating func readInterruptIdentification() -> UInt8 {
        let identification = pendingInterrupt
        if identification == IIR.transmitterHoldingRegisterEmpty {
            transmitterEmptyInterruptPending = false
            updateInterruptLine()
        }
        return identification | (fifosEnabled ? IIR.fifosEnabled : 0)
    }

    /// FCR. Bits other than bit 0 act only when bit 0 is written as 1; changing bit 0
    /// (entering or leaving FIFO mode) empties both FIFOs.
    private mutating func writeFIFOControl(_ value: UInt8) {
        let enable = value & FCR.enableFIFOs != 0
        if enable != fifosEnabled {
            fifosEnabled = enable
            receiveBuffer.removeAll()
        }
        if enable && value & FCR.clearReceiveFIFO != 0 {
            receiveBuffer.removeAll()
        }
        // FCR.clearTransmitFIFO: the transmit FIFO is always empty here.
        updateInterruptLine()
    }

    /// MCR. Its outputs feed the modem inputs in loopback, so MSR may change.
    private mutating func writeModemControl(_ value: UInt8) {
        modemControl = value & MCR.implemented
        sampleModemInputs()
        updateInterruptLine()
    }

    /// LSR. Reading it clears LSR.OE (and with it a receiver line status interrupt).
    private mutating func readLineStatus() -> UInt8 {
        var status = LSR.transmitterHoldingRegisterEmpty | LSR.transmitterEmpty
        if !receiveBuffer.isEmpty { status |= LSR.dataReady }
        if overrunError { status |= LSR.overrunError }
        overrunError = false
        updateInterruptLine()
        return status
    }

    /// MSR. Reading it clears the delta bits (and with them a modem status interrupt).
    private mutating func readModemStatus() -> UInt8 {
        let status = modemInputs | modemInputDeltas
        modemInputDeltas = 0
        updateInterruptLine()
        return status
    }

    // MARK: Modem inputs

    /// Samples CTS, DSR, RI and DCD and records which changed in the MSR delta bits.
    ///
    /// In loopback the datasheet wires MCR's outputs to the inputs: RTS to CTS, DTR to
    /// DSR, OUT1 to RI, OUT2 to DCD. Linux's autoconfig sets MCR = LOOP | OUT2 | RTS and
    /// expects MSR bits 4-7 to read DCD | CTS (0x90) before it believes in a UART.
    private mutating func sampleModemInputs() {
        var inputs = Self.connectedModemInputs
        if isLoopback {
            inputs = 0
            if modemControl & MCR.requestToSend != 0 { inputs |= MSR.clearToSend }
            if modemControl & MCR.dataTerminalReady != 0 { inputs |= MSR.dataSetReady }
            if modemControl & MCR.out1 != 0 { inputs |= MSR.ringIndicator }
            if modemControl & MCR.out2 != 0 { inputs |= MSR.dataCarrierDetect }
        }
        let changed = modemInputs ^ inputs
        if changed & MSR.clearToSend != 0 { modemInputDeltas |= MSR.deltaClearToSend }
        if changed & MSR.dataSetReady != 0 { modemInputDeltas |= MSR.deltaDataSetReady }
        if changed & MSR.dataCarrierDetect != 0 { modemInputDeltas |= MSR.deltaDataCarrierDetect }
        // MSR.TERI records only RI's trailing edge, on to off.
        if modemInputs & MSR.ringIndicator != 0 && inputs & MSR.ringIndicator == 0 {
            modemInputDeltas |= MSR.trailingEdgeRingIndicator
        }
        modemInputs = inputs
    }

    // MARK: Interrupts

    /// The IIR identification of the highest-priority interrupt that is both pending
    /// and enabled in IER (PC16550D, Table IV), or IIR.noInterruptPending.
    private var pendingInterrupt: UInt8 {
        if interruptEnable & IER.receiverLineStatus != 0 && overrunError {
            return IIR.receiverLineStatus
        }
        if interruptEnable & IER.receivedDataAvailable != 0 && !receiveBuffer.isEmpty {
            return IIR.receivedDataAvailable
        }
        if interruptEnable & IER.transmitterHoldingRegisterEmpty != 0
            && transmitterEmptyInterruptPending
        {
            return IIR.transmitterHoldingRegisterEmpty
        }
        if interruptEnable & IER.modemStatus != 0 && modemInputDeltas != 0 {
            return IIR.modemStatus
        }
        return IIR.noInterruptPending
    }

    /// Drives the interrupt line to match INTR, telling the line only of changes.
    private mutating func updateInterruptLine() {
        let level = pendingInterrupt != IIR.noInterruptPending
        guard level != interruptLevel else { return }
        interruptLevel = level
        interrupt.setLevel(level)
    }
}
