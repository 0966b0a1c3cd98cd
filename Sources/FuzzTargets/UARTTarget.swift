import Devices

/// The 16550A's register file: any sequence of reads and writes of any size at any
/// offset, interleaved with host input.
///
/// Invariants: LSR always shows the transmitter empty (THRE and TEMT: transmission is
/// instantaneous); the interrupt line is told only of changes; host input accepted never
/// exceeds what was offered or the receive FIFO's room; nothing is transmitted but THR
/// writes.
enum UARTTarget: FuzzTarget {
    static let name = "uart"
    /// LSR.THRE | LSR.TEMT (PC16550D, "Line Status Register").
    static let transmitterEmpty: UInt64 = 0x60
    static let lineStatusOffset: UInt64 = 5

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let output = CountingSink()
        var uart = Serial8250(output: output, interrupt: CheckedLine(onlyChanges: true))
        var dataWrites = 0
        while !input.isEmpty {
            let operation = input.byte() % 4
            // Offsets past the eight registers too: they must answer as absent.
            let offset = UInt64(input.byte() % 12)
            let size = input.accessSize(maximum: 4)
            switch operation {
            case 0:
                let value = uart.read(offset: offset, size: size)
                require(value >> (8 * UInt64(size)) == 0, "a \(size)-byte read fits in \(size) bytes")
                if offset == lineStatusOffset {
                    require(value & transmitterEmpty == transmitterEmpty, "LSR shows the transmitter empty")
                }
            case 1, 2:
                let value = UInt64(input.integer(UInt32.self))
                if offset == 0 { dataWrites += 1 }
                require(uart.write(offset: offset, size: size, value: value) == .none, "the UART asks nothing of the machine")
            default:
                let offered = input.bytes(Int(input.byte()))
                let accepted = uart.receive(offered)
                require(accepted >= 0 && accepted <= offered.count, "accepted \(accepted) of \(offered.count) bytes")
                require(accepted <= Serial8250.receiveBufferCapacity, "at most a FIFO's worth is accepted")
            }
        }
        // A wide access at offset 0 can carry THR writes in several bytes, but never more
        // bytes than were written there in all.
        require(output.total <= dataWrites * 4, "only THR writes are transmitted")
    }
}

extension UARTTarget {
    /// Linux's 8250 probe and set-up (autoconfig's IER and loopback tests, FIFO enable,
    /// the divisor), a few transmitted bytes, and host input.
    static var seeds: [[UInt8]] {
        var builder = FuzzInputBuilder()
        func write(_ offset: UInt8, _ value: UInt8) {
            builder.byte(1); builder.byte(offset); builder.accessSize(1, maximum: 4); builder.integer(UInt32(value))
        }
        func read(_ offset: UInt8) { builder.byte(0); builder.byte(offset); builder.accessSize(1, maximum: 4) }
        write(1, 0); read(1); write(1, 0x0f); read(1)  // IER read-back probe
        write(4, 0x1a); read(6); write(4, 0)  // MCR loopback with OUT2 and RTS: MSR 0x90
        write(3, 0x80); write(0, 1); write(1, 0); write(3, 0x03)  // divisor 1, 8N1
        write(2, 0x07); read(2)  // FIFOs on and cleared
        write(4, 0x0b); write(1, 0x03)  // DTR, RTS, OUT2; receive and THR-empty interrupts
        for byte in "ok\n".utf8 { read(5); write(0, byte) }
        builder.byte(3); builder.byte(0); builder.accessSize(1, maximum: 4); builder.byte(3); builder.append(Array("abc".utf8))
        read(2); read(5); read(0); read(0); read(0); read(5)
        return [builder.bytes]
    }
}
