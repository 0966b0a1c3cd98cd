import Testing

@testable import Devices

/// A 16550A with a recording output and interrupt line, read and written by register.
private struct UART {
    let output = RecordingByteSink()
    let line = RecordingInterruptLine()
    var device: Serial8250

    init() {
        device = Serial8250(output: output, interrupt: line)
    }

    mutating func read(_ register: UInt64) -> UInt8 {
        UInt8(device.read(offset: register, size: 1))
    }

    mutating func write(_ register: UInt64, _ value: UInt8) {
        #expect(device.write(offset: register, size: 1, value: UInt64(value)) == .none)
    }

    mutating func receive(_ bytes: [UInt8]) -> Int { device.receive(bytes) }

    /// MCR.DTR: what a driver sets when it is ready to receive; host input waits for it.
    mutating func raiseDTR() { write(Serial8250.Register.modemControl, Serial8250.MCR.dataTerminalReady) }
}

private typealias Register = Serial8250.Register
private typealias IER = Serial8250.IER
private typealias IIR = Serial8250.IIR
private typealias FCR = Serial8250.FCR
private typealias LCR = Serial8250.LCR
private typealias MCR = Serial8250.MCR
private typealias LSR = Serial8250.LSR
private typealias MSR = Serial8250.MSR

@Suite("Serial8250 (16550A)")
struct Serial8250Tests {
    // MARK: Registers

    @Test("16550A: after reset every register reads its datasheet reset value")
    func resetValues() {
        var uart = UART()
        #expect(uart.read(Register.data) == 0)  // RBR, nothing received
        #expect(uart.read(Register.interruptEnable) == 0)
        #expect(uart.read(Register.interruptIdentification) == IIR.noInterruptPending)
        #expect(uart.read(Register.lineControl) == 0)
        #expect(uart.read(Register.modemControl) == 0)
        #expect(
            uart.read(Register.lineStatus)
                == LSR.transmitterHoldingRegisterEmpty | LSR.transmitterEmpty)
        // Outside loopback: carrier present, no deltas.
        #expect(
            uart.read(Register.modemStatus)
                == MSR.clearToSend | MSR.dataSetReady | MSR.dataCarrierDetect)
        #expect(uart.read(Register.scratch) == 0)
        #expect(uart.line.levels.isEmpty)
    }

    @Test("16550A: LCR, MCR and SCR read back what was written")
    func roundTrips() {
        var uart = UART()
        for value: UInt8 in [0x03, 0x1b, 0x5f, 0x00] {
            uart.write(Register.lineControl, value)
            #expect(uart.read(Register.lineControl) == value)
        }
        for value: UInt8 in [0x00, 0x5a, 0xa5, 0xff] {
            uart.write(Register.scratch, value)
            #expect(uart.read(Register.scratch) == value)
        }
        uart.write(Register.modemControl, MCR.dataTerminalReady | MCR.requestToSend | MCR.out2)
        #expect(uart.read(Register.modemControl) == 0x0b)
        // MCR bits 5-7 do not exist on a 16550A.
        uart.write(Register.modemControl, 0xe3)
        #expect(uart.read(Register.modemControl) == 0x03)
    }

    @Test("16550A: IER keeps bits 0-3 and reads bits 4-7 as zero")
    func interruptEnableBits() {
        var uart = UART()
        uart.write(Register.interruptEnable, 0x0f)
        #expect(uart.read(Register.interruptEnable) == 0x0f)
        // Linux's 8250 autoconfig writes IER bit 6 (UUE) to spot XScale UARTs.
        uart.write(Register.interruptEnable, 0x40)
        #expect(uart.read(Register.interruptEnable) == 0)
    }

    @Test("16550A: LCR.DLAB switches offsets 0 and 1 to the divisor latch")
    func divisorLatch() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.modemStatus)
        uart.write(Register.lineControl, LCR.divisorLatchAccess | 0x03)
        // The reset divisor: 12, 9600 baud.
        #expect(uart.read(Register.data) == 12)
        #expect(uart.read(Register.interruptEnable) == 0)
        uart.write(Register.data, 0x01)  // DLL: 115200 baud
        uart.write(Register.interruptEnable, 0x02)  // DLM
        #expect(uart.read(Register.data) == 0x01)
        #expect(uart.read(Register.interruptEnable) == 0x02)
        #expect(uart.output.bytes.isEmpty, "a DLL write is not a THR write")

        uart.write(Register.lineControl, 0x03)
        #expect(uart.read(Register.interruptEnable) == IER.modemStatus)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady == 0)

        uart.write(Register.lineControl, LCR.divisorLatchAccess | 0x03)
        #expect(uart.read(Register.data) == 0x01)
        #expect(uart.read(Register.interruptEnable) == 0x02)
    }

    @Test("16550A: a 16-bit access reaches two consecutive byte registers")
    func wideAccessSplitsIntoBytes() {
        var uart = UART()
        #expect(uart.device.write(offset: Register.lineControl, size: 2, value: 0x0b03) == .none)
        #expect(uart.read(Register.lineControl) == 0x03)
        #expect(uart.read(Register.modemControl) == 0x0b)
        #expect(uart.device.read(offset: Register.lineControl, size: 2) == 0x0b03)
        // A byte past SCR belongs to no register and reads as absent.
        #expect(uart.device.read(offset: Register.scratch, size: 2) == 0xff00)
    }

    // MARK: Transmit

    @Test("16550A: THR writes reach the output in order and THRE and TEMT stay set")
    func transmit() {
        var uart = UART()
        for byte in Array("hi\n".utf8) { uart.write(Register.data, byte) }
        #expect(uart.output.bytes == Array("hi\n".utf8))
        let status = uart.read(Register.lineStatus)
        #expect(status & LSR.transmitterHoldingRegisterEmpty != 0)
        #expect(status & LSR.transmitterEmpty != 0)
        #expect(uart.line.levels.isEmpty, "no interrupt is enabled")
    }

    @Test("16550A: enabling IER.ETBEI raises a THR-empty interrupt at once")
    func enablingTransmitInterrupt() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.transmitterHoldingRegisterEmpty)
        #expect(uart.line.levels == [true])
        // Disabling it lowers the line again.
        uart.write(Register.interruptEnable, 0)
        #expect(uart.line.levels == [true, false])
    }

    @Test("16550A: reading IIR acknowledges a THR-empty interrupt")
    func iirReadAcknowledgesTransmitInterrupt() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.transmitterHoldingRegisterEmpty)
        #expect(uart.read(Register.interruptIdentification) == IIR.transmitterHoldingRegisterEmpty)
        #expect(uart.line.levels == [true, false])
        #expect(uart.read(Register.interruptIdentification) == IIR.noInterruptPending)
    }

    @Test("16550A: a THR write re-arms the THR-empty interrupt with a fresh edge")
    func thrWriteRearmsTransmitInterrupt() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.transmitterHoldingRegisterEmpty)
        _ = uart.read(Register.interruptIdentification)
        uart.write(Register.data, 0x41)
        #expect(uart.line.levels == [true, false, true])
        #expect(uart.read(Register.interruptIdentification) == IIR.transmitterHoldingRegisterEmpty)

        // Written while still pending, THR drops and raises the line: an edge-triggered
        // PIC sees a new interrupt for the new empty THR.
        uart.write(Register.data, 0x42)
        uart.write(Register.data, 0x43)
        #expect(uart.line.levels == [true, false, true, false, true, false, true])
        #expect(uart.output.bytes == [0x41, 0x42, 0x43])
    }

    @Test("16550A: toggling IER.ETBEI re-raises an acknowledged THR-empty interrupt (Linux's UART_BUG_THRE probe)")
    func linuxThreBugProbe() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.transmitterHoldingRegisterEmpty)
        let first = uart.read(Register.interruptIdentification)
        uart.write(Register.interruptEnable, 0)
        uart.write(Register.interruptEnable, IER.transmitterHoldingRegisterEmpty)
        let second = uart.read(Register.interruptIdentification)
        uart.write(Register.interruptEnable, 0)
        #expect(first & IIR.noInterruptPending == 0)
        #expect(second & IIR.noInterruptPending == 0)
    }

    // MARK: Receive

    @Test("16550A: received bytes set LSR.DR and come out of RBR in order")
    func receiveInOrder() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        #expect(uart.receive(Array("abc".utf8)) == 3)
        var received: [UInt8] = []
        while uart.read(Register.lineStatus) & LSR.dataReady != 0 {
            received.append(uart.read(Register.data))
        }
        #expect(received == Array("abc".utf8))
    }

    @Test("16550A: IER.ERBFI raises a received-data interrupt until RBR is drained")
    func receivedDataInterrupt() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.interruptEnable, IER.receivedDataAvailable)
        #expect(uart.line.levels.isEmpty)
        #expect(uart.receive([0x31, 0x32]) == 2)
        #expect(uart.line.levels == [true])
        #expect(
            uart.read(Register.interruptIdentification)
                == IIR.fifosEnabled | IIR.receivedDataAvailable)
        // Reading IIR does not acknowledge received data: only draining RBR does.
        #expect(uart.line.levels == [true])
        #expect(uart.read(Register.data) == 0x31)
        #expect(uart.line.levels == [true])
        #expect(uart.read(Register.data) == 0x32)
        #expect(uart.line.levels == [true, false])
        #expect(
            uart.read(Register.interruptIdentification)
                == IIR.fifosEnabled | IIR.noInterruptPending)
    }

    @Test("16550A: host input beyond the receive FIFO is refused, not overrun")
    func receiveRefusesWhenFull() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        let capacity = Serial8250.receiveBufferCapacity
        let input = (0..<capacity + 10).map { UInt8(truncatingIfNeeded: $0) }
        #expect(uart.receive(input) == capacity)
        #expect(uart.receive([0xff]) == 0)
        #expect(uart.read(Register.lineStatus) & LSR.overrunError == 0)
        #expect(uart.read(Register.data) == 0)
        #expect(uart.receive(Array(input[capacity...])) == 1)
    }

    @Test("16550A: with FIFOs disabled the receiver holds a single byte")
    func characterModeHoldsOneByte() {
        var uart = UART()
        uart.raiseDTR()
        #expect(uart.receive([0x61, 0x62]) == 1)
        #expect(uart.read(Register.data) == 0x61)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady == 0)
    }

    @Test("16550A: a loopback byte into a full FIFO sets LSR.OE, which reading LSR clears")
    func overrunInFIFOMode() {
        var uart = UART()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.modemControl, MCR.loopback)
        for index in 0..<Serial8250.receiveBufferCapacity { uart.write(Register.data, UInt8(index)) }
        uart.write(Register.interruptEnable, IER.receiverLineStatus)
        #expect(uart.line.levels.isEmpty)

        uart.write(Register.data, 0xee)  // lost
        #expect(uart.line.levels == [true])
        #expect(
            uart.read(Register.interruptIdentification)
                == IIR.fifosEnabled | IIR.receiverLineStatus)
        let status = uart.read(Register.lineStatus)
        #expect(status & LSR.overrunError != 0)
        #expect(status & LSR.dataReady != 0)
        #expect(uart.line.levels == [true, false])
        #expect(uart.read(Register.lineStatus) & LSR.overrunError == 0)

        // The FIFO kept its bytes; the overrunning one is gone.
        var received: [UInt8] = []
        while uart.read(Register.lineStatus) & LSR.dataReady != 0 {
            received.append(uart.read(Register.data))
        }
        #expect(received == (0..<Serial8250.receiveBufferCapacity).map { UInt8($0) })
    }

    @Test("16550A: in character mode an overrun replaces the unread byte in RBR")
    func overrunInCharacterMode() {
        var uart = UART()
        uart.write(Register.modemControl, MCR.loopback)
        uart.write(Register.data, 0x01)
        uart.write(Register.data, 0x02)
        #expect(uart.read(Register.lineStatus) & LSR.overrunError != 0)
        #expect(uart.read(Register.data) == 0x02)
    }

    // MARK: FIFO control

    @Test("16550A: IIR bits 6-7 are set while FCR bit 0 enables the FIFOs")
    func iirReportsFIFOs() {
        var uart = UART()
        #expect(uart.read(Register.interruptIdentification) == 0x01)
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        #expect(uart.read(Register.interruptIdentification) == 0xc1)
        uart.write(Register.interruptIdentification, 0)
        #expect(uart.read(Register.interruptIdentification) == 0x01)
    }

    @Test("16550A: FCR bit 1 clears the receive FIFO, and only when bit 0 is written too")
    func fcrClearsReceiveFIFO() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.interruptEnable, IER.receivedDataAvailable)
        #expect(uart.receive([1, 2, 3]) == 3)
        #expect(uart.line.levels == [true])

        uart.write(
            Register.interruptIdentification,
            FCR.enableFIFOs | FCR.clearReceiveFIFO | FCR.clearTransmitFIFO)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady == 0)
        #expect(uart.line.levels == [true, false])
        // FCR bits 1-2 clear themselves: FIFO mode continues.
        #expect(uart.read(Register.interruptIdentification) & IIR.fifosEnabled == IIR.fifosEnabled)
        #expect(uart.receive([4]) == 1)
        #expect(uart.read(Register.data) == 4)
    }

    @Test("16550A: leaving FIFO mode empties the receive FIFO")
    func disablingFIFOsClearsThem() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        #expect(uart.receive([1, 2]) == 2)
        // Linux's serial8250_clear_fifos ends with FCR = 0.
        uart.write(Register.interruptIdentification, FCR.clearReceiveFIFO)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady == 0)
    }

    // MARK: Interrupt priority

    @Test("16550A: IIR reports line status, then received data, then THR empty, then modem status")
    func interruptPriority() {
        var uart = UART()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        // Fill the FIFO through loopback and overrun it, then leave loopback: MSR's
        // inputs change back (a modem status interrupt) and THR is empty.
        uart.write(Register.modemControl, MCR.loopback)
        for _ in 0...Serial8250.receiveBufferCapacity { uart.write(Register.data, 0x55) }
        uart.write(Register.modemControl, 0)
        uart.write(Register.interruptEnable, IER.implemented)

        func identify(_ uart: inout UART) -> UInt8 {
            uart.read(Register.interruptIdentification) & ~IIR.fifosEnabled
        }
        #expect(identify(&uart) == IIR.receiverLineStatus)
        _ = uart.read(Register.lineStatus)
        #expect(identify(&uart) == IIR.receivedDataAvailable)
        while uart.read(Register.lineStatus) & LSR.dataReady != 0 { _ = uart.read(Register.data) }
        #expect(identify(&uart) == IIR.transmitterHoldingRegisterEmpty)  // and acknowledges it
        #expect(identify(&uart) == IIR.modemStatus)
        _ = uart.read(Register.modemStatus)
        #expect(identify(&uart) == IIR.noInterruptPending)
        #expect(uart.line.levels == [true, false])
    }

    @Test("16550A: an IIR read acknowledges THR empty only when it is the reported source")
    func iirReadAcknowledgesOnlyTheReportedSource() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(
            Register.interruptEnable,
            IER.receivedDataAvailable | IER.transmitterHoldingRegisterEmpty)
        #expect(uart.receive([0x7a]) == 1)
        #expect(uart.read(Register.interruptIdentification) & 0x0f == IIR.receivedDataAvailable)
        _ = uart.read(Register.data)
        // THR empty was hidden behind received data and is still pending.
        #expect(
            uart.read(Register.interruptIdentification) & 0x0f
                == IIR.transmitterHoldingRegisterEmpty)
        #expect(uart.read(Register.interruptIdentification) & 0x0f == IIR.noInterruptPending)
    }

    @Test("16550A: the interrupt line changes level only on transitions")
    func interruptLineTransitionsOnly() {
        var uart = UART()
        uart.raiseDTR()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.interruptEnable, IER.receivedDataAvailable | IER.modemStatus)
        #expect(uart.receive([1]) == 1)  // raise
        #expect(uart.receive([2]) == 1)  // still high
        uart.write(Register.modemControl, MCR.loopback)  // modem status too: still high
        uart.write(Register.interruptEnable, IER.receivedDataAvailable | IER.modemStatus)
        _ = uart.read(Register.lineStatus)
        _ = uart.read(Register.modemStatus)  // received data remains: still high
        _ = uart.read(Register.data)
        _ = uart.read(Register.data)  // drained: low
        _ = uart.read(Register.data)
        _ = uart.read(Register.interruptIdentification)
        #expect(uart.line.levels == [true, false])
    }

    // MARK: Loopback and modem status

    @Test("16550A: Linux's autoconfig loopback test reads MSR bits 4-7 as 0x90")
    func linuxAutoconfigLoopbackTest() {
        // drivers/tty/serial/8250/8250_port.c, autoconfig(): save MCR, set
        // MCR = LOOP | OUT2 | RTS, expect MSR & 0xf0 == DCD | CTS, restore MCR.
        var uart = UART()
        let savedMCR = uart.read(Register.modemControl)
        uart.write(Register.modemControl, MCR.loopback | 0x0a)
        let status = uart.read(Register.modemStatus) & 0xf0
        uart.write(Register.modemControl, savedMCR)
        #expect(status == 0x90)
        #expect(uart.read(Register.modemControl) == savedMCR)
    }

    @Test("16550A: in loopback MSR mirrors DTR, RTS, OUT1 and OUT2 as DSR, CTS, RI and DCD")
    func loopbackMirrorsModemControl() {
        var uart = UART()
        let cases: [(mcr: UInt8, msr: UInt8)] = [
            (MCR.dataTerminalReady, MSR.dataSetReady),
            (MCR.requestToSend, MSR.clearToSend),
            (MCR.out1, MSR.ringIndicator),
            (MCR.out2, MSR.dataCarrierDetect),
            (0x0f, 0xf0),
            (0, 0),
        ]
        for (mcr, msr) in cases {
            uart.write(Register.modemControl, MCR.loopback | mcr)
            #expect(uart.read(Register.modemStatus) & 0xf0 == msr, "MCR \(mcr)")
        }
        uart.write(Register.modemControl, 0)
        #expect(
            uart.read(Register.modemStatus) & 0xf0
                == MSR.clearToSend | MSR.dataSetReady | MSR.dataCarrierDetect)
    }

    @Test("16550A: MSR delta bits record input changes, TERI only RI's trailing edge, and reading MSR clears them")
    func modemStatusDeltas() {
        var uart = UART()
        uart.write(Register.interruptEnable, IER.modemStatus)
        // Entering loopback with MCR = 0 drops CTS, DSR and DCD.
        uart.write(Register.modemControl, MCR.loopback)
        #expect(uart.line.levels == [true])
        #expect(uart.read(Register.interruptIdentification) == IIR.modemStatus)
        #expect(
            uart.read(Register.modemStatus)
                == MSR.deltaClearToSend | MSR.deltaDataSetReady | MSR.deltaDataCarrierDetect)
        #expect(uart.line.levels == [true, false])
        #expect(uart.read(Register.modemStatus) == 0)

        // RI rising is no TERI...
        uart.write(Register.modemControl, MCR.loopback | MCR.out1)
        #expect(uart.read(Register.modemStatus) == MSR.ringIndicator)
        // ...RI falling is.
        uart.write(Register.modemControl, MCR.loopback)
        #expect(uart.read(Register.modemStatus) == MSR.trailingEdgeRingIndicator)
        #expect(uart.line.levels == [true, false, true, false])
    }

    @Test("16550A: in loopback THR bytes return through the receiver, not the output")
    func loopbackEcho() {
        var uart = UART()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.modemControl, MCR.loopback)
        uart.write(Register.data, 0x5a)
        uart.write(Register.data, 0xa5)
        #expect(uart.output.bytes.isEmpty)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady != 0)
        #expect(uart.read(Register.data) == 0x5a)
        #expect(uart.read(Register.data) == 0xa5)
        uart.write(Register.modemControl, 0)
        uart.write(Register.data, 0x21)
        #expect(uart.output.bytes == [0x21])
    }

    @Test("16550A: host input is refused while the guest holds the UART in loopback")
    func loopbackRefusesHostInput() {
        var uart = UART()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        uart.write(Register.modemControl, MCR.loopback | MCR.dataTerminalReady)
        #expect(uart.receive([1, 2, 3]) == 0)
        uart.write(Register.modemControl, MCR.dataTerminalReady)
        #expect(uart.receive([1, 2, 3]) == 3)
    }

    @Test("16550A: host input waits until the guest raises MCR.DTR, and stops when it drops it")
    func inputWaitsForDTR() {
        var uart = UART()
        uart.write(Register.interruptIdentification, FCR.enableFIFOs)
        #expect(uart.receive([1, 2, 3]) == 0)
        #expect(uart.read(Register.lineStatus) & LSR.dataReady == 0)
        // RTS alone is not enough: DTR says the terminal is ready.
        uart.write(Register.modemControl, MCR.requestToSend | MCR.out2)
        #expect(uart.receive([1, 2, 3]) == 0)
        uart.raiseDTR()
        #expect(uart.receive([1, 2, 3]) == 3)
        uart.write(Register.modemControl, 0)
        #expect(uart.receive([4]) == 0)
        #expect(uart.read(Register.data) == 1)
    }
}
