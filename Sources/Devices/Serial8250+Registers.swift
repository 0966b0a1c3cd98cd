/// The 16550A's register map and bit names.
///
/// Source: PC16550D Universal Asynchronous Receiver/Transmitter with FIFOs, National
/// Semiconductor (June 1995; now TI SNLS378), Table II "Summary of Registers", Table IV
/// "Interrupt Control Functions" and the register descriptions of the "Registers" section.
/// Names are the datasheet's; Linux's include/uapi/linux/serial_reg.h uses the same ones
/// with a `UART_` prefix.
extension Serial8250 {
    /// Register offsets from the UART's base port (A2-A0 in the datasheet).
    enum Register {
        /// RBR (read) / THR (write): receiver buffer / transmitter holding register.
        /// DLL, the divisor latch's low byte, when LCR.DLAB is set.
        static let data: UInt64 = 0
        /// IER: interrupt enable register. DLM, the divisor latch's high byte, when
        /// LCR.DLAB is set.
        static let interruptEnable: UInt64 = 1
        /// IIR (read): interrupt identification / FCR (write): FIFO control.
        static let interruptIdentification: UInt64 = 2
        /// LCR: line control register.
        static let lineControl: UInt64 = 3
        /// MCR: modem control register.
        static let modemControl: UInt64 = 4
        /// LSR: line status register.
        static let lineStatus: UInt64 = 5
        /// MSR: modem status register.
        static let modemStatus: UInt64 = 6
        /// SCR: scratch register, a byte the UART never looks at.
        static let scratch: UInt64 = 7
        /// How many ports the UART decodes (base + 0 ... base + 7).
        static let count: UInt64 = 8
    }

    /// IER bits. Bits 4-7 are always zero on a 16550A (Linux's 8250 driver writes bit 6
    /// and reads it back to tell the XScale UART apart).
    enum IER {
        /// IER.ERBFI: enable received data available interrupt.
        static let receivedDataAvailable: UInt8 = 0x01
        /// IER.ETBEI: enable transmitter holding register empty interrupt.
        static let transmitterHoldingRegisterEmpty: UInt8 = 0x02
        /// IER.ELSI: enable receiver line status interrupt.
        static let receiverLineStatus: UInt8 = 0x04
        /// IER.EDSSI: enable modem status interrupt.
        static let modemStatus: UInt8 = 0x08
        /// The bits a 16550A implements.
        static let implemented: UInt8 = 0x0f
    }

    /// IIR values. Bit 0 clear means "an interrupt is pending"; bits 1-3 name the
    /// highest-priority one (Table IV); bits 6-7 are set while the FIFOs are enabled.
    enum IIR {
        /// IIR bit 0 set: no interrupt pending.
        static let noInterruptPending: UInt8 = 0x01
        /// Receiver line status (priority 1): OE, PE, FE or BI. Cleared by reading LSR.
        static let receiverLineStatus: UInt8 = 0x06
        /// Received data available (priority 2). Cleared by reading RBR until empty.
        static let receivedDataAvailable: UInt8 = 0x04
        /// Transmitter holding register empty (priority 3). Cleared by reading IIR
        /// (when it is the source) or writing THR.
        static let transmitterHoldingRegisterEmpty: UInt8 = 0x02
        /// Modem status (priority 4): a delta bit in MSR. Cleared by reading MSR.
        static let modemStatus: UInt8 = 0x00
        /// IIR bits 6-7: "FIFOs enabled", both set when FCR bit 0 is.
        static let fifosEnabled: UInt8 = 0xc0
    }

    /// FCR bits (write-only, shares offset 2 with IIR).
    enum FCR {
        /// FCR bit 0: enable the transmit and receive FIFOs. Other FCR bits are only
        /// acted on when this bit is written as 1; changing it clears both FIFOs.
        static let enableFIFOs: UInt8 = 0x01
        /// FCR bit 1: clear the receive FIFO (self-clearing).
        static let clearReceiveFIFO: UInt8 = 0x02
        /// FCR bit 2: clear the transmit FIFO (self-clearing).
        static let clearTransmitFIFO: UInt8 = 0x04
    }

    /// LCR bits. Word length, stop bits and parity (bits 0-5) and break (bit 6) mean
    /// nothing to a UART with no wire; they are kept so they read back.
    enum LCR {
        /// LCR.DLAB: divisor latch access bit; offsets 0 and 1 reach DLL and DLM.
        static let divisorLatchAccess: UInt8 = 0x80
    }

    /// MCR bits. Bits 5-7 are always zero on a 16550A.
    enum MCR {
        /// MCR.DTR: data terminal ready.
        static let dataTerminalReady: UInt8 = 0x01
        /// MCR.RTS: request to send.
        static let requestToSend: UInt8 = 0x02
        /// MCR.OUT1: user output 1.
        static let out1: UInt8 = 0x04
        /// MCR.OUT2: user output 2; on a PC it gates the UART's interrupt to the PIC.
        static let out2: UInt8 = 0x08
        /// MCR.LOOP: local loopback diagnostic mode.
        static let loopback: UInt8 = 0x10
        /// The bits a 16550A implements.
        static let implemented: UInt8 = 0x1f
    }

    /// LSR bits. PE, FE and BI (bits 2-4: parity error, framing error, break) and bit 7
    /// (error in RCVR FIFO, which summarizes them) need a wire and are never set.
    enum LSR {
        /// LSR.DR: data ready, a received byte waits in RBR or the receive FIFO.
        static let dataReady: UInt8 = 0x01
        /// LSR.OE: overrun error, a received byte was lost. Cleared by reading LSR.
        static let overrunError: UInt8 = 0x02
        /// LSR.THRE: transmitter holding register empty.
        static let transmitterHoldingRegisterEmpty: UInt8 = 0x20
        /// LSR.TEMT: transmitter empty (holding and shift registers both idle).
        static let transmitterEmpty: UInt8 = 0x40
    }

    /// MSR bits: the current modem inputs (bits 4-7) and their changes since MSR was
    /// last read (bits 0-3).
    enum MSR {
        /// MSR.DCTS: delta clear to send.
        static let deltaClearToSend: UInt8 = 0x01
        /// MSR.DDSR: delta data set ready.
        static let deltaDataSetReady: UInt8 = 0x02
        /// MSR.TERI: trailing edge ring indicator (RI went from on to off).
        static let trailingEdgeRingIndicator: UInt8 = 0x04
        /// MSR.DDCD: delta data carrier detect.
        static let deltaDataCarrierDetect: UInt8 = 0x08
        /// MSR.CTS: clear to send.
        static let clearToSend: UInt8 = 0x10
        /// MSR.DSR: data set ready.
        static let dataSetReady: UInt8 = 0x20
        /// MSR.RI: ring indicator.
        static let ringIndicator: UInt8 = 0x40
        /// MSR.DCD: data carrier detect.
        static let dataCarrierDetect: UInt8 = 0x80
        /// The delta bits 0-3.
        static let deltas: UInt8 = 0x0f
    }
}
