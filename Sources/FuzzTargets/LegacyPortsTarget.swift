import Devices

/// Every port-I/O device of the PC on one bus (LegacyPorts: UART, CMOS, i8042,
/// isa-debug-exit, the absent ranges), accessed at any port with any size, as a guest's
/// `in` and `out` can.
///
/// Invariants: a read fits in its size; a port no device claims answers nil on reads
/// and writes; a write asks the machine to stop only at the ports that can (the i8042's
/// command port, the debug-exit port).
enum LegacyPortsTarget: FuzzTarget {
    static let name = "legacy-ports"

    /// Ports a guest plausibly touches, so most accesses reach a device.
    static let interestingPorts: [UInt16] = [
        0x60, 0x64, 0x70, 0x71, 0x80, 0xed, 0xf4, 0x600, 0x601, 0x2f8, 0x3bc, 0x3c0, 0x3f0, 0x3f8, 0x3f9, 0x3fa,
        0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0xcf8, 0xcfc,
    ]

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        var bus = IOBus()
        do {
            try LegacyPorts.install(
                on: &bus, serialOutput: CountingSink(), serialInterrupt: CheckedLine(onlyChanges: true),
                keyboardInterrupt: CheckedLine(onlyChanges: true),
                clock: { 1_700_000_000 })
        } catch {
            fatalError("the PC's ports overlap: \(error)")
        }
        while !input.isEmpty {
            let port = input.bool() ? input.choose(interestingPorts) : input.integer(UInt16.self)
            let size = input.accessSize(maximum: 4)
            let claimed = bus.deviceName(at: UInt64(port)) != nil
            if input.bool() {
                let value = bus.read(at: UInt64(port), size: size)
                require((value != nil) == claimed, "port 0x\(String(port, radix: 16)) answers iff a device claims it")
                if let value { require(value >> (8 * UInt64(size)) == 0, "a \(size)-byte read fits") }
            } else {
                let effect = bus.write(at: UInt64(port), size: size, value: UInt64(input.integer(UInt32.self)))
                require((effect != nil) == claimed, "port 0x\(String(port, radix: 16)) takes writes iff claimed")
                switch effect {
                case .reset?: require(port == 0x64, "only the i8042's command port resets")
                case .debugExit?: require(port == 0xf4, "only port 0xf4 is isa-debug-exit")
                default: break
                }
            }
        }
    }
}

extension LegacyPortsTarget {
    /// A boot's worth of port traffic: the RTC read, the UART probed and written, the
    /// delay port, the PCI probe that finds nothing here, and the i8042 reset.
    static var seeds: [[UInt8]] {
        var builder = FuzzInputBuilder()
        func access(_ port: UInt16, write value: UInt32?, size: Int = 1) {
            builder.bool(false); builder.integer(port); builder.accessSize(size, maximum: 4)
            if let value { builder.bool(false); builder.integer(value) } else { builder.bool(true) }
        }
        for index: UInt32 in [0x0a, 0x00, 0x02, 0x04, 0x32] { access(0x70, write: index); access(0x71, write: nil) }
        access(0x3f9, write: 0); access(0x3f9, write: nil); access(0x3fb, write: 0x80); access(0x3f8, write: 1)
        access(0x3fb, write: 3); access(0x3f8, write: 0x41); access(0x3fd, write: nil)
        access(0x80, write: 0); access(0xcf8, write: 0x8000_0000, size: 4); access(0xcf8, write: nil, size: 4)
        access(0x64, write: nil); access(0x64, write: 0xfe)
        return [builder.bytes]
    }
}
